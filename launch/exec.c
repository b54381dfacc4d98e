/* SPDX-License-Identifier: MIT */
/*
 * DOC: exec in place. The calling process plans the program with the same
 * stages as for a child, then execs the stub (a sealed memfd) with the plan
 * in fds that survive the exec. The kernel's exec does what execve does to
 * the process (every reset, every attribute kept, other threads ended, a
 * fresh mm with mmap_base from the current RLIMIT_STACK and personality);
 * the stub, now this process, applies the plan and enters the program.
 *
 * The plan is made before the exec, so against a template of the layout the
 * kernel will give the stub: its image at the top of the mmap area with the
 * vDSO right below (above, bottom-up), and its [stack]. The stub moves its
 * image just outside the area at once (launch/stub/vacate.c) and the vDSO
 * next to it before the steps, so the template has them there and the
 * program's mappings start at mmap_base, as execve's. The kernel randomizes both; the stub
 * shifts what was planned in each window by the difference it finds (so the
 * program gets the kernel's own randomness for both), and takes what the
 * kernel decided for this exec (credentials, AT_SECURE) into the auxv.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/error.h"
#include "launch/creds.h"
#include "launch/exehelper.h"
#include "launch/launch.h"
#include "pipeline/pipeline.h"

/* The template: far from anything placed at an absolute address (programs, brk, a seeded stack). */
#define TMPL_MMAP_TOP 0x7e0000000000ull
#define TMPL_STACK_END 0x7ff000000000ull
#define TMPL_STACK_VMA 0x22000ull	/* the kernel's [stack] for the stub's few strings */
#define TMPL_SP0_BELOW (16ull << 10)	/* the stub's first sp is never further down than this */
#define MMAP_WINDOW (1ull << 40)
#define STACK_WINDOW (1ull << 30)

static void template_host(struct pb_host *h, struct pb_plan_hdr *hdr)
{
	struct pb_inplace *in = &hdr->in;
	uint64_t size = pb_stub_image_size(), shift = 0, stub_lo;
	struct pb_move park[4];
	struct pb_vma run[4];
	unsigned n;

	pb_host_from_self(h);
	h->bottom_up = pb_host_legacy_layout(h);
	/* the kernel maps the stub at mmap_base, then the vDSO: right below it top-down, right above it bottom-up */
	stub_lo = h->bottom_up ? TMPL_MMAP_TOP : TMPL_MMAP_TOP - size;
	n = pb_host_vdso_run(h, run);
	if (n)
		shift = h->bottom_up ? stub_lo + size - run[0].lo : stub_lo - run[n - 1].hi;
	/* (none: vdso_base 0, which the caller refuses; the kernel gives the stub one all the same) */
	pb_host_place_vdso_run(h, run, n, shift);
	in->vdso = h->vdso_base;
	in->stub_lo = stub_lo;
	/* then the stub leaves the area (vacate.c), and the vDSO goes next to it (the park moves) */
	stub_lo = h->bottom_up ? TMPL_MMAP_TOP - size : TMPL_MMAP_TOP;
	h->maps[h->nmaps++] = (struct pb_vma){stub_lo, stub_lo + size, "/memfd:pb-stub (deleted)"};
	h->maps[h->nmaps++] = (struct pb_vma){TMPL_STACK_END - TMPL_STACK_VMA, TMPL_STACK_END, "[stack]"};
	h->stub_lo = stub_lo;
	h->stub_hi = stub_lo + size;
	h->mmap_top = TMPL_MMAP_TOP;
	hdr->npark = pb_host_park_vdso_run(h, park);
	for (unsigned i = 0; i < hdr->npark; i++)
		hdr->park[i] = (struct pb_wire_move){park[i].from, park[i].to, park[i].len};
	h->stack_end = TMPL_STACK_END;
	h->sp0 = TMPL_STACK_END - TMPL_SP0_BELOW;
	in->stack_end = TMPL_STACK_END;
	in->mmap_lo = TMPL_MMAP_TOP - MMAP_WINDOW;
	in->mmap_hi = TMPL_MMAP_TOP + STACK_WINDOW; /* (bottom-up, the vDSO lies above) */
	in->stack_lo = TMPL_STACK_END - STACK_WINDOW;
	in->stack_hi = TMPL_STACK_END;
}

