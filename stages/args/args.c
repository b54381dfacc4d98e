/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "stages/args/args.h"

#define STK_LIM (8ull << 20)	/* _STK_LIM */
#define ARG_MAX_MIN (32 * 4096)	/* ARG_MAX: the floor of the limit */
#define PLATFORM "x86_64"
#define STACK_EXPAND (128ull << 10)	/* setup_arg_pages: stack_expand */

struct layout {
	uint64_t top, execfn, arg_start, env_start, env_end, platform, random, auxv, rsp;
	size_t argc, envc, nauxv;
	uint64_t aux[PB_HOST_MAX_AUXV + 8][2];
};

/* bprm_stack_limits + copy_strings: the same checks, the same order, E2BIG. */
static int check_limits(struct pb_ctx *ctx, char *const *argv, size_t argc, const char *execfn)
{
	uint64_t rlim = ctx->host.stack_rlim.rlim_cur, limit, ptrs, total;

	if (argc > PB_MAX_ARG_STRINGS || ctx->envc > PB_MAX_ARG_STRINGS)
		return pb_fail(ctx, PB_E2BIG, "more than %d arguments or environment strings", PB_MAX_ARG_STRINGS);
	limit = STK_LIM / 4 * 3;
	if (rlim / 4 < limit)
		limit = rlim / 4;
	if (limit < ARG_MAX_MIN)
		limit = ARG_MAX_MIN;
	ptrs = ((argc ? argc : 1) + ctx->envc) * sizeof(void *);
	if (limit <= ptrs)
		return pb_fail(ctx, PB_E2BIG, "%zu pointers need %llu bytes, over the %llu-byte limit",
			       argc + ctx->envc, (unsigned long long)ptrs, (unsigned long long)limit);
	limit -= ptrs;
	total = strlen(execfn) + 1;
	if (total > PB_MAX_ARG_STRLEN)
		return pb_fail(ctx, PB_E2BIG, "the filename is %llu bytes, over MAX_ARG_STRLEN (%d)",
			       (unsigned long long)total, PB_MAX_ARG_STRLEN);
	for (size_t i = 0; i < ctx->envc; i++) {
		size_t len = strlen(ctx->envp[i]) + 1;
		if (len > PB_MAX_ARG_STRLEN)
			return pb_fail(ctx, PB_E2BIG, "environment string %zu is %zu bytes, over MAX_ARG_STRLEN (%d)",
				       i, len, PB_MAX_ARG_STRLEN);
		total += len;
	}
	for (size_t i = 0; i < argc; i++) {
		size_t len = strlen(argv[i]) + 1;
		if (len > PB_MAX_ARG_STRLEN)
			return pb_fail(ctx, PB_E2BIG, "argument %zu is %zu bytes, over MAX_ARG_STRLEN (%d)",
				       i, len, PB_MAX_ARG_STRLEN);
		total += len;
	}
	if (total > limit)
		return pb_fail(ctx, PB_E2BIG, "arguments and environment take %llu bytes, over the %llu-byte limit (RLIMIT_STACK/4)",
			       (unsigned long long)total, (unsigned long long)limit);
	return 0;
}

static void add_aux(struct layout *l, uint64_t id, uint64_t val)
{
	l->aux[l->nauxv][0] = id;
	l->aux[l->nauxv][1] = val;
	l->nauxv++;
}

/* The stub's auxv, in the kernel's order, with what describes the new image recomputed. */
static void build_auxv(struct pb_ctx *ctx, struct layout *l)
{
	const struct pb_elf *e = &ctx->exec;

	for (unsigned i = 0; i < ctx->host.nauxv; i++) {
		uint64_t id = ctx->host.auxv[i][0], val = ctx->host.auxv[i][1];
		switch (id) {
		case AT_SYSINFO_EHDR:
			if (!ctx->vdso_base)
				continue;
			val = ctx->vdso_base;
			break;
		case AT_PHDR: val = ctx->exec_bias + (e->phdr_in_load ? e->phdr_vaddr : 0); break;
		case AT_PHENT: val = sizeof(Elf64_Phdr); break;
		case AT_PHNUM: val = e->phnum; break;
		case AT_BASE: val = ctx->interp_bias; break;
		case AT_FLAGS: val = 0; break;
		case AT_ENTRY: val = ctx->exec_bias + e->entry; break;
		case AT_SECURE: val = 0; break;
		case AT_RANDOM: val = l->random; break;
		case AT_EXECFN: val = l->execfn; break;
		case AT_PLATFORM: val = l->platform; break;
		case AT_EXECFD: continue; /* binfmt_misc only */
		}
		add_aux(l, id, val);
	}
	add_aux(l, AT_NULL, 0);
}

