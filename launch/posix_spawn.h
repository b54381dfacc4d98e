/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The posix_spawn drop-in's internals (launch/posix_spawn.c): posix_spawn's
 * own work, done as glibc's child does it, in procbuilder's clone child
 * before the stub's exec (launch/spawn_child.c), and the shadow record of
 * posix_spawn_file_actions_t that the preload library keeps
 * (launch/spawn_shadow.c, preload/).
 */
#include <spawn.h>
#include <stdbool.h>
#include <sys/types.h>

#include "procbuilder.h"

/* glibc 2.36's file actions (its struct __spawn_action is not public: we keep our own). */
enum pb_spawn_action_kind {
	PB_SA_CLOSE, PB_SA_DUP2, PB_SA_OPEN, PB_SA_CHDIR, PB_SA_FCHDIR, PB_SA_CLOSEFROM, PB_SA_TCSETPGRP,
};

struct pb_spawn_action {
	int kind;		/* enum pb_spawn_action_kind */
	int fd;			/* close, dup2 (from), open (to), fchdir, closefrom (from), tcsetpgrp */
	int newfd;		/* dup2 */
	int oflag;		/* open */
	mode_t mode;		/* open */
	char *path;		/* open, chdir */
};

/*
 * What the clone child does before it execs the stub, in glibc's order:
 * dispositions, setsid, setpgid, then the file actions in order. Our own
 * fds (stub memfds, socket) sit at or above `low`, above every number an
 * action names; closefrom spares them.
 */
struct pb_child_plan {
	bool setsid, setpgroup;
	int pgid;
	uint64_t sigdefault;		/* bit n-1: signal n to SIG_DFL */
	const struct pb_spawn_action *acts;
	size_t nacts;
	int low;			/* our fds go at or above this */
	int keep[3];			/* ours, spared by closefrom (-1: none) */
	int failed_at;			/* set by the parent: the action that failed, -1 for the attributes */
};

/*
 * Runs the plan in the clone child (raw system calls, no libc: it shares
 * the caller's memory). 0, or the negative errno of the first failure with
 * *at its index (-1: setsid/setpgid).
 */
long pb_child_plan_run(const struct pb_child_plan *cp, int *at);

/* The lowest fd number no action names (the clone child's own fds go there). */
int pb_child_plan_low(const struct pb_spawn_action *acts, size_t n);

/* A builder whose clone child runs cp before the exec (builder.c); as pb_builder_new otherwise. */
int pb_builder_new_child(const char *name, int exec_fd, struct pb_child_plan *cp, struct pb_builder **ret,
			 struct pb_error *err);

/* How a spawn went, for the preload library's trace. */
struct pb_spawn_outcome {
	bool glibc;		/* it went to glibc's posix_spawn */
	char why[160];		/* why, when it did */
	int err;		/* the return value */
};

/*
 * pb_posix_spawn(p) with a pipeline (NULL: the default) and an outcome.
 * acts/nacts: the file actions, or NULL with nacts (size_t)-1 when they
 * are unknown (then glibc's posix_spawn is used unless fa is empty).
 */
int pb_spawn_dropin(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		    const struct pb_spawn_action *acts, size_t nacts, const posix_spawnattr_t *attr,
		    char *const argv[], char *const envp[], bool search, const struct pb_pipeline *pipe,
		    struct pb_spawn_outcome *out);

/* The shadow record (launch/spawn_shadow.c): what the preload saw done to each posix_spawn_file_actions_t. */
void pb_shadow_init(const posix_spawn_file_actions_t *fa);
void pb_shadow_add(const posix_spawn_file_actions_t *fa, const struct pb_spawn_action *a);
void pb_shadow_forget(const posix_spawn_file_actions_t *fa);
/* A copy of fa's actions (free with pb_spawn_actions_free), or -ENOENT if we did not see all of them. */
int pb_shadow_get(const posix_spawn_file_actions_t *fa, struct pb_spawn_action **ret, size_t *n);
void pb_spawn_actions_free(struct pb_spawn_action *acts, size_t n);

/* Whether a PB_EPARSE is one the kernel's execve gives too (ENOEXEC), not a strict-only refusal. */
bool pb_error_kernel_enoexec(const struct pb_error *err);
