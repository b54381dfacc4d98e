/* SPDX-License-Identifier: MIT */
#include <sys/mman.h>

#include "core/mapping.h"

static int prot_of(uint32_t flags)
{
	return (flags & PF_R ? PROT_READ : 0) | (flags & PF_W ? PROT_WRITE : 0) |
	       (flags & PF_X ? PROT_EXEC : 0);
}

/* One PT_LOAD: the file part, the zeroed tail of its last page, the anonymous bss. */
static int map_segment(struct pb_ctx *ctx, const Elf64_Phdr *ph, uint64_t bias, int file,
		       const char *what, unsigned idx)
{
	uint64_t addr = bias + ph->p_vaddr, zero_start = addr + ph->p_filesz;
	uint64_t anon_lo = ph->p_filesz ? PB_PAGE_ALIGN(zero_start) : PB_PAGE_START(addr);
	uint64_t anon_hi = PB_PAGE_ALIGN(addr + ph->p_memsz);
	int prot = prot_of(ph->p_flags), r;

	if (ph->p_filesz) {
		r = pb_ctx_step(ctx, PB_STEP_MAP_FILE, PB_PAGE_START(addr),
				PB_PAGE_ALIGN(ph->p_filesz + PB_PAGE_OFF(addr)), prot,
				"%s PT_LOAD[%u]", what, idx);
		if (r < 0)
			return r;
		ctx->plan.steps[r].file = file;
		ctx->plan.steps[r].off = ph->p_offset - PB_PAGE_OFF(ph->p_vaddr);
	}
	if (ph->p_memsz > ph->p_filesz && ph->p_filesz && PB_PAGE_OFF(zero_start)) {
		r = pb_ctx_step(ctx, PB_STEP_ZERO, zero_start, PB_PAGE_ALIGN(zero_start) - zero_start,
				prot, "%s PT_LOAD[%u] bss in last file page", what, idx);
		if (r < 0)
			return r;
	}
	if (anon_hi > anon_lo) {
		/* vm_brk_flags: read+write whatever p_flags say, exec only with PF_X */
		r = pb_ctx_step(ctx, PB_STEP_MAP_ANON, anon_lo, anon_hi - anon_lo,
				PROT_READ | PROT_WRITE | (ph->p_flags & PF_X ? PROT_EXEC : 0),
				"%s PT_LOAD[%u] bss", what, idx);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Maps a whole image at bias. ET_DYN images are first reserved over their
 * whole span (the kernel's total_mapping_size), then overlaid, then the gaps
 * between segments are released, which leaves the kernel's VMAs.
 */
int pb_map_elf(struct pb_ctx *ctx, const struct pb_elf *elf, uint64_t bias, int fd,
		     const char *what)
{
	uint64_t lo = bias + elf->lo, hi = bias + elf->hi, prev_end = 0;
	const char *busy;
	unsigned idx = 0;
	int file, r;

	if (pb_aspace_busy(&ctx->as, lo, hi, &busy))
		return pb_fail(ctx, PB_ELOAD, "%s at 0x%llx-0x%llx collides with %s", what,
			       (unsigned long long)lo, (unsigned long long)hi, busy);
	file = pb_plan_file(&ctx->plan, fd, what);
	if (file < 0)
		return pb_fail(ctx, PB_EINVAL, "cannot add %s to the plan: %d", what, file);
	if (elf->type == ET_DYN) {
		r = pb_ctx_step(ctx, PB_STEP_RESERVE, lo, hi - lo, PROT_NONE, "%s image span", what);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < elf->phnum; i++) {
		const Elf64_Phdr *ph = &elf->phdrs[i];
		if (ph->p_type != PT_LOAD)
			continue;
		if (elf->type == ET_DYN && prev_end && PB_PAGE_START(bias + ph->p_vaddr) > prev_end) {
			r = pb_ctx_step(ctx, PB_STEP_RELEASE, prev_end,
					PB_PAGE_START(bias + ph->p_vaddr) - prev_end, PROT_NONE,
					"%s gap before PT_LOAD[%u]", what, idx);
			if (r < 0)
				return r;
		}
		r = map_segment(ctx, ph, bias, file, what, idx++);
		if (r < 0)
			return r;
		prev_end = PB_PAGE_ALIGN(bias + ph->p_vaddr + ph->p_memsz);
	}
	r = pb_aspace_take(&ctx->as, lo, hi, what);
	if (r < 0)
		return pb_fail(ctx, PB_ELOAD, "cannot record %s in the address space: %d", what, r);
	return 0;
}


uint64_t pb_find_mmap_area(const struct pb_ctx *ctx, uint64_t size, uint64_t align)
{
	uint64_t base = ctx->host.mmap_top ? ctx->host.mmap_top : 0x7f0000000000ull;

	if (ctx->host.bottom_up)
		return pb_aspace_find_bottomup(&ctx->as, size, align, base, PB_TASK_SIZE);
	return pb_aspace_find_topdown(&ctx->as, size, align,
				      ctx->host.mmap_min_addr ? ctx->host.mmap_min_addr : 4096, base);
}

int pb_place_topdown(struct pb_ctx *ctx, const struct pb_elf *elf, const char *what,
			 uint64_t *ret_bias)
{
	uint64_t a = pb_find_mmap_area(ctx, elf->hi - elf->lo, elf->max_align);
	if (!a)
		return pb_fail(ctx, PB_ENOMEM, "no room for %s (%llu bytes) in the address space",
			       what, (unsigned long long)(elf->hi - elf->lo));
	*ret_bias = a - elf->lo;
	return 0;
}
