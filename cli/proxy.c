/* SPDX-License-Identifier: MIT */
/*
 * DOC: run --spawn, the proxy. The program is our child; whoever started us
 * should see what it would see had it started the program itself:
 *  - signals sent to us are forwarded, as SI_QUEUE with the sender's pid, uid
 *    and value (the kernel refuses SI_USER from another process); those the
 *    kernel sent (a terminal's ^C, ^Z) or that came from our own process
 *    group, but for our parent, reached the program already and are not sent
 *    again (sudo's rule: kill(pid) and kill(-pgid) look the same to the
 *    receiver; a parent in our group that signals the whole group gets the
 *    signal to the program twice);
 *  - when the program stops for job control (^Z, TTIN, TTOU), we stop with
 *    the same signal; SIGCONT to us is passed on; a SIGSTOP of the program
 *    alone is not mirrored (nothing would continue us);
 *  - when it dies of a signal, we die of the same one, with RLIMIT_CORE 0 so
 *    no core of ours overwrites its own (the core-dump bit cannot be carried);
 *  - when we die, even of SIGKILL, it gets SIGKILL (its parent-death signal).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "cli/cli.h"
#include "cli/launch.h"

/* What the proxy takes through its signalfd: every catchable signal but the synchronous ones. */
static void proxied_signals(sigset_t *set)
{
	static const int own[] = {SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS};

	sigfillset(set);
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		sigdelset(set, own[i]);
}

int pb_cli_proxy_prepare(struct pb_builder *b)
{
	sigset_t set;
	int r = pb_set_pdeathsig(b, SIGKILL);

	if (r < 0) {
		pb_cli_error("run", "parent-death signal: %s", strerror(-r));
		return r;
	}
	/* the stub has the caller's mask and dispositions already; ours now queue for the signalfd */
	proxied_signals(&set);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGCHLD, SIG_DFL); /* an ignored SIGCHLD would reap the program behind our back */
	return 0;
}

/* Inherited fds, as execve would pass them: every one not marked close-on-exec. */
void pb_cli_pass_inherited_fds(struct pb_builder *b)
{
	struct pb_startup_fd fds[64];
	struct pb_error err;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!d) {
		/*
		 * No /proc: each number below RLIMIT_NOFILE (at most 2^16 of
		 * them, a few ms); an fd above a limit lowered after it was
		 * opened is missed here, as no other call can list it.
		 */
		struct rlimit lim;
		int max = getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < 1u << 16 ? (int)lim.rlim_cur : 1 << 16;
		for (int fd = 3, fl; fd < max && n < 64; fd++)
			if ((fl = fcntl(fd, F_GETFD)) >= 0 && !(fl & FD_CLOEXEC))
				fds[n++] = (struct pb_startup_fd){.fd = fd, .type = PB_FD_NUMBERED, .arg = fd};
	}
	while (d && (e = readdir(d)) && n < 64) {
		int fd = atoi(e->d_name), fl;
		if (fd < 3 || fd == dirfd(d) || (fl = fcntl(fd, F_GETFD)) < 0 || (fl & FD_CLOEXEC))
			continue;
		fds[n++] = (struct pb_startup_fd){.fd = fd, .type = PB_FD_NUMBERED, .arg = fd};
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < n; i++) /* one at a time: an fd --fd already names is skipped */
		pb_add_fds(b, &fds[i], 1, &err);
}

/*
 * A stop the program's job takes as a whole (^Z, a background read or
 * write): the shell that continues the job continues us too. A SIGSTOP sent
 * to the program alone (a debugger, kill -STOP, --stopped's entry stop) is
 * not mirrored: nobody would continue us, and its end would go unreaped.
 */
