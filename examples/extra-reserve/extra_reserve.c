/* SPDX-License-Identifier: MIT */
/*
 * An example stage, built as a plugin: keeps one more address range free
 * while the image is placed, and (with keep) until the program starts. It
 * links its own copy of core (libpb_core.a), like every stage, and talks to
 * the rest only through struct pb_ctx.
 *
 *   plugins: [extra-reserve.so]
 *   stages:
 *     - parse
 *     - extra-reserve: {range: 100000000-200000000, keep: true}
 *     - ...
 */
#include <stdio.h>
#include <sys/mman.h>

#include "pipeline/pipeline.h"

static int check_range(const char *v)
{
	unsigned long long lo, hi;
	int end = 0;

	return sscanf(v, "%llx-%llx%n", &lo, &hi, &end) == 2 && !v[end] && lo < hi && !(lo & 4095) && !(hi & 4095)
	       ? 0 : -1;
}

static int extra_reserve(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	const char *range = pb_opt_str(opts, "range", NULL);
	unsigned long long lo, hi;
	const char *busy;
	int r;

	if (!range || sscanf(range, "%llx-%llx", &lo, &hi) != 2)
		return pb_fail(ctx, PB_EINVAL, "range START-END is required");
	if (pb_aspace_busy(&ctx->as, lo, hi, &busy))
		return pb_fail(ctx, PB_ELOAD, "0x%llx-0x%llx is already taken by %s", lo, hi, busy);
	if (ctx->nreservations == PB_MAX_RESERVATIONS)
		return pb_fail(ctx, PB_EINVAL, "too many reservations");
	r = pb_ctx_step(ctx, PB_STEP_RESERVE, lo, hi - lo, PROT_NONE, "extra reservation (plugin)");
	if (r < 0)
		return r;
	ctx->reservations[ctx->nreservations++] =
		(struct pb_reservation){.lo = lo, .hi = hi, .keep = pb_opt_bool(opts, "keep", false)};
	pb_aspace_take(&ctx->as, lo, hi, "extra reservation");
	return 0;
}

static const struct pb_opt_schema opts[] = {
	{"range", PB_OPT_STR, NULL, check_range, "START-END in page-aligned hex"},
	{"keep", PB_OPT_BOOL, NULL, NULL, "hold it until the program starts"},
	{0},
};

__attribute__((visibility("default"))) const unsigned pb_plugin_abi = PB_STAGE_ABI;
__attribute__((visibility("default"))) const struct pb_stage_def pb_plugin_stages[] = {
	{"extra-reserve", extra_reserve, "keep one more range free (example plugin)", opts,
	 (const char *const[]){"parse", NULL}, false},
	{0},
};
