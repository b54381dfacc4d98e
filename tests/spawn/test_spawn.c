/* SPDX-License-Identifier: MIT */
/*
 * The posix_spawn drop-in against glibc's own posix_spawn, in the same
 * test, on the same probe (pbhelper spawnprobe: cwd, umask, ids, groups,
 * session and group, the terminal's group, mask, dispositions, every fd and
 * what it is): each file action and attribute flag, the errors (a failing
 * action is the return value and no process, no zombie, no fd is left), the
 * pid (a child the caller reaps) and SIGCHLD as the caller sees it. The file
 * actions are recorded as the preload library records them (the shadow), and
 * every test checks that procbuilder, not glibc, started the program.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "launch/posix_spawn.h"

#define HELPERS "build/tests/helpers"
#define PROBE probe_path()

extern char **environ;

/* A file of this test process's own in /tmp (tests run in parallel). */
static const char *tmp(const char *name)
{
	static char paths[4][128];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "/tmp/pbspawn-%d-%s", (int)getpid(), name);
	return p;
}

/* The probe by its absolute path: the tests change directories in the child. */
static const char *probe_path(void)
{
	static char path[4096];

	if (!path[0])
		cr_assert(realpath(HELPERS "/pbhelper-dynamic", path));
	return path;
}

/* Each file action, given to glibc and recorded in the shadow, as the preload library does. */
static void fa_init(posix_spawn_file_actions_t *fa)
{
	cr_assert_eq(posix_spawn_file_actions_init(fa), 0);
	pb_shadow_init(fa);
}

static void fa_done(posix_spawn_file_actions_t *fa)
{
	pb_shadow_forget(fa);
	posix_spawn_file_actions_destroy(fa);
}

static void fa_open(posix_spawn_file_actions_t *fa, int fd, const char *path, int oflag, mode_t mode)
{
	struct pb_spawn_action a = {.kind = PB_SA_OPEN, .fd = fd, .path = (char *)path, .oflag = oflag, .mode = mode};

	cr_assert_eq(posix_spawn_file_actions_addopen(fa, fd, path, oflag, mode), 0);
	pb_shadow_add(fa, &a);
}

static void fa_simple(posix_spawn_file_actions_t *fa, int kind, int fd, int newfd)
{
	struct pb_spawn_action a = {.kind = kind, .fd = fd, .newfd = newfd};
	int r = kind == PB_SA_CLOSE ? posix_spawn_file_actions_addclose(fa, fd)
		: kind == PB_SA_DUP2 ? posix_spawn_file_actions_adddup2(fa, fd, newfd)
		: kind == PB_SA_FCHDIR ? posix_spawn_file_actions_addfchdir_np(fa, fd)
		: kind == PB_SA_CLOSEFROM ? posix_spawn_file_actions_addclosefrom_np(fa, fd)
		: posix_spawn_file_actions_addtcsetpgrp_np(fa, fd);

	cr_assert_eq(r, 0);
	pb_shadow_add(fa, &a);
}

static void fa_chdir(posix_spawn_file_actions_t *fa, const char *path)
{
	struct pb_spawn_action a = {.kind = PB_SA_CHDIR, .path = (char *)path};

	cr_assert_eq(posix_spawn_file_actions_addchdir_np(fa, path), 0);
	pb_shadow_add(fa, &a);
}

/* pb_posix_spawn(p) as the preload library calls it, with the outcome. */
static int pb_spawn(bool search, pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		    const posix_spawnattr_t *attr, char *const argv[], struct pb_spawn_outcome *out)
{
	struct pb_spawn_action *acts = NULL;
	size_t n = 0;
	int r;

	if (fa && pb_shadow_get(fa, &acts, &n) < 0)
		n = (size_t)-1;
	r = pb_spawn_dropin(pid, path, fa, acts, n, attr, argv, environ, search, NULL, out);
	pb_spawn_actions_free(acts, n == (size_t)-1 ? 0 : n);
	return r;
}

static char *slurp(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n < 0 ? 0 : n] = 0;
	return strdup(buf);
}

