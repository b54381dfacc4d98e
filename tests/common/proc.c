/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/proc.h"

int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own fd */
}

bool no_children(void)
{
	siginfo_t si = {0};

	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 && errno == ECHILD;
}

char *slurp(const char *path)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			char *b = realloc(buf, 2 * cap + 1);
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
	}
	buf[len] = 0;
	close(fd);
	return buf;
}

int temp_file(char *tmpl, const void *bytes, size_t len, unsigned mode)
{
	int fd = mkstemp(tmpl), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, bytes, len) != (ssize_t)len || fchmod(fd, mode) < 0)
		r = errno ? -errno : -EIO;
	close(fd);
	return r;
}

int run_filtered(const struct sock_fprog *prog, char *const argv[], char *const envp[], char *err, size_t len)
{
	extern char **environ;
	size_t got = 0;
	ssize_t n;
	int p[2], status;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 2);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog) < 0)
			_exit(99);
		execve(argv[0], argv, envp ? envp : environ);
		_exit(98);
	}
	close(p[1]);
	while (got + 1 < len && (n = read(p[0], err + got, len - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = 0;
	close(p[0]);
	return pid < 0 || waitpid(pid, &status, 0) != pid ? -1 : status;
}
