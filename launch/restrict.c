/* SPDX-License-Identifier: MIT */
/*
 * What the seccomp filter and the Landlock ruleset share when they are set:
 * the kernel's rule for a process restricting itself (no_new_privs, or
 * CAP_SYS_ADMIN), asked of what the stub will be, and a dry run of the
 * restriction in a short-lived child, so the kernel's verdict comes at once.
 */
#include <errno.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "launch/creds.h"
#include "launch/launch.h"

int pb_restrict_allowed(const struct pb_builder *b)
{
	struct pb_exec_creds stub;
	int r = pb_stub_creds(&stub);

	if (r == 0 && !(b->attrs.flags & PB_ATTR_NNP) && prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1 &&
	    !(stub.eff & (1ull << CAP_SYS_ADMIN)))
		r = -EACCES;
	return r;
}

int pb_restrict_dry_run(long (*restrict_self)(const void *), const void *arg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || restrict_self(arg) < 0)
			_exit(errno & 0x7f);
		_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? -WEXITSTATUS(status) : -EIO;
}
