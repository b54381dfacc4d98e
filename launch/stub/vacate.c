/* SPDX-License-Identifier: MIT */
/*
 * The stub leaves the mmap area. The kernel mapped the stub (a static PIE)
 * as the first mapping of its mmap area, at mmap_base, and the vDSO next to
 * it; execve would have put the program's ld.so (or a static PIE) there.
 * Before anything else runs, the stub moves its image just outside the
 * area, where no mmap(NULL) ever searches: above mmap_base in the top-down
 * layout (the stack gap), below it in the bottom-up one. The planner then
 * places everything from mmap_base as the kernel does, and the hole the
 * stub leaves at the end is outside the area too.
 *
 * Each PT_LOAD moves with mremap(MREMAP_DONTUNMAP): the old code stays
 * mapped (refaulted from the memfd) until the caller has jumped into the
 * new copy, which unmaps it. The image is relocation-free, so the copy runs
 * as it is. This runs on the kernel's stack, before anything is written to
 * the image except the saved signal mask (which moves with its page). Its
 * frame there, below the stub's first sp, is the one thing the stub writes
 * below it: it says how low it went, and stub_main clears it (a program
 * finds zeros below its sp, as after execve). The stub is built without a
 * red zone, so nothing is written below its stack pointer.
 */
#include <linux/elf.h>
#include <linux/mman.h>

#include "launch/stub/stub.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#define PAGE 4096ul
#define PG_START(a) ((a) & ~(PAGE - 1))
#define PG_ALIGN(a) (((a) + PAGE - 1) & ~(PAGE - 1))

extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _end[] __attribute__((visibility("hidden")));

struct stub_vacated stub_vacate(const uint64_t *sp0) __attribute__((used, visibility("hidden")));

/* The lowest our stack pointer has been: where our frame is (noted before each system call). */
static inline __attribute__((always_inline)) void note_low(uint64_t *low)
{
	uint64_t sp;

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	if (sp < *low)
		*low = sp;
}

static uint64_t vdso_of(const uint64_t *sp0)
{
	const uint64_t *p = sp0 + 1 + sp0[0] + 1;

	while (*p)
		p++;
	for (p++; p[0]; p += 2)
		if (p[0] == 33) /* AT_SYSINFO_EHDR */
			return p[1];
	return 0;
}

/* One piece of the image to d + its address, counted in *nsys; 0 or -errno. */
static long move_piece(uint64_t lo, uint64_t hi, uint64_t delta, uint32_t *nsys, uint64_t *low)
{
	long r;

	if (hi <= lo)
		return 0;
	++*nsys;
	note_low(low);
	r = pb_raw_syscall(__NR_mremap, (long)lo, (long)(hi - lo), (long)(hi - lo),
		 MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, (long)(lo + delta), 0);
	return r < 0 ? r : 0;
}

/* Every PT_LOAD: its file part and its anonymous bss, each a VMA of its own. */
static long move_image(uint64_t delta, uint32_t *nsys, uint64_t *low)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)__ehdr_start;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)(__ehdr_start + eh->e_phoff);
	uint64_t base = (uint64_t)__ehdr_start;
	long r = 0;

	for (unsigned i = 0; i < eh->e_phnum && r == 0; i++) {
		uint64_t lo = base + ph[i].p_vaddr, file_end = PG_ALIGN(lo + ph[i].p_filesz);
		if (ph[i].p_type != PT_LOAD)
			continue;
		r = move_piece(PG_START(lo), file_end, delta, nsys, low);
		if (r == 0)
			r = move_piece(file_end, PG_ALIGN(lo + ph[i].p_memsz), delta, nsys, low);
	}
	return r;
}

/*
 * Moves the image out of the mmap area; returns how far (0: it stays, on a
 * kernel without MREMAP_DONTUNMAP for files, or with the place taken), and
 * the lowest our stack went.
 */
struct stub_vacated stub_vacate(const uint64_t *sp0)
{
	struct stub_vacated out = {0, (uint64_t)sp0};
	uint64_t lo = PG_START((uint64_t)__ehdr_start), hi = PG_ALIGN((uint64_t)_end);
	uint64_t vdso = vdso_of(sp0);
	/* top-down the vDSO came after us, below; bottom-up above */
	uint64_t to = vdso && vdso > lo ? lo - (hi - lo) : hi;
	uint32_t nsys = 2; /* _start's rt_sigprocmask, and the mmap below */
	long r;

	note_low(&out.low);
	if (!vdso) {
		stub_nsys = 1;
		return out;
	}
	/* the place must be free: a placeholder there first (a hint, taken only if free), which the move replaces */
	r = pb_raw_syscall(__NR_mmap, (long)to, (long)(hi - lo), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r >= 0 && ((uint64_t)r != to || move_image(to - lo, &nsys, &out.low) < 0)) {
		/* (only the first move can fail: each later one is the same call on the same kind of VMA) */
		sys3(__NR_munmap, r, hi - lo, 0);
		r = -1;
	}
	if (r < 0) {
		stub_nsys += nsys;
		return out;
	}
	*(uint32_t *)((char *)&stub_nsys + (to - lo)) = nsys; /* the counter as moved */
	out.delta = to - lo;
	return out;
}
