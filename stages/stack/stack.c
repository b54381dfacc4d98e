/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <sys/mman.h>

#include "stages/stack/stack.h"

/* x86_64: STACK_TOP, STACK_RND_MASK (16 GiB of pages), stack_expand. */
#define STACK_TOP 0x7ffffffff000ull
#define STACK_RND_MASK 0x3fffffull
/* Below the stub's first sp, the kernel made at most its 128 KiB expansion. */
#define STUB_STACK_BELOW_SP (256ull << 10)

static uint64_t random_top(struct pb_ctx *ctx)
{
	uint64_t top = STACK_TOP;

	if (pb_host_randomizes(&ctx->host)) {
		top -= (pb_rng_u64(&ctx->rng) & STACK_RND_MASK) << 12;
		/* setup_arg_pages: PAGE_ALIGN(arch_align_stack(top)) */
		top = PB_PAGE_ALIGN((top - pb_rng_u64(&ctx->rng) % 8192) & ~15ull);
	}
	return top;
}

/* One page; the args stage grows it to the kernel's extent once it knows the strings. */
static int place_new_stack(struct pb_ctx *ctx, int prot)
{
	uint64_t size = PB_PAGE_SIZE, top = 0;
	int r;

	if (ctx->host.stack_end) {
		/*
		 * The stub's own kernel stack goes first (the stub runs on a
		 * stack of its own): with ASLR off (setarch -R, gdb) it sits
		 * where the program's must go, at STACK_TOP, and a seeded
		 * placement must not depend on where the kernel put it.
		 */
		uint64_t lo = PB_PAGE_START(ctx->host.sp0) - STUB_STACK_BELOW_SP;
		r = pb_ctx_step(ctx, PB_STEP_UNMAP, lo, ctx->host.stack_end - lo, PROT_NONE,
				"stub's kernel stack");
		if (r < 0)
			return r;
		pb_aspace_release(&ctx->as, lo, ctx->host.stack_end);
	}
	for (int tries = 0; tries < 16; tries++) {
		top = random_top(ctx);
		if (!pb_aspace_busy(&ctx->as, top - size, top, NULL))
			break;
		top = 0;
	}
	if (!top)
		return pb_fail(ctx, PB_ENOMEM, "no room for the stack below 0x%llx", STACK_TOP);
	r = pb_ctx_step(ctx, PB_STEP_MAP_ANON, top - size, size, prot, "stack");
	if (r < 0)
		return r;
	ctx->plan.steps[r].flags |= PB_STEP_GROWSDOWN;
	pb_aspace_take(&ctx->as, top - size, top, "stack");
	ctx->stack_top = top;
	ctx->stack_lo = top - size;
	ctx->stack_placed = true;
	return 0;
}

int pb_stage_stack(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	const char *placement = pb_opt_str(opts, "placement", "auto");
	int prot = PROT_READ | PROT_WRITE;
	bool reuse;
	int r;

	if (!ctx->exec_parsed)
		return pb_fail(ctx, PB_EINVAL, "no parsed program (the parse stage must run first)");
	if (ctx->exec.stack_flags & PF_X)
		prot |= PROT_EXEC;
	if (strcmp(placement, "kernel") == 0) {
		if (!ctx->host.stack_end)
			return pb_fail(ctx, PB_EINVAL, "placement: kernel, but there is no process stack to reuse");
		reuse = true;
	} else if (strcmp(placement, "planned") == 0) {
		reuse = false;
	} else if (strcmp(placement, "auto") == 0) {
		reuse = ctx->host.stack_end && !ctx->rng.seeded;
	} else {
		return pb_fail(ctx, PB_EINVAL, "placement must be auto, kernel or planned, not '%s'", placement);
	}
	if (!reuse)
		return place_new_stack(ctx, prot);
	ctx->stack_top = ctx->host.stack_end;
	ctx->stack_lo = PB_PAGE_START(ctx->host.sp0);
	ctx->stack_placed = true;
	if (prot & PROT_EXEC) {
		r = pb_ctx_step(ctx, PB_STEP_PROTECT, ctx->stack_lo, ctx->stack_top - ctx->stack_lo,
				prot, "executable stack (PT_GNU_STACK PF_X)");
		if (r < 0)
			return r;
		ctx->plan.steps[r].flags |= PB_STEP_GROWSDOWN;
	}
	return 0;
}
