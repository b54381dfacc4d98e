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
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "core/util.h"
#include "launch/launch.h"

/* seccomp(SECCOMP_SET_MODE_FILTER) of prog: what pb_restrict_dry_run tries. */
static long load_filter(const void *prog)
{
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, prog);
}

PB_API int pb_set_seccomp(struct pb_builder *b, const void *filter, size_t len)
{
	struct sock_fprog prog = {.len = (unsigned short)(len / sizeof(struct sock_filter)),
				  .filter = (struct sock_filter *)filter};
	void *copy;
	int r;

	if (!filter || len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return -EINVAL;
	r = pb_restrict_allowed(b); /* seccomp(2): no_new_privs, or CAP_SYS_ADMIN */
	if (r == 0)
		r = pb_restrict_dry_run(load_filter, &prog);
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
