/* SPDX-License-Identifier: MIT */
/*
 * The parse stage alone, on ELF images made here. Every malformed variant
 * asserts the exact detail code, and the kernel's own verdict on the same
 * bytes (execveat), so we know where we are stricter than execve.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "stages/parse/parse.h"
#include "tests/common/elfgen.h"

static int parse_fd(int fd, bool strict, struct pb_ctx *ctx)
{
	struct pb_opt o = {.key = "strict", .type = PB_OPT_BOOL, .b = strict};
	struct pb_stage_opts opts = {.sz = sizeof(opts), .v = &o, .n = 1};

	pb_ctx_init(ctx);
	ctx->exec_fd = fd;
	ctx->stage = "parse";
	return pb_stage_parse(ctx, &opts);
}

static int parse_image(struct elfgen *g, bool strict, struct pb_ctx *ctx)
{
	int fd = elfgen_fd(g), r;

	cr_assert_geq(fd, 0);
	r = parse_fd(fd, strict, ctx);
	close(fd);
	return r;
}

/* ---- valid images ---- */

Test(parse, valid_static_exec)
{
	struct elfgen g;
	struct pb_ctx ctx;

	elfgen_static_exec(&g, 42);
	cr_assert_eq(parse_image(&g, true, &ctx), 0, "%s", ctx.err.msg);
	cr_assert(ctx.exec_parsed);
	cr_assert_eq(ctx.exec.type, ET_EXEC);
	cr_assert_eq(ctx.exec.entry, 0x400800);
	cr_assert_eq(ctx.exec.nload, 2);
	cr_assert_eq(ctx.exec.lo, 0x400000);
	cr_assert_eq(ctx.exec.hi, 0x403000);
	cr_assert_eq(ctx.exec.max_align, 0x1000);
	cr_assert_null(ctx.exec.interp);
	cr_assert(ctx.exec.phdr_in_load);
	cr_assert_eq(ctx.exec.phdr_vaddr, 0x400040);
	cr_assert_eq(ctx.exec.stack_flags, PF_R | PF_W);
	cr_assert_eq(ctx.exec.start_code, 0x400000);
	cr_assert_eq(ctx.exec.end_code, 0x401000);
	cr_assert_eq(ctx.exec.start_data, 0x401000);
	cr_assert_eq(ctx.exec.end_data, 0x401010);
	cr_assert_eq(ctx.exec.elf_brk, 0x403000);
	pb_ctx_clear(&ctx);
}

Test(parse, valid_images_run_under_the_kernel)
{
	struct elfgen g;
	int fd;

	elfgen_static_exec(&g, 42);
	fd = elfgen_fd(&g);
	cr_assert_eq(kernel_exec_fd(fd).exit_code, 42);
	close(fd);
	elfgen_static_pie(&g, 43);
	fd = elfgen_fd(&g);
	cr_assert_eq(kernel_exec_fd(fd).exit_code, 43);
	close(fd);
}

Test(parse, valid_static_pie)
{
	struct elfgen g;
	struct pb_ctx ctx;

	elfgen_static_pie(&g, 0);
	cr_assert_eq(parse_image(&g, true, &ctx), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.exec.type, ET_DYN);
	cr_assert_eq(ctx.exec.entry, 0x800);
	cr_assert_eq(ctx.exec.lo, 0);
	cr_assert_eq(ctx.exec.phdr_vaddr, 0x40);
	cr_assert_null(ctx.exec.interp);
	pb_ctx_clear(&ctx);
}

Test(parse, valid_with_interp)
{
	struct elfgen g;
	struct pb_ctx ctx;

	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/lib64/ld-linux-x86-64.so.2");
	cr_assert_eq(parse_image(&g, true, &ctx), 0, "%s", ctx.err.msg);
	cr_assert_str_eq(ctx.exec.interp, "/lib64/ld-linux-x86-64.so.2");
	pb_ctx_clear(&ctx);
}

