/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/ctx.h"
#include "core/json.h"
#include "stages/parse/parse.h"

void pb_cli_inspect_help(FILE *f)
{
	fputs("Usage: procbuilder inspect [--json] [--lax] FILE\n"
	      "Parse FILE as an ELF64 program with the parse stage and print its headers:\n"
	      "type, machine, entry, segments with flags, interpreter, stack.\n\n"
	      "  --json   print one JSON object instead of text\n"
	      "  --lax    check only what the kernel checks (parse option strict: false)\n"
	      "  --help   show this help\n"
	      "  --version  print procbuilder's version\n\n"
	      "Options may follow FILE.\n"
	      "Exit status: 0 on success; 126 when FILE is not a valid ELF program (as run\n"
	      "gives for it; the error goes to stderr as 'procbuilder: parse: MESSAGE') or\n"
	      "cannot be read; 127 when it does not exist; 2 on a usage error.\n", f);
}

static const char *kind_of(const struct pb_elf *e)
{
	if (e->type == ET_EXEC)
		return e->interp ? "dynamic executable" : "static executable";
	return e->interp ? "dynamic position-independent executable" : "static-pie or shared object";
}

static void print_text(const char *file, const struct pb_elf *e)
{
	char fl[4];

	printf("%s: ELF64 %s %s, %s\n", file, pb_elf_type_name(e->type),
	       pb_elf_machine_name(e->machine), kind_of(e));
	printf("entry:       0x%llx\n", (unsigned long long)e->entry);
	printf("interpreter: %s\n", e->interp ? e->interp : "(none)");
	printf("stack:       %s%s, size %llu%s\n", pb_elf_flags_str(e->stack_flags, fl),
	       e->has_gnu_stack ? "" : " (no PT_GNU_STACK)", (unsigned long long)e->stack_size,
	       e->stack_size ? "" : " (default)");
	printf("span:        0x%llx-0x%llx, max align 0x%llx\n", (unsigned long long)e->lo,
	       (unsigned long long)e->hi, (unsigned long long)e->max_align);
	if (e->phdr_in_load)
		printf("phdrs:       0x%llx (AT_PHDR before bias)\n", (unsigned long long)e->phdr_vaddr);
	else
		printf("phdrs:       not in a PT_LOAD (AT_PHDR = load bias)\n");
	if (e->has_gnu_property)
		printf("property:    x86 features%s%s%s\n", e->x86_features & PB_X86_FEATURE_IBT ? " IBT" : "",
		       e->x86_features & PB_X86_FEATURE_SHSTK ? " SHSTK" : "",
		       e->x86_features ? "" : " none");
	printf("program headers (%u):\n  %-13s %-10s %-18s %-10s %-10s %-5s %s\n", e->phnum,
	       "type", "offset", "vaddr", "filesz", "memsz", "flags", "align");
	for (unsigned i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *p = &e->phdrs[i];
		printf("  %-13s 0x%08llx 0x%016llx 0x%08llx 0x%08llx %-5s 0x%llx\n",
		       pb_elf_phdr_type_name(p->p_type), (unsigned long long)p->p_offset,
		       (unsigned long long)p->p_vaddr, (unsigned long long)p->p_filesz,
		       (unsigned long long)p->p_memsz, pb_elf_flags_str(p->p_flags, fl),
		       (unsigned long long)p->p_align);
	}
}