/* Strings from the top down: 8 zero bytes, filename, env, args (fs/exec.c). */
static void place_strings(struct pb_ctx *ctx, struct layout *l, char *const *argv,
			  const char *execfn, uint64_t *arg_addr, uint64_t *env_addr)
{
	uint64_t p = l->top - 8;

	p -= strlen(execfn) + 1;
	l->execfn = l->env_end = p;
	for (size_t i = ctx->envc; i-- > 0;)
		env_addr[i] = p -= strlen(ctx->envp[i]) + 1;
	l->env_start = p;
	for (size_t i = l->argc; i-- > 0;)
		arg_addr[i] = p -= strlen(argv[i]) + 1;
	l->arg_start = p;
	/* create_elf_tables: arch_align_stack, then platform and random bytes */
	if (pb_host_randomizes(&ctx->host))
		p -= pb_rng_u64(&ctx->rng) % 8192;
	p &= ~15ull;
	l->platform = p -= sizeof(PLATFORM);
	l->random = p -= 16;
}

static void put_str(uint8_t *img, uint64_t base, uint64_t addr, const char *s)
{
	memcpy(img + (addr - base), s, strlen(s) + 1);
}

static void put_word(uint8_t *img, uint64_t base, uint64_t addr, uint64_t v)
{
	memcpy(img + (addr - base), &v, sizeof(v));
}

static int write_image(struct pb_ctx *ctx, struct layout *l, char *const *argv,
		       const char *execfn, const uint64_t *arg_addr, const uint64_t *env_addr)
{
	size_t len = l->top - l->rsp;
	uint8_t *img = calloc(1, len), rnd[16];
	uint64_t a = l->rsp, off;
	int r;

	if (!img)
		return pb_fail(ctx, PB_ENOMEM, "out of memory for a %zu-byte stack image", len);
	put_word(img, l->rsp, a, l->argc);
	for (size_t i = 0; i < l->argc; i++)
		put_word(img, l->rsp, a += 8, arg_addr[i]);
	a += 8; /* NULL */
	for (size_t i = 0; i < ctx->envc; i++)
		put_word(img, l->rsp, a += 8, env_addr[i]);
	a += 8; /* NULL */
	memcpy(img + (a + 8 - l->rsp), l->aux, l->nauxv * 16);
	pb_rng_bytes(&ctx->rng, rnd, sizeof(rnd));
	memcpy(img + (l->random - l->rsp), rnd, sizeof(rnd));
	put_str(img, l->rsp, l->platform, PLATFORM);
	for (size_t i = 0; i < l->argc; i++)
		put_str(img, l->rsp, arg_addr[i], argv[i]);
	for (size_t i = 0; i < ctx->envc; i++)
		put_str(img, l->rsp, env_addr[i], ctx->envp[i]);
	put_str(img, l->rsp, l->execfn, execfn);
	r = pb_plan_data(&ctx->plan, img, len, &off);
	free(img);
	if (r < 0)
		return pb_fail(ctx, PB_ENOMEM, "out of memory for the plan data");
	r = pb_ctx_step(ctx, PB_STEP_WRITE, l->rsp, len, 0, "initial stack: %zu args, %zu env, %zu auxv",
			l->argc, ctx->envc, l->nauxv);
	if (r < 0)
		return r;
	ctx->plan.steps[r].off = off;
	return 0;
}

/*
 * setup_arg_pages: the stack VMA spans the string pages plus stack_expand
 * (128 KiB) below them, or RLIMIT_STACK if that is less.
 */
