/* SPDX-License-Identifier: MIT */
/* The load stage alone, on images made here and a hand-made context. */
#include <criterion/criterion.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stages/load/load.h"
#include "tests/common/elfgen.h"
#include "tests/common/fakectx.h"

static struct pb_ctx ctx;
static int fd = -1;

/* The load stage on g, on the fake host; unrandomized: as with randomize_va_space 0. */
static int load_with(struct elfgen *g, bool randomized)
{
	fake_ctx(&ctx);
	if (!randomized)
		ctx.host.randomize_va_space = 0;
	fd = elfgen_fd(g);
	cr_assert_geq(fd, 0);
	fake_parse(&ctx, fd);
	ctx.stage = "load";
	return pb_stage_load(&ctx, NULL);
}

static int load(struct elfgen *g) { return load_with(g, true); }
static int load_unrandomized(struct elfgen *g) { return load_with(g, false); }

static void done(void)
{
	pb_ctx_clear(&ctx);
	if (fd >= 0)
		close(fd);
	fd = -1;
}

static void assert_step(size_t i, enum pb_step_kind kind, uint64_t addr, uint64_t len, int prot)
{
	const struct pb_step *s;

	cr_assert_lt(i, ctx.plan.nsteps);
	s = &ctx.plan.steps[i];
	cr_assert_eq(s->kind, kind, "step %zu is %s", i, pb_step_kind_name(s->kind));
	cr_assert_eq(s->addr, addr, "step %zu at 0x%llx", i, (unsigned long long)s->addr);
	cr_assert_eq(s->len, len, "step %zu len 0x%llx", i, (unsigned long long)s->len);
	cr_assert_eq(s->prot, prot, "step %zu prot %d", i, s->prot);
	cr_assert_str_eq(s->stage, "load");
}

TestSuite(load, .fini = done);

Test(load, static_exec_like_the_kernel)
{
	struct elfgen g;

	elfgen_static_exec(&g, 0);
	cr_assert_eq(load(&g), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.plan.nsteps, 4);
	assert_step(0, PB_STEP_MAP_FILE, 0x400000, 0x1000, PROT_READ | PROT_EXEC);
	cr_assert_eq(ctx.plan.steps[0].off, 0);
	assert_step(1, PB_STEP_MAP_FILE, 0x401000, 0x1000, PROT_READ | PROT_WRITE);
	cr_assert_eq(ctx.plan.steps[1].off, 0x1000);
	assert_step(2, PB_STEP_ZERO, 0x401010, 0xff0, PROT_READ | PROT_WRITE);
	assert_step(3, PB_STEP_MAP_ANON, 0x402000, 0x1000, PROT_READ | PROT_WRITE);
	cr_assert_eq(ctx.exec_bias, 0);
	cr_assert_eq(ctx.entry, 0x400800);
	cr_assert_eq(ctx.mm.start_code, 0x400000);
	cr_assert_eq(ctx.mm.end_code, 0x401000);
	cr_assert_eq(ctx.mm.start_data, 0x401000);
	cr_assert_eq(ctx.mm.end_data, 0x401010);
	cr_assert(pb_aspace_busy(&ctx.as, 0x400000, 0x403000, NULL));
}

Test(load, static_pie_goes_top_down_below_the_vdso)
{
	struct elfgen g;

	elfgen_static_pie(&g, 0);
	cr_assert_eq(load(&g), 0, "%s", ctx.err.msg);
	/* the highest free place below mmap_top: right under [vvar] */
	cr_assert_eq(ctx.exec_bias, FAKE_VDSO - 0x6000 - 0x3000);
	assert_step(0, PB_STEP_RESERVE, ctx.exec_bias, 0x3000, PROT_NONE);
	assert_step(1, PB_STEP_MAP_FILE, ctx.exec_bias, 0x1000, PROT_READ | PROT_EXEC);
	cr_assert_eq(ctx.entry, ctx.exec_bias + 0x800);
}

Test(load, static_pie_honours_the_largest_p_align)
{
	struct elfgen g;

	elfgen_static_pie(&g, 0);
	g.ph[1].p_align = 0x200000;
	g.ph[1].p_vaddr = g.ph[1].p_paddr = 0x201000;
	cr_assert_eq(load(&g), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.exec_bias % 0x200000, 0);
	/* the hole between the segments is released from the reservation */
	assert_step(0, PB_STEP_RESERVE, ctx.exec_bias, 0x203000, PROT_NONE);
	assert_step(2, PB_STEP_RELEASE, ctx.exec_bias + 0x1000, 0x200000, PROT_NONE);
}

