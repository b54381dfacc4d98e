/* SPDX-License-Identifier: MIT */
#pragma once
#include <elf.h>
#include <stdbool.h>
#include <stdint.h>

#include "procbuilder.h"

/* Refuse what the kernel tolerates but no sane linker writes. */
#define PB_ELF_STRICT (1u << 0)

/* Program header count: the kernel takes up to 64 KiB of them (1170, measured on
 * 6.18); strict mode keeps to one page (73), as older kernels did. */
#define PB_ELF_MAX_PHDRS (65536 / sizeof(Elf64_Phdr))
#define PB_ELF_MAX_PHDRS_STRICT (4096 / sizeof(Elf64_Phdr))

/* GNU_PROPERTY_X86_FEATURE_1_AND bits, noted (the kernel ignores them on x86). */
#define PB_X86_FEATURE_IBT (1u << 0)
#define PB_X86_FEATURE_SHSTK (1u << 1)

/*
 * One parsed ELF64 image. Addresses are unbiased (as in the file); the load
 * stage adds the bias it picks.
 */
struct pb_elf {
	uint64_t file_size;
	uint16_t type;		/* ET_EXEC or ET_DYN */
	uint16_t machine;
	uint8_t osabi;
	uint64_t entry;
	uint64_t phoff;
	uint16_t phnum;
	Elf64_Phdr *phdrs;	/* phnum entries, owned */
	unsigned nload;		/* number of PT_LOAD */
	uint64_t lo, hi;	/* page-aligned span of all PT_LOAD */
	uint64_t max_align;	/* largest power-of-two p_align, at least a page */
	char *interp;		/* PT_INTERP path, or NULL; owned */
	bool has_gnu_stack;
	uint32_t stack_flags;	/* PF_* of PT_GNU_STACK (PF_R|PF_W if absent) */
	uint64_t stack_size;	/* its p_memsz (0: no preference) */
	bool has_gnu_property;
	uint32_t x86_features;	/* PB_X86_FEATURE_* when readable */
	bool phdr_in_load;	/* program headers lie in a PT_LOAD's file range */
	uint64_t phdr_vaddr;	/* their address, for AT_PHDR (kernel rule) */
	/* mm bookkeeping as the kernel computes it (fs/binfmt_elf.c) */
	uint64_t start_code, end_code, start_data, end_data, elf_brk;
};

/*
 * Reads and validates the ELF64 image in fd with bounded preads. On success
 * fills *ret (free with pb_elf_clear) and returns 0. On failure returns a
 * negative errno and fills err: PB_EPARSE with a pb_parse_detail, or PB_ESYS.
 * err->stage is left to the caller. `what` names the file in messages.
 */
int pb_elf_read(int fd, unsigned flags, const char *what, struct pb_elf *ret,
		struct pb_error *err);

/*
 * The same, with the file's first head_len bytes already read into head
 * (head_len < PB_ELF_HEAD only at the end of the file): what lies in them
 * is not read again.
 */
#define PB_ELF_HEAD 4096
int pb_elf_read_head(int fd, const void *head, size_t head_len, unsigned flags, const char *what,
		     struct pb_elf *ret, struct pb_error *err);

void pb_elf_clear(struct pb_elf *elf);

/* Human names, never NULL. */
const char *pb_elf_type_name(uint16_t type);
const char *pb_elf_machine_name(uint16_t machine);
const char *pb_elf_phdr_type_name(uint32_t type);
/* "R-X" style, into buf[4]. */
const char *pb_elf_flags_str(uint32_t flags, char buf[4]);
/* The machine this library runs programs for. */
uint16_t pb_elf_host_machine(void);

/*
 * The page-aligned end of the PT_LOADs of an ELF image that is trusted and in
 * memory (the embedded stub, the kernel's vDSO): its extent from p_vaddr 0.
 */
uint64_t pb_elf_image_extent(const void *image);
