/* SPDX-License-Identifier: MIT */
/*
 * Launches where the kernel or a seccomp filter refuses a newer system call:
 * clone3 answered with ENOSYS (older container runtimes' default profiles,
 * valgrind), close_range answered with ENOSYS, EPERM or EINVAL (kernels
 * before 5.11 for CLOSE_RANGE_CLOEXEC). The program must see what it sees
 * without the filter, or the launch must fail with a clear error.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch/fdclose.h"
#include "procbuilder.h"
#include "tests/common/built.h"
#include "tests/common/proc.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H "build/tests/helpers/pbhelper-static"

static char *env[] = {"A=1", "LANG=C", "PATH=/usr/bin:/bin", NULL};

/* Installs refusal(nr, e) here and checks that it answers. */
static void refuse_in_this_test(int nr, int e)
{
	cr_assert_eq(refuse_here(nr, e), 0, "%s", strerror(errno));
	errno = 0;
	cr_assert_eq(syscall(nr, 0, 0, 0), -1);
	cr_assert_eq(errno, e, "the filter answers %d with %s", nr, strerror(errno));
}

/* What H prints for args, built and started by the library in this process. */
static char *library_run(char **args)
{
	struct pb_builder *b;
	struct pb_error err;
	size_t nargs = 0;
	int fd = open(H, O_RDONLY | O_CLOEXEC), status;
	char *out;

	while (args[nargs])
		nargs++;
	cr_assert_eq(pb_builder_new(H, -1, fd, &b, &err), 0, "%s: %s", err.stage, err.msg);
	close(fd);
	cr_assert_eq(pb_add_arguments(b, (const char *const *)args, nargs), 0);
	cr_assert_eq(pb_add_environment(b, (const char *const *)env, sizeof(env) / sizeof(env[0]) - 1), 0);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s: %s", err.stage, err.msg);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %x: %s", status, out);
	pb_builder_free(b);
	return out;
}

/* ---- clone3 answered with ENOSYS ---- */

Test(no_clone3, the_library_launches_and_the_program_sees_what_posix_spawn_gives, .timeout = 30)
{
	char *args[] = {H, "report", "arg1", "", "arg three", NULL}, *got;
	struct run_result want;

	refuse_in_this_test(__NR_clone3, ENOSYS);
	/* glibc's posix_spawn falls back to clone itself */
	cr_assert_eq(run_cmd(args, env, &want), 0);
	cr_assert_eq(want.exit_code, 0, "%s", want.err);
	got = library_run(args);
	cr_assert_str_eq(got, want.out, "--- posix_spawn\n%s\n--- procbuilder\n%s", want.out, got);
	cr_assert(strstr(got, "\"fds\": [0,1,2]"), "%s", got);
	free(got);
	run_result_free(&want);
	cr_assert(no_children());
}

Test(no_clone3, run_spawn_sees_what_execve_gives, .timeout = 30)
{
	char *args[] = {H, "report", "arg1", "", "arg three", NULL};
	char *pbargv[] = {PB, "run", "--spawn", "--", H, "report", "arg1", "", "arg three", NULL};
	struct run_result want, got;

	cr_assert_eq(run_refusing(__NR_clone3, ENOSYS, args, env, &want), 0);
	cr_assert_eq(want.exit_code, 0, "execve: %s", want.err);
	cr_assert(strstr(want.out, "\"no_new_privs\": 1"), "the filter was there: %s", want.out);
	cr_assert_eq(run_refusing(__NR_clone3, ENOSYS, pbargv, env, &got), 0);
	cr_assert_eq(got.exit_code, 0, "procbuilder: %s", got.err);
	cr_assert_str_eq(got.err, "");
	cr_assert_str_eq(got.out, want.out, "--- execve\n%s\n--- procbuilder run --spawn\n%s", want.out, got.out);
	run_result_free(&want);
	run_result_free(&got);
}

/* A refusal other than ENOSYS is the filter's verdict: reported, no clone behind its back. */
Test(no_clone3, eperm_is_reported_not_worked_around)
{
	char *pbargv[] = {PB, "run", "--spawn", H, "exit", "0", NULL};
	struct run_result r;

	cr_assert_eq(run_refusing(__NR_clone3, EPERM, pbargv, env, &r), 0);
	cr_assert_eq(r.exit_code, 125, "%s", r.err);
	cr_assert_str_eq(r.err, "procbuilder: launch: clone3: Operation not permitted\n");
	run_result_free(&r);
}

/* ---- close_range refused ---- */

