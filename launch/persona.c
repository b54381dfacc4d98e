/* SPDX-License-Identifier: MIT */
/*
 * DOC: personality. The execution domain and flags the program runs with
 * (setarch(8), personality(2)). The stub sets it as the last attribute
 * before the credentials, so a set-id exec still clears PER_CLEAR_ON_SETID
 * afterwards (launch/creds.c), and applies what a 64-bit exec does to it:
 * READ_IMPLIES_EXEC is cleared (x86-64's set_personality_64bit; it comes
 * back only for 32-bit programs with an executable stack by default).
 *
 * The bits that decide where exec places things (ADDR_NO_RANDOMIZE,
 * ADDR_COMPAT_LAYOUT, MMAP_PAGE_ZERO, ADDR_LIMIT_32BIT, ADDR_LIMIT_3GB) are
 * read from the caller when the stages plan the address space, before
 * anything is applied: a value that changes them is refused (-EOPNOTSUPP)
 * rather than giving a layout execve under setarch would not give. Running
 * procbuilder itself under setarch gives them, planned as execve plans them.
 */
#include <errno.h>
#include <sys/personality.h>

#include "launch/launch.h"

#define LAYOUT_BITS (ADDR_NO_RANDOMIZE | ADDR_COMPAT_LAYOUT | MMAP_PAGE_ZERO | ADDR_LIMIT_32BIT | ADDR_LIMIT_3GB)

PB_API int pb_set_personality(struct pb_builder *b, unsigned long persona)
{
	int ours = personality(0xffffffff);

	if (persona > 0xffffffffu || persona == 0xffffffffu || ours < 0)
		return -EINVAL; /* 0xffffffff only asks personality(2) what it is */
	if ((persona ^ (unsigned long)ours) & LAYOUT_BITS)
		return -EOPNOTSUPP;
	b->attrs.personality = (uint32_t)persona & ~(uint32_t)READ_IMPLIES_EXEC; /* as a 64-bit exec leaves it */
	b->attrs.flags |= PB_ATTR_PERSONALITY;
	return 0;
}
