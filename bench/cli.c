/* SPDX-License-Identifier: MIT */
/*
 * CLI benchmark: whole commands, each started with posix_spawn and reaped
 * with wait4, interleaved round-robin in one run so every command sees the
 * same machine. For each program: procbuilder run (in place), procbuilder
 * run --spawn, a minimal posix_spawn+wait launcher and a launcher that only
 * execs; and procbuilder --version against a C program that does nothing.
 * Prints medians, the ratio to the posix_spawn launcher (to the no-op for
 * --version), and per command the page faults and context switches of the
 * whole tree (wait4's rusage includes the children it waited for).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define PB "build/procbuilder"
#define SPAWNWAIT "build/bench/spawnwait"
#define EXECONLY "build/bench/execonly"
#define NOOP "build/bench/noop"
#define MAXARGS 8

struct command {
	const char *label;
	char *argv[MAXARGS];
	double *us;		/* filled by measure */
	long faults, switches;
};
#define CMD(label, ...) {label, {__VA_ARGS__}, NULL, 0, 0}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* One whole run of c: spawn, wait; its time, and its faults and switches added up. */
static double run_once(struct command *c)
{
	struct rusage ru;
	posix_spawn_file_actions_t fa;
	double t0 = now_us();
	int status, r;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	r = posix_spawn(&pid, c->argv[0], &fa, NULL, c->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0) {
		fprintf(stderr, "bench: cannot start %s\n", c->argv[0]);
		exit(1);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			exit(1);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: %s failed (status %x)\n", c->label, status);
		exit(1);
	}
	c->faults += ru.ru_minflt + ru.ru_majflt;
	c->switches += ru.ru_nvcsw + ru.ru_nivcsw;
	return now_us() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Runs the group round-robin n times (after n/10 warm-ups) and prints it, ratios against group[base]. */
static void measure(const char *title, struct command *group, int ncmd, int base, int n)
{
	double med[8];

	for (int i = 0; i < ncmd; i++)
		group[i].us = calloc((size_t)n, sizeof(double));
	for (int round = -n / 10; round < n; round++)
		for (int i = 0; i < ncmd; i++) {
			double t = run_once(&group[i]);
			if (round >= 0)
				group[i].us[round] = t;
			else
				group[i].faults = group[i].switches = 0;
		}
	printf("\n%s\n", title);
	for (int i = 0; i < ncmd; i++)
		med[i] = median(group[i].us, n);
	for (int i = 0; i < ncmd; i++) {
		printf("  %-34s %8.0f us  %5.2fx  %6.1f faults  %5.1f switches\n", group[i].label, med[i],
		       med[i] / med[base], (double)group[i].faults / n, (double)group[i].switches / n);
		free(group[i].us);
	}
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 300;
	static const struct { const char *name; char *argv[4]; } progs[] = {
		{"/bin/true (dynamic glibc)", {"/bin/true", NULL}},
		{"glibc static", {"build/tests/helpers/pbhelper-static", "exit", "0", NULL}},
		{"musl static", {"build/tests/helpers/pbhelper-musl", "exit", "0", NULL}},
	};

	if (n < 10)
		n = 10;
	printf("CLI benchmark: medians of %d interleaved runs; ratios to the posix_spawn launcher\n", n);
	for (size_t p = 0; p < sizeof(progs) / sizeof(progs[0]); p++) {
		char *const *a = progs[p].argv;
		struct command group[] = {
			CMD("procbuilder run", PB, "run", a[0], a[1], a[2]),
			CMD("procbuilder run --spawn", PB, "run", "--spawn", a[0], a[1], a[2]),
			CMD("posix_spawn+wait launcher", SPAWNWAIT, a[0], a[1], a[2]),
			CMD("exec-only launcher", EXECONLY, a[0], a[1], a[2]),
		};
		measure(progs[p].name, group, 4, 2, n);
	}
	{
		struct command group[] = {
			CMD("procbuilder --version", PB, "--version"),
			CMD("a no-op C program", NOOP),
		};
		measure("startup", group, 2, 1, n);
	}
	return 0;
}
