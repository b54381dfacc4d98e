/* SPDX-License-Identifier: MIT */
/*
 * Every ELF program and library on this machine parses in strict mode.
 * Files that are not ELF are skipped; ELF files that are not programms or
 * shared objects (ET_REL objects, cores) must fail with bad-type and nothing
 * else.
 */
#define _XOPEN_SOURCE 700
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <unistd.h>

#include "stages/parse/parse.h"

struct sweep {
	unsigned parsed, skipped_not_elf, skipped_not_program, failed;
	char first_failures[10][400];
	dev_t dev[65536];
	ino_t ino[65536];
	unsigned nseen;
};

static struct sweep *S;

static bool seen(const struct stat *st)
{
	for (unsigned i = 0; i < S->nseen; i++)
		if (S->ino[i] == st->st_ino && S->dev[i] == st->st_dev)
			return true;
	if (S->nseen < 65536) {
		S->dev[S->nseen] = st->st_dev;
		S->ino[S->nseen++] = st->st_ino;
	}
	return false;
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	struct pb_opt o = {.key = "strict", .type = PB_OPT_BOOL, .b = true};
	struct pb_stage_opts opts = {.sz = sizeof(opts), .v = &o, .n = 1};
	struct pb_ctx ctx;
	char magic[4];
	int fd, r;

	if (type != FTW_F || !S_ISREG(st->st_mode) || seen(st))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (pread(fd, magic, 4, 0) != 4 || memcmp(magic, ELFMAG, SELFMAG) != 0) {
		S->skipped_not_elf++;
		close(fd);
		return 0;
	}
	pb_ctx_init(&ctx);
	ctx.exec_fd = fd;
	ctx.exec_name = path;
	ctx.stage = "parse";
	r = pb_stage_parse(&ctx, &opts);
	if (r == 0) {
		S->parsed++;
	} else if (ctx.err.detail == PB_PARSE_BAD_TYPE) {
		S->skipped_not_program++;
	} else {
		if (S->failed < 10)
			snprintf(S->first_failures[S->failed], 400, "%s [%s]", ctx.err.msg,
				 pb_parse_detail_name(ctx.err.detail));
		S->failed++;
	}
	pb_ctx_clear(&ctx);
	close(fd);
	return 0;
}

Test(sweep, every_elf_on_the_machine_parses, .timeout = 300)
{
	static const char *const dirs[] = {"/bin", "/usr/bin", "/usr/lib/x86_64-linux-gnu"};

	S = calloc(1, sizeof(*S));
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		nftw(dirs[i], visit, 32, FTW_PHYS);
	cr_log_info("sweep: %u parsed, %u not ELF, %u ELF but not a program (ET_REL/ET_CORE), %u failed",
		    S->parsed, S->skipped_not_elf, S->skipped_not_program, S->failed);
	for (unsigned i = 0; i < S->failed && i < 10; i++)
		cr_log_error("%s", S->first_failures[i]);
	cr_assert_gt(S->parsed, 100, "only %u ELF files found", S->parsed);
	cr_assert_eq(S->failed, 0, "%u ELF files failed to parse", S->failed);
	free(S);
}
