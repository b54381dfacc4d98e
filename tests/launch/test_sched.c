/* SPDX-License-Identifier: MIT */
/*
 * Scheduling (pb_set_scheduler, pb_set_sched_priority; run's --sched,
 * --sched-priority, --sched-reset-on-fork): the policy, priority and
 * reset-on-fork flag the program sees equal what chrt gives it, and what
 * glibc's posix_spawn with SETSCHEDULER or SETSCHEDPARAM alone gives it, in
 * place and spawned; each value is refused when set as
 * sched_setscheduler(2) would refuse it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/built.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H "build/tests/helpers/pbhelper-static"
#define CHRT "/usr/bin/chrt"

static char *env[] = {"PATH=/usr/bin:/bin", NULL};

/* The "sched=... reset_on_fork=... prio=... nice=..." line of the helper's state. */
static char *sched_line(const char *out)
{
	const char *p = strstr(out, "sched=");
	size_t n = p ? strcspn(p, "\n") : 0;

	cr_assert_not_null(p, "%s", out);
	return strndup(p, n);
}

/* sh -c "PREFIX H state", its sched line. */
static char *sched_of(const char *prefix)
{
	char cmd[512], *line;
	struct run_result r;

	snprintf(cmd, sizeof(cmd), "exec %s %s state", prefix, H);
	cr_assert_eq(run_cmd((char *[]){"/bin/sh", "-c", cmd, NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s: %s", cmd, r.err);
	line = sched_line(r.out);
	run_result_free(&r);
	return line;
}

Test(sched, cli_like_chrt)
{
	const char *cases[][2] = {
		{"--sched fifo --sched-priority 10", "-f 10"}, {"--sched rr --sched-priority 5", "-r 5"},
		{"--sched batch", "-b 0"}, {"--sched idle", "-i 0"}, {"--sched other --sched-reset-on-fork", "-o -R 0"},
		{"--sched fifo --sched-priority 3 --sched-reset-on-fork", "-f -R 3"},
	};
	char pb[256], chrt[64];

	if (geteuid() != 0 || access(CHRT, X_OK) != 0)
		cr_skip_test("needs root (realtime policies) and chrt");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *want, *got;
		snprintf(chrt, sizeof(chrt), "%s %s", CHRT, cases[i][1]);
		want = sched_of(chrt);
		cr_assert(strncmp(want, "sched=0 reset_on_fork=0", 23) != 0, "chrt %s changed nothing: %s", cases[i][1], want);
		for (int spawn = 0; spawn < 2; spawn++) {
			snprintf(pb, sizeof(pb), "%s run%s %s", PB, spawn ? " --spawn" : "", cases[i][0]);
			got = sched_of(pb);
			cr_assert_str_eq(got, want, "%s: %s, chrt %s: %s", pb, got, cases[i][1], want);
			free(got);
		}
		free(want);
	}
}

struct shared {
	int ok;
	char why[320];
	char ref[256], got[256];
};

/* posix_spawn of H state with flags and the priority; its sched line into buf. */
static int spawn_ref(short flags, int policy, int prio, char *buf, size_t len)
{
	posix_spawnattr_t at;
	struct sched_param sp = {.sched_priority = prio};
	char out[4096];
	const char *line;
	int r;

	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, flags);
	posix_spawnattr_setschedpolicy(&at, policy);
	posix_spawnattr_setschedparam(&at, &sp);
	r = spawn_stdout(&at, (char *[]){H, "state", NULL}, env, out, sizeof(out));
	posix_spawnattr_destroy(&at);
	line = strstr(out, "sched=") ? strstr(out, "sched=") : "";
	snprintf(buf, len, "%.*s", (int)strcspn(line, "\n"), line);
	return r;
}

/* The library's result for policy (or -1: pb_set_sched_priority alone). */
static int built_line(int policy, int prio, char *buf, size_t len, char *why, size_t wlen)
{
	struct pb_builder *b;
	struct pb_error err;
	char *out = NULL;
	int status, fd = open(H, O_RDONLY | O_CLOEXEC), r;

	r = pb_builder_new(H, -1, fd, &b, &err);
	close(fd);
	if (r == 0)
		r = pb_add_arguments(b, (const char *[]){H, "state"}, 2);
	if (r == 0)
		r = policy < 0 ? pb_set_sched_priority(b, prio) : pb_set_scheduler(b, policy, prio);
	if (r == 0 && (r = build_and_collect(b, &out, &status, &err)) < 0)
		snprintf(why, wlen, "%s", err.msg);
	else if (r < 0)
		snprintf(why, wlen, "set: %s", strerror(-r));
	if (r == 0)
		snprintf(buf, len, "%.*s", (int)strcspn(strstr(out, "sched="), "\n"), strstr(out, "sched="));
	free(out);
	pb_builder_free(b);
	return r;
}

/* In a child running SCHED_RR 5: SETSCHEDULER (FIFO 10) and SETSCHEDPARAM alone (7, the policy kept). */
static void posix_spawn_child(struct shared *s, int which)
{
	struct sched_param rr = {.sched_priority = 5};

	if (sched_setscheduler(0, SCHED_RR, &rr) < 0) {
		snprintf(s->why, sizeof(s->why), "sched_setscheduler: %s", strerror(errno));
		return;
	}
	if (spawn_ref(which ? POSIX_SPAWN_SETSCHEDPARAM : POSIX_SPAWN_SETSCHEDULER, SCHED_FIFO, which ? 7 : 10,
		      s->ref, sizeof(s->ref)) < 0) {
		snprintf(s->why, sizeof(s->why), "the reference failed");
		return;
	}
	if (built_line(which ? -1 : SCHED_FIFO, which ? 7 : 10, s->got, sizeof(s->got), s->why, sizeof(s->why)) == 0)
		s->ok = 1;
}

Test(sched, library_like_posix_spawn_setscheduler_and_setschedparam)
{
	struct shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	const char *want[] = {"sched=1 reset_on_fork=0 prio=10", "sched=2 reset_on_fork=0 prio=7"};

	if (geteuid() != 0)
		cr_skip_test("needs root (realtime policies)");
	for (int which = 0; which < 2; which++) {
		int status;
		pid_t pid;
		memset(s, 0, sizeof(*s));
		pid = fork();
		if (pid == 0) {
			posix_spawn_child(s, which);
			_exit(0);
		}
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(s->ok, "%s", s->why);
		cr_assert(strncmp(s->ref, want[which], strlen(want[which])) == 0, "%s", s->ref);
		cr_assert_str_eq(s->got, s->ref, "procbuilder: %s, posix_spawn: %s", s->got, s->ref);
	}
	munmap(s, sizeof(*s));
}

Test(sched, refused_when_set)
{
	struct pb_builder *b;
	struct pb_error err;
	int fd = open(H, O_RDONLY | O_CLOEXEC), status;
	pid_t pid;

	cr_assert_eq(pb_builder_new_self("x", -1, fd, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_set_scheduler(b, 42, 0), -EINVAL);
	cr_assert_eq(pb_set_scheduler(b, SCHED_FIFO, 0), -EINVAL);
	cr_assert_eq(pb_set_scheduler(b, SCHED_RR, 100), -EINVAL);
	cr_assert_eq(pb_set_scheduler(b, SCHED_OTHER, 5), -EINVAL);
	cr_assert_eq(pb_set_sched_priority(b, 5), -EINVAL, "SCHED_OTHER takes only 0");
	cr_assert_eq(pb_set_scheduler(b, SCHED_BATCH | SCHED_RESET_ON_FORK, 0), 0);
	pb_builder_free(b);
	if (geteuid() != 0)
		goto out;
	/*
	 * as nobody: a realtime priority above RLIMIT_RTPRIO is refused; with a
	 * limit of 10 (where we may raise it), up to 10, and the limit as
	 * pb_set_rlimit leaves it
	 */
	pid = fork();
	if (pid == 0) {
		struct rlimit rt = {10, 10};
		bool raised = setrlimit(RLIMIT_RTPRIO, &rt) == 0;
		if (setgid(65534) < 0 || setuid(65534) < 0 || pb_builder_new_self("x", -1, fd, &b, &err) < 0)
			_exit(90);
		if (!raised)
			_exit(pb_set_scheduler(b, SCHED_FIFO, 1) != -EPERM ? 11 :
			      pb_set_scheduler(b, SCHED_IDLE, 0) != 0 ? 12 : 0);
		_exit(pb_set_scheduler(b, SCHED_FIFO, 20) != -EPERM ? 1 :
		      pb_set_scheduler(b, SCHED_FIFO, 10) != 0 ? 2 :
		      pb_set_rlimit(b, RLIMIT_RTPRIO, 2, 10) != 0 ? 3 :
		      pb_set_scheduler(b, SCHED_RR, 5) != -EPERM ? 4 :
		      pb_set_scheduler(b, SCHED_RR, 2) != 0 ? 5 : 0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %x", status);
out:
	close(fd);
}
