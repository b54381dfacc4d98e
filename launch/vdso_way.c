/* SPDX-License-Identifier: MIT */
/*
 * DOC: the vDSO's way. A stub leaves without leaving anything mapped
 * through the kernel's vDSO (launch/gadget.h): in place it returns from its
 * munmap into the program's entry; spawned and traced it returns to an int3
 * byte of the vDSO, which stops it for its tracer (launch/finalize.c). Both
 * are offsets in the vDSO image, the same for every process of this kernel,
 * so they are found in ours.
 */
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>

#include "core/ctx.h"
#include "launch/gadget.h"
#include "launch/launch.h"

/* The bytes our vDSO's PT_LOAD maps (all of it executable), from its own ELF header. */
static size_t vdso_len(const unsigned char *vdso)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)vdso;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(vdso + eh->e_phoff);
	size_t len = 0;

	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return 0;
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && ph[i].p_vaddr == 0)
			len = ph[i].p_filesz;
	return len;
}

void pb_vdso_way_find(struct pb_vdso_way *w)
{
	const unsigned char *vdso = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
	size_t len = vdso ? vdso_len(vdso) : 0;

	memset(w, 0, sizeof(*w));
	for (size_t off = 1; off + 3 < len && !w->gadget; off++)
		if (pb_is_vdso_gadget(vdso + off, len - off))
			w->gadget = off;
	for (size_t off = 1; off < len && !w->trap; off++)
		if (vdso[off] == 0xcc) /* any one: decoded from where the ret lands */
			w->trap = off;
}

bool pb_has_kernel_vdso(const struct pb_ctx *ctx)
{
	if (!ctx->vdso_base)
		return false;
	if (ctx->vdso_base == ctx->host.vdso_base)
		return true;
	for (size_t i = 0; i < ctx->plan.nsteps; i++)
		if (ctx->plan.steps[i].kind == PB_STEP_MOVE && ctx->plan.steps[i].addr == ctx->vdso_base &&
		    ctx->plan.steps[i].off == ctx->host.vdso_base)
			return true;
	return false;
}
