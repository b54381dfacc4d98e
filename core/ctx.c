/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/ctx.h"

const struct pb_opt *pb_opt_find(const struct pb_stage_opts *opts, const char *key)
{
	if (!opts)
		return NULL;
	for (size_t i = 0; i < opts->n; i++)
		if (strcmp(opts->v[i].key, key) == 0)
			return &opts->v[i];
	return NULL;
}

void pb_ctx_set_host(struct pb_ctx *ctx, const struct pb_host *host, const char *unnamed_as)
{
	if (host != &ctx->host)
		ctx->host = *host;
	for (unsigned i = 0; i < ctx->host.nmaps; i++) {
		const struct pb_vma *m = &ctx->host.maps[i];
		pb_aspace_take(&ctx->as, m->lo, m->hi, m->name[0] ? m->name : unnamed_as);
	}
}

void pb_ctx_init(struct pb_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->exec_fd = -1;
	ctx->interp_fd = -1;
	ctx->interp_override_fd = -1;
	ctx->sysroot_fd = -1;
	ctx->vdso_fd = -1;
	ctx->reserve_keep = -1;
	ctx->exec_head_len = -1;
	pb_plan_init(&ctx->plan);
	pb_rng_init(&ctx->rng);
	pb_aspace_init(&ctx->as);
}

void pb_ctx_clear(struct pb_ctx *ctx)
{
	if (ctx->exec_fd_owned && ctx->exec_fd >= 0)
		close(ctx->exec_fd);
	for (unsigned i = 0; i < ctx->nformats; i++)
		if (ctx->formats[i].free)
			ctx->formats[i].free(ctx->formats[i].data);
	free(ctx->argv_store);
	free(ctx->str_store);
	pb_elf_clear(&ctx->exec);
	pb_elf_clear(&ctx->interp);
	if (ctx->interp_fd >= 0)
		close(ctx->interp_fd);
	pb_plan_clear(&ctx->plan);
	pb_ctx_init(ctx);
}

int pb_ctx_step(struct pb_ctx *ctx, enum pb_step_kind kind, uint64_t addr, uint64_t len,
		int prot, const char *fmt, ...)
{
	struct pb_step s = {.kind = kind, .prot = prot, .file = -1, .addr = addr, .len = len,
			    .stage = ctx->stage};
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(s.note, sizeof(s.note), fmt, ap);
	va_end(ap);
	r = pb_plan_add(&ctx->plan, &s);
	if (r < 0)
		return pb_fail(ctx, PB_ENOMEM, "out of memory for the plan");
	return r;
}

/* RELEASE steps for the reservations whose keep is want_kept; kept ones stop being kept. */
static int release(struct pb_ctx *ctx, bool want_kept, const char *why)
{
	const char *stage = ctx->stage;
	int r = 0;

	ctx->stage = "reserve";
	for (unsigned i = 0; i < ctx->nreservations && r >= 0; i++) {
		struct pb_reservation *res = &ctx->reservations[i];
		if (res->keep != want_kept)
			continue;
		res->keep = false;
		pb_aspace_release(&ctx->as, res->lo, res->hi);
		if (res->model_only)
			continue;
		r = pb_ctx_step(ctx, PB_STEP_RELEASE, res->lo, res->hi - res->lo, 0, "%s", why);
	}
	ctx->stage = stage;
	return r < 0 ? r : 0;
}

int pb_ctx_release_reservations(struct pb_ctx *ctx)
{
	return release(ctx, false, "release reservation before build returns");
}

int pb_ctx_release_kept(struct pb_ctx *ctx)
{
	return release(ctx, true, "release kept reservation (nothing could at start)");
}

ssize_t pb_ctx_exec_head(struct pb_ctx *ctx, const uint8_t **ret_head)
{
	if (ctx->exec_head_len < 0) {
		ssize_t n = pb_pread_full(ctx->exec_fd, ctx->exec_head, sizeof(ctx->exec_head), 0);
		if (n < 0)
			return pb_err_sys(&ctx->err, ctx->stage, (int)n, "reading %s",
					  ctx->exec_name ? ctx->exec_name : "the program");
		ctx->exec_head_len = n;
	}
	*ret_head = ctx->exec_head;
	return ctx->exec_head_len;
}

void pb_ctx_exec_changed(struct pb_ctx *ctx)
{
	ctx->exec_head_len = -1;
}
