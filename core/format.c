/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/format.h"
#include "core/util.h"

int pb_format_add(struct pb_ctx *ctx, const struct pb_format *f)
{
	for (unsigned i = 0; i < ctx->nformats; i++)
		if (strcmp(ctx->formats[i].name, f->name) == 0) {
			if (f->free)
				f->free(f->data);
			return pb_fail(ctx, PB_EINVAL, "the %s format is in the pipeline twice", f->name);
		}
	if (ctx->nformats == sizeof(ctx->formats) / sizeof(ctx->formats[0])) {
		if (f->free)
			f->free(f->data);
		return pb_fail(ctx, PB_EINVAL, "too many formats");
	}
	ctx->formats[ctx->nformats++] = *f;
	return 0;
}

/* 1 when a format took the program, 0 when none did, or a negative errno. */
static int try_formats(struct pb_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->nformats; i++) {
		int r = ctx->formats[i].try_exec(ctx, ctx->formats[i].data);
		if (r != 0)
			return r;
	}
	return 0;
}

int pb_formats_run(struct pb_ctx *ctx)
{
	int r;

	while ((r = try_formats(ctx)) > 0)
		/* as exec_binprm: the sixth interpreter is opened, then refused */
		if (++ctx->exec_levels > PB_MAX_EXEC_LEVELS)
			return pb_err_sys(&ctx->err, ctx->stage, -ELOOP, "more than %d levels of interpreters",
					  PB_MAX_EXEC_LEVELS);
	return r;
}

static char **copy_argv(const char *const *front, size_t nfront, char *const *rest, size_t nrest, char **ret_store)
{
	size_t n = nfront + nrest, len = 0;
	char **argv = calloc(n + 1, sizeof(char *)), *p;

	for (size_t i = 0; i < n; i++)
		len += strlen(i < nfront ? front[i] : rest[i - nfront]) + 1;
	*ret_store = p = malloc(len ? len : 1);
	if (!argv || !p) {
		free(argv);
		free(p);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		argv[i] = strcpy(p, i < nfront ? front[i] : rest[i - nfront]);
		p += strlen(p) + 1;
	}
	return argv;
}

int pb_ctx_exec_replace(struct pb_ctx *ctx, int fd, const char *const *front, size_t nfront, size_t keep_from)
{
	size_t nrest = ctx->argc > keep_from ? ctx->argc - keep_from : 0;
	char *store = NULL, **argv = copy_argv(front, nfront, ctx->argv + keep_from, nrest, &store);

	if (!argv) {
		close(fd);
		return pb_fail(ctx, PB_ENOMEM, "out of memory");
	}
	/* the previous level's, if any: nothing points into it now (path and front are copied first) */
	free(ctx->argv_store);
	free(ctx->str_store);
	ctx->argv_store = argv;
	ctx->str_store = store;
	ctx->argv = argv;
	ctx->argc = nfront + nrest;
	if (ctx->exec_fd_owned)
		close(ctx->exec_fd);
	ctx->exec_fd = fd;
	ctx->exec_fd_owned = true;
	pb_ctx_exec_changed(ctx);
	/* bprm->interp: the name the next level's messages, script argv and binfmt extensions use */
	ctx->exec_name = ctx->exec_path = argv[0];
	return 0;
}

int pb_open_interpreter(struct pb_ctx *ctx, const char *path, const char *what)
{
	const char *why = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return pb_err_sys(&ctx->err, ctx->stage, -errno, "%s %s", what, path);
	r = pb_check_exec_file(fd, &why);
	if (r < 0) {
		close(fd);
		return r == -EACCES ? pb_fail(ctx, PB_EACCES, "%s %s %s", what, path, why)
				    : pb_err_sys(&ctx->err, ctx->stage, r, "%s %s", what, path);
	}
	return fd;
}
