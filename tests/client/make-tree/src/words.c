/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include "tiny.h"

int count_words(const char *s)
{
	int n = 0, in = 0;

	for (; *s; s++) {
		n += !in && !isspace((unsigned char)*s);
		in = !isspace((unsigned char)*s);
	}
	return n;
}
