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

/*
 * Each spawn asks, so the bytes are searched with memmem and memchr: a
 * byte-by-byte scan took 2.3 us a call here.
 */
void pb_vdso_way_find(struct pb_vdso_way *w)
{
	static const unsigned char head[] = {0x0f, 0x05, 0xc9}; /* syscall; leave */
	const unsigned char *vdso = (const unsigned char *)getauxval(AT_SYSINFO_EHDR), *end, *p, *cc;
	size_t len = vdso ? vdso_len(vdso) : 0;

	memset(w, 0, sizeof(*w));
	if (len < 4)
		return;
	end = vdso + len;
	for (p = vdso + 1; (p = memmem(p, (size_t)(end - p), head, sizeof(head))); p++)
		if (pb_is_vdso_gadget(p, (size_t)(end - p))) {
			w->gadget = (uint64_t)(p - vdso);
			break;
		}
	cc = memchr(vdso + 1, 0xcc, len - 1); /* any one: decoded from where the ret lands */
	if (cc)
		w->trap = (uint64_t)(cc - vdso);
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
