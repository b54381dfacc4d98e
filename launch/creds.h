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
 * What a launcher changes of the process's credentials before the exec
 * (launch/ids.c: setpriv's --ruid/--euid/--rgid/--egid/--groups,
 * --inh-caps, --ambient-caps, --bounding-set, posix_spawn's RESETIDS), in
 * the order the stub applies them: bounding set, inheritable, ambient,
 * groups, gids, uids (with the kernel's capability rules for setresuid).
 * Ids set explicitly make the saved id the effective one (as setpriv);
 * resetids then sets the effective ids to the real ones (as glibc).
 */
#define PB_REQ_RUID (1u << 0)
#define PB_REQ_EUID (1u << 1)
#define PB_REQ_RGID (1u << 2)
#define PB_REQ_EGID (1u << 3)
#define PB_REQ_GROUPS (1u << 4)
#define PB_REQ_RESETIDS (1u << 5)
#define PB_REQ_INH (1u << 6)
#define PB_REQ_AMBIENT (1u << 7)
#define PB_REQ_BOUNDING (1u << 8)
struct pb_creds_request {
	uint32_t flags;		/* PB_REQ_* */
	uint32_t ruid, euid, rgid, egid;
	uint32_t ngroups;
	uint32_t groups[PB_CREDS_MAX_GROUPS];
	uint64_t inh, amb, bnd;	/* the sets as they are to be before the exec */
	bool nnp;		/* no_new_privs is set before the exec (pb_set_no_new_privs) */
	bool in_place;		/* the caller becomes the program (what it has is the program's to keep) */
};

/* The credentials the process has just before its exec: c with req applied. */
void pb_creds_apply_request(struct pb_creds *c, const struct pb_creds_request *req);

/* What the stub holds after its own exec (a plain file by this process); 0 or -errno. */
int pb_stub_creds(struct pb_exec_creds *out);
/* The calling process's capability sets without /proc (bnd, amb, inh); 0 or -errno. */
int pb_self_cap_sets(uint64_t *inh, uint64_t *amb, uint64_t *bnd);

/*
 * The credentials step for the program in fd (named name in errors): what
 * execve of it would give the caller once req is applied, as changes from
 * what the kernel gives the stub (a plain exec of the caller). A traced
 * caller gets exec's downgrade (its tracer may follow a child too).
 * Refuses, with err set, what the stub could not reach by dropping, and
 * what the kernel itself refuses. 0 or a negative errno.
 */
int pb_creds_plan(int fd, const char *name, const struct pb_creds_request *req, struct pb_wire_creds *out,
		  struct pb_error *err);
/* The stub's failure at step (enum pb_creds_step) as an error. */
void pb_creds_explain(const struct pb_creds_request *req, int step, int e, struct pb_error *err);

/* TracerPid != 0; without /proc we cannot tell, and take it as traced (the safe side). */
bool pb_self_traced(void);
