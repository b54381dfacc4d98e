/* SPDX-License-Identifier: MIT */
/*
 * DOC: the no-ptrace fallback. Without a tracer nothing can reset the
 * registers from outside, so the stub jumps to this page once told to
 * start: it unmaps the stub (rdi, rsi set by the stub), loads the initial
 * rsp, zeroes every general register, sets rflags to 0x202 (wiping the 8
 * bytes that took below rsp) and jumps to the entry point through memory, so
 * no register has to hold it. The page itself is what is left behind.
 */
#include <string.h>

#include "launch/launch.h"

#define SLOT_RSP 0x100
#define SLOT_ENTRY 0x108

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