/* path opened without close-on-exec on the lowest free number from lowest (the test runner has fds of its own). */
static int open_inherited(const char *path, int flags, int lowest)
{
	int fd = open(path, flags | O_CLOEXEC), kept;

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	kept = fcntl(fd, F_DUPFD, lowest);
	cr_assert_geq(kept, lowest);
	close(fd);
	return kept;
}

/* The "fds=" line of a state report. */
static char *fds_line(const char *out)
{
	const char *l = strstr(out, "\nfds=");
	size_t n;

	cr_assert_not_null(l, "%s", out);
	n = strcspn(l + 1, "\n");
	return strndup(l + 1, n);
}

/* Whether fd is in a "fds=0,1,2,..." line. */
static bool has_fd(const char *line, int fd)
{
	char item[16];
	size_t n = (size_t)snprintf(item, sizeof(item), ",%d", fd);
	const char *p = strchr(line, '=');

	for (; p && (p = strstr(p, item)); p += n)
		if (p[n] == ',' || p[n] == 0)
			return true;
	return false;
}

/* What `procbuilder run [--spawn] --close-fds --fd 5=/etc/hostname H state` reports, under prog. */
static void close_fds_run(const struct sock_fprog *prog, bool spawn, struct run_result *r)
{
	char *argv[] = {PB, "run", "--close-fds", "--fd", "5=/etc/hostname", spawn ? "--spawn" : "--", H, "state", NULL};

	cr_assert_eq(run_cmd_filtered(prog, argv, env, r), 0);
	cr_assert_eq(r->exit_code, 0, "%s", r->err);
}

/*
 * As `(exec 7</etc/hostname 8>FILE; FILTER procbuilder run --close-fds ...)`:
 * the program sees 0, 1, 2 and 5, as without the filter.
 */
static void close_fds_refused_with(int e)
{
	char tmp[] = "/tmp/pb-fds-XXXXXX", *fds;
	char *keep[] = {PB, "run", "--spawn", H, "state", NULL};
	struct refusal f;
	struct run_result kept, want, got;
	int t = mkstemp(tmp), in, out;

	cr_assert_geq(t, 0);
	close(t);
	in = open_inherited("/etc/hostname", O_RDONLY, 70);
	out = open_inherited(tmp, O_WRONLY, 80);
	/* they do reach procbuilder: without --close-fds the program has them */
	cr_assert_eq(run_cmd_filtered(NULL, keep, env, &kept), 0);
	fds = fds_line(kept.out);
	cr_assert(has_fd(fds, in) && has_fd(fds, out), "%d and %d in %s: %s", in, out, fds, kept.err);
	free(fds);
	for (int spawn = 0; spawn < 2; spawn++) {
		close_fds_run(NULL, spawn, &want);
		fds = fds_line(want.out);
		cr_assert_str_eq(fds, "fds=0,1,2,5");
		close_fds_run(refusal(&f, __NR_close_range, e), spawn, &got);
		cr_assert_str_eq(got.err, "");
		cr_assert_str_eq(strchr(got.out, '\n'), strchr(want.out, '\n'), "%s:\n--- unfiltered\n%s\n--- filtered\n%s",
				 spawn ? "spawned" : "in place", want.out, got.out);
		free(fds);
		run_result_free(&want);
		run_result_free(&got);
	}
	run_result_free(&kept);
	close(in);
	close(out);
	unlink(tmp);
}

Test(no_close_range, enosys, .timeout = 60) { close_fds_refused_with(ENOSYS); }
Test(no_close_range, eperm, .timeout = 60) { close_fds_refused_with(EPERM); }
Test(no_close_range, einval_as_before_linux_5_11, .timeout = 60) { close_fds_refused_with(EINVAL); }

/* pb_builder_new closes the caller's fds (0, 1, 2 and what pb_add_fds gives pass), filter or not. */
Test(no_close_range, the_library_still_closes_the_callers_fds, .timeout = 30)
{
	char *out;

	open_inherited("/etc/hostname", O_RDONLY, 70);
	open_inherited("/dev/null", O_WRONLY, 300);
	refuse_in_this_test(__NR_close_range, EPERM);
	out = library_run((char *[]){H, "report", NULL});
	cr_assert(strstr(out, "\"fds\": [0,1,2]"), "%s", out);
	free(out);
	cr_assert(no_children());
}

