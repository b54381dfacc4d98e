/* SPDX-License-Identifier: MIT */
/*
 * The pool of stubs spawned ahead: a pooled launch gives the program what a
 * fresh one and posix_spawn give it, a stub that no longer matches the
 * caller is not used, and nothing is left behind.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/proc.h"

#define H "build/tests/helpers/pbhelper-static"
#define HD "build/tests/helpers/pbhelper-dynamic"

/* Reads what fd has until EOF into buf (NUL-terminated). */
static void read_all(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
}

/* Builds, starts and waits for b's program with args; its stdout in out. */
static void launch(struct pb_builder *b, const char *const *argv, size_t argc, char *out, size_t size)
{
	struct pb_startup_fd fd1 = {.type = PB_FD_NUMBERED, .arg = 1};
	struct pb_built *p;
	struct pb_error err;
	int pipefd[2], status;

	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	fd1.fd = pipefd[1];
	cr_assert_eq(pb_add_arguments(b, argv, argc), 0);
	cr_assert_eq(pb_add_fds(b, &fd1, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_build(b, &p, &err), 0, "%s", err.msg);
	pb_builder_free(b);
	close(pipefd[1]);
	cr_assert_eq(pb_start(p, &err), 0, "%s", err.msg);
	read_all(pipefd[0], out, size);
	close(pipefd[0]);
	cr_assert_eq(pb_wait(p, &status), 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	pb_built_free(p);
}

static void take_and_launch(struct pb_pool *pool, const char *const *argv, size_t argc, char *out, size_t size)
{
	struct pb_builder *b;
	struct pb_error err;
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);

	cr_assert_eq(pb_pool_take(pool, argv[0], fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	launch(b, argv, argc, out, size);
}

static void fresh_launch(const char *const *argv, size_t argc, char *out, size_t size)
{
	struct pb_builder *b;
	struct pb_error err;
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);

	cr_assert_eq(pb_builder_new(argv[0], -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	launch(b, argv, argc, out, size);
}

/* posix_spawn of the same argv, its stdout in out. */
static void spawned(const char *const *argv, char *out, size_t size)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2], status;
	pid_t pid;

	cr_assert_eq(pipe2(pipefd, O_CLOEXEC), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, (char *[]){NULL}), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	read_all(pipefd[0], out, size);
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
}

/* The pids of this thread's children (the pool's stubs), from /proc. How many. */
static int children(pid_t *pids, int max)
{
	char path[64], buf[512], *p = buf, *end;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)gettid());
	char *s = slurp(path);

	cr_assert(s, "no %s", path);
	snprintf(buf, sizeof(buf), "%s", s);
	free(s);
	while (n < max) {
		long v = strtol(p, &end, 10);

		if (end == p)
			break;
		pids[n++] = (pid_t)v;
		p = end;
	}
	return n;
}

Test(pool, a_pooled_launch_sees_what_a_fresh_one_and_posix_spawn_see)
{
	const char *const progs[][2] = {{H, "attrs"}, {H, "creds"}, {HD, "attrs"}, {HD, "creds"}};
	char pooled[2048], fresh[2048], ps[2048];
	struct pb_pool *pool;
	struct pb_error err;

	cr_assert_eq(pb_pool_new(2, -1, &pool, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_pool_count(pool), 2);
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		take_and_launch(pool, progs[i], 2, pooled, sizeof(pooled));
		cr_assert_eq(pb_pool_fill(pool, &err), 0, "%s", err.msg);
		fresh_launch(progs[i], 2, fresh, sizeof(fresh));
		spawned((const char *const[]){progs[i][0], progs[i][1], NULL}, ps, sizeof(ps));
		cr_assert_str_eq(pooled, fresh);
		cr_assert_str_eq(pooled, ps, "%s %s: pooled\n%s\nposix_spawn\n%s", progs[i][0], progs[i][1], pooled, ps);
	}
	cr_assert_eq(pb_pool_count(pool), 2, "refilled");
	pb_pool_free(pool);
	pid_t left[8];
	int nleft = children(left, 8);

	cr_assert(no_children(), "%d children left, the first %d", nleft, nleft ? left[0] : 0);
}

Test(pool, a_stub_made_in_another_directory_is_not_used)
{
	const char *const argv[] = {H, "attrs"};
	char pooled[2048], ps[2048], old[4096];
	struct pb_pool *pool;
	struct pb_error err;

	cr_assert(getcwd(old, sizeof(old)));
	cr_assert_eq(pb_pool_new(1, -1, &pool, &err), 0, "%s", err.msg);
	cr_assert_eq(chdir("/tmp"), 0);
	/* the helper path is relative: give the absolute one */
	char abs[4200];

	snprintf(abs, sizeof(abs), "%s/%s", old, H);
	const char *const in_tmp[] = {abs, "attrs"};

	take_and_launch(pool, in_tmp, 2, pooled, sizeof(pooled));
	cr_assert_eq(pb_pool_count(pool), 0, "the stub made in %s was dropped", old);
	spawned((const char *const[]){abs, "attrs", NULL}, ps, sizeof(ps));
	cr_assert_str_eq(pooled, ps);
	cr_assert(strstr(pooled, "cwd=/tmp "), "%s", pooled);
	cr_assert_eq(chdir(old), 0);
	(void)argv;
	pb_pool_free(pool);
	cr_assert(no_children());
}

