/* SPDX-License-Identifier: MIT */
/*
 * Exec in place (pb_exec, procbuilder run): the process that asks becomes
 * the program. Each test sets a process up, starts the same program by plain
 * execve, through the library and through the CLI, and compares what the
 * program and its parent see.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pty.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/proc.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H_STATIC "build/tests/helpers/pbhelper-static"
#define H_PIE "build/tests/helpers/pbhelper-static-pie"
#define H_MUSL "build/tests/helpers/pbhelper-musl"
#define H_DYN "build/tests/helpers/pbhelper-dynamic"

/* (an ASan-built procbuilder would set RLIMIT_CORE to 0 for the program it becomes) */
static char *env[] = {"LANG=C", "PATH=/usr/bin:/bin", "ASAN_OPTIONS=disable_coredump=0", NULL};

enum how { DIRECT, LIBRARY, CLI, SPAWNED, NHOW };
static char pb_bin[4096] = PB; /* made absolute for tests that chdir */
static const char *const how_name[] = {"execve", "pb_exec", "procbuilder run", "procbuilder run --spawn"};

/* Starts helper with args the given way, in this (forked) process; never returns. */
static __attribute__((noreturn)) void start(enum how how, const char *helper, char *const *args)
{
	char *argv[16];
	int n = 0;

	if (how == CLI || how == SPAWNED) {
		argv[n++] = pb_bin;
		argv[n++] = "run";
		argv[n++] = how == SPAWNED ? "--spawn" : "--";
	}
	argv[n++] = (char *)helper;
	for (; *args && n < 15; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	if (how == LIBRARY) {
		struct pb_builder *b;
		struct pb_error err;
		int fd = open(helper, O_RDONLY | O_CLOEXEC);
		if (pb_builder_new_self(strrchr(helper, '/') + 1, -1, fd, &b, &err) == 0 &&
		    pb_set_execfn(b, helper) == 0 && pb_add_arguments(b, (const char *const *)argv, (size_t)n) == 0 &&
		    pb_add_environment(b, (const char *const *)env, sizeof(env) / sizeof(env[0]) - 1) == 0)
			pb_exec(b, NULL, &err);
		fprintf(stderr, "pb_exec: %s\n", err.msg);
		_exit(98);
	}
	execve(argv[0], argv, env);
	_exit(99);
}

static void on_term(int sig)
{
	(void)sig;
}

static void *idle_thread(void *arg)
{
	for (;;)
		pause();
	return arg;
}

/*
 * What execve(2) keeps (pid, parent, process group, session, pending and
 * blocked signals, ignored signals, itimers, scheduling, nice, subreaper,
 * parent-death signal, children, fds) and what it resets (caught signals,
 * the alternate stack, POSIX timers, other threads, dumpable, keepcaps,
 * close-on-exec fds), all set here before the program is started.
 */
static void set_up_process(void)
{
	struct itimerval it = {{0, 0}, {100, 0}};
	struct sched_param sp = {0};
	struct sigaction sa = {.sa_handler = on_term};
	stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536};
	siginfo_t si;
	sigset_t usr1;
	timer_t timer;
	pthread_t thread;
	pid_t z;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	setitimer(ITIMER_REAL, &it, NULL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	raise(SIGUSR1);
	sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &sp);
	setpriority(PRIO_PROCESS, 0, 3);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	z = fork();
	if (z == 0)
		_exit(7);
	waitid(P_PID, (id_t)z, &si, WEXITED | WNOWAIT); /* a zombie the program may wait() for */
	signal(SIGHUP, SIG_IGN);
	sigaction(SIGTERM, &sa, NULL);
	sigaltstack(&ss, NULL);
	timer_create(CLOCK_MONOTONIC, NULL, &timer);
	prctl(PR_SET_DUMPABLE, 0);
	prctl(PR_SET_KEEPCAPS, 1);
	pthread_create(&thread, NULL, idle_thread, NULL);
	dup2(open("/dev/null", O_RDONLY | O_CLOEXEC), 20); /* kept */
	fcntl(open("/dev/null", O_RDONLY), F_DUPFD_CLOEXEC, 21); /* closed */
}