Test(parse, executable_stack_and_size)
{
	struct elfgen g;
	struct pb_ctx ctx;

	elfgen_static_exec(&g, 0);
	g.ph[2].p_flags = PF_R | PF_W | PF_X;
	g.ph[2].p_memsz = 1 << 20;
	cr_assert_eq(parse_image(&g, true, &ctx), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.exec.stack_flags, PF_R | PF_W | PF_X);
	cr_assert_eq(ctx.exec.stack_size, 1 << 20);
	pb_ctx_clear(&ctx);
}

Test(parse, phdrs_outside_loads_give_zero_phdr)
{
	struct elfgen g;
	struct pb_ctx ctx;

	elfgen_static_exec(&g, 0);
	g.ph[0].p_offset = 0;
	g.ph[0].p_filesz = 0x20;	/* headers at 0x40 are not in the file range any more */
	cr_assert_eq(parse_image(&g, true, &ctx), 0, "%s", ctx.err.msg);
	cr_assert_not(ctx.exec.phdr_in_load);
	pb_ctx_clear(&ctx);
}

Test(parse, max_align_is_largest_power_of_two)
{
	struct elfgen g;
	struct pb_ctx ctx;

	elfgen_static_pie(&g, 0);
	g.ph[1].p_align = 0x200000;
	g.ph[1].p_vaddr = g.ph[1].p_paddr = 0x201000;
	g.ph[1].p_offset = 0x1000;
	cr_assert_eq(parse_image(&g, true, &ctx), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.exec.max_align, 0x200000);
	cr_assert_eq(ctx.exec.hi, 0x203000);
	pb_ctx_clear(&ctx);
}

Test(parse, error_names_stage_and_maps_to_enoexec)
{
	struct elfgen g;
	struct pb_ctx ctx;
	char buf[300];

	elfgen_static_exec(&g, 0);
	g.eh.e_ident[0] = 'X';
	cr_assert_eq(parse_image(&g, true, &ctx), -ENOEXEC);
	cr_assert_eq(ctx.err.code, PB_EPARSE);
	cr_assert_str_eq(ctx.err.stage, "parse");
	cr_assert(strstr(ctx.err.msg, "invalid file header"), "%s", ctx.err.msg);
	cr_assert_eq(pb_error_errno(&ctx.err), -ENOEXEC);
	pb_error_format(&ctx.err, buf, sizeof(buf));
	cr_assert(strncmp(buf, "parse: ", 7) == 0, "%s", buf);
	cr_assert_not(ctx.exec_parsed);
	pb_ctx_clear(&ctx);
}

/* A 32-bit i386 header, whole (52 bytes and its program header) or not: compat32, not "truncated". */
Test(parse, i386_is_compat32_whatever_its_length)
{
	static const size_t lens[] = {20, 52, 60, 96};
	uint8_t head[96] = {0x7f, 'E', 'L', 'F', ELFCLASS32, ELFDATA2LSB, EV_CURRENT};

	head[16] = ET_EXEC;
	head[18] = EM_386;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct pb_ctx ctx;
		int fd = memfd_create("i386", MFD_CLOEXEC);

		cr_assert_eq(write(fd, head, lens[i]), (ssize_t)lens[i]);
		cr_assert_eq(parse_fd(fd, false, &ctx), -ENOEXEC);
		cr_assert_eq(ctx.err.detail, PB_PARSE_COMPAT32, "%zu bytes: %s", lens[i], ctx.err.msg);
		cr_assert(strstr(ctx.err.msg, "32-bit (i386) programs need the kernel's exec; run it directly"), "%s",
			  ctx.err.msg);
		close(fd);
		pb_ctx_clear(&ctx);
	}
}