/* Whether the report in path holds needle. */
static bool report_has(const char *path, const char *needle)
{
	char *text = slurp(path);
	bool found = strstr(text, needle) != NULL;

	free(text);
	return found;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

struct run {
	int ret, status;
	char *report;
};

/* Spawns the probe (reporting into out) one way or the other and reaps it. */
static struct run run_probe(bool ours, bool search, const char *path, const posix_spawn_file_actions_t *fa,
			    const posix_spawnattr_t *attr, const char *out, bool expect_glibc)
{
	char *argv[] = {"probe", "spawnprobe", (char *)out, "x y", NULL};
	struct pb_spawn_outcome oc;
	struct run r = {0};
	pid_t pid = -1;

	unlink(out);
	cr_assert_neq(access(out, F_OK), 0, "%s is still there: a report not written would pass for this one", out);
	r.ret = ours ? pb_spawn(search, &pid, path, fa, attr, argv, &oc)
		     : (search ? posix_spawnp : posix_spawn)(&pid, path, fa, attr, argv, environ);
	if (ours)
		cr_assert_eq(oc.glibc, expect_glibc, "went to glibc: %d (%s)", oc.glibc, oc.why);
	if (r.ret == 0)
		cr_assert_eq(waitpid(pid, &r.status, 0), pid, "the returned pid is our child");
	r.report = slurp(out);
	return r;
}

/* Only what our spawn of the probe returned. */
static int ours_returns(const char *path, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr)
{
	struct run r = run_probe(true, false, path, fa, attr, tmp("x"), false);

	free(r.report);
	return r.ret;
}

/* glibc's posix_spawn and ours, same arguments: same return, same status, same report. */
static void same_as_glibc_via(bool search, const char *path, const posix_spawn_file_actions_t *fa,
			      const posix_spawnattr_t *attr, bool expect_glibc)
{
	int before = open_fds();
	struct run g = run_probe(false, search, path, fa, attr, tmp("glibc.out"), false);
	struct run p = run_probe(true, search, path, fa, attr, tmp("ours.out"), expect_glibc);

	cr_assert_eq(p.ret, g.ret, "returned %d, glibc %d", p.ret, g.ret);
	cr_assert_eq(p.status, g.status, "status %#x, glibc %#x", p.status, g.status);
	cr_assert_str_eq(p.report, g.report, "ours:\n%s\nglibc's:\n%s", p.report, g.report);
	cr_assert_eq(waitpid(-1, NULL, WNOHANG), -1, "no other child left");
	cr_assert_eq(open_fds(), before, "no fd left in the caller");
	free(g.report);
	free(p.report);
}

static void same_as_glibc(const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr)
{
	same_as_glibc_via(false, PROBE, fa, attr, false);
}

static void same_error(const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr, int err)
{
	same_as_glibc(fa, attr);
	cr_assert_eq(ours_returns(PROBE, fa, attr), err);
}

/* fds the caller holds: one inherited, one close-on-exec. */
static void caller_fds(void)
{
	int a = open("/etc/hostname", O_RDONLY), b = open("/etc/passwd", O_RDONLY | O_CLOEXEC);

	cr_assert(dup2(a, 70) == 70 && dup2(b, 71) == 71 && fcntl(71, F_SETFD, FD_CLOEXEC) == 0);
	close(a);
	close(b);
}

Test(spawn, nothing_set_inherits_fds_as_execve)
{
	caller_fds();
	same_as_glibc(NULL, NULL);
	cr_assert(report_has(tmp("ours.out"), "fd 70 /etc/hostname"));
	cr_assert(!report_has(tmp("ours.out"), "fd 71 "));
}

Test(spawn, open_actions_in_order)
{
	posix_spawn_file_actions_t fa;

	caller_fds();
	fa_init(&fa);
	fa_open(&fa, 5, "/etc/hostname", O_RDONLY, 0);
	fa_open(&fa, 70, tmp("open.log"), O_WRONLY | O_CREAT | O_APPEND, 0600); /* over an inherited one */
	fa_open(&fa, 0, "/dev/null", O_RDWR, 0);
	fa_open(&fa, 90, "/etc/passwd", O_RDONLY | O_CLOEXEC, 0); /* lands elsewhere: dup2 clears it */
	same_as_glibc(&fa, NULL);
	cr_assert(report_has(tmp("ours.out"), "fd 90 /etc/passwd"));
	fa_done(&fa);
}

Test(spawn, close_and_dup2)
{
	posix_spawn_file_actions_t fa;
	int p[2];

	caller_fds();
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fa_init(&fa);
	fa_simple(&fa, PB_SA_CLOSE, 70, 0);
	fa_simple(&fa, PB_SA_CLOSE, 300, 0); /* not open: no error, as glibc */
	fa_simple(&fa, PB_SA_DUP2, p[1], 1);
	fa_simple(&fa, PB_SA_DUP2, p[1], 2);
	fa_simple(&fa, PB_SA_DUP2, 71, 71); /* onto itself: clears close-on-exec */
	fa_simple(&fa, PB_SA_CLOSE, p[1], 0);
	same_as_glibc(&fa, NULL);
	cr_assert(report_has(tmp("ours.out"), "fd 71 /etc/passwd"));
	fa_done(&fa);
	close(p[0]);
	close(p[1]);
}

Test(spawn, chdir_then_relative_open_and_program)
{
	posix_spawn_file_actions_t fa;

	mkdir("/tmp/pbspawn-dir", 0755);
	fa_init(&fa);
	fa_chdir(&fa, "/tmp");
	fa_chdir(&fa, "pbspawn-dir"); /* relative to the first */
	fa_open(&fa, 5, "here.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	same_as_glibc(&fa, NULL);
	cr_assert_eq(access("/tmp/pbspawn-dir/here.log", F_OK), 0);
	fa_done(&fa);
	/* the program's own relative path is the new directory's */
	fa_init(&fa);
	fa_chdir(&fa, HELPERS);
	same_as_glibc_via(false, "./pbhelper-dynamic", &fa, NULL, false);
	fa_done(&fa);
}

Test(spawn, fchdir_and_closefrom)
{
	posix_spawn_file_actions_t fa;
	int dir = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	caller_fds();
	fa_init(&fa);
	fa_simple(&fa, PB_SA_FCHDIR, dir, 0);
	fa_open(&fa, 60, "/etc/hostname", O_RDONLY, 0);
	fa_simple(&fa, PB_SA_CLOSEFROM, 65, 0); /* 70 goes, 60 stays */
	same_as_glibc(&fa, NULL);
	cr_assert(report_has(tmp("ours.out"), "cwd /tmp\n"));
	cr_assert(!report_has(tmp("ours.out"), "fd 70 "));
	fa_done(&fa);
	close(dir);
}

Test(spawn, tcsetpgrp_on_a_new_terminal)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	cr_assert(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
	fa_init(&fa);
	fa_open(&fa, 0, ptsname(m), O_RDWR, 0); /* a session leader's first terminal: its controlling one */
	fa_simple(&fa, PB_SA_TCSETPGRP, 0, 0);
	same_as_glibc(&fa, &at);
	cr_assert(report_has(tmp("ours.out"), "tty0 foreground 1"));
	fa_done(&fa);
	posix_spawnattr_destroy(&at);
	close(m);
}

Test(spawn, attribute_flags)
{
	posix_spawnattr_t at;
	sigset_t mask, def;

	signal(SIGUSR2, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGRTMIN + 3);
	sigemptyset(&def);
	sigaddset(&def, SIGUSR2);
	posix_spawnattr_init(&at);
	posix_spawnattr_setsigmask(&at, &mask);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP |
					  POSIX_SPAWN_USEVFORK | POSIX_SPAWN_RESETIDS);
	same_as_glibc(NULL, &at);
	cr_assert(report_has(tmp("ours.out"), "group_leader 1"));
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
	same_as_glibc(NULL, &at);
	cr_assert(report_has(tmp("ours.out"), "session_leader 1"));
	/* without SETSIGMASK: the calling thread's mask */
	sigprocmask(SIG_BLOCK, &mask, NULL);
	posix_spawnattr_setflags(&at, 0);
	same_as_glibc(NULL, &at);
	posix_spawnattr_destroy(&at);
}

Test(spawn, pgroup_of_another_group)
{
	posix_spawnattr_t at;

	setpgid(0, 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, getpgrp());
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	same_as_glibc(NULL, &at);
	cr_assert(report_has(tmp("ours.out"), "parents_group 1"));
	posix_spawnattr_destroy(&at);
}

/*
 * SETSCHEDULER and SETSCHEDPARAM through pb_set_scheduler and
 * pb_set_sched_priority (the probe reports policy and priority). glibc's
 * posix_spawnattr_setschedpolicy takes SCHED_OTHER, _FIFO and _RR only.
 */
static void sched_is(const char *want)
{
	char *t = slurp(tmp("ours.out"));

	cr_assert(strstr(t, want), "want %s in:\n%s", want, t);
	free(t);
}

Test(spawn, scheduler_and_priority_like_glibc)
{
	posix_spawnattr_t at;
	struct sched_param sp = {.sched_priority = 7};

	posix_spawnattr_init(&at);
	cr_assert_eq(posix_spawnattr_setschedpolicy(&at, SCHED_FIFO), 0);
	posix_spawnattr_setschedparam(&at, &sp);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDULER);
	same_as_glibc(NULL, &at);
	sched_is("(sched 1 prio 7)"); /* as root */
	cr_assert_eq(posix_spawnattr_setschedpolicy(&at, SCHED_RR), 0);
	sp.sched_priority = 3;
	posix_spawnattr_setschedparam(&at, &sp);
	same_as_glibc(NULL, &at);
	sched_is("(sched 2 prio 3)");
	/* SETSCHEDPARAM alone keeps our policy, SCHED_OTHER, where 0 is the only priority */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDPARAM);
	same_error(NULL, &at, EINVAL);
	sp.sched_priority = 0;
	posix_spawnattr_setschedparam(&at, &sp);
	same_as_glibc(NULL, &at);
	sched_is("(sched 0 prio 0)");
	/* both flags: the policy and its priority, as glibc's child does */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSCHEDPARAM | POSIX_SPAWN_SETSCHEDULER);
	sp.sched_priority = 5;
	posix_spawnattr_setschedparam(&at, &sp);
	same_as_glibc(NULL, &at);
	sched_is("(sched 2 prio 5)");
	posix_spawnattr_destroy(&at);
}

