/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define PB_ASPACE_MAX 512

/*
 * The parent's model of the target address space: ranges taken (by the
 * kernel, the stub or the plan) and ranges kept out of use (reservations).
 * Stages place things with it; they never probe the target.
 */
struct pb_aspace_range {
	uint64_t lo, hi;
	char what[32];
};

struct pb_aspace {
	struct pb_aspace_range r[PB_ASPACE_MAX];	/* sorted, may touch, never overlap */
	unsigned n;
};

void pb_aspace_init(struct pb_aspace *as);
/* True if [lo, hi) meets a taken range; *ret_what (if not NULL) names it. */
bool pb_aspace_busy(const struct pb_aspace *as, uint64_t lo, uint64_t hi, const char **ret_what);
/* True if every byte of [lo, hi) lies in taken ranges (which may touch). */
bool pb_aspace_covered(const struct pb_aspace *as, uint64_t lo, uint64_t hi);
/* Marks [lo, hi) taken; 0, -EEXIST if it meets a taken range, -ENOSPC if full. */
int pb_aspace_take(struct pb_aspace *as, uint64_t lo, uint64_t hi, const char *what);
/* Frees every taken range fully inside [lo, hi) and trims the ones that cross it. */
void pb_aspace_release(struct pb_aspace *as, uint64_t lo, uint64_t hi);
/*
 * The highest address a, aligned to align, with [a, a+size) free, a >= floor
 * and a+size <= top (the kernel's top-down search). 0 if none.
 */
uint64_t pb_aspace_find_topdown(const struct pb_aspace *as, uint64_t size, uint64_t align,
				uint64_t floor, uint64_t top);
/* The lowest such address with a >= floor and a+size <= top (the legacy layout's bottom-up search). 0 if none. */
uint64_t pb_aspace_find_bottomup(const struct pb_aspace *as, uint64_t size, uint64_t align,
				 uint64_t floor, uint64_t top);
