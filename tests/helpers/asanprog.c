/* SPDX-License-Identifier: MIT */
/* A real -fsanitize=address program: "ok" when its shadow works, a report on overflow. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char *p = malloc(16);

	if (argc > 1 && strcmp(argv[1], "overflow") == 0)
		p[16 + (argc > 5)] = 1; /* one past the end: ASan must catch it */
	else
		p[0] = 1;
	printf("ok %d\n", p[0]);
	free(p);
	return 0;
}
