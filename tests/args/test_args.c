/* SPDX-License-Identifier: MIT */
/* The args stage alone: the start message byte for byte, and the kernel's limits. */
#include <criterion/criterion.h>
#include <elf.h>
#include <string.h>

#include "stages/args/args.h"
#include "tests/common/fakectx.h"

static struct pb_ctx ctx;

static void setup(void)
{
	fake_ctx(&ctx);
	ctx.exec_parsed = ctx.loaded = ctx.stack_placed = true;
	ctx.stack_top = FAKE_STACK_END;
	ctx.stack_lo = FAKE_STACK_END - 0x21000;
	ctx.exec.phnum = 9;
	ctx.exec.entry = 0x1040;
	ctx.exec.phdr_in_load = true;
	ctx.exec.phdr_vaddr = 0x40;
	ctx.exec_bias = 0x555555554000;
	ctx.entry = 0x555555555040;
	ctx.stage = "args";
}
static void teardown(void) { pb_ctx_clear(&ctx); }
TestSuite(args, .init = setup, .fini = teardown);

static int run(char **argv, size_t argc, char **envp, size_t envc)
{
	ctx.argv = argv;
	ctx.argc = argc;
	ctx.envp = envp;
	ctx.envc = envc;
	return pb_stage_args(&ctx, NULL);
}

/* The written stack image, seen at its target address. */
static const struct pb_step *image_step(void)
{
	for (size_t i = 0; i < ctx.plan.nsteps; i++)
		if (ctx.plan.steps[i].kind == PB_STEP_WRITE)
			return &ctx.plan.steps[i];
	cr_assert_fail("no write step");
	return NULL;
}

static const void *at(uint64_t addr)
{
	const struct pb_step *s = image_step();

	cr_assert(addr >= s->addr && addr < s->addr + s->len, "0x%llx outside the image", (unsigned long long)addr);
	return ctx.plan.data + s->off + (addr - s->addr);
}

static uint64_t word(uint64_t addr)
{
	uint64_t v;

	memcpy(&v, at(addr), 8);
	return v;
}