Test(spawn, actions_not_seen_go_to_glibc)
{
	posix_spawn_file_actions_t fa;

	posix_spawn_file_actions_init(&fa); /* glibc's alone: no shadow */
	posix_spawn_file_actions_addopen(&fa, 5, "/etc/hostname", O_RDONLY, 0);
	same_as_glibc_via(false, PROBE, &fa, NULL, true);
	posix_spawn_file_actions_destroy(&fa);
}

Test(spawn, spawnp_searches_the_callers_path)
{
	setenv("PATH", "/nonexistent:" HELPERS, 1);
	same_as_glibc_via(true, "pbhelper-dynamic", NULL, NULL, false);
}

Test(spawn, failing_actions_are_the_return_value)
{
	posix_spawn_file_actions_t fa;
	int file = open("/etc/hostname", O_RDONLY | O_CLOEXEC);

	fa_init(&fa);
	fa_open(&fa, 5, "/tmp/pbspawn-created", O_WRONLY | O_CREAT, 0644); /* done, then the next fails */
	fa_open(&fa, 6, "/nonexistent/file", O_RDONLY, 0);
	same_error(&fa, NULL, ENOENT);
	unlink("/tmp/pbspawn-created");
	cr_assert_eq(ours_returns(PROBE, &fa, NULL), ENOENT);
	cr_assert_eq(access("/tmp/pbspawn-created", F_OK), 0, "the actions before the failure were done");
	fa_done(&fa);

	fa_init(&fa);
	fa_simple(&fa, PB_SA_DUP2, 900, 1);
	same_error(&fa, NULL, EBADF);
	fa_done(&fa);

	fa_init(&fa);
	fa_chdir(&fa, "/nonexistent");
	same_error(&fa, NULL, ENOENT);
	fa_done(&fa);

	fa_init(&fa);
	fa_simple(&fa, PB_SA_FCHDIR, file, 0);
	same_error(&fa, NULL, ENOTDIR);
	fa_done(&fa);

	fa_init(&fa);
	fa_simple(&fa, PB_SA_TCSETPGRP, file, 0);
	same_error(&fa, NULL, ENOTTY);
	fa_done(&fa);
	close(file);
}

