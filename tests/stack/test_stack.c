/* SPDX-License-Identifier: MIT */
/* The stack stage alone, on a hand-made context. */
#include <criterion/criterion.h>
#include <sys/mman.h>
#include <sys/personality.h>

#include "stages/stack/stack.h"
#include "tests/common/fakectx.h"

static struct pb_ctx ctx;

static int run(uint32_t stack_flags, const char *placement)
{
	struct pb_opt o = {.key = "placement", .type = PB_OPT_STR, .s = placement};
	struct pb_stage_opts opts = {.sz = sizeof(opts), .v = &o, .n = placement ? 1 : 0};

	ctx.exec_parsed = true;
	ctx.exec.stack_flags = stack_flags;
	ctx.stage = "stack";
	return pb_stage_stack(&ctx, &opts);
}

static void setup(void) { fake_ctx(&ctx); }
static void teardown(void) { pb_ctx_clear(&ctx); }
TestSuite(stack, .init = setup, .fini = teardown);

Test(stack, reuses_the_kernel_stack_by_default)
{
	cr_assert_eq(run(PF_R | PF_W, NULL), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.stack_top, FAKE_STACK_END);
	cr_assert_eq(ctx.plan.nsteps, 0, "nothing to map: the VMA is the kernel's");
	cr_assert(ctx.stack_placed);
}

Test(stack, executable_stack_protects_the_vma)
{
	cr_assert_eq(run(PF_R | PF_W | PF_X, NULL), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.plan.nsteps, 1);
	cr_assert_eq(ctx.plan.steps[0].kind, PB_STEP_PROTECT);
	cr_assert_eq(ctx.plan.steps[0].prot, PROT_READ | PROT_WRITE | PROT_EXEC);
	cr_assert(ctx.plan.steps[0].flags & PB_STEP_GROWSDOWN);
}

Test(stack, seeded_places_a_new_growsdown_stack)
{
	pb_rng_seed(&ctx.rng, 1);
	cr_assert_eq(run(PF_R | PF_W, NULL), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.plan.nsteps, 2);
	cr_assert_eq(ctx.plan.steps[0].kind, PB_STEP_UNMAP, "the stub's stack goes first");
	cr_assert_eq(ctx.plan.steps[0].addr + ctx.plan.steps[0].len, FAKE_STACK_END);
	cr_assert_eq(ctx.plan.steps[1].kind, PB_STEP_MAP_ANON);
	cr_assert(ctx.plan.steps[1].flags & PB_STEP_GROWSDOWN);
	cr_assert_eq(ctx.plan.steps[1].addr + ctx.plan.steps[1].len, ctx.stack_top);
	/* randomize_stack_top: at most 16 GiB + 2 pages below STACK_TOP, page aligned */
	cr_assert_leq(ctx.stack_top, 0x7ffffffff000);
	cr_assert_geq(ctx.stack_top, 0x7ffffffff000 - (0x3fffffull << 12) - 0x2000);
	cr_assert_eq(ctx.stack_top % 4096, 0);
}

Test(stack, no_randomization_is_stack_top)
{
	ctx.host.personality = ADDR_NO_RANDOMIZE;
	cr_assert_eq(run(PF_R | PF_W, "planned"), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.stack_top, 0x7ffffffff000);
}

Test(stack, kernel_placement_needs_a_process)
{
	ctx.host.stack_end = 0;
	cr_assert_eq(run(PF_R | PF_W, "kernel"), -EINVAL);
	cr_assert_eq(ctx.err.code, PB_EINVAL);
	cr_assert_str_eq(ctx.err.stage, "stack");
}

Test(stack, unknown_placement_is_invalid)
{
	cr_assert_eq(run(PF_R | PF_W, "sideways"), -EINVAL);
	cr_assert(strstr(ctx.err.msg, "sideways"), "%s", ctx.err.msg);
}
