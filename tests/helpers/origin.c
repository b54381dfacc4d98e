/* SPDX-License-Identifier: MIT */
/*
 * A program whose library is found through an $ORIGIN/../lib rpath: ld.so
 * takes $ORIGIN from /proc/self/exe, so it runs only where exe is right.
 */
#include <stdio.h>

int pb_origin_answer(void);

int main(void)
{
	printf("origin %d\n", pb_origin_answer());
	return 0;
}