Test(spawn, failing_attributes_are_the_return_value)
{
	posix_spawnattr_t at;

	posix_spawnattr_init(&at);
	posix_spawnattr_setpgroup(&at, 1); /* init's group, in another session: EPERM */
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	same_error(NULL, &at, EPERM);
	posix_spawnattr_destroy(&at);
}

Test(spawn, a_file_the_kernel_refuses_is_enoexec)
{
	int fd = open("/tmp/pbspawn-noexec", O_WRONLY | O_CREAT | O_TRUNC, 0755);

	cr_assert(write(fd, "echo no shebang\n", 16) == 16);
	close(fd);
	same_as_glibc_via(false, "/tmp/pbspawn-noexec", NULL, NULL, false);
	cr_assert_eq(ours_returns("/tmp/pbspawn-noexec", NULL, NULL), ENOEXEC);
	/* posix_spawnp too: no /bin/sh fallback in glibc 2.36 (that is execvp's) */
	setenv("PATH", "/tmp", 1);
	same_as_glibc_via(true, "pbspawn-noexec", NULL, NULL, false);
	/* not there: glibc's answer (ENOENT), through glibc */
	same_as_glibc_via(false, "/nonexistent", NULL, NULL, true);
}

/* Runs `pbhelper echo` (waits on a pipe) and tells whether the caller got a SIGCHLD before it ended. */
static bool sigchld_while_running(bool ours, pid_t *ret)
{
	posix_spawn_file_actions_t fa;
	char *argv[] = {"probe", "echo", NULL};
	struct pb_spawn_outcome oc;
	sigset_t pending;
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fa_init(&fa);
	fa_simple(&fa, PB_SA_DUP2, p[0], 0);
	cr_assert_eq(ours ? pb_spawn(false, ret, PROBE, &fa, NULL, argv, &oc)
			  : posix_spawn(ret, PROBE, &fa, NULL, argv, environ), 0);
	cr_assert(!ours || !oc.glibc);
	sigpending(&pending);
	close(p[0]);
	close(p[1]); /* EOF: it ends */
	fa_done(&fa);
	return sigismember(&pending, SIGCHLD);
}

