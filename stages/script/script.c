/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/format.h"
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
 * with the A's of bytes 5..254 as its argument; "#!////.../x" with no blank
 * within 256 bytes is ENOEXEC.
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
 * The next level, as binfmt_script makes it: argv [name, (arg), path,
 * argv[1..]], path being the file replaced (bprm->interp: the pathname at the
 * first level, the previous interpreter after that).
 */
static int run_interpreter(struct pb_ctx *ctx, const struct shebang *sb)
{
	const char *front[3];
	size_t n = 0;
	int fd;

	/* the kernel resolves "" (a #! line of blanks and NULs) to the working directory: EACCES, measured */
	if (!*sb->name)
		return pb_fail(ctx, PB_EACCES, "%s: the #! line names an empty interpreter", ctx->exec_name);
	fd = pb_open_interpreter(ctx, sb->name, "#! interpreter");
	if (fd < 0)
		return fd;
	front[n++] = sb->name;
	if (sb->arg)
		front[n++] = sb->arg;
	front[n++] = ctx->exec_name;
	return pb_ctx_exec_replace(ctx, fd, front, n, 1);
}

/* The script format (core/format.h): 1 when the program was a script and is now its interpreter. */
static int try_script(struct pb_ctx *ctx, void *data)
{
	struct shebang *sb = malloc(sizeof(*sb)); /* (on the heap: callers may run on a 16 KiB stack) */
	int r;

	(void)data;
	if (!sb)
		return pb_fail(ctx, PB_ENOMEM, "out of memory");
	r = read_shebang(ctx, sb);
	if (r > 0 && (r = run_interpreter(ctx, sb)) == 0)
		r = 1;
	free(sb);
	return r;
}

int pb_stage_script(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	int r = pb_format_add(ctx, &(struct pb_format){.name = "script", .try_exec = try_script});

	(void)opts;
	return r < 0 ? r : pb_formats_run(ctx);
}
