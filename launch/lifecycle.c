/* SPDX-License-Identifier: MIT */
/*
 * DOC: lifecycle. A started process is waited for, polled, bounded in time
 * and signalled through its pidfd, never through a pid that may have been
 * recycled: waitid(P_PIDFD) reaps it and keeps its resource usage (as
 * wait4), pidfd_send_signal signals it. Whoever reaps first wins: a caller
 * that reaps the pid itself makes these calls say ECHILD.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launch/launch.h"

/* A waitpid(2) status from waitid's siginfo. */
static int status_of(const siginfo_t *si)
{
	switch (si->si_code) {
	case CLD_EXITED: return (si->si_status & 0xff) << 8;
	case CLD_KILLED: return si->si_status & 0x7f;
	case CLD_DUMPED: return (si->si_status & 0x7f) | 0x80;
	}
	return 0;
}

/* 1 and *status if it ended (now reaped), 0 if not yet (with WNOHANG), or -errno. */
static int reap(struct pb_built *p, int flags, int *status)
{
	siginfo_t si;
	long r;

	if (!p->started || p->reaped)
		return -ECHILD;
	do {
		memset(&si, 0, sizeof(si));
		r = p->info.pidfd >= 0 ? syscall(SYS_waitid, P_PIDFD, p->info.pidfd, &si, WEXITED | flags, &p->rusage)
				       : syscall(SYS_waitid, P_PID, p->info.pid, &si, WEXITED | flags, &p->rusage);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (si.si_pid == 0)
		return 0; /* WNOHANG, still running */
	p->reaped = true;
	*status = status_of(&si);
	return 1;
}

PB_API int pb_wait(struct pb_built *p, int *ret_status)
{
	int r = reap(p, 0, ret_status);

	return r < 0 ? r : 0;
}

PB_API int pb_try_wait(struct pb_built *p, int *ret_status)
{
	return reap(p, WNOHANG, ret_status);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

PB_API int pb_wait_timeout(struct pb_built *p, int timeout_ms, int *ret_status)
{
	long long end = now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	struct pollfd pfd = {.fd = p->info.pidfd, .events = POLLIN};
	int r;

	if (timeout_ms < 0) {
		r = pb_wait(p, ret_status);
		return r < 0 ? r : 1;
	}
	if (p->info.pidfd < 0)
		return -ENOSYS;
	for (;;) {
		r = reap(p, WNOHANG, ret_status);
		if (r != 0)
			return r;
		long long left = end - now_ms();
		if (left <= 0)
			return 0;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) /* readable once it has ended */
			return -errno;
	}
}

PB_API int pb_kill(struct pb_built *p, int sig)
{
	if (!p->started)
		return -EINVAL; /* not yet a program: pb_built_free ends it */
	if (p->reaped)
		return -ESRCH;
	if (p->info.pidfd < 0)
		return kill(p->info.pid, sig) < 0 ? -errno : 0;
	return syscall(SYS_pidfd_send_signal, p->info.pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

PB_API int pb_rusage(const struct pb_built *p, struct rusage *ret)
{
	if (!p->reaped)
		return -ECHILD;
	*ret = p->rusage;
	return 0;
}

PB_API int pb_built_pidfd(const struct pb_built *p)
{
	return p->info.pidfd;
}
