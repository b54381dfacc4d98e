/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "procbuilder.h"
#include "core/elf.h"
#include "core/error.h"
#include "core/plan.h"

/* One stage option as the pipeline file gives it. */
enum pb_opt_type { PB_OPT_BOOL, PB_OPT_INT, PB_OPT_STR };

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

/* The option named key, or NULL. */
const struct pb_opt *pb_opt_find(const struct pb_stage_opts *opts, const char *key);
bool pb_opt_bool(const struct pb_stage_opts *opts, const char *key, bool def);
int64_t pb_opt_int(const struct pb_stage_opts *opts, const char *key, int64_t def);
const char *pb_opt_str(const struct pb_stage_opts *opts, const char *key, const char *def);

/*
 * The one context every stage reads and writes. Stages communicate only
 * through it; none calls another.
 */
struct pb_ctx {
	const char *stage;	/* the stage running now; pb_fail names it */
	struct pb_error err;

	/* inputs */
	int exec_fd;		/* the executable, borrowed */
	const char *exec_name;	/* the name used in messages */

	/* what the stages found and decided */
	struct pb_elf exec;	/* filled by parse */
	bool exec_parsed;
	struct pb_plan plan;
};

void pb_ctx_init(struct pb_ctx *ctx);
/* Frees what the context owns (not the borrowed fds). */
void pb_ctx_clear(struct pb_ctx *ctx);

/* Records an error for the running stage and returns its negative errno. */
int pb_fail(struct pb_ctx *ctx, enum pb_code code, const char *fmt, ...) PB_PRINTF(3, 4);
