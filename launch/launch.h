/* SPDX-License-Identifier: MIT */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "procbuilder.h"
#include "core/ctx.h"
#include "launch/creds.h"
#include "launch/proto.h"

#define PB_MAX_STARTUP_FDS 64

struct pb_child_plan;

/*
 * A namespace entry as kept: its kind and flags (enum pb_ns_kind,
 * PB_NS_RDONLY), its path in the new root, its source path in ours and what
 * it must be (binds), its tmpfs options. Ops reuse it: mode and size go on
 * the wire.
 */
struct pb_ns_item {
	char *path, *src;
	uint64_t dev, ino;
	uint32_t kind, flags;
	uint32_t mode;
	uint64_t size;
};
/* One op for the stub (launch/proto.h), kept to name it if it fails. */
struct pb_ns_op {
	uint32_t kind, flags;
	struct pb_ns_item item;
};

/* Offsets in the kernel's vDSO (launch/vdso_way.c), or 0: its "syscall; leave; ...; ret", an int3 byte. */
struct pb_vdso_way {
	uint64_t gadget, trap;
};

struct pb_builder {
	char *name;		/* comm and default execfn */
	char *execfn;
	int exec_fd;		/* owned */
	int job_fd;		/* owned, or -1 */
	pid_t pid;
	int pidfd, sock;
	char **argv, **envp;	/* owned, NULL-terminated */
	size_t argc, envc;
	sigset_t sigmask;	/* the caller's mask, restored in the program */
	bool sigtrap_ignored;	/* the caller's SIGTRAP disposition, which the stub inherited */
	bool seeded;
	uint64_t seed;
	bool spent;
	const char *interp_resolver;	/* NULL: the stage's option */
	int interp_fd, sysroot_fd;	/* owned, or -1 */
	const char *vdso_policy;	/* NULL: the stage's option */
	char *reserve_range;		/* NULL: the stage's option */
	int reserve_keep;		/* -1: the stage's option */
	int trace;			/* 0 as the pipeline says, 1 text, 2 JSON */
	bool no_ptrace;			/* ptrace refused or declined: trampoline fallback */
	bool stub_is_interp;		/* exec'd as PT_INTERP of an empty program: it can set exe itself */
	bool in_place;			/* pb_builder_new_self: the calling process becomes the program */
	struct pb_wire_move park[PB_PARK_MAX];	/* spawned: the stub's vDSO moves, from its hello */
	unsigned npark;
	uint32_t stub_nsys;	/* the stub's system calls, as its report says */
	bool stub_exe_set;	/* its report: PR_SET_MM_MAP set exe to the program */
	bool stub_leaves;	/* its report: it leaves through the vDSO to a stop at its int3 (proto.h) */
	struct pb_vdso_way vdso_way;	/* found while the stub started */
	struct pb_sysctls sysctls;	/* read while the stub started (core/host.h) */
	pid_t tid;			/* the thread that made it: ptrace ties the stub to it */
	int pdeathsig;			/* pb_set_pdeathsig, or 0 */
	struct pb_fd_entry {
		int fd;			/* our duplicate, CLOEXEC, owned */
		int target;		/* NUMBERED: its number; named: -1 until build */
		char name[64];		/* named: LISTEN_FDNAMES entry */
	} fds[PB_MAX_STARTUP_FDS];
	size_t nfds;
	char **envp_listen;		/* envp with LISTEN_* for named fds, or NULL */
	size_t nenvp_listen;
	char *listen_strings;
	int vdso_fd;			/* owned, or -1 */
	struct pb_ns_item *ns;		/* namespace entries (sorted at build) */
	size_t nns;
	int ns_mode;			/* enum pb_ns_mode */
	size_t *ns_index;		/* open addressing over ns by path: index + 1, 0 empty */
	size_t ns_index_cap;		/* a power of two, at least twice nns */
	struct pb_ns_op *ns_ops;	/* computed at build */
	struct pb_wire_attrs attrs;	/* pb_set_cwd, _umask, _nice, _rlimit, _setsid, _no_new_privs */
	int cwd_fd, fg_fd;		/* pb_set_cwd_fd, pb_set_foreground: owned when their flag is set */
	int landlock_fd;		/* pb_set_landlock: owned when PB_ATTR_LANDLOCK is set */
	void *seccomp;			/* pb_set_seccomp's filter (owned), seccomp_len bytes */
	size_t seccomp_len;
	struct pb_creds_request ids;	/* pb_set_uids, _gids, _groups, _resetids, _cap_* (launch/ids.c) */
	size_t nns_ops;
	struct pb_child_plan *child;	/* posix_spawn's work for the clone child (not owned), or NULL */
	bool exe_by_helper;		/* spawned through the installed exe helper (launch/exehelper.c) */
	char exe_why[384];		/* how exe is to be set, or why it is not: for the trace */
};

