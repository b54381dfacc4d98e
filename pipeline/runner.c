/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "pipeline/pipeline.h"

static const char *const default_stages[] = {"script", "parse", "interp", "reserve", "load", "vdso", "stack", "args"};

int pb_pipeline_add(struct pb_pipeline *p, const char *name)
{
	const struct pb_stage_def *def = pb_registry_find(name);

	if (!def)
		return -ENOENT;
	if (p->n == PB_PIPELINE_MAX_STAGES)
		return -E2BIG;
	memset(&p->stages[p->n], 0, sizeof(p->stages[0]));
	p->stages[p->n].def = def;
	p->stages[p->n].opts.sz = sizeof(struct pb_stage_opts);
	p->n++;
	return 0;
}

void pb_pipeline_default(struct pb_pipeline *p)
{
	memset(p, 0, sizeof(*p));
	strcpy(p->name, "default");
	for (size_t i = 0; i < sizeof(default_stages) / sizeof(default_stages[0]); i++)
		pb_pipeline_add(p, default_stages[i]);
}

int pb_pipeline_run(const struct pb_pipeline *p, struct pb_ctx *ctx)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct pb_pipeline_stage *st = &p->stages[i];
		struct pb_stage_opts opts = st->opts;
		int r;

		opts.v = st->opt; /* the copy points at its own options */
		ctx->stage = st->def->name;
		r = st->def->run(ctx, &opts);
		if (r < 0) {
			pb_err_stage(&ctx->err, st->def->name);
			return r;
		}
	}
	ctx->stage = NULL;
	return pb_ctx_release_reservations(ctx);
}
