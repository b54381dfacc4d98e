/* SPDX-License-Identifier: MIT */
/*
 * The stage SDK (procbuilder/stage.h): the ABI version a plugin must carry,
 * the address-space rule on plan steps, plugin paths, the context accessors.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pipeline/pipeline.h"
#include "tests/common/fakectx.h"

#define SDK_ADDR 0x200000000ull

/* Runs text (stages extra ones of reg may be named) on /bin/true in a fake context; returns the run's result. */
static int run_on_true(const char *text, struct pb_registry *reg, struct pb_ctx *ctx)
{
	static char *const argv[] = {"/bin/true", NULL};
	struct pb_pipeline *p = NULL;
	struct pb_error err;
	int r;

	cr_assert_eq(pb_pipeline_load_text(text, strlen(text), "test.yaml", reg, 0, &p, &err), 0, "%s", err.msg);
	fake_ctx(ctx);
	ctx->exec_fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(ctx->exec_fd, 0);
	ctx->argv = argv;
	ctx->argc = 1;
	pb_rng_seed(&ctx->rng, 5);
	r = pb_pipeline_run(p, ctx, PB_TRACE_OFF, NULL);
	pb_pipeline_free(p);
	return r;
}

static void done(struct pb_ctx *ctx)
{
	close(ctx->exec_fd);
	pb_ctx_clear(ctx);
}

static struct pb_registry *registry_with(const char *name, pb_stage_fn fn)
{
	struct pb_registry *reg = pb_registry_new();
	struct pb_stage_def def = {.name = name, .run = fn, .summary = "test stage"};

	cr_assert_not_null(reg);
	cr_assert_eq(pb_registry_add_def(reg, &def), 0);
	return reg;
}

Test(sdk, plugin_of_another_abi_version_refused_with_both_versions)
{
	struct pb_registry *reg = pb_registry_new();
	char so[4096], want[4300], yaml[4200];
	struct pb_pipeline *p = NULL;
	struct pb_error err;

	cr_assert_not_null(realpath("build/tests/plugins/otherabi.so", so));
	cr_assert_eq(pb_registry_load_plugin(reg, so, &err), -EINVAL);
	snprintf(want, sizeof(want), "plugin %s is built for stage ABI version %u, this procbuilder %s has version %u",
		 so, PB_STAGE_ABI_VERSION + 1, PB_VERSION_STRING, PB_STAGE_ABI_VERSION);
	cr_assert(strstr(err.msg, want), "got: %s\nwant: %s", err.msg, want);
	cr_assert_null(pb_registry_find(reg, "otherabi"), "a stage of a refused plugin was added");
	cr_assert_eq(reg->nplugins, 0);
	pb_registry_free(reg);
	/* from a pipeline file: the same, at the plugins: entry */
	snprintf(yaml, sizeof(yaml), "plugins: [%s]\nstages: [parse, load, stack, args]\n", so);
	cr_assert_lt(pb_pipeline_load_text(yaml, strlen(yaml), "test.yaml", NULL, 0, &p, &err), 0);
	cr_assert(strstr(err.msg, "test.yaml:1:11: ") && strstr(err.msg, want), "%s", err.msg);
}

Test(sdk, plugin_with_the_old_size_stamp_refused_as_such)
{
	struct pb_registry *reg = pb_registry_new();
	char so[4096], want[4300];
	struct pb_error err;

	cr_assert_not_null(realpath("build/tests/plugins/oldstamp.so", so));
	cr_assert_eq(pb_registry_load_plugin(reg, so, &err), -EINVAL);
	snprintf(want, sizeof(want), "plugin %s carries the stamp 0x70621b58 of a procbuilder before stage ABI versions", so);
	cr_assert(strstr(err.msg, want), "got: %s\nwant: %s", err.msg, want);
	cr_assert_null(pb_registry_find(reg, "oldstamp"));
	pb_registry_free(reg);
}

/* Maps a page without taking it in the model: what a stage must not do. */
static int rogue(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	int r = pb_ctx_step(ctx, PB_STEP_MAP_ANON, SDK_ADDR, 4096, PROT_READ | PROT_WRITE, "rogue mapping");
	return r < 0 ? r : 0;
}

Test(sdk, mapping_step_outside_the_model_refused_naming_the_stage)
{
	struct pb_ctx ctx;
	int r = run_on_true("stages: [parse, rogue, load, stack, args]\n", registry_with("rogue", rogue), &ctx);

	cr_assert_eq(r, -EINVAL, "a step outside the address-space model was planned: %d", r);
	cr_assert_str_eq(ctx.err.stage, "rogue");
	cr_assert(strstr(ctx.err.msg, "map-anon 0x200000000-0x200001000 rw- (rogue mapping) is not taken in the "
				      "address-space model"), "%s", ctx.err.msg);
	done(&ctx);
}

/* The SDK's way: the call takes what it maps, and a second one on the same page is refused. */
static int polite(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	int r = pb_ctx_map_anon(ctx, SDK_ADDR, 4096, PROT_READ, "polite mapping");

	if (r < 0)
		return r;
	cr_assert(pb_ctx_busy(ctx, SDK_ADDR, SDK_ADDR + 1, NULL), "pb_ctx_map_anon did not take its range");
	return pb_ctx_map_anon(ctx, SDK_ADDR + 4096, 4096, PROT_READ, "second mapping") ?:
	       pb_ctx_map_anon(ctx, SDK_ADDR, 8192, PROT_READ, "overlapping mapping");
}

