/* SPDX-License-Identifier: MIT */
/* The pipeline loader and runner, with the built-in stages and stub stages. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "pipeline/pipeline.h"
#include "tests/common/elfgen.h"
#include "tests/common/fakectx.h"
#include "tests/common/json.h"
#include "tests/common/proc.h"

static struct pb_pipeline *load(const char *text, struct pb_registry *reg, struct pb_error *err)
{
	struct pb_pipeline *p = NULL;

	pb_pipeline_load_text(text, strlen(text), "test.yaml", reg, 0, &p, err);
	return p;
}

static struct pb_pipeline *load_flags(const char *text, uint64_t flags, struct pb_error *err)
{
	struct pb_pipeline *p = NULL;

	pb_pipeline_load_text(text, strlen(text), "test.yaml", NULL, flags, &p, err);
	return p;
}

static void assert_error(const char *text, const char *want)
{
	struct pb_error err;
	struct pb_pipeline *p = load(text, NULL, &err);

	cr_assert_null(p, "loaded, expected: %s", want);
	cr_assert_eq(err.code, PB_EINVAL, "%s", err.msg);
	cr_assert_str_eq(err.stage, "pipeline");
	cr_assert(strstr(err.msg, want), "got: %s\nwant: %s", err.msg, want);
}

#define MIN "  - parse\n  - load\n  - stack\n  - args\n"

Test(loader, minimal_and_defaults)
{
	struct pb_error err;
	struct pb_pipeline *p = load("stages: [parse, load, stack, args]\n", NULL, &err);

	cr_assert_not_null(p, "%s", err.msg);
	cr_assert_eq(p->n, 4);
	cr_assert_str_eq(p->stages[3].def->name, "args");
	cr_assert_eq(p->trace, PB_TRACE_OFF);
	pb_pipeline_free(p);
}

Test(loader, unknown_stage_with_line_and_column)
{
	assert_error("pipeline: x\nstages:\n  - parse\n  - frobnicate\n", "test.yaml:4:5: unknown stage 'frobnicate'; hint: known stages are binfmt, script, parse");
}

Test(loader, unknown_option)
{
	assert_error("stages:\n  - parse: {strict: true, speed: 11}\n  - load\n  - stack\n  - args\n",
		     "test.yaml:2:27: stage parse has no option 'speed'; hint: its options are: strict");
}

Test(loader, wrong_type)
{
	assert_error("stages:\n  - parse: {strict: maybe}\n  - load\n  - stack\n  - args\n",
		     "test.yaml:2:21: option strict wants true or false, not 'maybe'");
}

Test(loader, value_not_allowed)
{
	assert_error("stages:\n  - parse\n  - vdso: {policy: sometimes}\n  - load\n  - stack\n  - args\n",
		     "test.yaml:3:20: option policy must be one of system, none, custom, not 'sometimes'");
	assert_error("stages:\n  - parse\n  - reserve: {range: 5-3}\n" MIN, "test.yaml:3:22: option range: '5-3' is not valid");
}

Test(loader, order_and_required)
{
	assert_error("stages:\n  - parse\n  - load\n  - args\n  - stack\n",
		     "test.yaml:4:5: stage args must come after stack; hint: move stack up");
	assert_error("stages:\n  - load\n  - parse\n  - stack\n  - args\n", "test.yaml:2:5: stage load must come after parse");
	assert_error("stages: [parse, load, stack]\n", "the pipeline has no args stage");
	assert_error("stages: [parse, parse, load, stack, args]\n", "test.yaml:1:17: stage parse appears twice");
}

Test(loader, shapes)
{
	assert_error("- parse\n", "test.yaml:1:1: a pipeline file is a mapping");
	assert_error("stages: parse\n", "test.yaml:1:9: stages must be a list");
	assert_error("stages:\n  - parse: [1, 2]\n", "test.yaml:2:12: the options of parse must be a mapping");
	assert_error("stages:\n  - {parse: {}, load: {}}\n", "test.yaml:2:5: a stage is a name or a one-key mapping");
	assert_error("stages: [parse, load, stack, args]\ncolour: blue\n", "test.yaml:2:1: unknown key 'colour'");
	assert_error("stages: [parse, load, stack, args]\ntrace: loud\n", "test.yaml:2:8: trace must be false, text or json");
	assert_error("stages: [parse, load, stack, args]\nseed: abc\n", "test.yaml:2:7: seed wants a number");
}

Test(loader, malformed_yaml_is_an_error_with_position)
{
	assert_error("stages: [parse, load\n", "test.yaml:2:1: did not find expected ',' or ']'");
	assert_error("stages:\n  - parse\n - load\n", "test.yaml:3:2:");
	assert_error("stages: *nowhere\n", "test.yaml:1:9:");
	assert_error("", "a pipeline file is a mapping");
}

Test(loader, anchors_aliases_comments)
{
	struct pb_error err;
	struct pb_pipeline *p = load("# a comment\n"
				     "lax: &lax {strict: false}   # shared options\n"
				     "stages:\n"
				     "  - parse: *lax\n"
				     "  - interp: *lax\n"
				     "  - load\n  - stack\n  - args\n",
				     NULL, &err);

	/* "lax" is not a known key: anchors live under known keys only */
	cr_assert_null(p);
	p = load("stages:\n"
		 "  - parse: &lax {strict: false}   # shared options\n"
		 "  - interp: *lax\n"
		 "  - load\n  - stack\n  - args\n",
		 NULL, &err);
	cr_assert_not_null(p, "%s", err.msg);
	cr_assert_eq(p->stages[1].opts.n, 1);
	cr_assert_str_eq(p->stages[1].opt[0].key, "strict");
	cr_assert_eq(p->stages[1].opt[0].b, false);
	pb_pipeline_free(p);
}

