/* SPDX-License-Identifier: MIT */
/*
 * DOC: the stage SDK (include/procbuilder/stage.h). What a stage built
 * outside procbuilder can do with the context, exported from the library
 * (and from the CLI, which links it statically) instead of copied into each
 * plugin. Built-in stages call the same functions for options and failures,
 * which is also what brings this file into every program that runs stages.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "core/ctx.h"

bool pb_opt_bool(const struct pb_stage_opts *opts, const char *key, bool def)
{
	const struct pb_opt *o = pb_opt_find(opts, key);
	return o && o->type == PB_OPT_BOOL ? o->b : def;
}

int64_t pb_opt_int(const struct pb_stage_opts *opts, const char *key, int64_t def)
{
	const struct pb_opt *o = pb_opt_find(opts, key);
	return o && o->type == PB_OPT_INT ? o->i : def;
}

const char *pb_opt_str(const struct pb_stage_opts *opts, const char *key, const char *def)
{
	const struct pb_opt *o = pb_opt_find(opts, key);
	return o && o->type == PB_OPT_STR ? o->s : def;
}

int pb_fail(struct pb_ctx *ctx, enum pb_code code, const char *fmt, ...)
{
	char msg[sizeof(ctx->err.msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pb_err_set(&ctx->err, ctx->stage, code, 0, "%s", msg);
}

static uint64_t mmap_min(const struct pb_ctx *ctx)
{
	return ctx->host.mmap_min_addr ? ctx->host.mmap_min_addr : PB_PAGE_SIZE;
}

static uint64_t mmap_top(const struct pb_ctx *ctx)
{
	return ctx->host.mmap_top ? ctx->host.mmap_top : 0x7f0000000000ull;
}

/* Whether the stage that sets field has run. */
static bool field_known(const struct pb_ctx *ctx, enum pb_ctx_field field)
{
	switch (field) {
	case PB_CTX_EXEC_TYPE: case PB_CTX_EXEC_ENTRY: case PB_CTX_EXEC_LO: case PB_CTX_EXEC_HI:
	case PB_CTX_EXEC_ALIGN: case PB_CTX_HAS_INTERP:
		return ctx->exec_parsed;
	case PB_CTX_INTERP_LO: case PB_CTX_INTERP_HI:
		return ctx->has_interp;
	case PB_CTX_EXEC_BIAS: case PB_CTX_INTERP_BIAS: case PB_CTX_ENTRY:
		return ctx->loaded;
	case PB_CTX_STACK_TOP:
		return ctx->stack_placed;
	case PB_CTX_SP:
		return ctx->sp != 0;
	default:
		return true;
	}
}

static uint64_t field_value(const struct pb_ctx *ctx, enum pb_ctx_field field)
{
	switch (field) {
	case PB_CTX_EXEC_TYPE: return ctx->exec.type;
	case PB_CTX_EXEC_ENTRY: return ctx->exec.entry;
	case PB_CTX_EXEC_LO: return ctx->exec.lo;
	case PB_CTX_EXEC_HI: return ctx->exec.hi;
	case PB_CTX_EXEC_ALIGN: return ctx->exec.max_align;
	case PB_CTX_HAS_INTERP: return ctx->has_interp;
	case PB_CTX_INTERP_LO: return ctx->interp.lo;
	case PB_CTX_INTERP_HI: return ctx->interp.hi;
	case PB_CTX_EXEC_BIAS: return ctx->exec_bias;
	case PB_CTX_INTERP_BIAS: return ctx->interp_bias;
	case PB_CTX_ENTRY: return ctx->entry;
	case PB_CTX_VDSO_BASE: return ctx->vdso_base;
	case PB_CTX_STACK_TOP: return ctx->stack_top;
	case PB_CTX_SP: return ctx->sp;
	case PB_CTX_MMAP_MIN: return mmap_min(ctx);
	case PB_CTX_MMAP_TOP: return mmap_top(ctx);
	case PB_CTX_ARGC: return ctx->argc;
	case PB_CTX_ENVC: return ctx->envc;
	default: return 0;
	}
}

int pb_ctx_get(const struct pb_ctx *ctx, enum pb_ctx_field field, uint64_t *ret_value)
{
	if ((unsigned)field >= _PB_CTX_FIELD_MAX)
		return -EINVAL;
	if (!field_known(ctx, field))
		return -ENODATA;
	*ret_value = field_value(ctx, field);
	return 0;
}

int pb_ctx_set(struct pb_ctx *ctx, enum pb_ctx_field field, uint64_t value)
{
	if (field != PB_CTX_ENTRY) {
		pb_fail(ctx, PB_EINVAL, "context field %d is read-only for stages", (int)field);
		return -EPERM;
	}
	if (!ctx->loaded)
		return pb_fail(ctx, PB_EINVAL, "the entry point is set by load, which has not run yet");
	ctx->entry = value;
	return 0;
}

const char *pb_ctx_name(const struct pb_ctx *ctx, enum pb_ctx_name which)
{
	switch (which) {
	case PB_NAME_PROGRAM: return ctx->exec_name;
	case PB_NAME_EXECFN: return ctx->execfn;
	case PB_NAME_COMM: return ctx->comm;
	case PB_NAME_INTERP: return ctx->exec_parsed ? ctx->exec.interp : NULL;
	default: return NULL;
	}
}

