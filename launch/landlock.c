/* SPDX-License-Identifier: MIT */
/*
 * DOC: Landlock. A ruleset the caller made (landlock_create_ruleset and
 * landlock_add_rule) that the stub enforces on itself with
 * landlock_restrict_self after the credentials and before the seccomp
 * filter, so the program's first instruction runs in the domain and
 * nothing of the build does. Checked when set: the fd must be a ruleset,
 * and the kernel must take it from a process like the stub will be (a
 * short-lived child restricts itself with it), which needs no_new_privs or
 * CAP_SYS_ADMIN (-EACCES), as landlock_restrict_self(2) says. Under execve
 * the domain would also decide whether the program may be executed: the same
 * child asks the kernel's exec check (AT_EXECVE_CHECK) of the program inside
 * the domain (-EACCES where the ruleset denies it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/util.h"
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

struct dry_run {
	int ruleset_fd, exec_fd;
};

/*
 * What pb_restrict_dry_run tries: landlock_restrict_self, then the kernel's
 * exec check of the program inside the domain, as execve after
 * landlock_restrict_self would be checked (EACCES where the ruleset denies
 * LANDLOCK_ACCESS_FS_EXECUTE of it).
 */
static long restrict_and_check(const void *arg)
{
	const struct dry_run *d = arg;
	char *argv[] = {"", NULL}, *envp[] = {NULL};

	if (syscall(SYS_landlock_restrict_self, d->ruleset_fd, 0) < 0)
		return -1;
	if (d->exec_fd < 0 || syscall(SYS_execveat, d->exec_fd, "", argv, envp, AT_EMPTY_PATH | PB_AT_EXECVE_CHECK) == 0)
		return 0;
	return errno == EACCES || errno == EPERM ? -1 : 0; /* (EINVAL: a kernel without the check) */
}

PB_API int pb_set_landlock(struct pb_builder *b, int ruleset_fd)
{
	int r, dup;

	if (ruleset_fd < 0 || fcntl(ruleset_fd, F_GETFD) < 0)
		return -EBADF;
	if (!is_ruleset(ruleset_fd))
		return -EBADFD; /* what landlock_restrict_self says of another fd */
	r = pb_restrict_allowed(b); /* landlock_restrict_self(2): no_new_privs, or CAP_SYS_ADMIN */
	if (r == 0)
		r = pb_restrict_dry_run(restrict_and_check, &(struct dry_run){ruleset_fd, b->exec_fd});
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
