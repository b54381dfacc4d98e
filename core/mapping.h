/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * Appends the steps that map elf at bias, as the kernel's elf_map/elf_load
 * do: an ET_DYN image is reserved over its whole span first, then each
 * PT_LOAD's file part is mapped over it, the rest of its last file page
 * zeroed, the remaining bss mapped anonymous read-write, and the gaps between
 * segments released. The span is recorded as taken in ctx->as. Returns 0 or a
 * negative errno with ctx->err set (PB_ELOAD on a collision).
 */
int pb_map_elf(struct pb_ctx *ctx, const struct pb_elf *elf, uint64_t bias, int fd,
	       const char *what);

/*
 * Where an mmap with hint 0 of size bytes lands: the highest free, aligned
 * place below mmap_base, or in the legacy layout the lowest above it. 0 if none.
 */
uint64_t pb_find_mmap_area(const struct pb_ctx *ctx, uint64_t size, uint64_t align);

/*
 * The bias that puts elf where an mmap with hint 0 would (pb_find_mmap_area).
 * 0 or -ENOMEM with ctx->err set.
 */
int pb_place_topdown(struct pb_ctx *ctx, const struct pb_elf *elf, const char *what,
		     uint64_t *ret_bias);
