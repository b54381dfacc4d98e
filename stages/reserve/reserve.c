/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "stages/reserve/reserve.h"

/*
 * x86_64 shadow layouts (compiler-rt): ASan's shadow runs from kLowShadowBeg
 * to kHighShadowEnd; TSan's shadow and meta shadow from 0x010000000000 to
 * 0x340000000000; MSan's invalid, shadow and origin ranges below its
 * application range at 0x510000000000.
 */
static const struct {
	const char *name;
	uint64_t lo, hi;
} presets[] = {
	{"low-half", 0, 0x400000000000ull},
	{"asan", 0x00007fff8000ull, 0x10007fff8000ull},
	{"tsan", 0x010000000000ull, 0x340000000000ull},
	{"msan", 0x010000000000ull, 0x510000000000ull},
};

int pb_reserve_range(const char *range, uint64_t min_addr, uint64_t *ret_lo, uint64_t *ret_hi)
{
	unsigned long long lo, hi;
	int end = 0;

	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		if (strcmp(range, presets[i].name) == 0) {
			*ret_lo = presets[i].lo > min_addr ? presets[i].lo : PB_PAGE_ALIGN(min_addr);
			*ret_hi = presets[i].hi;
			return 0;
		}
	}
	if (sscanf(range, "%llx-%llx%n", &lo, &hi, &end) != 2 || range[end] || lo >= hi ||
	    PB_PAGE_OFF(lo) || PB_PAGE_OFF(hi) || hi > PB_TASK_SIZE || lo < min_addr)
		return -EINVAL;
	*ret_lo = lo;
	*ret_hi = hi;
	return 0;
}

/*
 * The default keeps the low half free because the kernel's layout leaves it
 * so; where the layout itself starts its mmap area there (ulimit -s
 * unlimited: mmap_base near 0x1555...; the legacy layout, setarch -L: from
 * 0x2aaa... up), execve puts ld.so and the vDSO there, and so must we.
 */
static bool layout_uses_low_half(const struct pb_ctx *ctx, uint64_t hi)
{
	return ctx->host.mmap_top && (ctx->host.bottom_up || ctx->host.mmap_top <= hi);
}

/* One free piece, kept out of use (core/stage.c says when only by the planner). */
static int add(struct pb_ctx *ctx, uint64_t lo, uint64_t hi, bool keep)
{
	return pb_ctx_reserve(ctx, lo, hi, keep ? PB_RESERVE_KEEP : 0, "reserved range");
}

int pb_stage_reserve(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	const char *range = ctx->reserve_range ? ctx->reserve_range : pb_opt_str(opts, "range", "low-half");
	const char *when = pb_opt_str(opts, "when", "dynamic");
	bool keep = ctx->reserve_keep >= 0 ? ctx->reserve_keep : pb_opt_bool(opts, "keep", false);
	struct pb_reservation pieces[PB_MAX_RESERVATIONS];
	unsigned npieces = 0;
	uint64_t lo, hi, cur;
	bool carved;
	int r = 0;

	if (strcmp(when, "dynamic") != 0 && strcmp(when, "always") != 0)
		return pb_fail(ctx, PB_EINVAL, "when must be dynamic or always, not '%s'", when);
	if (strcmp(range, "none") == 0 || (strcmp(when, "dynamic") == 0 && !ctx->has_interp))
		return 0;
	if (pb_reserve_range(range, ctx->host.mmap_min_addr ? ctx->host.mmap_min_addr : 4096, &lo, &hi) < 0)
		return pb_fail(ctx, PB_EINVAL,
			       "range must be low-half, none, asan, tsan, msan or START-END in page-aligned hex, not '%s'",
			       range);
	if (strcmp(range, "low-half") == 0 && layout_uses_low_half(ctx, hi))
		return 0;
	cur = lo;
	/* An ET_EXEC program's segments sit at fixed addresses: carve them out too. */
	carved = ctx->exec_parsed && ctx->exec.type == ET_EXEC &&
		 pb_aspace_take(&ctx->as, ctx->exec.lo, ctx->exec.hi, "program (fixed)") == 0;
	/* the free pieces of [lo, hi), gathered before add() changes ctx->as */
	for (unsigned i = 0; i < ctx->as.n && cur < hi; i++) {
		const struct pb_aspace_range *t = &ctx->as.r[i];
		if (t->hi <= cur)
			continue;
		if (t->lo >= hi)
			break;
		if (t->lo > cur && npieces < PB_MAX_RESERVATIONS)
			pieces[npieces++] = (struct pb_reservation){.lo = cur, .hi = t->lo};
		cur = t->hi;
	}
	if (cur < hi && npieces < PB_MAX_RESERVATIONS)
		pieces[npieces++] = (struct pb_reservation){.lo = cur, .hi = hi};
	if (carved)
		pb_aspace_release(&ctx->as, ctx->exec.lo, ctx->exec.hi); /* load takes it for real */
	for (unsigned i = 0; i < npieces && r == 0; i++)
		r = add(ctx, pieces[i].lo, pieces[i].hi, keep);
	return r;
}
