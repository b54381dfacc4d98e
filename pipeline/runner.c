/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json.h"
#include "pipeline/pipeline.h"

/* The same as pipelines/default.yaml; a test keeps the two equal. */
static const char *const default_stages[] = {"binfmt", "script", "parse", "interp", "reserve", "load", "vdso", "stack", "args"};

int pb_pipeline_default(struct pb_pipeline **ret)
{
	struct pb_pipeline *p = calloc(1, sizeof(*p));

	if (!p || !(p->reg = pb_registry_new())) {
		free(p);
		return -ENOMEM;
	}
	strcpy(p->name, "default");
	strcpy(p->file, "(compiled in)");
	for (size_t i = 0; i < sizeof(default_stages) / sizeof(default_stages[0]); i++) {
		struct pb_pipeline_stage *st = &p->stages[p->n++];
		st->def = pb_registry_find(p->reg, default_stages[i]);
		st->opts.sz = sizeof(st->opts);
		st->trace = -1;
	}
	*ret = p;
	return 0;
}

static int index_of(const struct pb_pipeline *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->stages[i].def->name, name) == 0)
			return (int)i;
	return -1;
}

int pb_pipeline_validate(const struct pb_pipeline *p, struct pb_error *err)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct pb_pipeline_stage *st = &p->stages[i];
		for (const char *const *a = st->def->after; a && *a; a++) {
			int j = index_of(p, *a);
			if (j > (int)i)
				return pb_err_set(err, "pipeline", PB_EINVAL, 0,
						  "%s:%u:%u: stage %s must come after %s; hint: move %s up",
						  p->file, st->line, st->col, st->def->name, *a, *a);
		}
	}
	for (size_t i = 0; i < p->reg->n; i++) {
		if (p->reg->defs[i].required && index_of(p, p->reg->defs[i].name) < 0)
			return pb_err_set(err, "pipeline", PB_EINVAL, 0,
					  "%s:1:1: the pipeline has no %s stage; hint: every pipeline needs parse, load, stack and args",
					  p->file, p->reg->defs[i].name);
	}
	return 0;
}

/* The context fields a trace reports when a stage changes them. */
struct snapshot {
	uint64_t v[12];
};
static const char *const field_names[12] = {
	"exec_bias", "interp_bias", "entry", "start_brk", "vdso_base", "stack_top",
	"sp", "has_interp", "argc", "reservations", "exec_fd", "exec_type",
};

static void snap(const struct pb_ctx *c, struct snapshot *s)
{
	uint64_t v[12] = {c->exec_bias, c->interp_bias, c->entry, c->start_brk, c->vdso_base, c->stack_top,
			  c->sp, c->has_interp, c->argc, c->nreservations, (uint64_t)c->exec_fd, c->exec.type};
	memcpy(s->v, v, sizeof(v));
}

