/* SPDX-License-Identifier: MIT */
#include "tiny.h"

const char *tiny_word(int i)
{
	static const char *const words[] = {"zero", "one", "two", "three"};

	return words[i & 3];
}
