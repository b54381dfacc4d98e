/* SPDX-License-Identifier: MIT */
/*
 * Launch benchmark: start-to-exit of small programs with posix_spawn,
 * vfork+execve, fork+execve, procbuilder, and procbuilder with the build done
 * ahead; interleaved round-robin in one run, so ratios compare like with like.
 * Also: plans per second (no process), and where a procbuilder launch spends
 * its time. Prints a table and writes build/bench/launch.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procbuilder.h"
#include "launch/launch.h"
#include "pipeline/pipeline.h"

extern char **environ;

enum method { M_POSIX_SPAWN, M_VFORK, M_FORK, M_PB, M_PB_POOLED, M_PB_PREPARED, M_COUNT };
static const char *const method_names[M_COUNT] = {"posix_spawn", "vfork+execve", "fork+execve", "procbuilder",
						  "procbuilder-pooled", "procbuilder-prepared"};

struct bcase {
	const char *name, *path;
	char *argv[4];
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void wait_ok(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: child failed (status %x)\n", status);
		exit(1);
	}
}

/* Built and stopped at its entry; its stub taken from pool, if one is given. */
static struct pb_built *pb_prepare(const struct bcase *c, struct pb_pool *pool)
{
	struct pb_builder *b;
	struct pb_built *p;
	struct pb_error err;
	int fd = open(c->path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	while (c->argv[n])
		n++;
	if ((pool ? pb_pool_take(pool, c->path, fd, &b, &err) : pb_builder_new(c->path, -1, fd, &b, &err)) < 0 ||
	    pb_add_arguments(b, (const char *const *)c->argv, n) < 0 ||
	    pb_add_environment(b, (const char *const *)environ, 0) < 0 || pb_build(b, &p, &err) < 0) {
		fprintf(stderr, "bench: %s: %s\n", err.stage, err.msg);
		exit(1);
	}
	pb_builder_free(b);
	close(fd);
	return p;
}

static void pb_run(struct pb_built *p)
{
	struct pb_error err;
	int status;

	if (pb_start(p, &err) < 0 || pb_wait(p, &status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "bench: procbuilder launch failed: %s\n", err.msg);
		exit(1);
	}
	pb_built_free(p);
}

/*
 * One start-to-exit of c by method m. Pooled: the stub is taken from pool,
 * which is refilled after the clock stops, as a launcher refills it when idle.
 */
static double launch(enum method m, const struct bcase *c, struct pb_pool *pool)
{
	char *env[] = {NULL};
	struct pb_built *p;
	struct pb_error err;
	double t0, us;
	pid_t pid;

	if (m == M_PB_PREPARED) {
		p = pb_prepare(c, NULL);
		t0 = now_us();
		pb_run(p);
		return now_us() - t0;
	}
	if (m == M_PB_POOLED) {
		t0 = now_us();
		pb_run(pb_prepare(c, pool));
		us = now_us() - t0;
		if (pb_pool_fill(pool, &err) < 0) {
			fprintf(stderr, "bench: refilling the pool: %s\n", err.msg);
			exit(1);
		}
		return us;
	}
	t0 = now_us();
	switch (m) {
	case M_POSIX_SPAWN:
		if (posix_spawn(&pid, c->path, NULL, NULL, c->argv, env) != 0)
			exit(1);
		wait_ok(pid);
		break;
	case M_VFORK:
		pid = vfork();
		if (pid == 0) {
			execve(c->path, c->argv, env);
			_exit(127);
		}
		wait_ok(pid);
		break;
	case M_FORK:
		pid = fork();
		if (pid == 0) {
			execve(c->path, c->argv, env);
			_exit(127);
		}
		wait_ok(pid);
		break;
	default:
		pb_run(pb_prepare(c, NULL));
		break;
	}
	return now_us() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double percentile(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return v[(int)(p * (n - 1))];
}

/* Plans per second: the default pipeline on a modelled fresh process, no process made. */
static double plans_per_second(const char *path)
{
	static char *argv[] = {"prog", NULL};
	struct pb_pipeline *pipe;
	struct pb_host host;
	struct pb_rng rng;
	struct pb_ctx *ctx = malloc(sizeof(*ctx));
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0;
	double t0, t;

	pb_rng_init(&rng);
	pb_host_model_fresh(&host, &rng);
	pb_pipeline_default(&pipe);
	t0 = now_us();
	do {
		pb_ctx_init(ctx);
		pb_ctx_set_host(ctx, &host, "anonymous");
		ctx->exec_fd = fd;
		ctx->exec_name = ctx->execfn = ctx->comm = path;
		ctx->argv = argv;
		ctx->argc = 1;
		ctx->vdso_base = host.vdso_base;
		if (pb_pipeline_run(pipe, ctx, PB_TRACE_OFF, NULL) < 0) {
			fprintf(stderr, "bench: plan %s: %s\n", path, ctx->err.msg);
			exit(1);
		}
		pb_ctx_clear(ctx);
		n++;
		t = now_us() - t0;
	} while (t < 1e6 || n < 100);
	pb_pipeline_free(pipe);
	free(ctx);
	close(fd);
	return n / (t / 1e6);
}

/*
 * The floor of the spawn phase: vfork + execveat of the stub's own memfd,
 * which finds no socket to say hello on and exits, + wait. The same exec
 * and start the spawn pays for, without the ptrace attach and the hello.
 */
static double spawn_floor_us(void)
{
	struct pb_error err;
	int fd = pb_stub_memfd(&err), status;
	char *argv[] = {"pb-stub", NULL}, *envp[] = {NULL};
	double t0;
	pid_t pid;

	if (fd < 0)
		return 0;
	t0 = now_us();
	pid = vfork();
	if (pid == 0) {
		close(PB_STUB_SOCK_FD); /* no hello: the stub exits at once (127) */
		syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
		_exit(1);
	}
	waitpid(pid, &status, 0);
	t0 = now_us() - t0;
	close(fd);
	return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? t0 : 0;
}

/* The calling thread's voluntary context switches: the times it slept, so was woken. */
static long own_sleeps(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : 0;
}

/* /proc/PID/WHAT's start into buf (NUL-terminated); whether anything was read. */
static bool read_proc(int pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, len - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n > 0;
}

/*
 * What the stub did from its exec to its stop, read while it is stopped
 * before the program's first instruction: its minor page faults
 * (/proc/PID/stat) and the times it slept (voluntary context switches).
 */
static void stub_counts(int pid, double *faults, double *sleeps)
{
	char buf[2048], *p;

	*faults = *sleeps = 0;
	if (read_proc(pid, "stat", buf, sizeof(buf)) && (p = strrchr(buf, ')')))
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %lf", faults); /* field 10, minflt */
	if (read_proc(pid, "status", buf, sizeof(buf)) && (p = strstr(buf, "\nvoluntary_ctxt_switches:")))
		*sleeps = strtod(p + 26, NULL);
}

/*
 * Until the stub's hello is there to be read: the build phase is counted
 * from it. Asked without sleeping, as pb_build asks (launch/stops.c).
 */
static void wait_hello(const struct pb_builder *b)
{
	struct pollfd pf = {b->sock, POLLIN, 0};
	double give_up = now_us() + 5e6;

	while (poll(&pf, 1, 0) == 0 && now_us() < give_up)
		sched_yield();
}

/*
 * Where a procbuilder launch goes: spawn, the stub's start to its hello, build
 * (from the hello: plan + apply + finalize),
 * start-to-exit, with the counts that explain them; and what taking a stub
 * from a pool costs instead of the spawn. build_base: the musl static
 * vfork+execve round trip of the same run, which the build phase is held to.
 */
static void phases(const struct bcase *c, int n, struct pb_pool *pool, double build_base, FILE *json)
{
	double *spawn = calloc((size_t)n, sizeof(double)), *build = calloc((size_t)n, sizeof(double));
	double *run = calloc((size_t)n, sizeof(double)), *take = calloc((size_t)n, sizeof(double));
	double *floor_ = calloc((size_t)n, sizeof(double)), *faults = calloc((size_t)n, sizeof(double));
	double *nsys = calloc((size_t)n, sizeof(double)), *stub_sleeps = calloc((size_t)n, sizeof(double));
	double *our_sleeps = calloc((size_t)n, sizeof(double)), *start = calloc((size_t)n, sizeof(double));
	struct pb_builder *b;
	struct pb_built *p;
	struct pb_error err;
	int left = 0; /* builds whose stub left through the vDSO: one stop, not two */

	for (int i = 0; i < n; i++) {
		int fd = open(c->path, O_RDONLY | O_CLOEXEC);
		double t0 = now_us(), t1, th, t2;
		long slept;
		pb_builder_new(c->path, -1, fd, &b, &err);
		size_t nargs = 0;
		while (c->argv[nargs])
			nargs++;
		pb_add_arguments(b, (const char *const *)c->argv, nargs);
		t1 = now_us();
		wait_hello(b);
		th = now_us();
		slept = own_sleeps();
		if (pb_build(b, &p, &err) < 0) {
			fprintf(stderr, "bench: %s\n", err.msg);
			exit(1);
		}
		t2 = now_us();
		our_sleeps[i] = (double)(own_sleeps() - slept);
		stub_counts(pb_built_info(p)->pid, &faults[i], &stub_sleeps[i]);
		nsys[i] = pb_built_info(p)->stub_syscalls;
		left += pb_built_info(p)->stub_left != 0;
		pb_builder_free(b);
		close(fd);
		pb_run(p);
		run[i] = now_us() - t2;
		spawn[i] = t1 - t0;
		start[i] = th - t1;
		build[i] = t2 - th;
		floor_[i] = spawn_floor_us(); /* after the clock of this launch stopped */
	}
	for (int i = 0; i < n; i++) { /* the same first phase from a pool: pb_pool_take instead of pb_builder_new */
		int fd = open(c->path, O_RDONLY | O_CLOEXEC);
		double t0 = now_us();

		if (pb_pool_take(pool, c->path, fd, &b, &err) < 0) {
			fprintf(stderr, "bench: %s\n", err.msg);
			exit(1);
		}
		take[i] = now_us() - t0;
		pb_builder_free(b);
		close(fd);
		pb_pool_fill(pool, &err);
	}
	printf("  %-12s spawn %6.1f us (floor %6.1f: %4.2fx)   to its hello %5.1f us   build %6.1f us "
	       "(%4.2fx musl vfork+execve)   start-to-exit %6.1f us   pooled take %5.1f us\n",
	       c->name, percentile(spawn, n, 0.5), percentile(floor_, n, 0.5),
	       percentile(spawn, n, 0.5) / percentile(floor_, n, 0.5), percentile(start, n, 0.5),
	       percentile(build, n, 0.5), percentile(build, n, 0.5) / build_base, percentile(run, n, 0.5),
	       percentile(take, n, 0.5));
	printf("  %-12s   the stub to its stop: %.0f page faults, %.0f system calls, slept %.0f times; "
	       "the caller slept %.0f times in the build; %d of %d left through the vDSO\n", "",
	       percentile(faults, n, 0.5), percentile(nsys, n, 0.5), percentile(stub_sleeps, n, 0.5),
	       percentile(our_sleeps, n, 0.5), left, n);
	fprintf(json,
		"\"%s\":{\"spawn_us\":%.1f,\"spawn_floor_us\":%.1f,\"to_hello_us\":%.1f,\"build_us\":%.1f,"
		"\"start_to_exit_us\":%.1f,"
		"\"pooled_take_us\":%.1f,\"stub_page_faults\":%.0f,\"stub_syscalls\":%.0f,\"stub_sleeps\":%.0f,"
		"\"caller_sleeps_in_build\":%.0f,\"stub_left\":%d}",
		c->name, percentile(spawn, n, 0.5), percentile(floor_, n, 0.5), percentile(start, n, 0.5),
		percentile(build, n, 0.5), percentile(run, n, 0.5), percentile(take, n, 0.5), percentile(faults, n, 0.5),
		percentile(nsys, n, 0.5),
		percentile(stub_sleeps, n, 0.5), percentile(our_sleeps, n, 0.5), left);
	free(spawn);
	free(build);
	free(run);
	free(take);
	free(floor_);
	free(faults);
	free(nsys);
	free(stub_sleeps);
	free(our_sleeps);
	free(start);
}

/*
 * What this machine charges for the things a launch is made of: they explain
 * the ratios (a VM where page faults and wake-ups are dear favours fewer of them).
 */
static void machine_costs(void)
{
	enum { PAGES = 512, TRIPS = 2000 };
	char *p = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t0, fault, trip = 0;
	int sv[2];
	char c = 0;
	pid_t pid;

	if (p == MAP_FAILED)
		return;
	t0 = now_us();
	for (int i = 0; i < PAGES; i++)
		p[i * 4096] = 1;
	fault = (now_us() - t0) / PAGES;
	munmap(p, PAGES * 4096);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0 && (pid = fork()) >= 0) {
		if (pid == 0) {
			close(sv[0]); /* else our read never sees the parent's end close */
			while (read(sv[1], &c, 1) == 1 && write(sv[1], &c, 1) == 1)
				;
			_exit(0);
		}
		t0 = now_us();
		for (int i = 0; i < TRIPS; i++)
			if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1)
				break;
		trip = (now_us() - t0) / TRIPS;
		close(sv[0]);
		close(sv[1]);
		waitpid(pid, NULL, 0);
	}
	printf("this machine: an anonymous page fault %.1f us, a wake-up round trip between two processes %.1f us\n",
	       fault, trip);
}