/* Reaps pid with wait(NULL) (it must be the only child left) and takes the SIGCHLD its end queued. */
static void reap_and_drain(pid_t pid, const sigset_t *chld)
{
	cr_assert_eq(wait(NULL), pid, "the program is our child, and the only one");
	cr_assert_eq(sigtimedwait(chld, NULL, &(struct timespec){0, 0}), SIGCHLD, "its end is one SIGCHLD");
	cr_assert_eq(wait(NULL), -1, "nothing else of ours to reap");
	cr_assert_eq(errno, ECHILD);
}

Test(spawn, sigchld_and_wait_as_the_caller_sees_them)
{
	sigset_t chld;
	pid_t pid;
	bool ours, glibcs;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	/* one after the other: each program ends (a SIGCHLD) only when its pipe is closed */
	ours = sigchld_while_running(true, &pid);
	reap_and_drain(pid, &chld);
	glibcs = sigchld_while_running(false, &pid);
	reap_and_drain(pid, &chld);
	cr_assert_eq(ours, glibcs, "a SIGCHLD while it runs: ours %d, glibc's %d", ours, glibcs);
	cr_assert_eq(ours, false);
}

Test(spawn, public_calls)
{
	char *argv[] = {"true", NULL};
	pid_t pid = 0;
	int st;

	cr_assert_eq(pb_posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(st, 0);
	cr_assert_eq(pb_posix_spawnp(&pid, "true", NULL, NULL, argv, environ), 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert_eq(pb_posix_spawn(NULL, "/bin/true", NULL, NULL, argv, environ), 0);
	cr_assert(wait(&st) > 0);
	cr_assert_eq(pb_posix_spawnp(&pid, "no-such-program-here", NULL, NULL, argv, environ), ENOENT);
}

/*
 * RESETIDS from a caller whose effective uid and gid are not its real ones
 * (a set-id program's situation): glibc's child sets them back to the real
 * ones before the exec; procbuilder through pb_set_resetids.
 */
Test(spawn, resetids_of_a_set_id_caller_like_glibc)
{
	posix_spawnattr_t at;

	cr_assert_eq(setresgid(0, 65534, 0), 0);
	cr_assert_eq(setresuid(0, 65534, 0), 0);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_RESETIDS);
	same_as_glibc(NULL, &at);
	sched_is("ids 0 0 0 0 ");
	/* without it the probe runs as nobody: the reports of the first part are root's, which it may not replace */
	cr_assert_eq(seteuid(0), 0);
	unlink(tmp("glibc.out"));
	unlink(tmp("ours.out"));
	cr_assert_eq(seteuid(65534), 0);
	posix_spawnattr_setflags(&at, 0);
	same_as_glibc(NULL, &at);
	sched_is("ids 0 65534 0 65534 ");
	posix_spawnattr_destroy(&at);
}