/* The program's "state" report, started the given way after set_up_process; its pid in *ret_pid. */
static char *state_report(enum how how, pid_t *ret_pid)
{
	char *args[] = {"state", NULL}, *out = calloc(1, 8192);
	size_t len = 0;
	ssize_t n;
	int p[2], status;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		set_up_process();
		start(how, H_STATIC, args);
	}
	close(p[1]);
	while ((n = read(p[0], out + len, 8191 - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %x: %s", how_name[how], status, out);
	*ret_pid = pid;
	return out;
}

Test(in_place, keeps_and_resets_what_execve_does, .timeout = 30)
{
	char *want, *got, ids[128];
	pid_t pid;

	want = state_report(DIRECT, &pid);
	/* the set-up took: otherwise equality would prove little */
	cr_assert(strstr(want, "pdeathsig=12 subreaper=1 itimer_real=1\n"), "%s", want);
	cr_assert(strstr(want, "pending_usr1=1 blocked_usr1=1\n"), "%s", want);
	cr_assert(strstr(want, "sched=3 reset_on_fork=1 prio=0 nice=3\n"), "%s", want);
	cr_assert(strstr(want, "child_waitable=1\n"), "%s", want);
	cr_assert(strstr(want, "threads=1 "), "%s", want);
	cr_assert(strstr(want, "sigcgt=0000000000000000 sigign="), "%s", want);
	cr_assert(strtoull(strstr(want, "sigign=") + 7, NULL, 16) & 1, "SIGHUP ignored: %s", want);
	cr_assert(strstr(want, "timers=0\n"), "%s", want);
	cr_assert(strstr(want, "altstack_disabled=1 dumpable=1 keepcaps=0\n"), "%s", want);
	cr_assert(strstr(want, ",20\n") && !strstr(want, ",21"), "%s", want);
	for (enum how how = LIBRARY; how <= CLI; how++) {
		got = state_report(how, &pid);
		snprintf(ids, sizeof(ids), "pid=%d ppid=%d pgid=%d sid=%d\n", pid, getpid(), pid, getsid(0));
		cr_assert(strncmp(got, ids, strlen(ids)) == 0, "%s: want %s, got %s", how_name[how], ids, got);
		cr_assert_str_eq(strchr(got, '\n'), strchr(want, '\n'), "%s:\n--- execve\n%s\n--- %s\n%s",
				 how_name[how], want, how_name[how], got);
		free(got);
	}
	free(want);
	cr_assert(no_children());
}

/* How a program ends, as its parent sees it through waitid, in a directory for its core. */
static siginfo_t ends(enum how how, const char *helper, char *const *args, const char *dir)
{
	struct rlimit core = {RLIM_INFINITY, RLIM_INFINITY};
	siginfo_t si = {0};
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		if (chdir(dir) < 0)
			_exit(97);
		setrlimit(RLIMIT_CORE, &core);
		start(how, helper, args);
	}
	cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED), 0);
	return si;
}

static void assert_ends_alike(char *const *args, bool core_carried)
{
	char dir[] = "/tmp/pb-core-XXXXXX", helper[4096], rm[64];
	siginfo_t want, got;

	cr_assert(realpath(H_STATIC, helper) && realpath(PB, pb_bin));
	cr_assert(mkdtemp(dir));
	want = ends(DIRECT, helper, args, dir);
	for (enum how how = LIBRARY; how < NHOW; how++) {
		got = ends(how, helper, args, dir);
		if (how == SPAWNED && !core_carried && want.si_code == CLD_DUMPED)
			want.si_code = CLD_KILLED; /* the proxy re-raises the signal; the core bit stays the program's */
		cr_assert_eq(got.si_code, want.si_code, "%s: si_code %d, execve %d", how_name[how], got.si_code,
			     want.si_code);
		cr_assert_eq(got.si_status, want.si_status, "%s: si_status %d, execve %d", how_name[how],
			     got.si_status, want.si_status);
	}
	snprintf(rm, sizeof(rm), "rm -rf %s", dir); /* ours only: another run may be using its own */
	cr_assert_eq(system(rm), 0);
}

