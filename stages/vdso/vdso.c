/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <sys/mman.h>

#include "core/mapping.h"
#include "stages/vdso/vdso.h"

static bool is_vdso_vma(const char *name)
{
	return strcmp(name, "[vdso]") == 0 || strncmp(name, "[vvar", 5) == 0;
}

/* The kernel's [vvar], [vvar_vclock] and [vdso] go. */
static int unmap_system(struct pb_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->host.nmaps; i++) {
		const struct pb_vma *v = &ctx->host.maps[i];
		int r;
		if (!is_vdso_vma(v->name))
			continue;
		r = pb_ctx_step(ctx, PB_STEP_UNMAP, v->lo, v->hi - v->lo, PROT_NONE, "system %s", v->name);
		if (r < 0)
			return r;
		pb_aspace_release(&ctx->as, v->lo, v->hi);
	}
	return 0;
}

static int map_custom(struct pb_ctx *ctx)
{
	struct pb_elf elf = {0};
	uint64_t bias;
	int r;

	if (ctx->vdso_fd < 0)
		return pb_fail(ctx, PB_EBADF, "policy custom, but no vDSO image fd was given");
	r = pb_elf_read(ctx->vdso_fd, 0, "vDSO image", &elf, &ctx->err);
	if (r < 0) {
		pb_err_stage(&ctx->err, ctx->stage);
		return r;
	}
	r = unmap_system(ctx);
	if (r == 0)
		r = pb_place_topdown(ctx, &elf, "vDSO", &bias);
	if (r == 0)
		r = pb_map_elf(ctx, &elf, bias, ctx->vdso_fd, "vDSO");
	if (r == 0)
		ctx->vdso_base = bias + elf.lo;
	pb_elf_clear(&elf);
	return r;
}

int pb_stage_vdso(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	const char *policy = ctx->vdso_policy ? ctx->vdso_policy : pb_opt_str(opts, "policy", "system");
	int r;

	if (strcmp(policy, "system") == 0) {
		ctx->vdso_base = ctx->host.vdso_base;
		return 0;
	}
	if (strcmp(policy, "none") == 0) {
		r = unmap_system(ctx);
		ctx->vdso_base = 0;
		return r;
	}
	if (strcmp(policy, "custom") == 0)
		return map_custom(ctx);
	return pb_fail(ctx, PB_EINVAL, "policy must be system, none or custom, not '%s'", policy);
}
