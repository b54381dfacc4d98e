/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdio.h>

/*
 * Every JSON output says what it is and which version of its schema
 * (docs/json.md, docs/schema/NAME.schema.json): "format":"procbuilder-NAME",
 * "format_version":N. A field added keeps N; one removed or changed bumps it.
 */
#define PB_JSON_INSPECT_VERSION 1
#define PB_JSON_PLAN_VERSION 1
#define PB_JSON_TRACE_VERSION 1
/* Writes the two fields (no braces, no comma after). */
void pb_json_format(FILE *f, const char *name, int version);

/* Writes s as a JSON string literal (quotes included). */
void pb_json_str(FILE *f, const char *s);
/* Writes len bytes of s as a JSON string literal. */
void pb_json_strn(FILE *f, const char *s, size_t len);
