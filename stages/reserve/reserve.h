/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * reserve: keeps an address range out of use while the later stages place
 * things (the seed's reservation VMAR over the low half, for sanitizer shadow
 * memory). It is a PROT_NONE placeholder in the target while the plan is
 * applied, released before pb_build returns (or at pb_start with keep).
 * What is already taken (an ET_EXEC program's fixed segments, the stub) is
 * carved out. With a finite RLIMIT_AS there is no placeholder (it would count
 * against the limit, which execve's program does not pay): the range is kept
 * out of use by the planner alone.
 * Options:
 *   range: "low-half" (default: mmap_min_addr to 0x400000000000), "none",
 *          "asan", "tsan", "msan" (their x86_64 shadow ranges), or "START-END" (hex).
 *   when:  "dynamic" (default: only programs with PT_INTERP) or "always".
 *   keep:  bool, keep the placeholder until pb_start (default false).
 */
int pb_stage_reserve(struct pb_ctx *ctx, const struct pb_stage_opts *opts);

/* The range of a preset or "START-END"; 0, or -EINVAL for an unknown one. */
int pb_reserve_range(const char *range, uint64_t min_addr, uint64_t *ret_lo, uint64_t *ret_hi);
