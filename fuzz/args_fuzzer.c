/* SPDX-License-Identifier: MIT */
/*
 * The start message from any argv/env (the bytes split at NULs, the first
 * byte choosing how many are arguments): E2BIG or a stack image whose every
 * pointer lands on its string.
 */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stages/args/args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t keys[] = {AT_SYSINFO_EHDR, AT_PAGESZ, AT_PHDR, AT_PHNUM, AT_BASE, AT_ENTRY,
					AT_RANDOM, AT_EXECFN, AT_PLATFORM};
	struct pb_ctx *ctx;
	char *buf, **strs;
	size_t n = 0, nargs;

	if (size < 1)
		return 0;
	ctx = malloc(sizeof(*ctx));
	buf = malloc(size + 1);
	strs = calloc(size + 2, sizeof(char *));
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = 0;
	for (size_t i = 0; i < size - 1; i += strlen(buf + i) + 1)
		strs[n++] = buf + i;
	nargs = n ? data[0] % (n + 1) : 0;
	pb_ctx_init(ctx);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		ctx->host.auxv[i][0] = keys[i];
		ctx->host.auxv[i][1] = 1;
	}
	ctx->host.nauxv = sizeof(keys) / sizeof(keys[0]);
	ctx->host.stack_rlim.rlim_cur = 8 << 20;
	ctx->host.randomize_va_space = 2;
	pb_rng_seed(&ctx->rng, 3);
	ctx->exec_parsed = ctx->loaded = ctx->stack_placed = true;
	ctx->stack_top = 0x7ffd00000000ull;
	ctx->stack_lo = ctx->stack_top - 0x21000;
	ctx->argv = strs;
	ctx->argc = nargs;
	ctx->envp = strs + nargs;
	ctx->envc = n - nargs;
	ctx->execfn = "/fuzz";
	ctx->stage = "args";
	if (pb_stage_args(ctx, NULL) == 0) {
		const struct pb_step *w = NULL;
		for (size_t i = 0; i < ctx->plan.nsteps; i++)
			if (ctx->plan.steps[i].kind == PB_STEP_WRITE)
				w = &ctx->plan.steps[i];
		if (!w || ctx->sp % 16 || w->addr != ctx->sp || w->addr + w->len != ctx->stack_top)
			__builtin_trap();
		/* argv[i] points at the i-th argument's bytes in the image */
		for (size_t i = 0; i < nargs; i++) {
			uint64_t p;
			memcpy(&p, ctx->plan.data + w->off + 8 + 8 * i, 8);
			if (p < w->addr || p >= w->addr + w->len ||
			    strcmp((const char *)ctx->plan.data + w->off + (p - w->addr), strs[i]) != 0)
				__builtin_trap();
		}
	} else if (ctx->err.code != PB_E2BIG && ctx->err.code != PB_ENOMEM) {
		__builtin_trap();
	}
	pb_ctx_clear(ctx);
	free(ctx);
	free(buf);
	free(strs);
	return 0;
}
