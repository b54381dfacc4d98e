/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>

/* How many fds this process has open (from /proc/self/fd). */
int count_open_fds(void);
/* True if this process has no child left (not even a zombie). */
bool no_children(void);
/* The contents of a small file, malloc'd, or NULL. */
char *slurp(const char *path);
