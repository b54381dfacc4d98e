/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * reserve: keeps an address range out of use while the later stages place
 * things (the seed's reservation VMAR over the low half, for sanitizer shadow
 * memory), in the planner's model: while the plan is applied nothing but its
 * own steps maps in the target, so there is no placeholder (it would count
 * in VmPeak and against RLIMIT_AS, which execve's program does not pay).
 * With keep it is a PROT_NONE placeholder in the target until pb_start
 * (unless RLIMIT_AS is finite). What is already taken (an ET_EXEC program's
 * fixed segments, the stub) is carved out. low-half is skipped where the
 * kernel's layout puts its mmap area in the low half (ulimit -s unlimited,
 * the legacy layout): execve maps ld.so there.
 * Options:
 *   range: "low-half" (default: mmap_min_addr to 0x400000000000), "none",
 *          "asan", "tsan", "msan" (their x86_64 shadow ranges), or "START-END" (hex).
 *   when:  "dynamic" (default: only programs with PT_INTERP) or "always".
 *   keep:  bool, keep the placeholder until pb_start (default false).
 */
int pb_stage_reserve(struct pb_ctx *ctx, const struct pb_stage_opts *opts);

/* The range of a preset or "START-END"; 0, or -EINVAL for an unknown one. */
int pb_reserve_range(const char *range, uint64_t min_addr, uint64_t *ret_lo, uint64_t *ret_hi);
