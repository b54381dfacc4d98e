/* SPDX-License-Identifier: MIT */
/*
 * Process attributes (pb_set_cwd, _umask, _nice, _rlimit, _setsid,
 * _no_new_privs; run's --chdir, --umask, --nice, --rlimit, --setsid,
 * --no-new-privs): what the program sees equals what fork, the same calls and
 * execve give it, in place, spawned and through the library; each value is
 * refused when it is set.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/built.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H "build/tests/helpers/pbhelper-static"

static char *env[] = {"PATH=/usr/bin:/bin", NULL};

/* fork, the same settings, execve: the reference. */
static char *reference(void)
{
	char helper[4096], *out;
	int p[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	cr_assert(realpath(H, helper));
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		struct rlimit nofile = {100, 200};
		dup2(p[1], 1);
		if (setsid() < 0 || setrlimit(RLIMIT_NOFILE, &nofile) < 0 || setpriority(PRIO_PROCESS, 0, 5) < 0 ||
		    chdir("/usr") < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			_exit(99);
		umask(027);
		execve(helper, (char *[]){helper, "attrs", NULL}, env);
		_exit(98);
	}
	close(p[1]);
	out = calloc(1, 4096);
	while ((n = read(p[0], out + len, 4095 - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reference status %x", status);
	return out;
}

Test(attrs, cli_in_place_and_spawned_like_fork_set_execve)
{
	char *want = reference(), helper[4096];

	cr_assert(realpath(H, helper));
	for (int spawn = 0; spawn < 2; spawn++) {
		char *argv[] = {PB, "run", spawn ? "--spawn" : "--close-fds", "--chdir", "/usr", "--umask", "027",
				"--nice", "5", "--rlimit", "nofile=100:200", "--setsid", "--no-new-privs", helper, "attrs", NULL};
		struct run_result r;
		cr_assert_eq(run_cmd(argv, env, &r), 0);
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		cr_assert_str_eq(r.out, want, "%s:\n%s\nexecve:\n%s", spawn ? "spawned" : "in place", r.out, want);
		run_result_free(&r);
	}
	free(want);
}

static struct pb_builder *builder(void)
{
	struct pb_builder *b;
	struct pb_error err;
	char helper[4096];
	const char *argv[2] = {helper, "attrs"};
	int fd;

	cr_assert(realpath(H, helper));
	fd = open(helper, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pb_builder_new(helper, -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	cr_assert_eq(pb_add_arguments(b, argv, 2), 0);
	cr_assert_eq(pb_add_environment(b, (const char *const *)env, 1), 0);
	return b;
}

Test(attrs, library_like_fork_set_execve)
{
	char *want = reference(), *out = NULL;
	struct pb_builder *b = builder();
	struct pb_error err;
	int status;

	cr_assert_eq(pb_set_cwd(b, "/usr"), 0);
	cr_assert_eq(pb_set_umask(b, 027), 0);
	cr_assert_eq(pb_set_nice(b, 5), 0);
	cr_assert_eq(pb_set_rlimit(b, RLIMIT_NOFILE, 100, 200), 0);
	cr_assert_eq(pb_set_setsid(b, 1), 0);
	cr_assert_eq(pb_set_no_new_privs(b, 1), 0);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s", err.msg);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_str_eq(out, want);
	free(out);
	free(want);
	pb_builder_free(b);
}

Test(attrs, refused_when_set)
{
	struct pb_builder *b = builder();

	cr_assert_eq(pb_set_cwd(b, "/nonexistent/dir"), -ENOENT);
	cr_assert_eq(pb_set_cwd(b, "/etc/hostname"), -ENOTDIR);
	cr_assert_eq(pb_set_cwd(b, ""), -EINVAL);
	cr_assert_eq(pb_set_umask(b, 01000), -EINVAL);
	cr_assert_eq(pb_set_nice(b, -21), -EINVAL);
	cr_assert_eq(pb_set_nice(b, 20), -EINVAL);
	cr_assert_eq(pb_set_rlimit(b, RLIMIT_NOFILE, 10, 5), -EINVAL, "soft above hard");
	cr_assert_eq(pb_set_rlimit(b, 1000, 1, 1), -EINVAL);
	cr_assert_eq(pb_set_reservation(b, "bogus", 0), -EINVAL, "it was accepted and failed at build");
	cr_assert_eq(pb_set_reservation(b, "20000-10000", 0), -EINVAL);
	cr_assert_eq(pb_set_reservation(b, "asan", 0), 0);
	cr_assert_eq(pb_set_reservation(b, "none", 0), 0);
	pb_builder_free(b);
}

/* Without privilege: a lower nice and a higher hard limit are refused at once, as setpriority/setrlimit would. */
Test(attrs, privilege_refused_when_set)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct pb_builder *b;
		struct pb_error err;
		struct rlimit rl;
		int fd = open(H, O_RDONLY | O_CLOEXEC);
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(97);
		getrlimit(RLIMIT_NOFILE, &rl);
		if (pb_builder_new_self("x", -1, fd, &b, &err) < 0)
			_exit(96);
		_exit(pb_set_nice(b, -5) != -EPERM ? 1 :
		      rl.rlim_max != RLIM_INFINITY && pb_set_rlimit(b, RLIMIT_NOFILE, 10, rl.rlim_max + 1) != -EPERM ? 2 :
		      pb_set_nice(b, 5) != 0 ? 3 : 0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %x", status);
}

/* A directory gone between the call and the build: one line naming it, no process left. */
Test(attrs, a_failure_at_apply_names_the_attribute)
{
	char dir[] = "/tmp/pb-attrs-XXXXXX", *out = NULL;
	struct pb_builder *b = builder();
	struct pb_error err;
	int status;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(pb_set_cwd(b, dir), 0);
	rmdir(dir);
	cr_assert_lt(build_and_collect(b, &out, &status, &err), 0);
	cr_assert(strstr(err.msg, "changing directory to") && strstr(err.msg, dir) &&
		  strstr(err.msg, "No such file or directory"), "%s", err.msg);
	pb_builder_free(b);
}

/* -u/--unset and pb_unset_environment / pb_clear_environment edit the environment as env -u and env -i do. */
Test(attrs, environment_editing_like_env)
{
	char *pb_argv[] = {PB, "run", "-i", "-e", "A=1", "-e", "B=2", "-u", "A", "-e", "C=3", "/usr/bin/env", NULL};
	char *env_argv[] = {"/usr/bin/env", "-i", "A=1", "B=2", "/usr/bin/env", "-u", "A", "C=3", "/usr/bin/env", NULL};
	const char *vars[] = {"X=1", "Y=2", "X=3"};
	struct pb_builder *b;
	struct pb_error err;
	struct run_result p, e;
	char *out = NULL;
	int status, fd = open("/usr/bin/env", O_RDONLY | O_CLOEXEC);

	cr_assert_eq(run_cmd(pb_argv, env, &p), 0);
	cr_assert_eq(run_cmd(env_argv, env, &e), 0);
	cr_assert_eq(p.exit_code, 0, "%s", p.err);
	cr_assert_str_eq(p.out, e.out);
	cr_assert_str_eq(p.out, "B=2\nC=3\n");
	run_result_free(&p);
	run_result_free(&e);
	cr_assert_eq(run_cmd((char *[]){PB, "run", "-u", "A=B", "/bin/true", NULL}, env, &p), 0);
	cr_assert_eq(p.exit_code, 2, "%s", p.err);
	run_result_free(&p);
	/* the library */
	cr_assert_eq(pb_builder_new("/usr/bin/env", -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	cr_assert_eq(pb_add_arguments(b, (const char *const[]){"env"}, 1), 0);
	cr_assert_eq(pb_add_environment(b, vars, 3), 0);
	cr_assert_eq(pb_unset_environment(b, "X"), 0);
	cr_assert_eq(pb_unset_environment(b, "X=1"), -EINVAL);
	cr_assert_eq(pb_unset_environment(b, ""), -EINVAL);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out, "Y=2\n");
	free(out);
	pb_builder_free(b);
	fd = open("/usr/bin/env", O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pb_builder_new("/usr/bin/env", -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	cr_assert_eq(pb_add_arguments(b, (const char *const[]){"env"}, 1), 0);
	cr_assert_eq(pb_add_environment(b, vars, 3), 0);
	cr_assert_eq(pb_clear_environment(b), 0);
	cr_assert_eq(pb_add_environment(b, (const char *const[]){"Z=9"}, 1), 0);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out, "Z=9\n");
	free(out);
	pb_builder_free(b);
}

/* The same command under procbuilder run (both ways) and under the tool users know, with SIGUSR1 ignored. */
static void same_as_tool(char *const *pb_opts, char *const *tool, const char *cmdline)
{
	struct run_result want, got;

	for (int spawn = 0; spawn < 2; spawn++) {
		{
			char line[1024];
			size_t len = 0;
			len += (size_t)snprintf(line + len, sizeof(line) - len, "trap '' USR1; exec %s", PB);
			len += (size_t)snprintf(line + len, sizeof(line) - len, " run%s", spawn ? " --spawn" : "");
			for (int i = 0; pb_opts[i]; i++)
				len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", pb_opts[i]);
			snprintf(line + len, sizeof(line) - len, " %s", cmdline);
			cr_assert_eq(run_cmd((char *[]){"/bin/sh", "-c", line, NULL}, env, &got), 0);
		}
		{
			char line[1024];
			size_t len = (size_t)snprintf(line, sizeof(line), "trap '' USR1; exec");
			for (int i = 0; tool[i]; i++)
				len += (size_t)snprintf(line + len, sizeof(line) - len, " %s", tool[i]);
			snprintf(line + len, sizeof(line) - len, " %s", cmdline);
			cr_assert_eq(run_cmd((char *[]){"/bin/sh", "-c", line, NULL}, env, &want), 0);
		}
		cr_assert_eq(got.exit_code, 0, "%s", got.err);
		cr_assert_str_eq(got.out, want.out, "%s: %s vs %s", spawn ? "spawned" : "in place", got.out, want.out);
		run_result_free(&got);
		run_result_free(&want);
	}
}

Test(attrs, default_signal_like_env_and_cpu_list_like_taskset)
{
	same_as_tool((char *[]){NULL}, (char *[]){"/usr/bin/env", NULL}, "/bin/grep SigIgn /proc/self/status");
	same_as_tool((char *[]){"--default-signal=USR1", NULL}, (char *[]){"/usr/bin/env", "--default-signal=USR1", NULL},
		     "/bin/grep SigIgn /proc/self/status");
	same_as_tool((char *[]){"--default-signal", NULL}, (char *[]){"/usr/bin/env", "--default-signal", NULL},
		     "/bin/grep SigIgn /proc/self/status");
	if (access("/usr/bin/taskset", X_OK) == 0)
		same_as_tool((char *[]){"--cpu-list", "0", NULL}, (char *[]){"/usr/bin/taskset", "-c", "0", NULL},
			     "/bin/grep Cpus_allowed_list /proc/self/status");
}

Test(attrs, pgid_sigdefault_affinity_refused_when_set)
{
	struct pb_builder *b = builder();
	uint64_t none = 0, far[16] = {0};

	far[15] = 1ull << 63; /* CPU 1023: not one of ours */
	cr_assert_eq(pb_set_pgid(b, -1), -EINVAL);
	cr_assert_eq(pb_set_pgid(b, 0), 0);
	cr_assert_eq(pb_set_sigdefault(b, 1ull << (SIGKILL - 1)), -EINVAL);
	cr_assert_eq(pb_set_sigdefault(b, 1ull << (SIGUSR1 - 1)), 0);
	cr_assert_eq(pb_set_affinity(b, &none, 1), -EINVAL);
	cr_assert_eq(pb_set_affinity(b, far, 16), -EINVAL);
	pb_builder_free(b);
}

/* posix_spawn's SETPGROUP 0: the program leads a group of its own. */
Test(attrs, pgid_zero_is_a_group_of_its_own)
{
	struct pb_builder *b;
	struct pb_error err;
	char helper[4096], *out = NULL;
	int status, fd;
	const char *argv[] = {helper, "state"};

	cr_assert(realpath(H, helper));
	fd = open(helper, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pb_builder_new(helper, -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	cr_assert_eq(pb_add_arguments(b, argv, 2), 0);
	cr_assert_eq(pb_set_pgid(b, 0), 0);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s", err.msg);
	{
		int pid = 0, pgid = 0;
		cr_assert(sscanf(out, "pid=%d ppid=%*d pgid=%d", &pid, &pgid) == 2, "%s", out);
		cr_assert_eq(pgid, pid, "%s", out);
		cr_assert_neq(pgid, getpgrp());
	}
	free(out);
	pb_builder_free(b);
}

/*
 * run --die-with-parent (bwrap's name) in place: the program's parent is
 * the shell that started procbuilder; when it exits, the program is
 * SIGKILLed, as under setpriv --pdeathsig KILL, and not without the option.
 * We are the subreaper that gets the orphan. The kernel sends the
 * parent-death signal as the shell exits, before we reap the shell, and a
 * SIGKILL decides the exit at once: the SIGTERM we send after it cannot
 * change how it ended, and ends one that was not told to die.
 */
static int orphan_signal(const char *prefix)
{
	char *cmd = malloc(8192), helper[4096], fifo[] = "/tmp/pb-pdeath-XXXXXX";
	struct run_result r;
	int status = 0;
	pid_t pid;

	cr_assert(realpath(H, helper));
	cr_assert_not_null(mkdtemp(fifo));
	/* the shell exits once the program says it is ready (its parent-death signal is set by then) */
	snprintf(cmd, 8192, "mkfifo %s/f && { %s %s siginfo 10 >%s/f 2>/dev/null & echo $!; read x <%s/f; }", fifo,
		 prefix, helper, fifo, fifo);
	cr_assert_eq(run_cmd((char *[]){"/bin/sh", "-c", cmd, NULL}, env, &r), 0);
	snprintf(cmd, 8192, "rm -rf %s", fifo);
	system(cmd);
	free(cmd);
	pid = atoi(r.out);
	run_result_free(&r);
	cr_assert_gt(pid, 0);
	kill(pid, SIGTERM);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status), "status %x", status);
	return WTERMSIG(status);
}

Test(attrs, die_with_parent_in_place_like_setpriv_pdeathsig)
{
	int was = 0;

	prctl(PR_GET_CHILD_SUBREAPER, &was);
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	if (access("/usr/bin/setpriv", X_OK) == 0)
		cr_assert_eq(orphan_signal("/usr/bin/setpriv --pdeathsig KILL"), SIGKILL);
	cr_assert_eq(orphan_signal(PB " run --die-with-parent"), SIGKILL);
	cr_assert_eq(orphan_signal(PB " run"), SIGTERM, "without the option it lives on");
	prctl(PR_SET_CHILD_SUBREAPER, was);
}