static bool in_window(const struct pb_inplace *in, uint64_t lo, uint64_t hi)
{
	return (lo <= in->mmap_hi && hi > in->mmap_lo) || (lo <= in->stack_hi && hi > in->stack_lo);
}

/* A program placed at an absolute address inside a window would be shifted: refuse it. */
static int check_absolute(struct pb_ctx *ctx, const struct pb_inplace *in, struct pb_error *err)
{
	uint64_t lo = ctx->exec_bias + ctx->exec.lo, hi = ctx->exec_bias + ctx->exec.hi;
	bool top_down = ctx->exec.type == ET_DYN && !ctx->has_interp;

	if (top_down || (!in_window(in, lo, hi) && !in_window(in, ctx->start_brk, ctx->start_brk + 1)))
		return 0;
	return pb_err_set(err, "exec", PB_ELOAD, 0,
			  "the program lies at 0x%llx-0x%llx, where an in-place build keeps its template; run it spawned",
			  (unsigned long long)lo, (unsigned long long)hi);
}

/* The plan's fds, duplicated above fd_high without close-on-exec; -errno. */
static int pass_fds(struct pb_builder *b, struct pb_ctx *ctx, int planfd, struct pb_plan_hdr *hdr)
{
	int *out = hdr->in.fds, n = 0;

	for (int i = 0; i < 1 + (int)ctx->plan.nfiles + (int)b->nfds; i++)
		out[i] = -1;
	out[n] = fcntl(planfd, F_DUPFD, hdr->fd_high);
	for (size_t i = 0; out[n] >= 0 && i < ctx->plan.nfiles; i++)
		out[++n] = fcntl(ctx->plan.files[i].fd, F_DUPFD, hdr->fd_high);
	for (size_t i = 0; out[n] >= 0 && i < b->nfds; i++) {
		hdr->fd_target[i] = b->fds[i].target;
		out[++n] = fcntl(b->fds[i].fd, F_DUPFD, hdr->fd_high);
	}
	hdr->nfds = (uint32_t)b->nfds;
	return out[n] < 0 ? -errno : 0;
}

static void close_passed(struct pb_plan_hdr *hdr)
{
	for (size_t i = 0; i < sizeof(hdr->in.fds) / sizeof(hdr->in.fds[0]); i++)
		if (hdr->in.fds[i] >= 0)
			close(hdr->in.fds[i]);
}

/* Like cgexec: this process moves into the cgroup directory job_fd. */
static int join_cgroup(int job_fd, struct pb_error *err)
{
	int fd = openat(job_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0 || write(fd, "0\n", 2) != 2)
		r = pb_err_sys(err, "launch", -errno, "joining the cgroup");
	if (fd >= 0)
		close(fd);
	return r;
}

/* execveat of fd; on ETXTBSY (a kernel that denies exec of a file open for writing), of a read-only reopen. */
static void exec_memfd(int fd, char **argv)
{
	char *envp[] = {NULL};
	int ro, e;

	syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
	if (errno != ETXTBSY)
		return;
	if ((ro = pb_memfd_reopen_ro(fd)) < 0) {
		errno = ETXTBSY; /* the verdict that matters: the reopen was only a way around it */
		return;
	}
	syscall(SYS_execveat, ro, "", argv, envp, AT_EMPTY_PATH);
	e = errno;
	close(ro);
	errno = e;
}

/* Where the trace of exe goes, and the helper that sets it (NULL: none). */
struct exe_choice {
	const char *trace_file;
	int trace;
	const char *helper;
};

