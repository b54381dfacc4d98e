/* SPDX-License-Identifier: MIT */
/*
 * A builder's arguments and environment: appended (copied), unset, cleared,
 * and the pathname the program sees as AT_EXECFN.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "launch/launch.h"

static int append(char ***v, size_t *n, const char *const *add, size_t nadd)
{
	char **nv = reallocarray(*v, *n + nadd + 1, sizeof(char *));

	if (!nv)
		return -ENOMEM;
	*v = nv;
	for (size_t i = 0; i < nadd; i++) {
		if (!add[i] || !(nv[*n] = strdup(add[i]))) {
			nv[*n] = NULL;
			return add[i] ? -ENOMEM : -EINVAL;
		}
		(*n)++;
	}
	nv[*n] = NULL;
	return 0;
}

PB_API int pb_add_arguments(struct pb_builder *b, const char *const *args, size_t n)
{
	return append(&b->argv, &b->argc, args, n);
}

PB_API int pb_add_environment(struct pb_builder *b, const char *const *vars, size_t n)
{
	return append(&b->envp, &b->envc, vars, n);
}

PB_API int pb_unset_environment(struct pb_builder *b, const char *name)
{
	size_t len = name ? strlen(name) : 0, n = 0;

	if (len == 0 || strchr(name, '='))
		return -EINVAL;
	for (size_t i = 0; i < b->envc; i++) {
		if (strncmp(b->envp[i], name, len) == 0 && b->envp[i][len] == '=')
			free(b->envp[i]);
		else
			b->envp[n++] = b->envp[i];
	}
	b->envc = n;
	b->envp[n] = NULL;
	return 0;
}

PB_API int pb_clear_environment(struct pb_builder *b)
{
	for (size_t i = 0; i < b->envc; i++)
		free(b->envp[i]);
	b->envc = 0;
	b->envp[0] = NULL;
	return 0;
}

PB_API int pb_set_execfn(struct pb_builder *b, const char *path)
{
	char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	free(b->execfn);
	b->execfn = p;
	return 0;
}
