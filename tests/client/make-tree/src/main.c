/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include "tiny.h"

int main(void)
{
	int v[] = {1, 2, 3};

	printf("%s %d %d\n", tiny_word(tiny_sum(v, 3)), tiny_sum(v, 3), count_words("a small tree"));
	return 0;
}
