/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * vdso: the vDSO of the new process (the seed's set_vdso_vmo).
 * Options:
 *   policy: "system" (default: the kernel's [vvar]/[vdso] where it put
 *           them), "none" (unmapped, no AT_SYSINFO_EHDR), or "custom" (the
 *           ELF image in ctx->vdso_fd, mapped top-down as the vDSO, with
 *           AT_SYSINFO_EHDR at its first byte). A custom image that is not
 *           ELF fails with PB_EPARSE "invalid file header".
 * The caller's choice (pb_set_vdso) wins over the option.
 */
int pb_stage_vdso(struct pb_ctx *ctx, const struct pb_stage_opts *opts);