static void print_json(const char *file, const struct pb_elf *e)
{
	char fl[4];

	fputc('{', stdout);
	pb_json_format(stdout, "inspect", PB_JSON_INSPECT_VERSION);
	fputs(",\"file\":", stdout);
	pb_json_str(stdout, file);
	printf(",\"type\":\"%s\",\"machine\":\"%s\",\"entry\":%llu,\"interp\":",
	       pb_elf_type_name(e->type), pb_elf_machine_name(e->machine),
	       (unsigned long long)e->entry);
	pb_json_str(stdout, e->interp);
	printf(",\"stack\":{\"flags\":\"%s\",\"size\":%llu,\"present\":%s}",
	       pb_elf_flags_str(e->stack_flags, fl), (unsigned long long)e->stack_size,
	       e->has_gnu_stack ? "true" : "false");
	printf(",\"span\":{\"lo\":%llu,\"hi\":%llu},\"max_align\":%llu",
	       (unsigned long long)e->lo, (unsigned long long)e->hi,
	       (unsigned long long)e->max_align);
	if (e->phdr_in_load)
		printf(",\"phdr_vaddr\":%llu", (unsigned long long)e->phdr_vaddr);
	else
		fputs(",\"phdr_vaddr\":null", stdout);
	printf(",\"gnu_property\":%s,\"x86_features\":%u,\"segments\":[",
	       e->has_gnu_property ? "true" : "false", e->x86_features);
	for (unsigned i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *p = &e->phdrs[i];
		printf("%s{\"type\":\"%s\",\"p_type\":%u,\"offset\":%llu,\"vaddr\":%llu,"
		       "\"filesz\":%llu,\"memsz\":%llu,\"flags\":\"%s\",\"align\":%llu}",
		       i ? "," : "", pb_elf_phdr_type_name(p->p_type), p->p_type,
		       (unsigned long long)p->p_offset, (unsigned long long)p->p_vaddr,
		       (unsigned long long)p->p_filesz, (unsigned long long)p->p_memsz,
		       pb_elf_flags_str(p->p_flags, fl), (unsigned long long)p->p_align);
	}
	fputs("]}\n", stdout);
}

/* The context is ~45 KiB: on the heap, as procbuilder runs on a 16 KiB stack. */
static int inspect_fd(int fd, const char *file, const struct pb_stage_opts *opts, int json)
{
	struct pb_ctx *ctx = malloc(sizeof(*ctx));
	int r, ret = 0;

	if (!ctx) {
		pb_cli_error("inspect", "out of memory");
		return PB_EXIT_ERROR;
	}
	pb_ctx_init(ctx);
	ctx->exec_fd = fd;
	ctx->exec_name = file;
	ctx->stage = "parse";
	r = pb_stage_parse(ctx, opts);
	if (r < 0) {
		pb_cli_error(ctx->err.stage, "%s", ctx->err.msg);
		ret = ctx->err.code == PB_EPARSE ? PB_EXIT_CANNOT_EXEC : PB_EXIT_ERROR; /* as run gives for it */
	} else if (json) {
		print_json(file, &ctx->exec);
	} else {
		print_text(file, &ctx->exec);
	}
	pb_ctx_clear(ctx);
	free(ctx);
	return ret;
}

int pb_cli_inspect(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, 'j'},
		{"lax", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct pb_opt strict = {.key = "strict", .type = PB_OPT_BOOL, .b = true};
	struct pb_stage_opts opts = {.sz = sizeof(opts), .v = &strict, .n = 1};
	int json = 0, c;
	_cleanup_close_ int fd = -1;

	while ((c = getopt_long(argc, argv, ":jlh", longopts, NULL)) != -1) { /* options anywhere */
		switch (c) {
		case 'j': json = 1; break;
		case 'l': strict.b = false; break;
		case 'h': pb_cli_inspect_help(stdout); return 0;
		default: return pb_cli_bad_option("inspect", c, argv);
		}
	}
	if (optind != argc - 1) {
		pb_cli_error("inspect", "expected one FILE (try 'procbuilder inspect --help')");
		return PB_EXIT_USAGE;
	}
	fd = open(argv[optind], O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: refused by parse, not waited on */
	if (fd < 0) {
		pb_cli_error("inspect", "%s: %s", argv[optind], strerror(errno));
		return errno == ENOENT ? PB_EXIT_NOT_FOUND : PB_EXIT_CANNOT_EXEC;
	}
	return inspect_fd(fd, argv[optind], &opts, json);
}
