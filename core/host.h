/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>

#define PB_HOST_MAX_AUXV 64
#define PB_HOST_MAX_MAPS 256

/* One mapping of the process under construction. */
struct pb_vma {
	uint64_t lo, hi;
	char name[40];		/* "[stack]", "[vdso]", "/memfd:pb-stub (deleted)", "" */
};

/*
 * What the kernel gave the process under construction (the stub): its auxv
 * in the kernel's order, its mappings, its stack. In plan-only mode the
 * calling process stands in for it.
 */
struct pb_host {
	uint64_t auxv[PB_HOST_MAX_AUXV][2];	/* (id, value) up to, not including, AT_NULL */
	unsigned nauxv;
	struct pb_vma maps[PB_HOST_MAX_MAPS];	/* sorted by address */
	unsigned nmaps;
	uint64_t stack_end;	/* vm_end of the kernel-made [stack] to reuse, 0 if none */
	uint64_t sp0;		/* the stub's initial stack pointer */
	uint64_t stub_lo, stub_hi;	/* the stub's image, removed at finalize */
	uint64_t syscall_insn;	/* a "syscall" instruction in the stub */
	uint64_t vdso_base;	/* AT_SYSINFO_EHDR, 0 if none */
	uint64_t mmap_top;	/* mmap_base: top-down placement starts below it, bottom-up above */
	bool bottom_up;		/* the legacy layout: the mmap area grows up from mmap_top */
	struct rlimit stack_rlim;
	struct rlimit as_rlim;	/* RLIMIT_AS: placeholders count against it */
	int randomize_va_space;	/* /proc/sys/kernel/randomize_va_space */
	unsigned long personality;
	uint64_t mmap_min_addr;
	bool legacy_va_layout;	/* /proc/sys/vm/legacy_va_layout */
};

/* The value of auxv entry id, or def. */
uint64_t pb_host_auxv(const struct pb_host *host, uint64_t id, uint64_t def);

/* Parses /proc/PID/maps text into host->maps (sorted); returns the count or -errno. */
int pb_host_parse_maps(struct pb_host *host, const char *text, size_t len);

/*
 * Fills host from the calling process: its auxv (from /proc/self/auxv, else
 * getauxval), vDSO, rlimits, randomization, personality; no mappings.
 * Returns 0.
 */
int pb_host_from_self(struct pb_host *host);

/*
 * Our [vvar...] and [vdso] mappings, lowest first, into run (at most 4): the
 * same kernel gives every exec the same. Asked with PROCMAP_QUERY, else read
 * from /proc/self/maps, else (no /proc) the vDSO's own size and 6 pages of
 * vvar below it. Returns how many, 0 without a vDSO or when what AT_SYSINFO_EHDR
 * names is not the kernel's [vdso] (a custom image mapped by procbuilder).
 */
unsigned pb_host_vdso_run(const struct pb_host *host, struct pb_vma run[4]);

/*
 * Appends that run to host's mappings moved by shift, and makes its [vdso]
 * the host's vDSO (vdso_base, AT_SYSINFO_EHDR); n 0: no vDSO.
 */
void pb_host_place_vdso_run(struct pb_host *host, const struct pb_vma *run, unsigned n, uint64_t shift);

/* One mapping to move (mremap), as the stub does before the plan's steps. */
struct pb_move {
	uint64_t from, to, len;
};

/*
 * The kernel's [vvar...] and [vdso] of host, moved out of the mmap area
 * (execve maps the vDSO after the program and ld.so, so the planner must
 * be free to place those first): next to the stub's image, on the side away
 * from the area. Updates host->maps, vdso_base and AT_SYSINFO_EHDR and
 * returns the moves for the stub (at most 4), 0 without a kernel vDSO.
 * (Without /proc the [vvar...] pages are one assumed range: 6.18 moves a
 * range of several whole VMAs in one mremap, measured; a part of one it refuses.)
 */
unsigned pb_host_park_vdso_run(struct pb_host *host, struct pb_move park[4]);

/*
 * Models the address space of a fresh process (plan-only mode): the auxv of
 * the calling process, a kernel-like mmap_base drawn from rand (so a seeded
 * generator gives the same model every time) with [vvar]/[vdso] below it, no
 * stack. Draws from rng (seeded: the same model every time).
 */
struct pb_rng;
int pb_host_model_fresh(struct pb_host *host, struct pb_rng *rng);

/*
 * Without the stub's /proc/self/maps (no /proc): fills host->maps with what
 * the kernel is known to have mapped for it, from stub_lo/hi, sp0 and the
 * auxv (AT_EXECFN, AT_SYSINFO_EHDR). Call with those set.
 */
void pb_host_assume_stub_maps(struct pb_host *host);

/* Reads the system-wide facts (rlimit, randomize_va_space, personality, mmap_min_addr). */
void pb_host_read_sysfacts(struct pb_host *host);

/*
 * The /proc/sys settings the layout depends on, apart from the rest: three
 * files, nine system calls (about 10 us here), which a builder reads while
 * its stub starts, the exec they shaped, instead of after its hello.
 */
struct pb_sysctls {
	int randomize_va_space;
	uint64_t mmap_min_addr;
	bool legacy_va_layout;
};
void pb_sysctls_read(struct pb_sysctls *s);
/* pb_host_read_sysfacts with the settings given: the caller's limits and personality are read now. */
void pb_host_read_sysfacts_with(struct pb_host *host, const struct pb_sysctls *s);

/*
 * arch/x86/mm/mmap.c: where an exec's mmap area starts, for a random offset
 * rnd: below the stack gap (from RLIMIT_STACK, clamped) top-down, or at
 * TASK_UNMAPPED_BASE in the legacy (bottom-up) layout.
 */
uint64_t pb_host_mmap_base(const struct pb_host *host, uint64_t rnd);
/* The legacy layout: ADDR_COMPAT_LAYOUT (setarch -L) or vm.legacy_va_layout. */
bool pb_host_legacy_layout(const struct pb_host *host);

/* True when the kernel would randomize this exec (PF_RANDOMIZE). */
bool pb_host_randomizes(const struct pb_host *host);

/* Where cgroup2 is mounted, from /proc/self/mountinfo (never assumed); 0 or -ENOENT. */
int pb_cgroup2_mount(char *buf, size_t len);
