/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* True if s[0..len) is exactly one valid JSON value (RFC 8259 syntax). */
bool json_valid(const char *s, size_t len);
