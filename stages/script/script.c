/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stages/script/script.h"

struct shebang {
	char *name, *arg;	/* point into buf */
	char buf[PB_BINPRM_BUF_SIZE + 1];
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* 1 if the file is a script (filled in), 0 if not, negative errno with ctx->err set. */
static int read_shebang(struct pb_ctx *ctx, struct shebang *sb)
{
	const uint8_t *head;
	ssize_t n = pb_ctx_exec_head(ctx, &head);
	char *end, *p;

	if (n < 0)
		return (int)n;
	if (n < 2 || head[0] != '#' || head[1] != '!')
		return 0;
	if (n > PB_BINPRM_BUF_SIZE) /* binfmt_script sees BINPRM_BUF_SIZE bytes */
		n = PB_BINPRM_BUF_SIZE;
	memcpy(sb->buf, head, (size_t)n);
	sb->buf[n] = 0;
	end = memchr(sb->buf, '\n', (size_t)n);
	if (!end) {
		if (n == PB_BINPRM_BUF_SIZE)
			return pb_fail(ctx, PB_EPARSE, "%s: the #! line is longer than %d bytes",
				       ctx->exec_name, PB_BINPRM_BUF_SIZE);
		end = sb->buf + n;
	}
	*end = 0;
	while (end > sb->buf + 2 && is_blank(end[-1]))
		*--end = 0;
	for (p = sb->buf + 2; is_blank(*p); p++)
		;
	if (!*p)
		return pb_fail(ctx, PB_EPARSE, "%s: the #! line names no interpreter", ctx->exec_name);
	sb->name = p;
	while (*p && !is_blank(*p))
		p++;
	sb->arg = NULL;
	if (*p) {
		*p++ = 0;
		while (is_blank(*p))
			p++;
		if (*p)
			sb->arg = p; /* the rest of the line, one argument */
	}
	return 1;
}

/*
 * argv [name, (arg), path, argv[1..]], all copied into one store the context
 * owns. path is the file being replaced (binfmt_script pushes bprm->interp):
 * the pathname at the first level, the previous interpreter after that.
 */
static int rewrite_argv(struct pb_ctx *ctx, const struct shebang *sb)
{
	const char *filename = ctx->exec_name;
	size_t rest = ctx->argc ? ctx->argc - 1 : 0, n = 2 + (sb->arg != NULL) + rest, k = 0, len = 0;
	const char **src = calloc(n, sizeof(char *));
	char **argv = calloc(n + 1, sizeof(char *)), *store = NULL, *p;

	if (!src || !argv)
		goto out_nomem;
	src[k++] = sb->name;
	if (sb->arg)
		src[k++] = sb->arg;
	src[k++] = filename;
	for (size_t i = 0; i < rest; i++)
		src[k++] = ctx->argv[i + 1];
	for (size_t i = 0; i < n; i++)
		len += strlen(src[i]) + 1;
	store = p = malloc(len);
	if (!store)
		goto out_nomem;
	for (size_t i = 0; i < n; i++) {
		argv[i] = strcpy(p, src[i]);
		p += strlen(p) + 1;
	}
	free(src);
	free(ctx->argv_store); /* the previous level's, if any: nothing points into it now */
	free(ctx->str_store);
	ctx->argv_store = argv;
	ctx->str_store = store;
	ctx->argv = argv;
	ctx->argc = n;
	return 0;

out_nomem:
	free(src);
	free(argv);
	return pb_fail(ctx, PB_ENOMEM, "out of memory");
}

/* open_exec's checks on the interpreter. */
static int open_interpreter(struct pb_ctx *ctx, const char *path)
{
	const char *why = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return pb_err_sys(&ctx->err, ctx->stage, -errno, "#! interpreter %s", path);
	r = pb_check_exec_file(fd, &why);
	if (r < 0) {
		close(fd);
		return r == -EACCES ? pb_fail(ctx, PB_EACCES, "#! interpreter %s %s", path, why)
				    : pb_err_sys(&ctx->err, ctx->stage, r, "#! interpreter %s", path);
	}
	return fd;
}

int pb_stage_script(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	struct shebang *sb = malloc(sizeof(*sb));
	int depth, r = 0, fd;

	if (!sb)
		return pb_fail(ctx, PB_ENOMEM, "out of memory");
	for (depth = 0;; depth++) {
		r = read_shebang(ctx, sb);
		if (r <= 0)
			break;
		if (depth == PB_SCRIPT_MAX_DEPTH) {
			r = pb_err_sys(&ctx->err, ctx->stage, -ELOOP, "more than %d levels of #! interpreters",
				       PB_SCRIPT_MAX_DEPTH);
			break;
		}
		fd = open_interpreter(ctx, sb->name);
		if (fd < 0) {
			r = fd;
			break;
		}
		r = rewrite_argv(ctx, sb);
		if (r < 0) {
			close(fd);
			break;
		}
		if (ctx->exec_fd_owned)
			close(ctx->exec_fd);
		ctx->exec_fd = fd;
		ctx->exec_fd_owned = true;
		pb_ctx_exec_changed(ctx);
		ctx->exec_name = ctx->argv[0];
	}
	free(sb);
	return r < 0 ? r : 0;
}
