/* SPDX-License-Identifier: MIT */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The address space a plan leaves when the program starts: the kernel's
 * mappings of the host model with every step applied in order (docs/plan-map.md).
 */
enum pb_region_kind {
	PB_REGION_KERNEL,	/* made by the kernel ([vdso], [vvar], ...), kept by the plan */
	PB_REGION_FILE,		/* MAP_FILE: a file of the plan at an offset */
	PB_REGION_ANON,		/* MAP_ANON */
	PB_REGION_STACK,	/* the grows-down stack VMA */
	PB_REGION_RESERVE,	/* a placeholder still there at the end */
	PB_REGION_KEPT,		/* a reservation kept until the program starts */
};

struct pb_region {
	uint64_t lo, hi;
	int prot;
	enum pb_region_kind kind;
	int file;		/* index into the plan's files, or -1 */
	uint64_t off;		/* file offset of lo */
	const char *stage;	/* what made it: a stage, or "kernel" */
	const char *note;	/* the step's note, or the kernel's name; borrowed */
};

struct pb_region_map {
	struct pb_region *r;	/* sorted, never overlapping */
	size_t n, cap;
};

struct pb_plan;
struct pb_host;

/*
 * Fills map (empty on entry) with host's mappings, less the stub's image,
 * then applies plan's steps. Borrows strings of plan and host: keep them
 * alive while map is used. 0 or -ENOMEM.
 */
int pb_region_map_build(struct pb_region_map *map, const struct pb_plan *plan, const struct pb_host *host);
void pb_region_map_free(struct pb_region_map *map);

/* The table: a '#' header line, then one line per region (columns in docs/plan-map.md). */
void pb_region_map_print_text(const struct pb_region_map *map, const struct pb_plan *plan, FILE *f);
/* An SVG drawing, one <rect> per region, highest address on top, gaps cut short. */
void pb_region_map_print_svg(const struct pb_region_map *map, const struct pb_plan *plan, FILE *f);
