/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdio.h>

#include "procbuilder.h"
#include "core/ctx.h"

/* pb_stage_fn, struct pb_opt_schema and struct pb_stage_def: procbuilder/stage.h (via core/ctx.h). */

#define PB_REGISTRY_MAX 64
#define PB_REGISTRY_MAX_PLUGINS 8

/* The stages a pipeline can name: the built-in ones plus those added. */
struct pb_registry {
	struct pb_stage_def defs[PB_REGISTRY_MAX];
	size_t n;
	void *plugins[PB_REGISTRY_MAX_PLUGINS];	/* dlopen handles */
	size_t nplugins;
};

/* A new registry holding the built-in stages; NULL on no memory. */
struct pb_registry *pb_registry_new(void);
void pb_registry_free(struct pb_registry *reg);
/*
 * Adds (or, by the same name, replaces) a stage; 0, -EINVAL or -E2BIG. The
 * definition is copied; what it points to (name, opts, after) must outlive
 * the registry.
 */
int pb_registry_add_def(struct pb_registry *reg, const struct pb_stage_def *def);
const struct pb_stage_def *pb_registry_find(const struct pb_registry *reg, const char *name);
/*
 * Plugins are shared objects that export
 *   const unsigned pb_plugin_abi = PB_STAGE_ABI_VERSION;
 *   const struct pb_stage_def pb_plugin_stages[] = {{...}, {0}};
 * built against procbuilder/stage.h alone (docs/pipeline.md).
 */
/* Whether range is a reserve stage range (low-half, none, asan, tsan, msan, START-END): 0 or -EINVAL. */
int pb_registry_check_reserve_range(const char *range);

/* Loads a plugin and adds its stages. 0 or a negative errno with err filled. */
int pb_registry_load_plugin(struct pb_registry *reg, const char *path, struct pb_error *err);

#define PB_PIPELINE_MAX_STAGES 32
#define PB_PIPELINE_MAX_BYTES (1 << 20)	/* a pipeline file's size: 32 stages need a few KiB */
#define PB_STAGE_MAX_OPTS 8

enum pb_trace { PB_TRACE_OFF, PB_TRACE_TEXT, PB_TRACE_JSON };

struct pb_pipeline_stage {
	const struct pb_stage_def *def;
	struct pb_opt opt[PB_STAGE_MAX_OPTS];
	struct pb_stage_opts opts;
	int trace;		/* enum pb_trace, or -1: the pipeline's */
	unsigned line, col;	/* where the file names it (1-based), 0 if compiled in */
};

/* Something a file names, where it names it (1-based): a plugin not loaded, a stage not checked. */
struct pb_pipeline_mention {
	const char *name;	/* owned by the pipeline (strings) */
	unsigned line, col;
};

struct pb_pipeline {
	char name[64];
	char file[256];
	struct pb_pipeline_stage stages[PB_PIPELINE_MAX_STAGES];
	size_t n;
	enum pb_trace trace;
	char trace_file[256];	/* "" = stderr */
	bool seeded;
	uint64_t seed;
	bool hold;		/* debugging: hand the process over stopped */
	struct pb_registry *reg;	/* owned */
	char **strings;		/* option values, owned */
	size_t nstrings;
	/* PB_PIPELINE_SKIP_PLUGINS: the plugins it names, not loaded, and the stages left unchecked */
	struct pb_pipeline_mention skipped_plugins[PB_REGISTRY_MAX_PLUGINS];
	size_t nskipped_plugins;
	struct pb_pipeline_mention unchecked_stages[PB_PIPELINE_MAX_STAGES];
	size_t nunchecked_stages;
};

/* The compiled-in default pipeline (the same as pipelines/default.yaml). 0 or -ENOMEM. */
int pb_pipeline_default(struct pb_pipeline **ret);

/*
 * For procbuilder check only, so not in procbuilder.h: load no plugin, but
 * check what can be checked without running one (each path names a regular
 * file) and record it in skipped_plugins; a stage no registered definition
 * has is then recorded in unchecked_stages (its options unread) instead of
 * refused. Stages a plugin would add are missing from such a pipeline, so
 * pb_pipeline_run refuses it. PB_PIPELINE_NO_PLUGINS wins over it.
 */
#define PB_PIPELINE_SKIP_PLUGINS (1ull << 63)

/*
 * Loads a pipeline file (or text, with name for messages). reg: the stages
 * it may name (NULL: the built-in ones); the pipeline takes it over. flags:
 * enum pb_pipeline_flags and PB_PIPELINE_SKIP_PLUGINS. Every problem is an
 * error "FILE:LINE:COL: ...; hint: ..." (code PB_EINVAL, stage "pipeline")
 * before anything runs.
 */
int pb_pipeline_load_file(const char *path, struct pb_registry *reg, uint64_t flags, struct pb_pipeline **ret,
			  struct pb_error *err);
int pb_pipeline_load_text(const char *text, size_t len, const char *name, struct pb_registry *reg, uint64_t flags,
			  struct pb_pipeline **ret, struct pb_error *err);
/* pb_pipeline_free is public (procbuilder.h). */

/* Checks stage order and required stages; 0 or -EINVAL with err filled. */
int pb_pipeline_validate(const struct pb_pipeline *p, struct pb_error *err);

/*
 * Runs every stage in order on ctx, tracing as the pipeline says (trace
 * overrides it when not PB_TRACE_OFF; out is where, NULL: the pipeline's
 * file or stderr), then releases reservations not kept. Stops at the first
 * failure with ctx->err naming the stage. 0 or that stage's negative errno;
 * -EINVAL at once for a pipeline that PB_PIPELINE_SKIP_PLUGINS left
 * without its plugins.
 */
int pb_pipeline_run(const struct pb_pipeline *p, struct pb_ctx *ctx, enum pb_trace trace, FILE *out);

/* Prints the registered stages and their options. */
void pb_registry_print(const struct pb_registry *reg, FILE *f);
