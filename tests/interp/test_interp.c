/* SPDX-License-Identifier: MIT */
/* The interp stage alone, on images made here. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <unistd.h>

#include "stages/interp/interp.h"
#include "tests/common/elfgen.h"
#include "tests/common/fakectx.h"

static struct pb_ctx ctx;
static int fd = -1;

static void teardown(void)
{
	pb_ctx_clear(&ctx);
	if (fd >= 0)
		close(fd);
	fd = -1;
}
TestSuite(interp, .fini = teardown);

static int run(struct elfgen *g, const char *resolver)
{
	struct pb_opt o = {.key = "resolver", .type = PB_OPT_STR, .s = resolver};
	struct pb_stage_opts opts = {.sz = sizeof(opts), .v = &o, .n = resolver ? 1 : 0};

	fake_ctx(&ctx);
	fd = elfgen_fd(g);
	fake_parse(&ctx, fd);
	ctx.stage = "interp";
	return pb_stage_interp(&ctx, &opts);
}

Test(interp, static_programs_pass_through)
{
	struct elfgen g;

	elfgen_static_exec(&g, 0);
	cr_assert_eq(run(&g, NULL), 0);
	cr_assert_not(ctx.has_interp);
	cr_assert_eq(ctx.interp_fd, -1);
}

Test(interp, host_resolver_parses_the_interpreter)
{
	struct elfgen g;

	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/lib64/ld-linux-x86-64.so.2");
	cr_assert_eq(run(&g, NULL), 0, "%s", ctx.err.msg);
	cr_assert(ctx.has_interp);
	cr_assert_geq(ctx.interp_fd, 0);
	cr_assert_eq(ctx.interp.type, ET_DYN);
	cr_assert_null(ctx.interp.interp);
}

Test(interp, none_is_loader_missing)
{
	struct elfgen g;

	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/lib64/ld-linux-x86-64.so.2");
	cr_assert_eq(run(&g, "none"), -EINVAL);
	cr_assert_eq(ctx.err.code, PB_ELOADER_MISSING);
	cr_assert_not(ctx.has_interp);
}

Test(interp, caller_choice_wins_over_the_option)
{
	struct elfgen g;

	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/lib64/ld-linux-x86-64.so.2");
	fake_ctx(&ctx);
	fd = elfgen_fd(&g);
	fake_parse(&ctx, fd);
	ctx.interp_resolver = "none";
	cr_assert_eq(pb_stage_interp(&ctx, NULL), -EINVAL);
	cr_assert_eq(ctx.err.code, PB_ELOADER_MISSING);
}

Test(interp, fd_resolver_ignores_pt_interp)
{
	struct elfgen g;
	int ld = open("/lib64/ld-linux-x86-64.so.2", O_RDONLY | O_CLOEXEC);

	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/nonexistent/ld.so");
	fake_ctx(&ctx);
	fd = elfgen_fd(&g);
	fake_parse(&ctx, fd);
	ctx.interp_override_fd = ld;
	cr_assert_eq(pb_stage_interp(&ctx, NULL), 0, "%s", ctx.err.msg);
	cr_assert(ctx.has_interp);
	cr_assert_neq(ctx.interp_fd, ld, "the context owns a duplicate");
	close(ld);
}

Test(interp, fd_resolver_without_fd_is_ebadf)
{
	struct elfgen g;

	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/lib/ld.so");
	cr_assert_eq(run(&g, "fd"), -EBADF);
}

Test(interp, interpreter_that_is_not_elf_is_elibbad)
{
	struct elfgen g;
	char path[] = "/tmp/pb-interp-XXXXXX";
	int t = mkstemp(path);

	cr_assert_eq(write(t, "#!/bin/sh\n", 10), 10);
	fchmod(t, 0755);
	close(t);
	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, path);
	cr_assert_eq(run(&g, "host"), -ELIBBAD);
	cr_assert_eq(ctx.err.code, PB_EINTERP);
	cr_assert_eq(ctx.err.detail, PB_PARSE_TRUNCATED, "10 bytes: shorter than a header");
	cr_assert_str_eq(ctx.err.stage, "interp");
	unlink(path);
}

Test(interp, unknown_resolver_is_invalid)
{
	struct elfgen g;

	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/lib/ld.so");
	cr_assert_eq(run(&g, "telepathy"), -EINVAL);
	cr_assert(strstr(ctx.err.msg, "telepathy"), "%s", ctx.err.msg);
}
