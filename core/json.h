/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdio.h>

/* Writes s as a JSON string literal (quotes included). */
void pb_json_str(FILE *f, const char *s);
/* Writes len bytes of s as a JSON string literal. */
void pb_json_strn(FILE *f, const char *s, size_t len);
