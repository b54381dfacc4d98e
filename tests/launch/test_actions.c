/* SPDX-License-Identifier: MIT */
/*
 * posix_spawn's fchdir and tcsetpgrp file actions as pb_set_cwd_fd and
 * pb_set_foreground (run's --chdir-fd and --foreground): what the program
 * sees equals what glibc's posix_spawn with addfchdir_np / addtcsetpgrp_np
 * gives the same program, through the library, in place and spawned.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/built.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define PYTHON "/usr/bin/python3"
/* whether the program's process group is its terminal's foreground one */
#define FG_PROBE "import os; print(os.tcgetpgrp(0) == os.getpgrp())"

static char *env[] = {"PATH=/usr/bin:/bin", NULL};

/* What argv printed on stdout, run by posix_spawn with fa (NULL: none). */
static char *spawned_output(char *const *argv, posix_spawn_file_actions_t *fa)
{
	posix_spawn_file_actions_t own;
	char *out = calloc(1, 4096);
	int p[2], st;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	if (!fa) {
		posix_spawn_file_actions_init(&own);
		fa = &own;
	}
	if (!out || pipe(p) < 0)
		return NULL;
	posix_spawn_file_actions_adddup2(fa, p[1], 1);
	if (posix_spawn(&pid, argv[0], fa, NULL, argv, env) != 0)
		return NULL;
	close(p[1]);
	while (n < 4095 && (k = read(p[0], out + n, 4095 - n)) > 0)
		n += (size_t)k;
	close(p[0]);
	waitpid(pid, &st, 0);
	return out;
}

static char *built_output(const char *prog, const char *const *argv, size_t argc, int cwd_fd, int fg_fd)
{
	struct pb_builder *b;
	struct pb_error err;
	char *out = NULL;
	int status, fd = open(prog, O_RDONLY | O_CLOEXEC);

	if (pb_builder_new(prog, -1, fd, &b, &err) < 0)
		return NULL;
	close(fd);
	pb_add_arguments(b, argv, argc);
	pb_add_environment(b, (const char *const *)env, 1);
	if ((cwd_fd >= 0 && pb_set_cwd_fd(b, cwd_fd) < 0) || (fg_fd >= 0 && pb_set_foreground(b, fg_fd) < 0) ||
	    build_and_collect(b, &out, &status, &err) < 0)
		out = NULL;
	pb_builder_free(b);
	return out;
}

/* The directory the fd names, renamed after it was set: fchdir follows the fd, not the path. */
Test(actions, cwd_fd_like_posix_spawn_fchdir)
{
	char dir[] = "/tmp/pb-fchdir-XXXXXX", moved[64], cmd[256], *want, *got;
	posix_spawn_file_actions_t fa;
	struct pb_builder *b;
	struct pb_error err;
	struct run_result r;
	int fd, pfd = open("/bin/pwd", O_RDONLY | O_CLOEXEC);

	cr_assert_not_null(mkdtemp(dir));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(moved, sizeof(moved), "%s-moved", dir);
	cr_assert_eq(rename(dir, moved), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addfchdir_np(&fa, fd);
	want = spawned_output((char *[]){"/bin/pwd", "-P", NULL}, &fa);
	cr_assert_not_null(want);
	cr_assert(strncmp(want, moved, strlen(moved)) == 0, "%s", want);
	got = built_output("/bin/pwd", (const char *[]){"/bin/pwd", "-P"}, 2, fd, -1);
	cr_assert_not_null(got);
	cr_assert_str_eq(got, want);
	free(got);
	for (int spawn = 0; spawn < 2; spawn++) {
		snprintf(cmd, sizeof(cmd), "exec %s run%s --chdir-fd 3 /bin/pwd -P 3<%s", PB, spawn ? " --spawn" : "", moved);
		cr_assert_eq(run_cmd((char *[]){"/bin/sh", "-c", cmd, NULL}, env, &r), 0);
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		cr_assert_str_eq(r.out, want, "%s", cmd);
		run_result_free(&r);
	}
	/* refused when set: not a directory, not open */
	cr_assert_eq(pb_builder_new("/bin/pwd", -1, pfd, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_set_cwd_fd(b, pfd), -ENOTDIR);
	cr_assert_eq(pb_set_cwd_fd(b, 1000), -EBADF);
	cr_assert_eq(pb_set_foreground(b, pfd), -ENOTTY);
	cr_assert_eq(pb_set_foreground(b, 1000), -EBADF);
	pb_builder_free(b);
	close(pfd);
	close(fd);
	rmdir(moved);
	free(want);
	posix_spawn_file_actions_destroy(&fa);
}

/*
 * In a background process group of a session whose controlling terminal is
 * a pty: each way of starting the probe, then the foreground given back.
 */
static void probe_from_background(int tty, int out, pid_t leader_pgrp)
{
	char *ways[6] = {0};
	posix_spawn_file_actions_t fa;

	signal(SIGTTOU, SIG_IGN); /* for giving the foreground back */
	dup2(tty, 0);
	posix_spawn_file_actions_init(&fa);
	ways[0] = spawned_output((char *[]){PYTHON, "-c", FG_PROBE, NULL}, NULL);
	tcsetpgrp(tty, leader_pgrp);
	posix_spawn_file_actions_addtcsetpgrp_np(&fa, 0);
	ways[1] = spawned_output((char *[]){PYTHON, "-c", FG_PROBE, NULL}, &fa);
	tcsetpgrp(tty, leader_pgrp);
	ways[2] = built_output(PYTHON, (const char *[]){PYTHON, "-c", FG_PROBE}, 3, -1, 0);
	tcsetpgrp(tty, leader_pgrp);
	signal(SIGTTOU, SIG_DFL); /* procbuilder and the program as a shell would start them */
	ways[3] = spawned_output((char *[]){PB, "run", "--foreground", "0", PYTHON, "-c", FG_PROBE, NULL}, NULL);
	signal(SIGTTOU, SIG_IGN);
	tcsetpgrp(tty, leader_pgrp);
	signal(SIGTTOU, SIG_DFL);
	ways[4] = spawned_output((char *[]){PB, "run", "--spawn", "--foreground", "0", PYTHON, "-c", FG_PROBE, NULL},
				 NULL);
	dprintf(out, "plain=%s action=%s library=%s in_place=%s spawned=%s", ways[0], ways[1], ways[2], ways[3],
		ways[4]);
}

Test(actions, foreground_like_posix_spawn_tcsetpgrp, .timeout = 60)
{
	int master, tty, p[2], status;
	char buf[512];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (access(PYTHON, X_OK) != 0)
		cr_skip_test("needs python3");
	cr_assert_eq(openpty(&master, &tty, NULL, NULL, NULL), 0);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		pid_t g;
		close(p[0]);
		if (setsid() < 0 || ioctl(tty, TIOCSCTTY, 0) < 0)
			_exit(90);
		g = fork();
		if (g == 0) {
			setpgid(0, 0);
			probe_from_background(tty, p[1], getsid(0));
			_exit(0);
		}
		waitpid(g, &status, 0);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 91);
	}
	close(p[1]);
	while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(status, 0, "status %x", status);
	cr_assert_str_eq(buf, "plain=False\n action=True\n library=True\n in_place=True\n spawned=True\n");
	close(master);
	close(tty);
}
