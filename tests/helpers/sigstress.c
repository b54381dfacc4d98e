/* SPDX-License-Identifier: MIT */
/*
 * sigstress: runs a command N times, each in a new process group of our
 * session (a shell's job: not setsid, since the kernel discards SIGTSTP,
 * SIGTTIN and SIGTTOU sent to an orphaned group; we stay outside it), and
 * signals that group at a random point of each run. Then it checks how
 * each run ended, what it printed on stderr and that nothing it started is
 * left behind (we are a child subreaper: an orphan comes back to us).
 *
 *   sigstress [-n N] [-s SIGS] [-d US] [-g US] [-t MS] [-T MS] [-m N] [-e STATUS] [-c] [-v] -- CMD ARGS...
 *
 *   -n N       runs (default 100)
 *   -s SIGS    what is sent: a signal name (CONT, WINCH, ...), or A+B: A,
 *              a random pause up to -g, then B (STOP+CONT is ^Z then fg)
 *   -d US      the first signal goes at a random time in [0, US] after the
 *              fork (default 6000: a launch takes a few ms); auto: the
 *              median time of 5 unsignalled runs, measured first (so the
 *              signals fall all over a launch, however slow it is here)
 *   -g US      the longest pause between A and B (default 20000)
 *   -t MS      a run still going after MS is a hang: its group is killed (default 10000)
 *   -T MS      start no run after MS (default: none): a time budget, the
 *              summary says how many runs were done
 *   -m N       ... but not before N runs were done (default 0): a slow build
 *              (ASan, a loaded machine) still gets its N
 *   -e STATUS  the exit status a direct run gives (default 0)
 *   -c         the signal may cancel: a run may also die of the first signal,
 *              and print at most one line, which must say "cancelled"
 *   -v         one line per bad run on stderr
 *
 * Prints "runs N ok N failed N hung N left N" (-c: and "cancelled N", the
 * runs that printed the line); exits 0 when every run is ok.
 * left: processes of the run still alive once its command ended, or reaped
 * by us rather than by the command (an orphan).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct opts {
	long n, delay_us, gap_us, timeout_ms, budget_ms, min_runs;
	int sig1, sig2, expect;
	int cancel, verbose;
	char **cmd;
};

static int signum(const char *name)
{
	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	for (int s = 1; s < NSIG; s++) {
		const char *abbrev = sigabbrev_np(s);
		if (abbrev && strcmp(abbrev, name) == 0)
			return s;
	}
	return -1;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * What is left of a run once its command ended: orphans (reaped here) and,
 * after a grace time, anything still alive (counted; the caller kills the group).
 */
static int reap_rest(void)
{
	int left = 0;
	long end = now_ms() + 1000;

	for (;;) {
		siginfo_t si = {0};
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0)
			return left; /* ECHILD: nothing left */
		if (si.si_pid) {
			left++;
			continue;
		}
		if (now_ms() > end)
			return left + 1;
		sleep_us(1000);
	}
}

static long said; /* -c: runs that printed the line saying the build was cancelled */

