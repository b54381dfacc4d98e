/* SPDX-License-Identifier: MIT */
/*
 * Signals to the caller's process group during a build (issue 20): with
 * sigstress, launches whose group gets SIGCONT, SIGSTOP+SIGCONT,
 * SIGTSTP+SIGCONT, SIGWINCH, SIGCHLD or SIGURG at a random point must
 * neither hang nor fail, and end as a direct run does; SIGINT and SIGTERM
 * may cancel the build, with one line and no process left. Through the
 * CLI spawned (run --spawn), the CLI in place (run) and the library
 * (pblaunch). PB_SIGSTRESS_RUNS sets the number of launches per test.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define STRESS "build/tests/helpers/sigstress"
#define LIB "build/tests/helpers/pblaunch"
#define H "build/tests/helpers/pbhelper-static"

/*
 * Launches per test: PB_SIGSTRESS_RUNS, all of them; by default 200 or as
 * many as start within 1.5 s (a launch takes 1-3 ms, 30 under ASan; with a
 * SIGSTOP or SIGTSTP, 20 ms more), so the suite stays within ~20 s, but never
 * fewer than MIN_RUNS (an ASan build on a loaded machine did 19 in 1.5 s).
 */
#define DEFAULT_RUNS "200"
#define BUDGET_MS "1500"
#define MIN_RUNS 20
#define MIN_RUNS_S "20"	/* sigstress -m: the budget never cuts below it, however slow a launch is here */

static const char *runs(void)
{
	const char *n = getenv("PB_SIGSTRESS_RUNS");

	return n && atoi(n) > 0 ? n : DEFAULT_RUNS;
}

static const char *budget(void)
{
	return getenv("PB_SIGSTRESS_RUNS") ? "0" : BUDGET_MS;
}

/*
 * The launches' environment. No leak check in them: LeakSanitizer stops the
 * exiting process with PTRACE_ATTACH from a helper, a SIGCONT to the group
 * discards that SIGSTOP, and both wait for ever (seen in ASan builds: the
 * helper in do_wait, the process in sched_yield). Other tests check leaks.
 */
static char *env[] = {"LANG=C", "PATH=/usr/bin:/bin", "ASAN_OPTIONS=detect_leaks=0", NULL};

/* sigstress with opts, then cmd; returns its summary line. */
static char *stress(const char *const *opts, const char *const *cmd)
{
	static char *out;
	char *argv[32];
	struct run_result r;
	int n = 0, code;

	argv[n++] = STRESS;
	for (; *opts; opts++)
		argv[n++] = (char *)*opts;
	argv[n++] = "--";
	for (; *cmd; cmd++)
		argv[n++] = (char *)*cmd;
	argv[n] = NULL;
	cr_assert_eq(run_cmd(argv, env, &r), 0);
	free(out);
	if (asprintf(&out, "%s%s", r.out, r.exit_code == 0 ? "" : r.err) < 0)
		out = NULL;
	code = r.exit_code;
	run_result_free(&r);
	cr_assert(out);
	cr_assert_eq(code, 0, "%s", out);
	return out;
}

/* Every launch ok: as many ok as runs, nothing failed, hung or left. */
static void all_ok(const char *sigs, const char *const *cmd)
{
	const char *opts[] = {"-v", "-n", runs(), "-T", budget(), "-m", MIN_RUNS_S, "-s", sigs, "-d", "auto",
			      "-g", "20000", "-e", "7", "-t", "10000", NULL};
	char *sum = stress(opts, cmd);
	long n = -1, ok = -2;

	cr_assert_eq(sscanf(sum, "runs %ld ok %ld", &n, &ok), 2, "%s", sum);
	cr_assert_eq(n, ok, "%s", sum);
	cr_assert(n >= MIN_RUNS && n <= atol(runs()), "%s", sum);
	cr_log_info("%s %s: %s", sigs, cmd[0], sum);
}

/*
 * SIGINT or SIGTERM: a run ends as a direct one or dies of the signal, with
 * at most the one line, nothing left. line: some runs must have printed it
 * (a build was cancelled; in place nothing waits, so nothing says so).
 */
static void cancels(const char *sig, const char *const *cmd, bool line)
{
	const char *opts[] = {"-v", "-c", "-n", runs(), "-T", budget(), "-m", MIN_RUNS_S, "-s", sig, "-d", "auto",
			      "-e", "7", "-t", "10000", NULL};
	char *sum = stress(opts, cmd);
	long n = -1, ok = -2, said = -1;

	cr_assert_eq(sscanf(sum, "runs %ld ok %ld failed %*d hung %*d left %*d cancelled %ld", &n, &ok, &said), 3,
		     "%s", sum);
	cr_assert_eq(n, ok, "%s", sum);
	cr_assert(n >= MIN_RUNS, "%s", sum);
	cr_assert(!line || said > 0, "no build was cancelled: %s", sum);
	cr_log_info("%s %s: %s", sig, cmd[1], sum);
}

