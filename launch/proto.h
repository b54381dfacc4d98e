/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * The wire protocol between the builder and its stub, over a SOCK_SEQPACKET
 * socket at fd PB_STUB_SOCK_FD in the stub. Shared by the freestanding stub:
 * fixed-size integer types only.
 *
 *   stub -> parent  HELLO  (who it is, what the kernel gave it)
 *   parent -> stub  PLAN   (header; SCM_RIGHTS: plan memfd, then files)
 *   stub -> parent  RESULT (phase 0 on success, else the phase or step that
 *                   failed and its errno, then it exits; with its count of
 *                   system calls and whether it set exe)
 *   traced, on success the stub closes the socket and leaves through the
 *   vDSO: munmap of itself, then an int3 there stops it for its tracer
 *   (hdr.leave, launch/finalize.c); where it cannot, it waits (pause) and
 *   its tracer stops it with PTRACE_INTERRUPT and unmaps it. Without a
 *   tracer it keeps the socket and waits for "go".
 */
#include <stdint.h>

#define PB_PROTO_MAGIC 0x31747370u	/* "pst1" */
#define PB_STUB_SOCK_FD 3
#define PB_HELLO_MAPS_MAX 12288
#define PB_PLAN_MAX_FILES 8
#define PB_PLAN_MAX_FDS 64	/* startup fds, after the files in SCM_RIGHTS */

enum pb_wire_kind {
	PB_WIRE_RESERVE, PB_WIRE_RELEASE, PB_WIRE_MAP_FILE, PB_WIRE_MAP_ANON,
	PB_WIRE_ZERO, PB_WIRE_WRITE, PB_WIRE_PROTECT, PB_WIRE_UNMAP, PB_WIRE_GROW,
	PB_WIRE_MOVE,		/* mremap the one mapping at off to addr (the kernel's [vvar...], [vdso]) */
};
#define PB_WIRE_GROWSDOWN (1u << 1)
#define PB_WIRE_FROM_SP0 (1u << 3)	/* ZERO: starts at the stub's own first sp, if higher */
#define PB_WIRE_TRAMPOLINE (1u << 8)	/* WRITE: the trampoline page; its rsp and entry slots get the final ones */
#define PB_TRAMPOLINE_SLOT_RSP 0x100	/* where in that page (launch/trampoline.c) */
#define PB_TRAMPOLINE_SLOT_ENTRY 0x108

struct pb_hello {
	uint32_t magic;
	int32_t pid;
	uint64_t sp0;		/* the stub's initial rsp (argc) */
	uint64_t stub_lo, stub_hi;	/* its image, page aligned */
	uint64_t syscall_insn;	/* a "syscall" instruction inside it */
	uint64_t mmap_base;	/* where the kernel's mmap area starts: the stub moved out of it (vacate.c) */
	uint32_t bottom_up;	/* the legacy layout: the area grows up from mmap_base */
	uint32_t nauxv, maps_len;
	uint64_t auxv[64][2];
	char maps[PB_HELLO_MAPS_MAX];	/* /proc/self/maps, maps_len bytes */
};

struct pb_wire_step {
	uint32_t kind, flags;
	int32_t prot, file;
	uint64_t addr, len, off;
};

struct pb_wire_mm {		/* struct prctl_mm_map, 104 bytes */
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t arg_start, arg_end, env_start, env_end;
	uint64_t auxv;
	uint32_t auxv_size;
	uint32_t exe_fd;
};

/*
 * Exec in place (launch/exec.c): the caller execs the stub itself with the
 * plan memfd's number as argv[1]; the header is at offset 0 of that memfd,
 * and every fd below is already in the process (not close-on-exec). The plan
 * was made against a template layout: the stub shifts what lies in the
 * template's mmap window by where the kernel really put it (its own image,
 * the vDSO below it) and what lies in the stack window by where its stack
 * really ends; everything else is absolute.
 */
struct pb_inplace {
	int32_t fds[1 + PB_PLAN_MAX_FILES + PB_PLAN_MAX_FDS];	/* plan memfd, files, startup fds */
	uint64_t stub_lo, vdso;		/* the template's stub image and vDSO */
	uint64_t stack_end;		/* the template's [stack] end */
	uint64_t mmap_lo, mmap_hi;	/* the template's mmap window [lo, hi] */
	uint64_t stack_lo, stack_hi;	/* the template's stack window [lo, hi] */
	uint64_t rip, rsp;		/* the entry state, in template terms */
	uint64_t gadget;		/* vDSO offset of "syscall; leave; xor...; ret", or 0: trampoline */
	uint64_t notes_off;		/* nsteps notes of PB_NOTE_LEN bytes, for error messages */
	uint64_t ns_notes_off;		/* ns_nops more, one a namespace op */
};
#define PB_NOTE_LEN 128

