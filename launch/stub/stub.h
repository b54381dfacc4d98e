/* SPDX-License-Identifier: MIT */
#pragma once
/* What the stub's translation units share. Freestanding: no libc here. */
#include <asm/unistd.h>
#include <stddef.h>
#include <stdint.h>

#include "launch/proto.h"
#include "launch/rawsys.h"

/*
 * Every system call the stub makes, counted for its report (the bench's
 * breakdown, pb_built_info's stub_syscalls); vacate.c counts its own while
 * the counter is being moved (it uses pb_raw_syscall).
 */
extern uint32_t stub_nsys __attribute__((visibility("hidden")));

static inline __attribute__((always_inline)) long stub_sys6(long n, long a, long b, long c, long d, long e, long f)
{
	stub_nsys++;
	return pb_raw_syscall(n, a, b, c, d, e, f);
}

#define sys6 stub_sys6
#define sys3(n, a, b, c) sys6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define EINTR 4

/* launch/stub/vacate.c: how far the image moved, and the lowest address its frame used below the first sp. */
struct stub_vacated {
	uint64_t delta, low;
};

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
/* A decimal number up to about 2^20 (an fd), or -1 for anything else. */
int stub_parse_num(const char *s);

/*
 * Sets up the mount namespace the plan describes (hdr->ns_flags has
 * PB_NS_ON). 0, or a negative errno with *where set (enum pb_ns_where, or
 * the index of the op that failed).
 */
long stub_setup_ns(const struct pb_plan_hdr *hdr, int planfd, int *where);

/*
 * The installed exe helper's one privileged act (launch/stub/exe.c), first
 * of all: if this exec gave us capabilities from the file, set exe to the fd
 * argv[2] names (checked), drop them, and make dumpable and our auxv's
 * AT_SECURE (at auxv) a plain exec's. 1: exe set; 0: not privileged by the
 * file; -errno: privileged, refused or failed (dropped all the same).
 */
int stub_exe_helper(uint64_t *sp0, uint64_t *auxv, uint64_t image_lo, uint64_t image_hi);