/* How exe becomes the program (the stub's own capability, the installed helper, or not at all), said in the trace. */
static void choose_exe(const struct pb_builder *b, const struct pb_pipeline *pipe, const struct pb_ctx *ctx,
		       const struct pb_plan_hdr *hdr, struct exe_choice *c)
{
	char why[384], note[448];

	c->trace_file = pipe->trace_file;
	c->trace = b->trace ? b->trace : (int)pipe->trace;
	c->helper = NULL;
	if (hdr->exe_in_mm) {
		snprintf(note, sizeof(note), "set by the stub with the caller's own capability");
	} else if (ctx->plan.nfiles && (c->helper = pb_exe_helper_choose(ctx->plan.files[0].fd, why, sizeof(why)))) {
		snprintf(note, sizeof(note), "%s", why);
	} else {
		snprintf(note, sizeof(note), "not set: %s; /proc/self/exe stays the stub's memfd",
			 ctx->plan.nfiles ? why : "no program file");
	}
	pb_exe_trace(c->trace_file, c->trace, note);
}

/*
 * Execs the installed helper with a copy of the program's fd as argv[2]
 * (the stub closes it once exe is set); returns only on failure. The
 * helper's exec is a secure one, which clears the parent-death signal that
 * execve would keep: the plan gives it back.
 */
static void exec_helper(struct pb_plan_hdr *hdr, int planfd, const struct exe_choice *c)
{
	char fdstr[16], exestr[16], *argv[] = {"pb-stub", fdstr, exestr, NULL}, *envp[] = {NULL};
	int exefd = fcntl(hdr->in.fds[1], F_DUPFD, hdr->fd_high), pdeath = 0, e;
	int32_t planned = hdr->pdeathsig, ppid = hdr->ppid;

	if (exefd < 0)
		return;
	if (!planned && prctl(PR_GET_PDEATHSIG, &pdeath) == 0 && pdeath) { /* (one planned wins, as it would) */
		hdr->pdeathsig = pdeath;
		hdr->ppid = getppid();
	}
	snprintf(fdstr, sizeof(fdstr), "%d", hdr->in.fds[0]);
	snprintf(exestr, sizeof(exestr), "%d", exefd);
	if (pwrite(planfd, hdr, sizeof(*hdr), 0) == sizeof(*hdr))
		execve(c->helper, argv, envp);
	e = errno;
	close(exefd);
	hdr->pdeathsig = planned;
	hdr->ppid = ppid;
	if (c->trace) {
		char note[320];
		snprintf(note, sizeof(note), "not set: exec of the helper %s failed (%s)", c->helper, strerror(e));
		pb_exe_trace(c->trace_file, c->trace, note);
	}
}

/*
 * Execs the stub: through the installed helper when it sets exe, as
 * PT_INTERP of an empty program when we may set exe (that needs /proc: else
 * the stub itself, exe stays the stub's); returns only on failure.
 */
static int exec_stub(struct pb_plan_hdr *hdr, int planfd, const struct exe_choice *c, struct pb_error *err)
{
	char fdstr[16], *argv[] = {"pb-stub", fdstr, NULL};
	int stub, empty = -1, e;

	if (c->helper)
		exec_helper(hdr, planfd, c);
	stub = pb_stub_memfd(err);
	if (stub < 0)
		return stub;
	snprintf(fdstr, sizeof(fdstr), "%d", hdr->in.fds[0]);
	if (hdr->exe_in_mm && (empty = pb_empty_program_memfd(stub, err)) >= 0) {
		exec_memfd(empty, argv);
		close(empty);
	}
	hdr->exe_in_mm = 0;
	if (pwrite(planfd, hdr, sizeof(*hdr), 0) == sizeof(*hdr))
		exec_memfd(stub, argv);
	e = errno;
	close(stub);
	return pb_err_sys(err, "launch", -e, "exec of the stub%s", e == ETXTBSY ? PB_ETXTBSY_HINT : "");
}

/* Plans in template terms, then writes the plan (header at 0); returns the plan memfd or -errno. */
static int plan_in_place(struct pb_builder *b, const struct pb_pipeline *pipe, struct pb_ctx *ctx,
			 struct pb_plan_hdr *hdr, struct pb_error *err)
{
	uint64_t tramp = 0;
	int r;