Test(load, collision_is_an_error_naming_the_taker)
{
	struct elfgen g;

	elfgen_static_exec(&g, 0);
	fake_ctx(&ctx);
	pb_aspace_take(&ctx.as, 0x402000, 0x403000, "something else");
	fd = elfgen_fd(&g);
	fake_parse(&ctx, fd);
	ctx.stage = "load";
	cr_assert_eq(pb_stage_load(&ctx, NULL), -EINVAL);
	cr_assert_eq(ctx.err.code, PB_ELOAD);
	cr_assert_str_eq(ctx.err.stage, "load");
	cr_assert(strstr(ctx.err.msg, "something else"), "%s", ctx.err.msg);
	cr_assert_eq(ctx.plan.nsteps, 0);
}

Test(load, interpreter_without_resolver_is_loader_missing)
{
	struct elfgen g;

	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/lib/ld-test.so");
	cr_assert_eq(load(&g), -EINVAL);
	cr_assert_eq(ctx.err.code, PB_ELOADER_MISSING);
	cr_assert(strstr(ctx.err.msg, "/lib/ld-test.so"), "%s", ctx.err.msg);
	cr_assert_eq(ctx.plan.nsteps, 0);
}

Test(load, needs_parse_first)
{
	fake_ctx(&ctx);
	ctx.stage = "load";
	cr_assert_eq(pb_stage_load(&ctx, NULL), -EINVAL);
	cr_assert_eq(ctx.err.code, PB_EINVAL);
}

Test(load, read_only_bss_is_zeroed_then_anonymous_rw)
{
	struct elfgen g;

	elfgen_static_exec(&g, 0);
	g.ph[1].p_flags = PF_R;
	cr_assert_eq(load(&g), 0, "%s", ctx.err.msg);
	assert_step(2, PB_STEP_ZERO, 0x401010, 0xff0, PROT_READ);
	assert_step(3, PB_STEP_MAP_ANON, 0x402000, 0x1000, PROT_READ | PROT_WRITE);
}

Test(load, brk_without_randomization_is_page_aligned_end)
{
	struct elfgen g;

	elfgen_static_exec(&g, 0);
	cr_assert_eq(load_unrandomized(&g), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.start_brk, 0x403000);
	cr_assert_eq(ctx.mm.brk, 0x403000);
}

Test(load, brk_randomized_within_a_gigabyte)
{
	struct elfgen g;

	for (int i = 0; i < 20; i++) {
		elfgen_static_exec(&g, 0);
		cr_assert_eq(load(&g), 0);
		cr_assert_geq(ctx.start_brk, 0x404000);
		cr_assert_lt(ctx.start_brk, 0x404000 + (1ull << 30));
		cr_assert_eq(ctx.start_brk % 4096, 0);
		done();
	}
}

Test(load, static_pie_brk_moves_to_elf_et_dyn_base)
{
	struct elfgen g;

	elfgen_static_pie(&g, 0);
	cr_assert_eq(load_unrandomized(&g), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.start_brk, 0x555555555000);
}

Test(load, seeded_plans_are_identical)
{
	struct elfgen g;
	struct pb_plan first;
	uint64_t brk;

	elfgen_static_exec(&g, 0);
	fake_ctx(&ctx);
	pb_rng_seed(&ctx.rng, 42);
	fd = elfgen_fd(&g);
	fake_parse(&ctx, fd);
	cr_assert_eq(pb_stage_load(&ctx, NULL), 0);
	first = ctx.plan;
	first.steps = malloc(first.nsteps * sizeof(*first.steps));
	memcpy(first.steps, ctx.plan.steps, first.nsteps * sizeof(*first.steps));
	brk = ctx.start_brk;
	done();
	fake_ctx(&ctx);
	pb_rng_seed(&ctx.rng, 42);
	fd = elfgen_fd(&g);
	fake_parse(&ctx, fd);
	cr_assert_eq(pb_stage_load(&ctx, NULL), 0);
	cr_assert_eq(ctx.plan.nsteps, first.nsteps);
	for (size_t i = 0; i < first.nsteps; i++)
		cr_assert_eq(ctx.plan.steps[i].addr, first.steps[i].addr);
	cr_assert_eq(ctx.start_brk, brk);
	free(first.steps);
}

Test(load, below_mmap_min_addr_is_refused)
{
	struct elfgen g;

	elfgen_static_exec(&g, 0);
	for (unsigned i = 0; i < 2; i++) { /* move the image to address 0 */
		g.ph[i].p_vaddr -= 0x400000;
		g.ph[i].p_paddr -= 0x400000;
	}
	g.eh.e_entry -= 0x400000;
	cr_assert_eq(load(&g), -EINVAL);
	cr_assert_eq(ctx.err.code, PB_ELOAD);
	cr_assert(strstr(ctx.err.msg, "mmap_min_addr"), "%s", ctx.err.msg);
}