Test(loader, garbage_never_crashes)
{
	static const char set[] = "stages:[]{}-,:parse load &*!#'\"\n \t\\x";
	char buf[256];
	struct pb_error err;
	unsigned seed = 12345;

	for (int round = 0; round < 2000; round++) {
		size_t len = (seed = seed * 1103515245 + 12345) % sizeof(buf);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			buf[i] = set[(seed >> 16) % (sizeof(set) - 1)];
		}
		struct pb_pipeline *p = NULL;
		if (pb_pipeline_load_text(buf, len, "fuzz.yaml", NULL, 0, &p, &err) == 0)
			pb_pipeline_free(p);
		else
			cr_assert(strncmp(err.msg, "fuzz.yaml:", 10) == 0 || err.code != PB_EINVAL, "%s", err.msg);
	}
}

Test(loader, shipped_files_are_valid)
{
	static const char *const files[] = {"pipelines/default.yaml", "pipelines/sanitizer.yaml",
					    "pipelines/debug.yaml", "pipelines/novdso.yaml"};
	struct pb_pipeline *p;
	struct pb_error err;

	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(pb_pipeline_load_file(files[i], NULL, 0, &p, &err), 0, "%s", err.msg);
		pb_pipeline_free(p);
	}
	cr_assert_eq(pb_pipeline_load_file("pipelines/nope.yaml", NULL, 0, &p, &err), -ENOENT);
}