/* Where no fd can be marked close-on-exec at all, nothing starts: a clear error rather than a leak. */
Test(no_close_range, unmarkable_fds_refuse_to_start, .timeout = 30)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close_range, 5, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fcntl, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, F_SETFD, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FD_CLOEXEC, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(insns) / sizeof(insns[0]), insns};
	struct run_result r;

	open_inherited("/etc/hostname", O_RDONLY, 70); /* something to close */
	cr_assert_eq(run_cmd_filtered(&prog, (char *[]){PB, "run", "--close-fds", "--spawn", H, "exit", "0", NULL},
				      env, &r), 0);
	cr_assert_eq(r.exit_code, 125, "%s", r.err);
	cr_assert_str_eq(r.err, "procbuilder: launch: marking the caller's fds close-on-exec: Operation not permitted\n");
	run_result_free(&r);
	cr_assert_eq(run_cmd_filtered(&prog, (char *[]){PB, "run", "--close-fds", H, "exit", "0", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 125, "%s", r.err);
	cr_assert_str_eq(r.err, "procbuilder: run: --close-fds: Operation not permitted\n");
	run_result_free(&r);
	/* the same filter without --close-fds: nothing to close, the program runs */
	cr_assert_eq(run_cmd_filtered(&prog, (char *[]){PB, "run", H, "exit", "0", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	run_result_free(&r);
}

/*
 * The shell's `exec 7</etc/hostname 8>FILE`, then run [--close-fds] in place,
 * close_range refused, with /proc or without it (as
 * in_place::runs_without_proc). The program's fds line, malloc'd.
 */
static char *in_place_fds(bool with_proc, const char *close_fds)
{
	char tmp[] = "/tmp/pb-fds-XXXXXX", cmd[1024], *fds;
	struct run_result r;
	int t = mkstemp(tmp);

	cr_assert_geq(t, 0);
	close(t);
	snprintf(cmd, sizeof(cmd), "%s exec 7</etc/hostname 8>%s && exec %s run %s %s state",
		 with_proc ? "" : "umount -l /proc &&", tmp, PB, close_fds, H);
	cr_assert_eq(run_refusing(__NR_close_range, ENOSYS, (char *[]){"/usr/bin/unshare", "-m", "/bin/sh", "-c", cmd, NULL},
				  env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s: %s", cmd, r.err);
	fds = fds_line(r.out);
	run_result_free(&r);
	unlink(tmp);
	return fds;
}

Test(no_close_range, in_place_with_and_without_proc, .timeout = 60)
{
	char *fds;

#ifdef PB_ASAN
	cr_skip("the ASan runtime itself reads /proc");
#endif
	if (geteuid() != 0)
		cr_skip("needs root to unmount /proc in a mount namespace of its own");
	for (int with_proc = 0; with_proc < 2; with_proc++) {
		fds = in_place_fds(with_proc, "--");
		cr_assert(has_fd(fds, 7) && has_fd(fds, 8), "without --close-fds, 7 and 8 pass: %s", fds);
		free(fds);
		fds = in_place_fds(with_proc, "--close-fds");
		cr_assert_str_eq(fds, "fds=0,1,2", "%s /proc", with_proc ? "with" : "without");
		free(fds);
	}
}

/* In a child: hides /proc, opens fds at 7 and as high as allowed, lowers RLIMIT_NOFILE, then marks. */
static int mark_without_proc(void)
{
	struct rlimit lim, few = {64, 64};
	int high, null;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("none", "/proc", "tmpfs", 0, NULL) < 0)
		return 77;
	if (access("/proc/self/fd", F_OK) == 0 || access("/proc/sys/fs/nr_open", F_OK) == 0) /* nr_open: 2^20 */
		return 2;
	getrlimit(RLIMIT_NOFILE, &lim);
	lim.rlim_cur = lim.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
		return 3;
	high = (int)(lim.rlim_max < 1u << 20 ? lim.rlim_max : 1u << 20) - 1;
	null = open("/dev/null", O_RDONLY);
	if (high < 1000 || dup2(null, 7) != 7 || dup2(null, high) != high)
		return 77;
	if (setrlimit(RLIMIT_NOFILE, &few) < 0 || refuse_here(__NR_close_range, ENOSYS) < 0)
		return 4;
	if (pb_cloexec_from(3) < 0)
		return 5;
	if (fcntl(0, F_GETFD) != 0 || fcntl(2, F_GETFD) != 0)
		return 6;
	return fcntl(7, F_GETFD) == FD_CLOEXEC && fcntl(high, F_GETFD) == FD_CLOEXEC ? 0 : 7;
}

/*
 * Without close_range and without /proc, every number below fs.nr_open (the
 * kernel's default 2^20 when /proc/sys is unreadable too) is marked: also
 * above an RLIMIT_NOFILE lowered after the fds were opened.
 */
Test(no_close_range, without_proc_every_number_below_nr_open, .timeout = 60)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(mark_without_proc());
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		cr_skip_test("cannot hide /proc in a mount namespace, or RLIMIT_NOFILE's hard limit is under 1000");
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %x", status);
}

/* ---- ptrace refused, or killing ---- */

/* A filter that kills the process on ptrace (SECCOMP_RET_KILL_PROCESS), as some sandboxes' profiles do. */
static const struct sock_fprog *killing_ptrace(struct sock_filter insns[4], struct sock_fprog *prog)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ptrace, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	memcpy(insns, f, sizeof(f));
	*prog = (struct sock_fprog){4, insns};
	return prog;
}

/*
 * LeakSanitizer's exit-time check stops the world with ptrace: under a filter
 * refusing ptrace it fails ("LeakSanitizer has encountered a fatal error"),
 * under one killing on it the process dies of SIGSYS. So in an ASan build
 * procbuilder runs under these filters with detect_leaks=0 (the rest of the
 * suite checks its leaks), and the library runs in a child that ends with
 * _exit.
 */
#ifdef PB_ASAN
static char *filtered_env[] = {"A=1", "LANG=C", "PATH=/usr/bin:/bin", "ASAN_OPTIONS=detect_leaks=0", NULL};
#else
static char *filtered_env[] = {"A=1", "LANG=C", "PATH=/usr/bin:/bin", NULL};
#endif

/* run --spawn under prog runs H as execve does under it (and the filter is there: no_new_privs). */
static void run_spawn_matches_execve(const struct sock_fprog *prog, const char *what)
{
	char *args[] = {H, "report", "arg1", "", "arg three", NULL};
	char *pbargv[] = {PB, "run", "--spawn", "--", H, "report", "arg1", "", "arg three", NULL};
	struct run_result want, got;

	cr_assert_eq(run_cmd_filtered(prog, args, filtered_env, &want), 0);
	cr_assert_eq(want.exit_code, 0, "%s: execve: %s", what, want.err);
	cr_assert(strstr(want.out, "\"no_new_privs\": 1"), "the filter was there: %s", want.out);
	cr_assert_eq(run_cmd_filtered(prog, pbargv, filtered_env, &got), 0);
	cr_assert_eq(got.exit_code, 0, "%s: procbuilder: status %d, signal %d: %s", what, got.exit_code, got.signal,
		     got.err);
	cr_assert_str_eq(got.err, "", "%s", what);
	cr_assert_str_eq(got.out, want.out, "%s\n--- execve\n%s\n--- procbuilder run --spawn\n%s", what, want.out,
			 got.out);
	run_result_free(&want);
	run_result_free(&got);
}

/* What H prints for args, built and started by the library, or NULL; no asserts (for a forked child). */
static char *library_out(char **args)
{
	struct pb_builder *b;
	struct pb_error err;
	size_t nargs = 0;
	int fd = open(H, O_RDONLY | O_CLOEXEC), status, r;
	char *out = NULL;

	while (args[nargs])
		nargs++;
	if (fd < 0 || pb_builder_new(H, -1, fd, &b, &err) < 0)
		return NULL;
	close(fd);
	r = pb_add_arguments(b, (const char *const *)args, nargs);
	if (r == 0)
		r = pb_add_environment(b, (const char *const *)env, sizeof(env) / sizeof(env[0]) - 1);
	if (r == 0)
		r = build_and_collect(b, &out, &status, &err);
	pb_builder_free(b);
	if (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/*
 * In a child under prog: the library launches H twice (the second time a
 * killing filter's cached verdict answers) and H prints what execve's run
 * under the same filter printed. The child's status: 0 if so.
 */
static int library_under(const struct sock_fprog *prog)
{
	char *args[] = {H, "report", "arg1", "", "arg three", NULL}, *got;
	struct run_result want;
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog) < 0)
			_exit(99);
		if (run_cmd(args, env, &want) < 0 || want.exit_code != 0)
			_exit(98);
		for (int i = 0; i < 2; i++) {
			got = library_out(args);
			if (!got)
				_exit(10 + i);
			if (strcmp(got, want.out) != 0)
				_exit(20 + i);
			free(got);
		}
		_exit(no_children() ? 0 : 30);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* Each refusal of ptrace falls back to the no-ptrace path, for run --spawn and for the library. */
static void ptrace_refused_with(int e)
{
	struct refusal f;
	int status;

	run_spawn_matches_execve(refusal(&f, __NR_ptrace, e), strerror(e));
	status = library_under(refusal(&f, __NR_ptrace, e));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "library under the filter: status %x (10/11: a launch failed, 20/21: other output, 30: a child left)",
		  status);
	cr_assert(no_children());
}

Test(no_ptrace, eperm, .timeout = 30) { ptrace_refused_with(EPERM); }
Test(no_ptrace, eacces, .timeout = 30) { ptrace_refused_with(EACCES); }
Test(no_ptrace, enosys, .timeout = 30) { ptrace_refused_with(ENOSYS); }

/*
 * A filter that kills on ptrace: the probe's child dies of it, procbuilder
 * does not (without the probe it dies of SIGSYS, status 159); the library in
 * a process under it, twice (the second from the cached verdict).
 */
Test(no_ptrace, a_filter_killing_on_ptrace_kills_only_the_probe, .timeout = 30)
{
	struct sock_filter insns[4];
	struct sock_fprog prog;
	int status;

	run_spawn_matches_execve(killing_ptrace(insns, &prog), "killing filter");
	status = library_under(killing_ptrace(insns, &prog));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "library under the filter: status %x (signal %d: killed; 10/11: a launch failed, 20/21: other "
		  "output)", status, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	cr_assert(no_children());
}

/* ---- no /proc ---- */

/* cmd run by sh in a mount namespace of its own where /proc is unmounted. */
static void without_proc(const char *cmd, struct run_result *r)
{
	char line[2048];

	snprintf(line, sizeof(line), "umount -l /proc && ! test -e /proc/self && exec %s", cmd);
	cr_assert_eq(run_cmd((char *[]){"unshare", "-m", "sh", "-c", line, NULL}, env, r), 0);
}

/*
 * execve needs no /proc, and neither does a launch: the stub's memfd is
 * exec'd as it is (no read-only reopen through /proc), and the stub's maps,
 * which it cannot read, are the ones the kernel is known to make. Spawned,
 * traced and not, a static program and a dynamic one; the program sees what
 * execve gives (in place: in_place::runs_without_proc).
 */
Test(no_proc, spawned_launches_like_execve, .timeout = 60)
{
	static const char *const how[] = {"run --spawn", "run --spawn --no-ptrace", "run --spawn --seed 7"};
	char cmd[512];
	struct run_result want, got;

#ifdef PB_ASAN
	cr_skip("the ASan runtime itself reads /proc");
#endif
	if (geteuid() != 0)
		cr_skip("needs root to unmount /proc in a mount namespace of its own");
	without_proc(H " report arg1 '' 'arg three'", &want);
	cr_assert_eq(want.exit_code, 0, "execve: %s", want.err);
	cr_assert(strstr(want.out, "\"proc_auxv_matches\": false"), "/proc was gone: %s", want.out);
	for (size_t i = 0; i < sizeof(how) / sizeof(how[0]); i++) {
		snprintf(cmd, sizeof(cmd), "%s %s " H " report arg1 '' 'arg three'", PB, how[i]);
		without_proc(cmd, &got);
		cr_assert_eq(got.exit_code, 0, "%s: %s", how[i], got.err);
		cr_assert_str_eq(got.err, "", "%s", how[i]);
		cr_assert_str_eq(got.out, want.out, "%s\n--- execve\n%s\n--- procbuilder\n%s", how[i], want.out, got.out);
		run_result_free(&got);
		/* a dynamic program: ld.so needs no /proc either */
		snprintf(cmd, sizeof(cmd), "%s %s /bin/sh -c 'echo dyn; exit 4'", PB, how[i]);
		without_proc(cmd, &got);
		cr_assert_eq(got.exit_code, 4, "%s: %s", how[i], got.err);
		cr_assert_str_eq(got.out, "dyn\n", "%s: %s", how[i], got.err);
		run_result_free(&got);
	}
	run_result_free(&want);
}

/* Where exec refuses the memfd (ETXTBSY: a kernel that runs no file open for writing), the error says /proc was the way round. */
Test(no_proc, etxtbsy_says_what_the_way_round_needs, .timeout = 30)
{
	struct run_result r;

	cr_assert_eq(run_refusing(__NR_execveat, ETXTBSY, (char *[]){PB, "run", "--spawn", H, "exit", "0", NULL}, env,
				  &r), 0);
	cr_assert_eq(r.exit_code, 125, "%s", r.err);
	cr_assert(strstr(r.err, "read-only reopen, which needs /proc"), "%s", r.err);
	run_result_free(&r);
	cr_assert_eq(run_refusing(__NR_execveat, ETXTBSY, (char *[]){PB, "run", H, "exit", "0", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 125, "%s", r.err);
	cr_assert(strstr(r.err, "read-only reopen, which needs /proc"), "%s", r.err);
	run_result_free(&r);
}
