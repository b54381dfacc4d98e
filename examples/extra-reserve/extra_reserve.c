/* SPDX-License-Identifier: MIT */
/*
 * An example stage, built as a plugin: keeps one more address range free
 * while the image is placed, and (with keep) until the program starts. It
 * needs nothing but the installed SDK:
 *
 *   cc -shared -fPIC -o extra-reserve.so extra_reserve.c $(pkg-config --cflags --libs procbuilder)
 *
 * and is used from a pipeline file (the path relative to that file):
 *
 *   plugins: [extra-reserve.so]
 *   stages:
 *     - parse
 *     - extra-reserve: {range: 100000000-200000000, keep: true}
 *     - ...
 */
#include <stdio.h>

#include <procbuilder/stage.h>

static int parse_range(const char *v, unsigned long long *ret_lo, unsigned long long *ret_hi)
{
	int end = 0;

	if (!v || sscanf(v, "%llx-%llx%n", ret_lo, ret_hi, &end) != 2 || v[end])
		return -1;
	return *ret_lo < *ret_hi && !(*ret_lo & 4095) && !(*ret_hi & 4095) ? 0 : -1;
}

static int check_range(const char *v)
{
	unsigned long long lo, hi;

	return parse_range(v, &lo, &hi);
}

/* pb_ctx_reserve refuses a range already taken, naming what holds it, and takes it for the stages after. */
static int extra_reserve(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	unsigned long long lo, hi;

	if (parse_range(pb_opt_str(opts, "range", NULL), &lo, &hi) < 0)
		return pb_fail(ctx, PB_EINVAL, "range START-END (page-aligned hex) is required");
	return pb_ctx_reserve(ctx, lo, hi, pb_opt_bool(opts, "keep", false) ? PB_RESERVE_KEEP : 0,
			      "extra reservation (plugin)");
}

static const struct pb_opt_schema opts[] = {
	{"range", PB_OPT_STR, NULL, check_range, "START-END in page-aligned hex"},
	{"keep", PB_OPT_BOOL, NULL, NULL, "hold it until the program starts"},
	{0},
};

PB_PLUGIN_EXPORT const unsigned pb_plugin_abi = PB_STAGE_ABI_VERSION;
PB_PLUGIN_EXPORT const struct pb_stage_def pb_plugin_stages[] = {
	{"extra-reserve", extra_reserve, "keep one more range free (example plugin)", opts,
	 (const char *const[]){"parse", NULL}, false},
	{0},
};
