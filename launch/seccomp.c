/* SPDX-License-Identifier: MIT */
/*
 * DOC: seccomp. A compiled classic-BPF filter (bubblewrap's --seccomp: the
 * struct sock_filter array as bytes) that the stub installs as its very
 * last act before the program runs, after the credentials, so the filter
 * sees the program's system calls and nothing of the build. It is checked
 * when set: the kernel loads it in a short-lived child (-EINVAL for a
 * program it refuses), and the kernel's rule for installing it (no_new_privs
 * set, or CAP_SYS_ADMIN) is asked of what the stub will be (-EACCES).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "core/util.h"
#include "launch/creds.h"
#include "launch/launch.h"

/* Whether the kernel takes the program: loaded in a child that then exits. 0 or -errno. */
static int kernel_loads(const void *filter, size_t len)
{
	struct sock_fprog prog = {.len = (unsigned short)(len / sizeof(struct sock_filter)),
				  .filter = (struct sock_filter *)filter};
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
			_exit(errno & 0x7f);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO;
}

PB_API int pb_set_seccomp(struct pb_builder *b, const void *filter, size_t len)
{
	struct pb_exec_creds stub;
	void *copy;
	int r;

	if (!filter || len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -EINVAL;
	/* seccomp(2): no_new_privs, or CAP_SYS_ADMIN (set no_new_privs first) */
	r = pb_stub_creds(&stub);
	if (r == 0 && !(b->attrs.flags & PB_ATTR_NNP) && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 && !(stub.eff & (1ull << CAP_SYS_ADMIN)))
		r = -EACCES;
	if (r == 0)
		r = kernel_loads(filter, len);
	if (r < 0)
		return r;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, filter, len);
	free(b->seccomp);
	b->seccomp = copy;
	b->seccomp_len = len;
	b->attrs.flags |= PB_ATTR_SECCOMP;
	return 0;
}

int pb_seccomp_write(struct pb_builder *b, int planfd, struct pb_error *err)
{
	off_t off;
	int r;

	if (!(b->attrs.flags & PB_ATTR_SECCOMP))
		return 0;
	off = lseek(planfd, 0, SEEK_END);
	r = off < 0 ? -errno : pb_write_full(planfd, b->seccomp, b->seccomp_len);
	if (r < 0)
		return pb_err_sys(err, "launch", r, "writing the seccomp filter into the plan");
	b->attrs.seccomp_off = (uint64_t)off;
	b->attrs.seccomp_len = (uint32_t)b->seccomp_len;
	return 0;
}