const char *pb_ctx_arg(const struct pb_ctx *ctx, size_t i)
{
	return i < ctx->argc ? ctx->argv[i] : NULL;
}

const char *pb_ctx_env(const struct pb_ctx *ctx, size_t i)
{
	return i < ctx->envc ? ctx->envp[i] : NULL;
}

int pb_ctx_phdrs(const struct pb_ctx *ctx, bool interp, const Elf64_Phdr **ret_phdrs, size_t *ret_n)
{
	const struct pb_elf *elf = interp ? &ctx->interp : &ctx->exec;

	if (!(interp ? ctx->has_interp : ctx->exec_parsed))
		return -ENODATA;
	*ret_phdrs = elf->phdrs;
	*ret_n = elf->phnum;
	return 0;
}

bool pb_ctx_busy(const struct pb_ctx *ctx, uint64_t lo, uint64_t hi, const char **ret_what)
{
	return pb_aspace_busy(&ctx->as, lo, hi, ret_what);
}

int pb_ctx_find_free(struct pb_ctx *ctx, uint64_t size, uint64_t align, uint64_t *ret_addr)
{
	uint64_t a = pb_aspace_find_topdown(&ctx->as, PB_PAGE_ALIGN(size), align, mmap_min(ctx), mmap_top(ctx));

	if (!a)
		return pb_fail(ctx, PB_ENOMEM, "no room for %llu bytes in the address space", (unsigned long long)size);
	*ret_addr = a;
	return 0;
}

uint64_t pb_ctx_random(struct pb_ctx *ctx)
{
	return pb_rng_u64(&ctx->rng);
}

/*
 * The rule every mapping step follows: its range is taken in the model when
 * it is emitted. Without it, plan would succeed and the stub's
 * MAP_FIXED_NOREPLACE would fail at run time, blaming whichever later step
 * landed there. 0, or a negative errno naming what holds the range.
 */
static int take(struct pb_ctx *ctx, const char *op, uint64_t lo, uint64_t len, const char *note)
{
	const char *busy = NULL;
	int r;

	if (!len || PB_PAGE_OFF(lo) || PB_PAGE_OFF(len) || lo < mmap_min(ctx) || len > PB_TASK_SIZE - lo)
		return pb_fail(ctx, PB_EINVAL, "%s 0x%llx+0x%llx (%s): not a page-aligned range of user space", op,
			       (unsigned long long)lo, (unsigned long long)len, note);
	if (pb_aspace_busy(&ctx->as, lo, lo + len, &busy))
		return pb_fail(ctx, PB_ELOAD, "%s 0x%llx-0x%llx (%s) meets %s, already taken in the address space",
			       op, (unsigned long long)lo, (unsigned long long)(lo + len), note, busy);
	r = pb_aspace_take(&ctx->as, lo, lo + len, note);
	return r < 0 ? pb_fail(ctx, PB_ENOMEM, "%s (%s): the address-space model is full", op, note) : 0;
}

int pb_ctx_reserve(struct pb_ctx *ctx, uint64_t lo, uint64_t hi, unsigned flags, const char *note)
{
	/*
	 * While the plan is applied nothing maps in the target but the plan's
	 * own fixed steps, so the planner alone keeps the range free: a
	 * placeholder would count in VmPeak (64 TiB for the low half) and
	 * against RLIMIT_AS, which execve's program does not pay. Only a range
	 * kept until start (for what runs in the target before the program)
	 * is mapped, and not under a finite RLIMIT_AS or when the launcher
	 * says nothing runs there before the program.
	 */
	bool model_only = !(flags & PB_RESERVE_KEEP) || ctx->host.as_rlim.rlim_cur != RLIM_INFINITY ||
			  ctx->reserve_model_only;
	bool keep = (flags & PB_RESERVE_KEEP) && !model_only;
	int r;

	if (ctx->nreservations == PB_MAX_RESERVATIONS)
		return pb_fail(ctx, PB_EINVAL, "more than %d reserved ranges", PB_MAX_RESERVATIONS);
	if (hi <= lo)
		return pb_fail(ctx, PB_EINVAL, "reserve 0x%llx-0x%llx (%s): empty range", (unsigned long long)lo,
			       (unsigned long long)hi, note);
	r = take(ctx, "reserve", lo, hi - lo, note);
	if (r < 0)
		return r;
	if (!model_only) {
		r = pb_ctx_step(ctx, PB_STEP_RESERVE, lo, hi - lo, PROT_NONE, "%s", note);
		if (r < 0) {
			pb_aspace_release(&ctx->as, lo, hi);
			return r;
		}
		if (keep)
			ctx->plan.steps[r].flags |= PB_STEP_KEEP;
	}
	ctx->reservations[ctx->nreservations++] = (struct pb_reservation){lo, hi, keep, model_only};
	return 0;
}

int pb_ctx_map_anon(struct pb_ctx *ctx, uint64_t addr, uint64_t len, int prot, const char *note)
{
	int r;

	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return pb_fail(ctx, PB_EINVAL, "map-anon (%s): prot %#x is not PROT_READ|WRITE|EXEC", note, prot);
	r = take(ctx, "map-anon", addr, len, note);
	if (r < 0)
		return r;
	r = pb_ctx_step(ctx, PB_STEP_MAP_ANON, addr, len, prot, "%s", note);
	if (r < 0) {
		pb_aspace_release(&ctx->as, addr, addr + len);
		return r;
	}
	return 0;
}
