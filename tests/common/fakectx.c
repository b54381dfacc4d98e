/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <elf.h>

#include "tests/common/fakectx.h"

void fake_ctx(struct pb_ctx *ctx)
{
	static const uint64_t keys[][2] = {
		{AT_SYSINFO_EHDR, FAKE_VDSO}, {51, 3376}, {AT_HWCAP, 0x178bebff}, {AT_PAGESZ, 4096},
		{AT_CLKTCK, 100}, {AT_PHDR, 1}, {AT_PHENT, 56}, {AT_PHNUM, 1}, {AT_BASE, 1},
		{AT_FLAGS, 0}, {AT_ENTRY, 1}, {AT_UID, 1000}, {AT_EUID, 1000}, {AT_GID, 100},
		{AT_EGID, 100}, {AT_SECURE, 0}, {AT_RANDOM, 1}, {AT_HWCAP2, 0}, {AT_EXECFN, 1},
		{AT_PLATFORM, 1}, {27, 28}, {28, 32},
	};
	struct pb_host *h = &ctx->host;

	pb_ctx_init(ctx);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		h->auxv[i][0] = keys[i][0];
		h->auxv[i][1] = keys[i][1];
	}
	h->nauxv = sizeof(keys) / sizeof(keys[0]);
	h->stack_rlim.rlim_cur = 8 << 20;
	h->stack_rlim.rlim_max = RLIM_INFINITY;
	h->as_rlim.rlim_cur = h->as_rlim.rlim_max = RLIM_INFINITY;
	h->randomize_va_space = 2;
	h->mmap_min_addr = 4096;
	h->mmap_top = FAKE_MMAP_TOP;
	h->vdso_base = FAKE_VDSO;
	h->stack_end = FAKE_STACK_END;
	h->sp0 = FAKE_SP0;
	ctx->vdso_base = FAKE_VDSO;
	pb_aspace_take(&ctx->as, FAKE_VDSO - 0x6000, FAKE_VDSO + 0x2000, "[vdso]");
	pb_aspace_take(&ctx->as, FAKE_STACK_END - 0x21000, FAKE_STACK_END, "[stack]");
	ctx->exec_name = ctx->execfn = ctx->comm = "/test/prog";
}

void fake_parse(struct pb_ctx *ctx, int fd)
{
	cr_assert_eq(pb_elf_read(fd, PB_ELF_STRICT, "test", &ctx->exec, &ctx->err), 0, "%s", ctx->err.msg);
	ctx->exec_fd = fd;
	ctx->exec_parsed = true;
}
