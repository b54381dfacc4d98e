/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * Formats that hand a file to an interpreter, as the kernel's binfmt handlers
 * do (binfmt_misc, binfmt_script), until the file is an ELF program. The
 * kernel tries every handler at each level, binfmt_misc first, and counts
 * each level towards one depth limit: the stages that implement a format
 * (binfmt, script) add it here and run the loop, so whichever stage runs last
 * tries them all, in the order they were added, at every level.
 */

/* Interpreter levels allowed (the kernel's exec_binprm: a sixth is ELOOP). */
#define PB_MAX_EXEC_LEVELS 5

/*
 * Adds a format (copied; data is freed with f->free when the context is
 * cleared, also on failure). A format's try_exec returns 1 when it replaced
 * the program (pb_ctx_exec_replace), 0 when the file is not its format, or a
 * negative errno with ctx->err set. 0, or a negative errno with ctx->err set.
 */
int pb_format_add(struct pb_ctx *ctx, const struct pb_format *f);

/*
 * Tries the formats at each level until none takes the file: 0, or a
 * negative errno with ctx->err set (-ELOOP past PB_MAX_EXEC_LEVELS).
 */
int pb_formats_run(struct pb_ctx *ctx);

/*
 * The next level: fd (owned from now on, also on failure), the interpreter
 * front[0] names, becomes the program and its path exec_name and exec_path;
 * argv becomes front[0..nfront) followed by the current argv from index
 * keep_from, all copied into one store the context owns (front may point into
 * the previous one). 0, or a negative errno with ctx->err set.
 */
int pb_ctx_exec_replace(struct pb_ctx *ctx, int fd, const char *const *front, size_t nfront, size_t keep_from);

/*
 * The interpreter at path, opened with open_exec's checks (a regular,
 * executable file, not on a noexec mount); what names it in messages ("#!
 * interpreter"). An fd, or a negative errno with ctx->err set.
 */
int pb_open_interpreter(struct pb_ctx *ctx, const char *path, const char *what);