/*
 * The credentials execve would give the program (launch/creds.c), from the
 * ids, groups and capability sets asked for (launch/ids.c), applied by the
 * stub after the namespace, the fds and the attributes (only a seccomp
 * filter follows): each is reachable from the stub's own by dropping (the
 * library refuses any other). The auxv's AT_UID..AT_EGID become the ids set
 * here; AT_SECURE is the planned value or the kernel's for the stub,
 * whichever is 1, or exactly the planned one with PB_CREDS_SECURE_EXACT.
 */
#define PB_CREDS_GIDS (1u << 0)		/* setresgid(gid) */
#define PB_CREDS_UIDS (1u << 1)		/* setresuid(uid), capabilities kept across it */
#define PB_CREDS_CAPS (1u << 2)		/* capset(eff, prm, inh) */
#define PB_CREDS_CLEAR_AMBIENT (1u << 3)
#define PB_CREDS_SECURE (1u << 4)	/* secure exec: parent-death signal cleared, RLIMIT_STACK at most 8 MiB */
#define PB_CREDS_GROUPS (1u << 5)	/* setgroups(ngroups, groups) */
#define PB_CREDS_BOUNDING (1u << 6)	/* PR_CAPBSET_DROP each of bnd_drop */
#define PB_CREDS_AMBIENT (1u << 7)	/* PR_CAP_AMBIENT_LOWER each of amb_drop */
#define PB_CREDS_SECURE_EXACT (1u << 8)	/* AT_SECURE is secure, even where the kernel said 1 for the stub */
#define PB_CREDS_RESTORE (1u << 9)	/* undo the stub's own secure exec: pdeathsig, RLIMIT_STACK */
#define PB_CREDS_MAX_GROUPS 256
/* Where set_creds failed (pb_result.step when phase is CREDS). */
enum pb_creds_step { PB_CREDS_AT_BOUNDING, PB_CREDS_AT_GROUPS, PB_CREDS_AT_GIDS, PB_CREDS_AT_UIDS, PB_CREDS_AT_CAPS,
		     PB_CREDS_AT_AMBIENT };

/*
 * Process attributes a launcher sets after fork, before exec (launch/attrs.c),
 * applied by the stub in posix_spawn's order after the namespace and fds and
 * before the credentials: default signal actions, setsid, setpgid, the
 * terminal's foreground, rlimits, scheduling, nice, affinity, umask, cwd,
 * no_new_privs, personality; the seccomp filter comes after the credentials.
 * PB_PHASE_ATTRS' step names the one that failed (enum pb_attr_step).
 */
#define PB_ATTR_SETSID (1u << 0)
#define PB_ATTR_NICE (1u << 1)
#define PB_ATTR_UMASK (1u << 2)
#define PB_ATTR_CWD (1u << 3)
#define PB_ATTR_NNP (1u << 4)
#define PB_ATTR_PGID (1u << 5)
#define PB_ATTR_SIGDEF (1u << 6)
#define PB_ATTR_AFFINITY (1u << 7)
#define PB_ATTR_SCHED (1u << 8)		/* sched_setscheduler(sched_policy, sched_priority) */
#define PB_ATTR_SCHEDPARAM (1u << 9)	/* sched_setparam(sched_priority) alone */
#define PB_ATTR_CWD_FD (1u << 10)	/* fchdir(files[cwd_file]) instead of chdir(cwd) */
#define PB_ATTR_FOREGROUND (1u << 11)	/* tcsetpgrp(files[fg_file], its process group) */
#define PB_ATTR_PERSONALITY (1u << 12)	/* personality(personality) */
#define PB_ATTR_SECCOMP (1u << 13)	/* seccomp_len bytes of sock_filter at seccomp_off in the plan memfd */
#define PB_ATTR_LANDLOCK (1u << 14)	/* landlock_restrict_self(files[landlock_file]), before the seccomp filter */
#define PB_SECCOMP_MAX_INSNS 4096	/* BPF_MAXINSNS */
#define PB_ATTR_MAX_RLIMITS 16
#define PB_ATTR_CWD_MAX 4096
enum pb_attr_step { PB_ATTR_AT_SETSID, PB_ATTR_AT_RLIMIT, PB_ATTR_AT_NICE = PB_ATTR_AT_RLIMIT + PB_ATTR_MAX_RLIMITS,
		    PB_ATTR_AT_CWD, PB_ATTR_AT_NNP, PB_ATTR_AT_PGID, PB_ATTR_AT_SIGDEF, PB_ATTR_AT_AFFINITY,
		    PB_ATTR_AT_SCHED, PB_ATTR_AT_FOREGROUND, PB_ATTR_AT_PERSONALITY, PB_ATTR_AT_SECCOMP,
		    PB_ATTR_AT_LANDLOCK };