Test(sdk, sdk_steps_take_their_range_and_refuse_a_taken_one)
{
	struct pb_ctx ctx;
	int r = run_on_true("stages: [parse, polite, load, stack, args]\n", registry_with("polite", polite), &ctx);

	cr_assert_eq(r, -EINVAL);
	cr_assert_eq(ctx.err.code, PB_ELOAD);
	cr_assert_str_eq(ctx.err.stage, "polite");
	cr_assert(strstr(ctx.err.msg, "map-anon 0x200000000-0x200002000 (overlapping mapping) meets polite mapping, "
				      "already taken"), "%s", ctx.err.msg);
	done(&ctx);
}

/* A reservation through the SDK: load places around it, and it is released before the build returns. */
#define GIB (1ull << 30)
#define BELOW_VDSO (FAKE_VDSO - 0x6000)	/* where fake_ctx's [vdso] begins: top-down placement starts below it */

static int reserve_top(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	return pb_ctx_reserve(ctx, BELOW_VDSO - GIB, BELOW_VDSO, 0, "top GiB");
}

/* Kept free by the model alone (no placeholder step: it would be VmPeak's), and free again at the end. */
Test(sdk, reservation_is_placed_around_and_released)
{
	struct pb_ctx ctx;
	int r = run_on_true("stages: [parse, interp, top, load, stack, args]\n", registry_with("top", reserve_top), &ctx);

	cr_assert_eq(r, 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.nreservations, 1);
	cr_assert_eq(ctx.reservations[0].lo, BELOW_VDSO - GIB);
	for (size_t i = 0; i < ctx.plan.nsteps; i++)
		cr_assert(ctx.plan.steps[i].addr != BELOW_VDSO - GIB, "step %zu is a placeholder's", i);
	cr_assert_leq(ctx.interp_bias + ctx.interp.hi, BELOW_VDSO - GIB, "the interpreter is in the reservation");
	cr_assert_not(pb_aspace_busy(&ctx.as, BELOW_VDSO - GIB, BELOW_VDSO - GIB + 4096, NULL), "released");
	done(&ctx);
}

/* What a stage may read and write, through the accessors. */
static int reader(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	uint64_t v;

	cr_assert_eq(pb_ctx_get(ctx, PB_CTX_EXEC_BIAS, &v), 0);
	cr_assert_eq(v, ctx->exec_bias);
	cr_assert_eq(pb_ctx_get(ctx, PB_CTX_SP, &v), -ENODATA, "args has not run");
	cr_assert_eq(pb_ctx_get(ctx, _PB_CTX_FIELD_MAX, &v), -EINVAL);
	cr_assert_eq(pb_ctx_get(ctx, PB_CTX_ARGC, &v), 0);
	cr_assert_eq(v, 1);
	cr_assert_str_eq(pb_ctx_arg(ctx, 0), "/bin/true");
	cr_assert_null(pb_ctx_arg(ctx, 1));
	cr_assert_str_eq(pb_ctx_name(ctx, PB_NAME_INTERP), ctx->exec.interp);
	cr_assert_eq(pb_ctx_set(ctx, PB_CTX_EXEC_BIAS, 0), -EPERM);
	return pb_ctx_set(ctx, PB_CTX_ENTRY, ctx->entry + 1);
}

Test(sdk, context_read_and_written_through_accessors)
{
	struct pb_ctx ctx;
	uint64_t entry;
	int r = run_on_true("stages: [parse, interp, load, reader, stack, args]\n", registry_with("reader", reader), &ctx);

	cr_assert_eq(r, 0, "%s", ctx.err.msg);
	entry = ctx.interp_bias + ctx.interp.entry;
	cr_assert_eq(ctx.entry, entry + 1, "the entry the stage wrote was not kept");
	done(&ctx);
}

/* dlopen would search the library path for a bare name; procbuilder takes it relative to the current directory. */
Test(sdk, plugin_without_a_slash_is_taken_from_the_current_directory)
{
	struct pb_registry *reg = pb_registry_new();
	struct pb_error err;

	cr_assert_eq(chdir("build/tests/plugins"), 0);
	cr_assert_eq(pb_registry_load_plugin(reg, "marker.so", &err), 0, "%s", err.msg);
	cr_assert_not_null(pb_registry_find(reg, "marker"));
	/* a library name the search would have found is not found here */
	cr_assert_lt(pb_registry_load_plugin(reg, "libc.so.6", &err), 0, "libc.so.6 came from the library path");
	cr_assert(strstr(err.msg, "plugin libc.so.6: ./libc.so.6: cannot open"), "%s", err.msg);
	pb_registry_free(reg);
}

/* In a pipeline file a bare name is relative to the file, wherever we run from. */
Test(sdk, plugin_without_a_slash_in_a_file_is_relative_to_the_file)
{
	char dir[] = "/tmp/pb-sdk-XXXXXX", so[4096], link[4200], yaml[4200];
	struct pb_pipeline *p = NULL;
	struct pb_error err;
	FILE *f;

	cr_assert_not_null(realpath("build/tests/plugins/marker.so", so));
	cr_assert_not_null(mkdtemp(dir));
	snprintf(link, sizeof(link), "%s/marker.so", dir);
	cr_assert_eq(symlink(so, link), 0);
	snprintf(yaml, sizeof(yaml), "%s/p.yaml", dir);
	f = fopen(yaml, "w");
	cr_assert_not_null(f);
	fputs("plugins: [marker.so]\nstages: [parse, marker, load, stack, args]\n", f);
	fclose(f);
	cr_assert_eq(chdir("/"), 0);
	cr_assert_eq(pb_pipeline_load_file(yaml, NULL, 0, &p, &err), 0, "%s", err.msg);
	cr_assert_str_eq(p->stages[1].def->name, "marker");
	pb_pipeline_free(p);
	unlink(yaml);
	unlink(link);
	rmdir(dir);
}
