/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stddef.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "launch/creds.h"
#include "launch/exehelper.h"
#include "launch/launch.h"
#include "launch/posix_spawn.h"
#include "pipeline/pipeline.h"

/* Checks exec_fd the way execve checks the file it opens. */
static int check_exec_fd(int fd, const char *name, struct pb_error *err)
{
	const char *why = NULL;
	int fl = fd < 0 ? -1 : fcntl(fd, F_GETFL), r;

	if (fl >= 0 && (fl & O_PATH)) /* it has to be read to be mapped: say so now, not at the first read */
		return pb_err_set(err, "builder", PB_EBADF, 0,
				  "%s: exec fd %d is an O_PATH fd; procbuilder reads the program: open it O_RDONLY", name, fd);
	r = fd < 0 ? -EBADF : pb_check_exec_file(fd, &why);

	if (r == -EACCES)
		return pb_err_set(err, "builder", PB_EACCES, 0, "%s %s", name, why);
	if (r < 0)
		return pb_err_set(err, "builder", PB_EBADF, 0, "invalid executable fd %d", fd);
	return 0;
}

/*
 * A builder with no program yet, its job fd (a cgroup v2 directory, or -1)
 * duplicated: what pb_builder_new starts from, and what a pool's stubs wait
 * in (launch/pool.c).
 */
int pb_builder_blank(int job_fd, struct pb_builder **ret, struct pb_error *err)
{
	struct pb_builder *b;

	if (job_fd >= 0 && fcntl(job_fd, F_GETFD) < 0)
		return pb_err_set(err, "builder", PB_EBADF, 0, "invalid job (cgroup) fd %d", job_fd);
	b = calloc(1, sizeof(*b));
	if (!b)
		return pb_err_set(err, "builder", PB_ENOMEM, 0, "out of memory");
	b->exec_fd = b->job_fd = b->pidfd = b->sock = -1;
	b->interp_fd = b->sysroot_fd = b->vdso_fd = -1;
	b->reserve_keep = -1;
	b->pid = -1;
	b->argv = calloc(1, sizeof(char *));
	b->envp = calloc(1, sizeof(char *));
	if (job_fd >= 0)
		b->job_fd = fcntl(job_fd, F_DUPFD_CLOEXEC, 3);
	if (!b->argv || !b->envp || (job_fd >= 0 && b->job_fd < 0)) {
		int r = pb_err_sys(err, "builder", errno ? -errno : -ENOMEM, "setting up the builder");

		pb_builder_free(b);
		return r;
	}
	b->tid = gettid();
	*ret = b;
	return 0;
}

/*
 * Gives a blank builder its program (checked as execve checks the file it
 * opens) and the calling thread's signal state as of now, which the program
 * inherits. 0 or a negative errno with err set; b is unchanged on failure.
 */