static const char *const spawned[] = {PB, "run", "--spawn", H, "exit", "7", NULL};
static const char *const in_place[] = {PB, "run", H, "exit", "7", NULL};
static const char *const library[] = {LIB, H, "exit", "7", NULL};
static const char *const library_careful[] = {LIB, "-c", H, "exit", "7", NULL};
static const char *const direct[] = {H, "exit", "7", NULL};

/* The harness itself: a run that fails, or hangs, is counted so (sigstress is no rubber stamp). */
Test(signals, harness_sees_failures_and_hangs)
{
	const char *opts_fail[] = {"-n", "3", "-s", "WINCH", "-e", "7", NULL};
	const char *fails[] = {H, "exit", "9", NULL};
	const char *opts_hang[] = {"-n", "1", "-s", "URG", "-d", "0", "-t", "300", NULL};
	const char *hangs[] = {"/bin/sleep", "5", NULL};
	const char *opts_left[] = {"-n", "1", "-s", "URG", "-d", "0", NULL};
	const char *leaves[] = {"/bin/sh", "-c", "sleep 3 & exit 0", NULL};
	char *argv[16];
	struct run_result r;
	int n = 0;

	argv[n++] = STRESS;
	for (const char *const *o = opts_fail; *o; o++)
		argv[n++] = (char *)*o;
	argv[n++] = "--";
	for (const char *const *c = fails; *c; c++)
		argv[n++] = (char *)*c;
	argv[n] = NULL;
	cr_assert_eq(run_cmd(argv, env, &r), 0);
	cr_assert(r.exit_code == 1 && strstr(r.out, "failed 3"), "%s", r.out);
	run_result_free(&r);

	n = 1;
	for (const char *const *o = opts_hang; *o; o++)
		argv[n++] = (char *)*o;
	argv[n++] = "--";
	for (const char *const *c = hangs; *c; c++)
		argv[n++] = (char *)*c;
	argv[n] = NULL;
	cr_assert_eq(run_cmd(argv, env, &r), 0);
	cr_assert(r.exit_code == 1 && strstr(r.out, "hung 1"), "%s", r.out);
	run_result_free(&r);

	n = 1;
	for (const char *const *o = opts_left; *o; o++)
		argv[n++] = (char *)*o;
	argv[n++] = "--";
	for (const char *const *c = leaves; *c; c++)
		argv[n++] = (char *)*c;
	argv[n] = NULL;
	cr_assert_eq(run_cmd(argv, env, &r), 0);
	cr_assert(r.exit_code == 1 && strstr(r.out, "left 1"), "%s", r.out);
	run_result_free(&r);
}

/* What the others compare with: a direct run of the program under the same signals. */
Test(signals, direct_runs_are_the_reference)
{
	static const char *const sigs[] = {"CONT", "STOP+CONT", "TSTP+CONT", "WINCH", "CHLD", "URG"};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		const char *opts[] = {"-v", "-n", "20", "-s", sigs[i], "-d", "auto", "-e", "7", NULL};
		char *sum = stress(opts, direct);
		cr_assert(strstr(sum, "runs 20 ok 20"), "%s: %s", sigs[i], sum);
	}
}

