/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

typedef int (*pb_stage_fn)(struct pb_ctx *ctx, const struct pb_stage_opts *opts);

/* A stage the runner knows: its name in pipeline files and its entry point. */
struct pb_stage_def {
	const char *name;
	pb_stage_fn run;
	const char *summary;
};

#define PB_PIPELINE_MAX_STAGES 32
#define PB_STAGE_MAX_OPTS 8

struct pb_pipeline_stage {
	const struct pb_stage_def *def;
	struct pb_opt opt[PB_STAGE_MAX_OPTS];
	struct pb_stage_opts opts;
};

struct pb_pipeline {
	char name[32];
	struct pb_pipeline_stage stages[PB_PIPELINE_MAX_STAGES];
	size_t n;
};

/* The stage registered under name, or NULL. */
const struct pb_stage_def *pb_registry_find(const char *name);
/* The registered stages, for listing; *ret_n gets the count. */
const struct pb_stage_def *pb_registry_list(size_t *ret_n);

/* The compiled-in default pipeline. */
void pb_pipeline_default(struct pb_pipeline *p);
/* Appends a stage by name; 0 or -ENOENT/-E2BIG. */
int pb_pipeline_add(struct pb_pipeline *p, const char *name);

/*
 * Runs every stage in order on ctx; stops at the first failure and makes
 * sure ctx->err names the stage. Returns 0 or that stage's negative errno.
 */
int pb_pipeline_run(const struct pb_pipeline *p, struct pb_ctx *ctx);