/* Another 32-bit machine: the kernel refuses it (ENOEXEC); it is not compat32 here but a bad class. */
Test(parse, arm32_is_a_bad_class)
{
	uint8_t head[96] = {0x7f, 'E', 'L', 'F', ELFCLASS32, ELFDATA2LSB, EV_CURRENT};
	struct pb_ctx ctx;
	int fd = memfd_create("arm", MFD_CLOEXEC);

	head[16] = ET_EXEC;
	head[18] = EM_ARM;
	cr_assert_eq(write(fd, head, sizeof(head)), (ssize_t)sizeof(head));
	cr_assert_eq(parse_fd(fd, false, &ctx), -ENOEXEC);
	cr_assert_eq(ctx.err.detail, PB_PARSE_BAD_CLASS, "%s", ctx.err.msg);
	close(fd);
	pb_ctx_clear(&ctx);
}

Test(parse, directory_is_not_a_regular_file)
{
	struct pb_ctx ctx;
	int fd = open("/", O_RDONLY | O_CLOEXEC);

	cr_assert_eq(parse_fd(fd, true, &ctx), -ENOEXEC);
	cr_assert_eq(ctx.err.detail, PB_PARSE_NOT_REGULAR);
	close(fd);
	pb_ctx_clear(&ctx);
}

Test(parse, no_fd_is_ebadf)
{
	struct pb_ctx ctx;

	cr_assert_eq(parse_fd(-1, true, &ctx), -EBADF);
	cr_assert_eq(ctx.err.code, PB_EBADF);
	pb_ctx_clear(&ctx);
}

/* ---- malformed variants ---- */

/* What the kernel does with the same bytes. */
enum kexp { K_ENOEXEC, K_EIO, K_ENOENT, K_SEGV, K_RUNS, K_ANY };

static void check_variant(void (*mutate)(struct elfgen *), int detail, bool strict_only,
			  enum kexp kernel)
{
	struct elfgen g;
	struct pb_ctx ctx;
	struct kernel_verdict v;
	int fd, r;

	elfgen_static_exec(&g, 42);
	mutate(&g);
	fd = elfgen_fd(&g);
	cr_assert_geq(fd, 0);

	r = parse_fd(fd, true, &ctx);
	cr_assert_eq(r, -ENOEXEC, "strict parse returned %d (%s)", r, ctx.err.msg);
	cr_assert_eq(ctx.err.code, PB_EPARSE);
	cr_assert_eq(ctx.err.detail, detail, "detail %s, expected %s: %s",
		     pb_parse_detail_name(ctx.err.detail), pb_parse_detail_name(detail), ctx.err.msg);
	cr_assert_str_eq(ctx.err.stage, "parse");
	cr_assert_neq(ctx.err.msg[0], 0);
	pb_ctx_clear(&ctx);

	/* strict: false checks what the kernel checks, so strict-only cases pass. */
	r = parse_fd(fd, false, &ctx);
	if (strict_only)
		cr_assert_eq(r, 0, "lax parse failed: %s", ctx.err.msg);
	else
		cr_assert_eq(ctx.err.detail, detail, "lax: %s", ctx.err.msg);
	pb_ctx_clear(&ctx);

	v = kernel_exec_fd(fd);
	close(fd);
	switch (kernel) {
	case K_ENOEXEC: cr_assert_eq(v.exec_errno, ENOEXEC, "kernel: errno %d sig %d exit %d", v.exec_errno, v.signal, v.exit_code); break;
	case K_EIO: cr_assert_eq(v.exec_errno, EIO, "kernel: errno %d sig %d exit %d", v.exec_errno, v.signal, v.exit_code); break;
	case K_ENOENT: cr_assert_eq(v.exec_errno, ENOENT, "kernel: errno %d sig %d exit %d", v.exec_errno, v.signal, v.exit_code); break;
	case K_SEGV: cr_assert_eq(v.signal, SIGSEGV, "kernel: errno %d sig %d exit %d", v.exec_errno, v.signal, v.exit_code); break;
	case K_RUNS: cr_assert_eq(v.exit_code, 42, "kernel: errno %d sig %d exit %d", v.exec_errno, v.signal, v.exit_code); break;
	case K_ANY: break;
	}
}

