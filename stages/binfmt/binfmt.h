/* SPDX-License-Identifier: MIT */
#pragma once
#include "core/ctx.h"

/*
 * binfmt: files the host's binfmt_misc registrations hand to an interpreter
 * (qemu-user for another architecture, wine, jar launchers), as
 * fs/binfmt_misc.c matches and runs them, tried before #! at every
 * interpreter level (core/format.h: the kernel tries binfmt_misc first and
 * counts its levels with binfmt_script's towards one limit).
 *
 * Registrations are read from the entry files of a binfmt_misc directory
 * (when the stage runs; without a `status` file, binfmt_misc is not mounted
 * there and nothing matches; a `status` of "disabled" matches nothing either).
 * Each entry is "enabled"/"disabled", "interpreter PATH", "flags: [POCF]",
 * then "offset N", "magic HEX" and optionally "mask HEX", or "extension .EXT";
 * a malformed entry is an error naming it. Enabled entries are tried in the
 * order the directory lists them, which on binfmt_misc is newest first, the
 * kernel's order. A magic matches the file's first 256 bytes (zero past its
 * end) at offset under mask; an extension matches what follows the last '.'
 * of the file's path (ctx->exec_path: a bare fd has none and matches no
 * extension, as execveat(fd, "") does not).
 *
 * A match makes the interpreter the program with argv [interpreter, path,
 * argv[1..]], or with flag P [interpreter, path, argv[0], argv[1..]].
 * Flag F: the kernel opened the interpreter at registration; here it is
 * opened when the stage runs (a later change of the path shows). Flags C
 * (credentials from the file; the kernel sets O with it) and O (the file
 * passed open as AT_EXECFD) are
 * refused with PB_EACCES naming the entry: C would take the file's privilege
 * for its interpreter, which cannot be given from outside, and O exists for
 * files the interpreter cannot read, which we cannot read either.
 *
 * Options: enabled (bool, default true): false leaves the registrations
 * alone; dir (string, default /proc/sys/fs/binfmt_misc): the directory read.
 */
int pb_stage_binfmt(struct pb_ctx *ctx, const struct pb_stage_opts *opts);

#define PB_BINFMT_DIR "/proc/sys/fs/binfmt_misc"
