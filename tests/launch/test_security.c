/* SPDX-License-Identifier: MIT */
/*
 * Privilege, hostile input and faults: each gives a clear error, never a
 * crash, a leaked fd, a zombie or a half-built process.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "pipeline/pipeline.h"
#include "procbuilder.h"
#include "tests/common/elfgen.h"
#include "tests/common/proc.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H "build/tests/helpers/pbhelper-static"
static char *env[] = {"PATH=/usr/bin:/bin", NULL};

/* A copy of busybox with the given owner and mode, in a fresh directory. */
static void privileged_copy(char *dir, char *path, size_t len, uid_t uid, gid_t gid, mode_t mode)
{
	char cmd[512];

	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(path, len, "%s/busybox", dir);
	snprintf(cmd, sizeof(cmd), "cp /bin/busybox %s", path);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(chown(path, uid, gid), 0);
	cr_assert_eq(chmod(path, mode), 0);
}

static void remove_dir(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	system(cmd);
}

Test(privilege, no_new_privs_runs_it_like_the_kernel_and_is_inherited)
{
	char dir[] = "/tmp/pb-nnp-XXXXXX", path[256];
	struct run_result d, p;

	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
		cr_skip_test("needs root and setpriv");
	privileged_copy(dir, path, sizeof(path), 65534, 0, 04755);
	/* with no_new_privs the kernel does not elevate: neither do we, and nothing is refused */
	cr_assert_eq(run_cmd((char *[]){"/usr/bin/setpriv", "--no-new-privs", path, "id", "-u", NULL}, env, &d), 0);
	cr_assert_eq(run_cmd((char *[]){"/usr/bin/setpriv", "--no-new-privs", PB, "run", path, "id", "-u", NULL}, env, &p), 0);
	cr_assert_eq(p.exit_code, 0, "%s", p.err);
	cr_assert_str_eq(p.out, d.out);
	run_result_free(&d);
	run_result_free(&p);
	cr_assert_eq(run_cmd((char *[]){"/usr/bin/setpriv", "--no-new-privs", PB, "run", H, "report", NULL}, env, &p), 0);
	cr_assert(strstr(p.out, "\"no_new_privs\": 1"), "%s", p.out);
	run_result_free(&p);
	remove_dir(dir);
}

/* ---- hostile ELF files through procbuilder run ---- */

/* Writes g to fd (a mkstemp file), makes it executable and closes it. */
static void write_executable(int fd, struct elfgen *g)
{
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, elfgen_bytes(g), g->size), (ssize_t)g->size);
	fchmod(fd, 0755);
	close(fd);
}

