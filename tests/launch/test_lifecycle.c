/* SPDX-License-Identifier: MIT */
/*
 * The lifecycle of a started process: try-wait, wait with a timeout, kill,
 * rusage, the pidfd in an epoll set, and who owns what. Each status is
 * compared with what waitpid gives for the same program run by posix_spawn.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procbuilder.h"

#define H "build/tests/helpers/pbhelper-static"

static struct pb_built *started(const char *const *argv, size_t argc)
{
	struct pb_builder *b;
	struct pb_built *p;
	struct pb_error err;
	int fd = open(argv[0], O_RDONLY | O_CLOEXEC);

	cr_assert_eq(pb_builder_new(argv[0], -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	cr_assert_eq(pb_add_arguments(b, argv, argc), 0);
	cr_assert_eq(pb_build(b, &p, &err), 0, "%s", err.msg);
	pb_builder_free(b);
	cr_assert_eq(pb_start(p, &err), 0, "%s", err.msg);
	return p;
}

/* What waitpid says for the same program started by posix_spawn. */
static int spawned_status(char *const *argv, int sig)
{
	pid_t pid;
	int status;

	cr_assert_eq(posix_spawn(&pid, argv[0], NULL, NULL, argv, (char *[]){NULL}), 0);
	if (sig)
		kill(pid, sig);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static long long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000ll + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

Test(lifecycle, try_wait_before_and_after_exit_like_waitpid)
{
	const char *argv[] = {H, "exit", "7"};
	struct pb_built *p = started(argv, 3);
	int status = -1, r;

	/* it may not have ended yet: 0 until it has, then 1 with waitpid's status */
	while ((r = pb_try_wait(p, &status)) == 0)
		usleep(1000);
	cr_assert_eq(r, 1);
	cr_assert_eq(status, spawned_status((char *[]){H, "exit", "7", NULL}, 0));
	cr_assert_eq(pb_try_wait(p, &status), -ECHILD, "reaped once");
	cr_assert_eq(pb_wait(p, &status), -ECHILD);
	cr_assert_eq(pb_kill(p, SIGTERM), -ESRCH, "never a recycled pid");
	pb_built_free(p);
}

Test(lifecycle, a_timeout_then_kill_like_waitpid, .timeout = 30)
{
	const char *argv[] = {H, "sleep"};
	struct pb_built *p = started(argv, 2);
	struct timespec t0;
	int status = -1;

	cr_assert_eq(pb_try_wait(p, &status), 0, "it sleeps");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(pb_wait_timeout(p, 200, &status), 0);
	cr_assert_geq(ms_since(&t0), 190, "returned early");
	cr_assert_lt(ms_since(&t0), 5000);
	cr_assert_eq(pb_kill(p, SIGTERM), 0);
	cr_assert_eq(pb_wait_timeout(p, 10000, &status), 1);
	cr_assert_eq(status, spawned_status((char *[]){H, "sleep", NULL}, SIGTERM));
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	pb_built_free(p);
}

Test(lifecycle, rusage_after_reaping_like_wait4)
{
	const char *argv[] = {"/bin/sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"};
	struct pb_built *p = started(argv, 3);
	struct rusage ru;
	int status;

	cr_assert_eq(pb_rusage(p, &ru), -ECHILD, "not reaped yet");
	cr_assert_eq(pb_wait(p, &status), 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(pb_rusage(p, &ru), 0);
	cr_assert_gt(ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec, 1000, "the loop's user time is the child's");
	cr_assert_gt(ru.ru_maxrss, 0);
	pb_built_free(p);
}

Test(lifecycle, the_pidfd_in_an_epoll_set, .timeout = 30)
{
	const char *argv[] = {H, "sleep"};
	struct pb_built *p = started(argv, 2);
	struct epoll_event ev = {.events = EPOLLIN}, got;
	int ep = epoll_create1(EPOLL_CLOEXEC), status;

	cr_assert_geq(pb_built_pidfd(p), 0);
	cr_assert_eq(pb_built_pidfd(p), pb_built_info(p)->pidfd);
	cr_assert_eq(epoll_ctl(ep, EPOLL_CTL_ADD, pb_built_pidfd(p), &ev), 0);
	cr_assert_eq(epoll_wait(ep, &got, 1, 100), 0, "running: not readable");
	cr_assert_eq(pb_kill(p, SIGKILL), 0);
	cr_assert_eq(epoll_wait(ep, &got, 1, 10000), 1, "ended: readable");
	cr_assert_eq(pb_try_wait(p, &status), 1);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	close(ep);
	pb_built_free(p);
}

/* The caller reaped it itself: the library says so instead of waiting for ever. */
Test(lifecycle, reaped_by_the_caller_is_echild)
{
	const char *argv[] = {H, "exit", "3"};
	struct pb_built *p = started(argv, 3);
	siginfo_t si;
	int status;

	cr_assert_eq(waitid(P_PID, (id_t)pb_built_info(p)->pid, &si, WEXITED), 0);
	cr_assert_eq(si.si_status, 3);
	cr_assert_eq(pb_try_wait(p, &status), -ECHILD);
	cr_assert_eq(pb_wait(p, &status), -ECHILD);
	cr_assert_eq(pb_wait_timeout(p, 100, &status), -ECHILD);
	pb_built_free(p);
}

/* pb_find_program: posix_spawnp's / execvp's search, as the kernel and the shell would resolve the name. */
Test(path, find_program_like_execvp)
{
	char dir[] = "/tmp/pb-path-XXXXXX", file[64], path[256], *found = NULL;
	int fd;

	cr_assert_eq(pb_find_program("ls", "/nonexistent:/bin", &found), 0);
	cr_assert_str_eq(found, "/bin/ls");
	free(found);
	cr_assert_eq(pb_find_program("ls", NULL, &found), 0, "no PATH: /bin:/usr/bin");
	cr_assert_str_eq(found, "/bin/ls");
	free(found);
	cr_assert_eq(pb_find_program("no-such-program-here", "/bin:/usr/bin", &found), -ENOENT);
	cr_assert_null(found);
	cr_assert_eq(pb_find_program("/bin/true", "/nonexistent", &found), 0, "a slash: as it is");
	cr_assert_str_eq(found, "/bin/true");
	free(found);
	/* found but not executable: EACCES, unless a later entry has an executable one */
	cr_assert_not_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/true", dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	close(fd);
	snprintf(path, sizeof(path), "%s", dir);
	cr_assert_eq(pb_find_program("true", path, &found), -EACCES);
	snprintf(path, sizeof(path), "%s:/bin", dir);
	cr_assert_eq(pb_find_program("true", path, &found), 0);
	cr_assert_str_eq(found, "/bin/true");
	free(found);
	unlink(file);
	rmdir(dir);
}
