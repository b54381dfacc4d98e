/* SPDX-License-Identifier: MIT */
/*
 * A real sanitized program (ASan, TSan, MSan; built by configure.py with gcc
 * and clang): a thread and a heap block, "ok 1" when the runtime found the
 * layout it needs. TSan and MSan re-exec themselves when it does not suit them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *thread(void *arg)
{
	return arg;
}

int main(void)
{
	pthread_t t;
	char *p = malloc(8);

	if (!p || pthread_create(&t, NULL, thread, NULL) != 0 || pthread_join(t, NULL) != 0)
		return 1;
	p[0] = 1;
	printf("ok %d\n", p[0]);
	free(p);
	return 0;
}
