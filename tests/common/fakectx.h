/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * A context as a stage sees it after spawn, made by hand: a host with the
 * kernel's auxv keys in order, an 8 MiB stack rlimit, full randomization, a
 * stub stack ending at FAKE_STACK_END, the mmap region below FAKE_MMAP_TOP.
 */
#define FAKE_STACK_END 0x7ffd00000000ull
#define FAKE_SP0 (FAKE_STACK_END - 0x400)
#define FAKE_MMAP_TOP 0x7f0000000000ull
#define FAKE_VDSO 0x7effffffe000ull

void fake_ctx(struct pb_ctx *ctx);
/* Parses fd (strict) into ctx->exec with the core parser; asserts success. */
void fake_parse(struct pb_ctx *ctx, int fd);
