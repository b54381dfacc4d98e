/* SPDX-License-Identifier: MIT */
#pragma once
#include <elf.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Tiny ELF64 images built in the tests. The valid ones really run: their
 * code is "exit(code)" by raw syscall, so the kernel can judge them too.
 *
 * Layout of the base image (file 0x1010 bytes):
 *   0x000 ELF header, 0x040 program headers, 0x400 room for PT_INTERP,
 *   0x800 code (entry), 0x1000 16 bytes of data.
 *   PT_LOAD[0] R-X off 0 -> base,          filesz = memsz = 0x1000
 *   PT_LOAD[1] RW- off 0x1000 -> base+0x1000, filesz 0x10, memsz 0x2000 (bss)
 *   PT_GNU_STACK RW-
 */
#define ELFGEN_MAX_PH 80
#define ELFGEN_MAX_SIZE (128 * 1024)
#define ELFGEN_CODE_OFF 0x800
#define ELFGEN_INTERP_OFF 0x400

struct elfgen {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[ELFGEN_MAX_PH];
	unsigned nph;		/* program headers written (eh.e_phnum may lie) */
	uint8_t body[ELFGEN_MAX_SIZE];
	size_t size;		/* file size */
};

/* A static ET_EXEC at 0x400000 that exits with code. */
void elfgen_static_exec(struct elfgen *g, int code);
/* A static-PIE ET_DYN at vaddr 0 that exits with code. */
void elfgen_static_pie(struct elfgen *g, int code);
/* Adds a PT_INTERP naming path (stored at ELFGEN_INTERP_OFF); returns its index. */
unsigned elfgen_add_interp(struct elfgen *g, const char *path);
/* Appends a program header; returns its index. */
unsigned elfgen_add(struct elfgen *g, const Elf64_Phdr *ph);
/* The image bytes: header and program headers written into body. */
const uint8_t *elfgen_bytes(struct elfgen *g);
/* A read-only CLOEXEC fd of a memfd holding the image, or -1. */
int elfgen_fd(struct elfgen *g);

/* How the kernel's execve judged an image. */
struct kernel_verdict {
	int exec_errno;		/* execveat failed with this errno, or 0 */
	int exit_code;		/* exit status if it ran and exited, else -1 */
	int signal;		/* the signal that killed it, or 0 */
};
/* Runs fd through execveat(fd, "", AT_EMPTY_PATH) in a child. */
struct kernel_verdict kernel_exec_fd(int fd);
