/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * parse: reads ctx->exec_fd as an ELF64 program into ctx->exec.
 * Options: strict (bool, default true): refuse what the kernel tolerates
 * but no linker writes (unordered or overlapping PT_LOAD, misaligned
 * offsets, segments past the end of the file, ...).
 * Returns 0, or a negative errno with ctx->err set (PB_EPARSE + detail).
 */
int pb_stage_parse(struct pb_ctx *ctx, const struct pb_stage_opts *opts);
