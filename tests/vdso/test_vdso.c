/* SPDX-License-Identifier: MIT */
/* The vdso stage alone, on hand-made contexts. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <unistd.h>

#include "stages/vdso/vdso.h"
#include "tests/common/elfgen.h"
#include "tests/common/fakectx.h"

static struct pb_ctx ctx;

static void setup(void)
{
	fake_ctx(&ctx);
	ctx.host.maps[0] = (struct pb_vma){FAKE_VDSO - 0x6000, FAKE_VDSO - 0x2000, "[vvar]"};
	ctx.host.maps[1] = (struct pb_vma){FAKE_VDSO - 0x2000, FAKE_VDSO, "[vvar_vclock]"};
	ctx.host.maps[2] = (struct pb_vma){FAKE_VDSO, FAKE_VDSO + 0x2000, "[vdso]"};
	ctx.host.nmaps = 3;
	ctx.vdso_base = 0;
	ctx.stage = "vdso";
}
static void teardown(void)
{
	if (ctx.vdso_fd >= 0)
		close(ctx.vdso_fd);
	pb_ctx_clear(&ctx);
}
TestSuite(vdso, .init = setup, .fini = teardown);

static int run(const char *policy)
{
	struct pb_opt o = {.key = "policy", .type = PB_OPT_STR, .s = policy};
	struct pb_stage_opts opts = {.sz = sizeof(opts), .v = &o, .n = policy ? 1 : 0};

	return pb_stage_vdso(&ctx, &opts);
}

Test(vdso, system_keeps_the_kernels)
{
	cr_assert_eq(run(NULL), 0);
	cr_assert_eq(ctx.vdso_base, FAKE_VDSO);
	cr_assert_eq(ctx.plan.nsteps, 0);
}

Test(vdso, none_unmaps_vvar_and_vdso)
{
	cr_assert_eq(run("none"), 0);
	cr_assert_eq(ctx.vdso_base, 0);
	cr_assert_eq(ctx.plan.nsteps, 3);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ctx.plan.steps[i].kind, PB_STEP_UNMAP);
	cr_assert_not(pb_aspace_busy(&ctx.as, FAKE_VDSO - 0x6000, FAKE_VDSO + 0x2000, NULL));
}

Test(vdso, custom_image_is_mapped_and_named)
{
	struct elfgen g;

	elfgen_static_pie(&g, 0);
	ctx.vdso_fd = elfgen_fd(&g);
	cr_assert_eq(run("custom"), 0, "%s", ctx.err.msg);
	cr_assert_neq(ctx.vdso_base, 0);
	cr_assert_eq(ctx.plan.steps[3].kind, PB_STEP_RESERVE, "after the three unmaps");
	cr_assert_eq(ctx.plan.steps[3].addr, ctx.vdso_base);
	cr_assert_eq(ctx.plan.steps[4].kind, PB_STEP_MAP_FILE);
	cr_assert_str_eq(ctx.plan.files[ctx.plan.steps[4].file].name, "vDSO");
}

Test(vdso, custom_not_elf_is_invalid_file_header)
{
	char path[] = "/tmp/pb-vdso-XXXXXX";

	ctx.vdso_fd = mkstemp(path);
	cr_assert_eq(write(ctx.vdso_fd, "garbage, not an ELF file at all!", 32), 32);
	unlink(path);
	cr_assert_eq(run("custom"), -ENOEXEC);
	cr_assert_eq(ctx.err.code, PB_EPARSE);
	cr_assert_str_eq(ctx.err.stage, "vdso");
	cr_assert(strstr(ctx.err.msg, "invalid file header"), "%s", ctx.err.msg);
	cr_assert_eq(ctx.plan.nsteps, 0, "nothing unmapped before the image is known good");
}

Test(vdso, custom_without_fd_is_ebadf)
{
	cr_assert_eq(run("custom"), -EBADF);
}

Test(vdso, caller_choice_and_bad_policy)
{
	ctx.vdso_policy = "none";
	cr_assert_eq(run("system"), 0);
	cr_assert_eq(ctx.vdso_base, 0, "pb_set_vdso wins over the pipeline option");
	ctx.vdso_policy = NULL;
	cr_assert_eq(run("sometimes"), -EINVAL);
}

/* The run parked outside the mmap area (above mmap_base, beside the stub) comes back as execve maps it. */
static void park_run_above_the_area(void)
{
	uint64_t parked = FAKE_MMAP_TOP + 0x22000;

	pb_aspace_release(&ctx.as, FAKE_VDSO - 0x6000, FAKE_VDSO + 0x2000);
	ctx.host.maps[0] = (struct pb_vma){parked, parked + 0x4000, "[vvar]"};
	ctx.host.maps[1] = (struct pb_vma){parked + 0x4000, parked + 0x6000, "[vvar_vclock]"};
	ctx.host.maps[2] = (struct pb_vma){parked + 0x6000, parked + 0x8000, "[vdso]"};
	ctx.host.vdso_base = parked + 0x6000;
	pb_aspace_take(&ctx.as, parked, parked + 0x8000, "[vdso]");
}

static void assert_moved_to(uint64_t lo)
{
	uint64_t parked = FAKE_MMAP_TOP + 0x22000;

	cr_assert_eq(ctx.plan.nsteps, 3);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(ctx.plan.steps[i].kind, PB_STEP_MOVE);
	cr_assert_eq(ctx.plan.steps[0].off, parked);
	cr_assert_eq(ctx.plan.steps[0].addr, lo);
	cr_assert_eq(ctx.plan.steps[0].len, 0x4000);
	cr_assert_eq(ctx.plan.steps[1].addr, lo + 0x4000);
	cr_assert_eq(ctx.plan.steps[2].off, parked + 0x6000);
	cr_assert_eq(ctx.plan.steps[2].addr, lo + 0x6000);
	cr_assert_eq(ctx.vdso_base, lo + 0x6000, "AT_SYSINFO_EHDR follows it");
	cr_assert(pb_aspace_busy(&ctx.as, lo, lo + 0x8000, NULL));
	cr_assert_not(pb_aspace_busy(&ctx.as, parked, parked + 0x8000, NULL));
}

/* load_elf_binary: ld.so first, from mmap_base down, then the vDSO right below it. */
Test(vdso, system_goes_right_below_the_interpreter)
{
	park_run_above_the_area();
	pb_aspace_take(&ctx.as, FAKE_MMAP_TOP - 0x35000, FAKE_MMAP_TOP, "interpreter");
	cr_assert_eq(run(NULL), 0, "%s", ctx.err.msg);
	assert_moved_to(FAKE_MMAP_TOP - 0x35000 - 0x8000);
}

/* A static program (ET_EXEC): the vDSO is the first mapping of the area. */
Test(vdso, system_first_at_mmap_base_without_interpreter)
{
	park_run_above_the_area();
	cr_assert_eq(run(NULL), 0, "%s", ctx.err.msg);
	assert_moved_to(FAKE_MMAP_TOP - 0x8000);
}

/* setarch -L: bottom-up, right above ld.so. */
Test(vdso, system_right_above_the_interpreter_bottom_up)
{
	park_run_above_the_area();
	ctx.host.bottom_up = true;
	ctx.host.mmap_top = 0x2aaaaaaab000;
	pb_aspace_take(&ctx.as, 0x2aaaaaaab000, 0x2aaaaaaab000 + 0x35000, "interpreter");
	cr_assert_eq(run(NULL), 0, "%s", ctx.err.msg);
	assert_moved_to(0x2aaaaaaab000 + 0x35000);
}