struct pb_wire_attrs {
	uint32_t flags;		/* PB_ATTR_* */
	uint32_t umask;
	int32_t nice;
	uint32_t nrlimits;
	struct pb_wire_rlimit {
		uint32_t resource, pad;
		uint64_t cur, max;
	} rlimits[PB_ATTR_MAX_RLIMITS];
	int32_t pgid;		/* setpgid(0, pgid) */
	uint32_t pad;
	uint64_t sigdefault;	/* bit n-1: signal n back to SIG_DFL */
	uint64_t cpus[16];	/* sched_setaffinity, 1024 CPUs */
	char cwd[PB_ATTR_CWD_MAX];	/* NUL-terminated */
	int32_t sched_policy;	/* SCHED_*, | SCHED_RESET_ON_FORK */
	int32_t sched_priority;
	int32_t cwd_file, fg_file;	/* plan files (the fds after the plan memfd) */
	uint32_t personality;
	uint32_t seccomp_len;	/* bytes */
	uint64_t seccomp_off;
	int32_t landlock_file;	/* plan file: the Landlock ruleset */
	uint32_t pad2;
};

struct pb_wire_creds {
	uint32_t flags;		/* PB_CREDS_* */
	uint32_t uid[3], gid[3];	/* real, effective, saved */
	uint32_t eff[2], prm[2], inh[2];	/* capabilities, low and high words */
	int32_t dumpable;	/* PR_SET_DUMPABLE value, or -1: as the kernel left it */
	uint32_t per_clear;	/* personality flags to clear (PER_CLEAR_ON_SETID) */
	uint32_t secure;	/* AT_SECURE, or 0: the kernel's for the stub */
	uint32_t ngroups;	/* PB_CREDS_GROUPS */
	uint32_t groups[PB_CREDS_MAX_GROUPS];
	uint32_t bnd_drop[2], amb_drop[2];	/* capabilities, low and high words */
	int32_t pdeathsig;	/* PB_CREDS_RESTORE: what the caller had (in place) */
	uint32_t pad;
	uint64_t stack_cur;	/* PB_CREDS_RESTORE: the caller's RLIMIT_STACK soft limit */
};

/*
 * Traced, the stub's way out (launch/finalize.c): the vDSO's "syscall;
 * leave; xor...; ret" (launch/gadget.h) unmaps the stub and returns, through
 * a frame {0, vdso + trap} right below sp, to an int3 byte of the vDSO: the
 * SIGTRAP stops it for its tracer, which sets the entry registers and clears
 * the frame. Offsets into the program's vDSO, 0: the other way.
 */
struct pb_wire_leave {
	uint64_t gadget, trap;
	uint64_t sp;		/* the program's entry rsp */
};

/* One mapping moved before the steps: the kernel's vDSO run, out of the mmap area (core/host.h). */
struct pb_wire_move {
	uint64_t from, to, len;
};
#define PB_PARK_MAX 4

