/* SPDX-License-Identifier: MIT */
/* A launcher that only execs PROG ARGS... (the floor of any exec-in-place wrapper). */
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc >= 2)
		execve(argv[1], argv + 1, environ);
	return 127;
}
