/* SPDX-License-Identifier: MIT */
/*
 * DOC: Landlock. A ruleset the caller made (landlock_create_ruleset and
 * landlock_add_rule) that the stub enforces on itself with
 * landlock_restrict_self after the credentials and before the seccomp
 * filter, so the program's first instruction runs in the domain and
 * nothing of the build does. Checked when set: the fd must be a ruleset,
 * and the kernel must take it from a process like the stub will be (a
 * short-lived child restricts itself with it), which needs no_new_privs or
 * CAP_SYS_ADMIN (-EACCES), as landlock_restrict_self(2) says.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "launch/creds.h"
#include "launch/launch.h"

#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

/* Whether fd is a Landlock ruleset: the anonymous inode the kernel names so. */
static bool is_ruleset(int fd)
{
	char path[64], target[64] = "";

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (readlink(path, target, sizeof(target) - 1) < 0)
		return fcntl(fd, F_GETFD) >= 0; /* no /proc: the kernel's check in the child decides */
	return strcmp(target, "anon_inode:[landlock-ruleset]") == 0;
}

/* Whether the kernel enforces it: in a child that then exits. 0 or -errno. */
static int kernel_takes(int fd)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_landlock_restrict_self, fd, 0) < 0)
			_exit(errno & 0x7f);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO;
}

PB_API int pb_set_landlock(struct pb_builder *b, int ruleset_fd)
{
	struct pb_exec_creds stub;
	int r, dup;

	if (ruleset_fd < 0 || fcntl(ruleset_fd, F_GETFD) < 0)
		return -EBADF;
	if (!is_ruleset(ruleset_fd))
		return -EBADFD; /* what landlock_restrict_self says of another fd */
	/* landlock_restrict_self(2): no_new_privs, or CAP_SYS_ADMIN (set no_new_privs first) */
	r = pb_stub_creds(&stub);
	if (r == 0 && !(b->attrs.flags & PB_ATTR_NNP) && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 &&
	    !(stub.eff & (1ull << CAP_SYS_ADMIN)))
		r = -EACCES;
	if (r == 0)
		r = kernel_takes(ruleset_fd);
	if (r < 0)
		return r;
	dup = fcntl(ruleset_fd, F_DUPFD_CLOEXEC, 3);
	if (dup < 0)
		return -errno;
	if (b->attrs.flags & PB_ATTR_LANDLOCK)
		close(b->landlock_fd); /* the last one set wins */
	b->landlock_fd = dup;
	b->attrs.flags |= PB_ATTR_LANDLOCK;
	return 0;
}