/* The parent's view: exit codes 0, 1, 255; killed by SIGTERM, SIGKILL; SIGSEGV with a core. */
Test(in_place, the_parent_sees_what_execve_gives, .timeout = 60)
{
	assert_ends_alike((char *[]){"exit", "0", NULL}, true);
	assert_ends_alike((char *[]){"exit", "1", NULL}, true);
	assert_ends_alike((char *[]){"exit", "255", NULL}, true);
	assert_ends_alike((char *[]){"kill", "15", NULL}, true);
	assert_ends_alike((char *[]){"kill", "9", NULL}, true);
	assert_ends_alike((char *[]){"kill", "11", NULL}, false);
}

/* unshare -pf: the program is PID 1 of the new namespace, as it is with execve. */
Test(in_place, pid_1_in_a_new_pid_namespace, .timeout = 30)
{
	char *direct[] = {"unshare", "-pf", "--mount-proc", H_STATIC, "state", NULL};
	char *built[] = {"unshare", "-pf", "--mount-proc", PB, "run", H_STATIC, "state", NULL};
	struct run_result d, b;

	cr_assert_eq(run_cmd(direct, env, &d), 0);
	if (d.exit_code != 0)
		cr_skip("unshare -pf is refused here: %s", d.err);
	cr_assert_eq(run_cmd(built, env, &b), 0);
	cr_assert_eq(b.exit_code, 0, "%s", b.err);
	cr_assert(strncmp(b.out, "pid=1 ppid=0 ", 13) == 0, "%s", b.out);
	cr_assert_str_eq(b.out, d.out);
	run_result_free(&d);
	run_result_free(&b);
}

/* RLIMIT_NPROC=1 for an ordinary uid: one process may exist, and in place it is the only one. */
static int status_as_nobody_with_nproc_1(enum how how)
{
	struct rlimit one = {1, 1};
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 2);
		if (setgroups(0, NULL) < 0 || setgid(54321) < 0 || setrlimit(RLIMIT_NPROC, &one) < 0 ||
		    setuid(54321) < 0)
			_exit(96);
		start(how, H_STATIC, (char *[]){"exit", "7", NULL});
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Test(in_place, rlimit_nproc_1_as_an_ordinary_user, .timeout = 30)
{
	if (geteuid() != 0)
		cr_skip("needs root to become uid 54321");
	cr_assert_eq(status_as_nobody_with_nproc_1(DIRECT), 7);
	cr_assert_eq(status_as_nobody_with_nproc_1(LIBRARY), 7);
	cr_assert_eq(status_as_nobody_with_nproc_1(CLI), 7);
	/* a second process is what RLIMIT_NPROC forbids: the spawned path cannot (125; an ASan build dies its own way) */
	cr_assert_neq(status_as_nobody_with_nproc_1(SPAWNED), 7);
}

/*
 * make -j4 through procbuilder run keeps its jobserver (inherited fds): four
 * jobs that each wait until all four have started can only finish in
 * parallel. With --close-fds the sub-make falls back to -j1 and says so.
 */
static void write_file(const char *dir, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert(f);
	fputs(text, f);
	fclose(f);
}

static struct run_result make_through(const char *dir, const char *run_opts)
{
	char pb[4096], runv[4200], *argv[] = {"make", "-s", "-j4", "-C", (char *)dir, runv, NULL};
	struct run_result r;

	cr_assert(realpath(PB, pb));
	snprintf(runv, sizeof(runv), "RUN=%s run %s", pb, run_opts);
	unlink(strcat(strcpy(pb, dir), "/arrived"));
	cr_assert_eq(run_cmd(argv, env, &r), 0);
	return r;
}