Test(args, layout_is_execves)
{
	char *argv[] = {"prog", "a", "bb"}, *envp[] = {"X=1", "LONGER=value"};
	uint64_t sp, random, platform, execfn, auxv;
	size_t n;

	cr_assert_eq(run(argv, 3, envp, 2), 0, "%s", ctx.err.msg);
	sp = ctx.sp;
	cr_assert_eq(sp % 16, 0);
	cr_assert_eq(ctx.plan.rsp, sp);
	cr_assert_eq(ctx.plan.rip, ctx.entry);
	cr_assert_eq(image_step()->addr, sp);
	cr_assert_eq(image_step()->addr + image_step()->len, FAKE_STACK_END);
	cr_assert_eq(word(sp), 3);
	for (int i = 0; i < 3; i++)
		cr_assert_str_eq(at(word(sp + 8 + 8 * i)), argv[i]);
	cr_assert_eq(word(sp + 32), 0);
	for (int i = 0; i < 2; i++)
		cr_assert_str_eq(at(word(sp + 40 + 8 * i)), envp[i]);
	cr_assert_eq(word(sp + 56), 0);
	auxv = sp + 64;
	cr_assert_eq(ctx.mm.auxv, auxv);
	/* the kernel's keys in the kernel's order, values for the new image */
	for (n = 0; word(auxv + 16 * n) != AT_NULL; n++)
		cr_assert_eq(word(auxv + 16 * n), ctx.host.auxv[n][0], "auxv[%zu]", n);
	cr_assert_eq(n, ctx.host.nauxv);
	cr_assert_eq(ctx.mm.auxv_size, (n + 1) * 16);
	random = platform = execfn = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t id = word(auxv + 16 * i), v = word(auxv + 16 * i + 8);
		switch (id) {
		case AT_PHDR: cr_assert_eq(v, 0x555555554040); break;
		case AT_PHENT: cr_assert_eq(v, 56); break;
		case AT_PHNUM: cr_assert_eq(v, 9); break;
		case AT_BASE: cr_assert_eq(v, 0); break;
		case AT_ENTRY: cr_assert_eq(v, 0x555555555040); break;
		case AT_SECURE: cr_assert_eq(v, 0); break;
		case AT_SYSINFO_EHDR: cr_assert_eq(v, FAKE_VDSO); break;
		case AT_UID: cr_assert_eq(v, 1000); break;
		case AT_RANDOM: random = v; break;
		case AT_PLATFORM: platform = v; break;
		case AT_EXECFN: execfn = v; break;
		}
	}
	/* 8 zero bytes at the top, the filename right below */
	cr_assert_eq(word(FAKE_STACK_END - 8), 0);
	cr_assert_eq(execfn, FAKE_STACK_END - 8 - sizeof("/test/prog"));
	cr_assert_str_eq(at(execfn), "/test/prog");
	/* env strings then arg strings, contiguous, below the filename */
	cr_assert_eq(ctx.mm.env_end, execfn);
	cr_assert_eq(ctx.mm.env_start, execfn - sizeof("X=1") - sizeof("LONGER=value"));
	cr_assert_eq(ctx.mm.arg_end, ctx.mm.env_start);
	cr_assert_eq(ctx.mm.arg_start, ctx.mm.arg_end - sizeof("prog") - sizeof("a") - sizeof("bb"));
	cr_assert_eq(word(sp + 8), ctx.mm.arg_start);
	/* "x86_64" right above the 16 random bytes; the pad below them is under 16 bytes */
	cr_assert_eq(platform, random + 16);
	cr_assert_str_eq(at(platform), "x86_64");
	cr_assert_lt(random - (auxv + 16 * (n + 1)), 16);
	cr_assert_eq(ctx.mm.start_stack, sp);
}

Test(args, argc_zero_gets_an_empty_argv0_like_the_kernel)
{
	char *envp[] = {"A=b"};

	cr_assert_eq(run(NULL, 0, envp, 1), 0, "%s", ctx.err.msg);
	cr_assert_eq(word(ctx.sp), 1);
	cr_assert_str_eq(at(word(ctx.sp + 8)), "");
}

Test(args, no_vdso_means_no_sysinfo_ehdr)
{
	char *argv[] = {"p"};

	ctx.vdso_base = 0;
	cr_assert_eq(run(argv, 1, NULL, 0), 0);
	for (uint64_t a = ctx.mm.auxv; word(a) != AT_NULL; a += 16)
		cr_assert_neq(word(a), AT_SYSINFO_EHDR);
}

Test(args, execfd_is_dropped)
{
	char *argv[] = {"p"};

	ctx.host.auxv[ctx.host.nauxv][0] = AT_EXECFD;
	ctx.host.auxv[ctx.host.nauxv++][1] = 3;
	cr_assert_eq(run(argv, 1, NULL, 0), 0);
	cr_assert_eq(ctx.mm.auxv_size, (ctx.host.nauxv - 1 + 1) * 16);
}

static char *string_of(size_t len)
{
	char *s = malloc(len + 1);

	memset(s, 'x', len);
	s[len] = 0;
	return s;
}

Test(args, max_arg_strlen_boundary)
{
	char *fits = string_of(131071), *over = string_of(131072);
	char *argv[] = {"p", fits};

	cr_assert_eq(run(argv, 2, NULL, 0), 0, "%s", ctx.err.msg);
	teardown();
	setup();
	argv[1] = over;
	cr_assert_eq(run(argv, 2, NULL, 0), -E2BIG);
	cr_assert_eq(ctx.err.code, PB_E2BIG);
	cr_assert_str_eq(ctx.err.stage, "args");
	cr_assert(strstr(ctx.err.msg, "argument 1"), "%s", ctx.err.msg);
	cr_assert_eq(ctx.plan.nsteps, 0, "nothing planned");
	free(fits);
	free(over);
}