#define VARIANT(name, detail, strict_only, kernel, body)                        \
	static void mutate_##name(struct elfgen *g) { body; }                    \
	Test(parse_malformed, name) { check_variant(mutate_##name, detail, strict_only, kernel); }

VARIANT(empty_file, PB_PARSE_TRUNCATED, false, K_ENOEXEC, g->size = 0)
VARIANT(truncated_header, PB_PARSE_TRUNCATED, false, K_ENOEXEC, g->size = 40)
VARIANT(bad_magic, PB_PARSE_BAD_MAGIC, false, K_ENOEXEC, g->eh.e_ident[1] = 'Z')
/* binfmt_elf reads the header as 64-bit whatever EI_CLASS says [measured 6.18] */
VARIANT(class32, PB_PARSE_BAD_CLASS, false, K_RUNS, g->eh.e_ident[EI_CLASS] = ELFCLASS32)
VARIANT(class_none, PB_PARSE_BAD_CLASS, false, K_ANY, g->eh.e_ident[EI_CLASS] = ELFCLASSNONE)
VARIANT(big_endian, PB_PARSE_BAD_DATA, false, K_RUNS, g->eh.e_ident[EI_DATA] = ELFDATA2MSB)
VARIANT(bad_ident_version, PB_PARSE_BAD_VERSION, true, K_RUNS, g->eh.e_ident[EI_VERSION] = 7)
VARIANT(bad_e_version, PB_PARSE_BAD_VERSION, true, K_RUNS, g->eh.e_version = 0)
VARIANT(freebsd_osabi, PB_PARSE_BAD_OSABI, true, K_RUNS, g->eh.e_ident[EI_OSABI] = ELFOSABI_FREEBSD)
VARIANT(type_rel, PB_PARSE_BAD_TYPE, false, K_ENOEXEC, g->eh.e_type = ET_REL)
VARIANT(type_core, PB_PARSE_BAD_TYPE, false, K_ENOEXEC, g->eh.e_type = ET_CORE)
VARIANT(machine_aarch64, PB_PARSE_FOREIGN_MACHINE, false, K_ENOEXEC, g->eh.e_machine = EM_AARCH64)
VARIANT(machine_unknown, PB_PARSE_BAD_MACHINE, false, K_ENOEXEC, g->eh.e_machine = 0x1234)
VARIANT(ehsize_52, PB_PARSE_BAD_EHSIZE, true, K_RUNS, g->eh.e_ehsize = 52)
VARIANT(phentsize_32, PB_PARSE_BAD_PHENTSIZE, false, K_ENOEXEC, g->eh.e_phentsize = 32)
VARIANT(phnum_zero, PB_PARSE_BAD_PHNUM, false, K_ENOEXEC, g->eh.e_phnum = 0)
/* The kernel takes up to 65536/56 = 1170 program headers [measured 6.18]. */
VARIANT(phnum_74, PB_PARSE_BAD_PHNUM, true, K_RUNS, g->eh.e_phnum = 74; g->size = 0x2000)
VARIANT(phnum_1171, PB_PARSE_BAD_PHNUM, false, K_ENOEXEC, g->eh.e_phnum = 1171; g->size = 0x11000)
VARIANT(phnum_pn_xnum, PB_PARSE_BAD_PHNUM, false, K_ENOEXEC, g->eh.e_phnum = PN_XNUM)
/* A short read of the program headers is ENOEXEC, not EIO [measured 6.18]. */
VARIANT(phdrs_past_eof, PB_PARSE_PHDRS_OUTSIDE, false, K_ENOEXEC, g->eh.e_phoff = 0x10000)
VARIANT(phdrs_cut_short, PB_PARSE_PHDRS_OUTSIDE, false, K_ENOEXEC, g->size = 0x80)
VARIANT(phoff_misaligned, PB_PARSE_PHOFF_ALIGN, true, K_RUNS, g->eh.e_phoff = 0x41)
VARIANT(no_load, PB_PARSE_NO_LOAD, false, K_SEGV, g->ph[0].p_type = PT_NOTE; g->ph[1].p_type = PT_NOTE)
VARIANT(filesz_gt_memsz, PB_PARSE_FILESZ_GT_MEMSZ, false, K_SEGV, g->ph[1].p_filesz = 0x3000; g->size = 0x4000)
VARIANT(vaddr_memsz_overflow, PB_PARSE_SEG_OVERFLOW, false, K_SEGV, g->ph[1].p_memsz = 0xffffffffffff0000ull)
VARIANT(vaddr_kernel_half, PB_PARSE_SEG_OVERFLOW, false, K_SEGV, g->ph[1].p_vaddr = 0xffff800000001000ull)
VARIANT(segment_past_eof, PB_PARSE_SEG_OUTSIDE_FILE, true, K_ANY, g->ph[1].p_offset = 0x100000; g->ph[1].p_vaddr = 0x501000)
VARIANT(align_not_pow2, PB_PARSE_BAD_ALIGN, true, K_RUNS, g->ph[1].p_align = 0x1800)
VARIANT(offset_vaddr_misaligned, PB_PARSE_SEG_MISALIGNED, true, K_ANY, g->ph[1].p_offset = 0x1008; g->size = 0x2000)
VARIANT(offset_vaddr_big_align, PB_PARSE_SEG_MISALIGNED, true, K_ANY,
	g->ph[1].p_align = 0x200000; g->ph[1].p_vaddr = 0x402000)
VARIANT(loads_descending, PB_PARSE_SEG_ORDER, true, K_ANY,
	Elf64_Phdr t = g->ph[0]; g->ph[0] = g->ph[1]; g->ph[1] = t)
VARIANT(loads_overlap, PB_PARSE_SEG_OVERLAP, true, K_ANY,
	g->ph[1].p_vaddr = 0x400fff; g->ph[1].p_offset = 0xfff; g->ph[1].p_align = 1)
VARIANT(two_interps, PB_PARSE_MULTIPLE_INTERP, true, K_ENOENT,
	elfgen_add_interp(g, "/nonexistent/ld.so"); elfgen_add_interp(g, "/nonexistent/ld.so"))
VARIANT(interp_unterminated, PB_PARSE_INTERP_UNTERMINATED, false, K_ENOEXEC,
	unsigned i = elfgen_add_interp(g, "/lib/ld.so"); g->ph[i].p_filesz -= 1)
VARIANT(interp_embedded_nul, PB_PARSE_INTERP_UNTERMINATED, true, K_ENOENT,
	unsigned i = elfgen_add_interp(g, "/nonexistent/ld.so"); g->body[ELFGEN_INTERP_OFF + 4] = 0; (void)i)
VARIANT(interp_size_one, PB_PARSE_INTERP_SIZE, false, K_ENOEXEC,
	unsigned i = elfgen_add_interp(g, ""); g->ph[i].p_filesz = 1)
VARIANT(interp_too_long, PB_PARSE_INTERP_SIZE, false, K_ENOEXEC,
	unsigned i = elfgen_add_interp(g, "/x"); g->ph[i].p_filesz = 5000; g->size = 0x3000)
VARIANT(interp_past_eof, PB_PARSE_INTERP_OUTSIDE, false, K_EIO,
	unsigned i = elfgen_add_interp(g, "/x"); g->ph[i].p_offset = 0x100000)
VARIANT(two_gnu_stacks, PB_PARSE_MULTIPLE_STACK, true, K_RUNS,
	elfgen_add(g, &(Elf64_Phdr){.p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W}))
VARIANT(gnu_stack_unknown_flags, PB_PARSE_BAD_STACK, true, K_RUNS, g->ph[2].p_flags |= 0x10)
VARIANT(gnu_stack_huge, PB_PARSE_BAD_STACK, true, K_RUNS, g->ph[2].p_memsz = 1ull << 40)
VARIANT(entry_outside_loads, PB_PARSE_BAD_ENTRY, true, K_SEGV, g->eh.e_entry = 0x900000)
VARIANT(entry_kernel_half, PB_PARSE_BAD_ENTRY, false, K_SEGV, g->eh.e_entry = 0xffffffff81000000ull)

/* A PT_GNU_PROPERTY note of 32 bytes at file offset 0x600 of the static image. */
static void add_property_note(struct elfgen *g, const uint32_t note[8])
{
	memcpy(g->body + 0x600, note, 8 * sizeof(note[0]));
	elfgen_add(g, &(Elf64_Phdr){.p_type = PT_GNU_PROPERTY, .p_flags = PF_R, .p_offset = 0x600,
				    .p_vaddr = 0x400600, .p_filesz = 32, .p_memsz = 32, .p_align = 8});
}

/* Found by plan_fuzzer: a property whose pr_datasz rounds up to 2^32 made the note walk stop advancing. */
Test(parse_regressions, gnu_property_datasz_wrap_does_not_hang, .timeout = 10)
{
	struct elfgen g;
	struct pb_ctx ctx;
	uint32_t note[8] = {4, 16, NT_GNU_PROPERTY_TYPE_0, 0x00554e47 /* "GNU" */,
			    GNU_PROPERTY_X86_FEATURE_1_AND, 0xfffffff8u, 0, 0};

	elfgen_static_exec(&g, 0);
	add_property_note(&g, note);
	for (int strict = 0; strict < 2; strict++) {
		cr_assert_eq(parse_image(&g, strict, &ctx), 0, "%s", ctx.err.msg);
		cr_assert(ctx.exec.has_gnu_property);
		pb_ctx_clear(&ctx);
	}
}

Test(parse_regressions, gnu_property_features_are_read)
{
	struct elfgen g;
	struct pb_ctx ctx;
	uint32_t note[8] = {4, 16, NT_GNU_PROPERTY_TYPE_0, 0x00554e47, GNU_PROPERTY_X86_FEATURE_1_AND, 4,
			    PB_X86_FEATURE_IBT | PB_X86_FEATURE_SHSTK, 0};

	elfgen_static_exec(&g, 0);
	add_property_note(&g, note);
	cr_assert_eq(parse_image(&g, true, &ctx), 0, "%s", ctx.err.msg);
	cr_assert_eq(ctx.exec.x86_features, PB_X86_FEATURE_IBT | PB_X86_FEATURE_SHSTK);
	pb_ctx_clear(&ctx);
}

/*
 * Found by parse_fuzzer: with more than 4 KiB of program headers outside the
 * first page, the parser took their length as the length of the page it had
 * read, and copied PT_INTERP from past its 4 KiB buffer.
 */
Test(parse_regressions, interp_after_first_page_with_many_phdrs)
{
	static const char path[] = "/nonexistent/ld-after-head.so";
	struct elfgen g;
	struct pb_ctx ctx;

	elfgen_static_exec(&g, 0);
	memcpy(g.body + 0x1040, path, sizeof(path));
	elfgen_add(&g, &(Elf64_Phdr){.p_type = PT_INTERP, .p_flags = PF_R, .p_offset = 0x1040,
				     .p_filesz = sizeof(path), .p_memsz = sizeof(path), .p_align = 1});
	while (g.nph < ELFGEN_MAX_PH)
		elfgen_add(&g, &(Elf64_Phdr){.p_type = PT_NULL});
	g.eh.e_phoff = 0x2000;
	g.size = 0x2000 + ELFGEN_MAX_PH * sizeof(Elf64_Phdr);
	cr_assert_gt(ELFGEN_MAX_PH * sizeof(Elf64_Phdr), PB_ELF_HEAD + 0x40);
	cr_assert_eq(parse_image(&g, false, &ctx), 0, "%s", ctx.err.msg);
	cr_assert_str_eq(ctx.exec.interp, path);
	pb_ctx_clear(&ctx);
}