Test(in_place, make_keeps_its_jobserver, .timeout = 60)
{
	char dir[] = "/tmp/pb-make-XXXXXX", rm[64];
	struct run_result r;

	cr_assert(mkdtemp(dir));
	write_file(dir, "Makefile", "all:\n\t$(RUN) $(MAKE) -f sub.mk\n");
	write_file(dir, "sub.mk", "all: a b c d\na b c d:\n"
		   "\t@echo $@ >> arrived; n=0; while [ $$(wc -l < arrived) -lt 4 ]; do "
		   "n=$$((n+1)); [ $$n -lt 100 ] || { echo $@ waited alone; exit 1; }; sleep 0.05; done\n");
	r = make_through(dir, "--");
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert_null(strstr(r.err, "jobserver unavailable"), "%s", r.err);
	run_result_free(&r);
	r = make_through(dir, "--close-fds");
	cr_assert_neq(r.exit_code, 0, "four jobs met without a jobserver? %s", r.err);
	cr_assert(strstr(r.err, "jobserver unavailable"), "%s", r.err);
	run_result_free(&r);
	snprintf(rm, sizeof(rm), "rm -rf %s", dir); /* ours only: another run may be using its own */
	cr_assert_eq(system(rm), 0);
}

/* ---- job control in a real pty: a small harness of our own, as a shell would do it ---- */

struct pty_job {
	int master;
	int events;		/* the shell's reports: struct job_event */
	pid_t shell;
	char out[4096];
	size_t len;
};

struct job_event {
	int code, status;
};

/* Reads the pty until want shows up (or 5 s pass). */
static bool wait_for(struct pty_job *j, const char *want)
{
	for (int i = 0; i < 500 && !strstr(j->out, want); i++) {
		struct pollfd pf = {j->master, POLLIN, 0};
		ssize_t n;
		if (poll(&pf, 1, 10) == 1 && (n = read(j->master, j->out + j->len, sizeof(j->out) - 1 - j->len)) > 0) {
			j->len += (size_t)n;
			j->out[j->len] = 0;
		}
	}
	return strstr(j->out, want) != NULL;
}

static void type(struct pty_job *j, const char *keys)
{
	cr_assert_eq(write(j->master, keys, strlen(keys)), (ssize_t)strlen(keys));
}

/*
 * The session leader of the pty, as a shell: the job in its own process
 * group, made the foreground group; every change of the job's state is
 * reported on fd. (A job whose parent is outside its session would be an
 * orphaned process group, where the kernel drops ^Z.)
 */
static __attribute__((noreturn)) void shell(int fd, enum how how)
{
	siginfo_t si;
	pid_t job;

	signal(SIGTTOU, SIG_IGN);
	job = fork();
	if (job == 0) {
		setpgid(0, 0);
		signal(SIGTTOU, SIG_DFL);
		while (tcgetpgrp(0) != getpid())
			usleep(1000);
		start(how, H_STATIC, (char *[]){"count", NULL});
	}
	setpgid(job, job);
	tcsetpgrp(0, job);
	if (write(fd, &job, sizeof(job)) != sizeof(job))
		_exit(1);
	for (;;) {
		struct job_event e;
		if (waitid(P_PID, (id_t)job, &si, WEXITED | WSTOPPED | WCONTINUED) < 0)
			_exit(1);
		e = (struct job_event){si.si_code, si.si_status};
		if (write(fd, &e, sizeof(e)) != sizeof(e) || (e.code != CLD_STOPPED && e.code != CLD_CONTINUED))
			_exit(0);
	}
}

static struct job_event next_event(struct pty_job *j)
{
	struct job_event e = {0, 0};
	struct pollfd pf = {j->events, POLLIN, 0};

	cr_assert_eq(poll(&pf, 1, 5000), 1, "no state change of the job");
	cr_assert_eq(read(j->events, &e, sizeof(e)), (ssize_t)sizeof(e));
	return e;
}

