/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/*
 * The installed exe helper (launch/exehelper.c): $PROCBUILDER_EXE_HELPER
 * (ignored in a secure exec; empty: none), else the installed prefix's.
 * NULL: none.
 */
const char *pb_exe_helper_path(void);

/*
 * The helper's path if it can set /proc/PID/exe to the program in prog_fd
 * for this caller (it is installed with its capability, the caller is one
 * the capability counts for and loses nothing by, the program is a file it
 * accepts); else NULL. Either way why[len] says so, for the trace.
 */
const char *pb_exe_helper_choose(int prog_fd, char *why, size_t len);

/* One trace record for exe (trace: 1 text, 2 JSON; 0 nothing) on stderr or appended to trace_file. */
void pb_exe_trace(const char *trace_file, int trace, const char *note);
