/* SPDX-License-Identifier: MIT */
/*
 * A whole plan from any ELF bytes (parse, interp, reserve, load, vdso,
 * stack, args), with no process: an error naming a stage, or a plan whose
 * stack pointer is 16-aligned. The interpreter is pinned to the real ld.so,
 * so fuzzed paths open nothing.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pipeline/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char yaml[] = "stages: [{parse: {strict: false}}, interp, reserve, load, vdso, stack, args]\n";
	static char *argv[] = {"fuzz", "a", NULL}, *envp[] = {"X=1", NULL};
	static struct pb_pipeline *pipe;
	static struct pb_host host;
	static int ld = -1;
	struct pb_ctx *ctx = malloc(sizeof(*ctx));
	struct pb_error err;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (!pipe) {
		struct pb_rng rng;
		pb_rng_seed(&rng, 1);
		pb_host_model_fresh(&host, &rng);
		if (pb_pipeline_load_text(yaml, sizeof(yaml) - 1, "fuzz.yaml", NULL, 0, &pipe, &err) < 0)
			__builtin_trap();
		ld = open("/lib64/ld-linux-x86-64.so.2", O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 || !ctx || write(fd, data, size) != (ssize_t)size)
		__builtin_trap();
	pb_ctx_init(ctx);
	pb_ctx_set_host(ctx, &host, "anonymous");
	pb_rng_seed(&ctx->rng, 7);
	ctx->exec_fd = fd;
	ctx->exec_name = ctx->execfn = ctx->comm = "fuzz";
	ctx->argv = argv;
	ctx->argc = 2;
	ctx->envp = envp;
	ctx->envc = 1;
	ctx->vdso_base = host.vdso_base;
	ctx->interp_resolver = "fd";
	ctx->interp_override_fd = ld;
	if (pb_pipeline_run(pipe, ctx, PB_TRACE_OFF, NULL) == 0) {
		if (ctx->sp % 16 || !ctx->plan.nsteps)
			__builtin_trap();
	} else if (!ctx->err.stage[0] || !ctx->err.msg[0]) {
		__builtin_trap();
	}
	pb_ctx_clear(ctx);
	free(ctx);
	close(fd);
	return 0;
}