struct pb_plan_hdr {
	uint32_t magic;
	uint32_t nsteps;
	uint32_t nfiles;	/* SCM_RIGHTS: plan memfd, then nfiles files, then nfds startup fds */
	uint32_t nfds;
	int32_t fd_high;	/* every fd we receive moves to fd_high or above first */
	int32_t fd_target[PB_PLAN_MAX_FDS];	/* where each startup fd lands */
	int32_t exe_in_mm;	/* the stub is PT_INTERP of an unmapped exe: pass files[0] as mm.exe_fd */
	uint64_t steps_off, data_off;	/* in the plan memfd */
	uint64_t sigmask;	/* restored last */
	uint64_t tramp;		/* no ptrace: wait for "go", then jump here; 0: wait to be finalized */
	struct pb_wire_mm mm;
	char comm[16];
	uint32_t ns_flags, ns_nops;	/* PB_NS_*; ops at ns_off in the plan memfd */
	uint64_t ns_off;
	char ns_uid_map[32], ns_gid_map[32];	/* PB_NS_USER: "inside outside 1" */
	int32_t pdeathsig;	/* PR_SET_PDEATHSIG, or 0 */
	int32_t ppid;		/* the parent it is for: if it is gone already, that signal at once */
	struct pb_wire_attrs attrs;
	struct pb_wire_creds creds;
	struct pb_wire_move park[PB_PARK_MAX];	/* moved before the first step */
	uint32_t npark, pad2;
	struct pb_wire_leave leave;	/* traced */
	struct pb_inplace in;	/* exec in place only */
};

/*
 * The mount namespace, when there are entries: hdr.ns_nops ops at hdr.ns_off
 * in the plan memfd, each a pb_wire_ns_op followed by its path and source
 * (NUL-terminated, path_len and src_len bytes). Paths are absolute in the new
 * root; the new root is a tmpfs stacked on "/" that the stub pivots into.
 */
enum pb_wire_ns_kind {
	PB_NS_OP_BIND,		/* clone the tree at src (old root) onto path */
	PB_NS_OP_FILE_BIND,	/* the same for a file: an empty file is the mount point */
	PB_NS_OP_SYMLINK,	/* path -> src */
	PB_NS_OP_CHDIR,		/* after the pivot: chdir(path), or "/" if it fails */
	PB_NS_OP_TMPFS,		/* a new tmpfs on path: mode and size (0: the kernel's default) */
	PB_NS_OP_PROC,		/* a new procfs of the stub's pid namespace on path */
	PB_NS_OP_DEVPTS,	/* a new devpts instance on path (bwrap's: ptmxmode=0666, mode=620) */
	PB_NS_OP_DIR,		/* mkdir path (and its parents), mode */
	PB_NS_OP_COVER_RO,	/* path of the new tree, if it exists, bound onto itself read-only */
};
#define PB_NS_OP_MKDIR (1u << 0)	/* create path (and its parents) in the tmpfs first */
#define PB_NS_OP_VERIFY (1u << 1)	/* src must still be dev:ino */
#define PB_NS_OP_RDONLY (1u << 2)	/* the mount (and every mount below it) read-only */
#define PB_NS_ON (1u << 0)		/* a new mount namespace */
#define PB_NS_USER (1u << 1)		/* inside a new user namespace (uid/gid mapped 1:1) */
#define PB_NS_DROP_CAPS (1u << 2)	/* clear the caps the user namespace gave, as execve would */
#define PB_NS_PATH_MAX 4096

struct pb_wire_ns_op {
	uint32_t kind, flags;
	uint32_t path_len, src_len;	/* including the NUL */
	uint64_t dev, ino;
	uint64_t size;		/* TMPFS: bytes, or 0 */
	uint32_t mode, pad;	/* TMPFS, DIR: permissions */
};

/* Where a failed namespace setup stopped (pb_result.step when phase is NS; >= 0: an op). */
enum pb_ns_where {
	PB_NS_AT_UNSHARE = -1, PB_NS_AT_IDMAP = -2, PB_NS_AT_PRIVATE = -3, PB_NS_AT_TMPFS = -4,
	PB_NS_AT_PIVOT = -5, PB_NS_AT_CAPS = -6, PB_NS_AT_READ = -7,
};

/* Phases a RESULT can name. */
enum pb_result_phase { PB_PHASE_OK, PB_PHASE_RECV, PB_PHASE_STEP, PB_PHASE_MM, PB_PHASE_NAME, PB_PHASE_FDS,
		       PB_PHASE_NS, PB_PHASE_LAYOUT, PB_PHASE_CREDS,
		       PB_PHASE_ATTRS };

struct pb_result {
	uint32_t magic;
	int32_t phase;
	int32_t step;		/* for PB_PHASE_STEP */
	int32_t err;		/* negative errno */
	uint32_t nsyscalls;	/* the stub's system calls from its first instruction to this report */
	uint32_t exe_set;	/* PR_SET_MM_MAP took the program's exe_fd (the kernel said yes) */
	uint32_t leaves;	/* it leaves through the vDSO and stops at its int3 (hdr.leave) */
	uint32_t pad;
};
