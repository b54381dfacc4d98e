/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stages/script/script.h"

struct shebang {
	const char *name, *arg;	/* point into buf */
	char buf[PB_BINPRM_BUF_SIZE + 1];	/* one more byte: a NUL after the last */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The first byte in [first, last] that is not a blank, or NULL (binfmt_script's next_non_spacetab). */
static char *skip_blanks(char *first, const char *last)
{
	for (; first <= last; first++)
		if (!is_blank(*first))
			return first;
	return NULL;
}

/* The first blank or NUL in [first, last], or NULL (binfmt_script's next_terminator). */
static char *find_terminator(char *first, const char *last)
{
	for (; first <= last; first++)
		if (is_blank(*first) || !*first)
			return first;
	return NULL;
}

/*
 * The end of the #! line as binfmt_script (5.0+) finds it in its 256-byte
 * buffer (zero-padded past the end of the file), or NULL for ENOEXEC. Without
 * a newline the line is cut at the buffer's last byte, which is given up to
 * the NUL: the argument may be cut (the interpreter can re-read the file), but
 * an interpreter name that runs to the end of the buffer may be cut too, and
 * the kernel refuses it. Measured on 6.18: "#!/x AAA...A" of 400 bytes runs /x
 * with 251 A's; "#!////.../x" with no blank within 256 bytes is ENOEXEC.
 */
static char *line_end(char *buf)
{
	char *buf_end = buf + PB_BINPRM_BUF_SIZE - 1, *end = memchr(buf, '\n', PB_BINPRM_BUF_SIZE), *name;

	if (end)
		return end;
	name = skip_blanks(buf + 2, buf_end);
	if (!name || !find_terminator(name, buf_end))
		return NULL;
	return buf_end;
}

static int no_interpreter(struct pb_ctx *ctx, const char *why)
{
	return pb_fail(ctx, PB_EPARSE, "%s: the #! line %s", ctx->exec_name, why);
}

/* 1 if the file is a script (filled in), 0 if not, negative errno with ctx->err set. */
static int read_shebang(struct pb_ctx *ctx, struct shebang *sb)
{
	const uint8_t *head;
	ssize_t n = pb_ctx_exec_head(ctx, &head);
	char *end, *name, *sep;

	if (n < 0)
		return (int)n;
	if (n < 2 || head[0] != '#' || head[1] != '!')
		return 0;
	memset(sb->buf, 0, sizeof(sb->buf));
	memcpy(sb->buf, head, n < PB_BINPRM_BUF_SIZE ? (size_t)n : PB_BINPRM_BUF_SIZE);
	end = line_end(sb->buf);
	if (!end)
		return no_interpreter(ctx, "has no blank within 256 bytes: the interpreter's name may be cut");
	while (is_blank(end[-1]))
		end--;
	name = skip_blanks(sb->buf + 2, end);
	if (!name || name == end)
		return no_interpreter(ctx, "names no interpreter");
	sep = find_terminator(name, end);
	sb->arg = sep && *sep ? skip_blanks(sep, end) : NULL;
	*end = 0;
	if (sb->arg)
		*sep = 0; /* the rest of the line, NUL or not, is one argument */
	sb->name = name;
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
	int fd, r;

	/* the kernel resolves "" (a #! line of blanks and NULs) to the working directory: EACCES, measured */
	if (!*path)
		return pb_fail(ctx, PB_EACCES, "%s: the #! line names an empty interpreter", ctx->exec_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
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
