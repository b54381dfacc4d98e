/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/built.h"

static char *read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	while (buf) {
		if (len + 1 == cap) {
			grown = realloc(buf, cap *= 2);
			if (!grown)
				free(buf);
			buf = grown;
			continue;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

int build_and_collect(struct pb_builder *b, char **out, int *status, struct pb_error *err)
{
	struct pb_built *p = NULL;
	int pfd[2], r;

	*out = NULL;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	struct pb_startup_fd out_fd = {pfd[1], PB_FD_NUMBERED, 1, NULL};
	r = pb_add_fds(b, &out_fd, 1, err);
	if (r == 0)
		r = pb_build(b, &p, err);
	close(pfd[1]);
	if (r == 0)
		r = pb_start(p, err);
	if (r == 0) {
		*out = read_all(pfd[0]);
		r = pb_wait(p, status);
	}
	close(pfd[0]);
	pb_built_free(p);
	return r;
}