Test(loader, default_file_is_the_compiled_in_default)
{
	struct pb_pipeline *file, *builtin;
	struct pb_error err;

	cr_assert_eq(pb_pipeline_load_file("pipelines/default.yaml", NULL, 0, &file, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_pipeline_default(&builtin), 0);
	cr_assert_eq(file->n, builtin->n);
	for (size_t i = 0; i < file->n; i++) {
		cr_assert_str_eq(file->stages[i].def->name, builtin->stages[i].def->name);
		cr_assert_eq(file->stages[i].opts.n, 0);
		cr_assert_eq(builtin->stages[i].opts.n, 0);
	}
	cr_assert_eq(file->trace, builtin->trace);
	cr_assert_eq(file->seeded, builtin->seeded);
	pb_pipeline_free(file);
	pb_pipeline_free(builtin);
}

/* ---- the runner, with stub stages ---- */

static char order[64];

static int stub_a(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	strcat(order, "a");
	return 0;
}

static int stub_b(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	strcat(order, pb_opt_bool(opts, "fail", false) ? "B" : "b");
	return pb_opt_bool(opts, "fail", false) ? pb_fail(ctx, PB_EINVAL, "b was told to fail") : 0;
}

static const struct pb_opt_schema b_opts[] = {{"fail", PB_OPT_BOOL, NULL, NULL, "fail"}, {0}};
static const char *const b_after[] = {"a", NULL};

static struct pb_registry *stub_registry(void)
{
	struct pb_registry *reg = pb_registry_new();
	struct pb_stage_def a = {"a", stub_a, "stub a", NULL, NULL, false};
	struct pb_stage_def b = {"b", stub_b, "stub b", b_opts, b_after, false};

	cr_assert_eq(pb_registry_add_def(reg, &a), 0);
	cr_assert_eq(pb_registry_add_def(reg, &b), 0);
	return reg;
}

static struct pb_pipeline *stub_pipeline(const char *stages)
{
	char text[512];
	struct pb_error err;
	struct pb_pipeline *p;

	snprintf(text, sizeof(text), "stages: [%s]\n", stages);
	p = load(text, stub_registry(), &err);
	cr_assert_not_null(p, "%s", err.msg);
	return p;
}

Test(runner, runs_in_order_and_names_the_failing_stage)
{
	struct pb_pipeline *p = stub_pipeline("a, b, parse, load, stack, args");
	struct pb_pipeline *q;
	struct pb_error err;
	struct pb_ctx ctx;

	order[0] = 0;
	fake_ctx(&ctx);
	cr_assert_eq(pb_pipeline_run(p, &ctx, PB_TRACE_OFF, NULL), -EBADF, "parse has no fd: it fails, after a and b");
	cr_assert_str_eq(order, "ab");
	cr_assert_str_eq(ctx.err.stage, "parse");
	pb_ctx_clear(&ctx);
	pb_pipeline_free(p);

	q = load("stages:\n  - a\n  - b: {fail: true}\n  - parse\n  - load\n  - stack\n  - args\n", stub_registry(), &err);
	cr_assert_not_null(q, "%s", err.msg);
	order[0] = 0;
	fake_ctx(&ctx);
	cr_assert_eq(pb_pipeline_run(q, &ctx, PB_TRACE_OFF, NULL), -EINVAL);
	cr_assert_str_eq(order, "aB", "nothing runs after a failure");
	cr_assert_str_eq(ctx.err.stage, "b");
	cr_assert_str_eq(ctx.err.msg, "b was told to fail");
	pb_ctx_clear(&ctx);
	pb_pipeline_free(q);
}

Test(runner, stub_stage_order_rules_apply)
{
	struct pb_error err;
	struct pb_pipeline *p = load("stages: [b, a, parse, load, stack, args]\n", stub_registry(), &err);

	cr_assert_null(p);
	cr_assert(strstr(err.msg, "stage b must come after a"), "%s", err.msg);
}

/* A real program through a pipeline with tracing; every trace line is JSON. */
static void run_traced(const char *yaml, enum pb_trace how, char **ret_trace, struct pb_ctx *ctx,
		       struct pb_elf *dummy)
{
	struct pb_error err;
	struct pb_pipeline *p = load(yaml, NULL, &err);
	static char *const argv[] = {"prog", NULL};
	size_t len = 0;
	FILE *f = open_memstream(ret_trace, &len);

	(void)dummy;
	cr_assert_not_null(p, "%s", err.msg);
	fake_ctx(ctx);
	ctx->exec_fd = open("build/tests/helpers/pbhelper-static", O_RDONLY | O_CLOEXEC);
	ctx->argv = argv;
	ctx->argc = 1;
	pb_rng_seed(&ctx->rng, 5);
	cr_assert_eq(pb_pipeline_run(p, ctx, how, f), 0, "%s: %s", ctx->err.stage, ctx->err.msg);
	fclose(f);
	pb_pipeline_free(p);
}

Test(runner, json_trace_parses_back)
{
	struct pb_ctx ctx;
	char *trace, *line, *save;
	int lines = 0;

	run_traced("stages: [script, parse, interp, reserve, load, vdso, stack, args]\n", PB_TRACE_JSON, &trace, &ctx,
		   NULL);
	for (line = strtok_r(trace, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++) {
		cr_assert(json_valid(line, strlen(line)), "not JSON: %s", line);
		cr_assert(strncmp(line, "{\"format\":\"procbuilder-trace\",\"format_version\":1,\"stage\":\"", 58) == 0 &&
			  strstr(line, "\"ns\":"), "%s", line);
	}
	cr_assert_eq(lines, 8);
	free(trace);
	close(ctx.exec_fd);
	pb_ctx_clear(&ctx);
}

Test(runner, per_stage_trace_and_text)
{
	struct pb_ctx ctx;
	char *trace;

	run_traced("stages:\n  - parse\n  - load: {trace: text}\n  - stack\n  - args\n", PB_TRACE_OFF, &trace, &ctx, NULL);
	cr_assert(strncmp(trace, "[load] done in ", 15) == 0, "%s", trace);
	cr_assert(strstr(trace, "map-file") && strstr(trace, "program PT_LOAD[0]"), "%s", trace);
	cr_assert_null(strstr(trace, "[parse]"), "only load is traced: %s", trace);
	free(trace);
	close(ctx.exec_fd);
	pb_ctx_clear(&ctx);
}

/* The plans from pipelines/default.yaml and the compiled-in default are the same. */
Test(runner, default_file_and_builtin_plan_identically)
{
	struct pb_pipeline *file, *builtin;
	struct pb_ctx a, b;
	struct pb_error err;
	static char *const argv[] = {"/bin/true", NULL};

	cr_assert_eq(pb_pipeline_load_file("pipelines/default.yaml", NULL, 0, &file, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_pipeline_default(&builtin), 0);
	for (int i = 0; i < 2; i++) {
		struct pb_ctx *c = i ? &b : &a;
		fake_ctx(c);
		c->exec_fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
		c->argv = argv;
		c->argc = 1;
		pb_rng_seed(&c->rng, 77);
		cr_assert_eq(pb_pipeline_run(i ? builtin : file, c, PB_TRACE_OFF, NULL), 0, "%s", c->err.msg);
	}
	cr_assert_eq(a.plan.nsteps, b.plan.nsteps);
	cr_assert_gt(a.plan.nsteps, 5);
	for (size_t i = 0; i < a.plan.nsteps; i++) {
		cr_assert_eq(a.plan.steps[i].kind, b.plan.steps[i].kind);
		cr_assert_eq(a.plan.steps[i].addr, b.plan.steps[i].addr);
		cr_assert_eq(a.plan.steps[i].len, b.plan.steps[i].len);
	}
	cr_assert_eq(a.plan.data_len, b.plan.data_len);
	cr_assert_eq(memcmp(a.plan.data, b.plan.data, a.plan.data_len), 0);
	for (int i = 0; i < 2; i++) {
		struct pb_ctx *c = i ? &b : &a;
		close(c->exec_fd);
		pb_ctx_clear(c);
	}
	pb_pipeline_free(file);
	pb_pipeline_free(builtin);
}

Test(plugins, loaded_from_the_yaml)
{
	char path[4096], yaml[8192];
	struct pb_error err;
	struct pb_pipeline *p;

	cr_assert_not_null(realpath("build/examples/extra-reserve.so", path));
	snprintf(yaml, sizeof(yaml),
		 "plugins: [%s]\nstages:\n  - parse\n  - extra-reserve: {range: 100000000-200000000}\n  - load\n  - stack\n  - args\n",
		 path);
	p = load(yaml, NULL, &err);
	cr_assert_not_null(p, "%s", err.msg);
	cr_assert_str_eq(p->stages[1].def->name, "extra-reserve");
	pb_pipeline_free(p);
	snprintf(yaml, sizeof(yaml), "plugins: [/nonexistent/plugin.so]\nstages: [parse, load, stack, args]\n");
	p = load(yaml, NULL, &err);
	cr_assert_null(p);
	cr_assert(strstr(err.msg, "test.yaml:1:11: plugin /nonexistent/plugin.so:"), "%s", err.msg);
	snprintf(yaml, sizeof(yaml), "plugins: [/lib/x86_64-linux-gnu/libbsd.so.0]\nstages: [parse, load, stack, args]\n");
	p = load(yaml, NULL, &err);
	cr_assert_null(p);
	cr_assert(strstr(err.msg, "exports no pb_plugin_abi"), "%s", err.msg);
}

/*
 * Plugins only when asked. The test plugin (tests/plugins/marker.c) creates
 * $PB_TEST_PLUGIN_MARKER from its constructor: that file exists exactly when
 * the plugin's code ran. Each test has a fresh directory for it.
 */
struct marker_case {
	char dir[32], yaml[64], marker[64];
	char so[4096];
};

#define MARKER_STAGES "stages:\n  - parse\n  - marker\n  - load\n  - stack\n  - args\n"

/* p.yaml in a fresh directory: "pipeline: m", "plugins: [the marker plugin]" (its path at 2:11), stages. */
static void marker_case_init(struct marker_case *c, const char *stages)
{
	char text[8192];
	FILE *f;

	snprintf(c->dir, sizeof(c->dir), "/tmp/pb-marker-XXXXXX");
	cr_assert_not_null(mkdtemp(c->dir));
	snprintf(c->yaml, sizeof(c->yaml), "%s/p.yaml", c->dir);
	snprintf(c->marker, sizeof(c->marker), "%s/marker", c->dir);
	cr_assert_eq(setenv("PB_TEST_PLUGIN_MARKER", c->marker, 1), 0);
	cr_assert_not_null(realpath("build/tests/plugins/marker.so", c->so));
	snprintf(text, sizeof(text), "pipeline: m\nplugins: [%s]\n%s", c->so, stages);
	f = fopen(c->yaml, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

static void marker_case_cleanup(struct marker_case *c)
{
	unlink(c->yaml);
	unlink(c->marker);
	cr_assert_eq(rmdir(c->dir), 0, "%s", strerror(errno));
}

static bool marker_written(const struct marker_case *c)
{
	return access(c->marker, F_OK) == 0;
}

Test(plugins, refused_by_load_opts)
{
	struct pb_pipeline_opts opts = {.sz = sizeof(opts), .flags = PB_PIPELINE_NO_PLUGINS};
	struct pb_pipeline *p = NULL;
	struct marker_case c;
	struct pb_error err;
	char want[4300];

	marker_case_init(&c, MARKER_STAGES);
	cr_assert_eq(pb_pipeline_load_opts(c.yaml, &opts, &p, &err), -EINVAL);
	cr_assert_null(p);
	cr_assert_not(marker_written(&c), "the plugin was loaded");
	cr_assert_eq(err.code, PB_EINVAL);
	cr_assert_str_eq(err.stage, "pipeline");
	snprintf(want, sizeof(want), "%s:2:11: plugin %s refused: plugins are turned off for this pipeline", c.yaml, c.so);
	cr_assert(strncmp(err.msg, want, strlen(want)) == 0, "got: %s\nwant: %s", err.msg, want);

	/* the same file, plugins allowed: loaded, and its constructor ran */
	opts.flags = 0;
	cr_assert_eq(pb_pipeline_load_opts(c.yaml, &opts, &p, &err), 0, "%s", err.msg);
	cr_assert(marker_written(&c));
	cr_assert_str_eq(p->stages[1].def->name, "marker");
	pb_pipeline_free(p);
	marker_case_cleanup(&c);
}

static int own_stage(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	return 0;
}

/* The caller's own stages (opts.reg) are its code, not a file's: allowed with plugins refused. */
Test(plugins, refused_but_the_callers_stages_stay)
{
	struct pb_stage_def def = {"own", own_stage, "the caller's", NULL, NULL, false};
	struct pb_pipeline_opts opts = {.sz = sizeof(opts), .flags = PB_PIPELINE_NO_PLUGINS};
	char path[] = "/tmp/pb-own-XXXXXX";
	const char *text = "stages: [parse, own, load, stack, args]\n";
	struct pb_pipeline *p = NULL;
	struct marker_case c;
	struct pb_error err;

	cr_assert_eq(temp_file(path, text, strlen(text), 0644), 0);
	opts.reg = pb_registry_create();
	cr_assert_eq(pb_registry_add(opts.reg, &def), 0);
	cr_assert_eq(pb_pipeline_load_opts(path, &opts, &p, &err), 0, "%s", err.msg);
	cr_assert_str_eq(p->stages[1].def->name, "own");
	pb_pipeline_free(p);
	unlink(path);
	/* refused, the registry is taken over all the same (ASan: no leak) */
	marker_case_init(&c, "stages: [parse, own, load, stack, args]\n");
	opts.reg = pb_registry_create();
	cr_assert_eq(pb_registry_add(opts.reg, &def), 0);
	cr_assert_eq(pb_pipeline_load_opts(c.yaml, &opts, &p, &err), -EINVAL);
	cr_assert(strstr(err.msg, "refused"), "%s", err.msg);
	cr_assert_not(marker_written(&c));
	marker_case_cleanup(&c);
}

/* libbpf-style opts: a shorter struct reads as zeros past its sz, unknown bits and fields must be 0. */
Test(plugins, load_opts_are_checked)
{
	struct {
		struct pb_pipeline_opts o;
		uint64_t newer;		/* a field of a later procbuilder */
	} big = {.o = {.sz = sizeof(big)}, .newer = 1};
	struct pb_pipeline_opts opts = {.sz = sizeof(opts)};
	struct pb_pipeline *p = NULL;
	struct marker_case c;
	struct pb_error err;

	marker_case_init(&c, MARKER_STAGES);
	cr_assert_eq(pb_pipeline_load_opts(c.yaml, &big.o, &p, &err), -EINVAL);
	cr_assert(strstr(err.msg, "bad pb_pipeline_opts"), "%s", err.msg);
	opts.flags = 1u << 7;
	cr_assert_eq(pb_pipeline_load_opts(c.yaml, &opts, &p, &err), -EINVAL);
	cr_assert(strstr(err.msg, "unknown flags"), "%s", err.msg);
	opts.sz = 0;
	cr_assert_eq(pb_pipeline_load_opts(c.yaml, &opts, &p, &err), -EINVAL);
	cr_assert_null(p);
	cr_assert_not(marker_written(&c));
	/* a newer caller's struct with its new field zero is fine */
	big.newer = 0;
	big.o.flags = PB_PIPELINE_NO_PLUGINS;
	cr_assert_eq(pb_pipeline_load_opts(c.yaml, &big.o, &p, &err), -EINVAL);
	cr_assert(strstr(err.msg, "refused"), "%s", err.msg);
	/* an older caller's, without flags: they read as 0 (here: plugins load), whatever lies beyond sz */
	opts = (struct pb_pipeline_opts){.sz = offsetof(struct pb_pipeline_opts, flags), .flags = PB_PIPELINE_NO_PLUGINS};
	cr_assert_eq(pb_pipeline_load_opts(c.yaml, &opts, &p, &err), 0, "%s", err.msg);
	cr_assert(marker_written(&c));
	pb_pipeline_free(p);
	marker_case_cleanup(&c);
}

/* check's way (PB_PIPELINE_SKIP_PLUGINS): nothing loaded, the rest checked, what is left noted, never run. */
Test(plugins, skipped_for_check)
{
	struct pb_pipeline *p = NULL;
	struct marker_case c;
	struct pb_error err;
	struct pb_ctx ctx;
	char text[8192];

	marker_case_init(&c, "stages:\n  - parse\n  - marker: {any: thing}\n  - load\n  - stack\n  - args\n");
	cr_assert_eq(pb_pipeline_load_file(c.yaml, NULL, PB_PIPELINE_SKIP_PLUGINS, &p, &err), 0, "%s", err.msg);
	cr_assert_not(marker_written(&c), "the plugin was loaded");
	cr_assert_eq(p->n, 4);
	cr_assert_eq(p->nskipped_plugins, 1);
	cr_assert_str_eq(p->skipped_plugins[0].name, c.so);
	cr_assert_eq(p->skipped_plugins[0].line, 2);
	cr_assert_eq(p->skipped_plugins[0].col, 11);
	cr_assert_eq(p->nunchecked_stages, 1);
	cr_assert_str_eq(p->unchecked_stages[0].name, "marker");
	cr_assert_eq(p->unchecked_stages[0].line, 5);
	cr_assert_eq(p->unchecked_stages[0].col, 5);
	fake_ctx(&ctx);
	cr_assert_eq(pb_pipeline_run(p, &ctx, PB_TRACE_OFF, NULL), -EINVAL, "a pipeline missing its plugins' stages ran");
	cr_assert(strstr(ctx.err.msg, "loaded without its plugins, for checking only"), "%s", ctx.err.msg);
	pb_ctx_clear(&ctx);
	pb_pipeline_free(p);
	marker_case_cleanup(&c);

	/* not an excuse for typos when no plugin is named, nor for a stage named twice */
	p = load_flags("stages: [parse, marker, load, stack, args]\n", PB_PIPELINE_SKIP_PLUGINS, &err);
	cr_assert_null(p);
	cr_assert(strstr(err.msg, "test.yaml:1:17: unknown stage 'marker'"), "%s", err.msg);
	snprintf(text, sizeof(text), "plugins: [%s]\nstages: [parse, marker, load, marker, stack, args]\n", c.so);
	p = load_flags(text, PB_PIPELINE_SKIP_PLUGINS, &err);
	cr_assert_null(p);
	cr_assert(strstr(err.msg, "test.yaml:2:31: stage marker appears twice"), "%s", err.msg);
	/* refusing wins over skipping */
	p = load_flags(text, PB_PIPELINE_SKIP_PLUGINS | PB_PIPELINE_NO_PLUGINS, &err);
	cr_assert_null(p);
	cr_assert(strstr(err.msg, "test.yaml:1:11: plugin /"), "%s", err.msg);
	cr_assert(strstr(err.msg, "refused"), "%s", err.msg);
}

/* Through the public API: a stage swapped for another implementation by name. */
static int fake_vdso(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	ctx->vdso_base = 0x1234000;
	return 0;
}

Test(registry, public_api_swaps_a_stage)
{
	struct pb_registry *reg = pb_registry_create();
	struct pb_stage_def swapped = {"vdso", fake_vdso, "a vdso stage of our own", NULL, NULL, false};
	char path[] = "/tmp/pb-swap-XXXXXX";
	const char *text = "stages: [parse, load, vdso, stack, args]\n";
	struct pb_pipeline *p;
	struct pb_error err;
	struct pb_ctx ctx;
	static char *const argv[] = {"p", NULL};

	cr_assert_eq(temp_file(path, text, strlen(text), 0644), 0);
	cr_assert_eq(pb_registry_add(reg, &swapped), 0);
	cr_assert_eq(pb_pipeline_load_with(path, reg, &p, &err), 0, "%s", err.msg);
	fake_ctx(&ctx);
	ctx.exec_fd = open("build/tests/helpers/pbhelper-static", O_RDONLY | O_CLOEXEC);
	ctx.argv = argv;
	ctx.argc = 1;
	cr_assert_eq(pb_pipeline_run(p, &ctx, PB_TRACE_OFF, NULL), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.vdso_base, 0x1234000, "our vdso stage ran");
	close(ctx.exec_fd);
	pb_ctx_clear(&ctx);
	pb_pipeline_free(p);
	unlink(path);
}

/* A definition without a name or a function is refused, never looked up (a NULL name crashed). */
Test(registry, a_nameless_or_empty_stage_is_einval)
{
	struct pb_registry *reg = pb_registry_create();
	struct pb_stage_def nameless = {NULL, fake_vdso, "x", NULL, NULL, false};
	struct pb_stage_def empty = {"", fake_vdso, "x", NULL, NULL, false};
	struct pb_stage_def no_fn = {"x", NULL, "x", NULL, NULL, false};

	cr_assert_eq(pb_registry_add(reg, &nameless), -EINVAL);
	cr_assert_eq(pb_registry_add(reg, &empty), -EINVAL);
	cr_assert_eq(pb_registry_add(reg, &no_fn), -EINVAL);
	cr_assert_eq(pb_registry_add(reg, NULL), -EINVAL);
	cr_assert_eq(pb_registry_add(NULL, &no_fn), -EINVAL);
	pb_registry_destroy(reg);
}

/* Bounded input: a pipeline file is a regular file of at most 1 MiB; anything else is one clear error at once. */
Test(loader, only_regular_files_of_bounded_size, .timeout = 10)
{
	char dir[] = "/tmp/pb-fifo-XXXXXX", fifo[64], big[] = "/tmp/pb-big-XXXXXX";
	struct pb_pipeline *p = NULL;
	struct pb_error err;
	char *text = malloc(PB_PIPELINE_MAX_BYTES + 2);
	int fd;

	cr_assert_eq(pb_pipeline_load("/dev/zero", &p, &err), -EINVAL);
	cr_assert(strstr(err.msg, "/dev/zero: not a regular file"), "%s", err.msg);
	cr_assert_str_eq(err.stage, "pipeline");
	cr_assert(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/f", dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(pb_pipeline_load(fifo, &p, &err), -EINVAL, "a FIFO with no writer: refused, not waited on");
	unlink(fifo);
	rmdir(dir);
	memset(text, '#', PB_PIPELINE_MAX_BYTES + 1);
	fd = mkstemp(big);
	cr_assert_eq(write(fd, text, PB_PIPELINE_MAX_BYTES + 1), PB_PIPELINE_MAX_BYTES + 1);
	close(fd);
	cr_assert_eq(pb_pipeline_load(big, &p, &err), -E2BIG);
	cr_assert(strstr(err.msg, "a pipeline file is at most 1048576"), "%s", err.msg);
	unlink(big);
	free(text);
	cr_assert_null(p);
}