	template_host(&ctx->host, hdr);
	if (!ctx->host.vdso_base)
		return pb_err_set(err, "exec", PB_ESYS, 0,
				  "this process has no kernel vDSO (it was started with --vdso none or a custom one), "
				  "so where the kernel puts the stub's cannot be known: build it spawned");
	pb_ctx_set_host(ctx, &ctx->host, "stub anonymous");
	if (pb_builder_listen_env(b, getpid()) < 0)
		return pb_err_set(err, "builder", PB_ENOMEM, 0, "out of memory");
	pb_builder_setup_ctx(b, ctx);
	/* only the stub's own plan runs here before the program: the planner alone keeps ranges free */
	ctx->reserve_model_only = true;
	r = pb_pipeline_run(pipe, ctx, (enum pb_trace)b->trace, NULL);
	if (r == 0)
		r = pb_ctx_release_kept(ctx); /* nothing could release them at start */
	if (r == 0 && pb_has_kernel_vdso(ctx)) {
		struct pb_vdso_way way;
		pb_vdso_way_find(&way);
		hdr->in.gadget = way.gadget;
	}
	if (r == 0 && !hdr->in.gadget)
		r = pb_plan_trampoline(ctx, &tramp);
	if (r < 0) {
		*err = ctx->err;
		return r;
	}
	if (check_absolute(ctx, &hdr->in, err) < 0 || pb_creds_plan(ctx->exec_fd, ctx->exec_name, pb_ids_request(b), &hdr->creds, err) < 0)
		return pb_error_errno(err);
	hdr->tramp = tramp;
	hdr->in.rip = ctx->entry;
	hdr->in.rsp = ctx->sp;
	hdr->exe_in_mm = pb_can_set_exe();
	hdr->fd_high = pb_wire_fd_high(b);
	return pb_wire_plan(b, ctx, hdr, true, err);
}

PB_API int pb_exec(struct pb_builder *b, const struct pb_pipeline *given, struct pb_error *err)
{
	struct pb_pipeline *own = NULL;
	const struct pb_pipeline *pipe = given;
	struct pb_ctx *ctx = malloc(sizeof(*ctx));
	struct pb_plan_hdr *hdr = calloc(1, sizeof(*hdr));
	struct exe_choice exe;
	int planfd = -1, r;

	pb_err_clear(err);
	if (!pipe && pb_pipeline_default(&own) == 0)
		pipe = own;
	if (!pipe || !ctx || !hdr) {
		r = pb_err_set(err, "builder", PB_ENOMEM, 0, "out of memory");
		goto out_free;
	}
	pb_ctx_init(ctx);
	memset(hdr->in.fds, 0xff, sizeof(hdr->in.fds));
	if (!b->in_place || b->spent) {
		r = pb_err_set(err, "builder", PB_EINVAL, 0, b->spent ? "this builder was already built" :
			       "pb_exec needs a builder from pb_builder_new_self");
		goto out_clear;
	}
	b->spent = true;
	r = planfd = plan_in_place(b, pipe, ctx, hdr, err);
	if (r >= 0 && (r = pass_fds(b, ctx, planfd, hdr)) < 0)
		r = pb_err_sys(err, "launch", r, "passing the plan's fds");
	if (r >= 0 && pwrite(planfd, hdr, sizeof(*hdr), 0) != sizeof(*hdr))
		r = pb_err_sys(err, "launch", -errno, "writing the plan header");
	if (r >= 0 && b->job_fd >= 0)
		r = join_cgroup(b->job_fd, err);
	if (r >= 0) {
		choose_exe(b, pipe, ctx, hdr, &exe);
		r = exec_stub(hdr, planfd, &exe, err);
	}
	close_passed(hdr);
	if (planfd >= 0)
		close(planfd);
out_clear:
	pb_ctx_clear(ctx);
out_free:
	free(ctx);
	free(hdr);
	pb_pipeline_free(own);
	return r;
}
