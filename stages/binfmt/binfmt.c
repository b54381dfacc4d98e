/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/format.h"
#include "core/util.h"
#include "stages/binfmt/binfmt.h"

#define BUF_SIZE 256		/* BINPRM_BUF_SIZE: what a magic can reach */
#define ENTRY_MAX 4096		/* an entry file is one page at most */

/* One registration, as its entry file shows it. */
struct entry {
	char name[NAME_MAX + 1];
	bool enabled;
	char *interpreter;	/* points into text */
	bool preserve_argv0, open_binary, credentials, fix_binary;	/* P, O, C, F */
	const char *extension;	/* without its dot (points into text), or NULL: a magic */
	unsigned offset;
	size_t size;		/* of magic (and mask) */
	uint8_t magic[BUF_SIZE], mask[BUF_SIZE];
	bool has_mask;
	char text[ENTRY_MAX + 1];
};

/* (entries point into themselves: each one is allocated on its own) */
struct table {
	struct entry **v;
	size_t n;
};

static void table_free(void *data)
{
	struct table *t = data;

	for (size_t i = 0; t && i < t->n; i++)
		free(t->v[i]);
	if (t)
		free(t->v);
	free(t);
}

static int malformed(struct pb_ctx *ctx, const char *dir, const struct entry *e, const char *why)
{
	return pb_fail(ctx, PB_EINVAL, "binfmt_misc entry %s/%s: %s", dir, e->name, why);
}

/* Decodes the hex of a magic or mask: its length, or -1. */
static ssize_t unhex(const char *s, uint8_t *out)
{
	size_t len = strlen(s), i;
	unsigned byte;

	if (len == 0 || len % 2 || len / 2 > BUF_SIZE)
		return -1;
	for (i = 0; i < len / 2; i++) {
		if (!strchr("0123456789abcdefABCDEF", s[2 * i]) || !strchr("0123456789abcdefABCDEF", s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &byte) != 1)
			return -1;
		out[i] = (uint8_t)byte;
	}
	return (ssize_t)(len / 2);
}

static bool set_flags(struct entry *e, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case 'P': e->preserve_argv0 = true; break;
		case 'O': e->open_binary = true; break;
		case 'C': e->credentials = true; break;
		case 'F': e->fix_binary = true; break;
		default: return false;
		}
	}
	return true;
}

/* One line after the status: NULL if understood, else why not. */
static const char *parse_line(struct entry *e, char *line)
{
	char *end;
	ssize_t n;

	if (strncmp(line, "interpreter ", 12) == 0 && line[12]) /* (the kernel takes any non-empty path) */
		e->interpreter = line + 12;
	else if (strncmp(line, "flags: ", 7) == 0 || strcmp(line, "flags:") == 0)
		return set_flags(e, line + (line[6] ? 7 : 6)) ? NULL : "unknown flag (P, O, C or F)";
	else if (strncmp(line, "extension .", 11) == 0 && line[11])
		e->extension = line + 11;
	else if (strncmp(line, "offset ", 7) == 0) {
		errno = 0;
		e->offset = (unsigned)strtoul(line + 7, &end, 10);
		if (errno || *end || end == line + 7 || e->offset >= BUF_SIZE)
			return "offset is not a number below 256";
	} else if (strncmp(line, "magic ", 6) == 0) {
		if ((n = unhex(line + 6, e->magic)) < 0)
			return "magic is not hex";
		e->size = (size_t)n;
	} else if (strncmp(line, "mask ", 5) == 0) {
		if ((n = unhex(line + 5, e->mask)) < 0 || (size_t)n != e->size)
			return "mask is not hex as long as the magic";
		e->has_mask = true;
	} else {
		return "a line that is not enabled/disabled, interpreter, flags, offset, magic, mask or extension";
	}
	return NULL;
}

