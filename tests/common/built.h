/* SPDX-License-Identifier: MIT */
#pragma once

struct pb_builder;
struct pb_error;

/*
 * Builds b with stdout (fd 1) into a pipe, starts it, collects what it
 * printed (*out, malloc'd) and waits for it (*status). Returns pb_build's or
 * pb_start's result; on failure err says why and *out is NULL.
 */
int build_and_collect(struct pb_builder *b, char **out, int *status, struct pb_error *err);
