/* SPDX-License-Identifier: MIT */
/*
 * DOC: the no-ptrace fallback. Without a tracer nothing can reset the
 * registers from outside, so the stub jumps to this page once told to
 * start: it unmaps the stub (rdi, rsi set by the stub), loads the initial
 * rsp, zeroes every general register, sets rflags to 0x202 (wiping the 8
 * bytes that took below rsp) and jumps to the entry point through memory, so
 * no register has to hold it. The page itself is what is left behind (in
 * place, only where the vDSO's way in is not there: launch/gadget.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/error.h"
#include "launch/launch.h"

#define SLOT_RSP PB_TRAMPOLINE_SLOT_RSP
#define SLOT_ENTRY PB_TRAMPOLINE_SLOT_ENTRY

static const unsigned char code[] = {
	0xb8, 0x0b, 0x00, 0x00, 0x00,			/* 00 mov $11 (munmap), %eax */
	0x0f, 0x05,					/* 05 syscall */
	0x48, 0x8b, 0x25, 0xf2, 0x00, 0x00, 0x00,	/* 07 mov SLOT_RSP(%rip), %rsp */
	0x31, 0xc0, 0x31, 0xdb, 0x31, 0xc9, 0x31, 0xd2,	/* 0e xor eax, ebx, ecx, edx */
	0x31, 0xf6, 0x31, 0xff, 0x31, 0xed,		/* 16 xor esi, edi, ebp */
	0x45, 0x31, 0xc0, 0x45, 0x31, 0xc9,		/* 1c xor r8d, r9d */
	0x45, 0x31, 0xd2, 0x45, 0x31, 0xdb,		/* 22 xor r10d, r11d */
	0x45, 0x31, 0xe4, 0x45, 0x31, 0xed,		/* 28 xor r12d, r13d */
	0x45, 0x31, 0xf6, 0x45, 0x31, 0xff,		/* 2e xor r14d, r15d */
	0x68, 0x02, 0x02, 0x00, 0x00,			/* 34 push $0x202 */
	0x9d,						/* 39 popfq */
	0x48, 0xc7, 0x44, 0x24, 0xf8, 0, 0, 0, 0,	/* 3a movq $0, -8(%rsp) */
	0xff, 0x25, 0xbf, 0x00, 0x00, 0x00,		/* 43 jmp *SLOT_ENTRY(%rip) */
};

_Static_assert(sizeof(code) == 0x49, "the displacements above assume this length");

void pb_trampoline_page(unsigned char page[4096], uint64_t rsp, uint64_t entry)
{
	memset(page, 0xcc, 4096); /* int3 anywhere else */
	memcpy(page, code, sizeof(code));
	memcpy(page + SLOT_RSP, &rsp, 8);
	memcpy(page + SLOT_ENTRY, &entry, 8);
}

/* Without ptrace: the page the stub jumps to, planned like any mapping. 0 or -errno. */
int pb_plan_trampoline(struct pb_ctx *ctx, uint64_t *ret_addr)
{
	const size_t size = 4096;
	unsigned char *page;
	uint64_t addr, off;
	int r, w = -1;

	addr = pb_aspace_find_topdown(&ctx->as, size, size, ctx->host.mmap_min_addr, ctx->host.mmap_top);
	if (!addr)
		return pb_fail(ctx, PB_ENOMEM, "no room for the trampoline page");
	page = malloc(size); /* (on the heap: 16 KiB stacks) */
	if (!page)
		return pb_fail(ctx, PB_ENOMEM, "out of memory");
	pb_trampoline_page(page, ctx->sp, ctx->entry);
	ctx->stage = "finalize";
	r = pb_ctx_step(ctx, PB_STEP_MAP_ANON, addr, size, PROT_READ | PROT_WRITE,
			"trampoline (no ptrace: left behind)");
	if (r >= 0 && (r = pb_plan_data(&ctx->plan, page, size, &off)) == 0)
		r = w = pb_ctx_step(ctx, PB_STEP_WRITE, addr, size, 0, "trampoline code");
	if (r >= 0) {
		ctx->plan.steps[w].off = off;
		ctx->plan.steps[w].flags |= PB_WIRE_TRAMPOLINE;
		r = pb_ctx_step(ctx, PB_STEP_PROTECT, addr, size, PROT_READ | PROT_EXEC, "trampoline r-x");
	}
	free(page);
	ctx->stage = NULL;
	if (r < 0)
		return r == -ENOMEM ? pb_fail(ctx, PB_ENOMEM, "out of memory") : r;
	pb_aspace_take(&ctx->as, addr, addr + size, "trampoline");
	*ret_addr = addr;
	return 0;
}