/* Fills e from its text (an entry file's); NULL, or why it is malformed. */
static const char *parse_entry(struct entry *e)
{
	char *save = NULL, *line = strtok_r(e->text, "\n", &save);
	const char *why;

	if (!line || (strcmp(line, "enabled") && strcmp(line, "disabled")))
		return "the first line is not enabled or disabled";
	e->enabled = line[0] == 'e';
	while ((line = strtok_r(NULL, "\n", &save)))
		if ((why = parse_line(e, line)))
			return why;
	if (!e->interpreter)
		return "no interpreter line";
	if (!e->extension == !e->size)
		return "neither a magic nor an extension, or both";
	if (e->size && e->offset + e->size > BUF_SIZE)
		return "offset + magic past the 256 bytes the kernel reads";
	return NULL;
}

/* Reads dir/name into e; 0, or a negative errno with ctx->err set. */
static int read_entry(struct pb_ctx *ctx, int dirfd, const char *dir, const char *name, struct entry *e)
{
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	const char *why;

	memset(e, 0, sizeof(*e));
	snprintf(e->name, sizeof(e->name), "%s", name);
	if (fd < 0)
		return pb_err_sys(&ctx->err, ctx->stage, -errno, "binfmt_misc entry %s/%s", dir, name);
	n = pb_pread_full(fd, e->text, ENTRY_MAX, 0);
	close(fd);
	if (n < 0)
		return pb_err_sys(&ctx->err, ctx->stage, (int)n, "reading binfmt_misc entry %s/%s", dir, name);
	e->text[n] = 0;
	why = parse_entry(e);
	return why ? malformed(ctx, dir, e, why) : 0;
}

/* Whether binfmt_misc's status file, open at fd (or -1: not mounted), says "enabled"; closes fd. */
static bool misc_enabled(int fd)
{
	char status[16] = "";
	ssize_t n = fd < 0 ? -1 : pb_pread_full(fd, status, sizeof(status) - 1, 0);

	if (fd >= 0)
		close(fd);
	return n > 0 && strncmp(status, "enabled", 7) == 0;
}

static bool is_entry_file(int dirfd, const struct dirent *d)
{
	struct stat st;

	if (d->d_name[0] == '.' || strcmp(d->d_name, "status") == 0 || strcmp(d->d_name, "register") == 0)
		return false;
	return fstatat(dirfd, d->d_name, &st, 0) == 0 && S_ISREG(st.st_mode);
}

/* Appends dir's entry `name` to t; 0, or a negative errno with ctx->err set. */
static int add_entry(struct pb_ctx *ctx, int dirfd, const char *dir, const char *name, struct table *t)
{
	struct entry **grown = realloc(t->v, (t->n + 1) * sizeof(*t->v)), *e = malloc(sizeof(*e));
	int r;

	if (grown)
		t->v = grown;
	if (!grown || !e) {
		free(e);
		return pb_fail(ctx, PB_ENOMEM, "out of memory");
	}
	r = read_entry(ctx, dirfd, dir, name, e);
	if (r < 0) {
		free(e);
		return r;
	}
	t->v[t->n++] = e;
	return 0;
}

/*
 * The registrations in dir, in its order (none when binfmt_misc is not there
 * or disabled; a kernel without binfmt_misc has no default directory at all).
 */