Test(pool, a_stub_made_before_no_new_privs_is_not_used)
{
	const char *const argv[] = {H, "attrs"};
	char pooled[2048], ps[2048];
	struct pb_pool *pool;
	struct pb_error err;

	cr_assert_eq(pb_pool_new(2, -1, &pool, &err), 0, "%s", err.msg);
	cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
	take_and_launch(pool, argv, 2, pooled, sizeof(pooled));
	cr_assert_eq(pb_pool_count(pool), 0, "both stubs were made without no_new_privs");
	spawned((const char *const[]){H, "attrs", NULL}, ps, sizeof(ps));
	cr_assert_str_eq(pooled, ps);
	cr_assert(strstr(pooled, "nnp=1"), "%s", pooled);
	pb_pool_free(pool);
	cr_assert(no_children());
}

Test(pool, a_killed_stub_is_replaced_and_reaped)
{
	const char *const argv[] = {H, "exit", "0"};
	char out[64];
	struct pb_pool *pool;
	struct pb_error err;
	pid_t pids[8];

	cr_assert_eq(pb_pool_new(1, -1, &pool, &err), 0, "%s", err.msg);
	cr_assert_eq(children(pids, 8), 1);
	cr_assert_eq(kill(pids[0], SIGKILL), 0);
	siginfo_t si;

	cr_assert_eq(waitid(P_PID, (id_t)pids[0], &si, WEXITED | WNOWAIT | __WALL), 0, "dead, not yet reaped");
	take_and_launch(pool, argv, 3, out, sizeof(out));
	cr_assert_eq(pb_pool_count(pool), 0);
	pb_pool_free(pool);
	cr_assert(no_children(), "the killed stub was reaped");
}

static void *take_elsewhere(void *arg)
{
	struct pb_builder *b = NULL;
	struct pb_error err;
	int fd = open(H, O_RDONLY | O_CLOEXEC);
	intptr_t r = pb_pool_take(arg, H, fd, &b, &err);

	close(fd);
	if (r == -EINVAL && !b && strstr(err.msg, "which made it"))
		return (void *)1;
	pb_builder_free(b);
	return NULL;
}

Test(pool, another_thread_may_not_take)
{
	struct pb_pool *pool;
	struct pb_error err;
	pthread_t t;
	void *ok;

	cr_assert_eq(pb_pool_new(1, -1, &pool, &err), 0, "%s", err.msg);
	cr_assert_eq(pthread_create(&t, NULL, take_elsewhere, pool), 0);
	cr_assert_eq(pthread_join(t, &ok), 0);
	cr_assert(ok, "refused, naming the thread");
	cr_assert_eq(pb_pool_count(pool), 1, "nothing taken");
	pb_pool_free(pool);
	cr_assert(no_children());
}

Test(pool, sizes_and_a_bad_program_are_refused_when_given)
{
	struct pb_pool *pool = NULL;
	struct pb_builder *b = NULL;
	struct pb_error err;

	cr_assert_eq(pb_pool_new(0, -1, &pool, &err), -EINVAL);
	cr_assert_eq(pb_pool_new(65, -1, &pool, &err), -EINVAL);
	cr_assert_eq(pb_pool_new(1, 999, &pool, &err), -EBADF);
	cr_assert_null(pool);
	cr_assert_eq(pb_pool_new(3, -1, &pool, &err), 0, "%s", err.msg);
	char tmpl[] = "/tmp/pb-pool-XXXXXX";

	cr_assert_eq(temp_file(tmpl, "#!/bin/sh\n", 10, 0644), 0);
	int fd = open(tmpl, O_RDONLY | O_CLOEXEC); /* not executable */

	unlink(tmpl);

	cr_assert_eq(pb_pool_take(pool, "hostname", fd, &b, &err), -EACCES, "%s", err.msg);
	close(fd);
	cr_assert_null(b);
	cr_assert_eq(pb_pool_count(pool), 3, "a refused program costs no stub");
	pb_pool_drain(pool);
	cr_assert_eq(pb_pool_count(pool), 0);
	cr_assert(no_children());
	cr_assert_eq(pb_pool_fill(pool, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_pool_count(pool), 3);
	pb_pool_free(pool);
	cr_assert(no_children());
}

/*
 * A caller with nothing open but 0, 1 and 2 (a minimal launcher) making a
 * pool: the stub's memfds are then the lowest numbers, where the child puts
 * its socket (3) and the stub (4) before its exec. It used to exec the
 * socket: EACCES. Compared with posix_spawn from the same caller.
 */
static int launch_with_only_0_1_2(bool with_pb)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct pb_pool *pool;
		struct pb_builder *b;
		struct pb_built *p;
		struct pb_error err;
		const char *argv[] = {"/bin/true"};
		pid_t child;
		int fd;

		fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
		if (fd < 0 || dup3(fd, 100, O_CLOEXEC) != 100)
			_exit(104);
		close_range(3, 99, 0); /* the program's fd out of the way: the builder's own copy sits at 3 */
		if (!with_pb) {
			if (posix_spawn(&child, "/bin/true", NULL, NULL, (char *[]){"true", NULL}, (char *[]){NULL}))
				_exit(100);
			waitpid(child, &status, 0);
			_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 101);
		}
		if (pb_pool_new(1, -1, &pool, &err) < 0 || pb_pool_take(pool, "true", 100, &b, &err) < 0 || pb_add_arguments(b, argv, 1) < 0 ||
		    pb_build(b, &p, &err) < 0 || pb_start(p, &err) < 0 || pb_wait(p, &status) < 0) {
			fprintf(stderr, "%s: %s\n", err.stage, err.msg);
			_exit(102);
		}
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 103);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

Test(pool, a_caller_with_only_fds_0_1_2_open)
{
	int spawned = launch_with_only_0_1_2(false);

	cr_assert(WIFEXITED(spawned) && WEXITSTATUS(spawned) == 0, "posix_spawn: %#x", spawned);
	cr_assert_eq(launch_with_only_0_1_2(true), spawned);
}