static void trace_stage(const struct pb_pipeline_stage *st, const struct pb_ctx *ctx, enum pb_trace how,
			FILE *out, long long ns, size_t first_step, const struct snapshot *before, int r)
{
	struct snapshot after;
	bool any = false;

	snap(ctx, &after);
	if (how == PB_TRACE_JSON) {
		fputc('{', out); /* one record a stage, each self-describing (JSON lines) */
		pb_json_format(out, "trace", PB_JSON_TRACE_VERSION);
		fprintf(out, ",\"stage\":\"%s\",\"ns\":%lld,\"ok\":%s", st->def->name, ns, r == 0 ? "true" : "false");
		if (r < 0) {
			fprintf(out, ",\"error\":{\"code\":\"%s\",\"errno\":%d,\"message\":", pb_code_symbol(ctx->err.code),
				ctx->err.sys_errno);
			pb_json_str(out, ctx->err.msg);
			fputc('}', out);
		}
		fputs(",\"steps\":[", out);
		for (size_t i = first_step; i < ctx->plan.nsteps; i++) {
			fputs(i > first_step ? "," : "", out);
			pb_step_print_json(&ctx->plan, &ctx->plan.steps[i], out);
		}
		fputs("],\"changed\":{", out);
		for (int i = 0; i < 12; i++) {
			if (after.v[i] == before->v[i])
				continue;
			fprintf(out, "%s\"%s\":%llu", any ? "," : "", field_names[i], (unsigned long long)after.v[i]);
			any = true;
		}
		fputs("}}\n", out);
		return;
	}
	fprintf(out, "[%s] %s in %lld ns, %zu step%s", st->def->name, r == 0 ? "done" : "FAILED", ns,
		ctx->plan.nsteps - first_step, ctx->plan.nsteps - first_step == 1 ? "" : "s");
	for (int i = 0; i < 12; i++) {
		if (after.v[i] == before->v[i])
			continue;
		fprintf(out, "%s%s=0x%llx", any ? " " : "; ", field_names[i], (unsigned long long)after.v[i]);
		any = true;
	}
	fputc('\n', out);
	if (r < 0)
		fprintf(out, "    error: %s\n", ctx->err.msg);
	for (size_t i = first_step; i < ctx->plan.nsteps; i++) {
		const struct pb_step *s = &ctx->plan.steps[i];
		char prot[4];
		fprintf(out, "    %-8s 0x%012llx-0x%012llx %s  %s\n", pb_step_kind_name(s->kind),
			(unsigned long long)s->addr, (unsigned long long)(s->addr + s->len),
			pb_prot_str(s->prot, prot), s->note);
	}
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/*
 * The rule behind plan == run: every mapping step a stage emitted is taken in
 * the address-space model by the time the stage returns (the SDK's calls
 * take it as they emit it; built-in stages take it themselves). A step left
 * out would be planned over by a later stage, and only the stub would find
 * the collision, blaming that later step. 0 or -EINVAL naming the step.
 */
static int check_steps_taken(struct pb_ctx *ctx, size_t first)
{
	char prot[4];

	for (size_t i = first; i < ctx->plan.nsteps; i++) {
		const struct pb_step *s = &ctx->plan.steps[i];
		if (s->kind != PB_STEP_RESERVE && s->kind != PB_STEP_MAP_FILE && s->kind != PB_STEP_MAP_ANON)
			continue;
		if (!pb_aspace_covered(&ctx->as, s->addr, s->addr + s->len))
			return pb_fail(ctx, PB_EINVAL,
				       "%s 0x%llx-0x%llx %s (%s) is not taken in the address-space model; hint: a stage "
				       "takes what it maps (pb_ctx_map_anon and pb_ctx_reserve do)",
				       pb_step_kind_name(s->kind), (unsigned long long)s->addr,
				       (unsigned long long)(s->addr + s->len), pb_prot_str(s->prot, prot), s->note);
	}
	return 0;
}

int pb_pipeline_run(const struct pb_pipeline *p, struct pb_ctx *ctx, enum pb_trace trace, FILE *out)
{
	FILE *own = NULL;
	int r = 0;

	/* Loaded for check without its plugins: the stages they add are missing, so running it would skip them. */
	if (p->nskipped_plugins)
		return pb_err_set(&ctx->err, "pipeline", PB_EINVAL, 0,
				  "%s: loaded without its plugins, for checking only; it cannot run", p->file);
	if (trace == PB_TRACE_OFF)
		trace = p->trace;
	if (!out && trace != PB_TRACE_OFF) {
		out = stderr;
		if (p->trace_file[0])
			out = own = fopen(p->trace_file, "ae");
		if (!out)
			return pb_err_sys(&ctx->err, "pipeline", -errno, "trace file %s", p->trace_file);
	}
	if (p->seeded && !ctx->rng.seeded)
		pb_rng_seed(&ctx->rng, p->seed);
	for (size_t i = 0; i < p->n && r == 0; i++) {
		const struct pb_pipeline_stage *st = &p->stages[i];
		enum pb_trace how = st->trace >= 0 ? (enum pb_trace)st->trace : trace;
		struct pb_stage_opts opts = st->opts;
		size_t first = ctx->plan.nsteps;
		struct snapshot before;
		long long t0 = 0;

		opts.v = st->opt; /* the copy points at its own options */
		ctx->stage = st->def->name;
		if (how != PB_TRACE_OFF) {
			snap(ctx, &before);
			t0 = now_ns();
		}
		r = st->def->run(ctx, &opts);
		if (r == 0)
			r = check_steps_taken(ctx, first);
		if (r < 0)
			pb_err_stage(&ctx->err, st->def->name);
		if (how != PB_TRACE_OFF)
			trace_stage(st, ctx, how, out ? out : stderr, now_ns() - t0, first, &before, r);
	}
	ctx->stage = NULL;
	if (r == 0)
		r = pb_ctx_release_reservations(ctx);
	if (own)
		fclose(own);
	return r;
}
