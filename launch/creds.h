/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "launch/proto.h"

/* A process's credentials, as exec reads them (fs/exec.c, security/commoncap.c). */
struct pb_creds {
	uint32_t uid[3], gid[3];	/* real, effective, saved */
	uint32_t fsgid;
	uint64_t eff, prm, inh, amb, bnd;	/* capability sets, bit n = capability n */
	uint32_t securebits;
	bool nnp;		/* no_new_privs */
	bool traced;		/* exec is LSM_UNSAFE_PTRACE (we take the tracer to lack CAP_SYS_PTRACE) */
	const gid_t *groups;	/* supplementary groups, borrowed */
	size_t ngroups;
};

/* What in a file exec's credential rules read. */
struct pb_file_privs {
	uint32_t mode, uid, gid;
	bool nosuid;		/* on a nosuid mount: neither set-id bits nor file capabilities count */
	bool has_fcap;		/* security.capability that applies here */
	bool fcap_eff;		/* its effective bit */
	uint64_t fcap_prm, fcap_inh;
	uint64_t fcap_v3_root;	/* a v3 entry for another namespace's root (ignored), or 0 */
};

/* The credentials after exec of a file. */
struct pb_exec_creds {
	uint32_t uid[3], gid[3];
	uint64_t eff, prm, inh, amb;
	bool secure;		/* AT_SECURE */
	bool suid_dumpable;	/* dumpable is fs.suid_dumpable, not 1 */
	bool per_clear;		/* PER_CLEAR_ON_SETID */
	bool refused;		/* -EPERM: file capabilities with the effective bit the process cannot have */
};

/* exec's rules: old's credentials after exec of a file with f's privileges. */
void pb_exec_creds(const struct pb_creds *old, const struct pb_file_privs *f, struct pb_exec_creds *out);

/* The set-id bits, mount flags and capability xattr of the open file fd; 0 or -errno. */
int pb_file_privs_of(int fd, struct pb_file_privs *f);

/* Whether exec of f can change anything of a process's credentials (set-id bits or file caps that count). */
bool pb_file_privs_matter(const struct pb_file_privs *f);

/* The calling process's credentials; groups is a malloc'd array the caller frees. 0 or -errno. */
int pb_creds_of_self(struct pb_creds *c, gid_t **groups);

/*
 * The credentials step for the program in fd (named name in errors): what
 * execve of it would give the caller, as changes from what the kernel gives
 * the stub (a plain exec of the caller); nnp: the program is to have
 * no_new_privs set before its exec (pb_set_no_new_privs). A traced caller gets exec's
 * downgrade (its tracer may follow a child too). Refuses, with err set,
 * what the stub could not reach by dropping, and what the kernel itself
 * refuses. 0 or a negative errno.
 */
int pb_creds_plan(int fd, const char *name, bool nnp, struct pb_wire_creds *out, struct pb_error *err);