static int load_table(struct pb_ctx *ctx, const char *dir, bool given, struct table *t)
{
	char *status = NULL; /* on the heap: the CLI runs on a 16 KiB stack */
	int dirfd, r = 0;
	bool enabled;
	DIR *d;
	struct dirent *de;

	/*
	 * The status file first, by its path: where binfmt_misc is not mounted
	 * (no status) that is one system call a plan, not three.
	 */
	if (asprintf(&status, "%s/status", dir) < 0)
		return pb_fail(ctx, PB_ENOMEM, "out of memory");
	enabled = misc_enabled(open(status, O_RDONLY | O_CLOEXEC));
	free(status);
	if (!enabled) {
		/* a directory given that does not exist is an error; not mounted or disabled is no entries */
		if (given && (dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			return pb_err_sys(&ctx->err, ctx->stage, -errno, "binfmt_misc directory %s", dir);
		if (given)
			close(dirfd);
		return 0;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return pb_err_sys(&ctx->err, ctx->stage, -errno, "binfmt_misc directory %s", dir);
	d = fdopendir(dirfd);
	if (!d) {
		r = pb_err_sys(&ctx->err, ctx->stage, -errno, "binfmt_misc directory %s", dir);
		close(dirfd);
		return r;
	}
	while (r == 0 && (de = readdir(d)))
		if (is_entry_file(dirfd, de))
			r = add_entry(ctx, dirfd, dir, de->d_name, t);
	closedir(d);
	return r;
}

/* check_file's test, for one enabled entry. */
static bool entry_matches(const struct entry *e, const uint8_t buf[BUF_SIZE], const char *path)
{
	const char *dot = path ? strrchr(path, '.') : NULL;

	if (e->extension)
		return dot && strcmp(e->extension, dot + 1) == 0;
	for (size_t j = 0; j < e->size; j++)
		if ((buf[e->offset + j] ^ e->magic[j]) & (e->has_mask ? e->mask[j] : 0xff))
			return false;
	return true;
}

static const struct entry *find_entry(struct pb_ctx *ctx, const struct table *t, const uint8_t buf[BUF_SIZE])
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i]->enabled && entry_matches(t->v[i], buf, ctx->exec_path))
			return t->v[i];
	return NULL;
}

/* The next level, as load_misc_binary makes it. */
static int run_interpreter(struct pb_ctx *ctx, const struct entry *e)
{
	const char *front[2] = {e->interpreter, ctx->exec_name};
	int fd;

	if (e->credentials)
		return pb_fail(ctx, PB_EACCES, "%s: binfmt_misc entry %s has flag C (the interpreter runs with the "
			       "file's credentials), which cannot be given from outside; run it directly",
			       ctx->exec_name, e->name);
	if (e->open_binary)
		return pb_fail(ctx, PB_EACCES, "%s: binfmt_misc entry %s has flag O (the file passed open as "
			       "AT_EXECFD), which procbuilder does not do; run it directly", ctx->exec_name, e->name);
	/* F: the kernel uses the file it opened at registration; we open the path now */
	fd = pb_open_interpreter(ctx, e->interpreter, "binfmt_misc interpreter");
	if (fd < 0)
		return fd;
	return pb_ctx_exec_replace(ctx, fd, front, 2, e->preserve_argv0 ? 0 : 1);
}

/* The binfmt_misc format (core/format.h): 1 when an entry took the program. */
static int try_binfmt(struct pb_ctx *ctx, void *data)
{
	uint8_t buf[BUF_SIZE] = {0};
	const uint8_t *head;
	ssize_t n = pb_ctx_exec_head(ctx, &head);
	const struct entry *e;
	int r;

	if (n < 0)
		return (int)n;
	memcpy(buf, head, n < BUF_SIZE ? (size_t)n : BUF_SIZE);
	e = find_entry(ctx, data, buf);
	if (!e)
		return 0;
	r = run_interpreter(ctx, e);
	return r < 0 ? r : 1;
}

int pb_stage_binfmt(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	struct table *t;
	int r;

	if (!pb_opt_bool(opts, "enabled", true))
		return 0;
	t = calloc(1, sizeof(*t));
	if (!t)
		return pb_fail(ctx, PB_ENOMEM, "out of memory");
	r = load_table(ctx, pb_opt_str(opts, "dir", PB_BINFMT_DIR), pb_opt_find(opts, "dir") != NULL, t);
	if (r < 0 || t->n == 0) {
		table_free(t);
		return r;
	}
	r = pb_format_add(ctx, &(struct pb_format){.name = "binfmt", .try_exec = try_binfmt, .data = t,
						   .free = table_free});
	return r < 0 ? r : pb_formats_run(ctx);
}