/* One run; 0 ok, 1 failed, 2 hung. *left counts what it left behind. */
static int one_run(const struct opts *o, int *left, char *why, size_t whylen)
{
	int errp[2], go[2], pidfd, status = 0;
	char buf[4096];
	size_t len = 0;
	long deadline;
	pid_t pid;
	int hung = 0, sent = 0;

	if (pipe2(errp, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		return snprintf(why, whylen, "pipe: %s", strerror(errno)), 1;
	pid = fork();
	if (pid == 0) {
		char c;
		int null = open("/dev/null", O_RDWR);
		setpgid(0, 0);
		close(go[1]);
		if (read(go[0], &c, 1) != 0) /* until the parent has the group too */
			_exit(99);
		dup2(null, 0);
		dup2(null, 1);
		dup2(errp[1], 2);
		execvp(o->cmd[0], o->cmd);
		_exit(127);
	}
	if (pid < 0)
		return snprintf(why, whylen, "fork: %s", strerror(errno)), 1;
	setpgid(pid, pid);
	close(go[0]);
	close(go[1]);
	close(errp[1]);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	sleep_us(o->delay_us ? random() % (o->delay_us + 1) : 0);
	if (kill(-pid, o->sig1) == 0)
		sent = 1;
	if (o->sig2) {
		sleep_us(o->gap_us ? random() % (o->gap_us + 1) : 0);
		kill(-pid, o->sig2);
	}
	deadline = now_ms() + o->timeout_ms;
	for (;;) {
		struct pollfd pf[2] = {{errp[0], POLLIN, 0}, {pidfd, POLLIN, 0}};
		long left_ms = deadline - now_ms();
		if (left_ms <= 0) {
			hung = 1;
			break;
		}
		if (poll(pf, 2, (int)left_ms) < 0 && errno != EINTR)
			break;
		if (pf[0].revents) {
			ssize_t n = read(errp[0], buf + len, sizeof(buf) - 1 - len);
			if (n > 0)
				len += (size_t)n;
			else
				pf[0].fd = -1, errp[0] = (close(errp[0]), -1);
		}
		if (pf[1].revents && errp[0] < 0)
			break;
		if (pf[1].revents) { /* dead: what is still in the pipe, unless someone holds it */
			struct pollfd p1 = {errp[0], POLLIN, 0};
			if (poll(&p1, 1, 100) <= 0)
				break;
		}
	}
	if (hung) {
		kill(-pid, SIGKILL);
		kill(-pid, SIGCONT);
	}
	waitpid(pid, &status, 0);
	if (errp[0] >= 0)
		close(errp[0]);
	close(pidfd);
	buf[len] = 0;
	*left = reap_rest();
	if (*left) {
		kill(-pid, SIGKILL);
		kill(-pid, SIGCONT);
		reap_rest();
	}
	if (hung)
		return snprintf(why, whylen, "hung (stderr: %s)", buf), 2;
	if (WIFEXITED(status) && WEXITSTATUS(status) == o->expect && len == 0)
		return 0;
	if (o->cancel && sent) {
		char *nl = strchr(buf, '\n');
		int one_line = len == 0 || (nl && nl[1] == 0);
		int is_said = len == 0 || strstr(buf, "cancelled");
		said += len > 0 && one_line && is_said;
		if (one_line && is_said && ((WIFEXITED(status) && WEXITSTATUS(status) == o->expect) ||
					 (WIFSIGNALED(status) && WTERMSIG(status) == o->sig1)))
			return 0;
	}
	if (WIFEXITED(status))
		snprintf(why, whylen, "exit %d, stderr: %s", WEXITSTATUS(status), buf);
	else
		snprintf(why, whylen, "killed by %s, stderr: %s", sigabbrev_np(WTERMSIG(status)), buf);
	return 1;
}

/* The median time of 5 unsignalled runs of the command, in us: how long a launch takes here, now. */
static long launch_us(const struct opts *o)
{
	long t[5];

	for (int i = 0; i < 5; i++) {
		struct timespec a, b;
		int status;
		pid_t pid;
		clock_gettime(CLOCK_MONOTONIC, &a);
		pid = fork();
		if (pid == 0) {
			int null = open("/dev/null", O_RDWR);
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			execvp(o->cmd[0], o->cmd);
			_exit(127);
		}
		waitpid(pid, &status, 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		t[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	}
	for (int i = 0; i < 5; i++) /* (sorted) */
		for (int j = i + 1; j < 5; j++)
			if (t[j] < t[i]) {
				long x = t[i];
				t[i] = t[j];
				t[j] = x;
			}
	return t[2];
}

static int parse_sigs(struct opts *o, char *spec)
{
	char *plus = strchr(spec, '+');

	if (plus) {
		*plus = 0;
		o->sig2 = signum(plus + 1);
	}
	o->sig1 = signum(spec);
	return o->sig1 > 0 && (!plus || o->sig2 > 0) ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct opts o = {.n = 100, .delay_us = 6000, .gap_us = 20000, .timeout_ms = 10000, .sig1 = SIGCONT};
	long ok = 0, failed = 0, hung = 0, left = 0, start;
	char why[4200];
	int c;

	while ((c = getopt(argc, argv, "+n:s:d:g:t:T:m:e:cv")) != -1) {
		switch (c) {
		case 'n': o.n = atol(optarg); break;
		case 's':
			if (parse_sigs(&o, optarg) < 0) {
				fprintf(stderr, "sigstress: no signal %s\n", optarg);
				return 2;
			}
			break;
		case 'd': o.delay_us = strcmp(optarg, "auto") == 0 ? -1 : atol(optarg); break;
		case 'g': o.gap_us = atol(optarg); break;
		case 't': o.timeout_ms = atol(optarg); break;
		case 'T': o.budget_ms = atol(optarg); break;
		case 'm': o.min_runs = atol(optarg); break;
		case 'e': o.expect = atoi(optarg); break;
		case 'c': o.cancel = 1; break;
		case 'v': o.verbose = 1; break;
		default: return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: sigstress [-n N] [-s SIGS] [-d US] [-g US] [-t MS] [-T MS] [-m N] [-e STATUS] [-c] [-v] -- CMD ARGS...\n");
		return 2;
	}
	o.cmd = argv + optind;
	if (o.delay_us < 0)
		o.delay_us = launch_us(&o);
	srandom((unsigned)getpid() ^ (unsigned)now_ms());
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
	start = now_ms();
	for (long i = 0; i < o.n; i++) {
		if (o.budget_ms && i > 0 && i >= o.min_runs && now_ms() - start > o.budget_ms) {
			o.n = i;
			break;
		}
		int l = 0, r = one_run(&o, &l, why, sizeof(why));
		ok += r == 0 && !l;
		failed += r == 1;
		hung += r == 2;
		left += l;
		if (o.verbose && (r || l))
			fprintf(stderr, "sigstress: run %ld: %s%s\n", i, r ? why : "ok", l ? " (left a process)" : "");
	}
	printf("runs %ld ok %ld failed %ld hung %ld left %ld", o.n, ok, failed, hung, left);
	if (o.cancel)
		printf(" cancelled %ld", said);
	printf(" (first signal within %ld us)\n", o.delay_us);
	return ok == o.n ? 0 : 1;
}