/* The stub as its waits see it (launch/stops.c). */
struct pb_stub_waiter {
	pid_t pid;
	int pidfd;		/* or -1 */
	bool stop_seen;		/* a stop signal came during the build: passed on at start */
	bool cancellable;	/* a pending SIGINT/SIGTERM ends the wait (not once built) */
	bool reaped;		/* a wait reaped it: its pid is no longer ours */
	bool want_trap;		/* a PTRACE_EVENT_STOP with SIGTRAP ends the wait (PTRACE_INTERRUPT's) */
	bool held;		/* held_status is a stop seen with a message: the next wait's answer */
	int held_status;
};

/* How long a wait may see the stub neither answer, stop nor end before the build fails. */
#define PB_STUB_WAIT_MS 30000

/*
 * Waits until sock (or -1) is readable (1), or the stub stops or ends (0,
 * its wait status in *ret_status); stops for a stop signal on the way are
 * recorded in w->stop_seen and the stub resumed with resume (PTRACE_CONT,
 * PTRACE_SINGLESTEP, PTRACE_SYSCALL). -ECANCELED when w is cancellable and
 * SIGINT or SIGTERM is pending for the caller, -ECHILD after PB_STUB_WAIT_MS, other -errno; err set.
 */
int pb_stub_wait(struct pb_stub_waiter *w, int sock, int resume, int *ret_status, struct pb_error *err,
		 const char *when);
/* Whether a SIGCONT is pending for the stopped tracee pid. */
bool pb_cont_pending(pid_t pid);

struct pb_built {
	struct pb_built_info info;
	bool started, reaped;
	uint64_t syscall_insn;		/* a "syscall" in the built image, for start */
	struct pb_reservation kept[PB_MAX_RESERVATIONS];	/* released at start */
	unsigned nkept;
	int sock;			/* no-ptrace fallback: "go" goes here at start, else -1 */
	uint64_t sigmask;		/* the program's, set again after injected steps */
	bool step;			/* injected calls may be single-stepped (SIGTRAP not ignored) */
	struct rusage rusage;		/* the ended process's, once reaped (launch/lifecycle.c) */
	bool stop_seen;			/* a stop signal came while it was built: passed on at start */
	pid_t tid;			/* the builder's thread, the tracer */
};

/* The environment with LISTEN_* for the named fds (LISTEN_PID=pid), if any; 0 or -ENOMEM. */
int pb_builder_listen_env(struct pb_builder *b, pid_t pid);
/* What the builder was told, into a fresh context. */
void pb_builder_setup_ctx(struct pb_builder *b, struct pb_ctx *ctx);

/*
 * The plan memfd (launch/wire.c): steps, data, notes in place, namespace ops;
 * fills hdr but for its fds and tramp. Returns the fd (CLOEXEC) or -errno.
 */
int pb_wire_plan(struct pb_builder *b, struct pb_ctx *ctx, struct pb_plan_hdr *hdr, bool in_place,
		 struct pb_error *err);
/* Above every startup fd's number: where the stub's fds go first. */
int pb_wire_fd_high(const struct pb_builder *b);
/* Without ptrace: plans the trampoline page, its address in *ret_addr (launch/trampoline.c). */
int pb_plan_trampoline(struct pb_ctx *ctx, uint64_t *ret_addr);

/*
 * The stub image as a sealed memfd (O_RDWR: 6.18 execs it, sealed or not); the
 * empty program naming /proc/self/fd/interp_fd as its interpreter (that one
 * needs /proc: without it the stub is exec'd itself and exe stays its own).
 */
int pb_stub_memfd(struct pb_error *err);
int pb_empty_program_memfd(int interp_fd, struct pb_error *err);
/* Said where exec of the memfd gives ETXTBSY and the reopen did not help. */
#define PB_ETXTBSY_HINT " (refused for the memfd open for writing, and for a read-only reopen, which needs /proc)"
/* A read-only fd of the same (sealed) memfd, through /proc, for where exec gives ETXTBSY; -1 with errno. */
int pb_memfd_reopen_ro(int fd);
/* The stub image's size in memory (page aligned), from its program headers. */
uint64_t pb_stub_image_size(void);

/* The fallback's page: code, then the initial rsp and entry it jumps with. */
void pb_trampoline_page(unsigned char page[4096], uint64_t rsp, uint64_t entry);

/*
 * Spawns the stub: sealed memfd, clone3(CLONE_PIDFD|CLONE_VFORK|CLONE_VM
 * [|CLONE_INTO_CGROUP]) (clone where clone3 is answered with ENOSYS),
 * execveat, then PTRACE_SEIZE. Fills b->pid, pidfd, sock.
 */
int pb_spawn_stub(struct pb_builder *b, struct pb_error *err);
/*
 * The conversation with a spawned stub (launch/stubproto.c): its hello
 * (into ctx's host model), the plan, and its answer, without ptrace
 * (read_result) or with it (await_applied: its stop). 0 or -errno, err set.
 */
