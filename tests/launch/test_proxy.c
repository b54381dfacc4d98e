/* SPDX-License-Identifier: MIT */
/*
 * procbuilder run --spawn as a proxy: what its parent sends reaches the
 * program as sent, and the program is never left behind.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H_STATIC "build/tests/helpers/pbhelper-static"

static char *env[] = {"LANG=C", "PATH=/usr/bin:/bin", NULL};

/* procbuilder run --spawn H ARGS... in a process group of its own (as a shell's job), stdout to a pipe. */
static pid_t spawn_proxy(char **args, int *ret_out)
{
	char *argv[16] = {PB, "run", "--spawn", H_STATIC};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int p[2], n = 4;
	pid_t pid;

	for (; *args; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	cr_assert_eq(posix_spawn(&pid, PB, &fa, &at, argv, env), 0);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(p[1]);
	*ret_out = p[0];
	return pid;
}

static void read_until(int fd, char *buf, size_t cap, const char *want)
{
	size_t len = strlen(buf);

	while (!strstr(buf, want)) {
		struct pollfd pf = {fd, POLLIN, 0};
		ssize_t n;
		cr_assert_eq(poll(&pf, 1, 5000), 1, "waiting for '%s', got '%s'", want, buf);
		n = read(fd, buf + len, cap - 1 - len);
		cr_assert_gt(n, 0, "EOF waiting for '%s', got '%s'", want, buf);
		len += (size_t)n;
		buf[len] = 0;
	}
}

/* Forwarded as SI_QUEUE with the sender's pid and value (SI_USER to another process is refused). */
Test(proxy, forwards_the_senders_pid_and_value, .timeout = 20)
{
	char buf[512] = "", want[128], sig[16];
	union sigval v = {.sival_int = 42};
	int out, status;
	pid_t pid;

	snprintf(sig, sizeof(sig), "%d", SIGRTMIN + 2);
	pid = spawn_proxy((char *[]){"siginfo", sig, NULL}, &out);
	read_until(out, buf, sizeof(buf), "ready\n");
	cr_assert_eq(sigqueue(pid, SIGRTMIN + 2, v), 0);
	snprintf(want, sizeof(want), "code=%d pid=%d value=42\n", SI_QUEUE, getpid());
	read_until(out, buf, sizeof(buf), want);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%x", status);
	close(out);
}

/*
 * Signals whose default action kills: each reaches the program, which dies
 * of it, and so does the proxy (it used to die alone and orphan the program).
 */
Test(proxy, every_catchable_signal_reaches_the_program, .timeout = 60)
{
	int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGXCPU,
		      SIGVTALRM, SIGPROF, SIGPWR, SIGRTMIN, SIGRTMIN + 5, SIGRTMAX};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		char buf[64] = "";
		int out, status;
		pid_t pid = spawn_proxy((char *[]){"count", NULL}, &out);
		read_until(out, buf, sizeof(buf), "ready\n");
		if (sigs[i] == SIGINT) { /* count catches it: the proxy lives on, as the program does */
			kill(pid, SIGTERM);
			cr_assert_eq(waitpid(pid, &status, 0), pid);
			cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "%x", status);
			close(out);
			continue;
		}
		cr_assert_eq(kill(pid, sigs[i]), 0);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == sigs[i], "signal %d: status %x", sigs[i], status);
		close(out);
	}
}

/* The proxy killed with SIGKILL (Popen.kill()): the program goes too, by its parent-death signal. */
Test(proxy, never_leaves_the_program_behind, .timeout = 20)
{
	char buf[64] = "", path[64], *line = NULL;
	size_t cap = 0;
	int out, status;
	pid_t pid = spawn_proxy((char *[]){"count", NULL}, &out), prog = 0;
	FILE *f;

	read_until(out, buf, sizeof(buf), "ready\n");
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", pid, pid);
	f = fopen(path, "r");
	cr_assert(f && getline(&line, &cap, f) > 0 && (prog = atoi(line)) > 0, "the program's pid");
	fclose(f);
	free(line);
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	snprintf(path, sizeof(path), "/proc/%d/stat", prog);
	for (int i = 0; i < 200; i++) {
		char *st = NULL;
		f = fopen(path, "r");
		if (!f)
			break; /* gone and reaped */
		line = NULL;
		cap = 0;
		if (getline(&line, &cap, f) > 0)
			st = strrchr(line, ')');
		fclose(f);
		if (st && (st[2] == 'Z' || st[2] == 'X')) {
			free(line);
			break; /* dead, waiting for init */
		}
		free(line);
		cr_assert_lt(i, 199, "the program (pid %d) outlived its proxy", prog);
		usleep(10 * 1000);
	}
	close(out);
}

/* --stopped: continuing the program as the message says lets it run to its end, and the proxy with it. */
Test(proxy, a_program_started_stopped_runs_on_when_continued, .timeout = 20)
{
	char *argv[] = {PB, "run", "--stopped", H_STATIC, "exit", "5", NULL};
	char err[256];
	int status, prog;
	pid_t pid = start_held(argv, env, &prog, err, sizeof(err));

	cr_assert(pid > 0 && prog > 0, "%s", err);
	kill(prog, SIGCONT);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 5, "status %x", status);
}

/* An itimer set before procbuilder was exec'd was meant for the program: its SIGALRM (SI_KERNEL) is passed on. */
Test(proxy, the_callers_itimer_reaches_the_program, .timeout = 20)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct itimerval it = {{0, 0}, {0, 200 * 1000}};
		setpgid(0, 0);
		setitimer(ITIMER_REAL, &it, NULL);
		execve(PB, (char *[]){PB, "run", "--spawn", H_STATIC, "sleep", NULL}, env);
		_exit(99);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM, "status %x", status);
}

