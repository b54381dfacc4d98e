/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "procbuilder.h"
#include "procbuilder/stage.h"
#include "core/aspace.h"
#include "core/elf.h"
#include "core/error.h"
#include "core/host.h"
#include "core/plan.h"
#include "core/rng.h"

/* A range kept out of use while the image is placed (the seed's reservation VMAR). */
#define PB_MAX_RESERVATIONS 16
struct pb_reservation {
	uint64_t lo, hi;
	bool keep;		/* until pb_start, not only until the end of pb_build */
	bool model_only;	/* kept out of use by the planner, no placeholder in the target */
};

/* One stage option as the pipeline file gives it (enum pb_opt_type: procbuilder/stage.h). */
struct pb_opt {
	const char *key;
	enum pb_opt_type type;
	bool b;
	int64_t i;
	const char *s;
};

/* Options of one stage; sz first so the struct can grow (libbpf opts). */
struct pb_stage_opts {
	size_t sz;
	const struct pb_opt *v;
	size_t n;
};

/* The option named key, or NULL (pb_opt_bool, _int, _str: procbuilder/stage.h). */
const struct pb_opt *pb_opt_find(const struct pb_stage_opts *opts, const char *key);

/*
 * The one context every stage reads and writes. Stages communicate only
 * through it; none calls another. Built-in stages use its fields; plugins
 * see it opaque, through the functions of procbuilder/stage.h (core/stage.c),
 * so this layout is not part of the stage ABI.
 */
struct pb_ctx {
	const char *stage;	/* the stage running now; pb_fail names it */
	struct pb_error err;

	/* inputs */
	int exec_fd;		/* the executable, borrowed (unless exec_fd_owned) */
	bool exec_fd_owned;	/* script: exec_fd is an interpreter we opened */
	uint8_t exec_head[PB_ELF_HEAD];	/* the program's first bytes, read once (pb_ctx_exec_head) */
	ssize_t exec_head_len;	/* -1: not read yet */
	const char *exec_name;	/* the name used in messages */
	const char *execfn;	/* the pathname the program sees (AT_EXECFN) */
	const char *comm;	/* the process name (PR_SET_NAME) */
	char *const *argv;	/* borrowed */
	size_t argc;
	char *const *envp;	/* borrowed */
	size_t envc;
	struct pb_host host;	/* what the kernel gave the stub */
	const char *interp_resolver;	/* the caller's choice, over the stage option, or NULL */
	int interp_override_fd;	/* the interpreter to use whatever PT_INTERP says, or -1 */
	int sysroot_fd;		/* resolve PT_INTERP under this directory, or -1 */
	const char *vdso_policy;	/* the caller's choice, over the stage option, or NULL */
	int vdso_fd;		/* a custom vDSO image, borrowed, or -1 */
	const char *reserve_range;	/* the caller's choice, over the stage option, or NULL */
	int reserve_keep;		/* the caller's choice, or -1 */
	bool reserve_model_only;	/* the launcher's: nothing runs in the target before the program, so
					   reservations need no placeholder there (they would count in VmPeak) */

	char **argv_store;	/* script, binfmt: an argv the context owns (strings in str_store) */
	char *str_store;
	const char *exec_path;	/* the pathname exec_fd was opened by (execve's bprm->interp), or NULL for a
				   bare fd; after an interpreter level, that interpreter's path (core/format.h) */
	struct pb_format {	/* the formats that hand a file to an interpreter, tried in order (core/format.h) */
		const char *name;
		int (*try_exec)(struct pb_ctx *ctx, void *data);
		void *data;
		void (*free)(void *data);
	} formats[4];
	unsigned nformats;
	unsigned exec_levels;	/* interpreter levels so far (the kernel's exec depth) */

	/* shared machinery */
	struct pb_rng rng;
	struct pb_aspace as;	/* taken ranges of the target */
	struct pb_plan plan;

	/* what the stages found and decided */
	struct pb_elf exec;	/* parse */
	bool exec_parsed;
	struct pb_elf interp;	/* interp, when the program has one */
	bool has_interp;
	int interp_fd;		/* interp: the interpreter, owned by the context */
	uint64_t exec_bias;	/* load: added to the program's p_vaddr */
	uint64_t interp_bias;	/* load: AT_BASE, 0 without interpreter */
	uint64_t entry;		/* load: the first instruction (rip) */
	bool loaded;
	uint64_t start_brk;	/* load: brk after the image (randomized like the kernel) */
	uint64_t vdso_base;	/* vdso: AT_SYSINFO_EHDR, 0 for none */
	struct pb_reservation reservations[PB_MAX_RESERVATIONS];	/* reserve */
	unsigned nreservations;
	uint64_t stack_top;	/* stack: vm_end of the stack VMA */
	uint64_t stack_lo;	/* stack: lowest address known to be in the stack VMA */
	bool stack_placed;
	uint64_t sp;		/* args: rsp at entry (the address of argc) */
	struct pb_mm_map {	/* args/load: what PR_SET_MM_MAP gets */
		uint64_t start_code, end_code, start_data, end_data;
		uint64_t start_brk, brk, start_stack;
		uint64_t arg_start, arg_end, env_start, env_end;
		uint64_t auxv, auxv_size;
	} mm;
};

void pb_ctx_init(struct pb_ctx *ctx);
/* Frees what the context owns (not the borrowed fds). */
void pb_ctx_clear(struct pb_ctx *ctx);
/*
 * The process the plan is for: host copied into ctx->host (it may be
 * ctx->host itself), and each of its mappings taken in the address-space
 * model (an unnamed one as unnamed_as).
 */
void pb_ctx_set_host(struct pb_ctx *ctx, const struct pb_host *host, const char *unnamed_as);

/*
 * Appends a plan step emitted by the running stage; returns its index (to
 * set file/off/flags on ctx->plan.steps[i]) or a negative errno with ctx->err set.
 */
int pb_ctx_step(struct pb_ctx *ctx, enum pb_step_kind kind, uint64_t addr, uint64_t len,
		int prot, const char *fmt, ...) PB_PRINTF(6, 7);

/*
 * Appends a RELEASE step for every reservation not kept until start and
 * frees it in ctx->as (run after the last stage). 0 or a negative errno.
 */
int pb_ctx_release_reservations(struct pb_ctx *ctx);
/* The same for the reservations kept until start, when nothing can release them then. */
int pb_ctx_release_kept(struct pb_ctx *ctx);

/*
 * The first PB_ELF_HEAD bytes of ctx->exec_fd, read on first use and shared
 * by the stages; returns their length, or a negative errno with ctx->err set.
 * A stage that replaces exec_fd calls pb_ctx_exec_changed.
 */
ssize_t pb_ctx_exec_head(struct pb_ctx *ctx, const uint8_t **ret_head);
void pb_ctx_exec_changed(struct pb_ctx *ctx);

/* pb_fail (records an error for the running stage): procbuilder/stage.h. */
