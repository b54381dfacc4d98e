/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/proc.h"
#include "tests/common/run.h"

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

void remove_tree(char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
	free(dir);
}

int mount_count(void)
{
	char *m = slurp("/proc/self/mountinfo");
	int n = 0;

	for (char *p = m; p && *p; p++)
		n += *p == '\n';
	free(m);
	return n;
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
	struct run_result r;
	int status;

	if (run_cmd_filtered(prog, argv, envp, &r) < 0)
		return -1;
	snprintf(err, len, "%s", r.err);
	status = r.status;
	run_result_free(&r);
	return status;
}

const struct sock_fprog *refusal(struct refusal *f, int nr, int e)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)e & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};

	memcpy(f->insns, insns, sizeof(insns));
	f->prog = (struct sock_fprog){sizeof(insns) / sizeof(insns[0]), f->insns};
	return &f->prog;
}

int run_refusing(int nr, int e, char *const argv[], char *const envp[], struct run_result *ret)
{
	struct refusal f;

	return run_cmd_filtered(refusal(&f, nr, e), argv, envp, ret);
}

int refuse_here(int nr, int e)
{
	struct refusal f;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, refusal(&f, nr, e)) < 0)
		return -errno;
	return 0;
}
