/* SPDX-License-Identifier: MIT */
/*
 * pb_set_landlock and run --landlock-ruleset: the program starts in the
 * caller's Landlock ruleset, as after landlock_restrict_self and execve,
 * compared with exactly that (fork, no_new_privs, restrict, execve) on the
 * same program in the same test; and the refusals when it is set.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/proc.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define BUSYBOX "/bin/busybox"

/* A ruleset that handles reading files and allows it below /usr only (where busybox's cat is not asked to look). */
static int usr_only_ruleset(void)
{
	struct landlock_ruleset_attr ra = {.handled_access_fs = LANDLOCK_ACCESS_FS_READ_FILE};
	struct landlock_path_beneath_attr pb = {.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE};
	int rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);

	if (rs < 0)
		cr_skip_test("Landlock: %s", strerror(errno));
	pb.parent_fd = open("/usr", O_PATH | O_CLOEXEC);
	cr_assert_eq(syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0), 0, "%s", strerror(errno));
	close(pb.parent_fd);
	return rs;
}

/* Reads fd to its end into a malloc'd string. */
static char *read_to_end(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	ssize_t n;

	while ((n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	return buf;
}

/* busybox cat of both files under ruleset rs the way execve's caller does it: its stdout+stderr and status. */
static char *execve_restricted(int rs, int *status)
{
	int p[2];
	pid_t pid;
	char *out;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_landlock_restrict_self, rs, 0) < 0)
			_exit(99);
		execv(BUSYBOX, (char *[]){"cat", "/usr/share/common-licenses/BSD", "/etc/hostname", NULL});
		_exit(98);
	}
	close(p[1]);
	out = read_to_end(p[0]);
	close(p[0]);
	waitpid(pid, status, 0);
	return out;
}

/* The same built by the library, spawned. */
static char *built_restricted(int rs, int *status)
{
	const char *argv[] = {"cat", "/usr/share/common-licenses/BSD", "/etc/hostname"};
	struct pb_startup_fd fds[2] = {{.type = PB_FD_NUMBERED, .arg = 1}, {.type = PB_FD_NUMBERED, .arg = 2}};
	struct pb_builder *b;
	struct pb_built *p;
	struct pb_error err;
	int pipefd[2], fd = open(BUSYBOX, O_RDONLY | O_CLOEXEC);
	char *out;

	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	fds[0].fd = fds[1].fd = pipefd[1];
	cr_assert_eq(pb_builder_new("cat", -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	cr_assert_eq(pb_add_arguments(b, argv, 3), 0);
	cr_assert_eq(pb_add_fds(b, fds, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_set_no_new_privs(b, 1), 0);
	cr_assert_eq(pb_set_landlock(b, rs), 0);
	cr_assert_eq(pb_build(b, &p, &err), 0, "%s", err.msg);
	pb_builder_free(b);
	close(pipefd[1]);
	cr_assert_eq(pb_start(p, &err), 0, "%s", err.msg);
	out = read_to_end(pipefd[0]);
	close(pipefd[0]);
	cr_assert_eq(pb_wait(p, status), 0);
	pb_built_free(p);
	return out;
}

Test(landlock, the_program_starts_in_the_ruleset_like_restrict_and_execve)
{
	int rs = usr_only_ruleset(), st_exec, st_built;
	char *by_exec = execve_restricted(rs, &st_exec), *by_pb = built_restricted(rs, &st_built);

	cr_assert(strstr(by_exec, "Permission"), "the ruleset refuses /etc/hostname: %s", by_exec);
	cr_assert(strstr(by_exec, "Redistribution and use"), "and lets /usr be read: %s", by_exec);
	cr_assert_str_eq(by_pb, by_exec);
	cr_assert_eq(st_built, st_exec);
	free(by_exec);
	free(by_pb);
	close(rs);
	cr_assert(no_children());
}

Test(landlock, cli_in_place_and_spawned_like_restrict_and_execve)
{
	int rs = usr_only_ruleset(), st_exec;
	char *by_exec = execve_restricted(rs, &st_exec), fdarg[16];
	struct run_result r;

	snprintf(fdarg, sizeof(fdarg), "%d", rs);
	cr_assert_eq(fcntl(rs, F_SETFD, 0), 0); /* the CLI gets it as a shell would pass it */
	for (int spawned = 0; spawned < 2; spawned++) {
		char *argv[] = {PB, "run", "--no-new-privs", "--landlock-ruleset", fdarg, spawned ? "--spawn" : "--no-new-privs",
				BUSYBOX, "cat", "/usr/share/common-licenses/BSD", "/etc/hostname", NULL};

		cr_assert_eq(run_cmd_filtered(NULL, argv, NULL, &r), 0);
		/* busybox's messages name itself as cat; our stdout and stderr are two pipes */
		cr_assert(r.err_len && strstr(by_exec, r.err), "stderr %s / execve's %s", r.err, by_exec);
		cr_assert(strstr(r.err, "can't open '/etc/hostname': Permission denied"), "%s", r.err);
		cr_assert(r.out_len && strstr(by_exec, r.out), "stdout as execve's");
		cr_assert(strstr(r.out, "Redistribution and use"), "/usr is read");
		cr_assert_eq(r.status, st_exec, "%s: status %#x, execve's %#x", spawned ? "spawned" : "in place", r.status,
			     st_exec);
		run_result_free(&r);
	}
	free(by_exec);
	close(rs);
}

Test(landlock, refused_when_set)
{
	struct pb_builder *b;
	struct pb_error err;
	int fd = open(BUSYBOX, O_RDONLY | O_CLOEXEC), p[2], rs = usr_only_ruleset();

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(pb_builder_new("cat", -1, fd, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_set_landlock(b, 999), -EBADF);
	cr_assert_eq(pb_set_landlock(b, p[0]), -EBADFD, "a pipe is not a ruleset");
	pb_builder_free(b);
	/* without CAP_SYS_ADMIN in the bounding set the stub will not have it: no_new_privs is then required */
	cr_assert_eq(prctl(PR_CAPBSET_DROP, 21 /* CAP_SYS_ADMIN */, 0, 0, 0), 0);
	cr_assert_eq(pb_builder_new("cat", -1, fd, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_set_landlock(b, rs), -EACCES);
	cr_assert_eq(pb_set_no_new_privs(b, 1), 0);
	cr_assert_eq(pb_set_landlock(b, rs), 0);
	pb_builder_free(b);
	close(fd);
	close(p[0]);
	close(p[1]);
	close(rs);
	cr_assert(no_children());
}

/* A ruleset that handles executing and allows none: execve of busybox inside it fails with EACCES. */
Test(landlock, a_ruleset_forbidding_the_program_is_refused_like_execve)
{
	struct landlock_ruleset_attr ra = {.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE};
	int rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0), status, fd;
	struct pb_builder *b;
	struct pb_error err;
	pid_t pid;

	if (rs < 0)
		cr_skip_test("Landlock: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_landlock_restrict_self, rs, 0) < 0)
			_exit(99);
		execv(BUSYBOX, (char *[]){"true", NULL});
		_exit(errno);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == EACCES, "execve: %#x", status);
	fd = open(BUSYBOX, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pb_builder_new("true", -1, fd, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_set_no_new_privs(b, 1), 0);
	cr_assert_eq(pb_set_landlock(b, rs), -EACCES, "the domain would not let it be executed");
	pb_builder_free(b);
	close(fd);
	close(rs);
	cr_assert(no_children());
}