static int grow_stack(struct pb_ctx *ctx, const struct layout *l)
{
	uint64_t lo = PB_PAGE_START(l->arg_start), rlim = ctx->host.stack_rlim.rlim_cur & ~(PB_PAGE_SIZE - 1);
	int r;

	if ((l->top - lo) + STACK_EXPAND > rlim)
		lo = l->top - rlim;
	else
		lo -= STACK_EXPAND;
	if (lo > PB_PAGE_START(l->rsp))
		lo = PB_PAGE_START(l->rsp);
	if (lo >= ctx->stack_lo)
		return 0;
	r = pb_ctx_step(ctx, PB_STEP_GROW, lo, ctx->stack_lo - lo, PROT_READ | PROT_WRITE,
			"stack VMA to the kernel's extent");
	if (r < 0)
		return r;
	ctx->plan.steps[r].flags |= PB_STEP_GROWSDOWN;
	ctx->stack_lo = lo;
	return 0;
}

int pb_stage_args(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	static char *const empty_argv[] = {"", NULL};
	char *const *argv = ctx->argc ? ctx->argv : empty_argv; /* argc 0: the kernel adds "" */
	const char *execfn = ctx->execfn ? ctx->execfn : ctx->exec_name ? ctx->exec_name : "";
	uint64_t *arg_addr = NULL, *env_addr = NULL, sp;
	struct layout *l;
	size_t items;
	int r;

	if (!ctx->stack_placed)
		return pb_fail(ctx, PB_EINVAL, "no stack placed (the stack stage must run first)");
	if (!ctx->loaded)
		return pb_fail(ctx, PB_EINVAL, "no image loaded (the load stage must run first)");
	r = check_limits(ctx, argv, ctx->argc ? ctx->argc : 1, execfn);
	if (r < 0)
		return r;
	l = calloc(1, sizeof(*l));
	arg_addr = calloc(ctx->argc + 1, sizeof(*arg_addr));
	env_addr = calloc(ctx->envc + 1, sizeof(*env_addr));
	if (!l || !arg_addr || !env_addr) {
		r = pb_fail(ctx, PB_ENOMEM, "out of memory");
		goto out_free;
	}
	l->top = ctx->stack_top;
	l->argc = ctx->argc ? ctx->argc : 1;
	l->envc = ctx->envc;
	place_strings(ctx, l, argv, execfn, arg_addr, env_addr);
	build_auxv(ctx, l);
	sp = l->random - l->nauxv * 16;
	items = (l->argc + 1) + (l->envc + 1) + 1;
	l->rsp = (sp - items * 8) & ~15ull;
	l->auxv = l->rsp + items * 8;
	r = grow_stack(ctx, l);
	if (r == 0)
		r = write_image(ctx, l, argv, execfn, arg_addr, env_addr);
	if (r < 0)
		goto out_free;
	/* What the stub's own start message left below ours goes, as on a fresh stack. */
	if (ctx->host.sp0 && ctx->stack_top == ctx->host.stack_end && (ctx->host.sp0 & ~15ull) < l->rsp) {
		r = pb_ctx_step(ctx, PB_STEP_ZERO, ctx->host.sp0 & ~15ull,
				l->rsp - (ctx->host.sp0 & ~15ull), PROT_READ | PROT_WRITE, "stub's start message below rsp");
		if (r < 0)
			goto out_free;
		ctx->plan.steps[r].flags |= PB_STEP_FROM_SP0;
	}
	ctx->sp = ctx->plan.rsp = l->rsp;
	ctx->plan.rip = ctx->entry;
	ctx->mm.start_stack = l->rsp;
	ctx->mm.arg_start = l->arg_start;
	ctx->mm.arg_end = l->env_start;
	ctx->mm.env_start = l->env_start;
	ctx->mm.env_end = l->env_end;
	ctx->mm.auxv = l->auxv;
	ctx->mm.auxv_size = l->nauxv * 16;
	r = 0;
out_free:
	free(l);
	free(arg_addr);
	free(env_addr);
	return r;
}
