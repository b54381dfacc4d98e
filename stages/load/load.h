/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * load: places the program (and the interpreter, if the interp stage found
 * one) like the kernel's load_elf_binary and emits the mapping steps:
 * ET_EXEC at its addresses; PIE at ELF_ET_DYN_BASE + random, aligned to the
 * largest p_align; static PIE and the interpreter top-down in the mmap region;
 * partial bss page zeroed, the rest anonymous; brk after the image,
 * randomized like the kernel. Sets exec_bias, interp_bias, entry, start_brk
 * and the code/data fields of ctx->mm.
 * Options: none.
 */
int pb_stage_load(struct pb_ctx *ctx, const struct pb_stage_opts *opts);
