/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The vDSO's way into the program without leaving anything mapped: this
 * kernel's vDSO is built with its call-used registers zeroed on return, so
 * its system-call fallbacks end in "syscall; leave; xor r32,r32 ...; ret".
 * Entered at the syscall with rax = munmap of the stub and rbp at a frame
 * {0, entry} right below the entry rsp, the stub is gone when the syscall
 * returns, leave pops rbp = 0, the xors clear the scratch registers and ret
 * jumps to the entry with rsp at argc. Offsets vary by kernel build, so it is
 * found by its bytes. Shared by the library (to find it) and the stub (to
 * check it again): freestanding, no libc.
 */
#include <stddef.h>

/* Registers the sequence must clear: rcx, r11 (the syscall's), rsi, rdi (munmap's arguments). */
#define PB_GADGET_MUST_ZERO (1u << 1 | 1u << 11 | 1u << 6 | 1u << 7)

/* True if p[0 .. avail) starts with the sequence. */
static inline int pb_is_vdso_gadget(const unsigned char *p, size_t avail)
{
	unsigned zeroed = 0;
	size_t i = 3;

	if (avail < 4 || p[0] != 0x0f || p[1] != 0x05 || p[2] != 0xc9)
		return 0;
	while (i < avail && p[i] != 0xc3) {
		unsigned hi = 0;
		if (p[i] == 0x45) { /* REX.RB: r8d .. r15d */
			hi = 8;
			i++;
		}
		if (i + 1 >= avail || p[i] != 0x31 || (p[i + 1] & 0xc0) != 0xc0 ||
		    ((p[i + 1] >> 3) & 7) != (p[i + 1] & 7))
			return 0;
		zeroed |= 1u << (hi + (p[i + 1] & 7));
		i += 2;
	}
	return i < avail && (zeroed & PB_GADGET_MUST_ZERO) == PB_GADGET_MUST_ZERO;
}
