/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * interp: finds the program's PT_INTERP interpreter (the seed's loader
 * service) and parses it into ctx->interp. Static programs pass through.
 * Options:
 *   resolver: "auto" (default: fd if one was given, else sysroot if one was
 *             given, else host), "host" (open the path as the kernel does),
 *             "sysroot" (resolve it under ctx->sysroot_fd, as if chrooted),
 *             "fd" (ctx->interp_override_fd, whatever PT_INTERP says),
 *             "none" (a dynamic program fails with PB_ELOADER_MISSING).
 *   strict:   parse the interpreter strictly (bool, default true).
 * Errors: the open's errno (ENOENT, EACCES, ...) as PB_ESYS; an interpreter
 * that is not a valid ET_DYN/ET_EXEC, or has its own PT_INTERP, is PB_EINTERP
 * (-ELIBBAD, like the kernel).
 */
int pb_stage_interp(struct pb_ctx *ctx, const struct pb_stage_opts *opts);
