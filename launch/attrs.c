/* SPDX-License-Identifier: MIT */
/*
 * DOC: process attributes. What a launcher sets between fork and exec
 * (posix_spawn's attributes, setsid(1), nice(1), prlimit(1), env -C,
 * setpriv --no-new-privs): checked when they are set, carried in the plan,
 * applied by the stub after the namespace and the fds and before the
 * credentials (launch/stub/stub.c set_attrs), so in place and spawned alike.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/capability.h>

#include "core/error.h"
#include "core/plan.h"
#include "launch/launch.h"

PB_API int pb_set_cwd(struct pb_builder *b, const char *path)
{
	struct stat st;

	if (!path || !path[0] || strlen(path) >= PB_ATTR_CWD_MAX)
		return -EINVAL;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (access(path, X_OK) < 0)
		return -errno;
	memcpy(b->attrs.cwd, path, strlen(path) + 1);
	if (b->attrs.flags & PB_ATTR_CWD_FD)
		close(b->cwd_fd); /* the last one set wins */
	b->attrs.flags = (b->attrs.flags | PB_ATTR_CWD) & ~PB_ATTR_CWD_FD;
	return 0;
}

/* A duplicate of fd (CLOEXEC) into *slot, replacing what flag held; 0 or -errno. */
static int keep_attr_fd(struct pb_builder *b, int *slot, uint32_t flag, int fd)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	if (dup < 0)
		return -errno;
	if (b->attrs.flags & flag)
		close(*slot);
	*slot = dup;
	b->attrs.flags |= flag;
	return 0;
}

PB_API int pb_set_cwd_fd(struct pb_builder *b, int fd)
{
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	/* fchdir(2) asks for search permission; an O_PATH fd is checked as its path would be */
	if (faccessat(fd, "", X_OK, AT_EMPTY_PATH) < 0)
		return -errno;
	r = keep_attr_fd(b, &b->cwd_fd, PB_ATTR_CWD_FD, fd);
	if (r == 0)
		b->attrs.flags &= ~PB_ATTR_CWD; /* the last one set wins */
	return r;
}

PB_API int pb_set_foreground(struct pb_builder *b, int fd)
{
	if (fcntl(fd, F_GETFD) < 0)
		return -EBADF;
	if (!isatty(fd))
		return -ENOTTY;
	return keep_attr_fd(b, &b->fg_fd, PB_ATTR_FOREGROUND, fd);
}

int pb_attrs_plan_fds(struct pb_builder *b, struct pb_ctx *ctx, struct pb_error *err)
{
	if ((b->attrs.flags & PB_ATTR_CWD_FD) && b->nns)
		return pb_err_set(err, "builder", PB_EINVAL, 0,
				  "a working directory by fd (pb_set_cwd_fd) is outside the new root the namespace "
				  "entries make: give it as a path (pb_set_cwd)");
	b->attrs.cwd_file = b->attrs.flags & PB_ATTR_CWD_FD ? pb_plan_file(&ctx->plan, b->cwd_fd, "cwd") : 0;
	b->attrs.fg_file = b->attrs.flags & PB_ATTR_FOREGROUND ? pb_plan_file(&ctx->plan, b->fg_fd, "terminal") : 0;
	b->attrs.landlock_file =
		b->attrs.flags & PB_ATTR_LANDLOCK ? pb_plan_file(&ctx->plan, b->landlock_fd, "Landlock ruleset") : 0;
	if (b->attrs.cwd_file < 0 || b->attrs.fg_file < 0 || b->attrs.landlock_file < 0)
		return pb_err_set(err, "launch", PB_EINVAL, 0, "too many files in the plan");
	return 0;
}

void pb_attrs_free(struct pb_builder *b)
{
	if (b->attrs.flags & PB_ATTR_CWD_FD)
		close(b->cwd_fd);
	if (b->attrs.flags & PB_ATTR_FOREGROUND)
		close(b->fg_fd);
	if (b->attrs.flags & PB_ATTR_LANDLOCK)
		close(b->landlock_fd);
	b->attrs.flags &= ~(PB_ATTR_CWD_FD | PB_ATTR_FOREGROUND | PB_ATTR_LANDLOCK);
	free(b->seccomp);
	b->seccomp = NULL;
}

PB_API int pb_set_umask(struct pb_builder *b, unsigned mode)
{
	if (mode > 0777)
		return -EINVAL;
	b->attrs.umask = mode;
	b->attrs.flags |= PB_ATTR_UMASK;
	return 0;
}

PB_API int pb_set_nice(struct pb_builder *b, int nice)
{
	struct rlimit rl;

	if (nice < -20 || nice > 19)
		return -EINVAL;
	errno = 0;
	/* below ours takes CAP_SYS_NICE or RLIMIT_NICE (20 - nice), as setpriority(2) checks */
	if (nice < getpriority(PRIO_PROCESS, 0) && errno == 0 && !(pb_effective_caps() & (1ull << CAP_SYS_NICE)) &&
	    (getrlimit(RLIMIT_NICE, &rl) < 0 || (rlim_t)(20 - nice) > rl.rlim_cur))
		return -EPERM;
	b->attrs.nice = nice;
	b->attrs.flags |= PB_ATTR_NICE;
	return 0;
}

