/* SPDX-License-Identifier: MIT */
#include "core/mapping.h"
#include "stages/load/load.h"

/* fs/binfmt_elf.c and arch/x86: ELF_ET_DYN_BASE, mmap_rnd_bits, brk range. */
#define ELF_ET_DYN_BASE 0x555555554aaaull
#define MMAP_RND_BITS 28
#define BRK_RND_RANGE (1ull << 30)

static uint64_t mmap_rnd(struct pb_ctx *ctx)
{
	if (!pb_host_randomizes(&ctx->host))
		return 0;
	return (pb_rng_u64(&ctx->rng) & ((1ull << MMAP_RND_BITS) - 1)) << 12;
}

static int choose_exec_bias(struct pb_ctx *ctx, uint64_t *ret_bias)
{
	const struct pb_elf *e = &ctx->exec;
	uint64_t first_vaddr = e->lo, bias;

	if (e->type == ET_EXEC) {
		*ret_bias = 0;
		return 0;
	}
	if (!ctx->has_interp)
		return pb_place_topdown(ctx, e, "program", ret_bias);
	bias = ELF_ET_DYN_BASE + mmap_rnd(ctx);
	bias &= ~(e->max_align - 1);
	*ret_bias = PB_PAGE_START(bias - first_vaddr);
	return 0;
}

/* fs/binfmt_elf.c end of load_elf_binary: brk, moved for static PIE, then randomized. */
static uint64_t choose_brk(struct pb_ctx *ctx)
{
	uint64_t brk = PB_PAGE_ALIGN(ctx->exec.elf_brk + ctx->exec_bias);
	bool moved = false;

	if (ctx->exec.type == ET_DYN && !ctx->has_interp) {
		brk = PB_PAGE_ALIGN(ELF_ET_DYN_BASE);
		moved = true;
	}
	if (pb_host_randomizes(&ctx->host) && ctx->host.randomize_va_space >= 2) {
		if (!moved)
			brk += PB_PAGE_SIZE;
		brk += (pb_rng_u64(&ctx->rng) % (BRK_RND_RANGE >> 12)) << 12;
	}
	return brk;
}

int pb_stage_load(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	const struct pb_elf *e = &ctx->exec;
	uint64_t bias;
	int r;

	if (!ctx->exec_parsed)
		return pb_fail(ctx, PB_EINVAL, "no parsed program (the parse stage must run first)");
	if (e->interp && !ctx->has_interp)
		return pb_fail(ctx, PB_ELOADER_MISSING,
			       "the program needs the interpreter %s but no interpreter was resolved",
			       e->interp);
	r = choose_exec_bias(ctx, &bias);
	if (r < 0)
		return r;
	if (bias + e->lo < ctx->host.mmap_min_addr) /* the kernel: EPERM after the point of no return */
		return pb_fail(ctx, PB_ELOAD, "the program starts at 0x%llx, below vm.mmap_min_addr (0x%llx)",
			       (unsigned long long)(bias + e->lo), (unsigned long long)ctx->host.mmap_min_addr);
	r = pb_map_elf(ctx, e, bias, ctx->exec_fd, "program");
	if (r < 0)
		return r;
	ctx->exec_bias = bias;
	ctx->entry = bias + e->entry;
	if (ctx->has_interp) {
		uint64_t ibias;
		r = pb_place_topdown(ctx, &ctx->interp, "interpreter", &ibias);
		if (r < 0)
			return r;
		r = pb_map_elf(ctx, &ctx->interp, ibias, ctx->interp_fd, "interpreter");
		if (r < 0)
			return r;
		ctx->interp_bias = ibias;
		ctx->entry = ibias + ctx->interp.entry;
	}
	ctx->start_brk = choose_brk(ctx);
	ctx->mm.start_code = bias + e->start_code;
	ctx->mm.end_code = bias + e->end_code;
	ctx->mm.start_data = bias + e->start_data;
	ctx->mm.end_data = bias + e->end_data;
	ctx->mm.start_brk = ctx->mm.brk = ctx->start_brk;
	ctx->loaded = true;
	return 0;
}