#define STRESS_TESTS(name, cmd)                                              \
	Test(signals, name##_cont) { all_ok("CONT", cmd); }                  \
	Test(signals, name##_stop_cont) { all_ok("STOP+CONT", cmd); }        \
	Test(signals, name##_tstp_cont) { all_ok("TSTP+CONT", cmd); }        \
	Test(signals, name##_winch) { all_ok("WINCH", cmd); }                \
	Test(signals, name##_chld) { all_ok("CHLD", cmd); }                  \
	Test(signals, name##_urg) { all_ok("URG", cmd); }

STRESS_TESTS(spawned, spawned)
STRESS_TESTS(in_place, in_place)
STRESS_TESTS(library, library)

Test(signals, spawned_int) { cancels("INT", spawned, true); }
Test(signals, spawned_term) { cancels("TERM", spawned, true); }
Test(signals, in_place_int) { cancels("INT", in_place, false); }
Test(signals, in_place_term) { cancels("TERM", in_place, false); }
Test(signals, library_int) { cancels("INT", library_careful, true); }
Test(signals, library_term) { cancels("TERM", library_careful, true); }

static struct pb_builder *builder(void)
{
	const char *argv[] = {H, "exit", "7"};
	struct pb_builder *b;
	struct pb_error err;
	int fd = open(H, O_RDONLY | O_CLOEXEC);

	cr_assert_eq(pb_builder_new(H, -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	pb_add_arguments(b, argv, 3);
	return b;
}

/* The stub is our only child: its pid, from /proc. */
static pid_t only_child(void)
{
	char path[64], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", gettid());
	f = fopen(path, "r");
	cr_assert(f);
	cr_assert(fgets(buf, sizeof(buf), f), "no child");
	fclose(f);
	cr_assert(!strchr(buf, ' ') || strchr(buf, ' ')[1] == 0, "one child: %s", buf);
	return (pid_t)atoi(buf);
}

/* A pending SIGINT (blocked) cancels the build: -ECANCELED, one message, the stub killed and reaped. */
Test(signals, pending_sigint_cancels_the_build)
{
	struct pb_builder *b = builder();
	struct pb_built *p = NULL;
	struct pb_error err;
	sigset_t set, old;
	siginfo_t si = {0};
	int r;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &old);
	raise(SIGINT);
	r = pb_build(b, &p, &err);
	cr_assert_eq(r, -ECANCELED, "%d %s", r, err.msg);
	cr_assert_eq(err.sys_errno, ECANCELED);
	cr_assert(strstr(err.msg, "cancelled by SIGINT") && !strchr(err.msg, '\n'), "%s", err.msg);
	cr_assert(waitid(P_ALL, 0, &si, WEXITED | WNOHANG) < 0 && errno == ECHILD, "a child is left: %d", si.si_pid);
	cr_assert(sigpending(&set) == 0 && sigismember(&set, SIGINT), "SIGINT is left pending for us");
	pb_builder_free(b);
	signal(SIGINT, SIG_IGN);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* An ignored SIGINT cancels nothing. */
Test(signals, ignored_sigint_does_not_cancel)
{
	struct pb_builder *b = builder();
	struct pb_built *p = NULL;
	struct pb_error err;
	sigset_t set, old;
	int status;

	signal(SIGINT, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, &old);
	raise(SIGINT);
	cr_assert_eq(pb_build(b, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_start(p, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_wait(p, &status), 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7, "%#x", status);
	pb_built_free(p);
	pb_builder_free(b);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/*
 * A SIGSTOP to the stub during the build: the build goes on, and the
 * program starts stopped, as a program that had been stopped then would
 * be; with a SIGCONT after it, it starts running.
 */
static int stopped_build(bool cont)
{
	struct pb_builder *b = builder();
	struct pb_built *p = NULL;
	struct pb_error err;
	pid_t pid = only_child();
	int status, stopped = 0;

	cr_assert_eq(kill(pid, SIGSTOP), 0);
	if (cont) {
		usleep(2000);
		cr_assert_eq(kill(pid, SIGCONT), 0);
	}
	cr_assert_eq(pb_build(b, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_start(p, &err), 0, "%s", err.msg);
	cr_assert_eq(waitpid(pid, &status, WUNTRACED), pid);
	if (WIFSTOPPED(status)) {
		stopped = WSTOPSIG(status);
		kill(pid, SIGCONT);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
	}
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7, "%#x", status);
	pb_built_free(p);
	pb_builder_free(b);
	return stopped;
}

Test(signals, sigstop_during_the_build_is_passed_on)
{
	cr_assert_eq(stopped_build(false), SIGSTOP);
}

Test(signals, sigstop_then_sigcont_during_the_build_start_it_running)
{
	cr_assert_eq(stopped_build(true), 0);
}

/* Signals the stub has pending at start reach the program as execve would leave them (SIGWINCH: ignored). */
Test(signals, pending_signals_reach_the_program)
{
	struct pb_builder *b = builder();
	struct pb_built *p = NULL;
	struct pb_error err;
	pid_t pid = only_child();
	int status;

	cr_assert_eq(kill(pid, SIGWINCH), 0);
	cr_assert_eq(kill(pid, SIGURG), 0);
	cr_assert_eq(kill(pid, SIGCHLD), 0);
	cr_assert_eq(kill(pid, SIGTERM), 0);
	cr_assert_eq(pb_build(b, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_start(p, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_wait(p, &status), 0);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "the pending SIGTERM: %#x", status);
	pb_built_free(p);
	pb_builder_free(b);
}
