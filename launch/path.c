/* SPDX-License-Identifier: MIT */
/*
 * DOC: PATH search, as execvp and posix_spawnp do it: a name with a slash is
 * used as it is; otherwise each PATH entry in turn (an empty one is the
 * current directory), a found file that is not executable remembered as
 * EACCES while the search goes on, ENOENT if nothing is found. Without PATH,
 * glibc's default "/bin:/usr/bin".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch/launch.h"

/* 0 if path is a regular file we may execute; else the errno execve would give. */
static int exec_file_errno(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno;
	return S_ISREG(st.st_mode) && access(path, X_OK) == 0 ? 0 : EACCES;
}

PB_API int pb_find_program(const char *name, const char *path, char **ret)
{
	int e = ENOENT, ce;

	*ret = NULL;
	if (!name || !name[0])
		return -ENOENT;
	if (strchr(name, '/')) {
		ce = exec_file_errno(name);
		return ce ? -ce : (*ret = strdup(name)) ? 0 : -ENOMEM;
	}
	if (!path)
		path = "/bin:/usr/bin";
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		char *cand;
		if (asprintf(&cand, "%.*s%s%s", (int)(end - p), p, end == p ? "" : "/", name) < 0)
			return -ENOMEM;
		ce = exec_file_errno(cand);
		if (ce == 0) {
			*ret = cand;
			return 0;
		}
		free(cand);
		if (ce == EACCES)
			e = EACCES;
		if (!*end)
			break;
		p = end;
	}
	return -e;
}
