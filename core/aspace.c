/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/aspace.h"
#include "core/util.h"

void pb_aspace_init(struct pb_aspace *as)
{
	as->n = 0;
}

bool pb_aspace_busy(const struct pb_aspace *as, uint64_t lo, uint64_t hi, const char **ret_what)
{
	for (unsigned i = 0; i < as->n; i++) {
		if (as->r[i].lo < hi && lo < as->r[i].hi) {
			if (ret_what)
				*ret_what = as->r[i].what;
			return true;
		}
	}
	return false;
}

bool pb_aspace_covered(const struct pb_aspace *as, uint64_t lo, uint64_t hi)
{
	/* the ranges are sorted: walk them, moving lo past each one that holds it */
	for (unsigned i = 0; i < as->n && lo < hi; i++)
		if (as->r[i].lo <= lo && lo < as->r[i].hi)
			lo = as->r[i].hi;
	return lo >= hi;
}

int pb_aspace_take(struct pb_aspace *as, uint64_t lo, uint64_t hi, const char *what)
{
	unsigned i;

	if (lo >= hi)
		return -EINVAL;
	if (pb_aspace_busy(as, lo, hi, NULL))
		return -EEXIST;
	if (as->n == PB_ASPACE_MAX)
		return -ENOSPC;
	for (i = 0; i < as->n && as->r[i].lo < lo; i++)
		;
	memmove(&as->r[i + 1], &as->r[i], (as->n - i) * sizeof(as->r[0]));
	as->r[i].lo = lo;
	as->r[i].hi = hi;
	snprintf(as->r[i].what, sizeof(as->r[i].what), "%s", what);
	as->n++;
	return 0;
}

void pb_aspace_release(struct pb_aspace *as, uint64_t lo, uint64_t hi)
{
	unsigned out = 0;

	for (unsigned i = 0; i < as->n; i++) {
		struct pb_aspace_range r = as->r[i];
		if (r.hi <= lo || r.lo >= hi) {
			as->r[out++] = r;
			continue;
		}
		/* a range that crosses [lo, hi) keeps its outside part (one side only) */
		if (r.lo < lo) {
			r.hi = lo;
			as->r[out++] = r;
		} else if (r.hi > hi) {
			r.lo = hi;
			as->r[out++] = r;
		}
	}
	as->n = out;
}

uint64_t pb_aspace_find_topdown(const struct pb_aspace *as, uint64_t size, uint64_t align,
				uint64_t floor, uint64_t top)
{
	uint64_t hi = top;

	if (align < PB_PAGE_SIZE)
		align = PB_PAGE_SIZE;
	/* Walk the gaps from the top down. */
	for (int i = (int)as->n; i >= 0; i--) {
		uint64_t gap_lo = i > 0 ? as->r[i - 1].hi : floor;
		uint64_t gap_hi = i < (int)as->n ? as->r[i].lo : top;
		uint64_t a;

		if (gap_lo >= hi)
			continue;
		if (gap_hi > hi)
			gap_hi = hi;
		if (gap_lo < floor)
			gap_lo = floor;
		if (gap_hi < size || gap_hi - size < gap_lo)
			continue;
		a = (gap_hi - size) & ~(align - 1);
		if (a >= gap_lo)
			return a;
	}
	return 0;
}

uint64_t pb_aspace_find_bottomup(const struct pb_aspace *as, uint64_t size, uint64_t align,
				 uint64_t floor, uint64_t top)
{
	uint64_t lo = floor;

	if (align < PB_PAGE_SIZE)
		align = PB_PAGE_SIZE;
	/* Walk the gaps from the bottom up. */
	for (unsigned i = 0; i <= as->n; i++) {
		uint64_t gap_hi = i < as->n ? as->r[i].lo : top, a;

		if (gap_hi > top)
			gap_hi = top;
		a = (lo + align - 1) & ~(align - 1);
		if (a >= lo && a <= gap_hi && gap_hi - a >= size)
			return a;
		if (i < as->n && as->r[i].hi > lo)
			lo = as->r[i].hi;
		if (lo >= top)
			break;
	}
	return 0;
}