static void job_control(enum how how)
{
	struct pty_job j = {0};
	struct job_event e;
	int p[2], status;
	pid_t job;

	cr_assert_eq(pipe(p), 0);
	j.shell = forkpty(&j.master, NULL, NULL, NULL);
	cr_assert_geq(j.shell, 0);
	if (j.shell == 0) {
		close(p[0]);
		shell(p[1], how);
	}
	close(p[1]);
	j.events = p[0];
	cr_assert_eq(read(j.events, &job, sizeof(job)), (ssize_t)sizeof(job));
	cr_assert(wait_for(&j, "ready"), "%s: %s", how_name[how], j.out);
	type(&j, "\x03"); /* ^C: one SIGINT to the foreground group */
	type(&j, "p\n");
	cr_assert(wait_for(&j, "int=1 rt=0"), "%s: %s", how_name[how], j.out);
	type(&j, "\x1a"); /* ^Z: the job stops, and its shell sees it stopped */
	e = next_event(&j);
	cr_assert(e.code == CLD_STOPPED && e.status == SIGTSTP, "%s: %d %d", how_name[how], e.code, e.status);
	kill(-job, SIGCONT); /* fg */
	e = next_event(&j);
	cr_assert_eq(e.code, CLD_CONTINUED, "%s: %d", how_name[how], e.code);
	type(&j, "k\n"); /* kill(0, SIGRTMIN+1) inside the group: queued, so a second one would count */
	usleep(200 * 1000);
	type(&j, "q\n");
	cr_assert(wait_for(&j, "int=1 rt=1\r\n"), "%s: %s", how_name[how], j.out);
	e = next_event(&j);
	cr_assert(e.code == CLD_EXITED && e.status == 0, "%s: %d %d: %s", how_name[how], e.code, e.status, j.out);
	cr_assert_eq(waitpid(j.shell, &status, 0), j.shell);
	close(j.master);
	close(j.events);
}

Test(job_control, execve, .timeout = 30) { job_control(DIRECT); }
Test(job_control, in_place, .timeout = 30) { job_control(CLI); }
Test(job_control, spawned, .timeout = 30) { job_control(SPAWNED); }

/* Dynamic, static-PIE and musl programs in place, with the options that apply before the exec. */
Test(in_place, every_kind_of_program_and_its_startup_fds, .timeout = 30)
{
	const char *progs[] = {H_STATIC, H_PIE, H_MUSL, H_DYN};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct run_result r;
		char *argv[] = {PB, "run", "--fd", "7=/dev/null", (char *)progs[i], "state", NULL};
		cr_assert_eq(run_cmd(argv, env, &r), 0);
		cr_assert_eq(r.exit_code, 0, "%s: %s", progs[i], r.err);
		cr_assert(strstr(r.out, "fds=0,1,2,7\n"), "%s: %s", progs[i], r.out);
		run_result_free(&r);
	}
}

/* A failure past the exec: one line naming the stage and step, status 125. */
Test(in_place, a_failure_after_the_exec_names_the_step, .timeout = 30)
{
	/* the kernel refuses the plan's first mapping (MAP_FIXED_NOREPLACE is the stub's alone) */
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mmap, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, MAP_FIXED_NOREPLACE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = {sizeof(prog) / sizeof(prog[0]), prog};
	char err[4096];
	int status = run_filtered(&fprog, (char *[]){PB, "run", "--", H_STATIC, "exit", "0", NULL}, env, err,
				  sizeof(err));

	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 125, "status %x: %s", status, err);
	cr_assert_str_eq(err, "procbuilder: load: applying step 0 (map-file r--, program PT_LOAD[0]): "
			      "Operation not permitted\n");
	cr_assert(no_children());
}

/* Refused before the exec (a namespace entry with no mount point in the one above it): the caller hears it, intact. */
Test(in_place, a_failure_before_the_exec_comes_back)
{
	struct pb_builder *b;
	struct pb_error err;
	struct pb_ns_entry e[] = {{"/d", open("/", O_PATH | O_DIRECTORY)},
				  {"/d/pb-no-such-dir", open("/tmp", O_PATH | O_DIRECTORY)}};
	int fd = open(H_STATIC, O_RDONLY | O_CLOEXEC), fds = count_open_fds();

	cr_assert_eq(pb_builder_new_self("x", -1, fd, &b, &err), 0);
	cr_assert_eq(pb_add_namespace_entries(b, e, 2, &err), 0, "%s", err.msg);
	cr_assert_lt(pb_exec(b, NULL, &err), 0);
	cr_assert(err.msg[0] && err.stage[0], "a stage and a cause: %s: %s", err.stage, err.msg);
	cr_assert(strstr(err.msg, "/d/pb-no-such-dir"), "%s", err.msg);
	cr_assert_lt(pb_exec(b, NULL, &err), 0, "a builder is spent after pb_exec");
	pb_builder_free(b);
	cr_assert_eq(count_open_fds(), fds, "no fd left behind");
	close(e[0].dirfd);
	close(e[1].dirfd);
	close(fd);
}

