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