int main(int argc, char **argv)
{
	struct bcase cases[] = {
		{"static", "build/tests/helpers/pbhelper-static", {"pbhelper", "exit", "0", NULL}},
		{"static-pie", "build/tests/helpers/pbhelper-static-pie", {"pbhelper", "exit", "0", NULL}},
		{"/bin/true", "/bin/true", {"true", NULL}},
		/* musl runs no CPUID at start (glibc's static start runs 41, each a VM exit on a VM) */
		{"musl static", "build/tests/helpers/pbhelper-musl", {"pbhelper", "exit", "0", NULL}},
	};
	enum { NC = sizeof(cases) / sizeof(cases[0]) };
	int n = argc > 1 ? atoi(argv[1]) : 500, warm = 20, nc = NC;
	double *t[NC][M_COUNT];
	struct pb_pool *pool;
	struct pb_error err;
	FILE *json;

	if (n < 10)
		n = 10;
	for (int c = 0; c < nc; c++)
		for (int m = 0; m < M_COUNT; m++)
			t[c][m] = calloc((size_t)n, sizeof(double));
	if (pb_pool_new(2, -1, &pool, &err) < 0) {
		fprintf(stderr, "bench: pool: %s\n", err.msg);
		return 1;
	}
	for (int i = -warm; i < n; i++) /* round-robin: every method sees the same machine */
		for (int c = 0; c < nc; c++)
			for (int m = 0; m < M_COUNT; m++) {
				double us = launch((enum method)m, &cases[c], pool);
				if (i >= 0)
					t[c][m][i] = us;
			}
	json = fopen("build/bench/launch.json", "w");
	if (!json)
		json = stdout;
	fputs("{\"launch\":{", json);
	printf("start-to-exit, %d runs each, interleaved (median / p90 in us, ratio = median / posix_spawn median)\n", n);
	for (int c = 0; c < nc; c++) {
		double base = percentile(t[c][M_POSIX_SPAWN], n, 0.5);
		printf("%s:\n", cases[c].name);
		fprintf(json, "%s\"%s\":{", c ? "," : "", cases[c].name);
		for (int m = 0; m < M_COUNT; m++) {
			double med = percentile(t[c][m], n, 0.5), p90 = percentile(t[c][m], n, 0.9);
			printf("  %-22s %8.1f %8.1f   %5.2fx\n", method_names[m], med, p90, med / base);
			fprintf(json, "%s\"%s\":{\"median_us\":%.1f,\"p90_us\":%.1f,\"ratio_vs_posix_spawn\":%.3f}",
				m ? "," : "", method_names[m], med, p90, med / base);
		}
		fputc('}', json);
	}
	fputs("},\"plans_per_second\":{", json);
	printf("plan only (the default pipeline, no process):\n");
	{
		const char *plans[] = {"/bin/true", "/usr/bin/python3"};
		for (int i = 0; i < 2; i++) {
			double pps = plans_per_second(plans[i]);
			printf("  %-18s %9.0f plans/s\n", plans[i], pps);
			fprintf(json, "%s\"%s\":%.0f", i ? "," : "", plans[i], pps);
		}
	}
	fputs("},\"phases\":{", json);
	printf("where a procbuilder launch goes (medians):\n");
	for (int c = 0; c < nc; c++) {
		if (c)
			fputc(',', json);
		phases(&cases[c], n / 5 > 50 ? n / 5 : 50, pool, percentile(t[NC - 1][M_VFORK], n, 0.5), json);
	}
	fputs("}}\n", json);
	if (json != stdout)
		fclose(json);
	pb_pool_free(pool);
	machine_costs();
	printf("wrote build/bench/launch.json\n");
	return 0;
}
