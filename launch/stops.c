/* SPDX-License-Identifier: MIT */
/*
 * DOC: stops. Every wait of the builder on its stub goes through
 * pb_stub_wait, which is bounded, can be cancelled, and takes the stops that
 * a signal to the stub's process group causes on the way.
 *
 * The stub blocks every signal as its first act (launch/stub/stub.c), so
 * the only signals that reach it during the build are SIGKILL and SIGSTOP.
 * A SIGSTOP (kill -STOP, a STOP to the group) is seen here as a
 * signal-delivery-stop: it is suppressed, the build goes on, and the stop is
 * remembered. A SIGCONT, though blocked, makes a seized tracee trap
 * (PTRACE_EVENT_STOP, SIGTRAP): the stub is resumed. pb_start then passes it on when it detaches, unless a SIGCONT
 * came after it (the stub has it pending; a stop signal discards pending
 * SIGCONTs when sent, so a pending one is newer): the program starts stopped
 * if the last word was a stop, and runs if it was a continue, as a program
 * that had been the group's member all along would. SIGTSTP, SIGTTIN and
 * SIGTTOU stay pending and act on the program itself when its mask allows
 * (a SIGCONT discards them first, as it would have); so do SIGWINCH,
 * SIGCHLD, SIGURG and the rest, at their default disposition: exec reset
 * the handlers.
 *
 * Bounded: a stub that neither answers nor stops within PB_STUB_WAIT_MS
 * fails the build (it is killed and reaped by the caller's unwinding); a
 * dead one is seen at once (its pidfd). Cancelled: a SIGINT or SIGTERM
 * pending for the caller (who blocks it, as the CLI does while it builds)
 * ends the wait with -ECANCELED, left pending for the caller's disposition
 * once it unblocks it (an ignored one does not cancel). A caller's handler that interrupts a wait does not
 * end it (it ran already).
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <time.h>

#include "core/error.h"
#include "launch/launch.h"

static long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * SIGINT or SIGTERM, when one is pending for us (so blocked: unblocked, it
 * would have acted already) and not ignored; else 0.
 */
static int cancel_signal(void)
{
	static const int sigs[] = {SIGINT, SIGTERM};
	sigset_t pending;

	if (sigpending(&pending) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa;
		if (sigismember(&pending, sigs[i]) && sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
			return sigs[i];
	}
	return 0;
}

static bool job_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/*
 * A stop that a signal to the stub or its group caused, taken here and the
 * stub resumed the way it was going (resume: PTRACE_CONT, PTRACE_SINGLESTEP
 * or PTRACE_SYSCALL): the signal-delivery-stop of a SIGSTOP (suppressed,
 * remembered), a group-stop (remembered), and the trap a SIGCONT gives a
 * seized tracee (PTRACE_EVENT_STOP with SIGTRAP, also PTRACE_INTERRUPT's:
 * left to the caller when it wants that one). True if status was one.
 */
static bool absorb(const struct pb_stub_waiter *w, int status, int resume, bool *stop_seen)
{
	int event = status >> 16;
	siginfo_t si;

	if (!WIFSTOPPED(status))
		return false;
	if (event == PTRACE_EVENT_STOP) {
		if (job_stop_signal(WSTOPSIG(status)))
			*stop_seen = true;
		else if (w->want_trap)
			return false;
	} else if (event != 0 || WSTOPSIG(status) != SIGSTOP || ptrace(PTRACE_GETSIGINFO, w->pid, 0, &si) < 0) {
		return false;
	} else {
		*stop_seen = true;
	}
	return ptrace(resume, w->pid, 0, 0) == 0;
}

/*
 * The answer we wait for (a hello, a result, a stop we caused by
 * PTRACE_INTERRUPT or a single step) comes within microseconds to a few
 * dozen of them. Sleeping for it costs more than that here: a stop wakes
 * nobody (a pidfd polls ready only at the end; a ppoll timeout sleeps the
 * thread's timer slack, 50 us unless set, on top of its own), and waking a
 * CPU that went idle, which a virtual machine's host must schedule again,
 * costs tens of microseconds a wake-up. Measured on this project's 2-core
 * VM: the two stops of finalize about 110 us each, a /bin/true build phase
 * 371 us sleeping, 210 us asking first. So every wait first asks again and
 * again (ppoll without a timeout, waitpid WNOHANG) for PB_WAIT_SPIN_US,
 * yielding the CPU in case the stub shares ours, and only then sleeps: at
 * most that much CPU time a wait, spent to save wake-ups.
 */
#define PB_WAIT_SPIN_US 100

int pb_stub_wait(struct pb_stub_waiter *w, int sock, int resume, int *ret_status, struct pb_error *err,
		 const char *when)
{
	long start = now_us(), deadline = start + PB_STUB_WAIT_MS * 1000l;
	int status, sig;

	if (w->held) {
		w->held = false;
		*ret_status = w->held_status;
		return 0;
	}
	for (long us = 20;;) {
		struct pollfd pf[2] = {{sock, POLLIN, 0}, {w->pidfd, POLLIN, 0}};
		struct timespec ts = {0, us * 1000};
		bool spin = now_us() - start < PB_WAIT_SPIN_US;
		pid_t r;

		sig = w->cancellable ? cancel_signal() : 0;
		if (sig) {
			pb_err_set(err, "launch", PB_ESYS, 0, "the build is cancelled by SIG%s (the stub is killed)",
				   sigabbrev_np(sig));
			err->sys_errno = ECANCELED;
			return -ECANCELED;
		}
		r = waitpid(w->pid, &status, WNOHANG | __WALL);
		if (r < 0 && errno != EINTR)
			return pb_err_sys(err, "launch", -errno, "waiting for the stub %s", when);
		if (r == w->pid) {
			if (absorb(w, status, resume, &w->stop_seen)) {
				us = 10;
				start = now_us();
				deadline = start + PB_STUB_WAIT_MS * 1000l;
				continue;
			}
			w->reaped = !WIFSTOPPED(status);
			*ret_status = status;
			return 0;
		}
		if (spin) {
			ts.tv_nsec = 0; /* ask, and on (see above) */
			sched_yield();
		}
		if (ppoll(pf, 2, &ts, NULL) > 0 && sock >= 0 && (pf[0].revents & (POLLIN | POLLHUP)))
			return 1;
		if (!spin)
			us = us < 50000 ? us * 2 : 50000;
		if (now_us() > deadline)
			return pb_err_set(err, "launch", PB_ESTUB, 0, "the stub neither went on nor ended in %d s %s",
					  PB_STUB_WAIT_MS / 1000, when);
	}
}

/* Whether a SIGCONT is pending for the stopped tracee pid (in either queue). */
bool pb_cont_pending(pid_t pid)
{
	for (int shared = 0; shared < 2; shared++) {
		siginfo_t si[8]; /* 1 KiB a batch: procbuilder runs on a 16 KiB stack */
		struct __ptrace_peeksiginfo_args a = {0, shared ? PTRACE_PEEKSIGINFO_SHARED : 0, 8};
		long n;

		for (; (n = ptrace(PTRACE_PEEKSIGINFO, pid, &a, si)) > 0; a.off += (uint64_t)n)
			for (long i = 0; i < n; i++)
				if (si[i].si_signo == SIGCONT)
					return true;
	}
	return false;
}