int pb_builder_bind(struct pb_builder *b, const char *name, int exec_fd, struct pb_error *err)
{
	struct sigaction sa;
	int r = check_exec_fd(exec_fd, name, err);

	if (r < 0)
		return r;
	b->name = strdup(name);
	b->exec_fd = fcntl(exec_fd, F_DUPFD_CLOEXEC, 3);
	if (!b->name || b->exec_fd < 0) {
		r = pb_err_sys(err, "builder", errno ? -errno : -ENOMEM, "setting up the builder");
		free(b->name);
		b->name = NULL;
		if (b->exec_fd >= 0)
			close(b->exec_fd);
		b->exec_fd = -1;
		return r;
	}
	pthread_sigmask(SIG_SETMASK, NULL, &b->sigmask);
	b->sigtrap_ignored = sigaction(SIGTRAP, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
	return 0;
}

/* Everything a builder holds before its process exists. */
static int builder_alloc(const char *name, int job_fd, int exec_fd, struct pb_builder **ret, struct pb_error *err)
{
	struct pb_builder *b;
	int r;

	pb_err_clear(err);
	if (!name || !ret)
		return pb_err_set(err, "builder", PB_EINVAL, 0, "name and ret are required");
	r = pb_builder_blank(job_fd, &b, err);
	if (r < 0)
		return r;
	r = pb_builder_bind(b, name, exec_fd, err);
	if (r < 0) {
		pb_builder_free(b);
		return r;
	}
	*ret = b;
	return 0;
}

/* A builder and its stub; cp: posix_spawn's work for the clone child (launch/posix_spawn.c), or NULL. */
static int builder_spawn(const char *name, int job_fd, int exec_fd, struct pb_child_plan *cp,
			 struct pb_builder **ret, struct pb_error *err)
{
	struct pb_builder *b;
	int r = builder_alloc(name, job_fd, exec_fd, &b, err);

	if (r < 0)
		return r;
	b->child = cp;
	r = pb_spawn_stub(b, err);
	if (r < 0) {
		pb_builder_free(b);
		return r;
	}
	*ret = b;
	return 0;
}

PB_API int pb_builder_new(const char *name, int job_fd, int exec_fd,
			  struct pb_builder **ret, struct pb_error *err)
{
	return builder_spawn(name, job_fd, exec_fd, NULL, ret, err);
}

int pb_builder_new_child(const char *name, int exec_fd, struct pb_child_plan *cp, struct pb_builder **ret,
			 struct pb_error *err)
{
	return builder_spawn(name, -1, exec_fd, cp, ret, err);
}

PB_API int pb_builder_new_self(const char *name, int job_fd, int exec_fd,
			       struct pb_builder **ret, struct pb_error *err)
{
	int r = builder_alloc(name, job_fd, exec_fd, ret, err);

	if (r == 0) {
		(*ret)->in_place = true;
		(*ret)->no_ptrace = true;
	}
	return r;
}

/* Replaces *slot with a duplicate of fd (or -1). */
static int keep_fd(int *slot, int fd, bool wanted)
{
	int dup = -1;

	if (wanted) {
		dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (dup < 0)
			return -EBADF;
	}
	if (*slot >= 0)
		close(*slot);
	*slot = dup;
	return 0;
}

PB_API int pb_set_interp_resolver(struct pb_builder *b, enum pb_interp_resolver how, int fd)
{
	static const char *const names[] = {"host", "sysroot", "fd", "none"};
	int r;

	if ((unsigned)how > PB_INTERP_NONE)
		return -EINVAL;
	r = keep_fd(&b->sysroot_fd, fd, how == PB_INTERP_SYSROOT);
	if (r == 0)
		r = keep_fd(&b->interp_fd, fd, how == PB_INTERP_FD);
	if (r == 0)
		b->interp_resolver = names[how];
	return r;
}

PB_API int pb_set_vdso(struct pb_builder *b, enum pb_vdso_policy policy, int fd)
{
	static const char *const names[] = {"system", "none", "custom"};
	int r;

	if ((unsigned)policy > PB_VDSO_CUSTOM)
		return -EINVAL;
	r = keep_fd(&b->vdso_fd, fd, policy == PB_VDSO_CUSTOM);
	if (r == 0)
		b->vdso_policy = names[policy];
	return r;
}

PB_API int pb_set_reservation(struct pb_builder *b, const char *range, int keep)
{
	char *r;

	if (pb_registry_check_reserve_range(range) < 0)
		return -EINVAL; /* now, not as the reserve stage's failure at build */
	r = range ? strdup(range) : NULL;
	if (range && !r)
		return -ENOMEM;
	free(b->reserve_range);
	b->reserve_range = r;
	b->reserve_keep = keep ? 1 : 0;
	return 0;
}

PB_API int pb_set_no_ptrace(struct pb_builder *b, int on)
{
	struct pb_stub_waiter w = {.pid = b->pid, .pidfd = b->pidfd, .want_trap = true};
	struct pb_error err;
	int status, r;

	if (!on || b->no_ptrace)
		return on || !b->no_ptrace || b->in_place ? 0 : -EINVAL; /* we cannot attach later */
	if (b->pid < 0)
		return -ESRCH;
	if (gettid() != b->tid)
		return -EINVAL; /* the threading rule: only the tracer can let go */
	/* let go of the stub: stop it (its recvmsg restarts), then detach (a stop meanwhile is passed on) */
	if (ptrace(PTRACE_INTERRUPT, b->pid, 0, 0) < 0)
		return -errno;
	r = pb_stub_wait(&w, -1, PTRACE_CONT, &status, &err, "to let it go");
	if (w.reaped)
		b->pid = -1;
	if (r < 0)
		return r;
	if (!WIFSTOPPED(status) ||
	    ptrace(PTRACE_DETACH, b->pid, 0, w.stop_seen && !pb_cont_pending(b->pid) ? SIGSTOP : 0) < 0)
		return -ECHILD;
	b->no_ptrace = true;
	return 0;
}

PB_API int pb_set_pdeathsig(struct pb_builder *b, int sig)
{
	if (sig < 0 || sig >= NSIG)
		return -EINVAL;
	b->pdeathsig = sig;
	return 0;
}

PB_API int pb_set_sigmask(struct pb_builder *b, uint64_t mask)
{
	if (b->in_place)
		return -EINVAL;
	sigemptyset(&b->sigmask);
	for (int sig = 1; sig <= 64; sig++)
		if (mask & 1ull << (sig - 1))
			sigaddset(&b->sigmask, sig);
	return 0;
}

PB_API int pb_set_seed(struct pb_builder *b, uint64_t seed)
{
	b->seeded = true;
	b->seed = seed;
	return 0;
}

PB_API void pb_builder_free(struct pb_builder *b)
{
	if (!b)
		return;
	pb_kill_and_reap(&b->pid, &b->pidfd, &b->sock);
	for (size_t i = 0; i < b->argc; i++)
		free(b->argv[i]);
	for (size_t i = 0; i < b->envc; i++)
		free(b->envp[i]);
	free(b->argv);
	free(b->envp);
	free(b->name);
	free(b->execfn);
	free(b->reserve_range);
	for (size_t i = 0; i < b->nfds; i++)
		close(b->fds[i].fd);
	free(b->envp_listen);
	free(b->listen_strings);
	pb_ns_free(b);
	pb_attrs_free(b);
	if (b->exec_fd >= 0)
		close(b->exec_fd);
	int *fds[] = {&b->job_fd, &b->interp_fd, &b->sysroot_fd, &b->vdso_fd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	free(b);
}

/* Whether /proc/PID/exe is the program (the stub's PR_SET_MM_MAP may have been refused). */
static bool exe_is_program(pid_t pid, int exec_fd)
{
	struct stat exe, prog;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	return stat(path, &exe) == 0 && fstat(exec_fd, &prog) == 0 && exe.st_dev == prog.st_dev &&
	       exe.st_ino == prog.st_ino;
}

/* Which way exe was set, or why it was not, in the trace. */
static void trace_exe(const struct pb_builder *b, const struct pb_pipeline *pipe, bool exe_in_mm, bool exe_set)
{
	char note[448];

	if (exe_set)
		snprintf(note, sizeof(note), "%s", exe_in_mm ? "set by the stub with the caller's own capability"
							      : b->exe_why);
	else if (exe_in_mm)
		snprintf(note, sizeof(note), "not set: the stub was to set it with the caller's own capability, "
			 "but the kernel refused the program's fd to PR_SET_MM_MAP; /proc/%d/exe stays the stub's memfd",
			 (int)b->pid);
	else if (b->exe_by_helper)
		snprintf(note, sizeof(note), "not set: %s, but /proc/%d/exe is not the program", b->exe_why, (int)b->pid);
	else
		snprintf(note, sizeof(note), "not set: %s; /proc/%d/exe stays the stub's memfd",
			 b->exe_why[0] ? b->exe_why : "no way to set it", (int)b->pid);
	pb_exe_trace(pipe->trace_file, b->trace ? b->trace : (int)pipe->trace, note);
}

void pb_builder_setup_ctx(struct pb_builder *b, struct pb_ctx *ctx)
{
	ctx->exec_fd = b->exec_fd;
	ctx->exec_name = b->execfn ? b->execfn : b->name;
	ctx->execfn = b->execfn ? b->execfn : b->name;
	ctx->exec_path = b->execfn; /* without one, a bare fd: binfmt_misc extensions do not match, as for execveat */
	ctx->comm = b->name;
	ctx->argv = b->argv;
	ctx->argc = b->argc;
	ctx->envp = b->envp_listen ? b->envp_listen : b->envp;
	ctx->envc = b->envp_listen ? b->nenvp_listen : b->envc;
	if (b->seeded)
		pb_rng_seed(&ctx->rng, b->seed);
	ctx->interp_resolver = b->interp_resolver;
	ctx->interp_override_fd = b->interp_fd;
	ctx->sysroot_fd = b->sysroot_fd;
	ctx->vdso_policy = b->vdso_policy;
	ctx->vdso_fd = b->vdso_fd;
	ctx->reserve_range = b->reserve_range;
	ctx->reserve_keep = b->reserve_keep;
}

PB_API int pb_set_trace(struct pb_builder *b, int how)
{
	if (how < 0 || how > 2)
		return -EINVAL;
	b->trace = how;
	return 0;
}

/*
 * The threading rule (include/procbuilder.h): ptrace ties the stub to the
 * thread that attached, so any other thread's ptrace or wait would fail in
 * the middle (ESRCH, a stop it cannot read). Said at once instead, nothing
 * touched: the right thread can still go on. 0 or -EINVAL with err set.
 */
static int check_thread(pid_t tid, const char *stage, const char *what, struct pb_error *err)
{
	pid_t self = gettid();

	if (self == tid)
		return 0;
	return pb_err_set(err, stage, PB_EINVAL, 0,
			  "%s from thread %d: the process is held (ptrace) by thread %d, which made the builder; "
			  "build, start and let go of it from that thread", what, (int)self, (int)tid);
}

PB_API int pb_build(struct pb_builder *b, struct pb_built **ret, struct pb_error *err)
{
	return pb_build_with(b, NULL, ret, err);
}

PB_API int pb_build_with(struct pb_builder *b, const struct pb_pipeline *given, struct pb_built **ret,
			 struct pb_error *err)
{
	struct pb_pipeline *own = NULL;
	const struct pb_pipeline *pipe = given;
	struct pb_ctx *ctx = malloc(sizeof(*ctx));
	struct pb_built *p = calloc(1, sizeof(*p));
	struct pb_wire_creds creds;
	struct pb_stub_waiter w = {.pid = b->pid, .pidfd = b->pidfd, .cancellable = true};
	bool exe_in_mm, exe_set = false;
	uint64_t tramp = 0;
	int r;

	pb_err_clear(err);
	if (!b->in_place && (r = check_thread(b->tid, "builder", "pb_build", err)) < 0) {
		free(p);
		free(ctx);
		return r;
	}
	if (!pipe && pb_pipeline_default(&own) == 0)
		pipe = own;
	if (!pipe || !ctx || !p) {
		r = pb_err_set(err, "builder", PB_ENOMEM, 0, "out of memory");
		goto out_free;
	}
	pb_ctx_init(ctx);
	if (b->in_place) {
		r = pb_err_set(err, "builder", PB_EINVAL, 0, "this builder builds the calling process: use pb_exec");
		goto out_clear;
	}
	if (b->spent || b->pid < 0) {
		r = pb_err_set(err, "builder", PB_EINVAL, 0, "this builder was already built");
		goto out_clear;
	}
	b->spent = true;
	r = pb_stub_read_hello(b, &w, ctx, err);
	if (r == 0 && pb_builder_listen_env(b, b->pid) < 0)
		r = pb_err_set(err, "builder", PB_ENOMEM, 0, "out of memory");
	if (r < 0)
		goto out_kill;
	pb_builder_setup_ctx(b, ctx);
	r = pb_pipeline_run(pipe, ctx, (enum pb_trace)b->trace, NULL);
	if (r < 0) {
		*err = ctx->err;
		goto out_kill;
	}
	r = pb_creds_plan(ctx->exec_fd, ctx->exec_name, pb_ids_request(b), &creds, err);
	if (r < 0)
		goto out_kill;
	memcpy(&p->sigmask, &b->sigmask, sizeof(p->sigmask));
	p->step = !b->sigtrap_ignored;
	p->tid = b->tid;
	/* exe: set by the stub, the interpreter of an empty program (spawned so only when we may) */
	exe_in_mm = b->stub_is_interp;
	if (b->no_ptrace) {
		r = pb_ctx_release_kept(ctx); /* nothing can release them at start */
		if (r == 0)
			r = pb_plan_trampoline(ctx, &tramp);
		if (r < 0) {
			*err = ctx->err;
			goto out_kill;
		}
	}
	r = pb_stub_send_plan(b, ctx, exe_in_mm, tramp, &creds, err);
	/* the stub has its own copies now: holding ours would keep pipes open */
	for (size_t i = 0; i < b->nfds; i++)
		close(b->fds[i].fd);
	b->nfds = 0;
	if (r == 0)
		r = b->no_ptrace ? pb_stub_read_result(b, &w, ctx, err) : pb_stub_await_applied(b, &w, ctx, err);
	if (r == 0 && !b->no_ptrace)
		r = pb_finalize(ctx, &w, &p->sigmask, p->step, b->stub_leaves ? b->vdso_way.trap : 0, err);
	if (w.reaped)
		b->pid = -1; /* never signal that pid again */
	/*
	 * The program execve would make exe: the ELF loaded first (a #! script's
	 * interpreter), files[0]. Set by the stub: its PR_SET_MM_MAP took that
	 * fd (its report says so); set by the helper, for the fd it was given:
	 * looked at (/proc/PID/exe against the program).
	 */
	if (r == 0 && exe_in_mm)
		exe_set = b->stub_exe_set;
	else if (r == 0 && b->exe_by_helper)
		exe_set = exe_is_program(b->pid, ctx->plan.nfiles ? ctx->plan.files[0].fd : b->exec_fd);
	if (r < 0)
		goto out_kill;
	trace_exe(b, pipe, exe_in_mm, exe_set);
	p->info = (struct pb_built_info){
		.pid = b->pid, .pidfd = b->pidfd, .entry = ctx->entry, .sp = ctx->sp,
		.elf_base = ctx->exec_bias, .interp_base = ctx->interp_bias,
		.vdso_base = ctx->vdso_base, .exe_set = exe_set, .trampoline = tramp,
		.exe_way = !exe_set ? PB_EXE_NOT_SET : exe_in_mm ? PB_EXE_CAPABILITY : PB_EXE_HELPER,
		.stub_syscalls = b->stub_nsys, .stub_left = b->stub_leaves,
	};
	for (unsigned i = 0; i < ctx->nreservations; i++)
		if (ctx->reservations[i].keep)
			p->kept[p->nkept++] = ctx->reservations[i];
	if (p->nkept)
		p->syscall_insn = pb_image_syscall_insn(ctx); /* to release them at start */
	p->stop_seen = w.stop_seen;
	p->sock = -1;
	if (b->no_ptrace)
		p->sock = b->sock; /* "go" goes here */
	else
		close(b->sock);
	b->pid = b->pidfd = b->sock = -1; /* the built process owns them now */
	*ret = TAKE_PTR(p);
	r = 0;
	goto out_clear;

out_kill:
	pb_kill_and_reap(&b->pid, &b->pidfd, &b->sock);
out_clear:
	pb_ctx_clear(ctx);
out_free:
	free(p);
	free(ctx);
	pb_pipeline_free(own);
	return r;
}

PB_API const struct pb_built_info *pb_built_info(const struct pb_built *p)
{
	return &p->info;
}

PB_API int pb_start(struct pb_built *p, struct pb_error *err)
{
	pb_err_clear(err);
	if (p->started)
		return pb_err_set(err, "start", PB_EINVAL, 0, "already started");
	if (check_thread(p->tid, "start", "pb_start", err) < 0)
		return pb_error_errno(err);
	if (p->sock >= 0) { /* no ptrace: the stub jumps to the trampoline */
		if (send(p->sock, "g", 1, MSG_NOSIGNAL) != 1)
			return pb_err_sys(err, "start", -errno, "telling the stub to start");
		close(p->sock);
		p->sock = -1;
		p->started = true;
		return 0;
	}
	if (p->nkept && pb_release_kept(p, err) < 0)
		return pb_error_errno(err);
	/* a stop that came while it was built, and no SIGCONT since: it starts stopped (launch/stops.c) */
	if (ptrace(PTRACE_DETACH, p->info.pid, 0, p->stop_seen && !pb_cont_pending(p->info.pid) ? SIGSTOP : 0) < 0)
		return pb_err_sys(err, "start", -errno, "PTRACE_DETACH");
	p->started = true;
	return 0;
}

PB_API int pb_start_stopped(struct pb_built *p, struct pb_error *err)
{
	pb_err_clear(err);
	if (p->started)
		return pb_err_set(err, "start", PB_EINVAL, 0, "already started");
	if (check_thread(p->tid, "start", "pb_start_stopped", err) < 0)
		return pb_error_errno(err);
	if (p->sock >= 0)
		return pb_err_set(err, "start", PB_EINVAL, 0, "starting stopped needs ptrace, and this build had none");
	if (p->nkept && pb_release_kept(p, err) < 0)
		return pb_error_errno(err);
	if (ptrace(PTRACE_DETACH, p->info.pid, 0, SIGSTOP) < 0)
		return pb_err_sys(err, "start", -errno, "PTRACE_DETACH");
	p->started = true;
	return 0;
}

PB_API int pb_pipeline_holds(const struct pb_pipeline *p)
{
	return p && p->hold;
}

PB_API void pb_built_free(struct pb_built *p)
{
	pid_t pid;

	if (!p)
		return;
	pid = p->started || p->reaped ? -1 : p->info.pid;
	pb_kill_and_reap(&pid, &p->info.pidfd, &p->sock);
	free(p);
}