/*
 * A program that makes its parent its tracer (PTRACE_TRACEME) and raises a
 * signal: spawned, its parent is procbuilder, which lets go of it with the
 * signal passed on, so it runs as an untraced program does (as run in place,
 * where its parent is the caller, which never traces): a handled signal runs
 * the handler, a fatal one kills it and procbuilder dies of it too. Before,
 * procbuilder took the stop for a death and died of the signal itself, and
 * the program, let go by the kernel, never got it.
 */
Test(proxy, a_program_that_calls_traceme_is_let_go_with_its_signal, .timeout = 30)
{
	struct run_result r;

	cr_assert_eq(run_cmd((char *[]){PB, "run", "--spawn", H_STATIC, "traceme", "10", "h", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "status %d signal %d: %s", r.exit_code, r.signal, r.err);
	cr_assert_str_eq(r.out, "handled 10\nafter 10\n");
	run_result_free(&r);
	cr_assert_eq(run_cmd((char *[]){PB, "run", "--spawn", H_STATIC, "traceme", "15", NULL}, env, &r), 0);
	cr_assert_eq(r.signal, SIGTERM, "status %d signal %d: %s", r.exit_code, r.signal, r.err);
	cr_assert_str_eq(r.out, "");
	run_result_free(&r);
}

/* gdb not found: the process held for it is killed and reaped, and the line says so (it was "left stopped"). */
Test(proxy, without_gdb_the_held_process_is_killed_and_that_is_said, .timeout = 30)
{
	char *noenv[] = {"LANG=C", "PATH=/nonexist", NULL};
	struct run_result r;
	const char *at;
	int pid;

	cr_assert_eq(run_cmd((char *[]){PB, "run", "--gdb", H_STATIC, "exit", "0", NULL}, noenv, &r), 0);
	cr_assert_eq(r.exit_code, 125, "%s", r.err);
	at = strstr(r.err, "(process ");
	cr_assert(at && sscanf(at, "(process %d", &pid) == 1, "%s", r.err);
	cr_assert(strstr(r.err, "procbuilder: run: gdb: No such file or directory (process ") &&
		  strstr(r.err, ", held stopped for it, is killed)\n"), "%s", r.err);
	cr_assert(kill(pid, 0) < 0 && errno == ESRCH, "process %d is still there", pid);
	run_result_free(&r);
}

/*
 * --gdb hands gdb the program's file: as a user who cannot set /proc/PID/exe,
 * gdb would otherwise take the stub's memfd for the executable (frames '??').
 */
Test(proxy, gdb_is_given_the_program_not_the_stub, .timeout = 60)
{
	char prog[] = "/tmp/pb-gdbprog-XXXXXX", cmd[256];
	struct run_result r;
	int fd = mkstemp(prog);

	if (access("/usr/bin/gdb", X_OK) != 0 || geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
		cr_skip_test("needs gdb, root and setpriv (to be a user who cannot set exe)");
	close(fd);
	snprintf(cmd, sizeof(cmd), "cp %s %s && chmod 755 %s", H_STATIC, prog, prog);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(run_cmd((char *[]){"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", PB, "run",
					"--gdb-ex", "info inferiors", prog, "exit", "0", NULL}, env, &r), 0);
	cr_assert(strstr(r.out, prog), "gdb's executable is not the program:\n%s%s", r.out, r.err);
	cr_assert_null(strstr(r.out, "memfd"), "%s", r.out);
	run_result_free(&r);
	unlink(prog);
}

/* The child of parent whose comm is comm, or 0. */
static int child_named(pid_t parent, const char *comm)
{
	char path[300], stat[512], name[32];
	struct dirent *d;
	DIR *proc = opendir("/proc");
	int found = 0, ppid;

	while (proc && !found && (d = readdir(proc))) {
		FILE *f;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(stat, sizeof(stat), f) && sscanf(stat, "%*d (%31[^)]) %*c %d", name, &ppid) == 2 &&
		    ppid == parent && strcmp(name, comm) == 0)
			found = atoi(d->d_name);
		fclose(f);
	}
	if (proc)
		closedir(proc);
	return found;
}

/* procbuilder (the holder) SIGKILLed: the process it holds stopped dies too, never stays stopped for ever. */
static void held_dies_with_its_holder(char *const *argv)
{
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC), pid = 0, status;
	pid_t pb = fork();

	if (pb == 0) {
		dup2(null, 1);
		dup2(null, 2);
		execve(argv[0], argv, env);
		_exit(127);
	}
	close(null);
	for (int i = 0; i < 250 && !(pid = child_named(pb, "pbhelper-static")); i++)
		usleep(20000);
	cr_assert_gt(pid, 0, "no held process appeared");
	usleep(300000); /* gdb (debug pipeline) has attached, or the holder waits */
	kill(pb, SIGKILL);
	cr_assert_eq(waitpid(pb, &status, 0), pb);
	for (int i = 0; i < 250 && kill(pid, 0) == 0; i++)
		usleep(20000);
	cr_assert(kill(pid, 0) < 0 && errno == ESRCH, "process %d outlived its holder", pid);
}

Test(proxy, a_held_process_dies_with_its_holder, .timeout = 60)
{
	held_dies_with_its_holder((char *[]){PB, "run", "--stopped", H_STATIC, "sleep", NULL});
	if (access("/usr/bin/gdb", X_OK) == 0) /* handed to gdb: gdb (the same process) is the holder */
		held_dies_with_its_holder((char *[]){PB, "run", "--pipeline", "debug", "--gdb-ex", "shell sleep 30",
						     H_STATIC, "sleep", NULL});
}