/*
 * Nothing of the stub, its plan or an image's placeholder is left mapped: the
 * program's mappings (perms and names, sorted) are execve's, in place and
 * spawned, for every kind of program.
 */
Test(in_place, nothing_is_left_mapped, .timeout = 30)
{
	const char *progs[] = {H_STATIC, H_PIE, H_MUSL, H_DYN};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct run_result d, b;
		cr_assert_eq(run_cmd((char *[]){(char *)progs[i], "maps", NULL}, env, &d), 0);
		for (enum how how = CLI; how <= SPAWNED; how++) {
			char *argv[] = {PB, "run", how == SPAWNED ? "--spawn" : "--", (char *)progs[i], "maps", NULL};
			cr_assert_eq(run_cmd(argv, env, &b), 0);
			cr_assert_eq(b.exit_code, 0, "%s: %s", progs[i], b.err);
			cr_assert_str_eq(b.out, d.out, "%s, %s:\n--- execve\n%s\n--- procbuilder\n%s", progs[i],
					 how_name[how], d.out, b.out);
			run_result_free(&b);
		}
		run_result_free(&d);
	}
}

/*
 * A caller whose real uid is not its effective uid (setpriv --ruid): execve
 * gives the program AT_SECURE=1, so ld.so ignores LD_PRELOAD. In place the
 * stub's own exec is that exec, and the program gets the kernel's AT_SECURE.
 */
Test(in_place, at_secure_is_the_kernels, .timeout = 30)
{
	char *pre[] = {"LANG=C", "PATH=/usr/bin:/bin", "LD_PRELOAD=/nonexistent/pb-preload.so", NULL};
	struct run_result d, b;

	if (geteuid() != 0)
		cr_skip("needs root for a real uid apart from the effective one");
	cr_assert_eq(run_cmd((char *[]){"setpriv", "--ruid=65534", H_DYN, "report", NULL}, pre, &d), 0);
	cr_assert_eq(run_cmd((char *[]){"setpriv", "--ruid=65534", PB, "run", H_DYN, "report", NULL}, pre, &b), 0);
	cr_assert(strstr(d.out, "\"at_secure\": 1,"), "%s", d.out);
	cr_assert(strstr(b.out, "\"at_secure\": 1,"), "%s", b.out);
	cr_assert_str_eq(b.err, d.err, "ld.so's word on the preload: execve '%s', in place '%s'", d.err, b.err);
	run_result_free(&d);
	run_result_free(&b);
	cr_assert_eq(run_cmd((char *[]){H_DYN, "report", NULL}, pre, &d), 0);
	cr_assert(strstr(d.err, "cannot be preloaded"), "the control: not secure, the preload is tried: %s", d.err);
	run_result_free(&d);
}

