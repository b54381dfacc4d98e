/* SPDX-License-Identifier: MIT */
#include "stages/parse/parse.h"

int pb_stage_parse(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	unsigned flags = pb_opt_bool(opts, "strict", true) ? PB_ELF_STRICT : 0;
	const char *what = ctx->exec_name ? ctx->exec_name : "executable";
	const uint8_t *head;
	ssize_t n;
	int r;

	if (ctx->exec_fd < 0)
		return pb_fail(ctx, PB_EBADF, "no executable fd");
	pb_elf_clear(&ctx->exec);
	ctx->exec_parsed = false;
	n = pb_ctx_exec_head(ctx, &head);
	if (n < 0) /* e.g. a directory: the parser's own read says what is wrong */
		r = pb_elf_read(ctx->exec_fd, flags, what, &ctx->exec, &ctx->err);
	else
		r = pb_elf_read_head(ctx->exec_fd, head, (size_t)n, flags, what, &ctx->exec, &ctx->err);
	if (r < 0) {
		pb_err_stage(&ctx->err, ctx->stage ? ctx->stage : "parse");
		return r;
	}
	ctx->exec_parsed = true;
	return 0;
}