PB_API int pb_set_rlimit(struct pb_builder *b, int resource, uint64_t soft, uint64_t hard)
{
	struct pb_wire_rlimit *slot = NULL;
	struct rlimit now;

	if (resource < 0 || resource >= RLIM_NLIMITS || soft > hard || getrlimit(resource, &now) < 0)
		return -EINVAL;
	if (hard > now.rlim_max && !(pb_effective_caps() & (1ull << CAP_SYS_RESOURCE)))
		return -EPERM; /* raising the hard limit takes CAP_SYS_RESOURCE, as setrlimit(2) says */
	for (uint32_t i = 0; i < b->attrs.nrlimits; i++)
		if (b->attrs.rlimits[i].resource == (uint32_t)resource)
			slot = &b->attrs.rlimits[i];
	if (!slot && b->attrs.nrlimits == PB_ATTR_MAX_RLIMITS)
		return -E2BIG;
	if (!slot)
		slot = &b->attrs.rlimits[b->attrs.nrlimits++];
	*slot = (struct pb_wire_rlimit){.resource = (uint32_t)resource, .cur = soft, .max = hard};
	return 0;
}

PB_API int pb_set_setsid(struct pb_builder *b, int on)
{
	/* in place the caller becomes the program: a group leader cannot setsid (setsid(1) forks then) */
	if (on && b->in_place && getpgrp() == getpid())
		return -EPERM;
	b->attrs.flags = on ? b->attrs.flags | PB_ATTR_SETSID : b->attrs.flags & ~PB_ATTR_SETSID;
	return 0;
}

PB_API int pb_set_no_new_privs(struct pb_builder *b, int on)
{
	if (!on)
		return 0; /* it cannot be unset, and is inherited as it is */
	b->attrs.flags |= PB_ATTR_NNP;
	return 0;
}

PB_API int pb_set_pgid(struct pb_builder *b, int pgid)
{
	if (pgid < 0)
		return -EINVAL;
	b->attrs.pgid = pgid;
	b->attrs.flags |= PB_ATTR_PGID;
	return 0;
}

PB_API int pb_set_sigdefault(struct pb_builder *b, uint64_t mask)
{
	if (mask & ((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1))))
		return -EINVAL; /* their action cannot be changed: sigaction(2) */
	b->attrs.sigdefault = mask;
	b->attrs.flags = mask ? b->attrs.flags | PB_ATTR_SIGDEF : b->attrs.flags & ~PB_ATTR_SIGDEF;
	return 0;
}

PB_API int pb_set_affinity(struct pb_builder *b, const uint64_t *cpus, size_t nwords)
{
	cpu_set_t ours;
	bool any = false;

	if (!cpus || nwords == 0 || nwords > 16 || sched_getaffinity(0, sizeof(ours), &ours) < 0)
		return -EINVAL;
	/* at least one CPU we may run on, or sched_setaffinity(2) says EINVAL */
	for (size_t i = 0; i < nwords * 64 && i < CPU_SETSIZE; i++)
		any |= (cpus[i / 64] >> (i % 64) & 1) && CPU_ISSET(i, &ours);
	if (!any)
		return -EINVAL;
	memset(b->attrs.cpus, 0, sizeof(b->attrs.cpus));
	memcpy(b->attrs.cpus, cpus, nwords * sizeof(uint64_t));
	b->attrs.flags |= PB_ATTR_AFFINITY;
	return 0;
}

void pb_attrs_explain(const struct pb_builder *b, int step, int e, struct pb_error *err)
{
	char what[160]; /* a cwd longer than that is named by its start */

	if (step == PB_ATTR_AT_SETSID)
		snprintf(what, sizeof(what), "setsid");
	else if (step >= PB_ATTR_AT_RLIMIT && step < PB_ATTR_AT_NICE)
		snprintf(what, sizeof(what), "setting resource limit %u",
			 b->attrs.rlimits[step - PB_ATTR_AT_RLIMIT].resource);
	else if (step == PB_ATTR_AT_NICE)
		snprintf(what, sizeof(what), "setting nice %d", b->attrs.nice);
	else if (step == PB_ATTR_AT_PGID)
		snprintf(what, sizeof(what), "setpgid %d", b->attrs.pgid);
	else if (step == PB_ATTR_AT_SIGDEF)
		snprintf(what, sizeof(what), "resetting signal dispositions");
	else if (step == PB_ATTR_AT_AFFINITY)
		snprintf(what, sizeof(what), "setting the CPU affinity");
	else if (step == PB_ATTR_AT_SCHED)
		snprintf(what, sizeof(what), "setting scheduling policy %d priority %d", b->attrs.sched_policy,
			 b->attrs.sched_priority);
	else if (step == PB_ATTR_AT_CWD && (b->attrs.flags & PB_ATTR_CWD_FD))
		snprintf(what, sizeof(what), "changing directory to the one its fd names (fchdir)");
	else if (step == PB_ATTR_AT_CWD)
		snprintf(what, sizeof(what), "changing directory to %.120s", b->attrs.cwd);
	else if (step == PB_ATTR_AT_SECCOMP)
		snprintf(what, sizeof(what), "installing the seccomp filter (%u instructions)", b->attrs.seccomp_len / 8);
	else if (step == PB_ATTR_AT_PERSONALITY)
		snprintf(what, sizeof(what), "setting personality 0x%x", b->attrs.personality);
	else if (step == PB_ATTR_AT_FOREGROUND)
		snprintf(what, sizeof(what), "making its process group the terminal's foreground (tcsetpgrp)");
	else if (step == PB_ATTR_AT_LANDLOCK)
		snprintf(what, sizeof(what), "restricting itself with the Landlock ruleset (landlock_restrict_self)");
	else
		snprintf(what, sizeof(what), "setting no_new_privs");
	pb_err_set(err, "apply", e == EACCES || e == EPERM ? PB_EACCES : PB_ESYS, e, "%s: %s", what, strerror(e));
}
