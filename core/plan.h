/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * A plan is data: the address-space program the stub applies, the initial
 * registers and the mm fields. Stages append to it and never touch the target.
 */
enum pb_step_kind {
	PB_STEP_RESERVE,	/* PROT_NONE placeholder, kept out of other use */
	PB_STEP_RELEASE,	/* drop a placeholder made by RESERVE */
	PB_STEP_MAP_FILE,	/* private file mapping of files[file] at off */
	PB_STEP_MAP_ANON,	/* private anonymous mapping */
	PB_STEP_ZERO,		/* zero bytes (tail of a partial bss page) */
	PB_STEP_WRITE,		/* copy data[off .. off+len) to addr */
	PB_STEP_PROTECT,	/* change protection */
	PB_STEP_UNMAP,		/* remove a mapping */
	PB_STEP_GROW,		/* extend the grows-down stack VMA down to addr */
	PB_STEP_MOVE,		/* mremap the one mapping at off (the kernel's [vvar...] or [vdso]) to addr */
	_PB_STEP_MAX,
};

/* Step flags. */
#define PB_STEP_OVER_RESERVE (1u << 0) /* lands inside a RESERVE of this plan */
#define PB_STEP_GROWSDOWN (1u << 1)    /* the stack VMA */
#define PB_STEP_KEEP (1u << 2)         /* RESERVE: keep until start */
#define PB_STEP_FROM_SP0 (1u << 3)     /* ZERO of the stub's start message: the stub may start it at its own first sp */
/* Bits 8 and up are the launcher's own (launch/proto.h). */

struct pb_step {
	enum pb_step_kind kind;
	unsigned flags;
	int prot;		/* PROT_* */
	int file;		/* index into files, or -1 */
	uint64_t addr, len;
	uint64_t off;		/* file offset, or data offset for WRITE */
	const char *stage;	/* the stage that emitted it (static string) */
	char note[48];		/* what it is for, e.g. "exec PT_LOAD[1] bss" */
};

struct pb_plan_file {
	int fd;			/* borrowed; the context owns it */
	char name[32];		/* "exec", "interp", ... */
};

struct pb_plan {
	struct pb_step *steps;
	size_t nsteps, cap;
	struct pb_plan_file files[8];
	size_t nfiles;
	uint8_t *data;
	size_t data_len, data_cap;
	uint64_t rip, rsp;	/* initial registers; all others are zero */
};

void pb_plan_init(struct pb_plan *plan);
void pb_plan_clear(struct pb_plan *plan);

/* Appends a step (note is copied); returns its index or -ENOMEM. */
int pb_plan_add(struct pb_plan *plan, const struct pb_step *step);

/* Registers a file for MAP_FILE steps; returns its index, or -E2BIG/-EINVAL. */
int pb_plan_file(struct pb_plan *plan, int fd, const char *name);

/* Appends bytes to the data blob; returns their offset in *ret_off; 0 or -ENOMEM. */
int pb_plan_data(struct pb_plan *plan, const void *bytes, size_t len, uint64_t *ret_off);

const char *pb_step_kind_name(enum pb_step_kind kind);
/* "r-x" style, into buf[4]. */
const char *pb_prot_str(int prot, char buf[4]);

void pb_plan_print_text(const struct pb_plan *plan, FILE *f);
/* One JSON object, no newline. */
void pb_plan_print_json(const struct pb_plan *plan, FILE *f);
/* One step as a JSON object (no newline). */
void pb_step_print_json(const struct pb_plan *plan, const struct pb_step *step, FILE *f);
