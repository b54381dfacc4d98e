/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * stack: decides where the initial stack is. By default the process keeps
 * the [stack] VMA the kernel made for it (randomized top, grows down, guard
 * gap and rlimit accounting: indistinguishable from execve's). With a seeded
 * generator, or without a process (plan only), it places a one-page
 * grows-down stack below a kernel-like randomized top (the args stage grows
 * it to the kernel's size). PT_GNU_STACK with PF_X makes it executable.
 * Sets stack_top and stack_lo. Options:
 *   placement: "auto" (default), "kernel" (reuse, fails without one), "planned".
 */
int pb_stage_stack(struct pb_ctx *ctx, const struct pb_stage_opts *opts);
