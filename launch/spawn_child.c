/* SPDX-License-Identifier: MIT */
/*
 * DOC: posix_spawn's work in the child. The drop-in (launch/posix_spawn.c)
 * carries posix_spawn's attributes and file actions out where glibc does:
 * in the clone child, which shares the caller's memory and has a copy of
 * its fd table, credentials and cwd, before the exec (here: the stub's, which
 * keeps every fd not marked close-on-exec, as the program's execve would).
 * The order and the checks are glibc 2.36's __spawni_child: default
 * dispositions, setsid, setpgid, then each file action in order; the first
 * failure is posix_spawn's return value. Raw system calls only, no libc,
 * nothing instrumented: this runs on the child's small stack in our memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include "launch/posix_spawn.h"
#include "launch/rawsys.h"

/* glibc's open action: the target closed first, then open, then moved to the target if it landed elsewhere. */
PB_NO_SANITIZE static long do_open(const struct pb_spawn_action *a)
{
	long fd, r;

	pb_raw_syscall(SYS_close, a->fd, 0, 0, 0, 0, 0);
	fd = pb_raw_syscall(SYS_openat, AT_FDCWD, (long)a->path, a->oflag | O_LARGEFILE, a->mode, 0, 0);
	if (fd < 0 || fd == a->fd)
		return fd < 0 ? fd : 0;
	r = pb_raw_syscall(SYS_dup2, fd, a->fd, 0, 0, 0, 0);
	pb_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
	return r < 0 ? r : 0;
}

/* glibc's dup2 action: onto itself it clears FD_CLOEXEC (POSIX 2024), else dup2. */
PB_NO_SANITIZE static long do_dup2(const struct pb_spawn_action *a)
{
	long fl;

	if (a->fd != a->newfd) {
		long r = pb_raw_syscall(SYS_dup2, a->fd, a->newfd, 0, 0, 0, 0);
		return r < 0 ? r : 0;
	}
	fl = pb_raw_syscall(SYS_fcntl, a->fd, F_GETFD, 0, 0, 0, 0);
	if (fl < 0)
		return fl;
	fl = pb_raw_syscall(SYS_fcntl, a->fd, F_SETFD, fl & ~FD_CLOEXEC, 0, 0, 0);
	return fl < 0 ? fl : 0;
}

/* closefrom(from) but for our own fds, which the stub's exec needs (they are close-on-exec or closed by the stub). */
PB_NO_SANITIZE static long do_closefrom(const struct pb_child_plan *cp, int from)
{
	unsigned lo = (unsigned)from;
	int keep[3] = {cp->keep[0], cp->keep[1], cp->keep[2]}, t;
	long r;

	for (int i = 0; i < 3; i++) /* sorted, so the ranges between them go in order */
		for (int j = i + 1; j < 3; j++)
			if (keep[j] < keep[i])
				t = keep[i], keep[i] = keep[j], keep[j] = t;
	for (int i = 0; i < 3; i++) {
		if (keep[i] < 0 || (unsigned)keep[i] < lo)
			continue;
		if ((unsigned)keep[i] > lo && (r = pb_raw_syscall(SYS_close_range, lo, keep[i] - 1, 0, 0, 0, 0)) < 0)
			return r;
		lo = (unsigned)keep[i] + 1;
	}
	r = pb_raw_syscall(SYS_close_range, lo, ~0u, 0, 0, 0, 0);
	return r < 0 ? r : 0;
}

/* tcsetpgrp(fd, getpgrp()): every signal is blocked here, so a background group gets no SIGTTOU. */
PB_NO_SANITIZE static long do_tcsetpgrp(int fd)
{
	int pgrp = (int)pb_raw_syscall(SYS_getpgid, 0, 0, 0, 0, 0, 0);
	long r = pb_raw_syscall(SYS_ioctl, fd, TIOCSPGRP, (long)&pgrp, 0, 0, 0);

	return r < 0 ? r : 0;
}

PB_NO_SANITIZE static long run_action(const struct pb_child_plan *cp, const struct pb_spawn_action *a)
{
	long r;

	switch (a->kind) {
	case PB_SA_CLOSE: /* glibc ignores the failure of a close of a valid number */
		pb_raw_syscall(SYS_close, a->fd, 0, 0, 0, 0, 0);
		return 0;
	case PB_SA_DUP2:
		return do_dup2(a);
	case PB_SA_OPEN:
		return do_open(a);
	case PB_SA_CHDIR:
		r = pb_raw_syscall(SYS_chdir, (long)a->path, 0, 0, 0, 0, 0);
		return r < 0 ? r : 0;
	case PB_SA_FCHDIR:
		r = pb_raw_syscall(SYS_fchdir, a->fd, 0, 0, 0, 0, 0);
		return r < 0 ? r : 0;
	case PB_SA_CLOSEFROM:
		return do_closefrom(cp, a->fd);
	case PB_SA_TCSETPGRP:
		return do_tcsetpgrp(a->fd);
	}
	return -EINVAL;
}

PB_NO_SANITIZE long pb_child_plan_run(const struct pb_child_plan *cp, int *at)
{
	long r;

	*at = -1;
	for (int sig = 1; sig <= 64; sig++) { /* glibc ignores failures here (SIGKILL, SIGSTOP) */
		unsigned long dfl[4] = {0, 0, 0, 0}; /* struct k_sigaction: SIG_DFL */
		if (cp->sigdefault >> (sig - 1) & 1)
			pb_raw_syscall(SYS_rt_sigaction, sig, (long)dfl, 0, 8, 0, 0);
	}
	if (cp->setsid && (r = pb_raw_syscall(SYS_setsid, 0, 0, 0, 0, 0, 0)) < 0)
		return r;
	if (cp->setpgroup && (r = pb_raw_syscall(SYS_setpgid, 0, cp->pgid, 0, 0, 0, 0)) < 0)
		return r;
	for (size_t i = 0; i < cp->nacts; i++) {
		*at = (int)i;
		r = run_action(cp, &cp->acts[i]);
		if (r < 0)
			return r;
	}
	*at = -1;
	return 0;
}

int pb_child_plan_low(const struct pb_spawn_action *acts, size_t n)
{
	int low = 3;

	for (size_t i = 0; i < n; i++) {
		int hi = acts[i].kind == PB_SA_DUP2 && acts[i].newfd > acts[i].fd ? acts[i].newfd : acts[i].fd;
		if (acts[i].kind != PB_SA_CHDIR && acts[i].kind != PB_SA_CLOSEFROM && hi >= low)
			low = hi + 1;
	}
	return low;
}