Test(args, env_string_too_long)
{
	char *big = string_of(200000), *argv[] = {"p"};
	char *envp[] = {big};

	cr_assert_eq(run(argv, 1, envp, 1), -E2BIG);
	cr_assert(strstr(ctx.err.msg, "environment string 0"), "%s", ctx.err.msg);
	free(big);
}

Test(args, total_is_a_quarter_of_rlimit_stack)
{
	/* limit = 8 MiB / 4 = 2 MiB, minus 8 bytes per pointer; the filename counts */
	size_t limit = (8 << 20) / 4 - 8 * (1 + 32), used = sizeof("/test/prog") + 2, each;
	char *envp[32], *argv[] = {"p"};

	each = (limit - used) / 32; /* with NUL */
	for (int i = 0; i < 32; i++)
		envp[i] = string_of(each - 1);
	free(envp[31]);
	envp[31] = string_of(each - 1 + (limit - used) % 32); /* exactly the limit */
	cr_assert_eq(run(argv, 1, envp, 32), 0, "%s", ctx.err.msg);
	teardown();
	setup();
	free(envp[31]);
	envp[31] = string_of(each + (limit - used) % 32); /* one byte over */
	cr_assert_eq(run(argv, 1, envp, 32), -E2BIG);
	cr_assert(strstr(ctx.err.msg, "RLIMIT_STACK/4"), "%s", ctx.err.msg);
	for (int i = 0; i < 32; i++)
		free(envp[i]);
}

Test(args, small_rlimit_still_allows_arg_max)
{
	char *argv[] = {"p", NULL};

	ctx.host.stack_rlim.rlim_cur = 64 << 10; /* a quarter is 16 KiB, the floor is 128 KiB */
	argv[1] = string_of(100000);
	cr_assert_eq(run(argv, 2, NULL, 0), 0, "%s", ctx.err.msg);
	free(argv[1]);
}

Test(args, stack_vma_grows_to_the_kernels_extent)
{
	char *argv[] = {"p", NULL};
	const struct pb_step *g = NULL;

	argv[1] = string_of(100000);
	cr_assert_eq(run(argv, 2, NULL, 0), 0, "%s", ctx.err.msg);
	for (size_t i = 0; i < ctx.plan.nsteps; i++)
		if (ctx.plan.steps[i].kind == PB_STEP_GROW)
			g = &ctx.plan.steps[i];
	cr_assert_not_null(g);
	/* setup_arg_pages: the string pages plus 128 KiB */
	cr_assert_eq(g->addr, (ctx.mm.arg_start & ~4095ull) - (128 << 10));
	cr_assert_eq(g->addr + g->len, FAKE_STACK_END - 0x21000);
	free(argv[1]);
}

Test(args, needs_stack_and_load_first)
{
	char *argv[] = {"p"};

	ctx.stack_placed = false;
	cr_assert_eq(run(argv, 1, NULL, 0), -EINVAL);
	cr_assert(strstr(ctx.err.msg, "stack stage"), "%s", ctx.err.msg);
}

Test(args, seeded_images_are_identical)
{
	char *argv[] = {"p", "q"};
	uint8_t first[4096];
	size_t len;

	pb_rng_seed(&ctx.rng, 9);
	cr_assert_eq(run(argv, 2, NULL, 0), 0);
	len = image_step()->len;
	cr_assert_leq(len, sizeof(first));
	memcpy(first, ctx.plan.data + image_step()->off, len);
	teardown();
	setup();
	pb_rng_seed(&ctx.rng, 9);
	cr_assert_eq(run(argv, 2, NULL, 0), 0);
	cr_assert_eq(image_step()->len, len);
	cr_assert_eq(memcmp(first, ctx.plan.data + image_step()->off, len), 0);
}
