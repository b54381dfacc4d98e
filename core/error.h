/* SPDX-License-Identifier: MIT */
#pragma once
#include "procbuilder.h"
#include "core/util.h"

/*
 * Fills err (code, detail, message; stage only if stage is not NULL) and
 * returns the negative errno of the error, so "return pb_err_set(...)" works.
 */
int pb_err_set(struct pb_error *err, const char *stage, enum pb_code code,
	       int detail, const char *fmt, ...) PB_PRINTF(5, 6);

/* The same for a failed system call: code PB_ESYS, sys_errno = -neg_errno. */
int pb_err_sys(struct pb_error *err, const char *stage, int neg_errno,
	       const char *fmt, ...) PB_PRINTF(4, 5);

/* Sets the stage of err if none is set yet. */
void pb_err_stage(struct pb_error *err, const char *stage);

/* Clears err to PB_OK. */
void pb_err_clear(struct pb_error *err);
/* The code's enum name ("PB_EPARSE"), stable for machine-read output. */
const char *pb_code_symbol(enum pb_code code);
