/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/run.h"

extern char **environ;

static int append(char **buf, size_t *len, size_t *cap, int fd)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n <= 0)
		return (int)n;
	if (*len + (size_t)n + 1 > *cap) {
		size_t c = *cap ? *cap * 2 : 8192;
		while (c < *len + (size_t)n + 1)
			c *= 2;
		char *b = realloc(*buf, c);
		if (!b)
			return -1;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, tmp, (size_t)n);
	*len += (size_t)n;
	(*buf)[*len] = 0;
	return (int)n;
}

/* Reads outfd and errfd into ret until both end, then reaps pid into ret. Closes both. */
static void collect(pid_t pid, int outfd, int errfd, struct run_result *ret)
{
	size_t ocap = 0, ecap = 0;
	struct pollfd pf[2] = {{.fd = outfd, .events = POLLIN}, {.fd = errfd, .events = POLLIN}};
	int status;

	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[0].revents && append(&ret->out, &ret->out_len, &ocap, outfd) <= 0)
			pf[0].fd = -1;
		if (pf[1].revents && append(&ret->err, &ret->err_len, &ecap, errfd) <= 0)
			pf[1].fd = -1;
	}
	close(outfd);
	close(errfd);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ret->status = status;
	ret->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	ret->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	if (!ret->out)
		ret->out = calloc(1, 1);
	if (!ret->err)
		ret->err = calloc(1, 1);
}

/* Two pipes, for stdout and stderr; 0 or -errno. */
static int out_err_pipes(int outp[2], int errp[2])
{
	if (pipe2(outp, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		int e = errno;
		close(outp[0]);
		close(outp[1]);
		return -e;
	}
	return 0;
}

int run_cmd(char *const argv[], char *const envp[], struct run_result *ret)
{
	int outp[2], errp[2], r;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	memset(ret, 0, sizeof(*ret));
	r = out_err_pipes(outp, errp);
	if (r < 0)
		return r;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	/* like a clean launcher: the command sees 0, 1, 2 only */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	close(outp[1]);
	close(errp[1]);
	if (r != 0) {
		close(outp[0]);
		close(errp[0]);
		return -r;
	}
	collect(pid, outp[0], errp[0], ret);
	return 0;
}

int run_cmd_filtered(const struct sock_fprog *prog, char *const argv[], char *const envp[], struct run_result *ret)
{
	int outp[2], errp[2], r;
	pid_t pid;

	memset(ret, 0, sizeof(*ret));
	r = out_err_pipes(outp, errp);
	if (r < 0)
		return r;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (null < 0 || dup2(null, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0)
			_exit(97);
		if (prog && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
			     prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog) < 0))
			_exit(99);
		execve(argv[0], argv, envp ? envp : environ);
		_exit(98);
	}
	r = pid < 0 ? -errno : 0;
	close(outp[1]);
	close(errp[1]);
	if (r < 0) {
		close(outp[0]);
		close(errp[0]);
		return r;
	}
	collect(pid, outp[0], errp[0], ret);
	return 0;
}

int spawn_stdout(const posix_spawnattr_t *attr, char *const argv[], char *const envp[], char *buf, size_t len)
{
	posix_spawn_file_actions_t fa;
	size_t n = 0;
	int p[2], st, r;
	ssize_t k;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	r = posix_spawn(&pid, argv[0], &fa, attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	while (r == 0 && n < len - 1 && (k = read(p[0], buf + n, len - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = 0;
	close(p[0]);
	return r == 0 && waitpid(pid, &st, 0) == pid && st == 0 ? 0 : -1;
}

void run_result_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

int start_held(char *const argv[], char *const envp[], int *ret_prog, char *err, size_t len)
{
	posix_spawn_file_actions_t fa;
	size_t got = 0;
	int p[2];
	ssize_t n;
	pid_t pid = -1;

	*ret_prog = 0;
	err[0] = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	while (pid > 0 && !strchr(err, '\n') && got < len - 1 && (n = read(p[0], err + got, len - 1 - got)) > 0) {
		got += (size_t)n;
		err[got] = 0;
	}
	close(p[0]);
	if (sscanf(err, "procbuilder: process %d is stopped", ret_prog) != 1)
		*ret_prog = 0;
	return pid;
}
