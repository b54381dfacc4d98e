/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * args: the start message, i.e. the initial stack exactly as execve's
 * create_elf_tables writes it: 8 zero bytes at the top, the filename
 * (AT_EXECFN), env strings, arg strings, a random 16-aligned gap, "x86_64",
 * 16 random bytes (AT_RANDOM), pad, auxv, envp, argv, argc at a 16-aligned
 * rsp. The auxv has every entry the kernel gave the stub, in its order, with
 * the image's values recomputed. Enforces the kernel's E2BIG limits
 * (MAX_ARG_STRLEN, a quarter of RLIMIT_STACK) before anything is mapped.
 * Sets sp, the arg/env/auxv fields of ctx->mm, and the plan's rip/rsp.
 * Options: none.
 */
int pb_stage_args(struct pb_ctx *ctx, const struct pb_stage_opts *opts);

/* fs/exec.c limits */
#define PB_MAX_ARG_STRLEN (32 * 4096)	/* one string, NUL included */
#define PB_MAX_ARG_STRINGS 0x7fffffff
