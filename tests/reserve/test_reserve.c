/* SPDX-License-Identifier: MIT */
/* The reserve stage alone, on hand-made contexts. */
#include <criterion/criterion.h>
#include <sys/mman.h>

#include "stages/reserve/reserve.h"
#include "tests/common/fakectx.h"

static struct pb_ctx ctx;

static void setup(void)
{
	fake_ctx(&ctx);
	ctx.exec_parsed = true;
	ctx.exec.type = ET_DYN;
	ctx.has_interp = true;
	ctx.stage = "reserve";
}
static void teardown(void) { pb_ctx_clear(&ctx); }
TestSuite(reserve, .init = setup, .fini = teardown);

static int run(const char *range, const char *when, int keep)
{
	struct pb_opt o[3];
	struct pb_stage_opts opts = {.sz = sizeof(opts), .v = o, .n = 0};

	if (range)
		o[opts.n++] = (struct pb_opt){.key = "range", .type = PB_OPT_STR, .s = range};
	if (when)
		o[opts.n++] = (struct pb_opt){.key = "when", .type = PB_OPT_STR, .s = when};
	if (keep >= 0)
		o[opts.n++] = (struct pb_opt){.key = "keep", .type = PB_OPT_BOOL, .b = keep};
	return pb_stage_reserve(&ctx, &opts);
}

Test(reserve, low_half_for_dynamic_programs)
{
	cr_assert_eq(run(NULL, NULL, -1), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.nreservations, 1);
	cr_assert_eq(ctx.reservations[0].lo, 0x1000);
	cr_assert_eq(ctx.reservations[0].hi, 0x400000000000);
	cr_assert_eq(ctx.plan.nsteps, 0, "no placeholder: it would be VmPeak's 64 TiB");
	cr_assert(pb_aspace_busy(&ctx.as, 0x10000000, 0x10001000, NULL), "later stages keep out");
	/* released when the pipeline ends */
	cr_assert_eq(pb_ctx_release_reservations(&ctx), 0);
	cr_assert_eq(ctx.plan.nsteps, 0);
	cr_assert_not(pb_aspace_busy(&ctx.as, 0x10000000, 0x10001000, NULL));
}

Test(reserve, static_programs_by_default_not)
{
	ctx.has_interp = false;
	cr_assert_eq(run(NULL, NULL, -1), 0);
	cr_assert_eq(ctx.plan.nsteps, 0);
	cr_assert_eq(ctx.nreservations, 0);
	cr_assert_eq(run(NULL, "always", -1), 0);
	cr_assert_eq(ctx.nreservations, 1);
}

/* ulimit -s unlimited (mmap_base near 0x1555...) and setarch -L: execve's mmap area is in the low half. */
Test(reserve, low_half_not_where_the_layout_maps)
{
	ctx.host.mmap_top = 0x155555554000;
	cr_assert_eq(run(NULL, NULL, -1), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.nreservations, 0);
	ctx.host.mmap_top = 0x2aaaaaaab000;
	ctx.host.bottom_up = true;
	cr_assert_eq(run(NULL, NULL, -1), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.nreservations, 0);
	cr_assert_eq(run("asan", NULL, -1), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.nreservations, 1, "a sanitizer's range is kept all the same");
}

Test(reserve, et_exec_segments_are_carved_out)
{
	ctx.exec.type = ET_EXEC;
	ctx.exec.lo = 0x400000;
	ctx.exec.hi = 0x600000;
	cr_assert_eq(run(NULL, NULL, -1), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.nreservations, 2);
	cr_assert_eq(ctx.reservations[0].lo, 0x1000);
	cr_assert_eq(ctx.reservations[0].hi, 0x400000);
	cr_assert_eq(ctx.reservations[1].lo, 0x600000);
	cr_assert_eq(ctx.reservations[1].hi, 0x400000000000);
	cr_assert_not(pb_aspace_busy(&ctx.as, 0x400000, 0x600000, NULL), "the load stage places it");
}

Test(reserve, presets_and_explicit_ranges)
{
	uint64_t lo, hi;

	cr_assert_eq(pb_reserve_range("asan", 4096, &lo, &hi), 0);
	cr_assert_eq(lo, 0x7fff8000);
	cr_assert_eq(hi, 0x10007fff8000);
	cr_assert_eq(pb_reserve_range("tsan", 4096, &lo, &hi), 0);
	cr_assert_eq(pb_reserve_range("msan", 4096, &lo, &hi), 0);
	cr_assert_eq(pb_reserve_range("10000-20000", 4096, &lo, &hi), 0);
	cr_assert_eq(lo, 0x10000);
	cr_assert_eq(hi, 0x20000);
	cr_assert_eq(pb_reserve_range("20000-10000", 4096, &lo, &hi), -EINVAL);
	cr_assert_eq(pb_reserve_range("10001-20000", 4096, &lo, &hi), -EINVAL, "page aligned only");
	cr_assert_eq(pb_reserve_range("0-10000", 4096, &lo, &hi), -EINVAL, "not below mmap_min_addr");
	cr_assert_eq(pb_reserve_range("banana", 4096, &lo, &hi), -EINVAL);
}

Test(reserve, keep_survives_the_release)
{
	cr_assert_eq(run("asan", NULL, 1), 0, "%s", ctx.err.msg);
	cr_assert(ctx.plan.steps[0].flags & PB_STEP_KEEP);
	cr_assert_eq(pb_ctx_release_reservations(&ctx), 0);
	cr_assert_eq(ctx.plan.nsteps, 1, "nothing released before start");
}

Test(reserve, bad_options)
{
	cr_assert_eq(run("sideways", NULL, -1), -EINVAL);
	cr_assert_str_eq(ctx.err.stage, "reserve");
	cr_assert_eq(run(NULL, "sometimes", -1), -EINVAL);
	cr_assert(strstr(ctx.err.msg, "sometimes"), "%s", ctx.err.msg);
}

Test(reserve, finite_rlimit_as_keeps_the_range_in_the_model_only)
{
	ctx.host.as_rlim.rlim_cur = 1ull << 30;
	cr_assert_eq(run(NULL, NULL, 1), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.plan.nsteps, 0, "no placeholder to count against RLIMIT_AS");
	cr_assert(pb_aspace_busy(&ctx.as, 0x10000000, 0x10001000, NULL), "the planner still keeps out");
	cr_assert(ctx.reservations[0].model_only);
	cr_assert_not(ctx.reservations[0].keep, "nothing to hold until start");
	cr_assert_eq(pb_ctx_release_reservations(&ctx), 0);
	cr_assert_eq(ctx.plan.nsteps, 0);
	cr_assert_not(pb_aspace_busy(&ctx.as, 0x10000000, 0x10001000, NULL));
}

Test(reserve, the_launchers_model_only_keeps_no_placeholder)
{
	ctx.reserve_model_only = true;
	cr_assert_eq(run(NULL, NULL, 1), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.plan.nsteps, 0, "no placeholder in the target");
	cr_assert(pb_aspace_busy(&ctx.as, 0x10000000, 0x10001000, NULL), "the planner still keeps out");
	cr_assert(ctx.reservations[0].model_only);
	cr_assert_not(ctx.reservations[0].keep);
}