int pb_stub_read_hello(struct pb_builder *b, struct pb_stub_waiter *w, struct pb_ctx *ctx, struct pb_error *err);
int pb_stub_send_plan(struct pb_builder *b, struct pb_ctx *ctx, bool exe_in_mm, uint64_t tramp,
		      const struct pb_wire_creds *creds, struct pb_error *err);
int pb_stub_read_result(struct pb_builder *b, struct pb_stub_waiter *w, struct pb_ctx *ctx, struct pb_error *err);
int pb_stub_await_applied(struct pb_builder *b, struct pb_stub_waiter *w, struct pb_ctx *ctx, struct pb_error *err);
/* A builder without a program (launch/builder.c): pb_builder_new's first half, a pooled stub's holder. */
int pb_builder_blank(int job_fd, struct pb_builder **ret, struct pb_error *err);
/* Its second half: the program and the calling thread's signal state as of now. */
int pb_builder_bind(struct pb_builder *b, const char *name, int exec_fd, struct pb_error *err);

/* SIGKILL and reap; closes pidfd and sock. Safe to call twice. */
void pb_kill_and_reap(pid_t *pid, int *pidfd, int *sock);

/*
 * Finalize (the stub has applied the plan and is stopped): remove the
 * stub with an injected munmap, or see that it left (left: the int3's
 * offset in the vDSO it stopped at, proto.h's struct pb_wire_leave), and
 * set the registers the kernel sets at exec; the program's signal mask is
 * set again. The process stays stopped.
 */
int pb_finalize(struct pb_ctx *ctx, struct pb_stub_waiter *w, const uint64_t *sigmask, bool step, uint64_t left,
		struct pb_error *err);

/* At start: drop the reservations kept until now, through insn. */
int pb_release_kept(struct pb_built *p, struct pb_error *err);

/* A "syscall" instruction in the text of the planned interpreter or program, or 0 (to release kept reservations). */
uint64_t pb_image_syscall_insn(const struct pb_ctx *ctx);

void pb_vdso_way_find(struct pb_vdso_way *w);
/* Whether the program gets the kernel's vDSO, where the host had it or moved there by the plan. */
bool pb_has_kernel_vdso(const struct pb_ctx *ctx);

/* Our effective capabilities as a mask (bit n = capability n); 0 if unknown. */
uint64_t pb_effective_caps(void);

/* True if we may set /proc/PID/exe (CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE). */
bool pb_can_set_exe(void);

/* The attribute fds into the plan's files (before the plan is written); 0 or -errno with err set. */
int pb_attrs_plan_fds(struct pb_builder *b, struct pb_ctx *ctx, struct pb_error *err);
/* Appends the seccomp filter to the plan memfd and notes where (launch/seccomp.c); 0 or -errno with err set. */
int pb_seccomp_write(struct pb_builder *b, int planfd, struct pb_error *err);
/*
 * launch/restrict.c: whether the stub may restrict itself (no_new_privs set
 * or asked for, or CAP_SYS_ADMIN): 0 or -EACCES; and restrict_self(arg)
 * tried in a short-lived child with no_new_privs: 0 or its -errno.
 */
int pb_restrict_allowed(const struct pb_builder *b);
int pb_restrict_dry_run(long (*restrict_self)(const void *), const void *arg);
/* Closes the attribute fds the builder holds, frees the filter. */
void pb_attrs_free(struct pb_builder *b);

/* The process attribute the stub could not set (step: enum pb_attr_step) as an error (launch/attrs.c). */
void pb_attrs_explain(const struct pb_builder *b, int step, int e, struct pb_error *err);

/* The credential changes asked for, completed with no_new_privs and the mode (launch/ids.c). */
const struct pb_creds_request *pb_ids_request(struct pb_builder *b);

/* Namespace entries (launch/ns.c). */
void pb_ns_free(struct pb_builder *b);
/* Whether the entries need a user namespace (we lack CAP_SYS_ADMIN). */
bool pb_ns_uses_userns(const struct pb_builder *b);
/* Appends the ops to the plan memfd at its offset and fills the header's ns fields; 0 if no entries. */
int pb_ns_write(struct pb_builder *b, int planfd, struct pb_plan_hdr *hdr, struct pb_error *err);
/* The stub's namespace failure (where: enum pb_ns_where or an op index; e: errno) as an error. */
void pb_ns_explain(const struct pb_builder *b, int where, int e, struct pb_error *err);
/* Appends one op (copies path and src); 0 or -ENOMEM. */
int pb_ns_add_op(struct pb_builder *b, uint32_t kind, uint32_t flags, const struct pb_ns_item *what);
/* The ops one entry becomes (launch/ns_kinds.c); mkdir: its mount point is made in our tmpfs. */
int pb_ns_entry_ops(struct pb_builder *b, const struct pb_ns_item *e, bool mkdir, struct pb_error *err);
/* "mounting PATH from SRC", "mounting a procfs on PATH", ... for errors and notes. */
void pb_ns_op_describe(const struct pb_ns_op *op, char *buf, size_t len);
