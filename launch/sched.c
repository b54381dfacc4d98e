/* SPDX-License-Identifier: MIT */
/*
 * DOC: scheduling. The policy and priority the program starts with
 * (chrt(1); posix_spawn's SETSCHEDULER and SETSCHEDPARAM), checked when set
 * as sched_setscheduler(2) would check them for the stub (its capabilities,
 * RLIMIT_RTPRIO and RLIMIT_NICE as the program will have them), applied by
 * the stub after the resource limits and before nice.
 */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <linux/capability.h>

#include "launch/creds.h"
#include "launch/launch.h"

/* A limit as the program will have it: pb_set_rlimit's if given, else ours. */
static rlim_t planned_limit(const struct pb_builder *b, int resource)
{
	struct rlimit rl = {0, 0};

	for (uint32_t i = 0; i < b->attrs.nrlimits; i++)
		if (b->attrs.rlimits[i].resource == (uint32_t)resource)
			return b->attrs.rlimits[i].cur;
	getrlimit(resource, &rl);
	return rl.rlim_cur;
}

static bool realtime(int policy)
{
	return policy == SCHED_FIFO || policy == SCHED_RR;
}

/* __sched_setscheduler's checks for a caller without CAP_SYS_NICE. */
static int unprivileged_may(const struct pb_builder *b, int policy, int priority)
{
	struct sched_param now = {0};
	int cur = sched_getscheduler(0) & ~SCHED_RESET_ON_FORK;

	sched_getparam(0, &now);
	if (realtime(policy) && priority > (int)planned_limit(b, RLIMIT_RTPRIO) &&
	    !(realtime(cur) && priority <= now.sched_priority))
		return -EPERM;
	/* leaving SCHED_IDLE takes RLIMIT_NICE room for the nice value it has (can_nice) */
	errno = 0;
	if (cur == SCHED_IDLE && policy != SCHED_IDLE &&
	    (rlim_t)(20 - getpriority(PRIO_PROCESS, 0)) > planned_limit(b, RLIMIT_NICE))
		return -EPERM;
	return 0;
}

static int check_sched(const struct pb_builder *b, int policy, int priority)
{
	struct pb_exec_creds stub;
	int base = policy & ~SCHED_RESET_ON_FORK, r;

	if (base != SCHED_OTHER && base != SCHED_BATCH && base != SCHED_IDLE && !realtime(base))
		return -EINVAL;
	if (priority < sched_get_priority_min(base) || priority > sched_get_priority_max(base))
		return -EINVAL;
	r = pb_stub_creds(&stub);
	if (r < 0)
		return r;
	return stub.eff & (1ull << CAP_SYS_NICE) ? 0 : unprivileged_may(b, base, priority);
}

PB_API int pb_set_scheduler(struct pb_builder *b, int policy, int priority)
{
	int r = check_sched(b, policy, priority);

	if (r < 0)
		return r;
	b->attrs.sched_policy = policy;
	b->attrs.sched_priority = priority;
	b->attrs.flags = (b->attrs.flags | PB_ATTR_SCHED) & ~PB_ATTR_SCHEDPARAM;
	return 0;
}

PB_API int pb_set_sched_priority(struct pb_builder *b, int priority)
{
	/* the policy it will have: the one set, else ours (kept by exec) */
	int policy = b->attrs.flags & PB_ATTR_SCHED ? b->attrs.sched_policy : sched_getscheduler(0);
	int r = policy < 0 ? -errno : check_sched(b, policy & ~SCHED_RESET_ON_FORK, priority);

	if (r < 0)
		return r;
	b->attrs.sched_priority = priority;
	if (!(b->attrs.flags & PB_ATTR_SCHED))
		b->attrs.flags |= PB_ATTR_SCHEDPARAM;
	return 0;
}