/* execve needs no /proc, and neither does exec in place (exe, which needs it, stays the stub's). */
Test(in_place, runs_without_proc, .timeout = 30)
{
	char cmd[512];
	struct run_result r;

#ifdef PB_ASAN
	cr_skip("the ASan runtime itself reads /proc");
#endif
	if (geteuid() != 0)
		cr_skip("needs root to unmount /proc in a mount namespace of its own");
	snprintf(cmd, sizeof(cmd), "umount -l /proc && exec %s run %s exit 3", PB, H_STATIC);
	cr_assert_eq(run_cmd((char *[]){"unshare", "-m", "sh", "-c", cmd, NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 3, "%s", r.err);
	cr_assert_str_eq(r.err, "");
	run_result_free(&r);
}

/* A 16 KiB stack (ulimit -s 16) is enough for procbuilder itself, in place and spawned, as for /bin/true. */
Test(in_place, a_16_kib_stack_is_enough, .timeout = 60)
{
	char cmd[1024];
	struct run_result r;

#ifdef PB_ASAN
	cr_skip("ASan's own frames need more than 16 KiB");
#endif
	/* and the failure paths, which print (glibc formats an unbuffered stderr on an 8 KiB stack buffer) */
	snprintf(cmd, sizeof(cmd), "ulimit -s 16 && for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true && %s run /bin/true && "
		 "%s run --spawn /bin/true || exit 1; done; %s inspect /etc/passwd 2>/dev/null; [ $? = 126 ] || exit 2; "
		 "%s run /nonexistent 2>/dev/null; [ $? = 127 ] || exit 3; %s inspect /bin/true >/dev/null || exit 4",
		 PB, PB, PB, PB, PB);
	cr_assert_eq(run_cmd((char *[]){"sh", "-c", cmd, NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "status %d signal %d: %s", r.exit_code, r.signal, r.err);
	run_result_free(&r);
}

/*
 * A caller without the kernel's vDSO (started --vdso none) cannot know where
 * the kernel will put the stub's: refused before the exec, the caller intact.
 */
Test(in_place, refused_before_the_exec_without_the_kernels_vdso, .timeout = 30)
{
	struct run_result r;

	cr_assert_eq(run_cmd((char *[]){PB, "run", "--vdso", "none", PB, "run", H_STATIC, "exit", "0", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 125, "%s", r.err);
	cr_assert(strstr(r.err, "procbuilder: exec: this process has no kernel vDSO"), "%s", r.err);
	run_result_free(&r);
	/* spawned, it works */
	cr_assert_eq(run_cmd((char *[]){PB, "run", "--vdso", "none", PB, "run", "--spawn", H_STATIC, "exit", "0", NULL},
			     env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	run_result_free(&r);
}

/*
 * The other layouts the kernel picks at exec: ulimit -s unlimited (mmap area
 * near 0x1555..., inside the low half) and setarch -L (bottom-up). In place
 * the stub's exec gets them and the plan moves with it: a dynamic program's
 * report is execve's, and its mappings too but for the legacy layout.
 */
static void assert_layout_like_execve(const char *how, int nmodes)
{
	char direct[256], built[256];
	const char *modes[] = {"report", "maps"};

	for (int m = 0; m < nmodes; m++) {
		struct run_result d, b;
		snprintf(direct, sizeof(direct), "%s %s %s", how, H_DYN, modes[m]);
		snprintf(built, sizeof(built), "%s %s run %s %s", how, PB, H_DYN, modes[m]);
		cr_assert_eq(run_cmd((char *[]){"sh", "-c", direct, NULL}, env, &d), 0);
		cr_assert_eq(run_cmd((char *[]){"sh", "-c", built, NULL}, env, &b), 0);
		cr_assert_eq(b.exit_code, 0, "%s: %s", how, b.err);
		cr_assert_str_eq(b.out, d.out, "%s, %s:\n--- execve\n%s\n--- in place\n%s", how, modes[m], d.out, b.out);
		run_result_free(&d);
		run_result_free(&b);
	}
}

Test(in_place, unlimited_stack_and_legacy_layouts, .timeout = 30)
{
	assert_layout_like_execve("ulimit -s unlimited && exec", 2);
	/* bottom-up, ld.so is still placed below the stub's place, not above the vDSO: one more
	   anonymous mapping where ld.so's own small maps do not merge (README, what still differs) */
	assert_layout_like_execve("exec setarch -L", 1);
}

/* VmPeak: in place no placeholder is mapped (the low half is kept free by the planner alone), so it is execve's. */
static long vm_peak_kib(char **argv)
{
	struct run_result r;
	long kib = -1;
	char *at;

	cr_assert_eq(run_cmd(argv, env, &r), 0);
	at = strstr(r.out, "VmPeak:");
	if (at)
		kib = strtol(at + 7, NULL, 10);
	run_result_free(&r);
	return kib;
}

Test(in_place, vm_peak_is_execves, .timeout = 30)
{
	char *script = "grep VmPeak /proc/$$/status";
	long direct = vm_peak_kib((char *[]){"/bin/sh", "-c", script, NULL});
	long built = vm_peak_kib((char *[]){PB, "run", "/bin/sh", "-c", script, NULL});

	cr_assert_gt(direct, 0);
	cr_assert(built > 0 && labs(built - direct) <= 256, "VmPeak: execve %ld kB, in place %ld kB", direct, built);
}