static bool job_control_stop(int sig)
{
	return sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Stops us the way the program stopped, until something continues us. */
static void stop_like(int sig)
{
	sigset_t one, pending;

	sigemptyset(&one);
	sigaddset(&one, sig);
	sigpending(&pending);
	signal(sig, SIG_DFL);
	if (!sigismember(&pending, sig))
		raise(sig); /* (a ^Z that stopped the program too is still pending: it stops us) */
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	sigprocmask(SIG_BLOCK, &one, NULL);
}

/* Dies of sig, as the program did; returns 128+sig if that cannot be done. */
static int die_like(int sig)
{
	struct rlimit no_core = {0, 0};
	sigset_t one;

	setrlimit(RLIMIT_CORE, &no_core);
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	return 128 + sig;
}

/* What a terminal sends its foreground process group (n_tty's ISIG keys, hangup, resize). */
static bool from_terminal(int sig)
{
	return sig == SIGINT || sig == SIGQUIT || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU ||
	       sig == SIGHUP || sig == SIGWINCH;
}

/*
 * Whether a signal sent to us is meant for the program and did not reach
 * it already. The kernel's: all but a terminal's (an itimer the caller set
 * before exec'ing us was meant for the program). A process's: unless sent by
 * ourselves or by a member of our process group other than our parent
 * (kill(0, sig) by the group already reached the program; a parent
 * signalling its child, as Popen.terminate() does, is passed on).
 */
static bool should_forward(const struct signalfd_siginfo *si)
{
	pid_t from = (pid_t)si->ssi_pid;

	if (si->ssi_signo == SIGCONT)
		return true; /* it may have continued only us: pass it on, a second one is harmless */
	if (si->ssi_code == SI_KERNEL) /* a terminal's signals go to its whole foreground group */
		return !from_terminal(si->ssi_signo);
	if (si->ssi_code != SI_USER && si->ssi_code != SI_QUEUE && si->ssi_code != SI_TKILL)
		return false;
	if (from <= 0 || from == getpid())
		return false;
	return from == getppid() || getpgid(from) != getpgrp();
}

static void forward(int pidfd, const struct signalfd_siginfo *si)
{
	siginfo_t info = {0};

	info.si_signo = (int)si->ssi_signo;
	info.si_code = SI_QUEUE;
	info.si_pid = (pid_t)si->ssi_pid;
	info.si_uid = si->ssi_uid;
	info.si_value.sival_ptr = (void *)(uintptr_t)si->ssi_ptr;
	syscall(SYS_pidfd_send_signal, pidfd, (int)si->ssi_signo, &info, 0);
}

/*
 * The program made us its tracer (PTRACE_TRACEME: we are its parent) and
 * stopped at a signal: nobody here will ever handle that stop, and it would
 * stay in `t` for good. Let go of it, passing the signal on, so it runs as an
 * untraced program would. The SIGTRAP the kernel sends a traced process
 * after an execve (SI_USER from itself) exists only because it is traced: it
 * is dropped, not delivered (a kill(getpid(), SIGTRAP) of its own looks the
 * same and is dropped too).
 */
static void let_go_of(pid_t pid, int sig)
{
	siginfo_t si = {0};

	if (sig == SIGTRAP && ptrace(PTRACE_GETSIGINFO, pid, 0, &si) == 0 && si.si_code == SI_USER &&
	    si.si_pid == pid)
		sig = 0;
	ptrace(PTRACE_DETACH, pid, 0, sig);
}

/* Returns our exit status once the program has ended (or does not return: dies like it). */
int pb_cli_proxy(struct pb_built *p)
{
	const struct pb_built_info *info = pb_built_info(p);
	struct signalfd_siginfo si;
	sigset_t set;
	siginfo_t st;
	int sfd, r;

	proxied_signals(&set);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		pb_cli_error("run", "signalfd: %s", strerror(errno));
		return 125;
	}
	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n != sizeof(si))
			continue; /* EINTR */
		if (si.ssi_signo != SIGCHLD) {
			if (should_forward(&si))
				forward(info->pidfd, &si);
			continue;
		}
		while (memset(&st, 0, sizeof(st)),
		       (r = waitid(P_PIDFD, (id_t)info->pidfd, &st, WEXITED | WSTOPPED | WNOHANG)) == 0 && st.si_pid) {
			if (st.si_code == CLD_STOPPED) {
				if (job_control_stop(st.si_status))
					stop_like(st.si_status);
				continue;
			}
			if (st.si_code == CLD_TRAPPED) { /* only after PTRACE_TRACEME: we never trace it */
				let_go_of(st.si_pid, st.si_status);
				continue;
			}
			close(sfd);
			if (st.si_code == CLD_EXITED)
				return st.si_status;
			return die_like(st.si_status);
		}
		if (r < 0 && errno == ECHILD) {
			close(sfd);
			pb_cli_error("run", "the program is gone and its status with it");
			return 125;
		}
	}
}

/*
 * gdb did not start: the process held for it would stay stopped with no one
 * to continue it (or die of the SIGHUP the kernel sends an orphaned stopped
 * group once we are gone). Killed and reaped, and said as it happened.
 */
static int gdb_failed(pid_t pid, int e)
{
	siginfo_t st = {0};

	if (waitid(P_PID, (id_t)pid, &st, WEXITED | WNOHANG) == 0 && st.si_pid == pid) {
		if (st.si_code == CLD_EXITED)
			pb_cli_error("run", "gdb: %s (process %d had already exited with status %d)", strerror(e), pid,
				     st.si_status);
		else
			pb_cli_error("run", "gdb: %s (process %d had already died of signal %d)", strerror(e), pid,
				     st.si_status);
		return 125;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	pb_cli_error("run", "gdb: %s (process %d, held stopped for it, is killed)", strerror(e), pid);
	return 125;
}

/* Becomes gdb, attached to the stopped process (which stays our child, so gdb's). */
int pb_cli_exec_gdb(const struct pb_launch_opts *o, int pid)
{
	char pidstr[16], *argv[9 + 2 * 16];
	int n = 0;

	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	argv[n++] = "gdb";
	argv[n++] = "-q";
	if (o->ngdb_ex)
		argv[n++] = "-batch";
	for (int i = 0; i < o->ngdb_ex; i++) {
		argv[n++] = "-ex";
		argv[n++] = (char *)o->gdb_ex[i];
	}
	/* the program's file too: without it gdb reads /proc/PID/exe, which is the stub's memfd unless we could set it */
	argv[n++] = o->path;
	argv[n++] = "-p";
	argv[n++] = pidstr;
	argv[n] = NULL;
	execvp("gdb", argv);
	return gdb_failed(pid, errno);
}