static void assert_refused(struct elfgen *g, const char *want, int want_status)
{
	char path[] = "/tmp/pb-hostile-XXXXXX";
	struct run_result r;

	write_executable(mkstemp(path), g);
	cr_assert_eq(run_cmd((char *[]){PB, "run", path, NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, want_status, "status %d, signal %d: %s", r.exit_code, r.signal, r.err);
	cr_assert(strstr(r.err, want), "want '%s' in: %s", want, r.err);
	run_result_free(&r);
	unlink(path);
}

Test(hostile, overlapping_segments)
{
	struct elfgen g;

	elfgen_static_exec(&g, 0);
	g.ph[1].p_vaddr = 0x400800;
	g.ph[1].p_offset = 0x800;
	assert_refused(&g, "procbuilder: parse: ", 126);
}

Test(hostile, segment_in_the_stubs_range)
{
	struct elfgen g;
	char maps[256];
	unsigned long long lo;
	FILE *f = fopen("/proc/self/maps", "r");

	/* where mmap puts things: the stub lands in that region too; a fixed image right there */
	while (fgets(maps, sizeof(maps), f))
		if (strstr(maps, "[vdso]"))
			break;
	fclose(f);
	sscanf(maps, "%llx", &lo);
	elfgen_static_exec(&g, 0);
	for (int i = 0; i < 2; i++) {
		g.ph[i].p_vaddr = g.ph[i].p_paddr = 0x7ffffffde000ull + i * 0x1000;
	}
	g.eh.e_entry = 0x7ffffffde800ull;
	(void)lo;
	/* on top of the kernel-made [stack] (or the top of user space): never clobbered */
	assert_refused(&g, "procbuilder: ", 125);
}

Test(hostile, giant_bss)
{
	struct elfgen g;

	elfgen_static_exec(&g, 0);
	g.ph[1].p_memsz = 1ull << 46; /* 64 TiB of bss */
	assert_refused(&g, "procbuilder: load: ", 125);
}

Test(hostile, interpreter_is_itself_or_a_directory)
{
	struct elfgen g;
	char path[] = "/tmp/pb-selfinterp-XXXXXX";
	int fd = mkstemp(path);
	struct run_result r;

	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, path);
	write_executable(fd, &g);
	cr_assert_eq(run_cmd((char *[]){PB, "run", path, NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 125, "%s", r.err);
	cr_assert(strstr(r.err, "interp: bad interpreter") || strstr(r.err, "interpreter of its own"), "%s", r.err);
	run_result_free(&r);
	unlink(path);
	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/tmp");
	assert_refused(&g, "interpreter /tmp is a directory", 126);
}

Test(hostile, sparse_four_gigabyte_file_is_read_by_its_headers)
{
	struct elfgen g;
	char path[] = "/tmp/pb-sparse-XXXXXX";
	int fd = mkstemp(path);
	struct run_result r;

	elfgen_static_exec(&g, 42);
	write_executable(fd, &g);
	cr_assert_eq(truncate(path, 4ll << 30), 0);
	cr_assert_eq(run_cmd((char *[]){PB, "run", path, NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 42, "%s", r.err);
	run_result_free(&r);
	unlink(path);
}

/* The kernel refuses it with ENOEXEC: run does what execvp (env) does then, /bin/sh FILE. */
Test(hostile, phdrs_aliasing_the_elf_header)
{
	char path[] = "/tmp/pb-hostile-XXXXXX";
	struct run_result want, got;
	struct elfgen g;

	elfgen_static_exec(&g, 0);
	g.eh.e_phoff = 0;
	write_executable(mkstemp(path), &g);
	cr_assert_eq(run_cmd((char *[]){"/usr/bin/env", path, NULL}, env, &want), 0);
	cr_assert_eq(run_cmd((char *[]){PB, "run", path, NULL}, env, &got), 0);
	cr_assert_neq(want.exit_code, 0, "sh does not run an ELF file: %s", want.err);
	cr_assert_eq(got.status, want.status, "env: %s, procbuilder: %s", want.err, got.err);
	cr_assert_str_eq(got.out, want.out);
	run_result_free(&want);
	run_result_free(&got);
	unlink(path);
}

/* ---- faults ---- */

static struct pb_builder *new_builder(void)
{
	struct pb_builder *b;
	struct pb_error err;
	int fd = open(H, O_RDONLY | O_CLOEXEC);

	cr_assert_eq(pb_builder_new(H, -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	pb_add_arguments(b, (const char *const[]){H, "exit", "0"}, 3);
	return b;
}

/* The builder's stub pid, found as our one child. */
static pid_t only_child(void)
{
	char path[64], *s;
	pid_t pid;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", getpid(), getpid());
	s = slurp(path);
	pid = s ? atoi(s) : 0;
	free(s);
	return pid;
}

Test(faults, stub_killed_before_the_plan)
{
	int fds = count_open_fds();
	struct pb_builder *b = new_builder();
	struct pb_built *p = NULL;
	struct pb_error err;

	cr_assert_eq(kill(only_child(), SIGKILL), 0);
	cr_assert_lt(pb_build(b, &p, &err), 0);
	cr_assert(err.code == PB_ESTUB || err.code == PB_ESYS, "%s", err.msg);
	cr_assert_null(p);
	pb_builder_free(b);
	cr_assert(no_children());
	cr_assert_eq(count_open_fds(), fds, "fd leak");
}

Test(faults, killed_while_built_and_stopped)
{
	int fds = count_open_fds(), status;
	struct pb_builder *b = new_builder();
	struct pb_built *p;
	struct pb_error err;

	cr_assert_eq(pb_build(b, &p, &err), 0, "%s", err.msg);
	pb_builder_free(b);
	cr_assert_eq(kill(pb_built_info(p)->pid, SIGKILL), 0);
	usleep(50000);
	if (pb_start(p, &err) == 0) {
		cr_assert_eq(pb_wait(p, &status), 0);
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %x", status);
	}
	pb_built_free(p);
	cr_assert(no_children());
	cr_assert_eq(count_open_fds(), fds, "fd leak");
}

Test(faults, fd_exhaustion_is_a_clean_error)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct rlimit rl = {6, 6};
		struct pb_builder *b = NULL;
		struct pb_error err;
		int fd = open(H, O_RDONLY | O_CLOEXEC), r;
		setrlimit(RLIMIT_NOFILE, &rl);
		r = pb_builder_new(H, -1, fd, &b, &err);
		if (r == 0) {
			struct pb_built *p = NULL;
			r = pb_build(b, &p, &err);
			pb_built_free(p);
			pb_builder_free(b);
		}
		/* a clear error naming where (or, with luck, success), and no child left behind */
		_exit(r == 0 || (err.msg[0] && err.stage[0]) ? (no_children() ? 0 : 2) : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "crashed: signal %d", WTERMSIG(status));
	cr_assert_eq(WEXITSTATUS(status), 0);
}

Test(faults, not_readable_not_executable_directory_like_execve)
{
	char path[] = "/tmp/pb-perm-XXXXXX";
	int fd = mkstemp(path);
	struct run_result r;

	close(fd);
	cr_assert_eq(run_cmd((char *[]){PB, "run", "/tmp", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 126, "a directory: %s", r.err);
	run_result_free(&r);
	chmod(path, 0644);
	cr_assert_eq(run_cmd((char *[]){PB, "run", path, NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 126, "not executable: %s", r.err);
	run_result_free(&r);
	unlink(path);
}


Test(faults, rlimit_as_like_execve)
{
	struct run_result d, p;
	char *sh[] = {"/bin/sh", "-c", "ulimit -v 1048576; exec \"$@\"", "sh", "/bin/echo", "limited", NULL};
	char *pbsh[] = {"/bin/sh", "-c", "ulimit -v 1048576; exec \"$@\"", "sh", PB, "run", "/bin/echo", "limited", NULL};

#ifdef PB_ASAN
	cr_skip_test("ASan needs more address space than the limit under test");
#endif
	cr_assert_eq(run_cmd(sh, env, &d), 0);
	cr_assert_eq(run_cmd(pbsh, env, &p), 0);
	cr_assert_eq(d.exit_code, 0, "%s", d.err);
	cr_assert_eq(p.exit_code, 0, "%s", p.err);
	cr_assert_str_eq(p.out, d.out);
	run_result_free(&d);
	run_result_free(&p);
}

static void on_alarm(int sig) { (void)sig; }

Test(faults, eintr_everywhere)
{
	struct sigaction sa = {.sa_handler = on_alarm}; /* no SA_RESTART: every blocking call sees EINTR */
	struct itimerval every = {{0, 200}, {0, 200}}, off = {0};
	int fds = count_open_fds(), status;
	struct pb_builder *b;
	struct pb_built *p;
	struct pb_error err;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every, NULL);
	for (int i = 0; i < 20; i++) {
		b = new_builder();
		cr_assert_eq(pb_build(b, &p, &err), 0, "%s: %s", err.stage, err.msg);
		pb_builder_free(b);
		cr_assert_eq(pb_start(p, &err), 0, "%s", err.msg);
		cr_assert_eq(pb_wait(p, &status), 0);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %x", status);
		pb_built_free(p);
	}
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	cr_assert(no_children());
	cr_assert_eq(count_open_fds(), fds, "fd leak");
}

/* A stage that makes applying take a while: many mprotects of the stack's top page. */
static int slow_apply(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	for (int i = 0; i < 200000; i++)
		if (pb_ctx_step(ctx, PB_STEP_PROTECT, ctx->stack_top - 4096, 4096, PROT_READ | PROT_WRITE, "slow") < 0)
			return -ENOMEM;
	return 0;
}

static int fds_of(pid_t pid)
{
	char path[64];
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* Kills the stub once it holds the plan (its fds grow), not after a guess at the time it takes. */
static void *kill_soon(void *arg)
{
	pid_t pid = *(pid_t *)arg;
	int before = fds_of(pid);

	for (int i = 0; i < 100000 && fds_of(pid) <= before; i++)
		usleep(20);
	kill(pid, SIGKILL);
	return NULL;
}

Test(faults, stub_killed_while_applying)
{
	static const char *const after_stack[] = {"stack", NULL};
	struct pb_stage_def def = {"slow-apply", slow_apply, "slow", NULL, after_stack, false};
	struct pb_registry *reg = pb_registry_create();
	char yaml[] = "/tmp/pb-slow-XXXXXX";
	const char *text = "stages: [parse, load, stack, slow-apply, args]\n";
	int fds;
	struct pb_pipeline *pipe;
	struct pb_builder *b;
	struct pb_built *p = NULL;
	struct pb_error err;
	pthread_t t;
	pid_t stub;

	cr_assert_eq(temp_file(yaml, text, strlen(text), 0644), 0);
	pb_registry_add(reg, &def);
	cr_assert_eq(pb_pipeline_load_with(yaml, reg, &pipe, &err), 0, "%s", err.msg);
	/* control: without the kill the same pipeline builds */
	b = new_builder();
	cr_assert_eq(pb_build_with(b, pipe, &p, &err), 0, "%s: %s", err.stage, err.msg);
	pb_builder_free(b);
	pb_built_free(p);
	p = NULL;
	fds = count_open_fds();
	b = new_builder();
	stub = only_child();
	pthread_create(&t, NULL, kill_soon, &stub);
	cr_assert_lt(pb_build_with(b, pipe, &p, &err), 0, "the build should fail: the stub died");
	pthread_join(t, NULL);
	cr_assert(err.code == PB_ESTUB || err.code == PB_ESYS, "%s: %s", err.stage, err.msg);
	cr_assert_null(p);
	pb_builder_free(b);
	cr_assert(no_children());
	cr_assert_eq(count_open_fds(), fds, "fd leak");
	pb_pipeline_free(pipe);
	unlink(yaml);
}

Test(faults, noexec_mount_like_execve)
{
	char script[1024];
	struct run_result r;

	if (geteuid() != 0 || access("/usr/bin/unshare", X_OK) != 0)
		cr_skip_test("needs root and unshare to make a noexec mount");
	snprintf(script, sizeof(script),
		 "d=$(mktemp -d) && mount -t tmpfs -o noexec none $d && cp /bin/busybox $d/ && "
		 "{ $d/busybox true; echo \"execve $?\"; %s/" PB " run $d/busybox true; echo \"procbuilder $?\"; }; "
		 "umount $d; rmdir $d", getcwd((char[512]){0}, 512));
	cr_assert_eq(run_cmd((char *[]){"/usr/bin/unshare", "-m", "/bin/sh", "-c", script, NULL}, env, &r), 0);
	if (strstr(r.err, "mount:"))
		cr_skip_test("cannot mount here: %s", r.err);
	cr_assert(strstr(r.out, "execve 126"), "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "procbuilder 126"), "%s\n%s", r.out, r.err);
	/* like execvp, the PATH lookup already sees EACCES (access(X_OK) fails on noexec) */
	cr_assert(strstr(r.err, "procbuilder: run: ") && strstr(r.err, "Permission denied"), "%s", r.err);
	run_result_free(&r);
}

/* The kernel runs execute-only files; from outside we must read them to map them: a clear refusal. */
Test(faults, execute_only_file_is_a_clear_error)
{
	char dir[] = "/tmp/pb-xonly-XXXXXX", path[256], cmd[600];
	struct run_result r;

	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0)
		cr_skip_test("needs root and setpriv to become another user");
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/busybox", dir);
	snprintf(cmd, sizeof(cmd), "cp /bin/busybox %s && chmod 0711 %s", path, path);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(run_cmd((char *[]){"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
					PB, "run", path, "true", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 126, "%s", r.err);
	cr_assert(strstr(r.err, "Permission denied"), "%s", r.err);
	run_result_free(&r);
	remove_dir(dir);
}
