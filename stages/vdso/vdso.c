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

/* The kernel's run, [vvar...] then [vdso], as the host has it; its extent in *lo, *hi. */
static unsigned system_run(const struct pb_ctx *ctx, const struct pb_vma *run[4], uint64_t *lo, uint64_t *hi)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ctx->host.nmaps && n < 4; i++)
		if (is_vdso_vma(ctx->host.maps[i].name))
			run[n++] = &ctx->host.maps[i];
	if (n) {
		*lo = run[0]->lo;
		*hi = run[n - 1]->hi;
	}
	return n;
}

/*
 * The kernel's vDSO where execve maps it: after the program and ld.so, by
 * get_unmapped_area (right below ld.so top-down, above it bottom-up). The
 * launcher parked it outside the mmap area; each VMA moves (mremap: the
 * kernel follows the [vdso] to its new address).
 */
static int place_system(struct pb_ctx *ctx)
{
	const struct pb_vma *run[4];
	uint64_t lo = 0, hi = 0, to;
	unsigned n = system_run(ctx, run, &lo, &hi);
	int r;

	ctx->vdso_base = ctx->host.vdso_base;
	if (!n || ctx->host.vdso_base < lo || ctx->host.vdso_base >= hi)
		return 0;
	pb_aspace_release(&ctx->as, lo, hi);
	to = pb_find_mmap_area(ctx, hi - lo, PB_PAGE_SIZE);
	if (!to || (to < hi && lo < to + (hi - lo) && to != lo)) {
		/* (no room, or overlapping its own place: it stays) */
		pb_aspace_take(&ctx->as, lo, hi, "[vdso]");
		return 0;
	}
	for (unsigned i = 0; i < n && to != lo; i++) {
		r = pb_ctx_step(ctx, PB_STEP_MOVE, run[i]->lo - lo + to, run[i]->hi - run[i]->lo, PROT_NONE,
				"system %s", run[i]->name);
		if (r < 0)
			return r;
		ctx->plan.steps[r].off = run[i]->lo;
	}
	ctx->vdso_base = ctx->host.vdso_base - lo + to;
	r = pb_aspace_take(&ctx->as, to, to + (hi - lo), "[vdso]");
	return r < 0 ? pb_fail(ctx, PB_ENOMEM, "cannot record the vDSO in the address space: %d", r) : 0;
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

	if (strcmp(policy, "system") == 0)
		return place_system(ctx);
	if (strcmp(policy, "none") == 0) {
		r = unmap_system(ctx);
		ctx->vdso_base = 0;
		return r;
	}
	if (strcmp(policy, "custom") == 0)
		return map_custom(ctx);
	return pb_fail(ctx, PB_EINVAL, "policy must be system, none or custom, not '%s'", policy);
}
