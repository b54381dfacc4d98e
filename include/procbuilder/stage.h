/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * procbuilder/stage.h: the stage ABI, for stages built outside procbuilder
 * (plugins) and for callers that add stages with pb_registry_add.
 *
 * A stage is one function that reads and writes the build context and
 * appends steps to the plan. The context itself (struct pb_ctx) stays
 * opaque here: a stage reaches it only through the functions below, so
 * procbuilder can change its layout without breaking a built plugin. What
 * this header does define (struct pb_stage_def, struct pb_opt_schema, the
 * enums, the functions' signatures) is the stage ABI, versioned by
 * PB_STAGE_ABI_VERSION.
 *
 * Build a plugin with `pkg-config --cflags --libs procbuilder` and -shared
 * -fPIC; it exports exactly two symbols (visibility default, the rest of it
 * may stay hidden):
 *
 *   PB_PLUGIN_EXPORT const unsigned pb_plugin_abi = PB_STAGE_ABI_VERSION;
 *   PB_PLUGIN_EXPORT const struct pb_stage_def pb_plugin_stages[] = {{...}, {0}};
 *
 * The functions it calls are resolved at load time from the procbuilder that
 * loads it (the CLI or libprocbuilder.so): it carries no copy of them.
 */
#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <procbuilder.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup procbuilder_stage procbuilder stage SDK: what a plugin stage may read, write and emit
 * @{ */

/*
 * Bumped by hand whenever anything in this header changes incompatibly (a
 * struct's layout, an enum's values, a function's meaning or signature);
 * appending an enum value that older plugins never see is compatible. A
 * plugin built for another version is refused when it is loaded.
 */
#define PB_STAGE_ABI_VERSION 1

/* What a plugin puts on the two symbols procbuilder looks up. */
#define PB_PLUGIN_EXPORT __attribute__((visibility("default")))

struct pb_ctx;
struct pb_stage_opts;

/*
 * A stage: 0 on success, or a negative errno with the context's error set
 * (return pb_fail(...)). It runs once per build, in pipeline order.
 */
typedef int (*pb_stage_fn)(struct pb_ctx *ctx, const struct pb_stage_opts *opts);

enum pb_opt_type { PB_OPT_BOOL, PB_OPT_INT, PB_OPT_STR };

/* One option a stage takes: its type, and (strings) the values it allows. */
struct pb_opt_schema {
	const char *name;
	enum pb_opt_type type;
	const char *const *values;	/* NULL-terminated, or NULL: any string */
	int (*check)(const char *value);	/* for strings: 0 if valid, or NULL */
	const char *help;
};

/* A stage the runner knows: its name in pipeline files, entry point and rules. */
struct pb_stage_def {
	const char *name;
	pb_stage_fn run;
	const char *summary;
	const struct pb_opt_schema *opts;	/* ends with {NULL}; NULL: none */
	const char *const *after;		/* stages that must come before it, when present; NULL: none */
	bool required;				/* every pipeline needs it */
};

/* The stage's options as the pipeline file gives them (checked against its schema); def when absent. */
PB_API bool pb_opt_bool(const struct pb_stage_opts *opts, const char *key, bool def);
PB_API int64_t pb_opt_int(const struct pb_stage_opts *opts, const char *key, int64_t def);
PB_API const char *pb_opt_str(const struct pb_stage_opts *opts, const char *key, const char *def);

/*
 * Records the failure of the running stage (its name is added) and returns
 * the negative errno of code, so `return pb_fail(ctx, PB_EINVAL, "...")` works.
 */
PB_API int pb_fail(struct pb_ctx *ctx, enum pb_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * What the stages found and decided, as numbers. Each is set by the stage
 * named; before that stage ran it reads as -ENODATA. Only PB_CTX_ENTRY may
 * be written. New fields are appended.
 */
enum pb_ctx_field {
	PB_CTX_EXEC_TYPE,	/* parse: ET_EXEC or ET_DYN */
	PB_CTX_EXEC_ENTRY,	/* parse: e_entry as in the file (unbiased) */
	PB_CTX_EXEC_LO,		/* parse: page-aligned span of the PT_LOADs, unbiased */
	PB_CTX_EXEC_HI,
	PB_CTX_EXEC_ALIGN,	/* parse: the largest p_align, at least a page */
	PB_CTX_HAS_INTERP,	/* after parse: 1 once interp found the program's interpreter, else 0 */
	PB_CTX_INTERP_LO,	/* interp: the interpreter's span, unbiased */
	PB_CTX_INTERP_HI,
	PB_CTX_EXEC_BIAS,	/* load: added to the program's p_vaddr */
	PB_CTX_INTERP_BIAS,	/* load: AT_BASE (0 without interpreter) */
	PB_CTX_ENTRY,		/* load: the first instruction run (rip); writable */
	PB_CTX_VDSO_BASE,	/* always: AT_SYSINFO_EHDR as planned so far (vdso may change it), 0 for none */
	PB_CTX_STACK_TOP,	/* stack: the end of the stack mapping */
	PB_CTX_SP,		/* args: rsp at entry (the address of argc) */
	PB_CTX_MMAP_MIN,	/* always: the lowest address a mapping may use */
	PB_CTX_MMAP_TOP,	/* always: top-down placement starts below this */
	PB_CTX_ARGC,		/* always: the arguments and environment the program gets */
	PB_CTX_ENVC,
	_PB_CTX_FIELD_MAX,
};

/* 0 and *ret_value, -ENODATA (not set yet) or -EINVAL (no such field). */
PB_API int pb_ctx_get(const struct pb_ctx *ctx, enum pb_ctx_field field, uint64_t *ret_value);
/*
 * 0; -EPERM for a field a stage may not write, -EINVAL before the stage that
 * sets it ran (the context's error set either way).
 */
PB_API int pb_ctx_set(struct pb_ctx *ctx, enum pb_ctx_field field, uint64_t value);

enum pb_ctx_name {
	PB_NAME_PROGRAM,	/* the program's name in messages */
	PB_NAME_EXECFN,		/* the pathname the program sees (AT_EXECFN) */
	PB_NAME_COMM,		/* the process name */
	PB_NAME_INTERP,		/* PT_INTERP as written in the program (parse), or NULL */
};

/* A name (NULL if unknown); the context owns it. */
PB_API const char *pb_ctx_name(const struct pb_ctx *ctx, enum pb_ctx_name which);
/* Argument / environment string i of the program, NULL past the end. */
PB_API const char *pb_ctx_arg(const struct pb_ctx *ctx, size_t i);
PB_API const char *pb_ctx_env(const struct pb_ctx *ctx, size_t i);

/*
 * The program headers of the program (interp false) or its interpreter, as
 * in the file. 0, or -ENODATA before parse (interp) ran or without one.
 */
PB_API int pb_ctx_phdrs(const struct pb_ctx *ctx, bool interp, const Elf64_Phdr **ret_phdrs, size_t *ret_n);

/*
 * The address-space model: the ranges of the target already taken (by the
 * kernel, the stub, earlier stages, reservations). Stages place things with
 * it and never probe the target.
 */
/* True if [lo, hi) meets a taken range; *ret_what (if not NULL) names it. */
PB_API bool pb_ctx_busy(const struct pb_ctx *ctx, uint64_t lo, uint64_t hi, const char **ret_what);
/*
 * The highest free address of the mmap area where size bytes fit, aligned
 * to align (the kernel's top-down search). 0, or -ENOMEM with the error set.
 */
PB_API int pb_ctx_find_free(struct pb_ctx *ctx, uint64_t size, uint64_t align, uint64_t *ret_addr);

/* Randomness for placement: the kernel's, or the pipeline's seed. */
PB_API uint64_t pb_ctx_random(struct pb_ctx *ctx);

/*
 * Plan steps. Each call takes its range in the address-space model as it
 * emits the step, so a later stage cannot place something over it, and
 * `plan` sees the same collisions `run` would. A range that meets a taken
 * one is refused (PB_ELOAD, -EINVAL) with a message naming the running stage
 * and what holds the range. Addresses and lengths are page-aligned.
 */
#define PB_RESERVE_KEEP (1u << 0)	/* keep it until the program starts, not only while placing */

/*
 * Keeps [lo, hi) out of use until pb_build returns: what is planned after it
 * is placed around it. Only the model holds it (nothing but the plan's own
 * steps maps in the target, and a placeholder would count in VmPeak); with
 * PB_RESERVE_KEEP it is also a PROT_NONE placeholder in the target until
 * pb_start (none under a finite RLIMIT_AS or in place). 0 or a negative
 * errno with the error set.
 */
PB_API int pb_ctx_reserve(struct pb_ctx *ctx, uint64_t lo, uint64_t hi, unsigned flags, const char *note);
/* A private anonymous mapping of [addr, addr+len) with prot (PROT_*). 0 or a negative errno. */
PB_API int pb_ctx_map_anon(struct pb_ctx *ctx, uint64_t addr, uint64_t len, int prot, const char *note);

/** @} */

#ifdef __cplusplus
}
#endif
