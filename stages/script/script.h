/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * script: "#!" scripts, as the kernel's binfmt_script (5.0+) runs them. The
 * first line, read from the file's first 256 bytes, names an interpreter and
 * at most one argument (the rest of the line, blanks inside kept; CR is not a
 * blank). A line with no newline in those bytes is cut at byte 255: the
 * argument may be cut, but when no blank or NUL ends the interpreter's name
 * within them the file is refused (PB_EPARSE, -ENOEXEC), as the kernel refuses
 * it. A line of blanks is -ENOEXEC too; an empty name ("#!" alone, "#!\0...")
 * is -EACCES, as the kernel's open of "" gives. The program becomes the
 * interpreter with argv [interpreter, (argument), path, argv[1..]], path being
 * ctx->exec_name (the pathname; for nested scripts the previous interpreter,
 * as the kernel pushes bprm->interp). AT_EXECFN and the process name stay the
 * script's. Up to 5 levels of interpreters (with binfmt's, core/format.h),
 * then ELOOP. Files that are not scripts pass through untouched.
 * Options: none.
 */
int pb_stage_script(struct pb_ctx *ctx, const struct pb_stage_opts *opts);

#define PB_BINPRM_BUF_SIZE 256
