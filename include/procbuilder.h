/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * procbuilder: build a Linux process from the outside, stage by stage, and
 * start it only when it is complete.
 *
 * Conventions: functions that can fail return 0 (or a count) on success and a
 * negative errno on failure; when they take a struct pb_error, it says which
 * stage failed, with a procbuilder code and a message.
 */
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PB_API __attribute__((visibility("default")))

/* The version of this header; pb_version() gives the library's. configure.py reads these. */
#define PB_VERSION_MAJOR 0
#define PB_VERSION_MINOR 1
#define PB_VERSION_PATCH 0
#define PB_STRINGIFY_(x) #x
#define PB_STRINGIFY(x) PB_STRINGIFY_(x)
#define PB_VERSION_STRING \
	PB_STRINGIFY(PB_VERSION_MAJOR) "." PB_STRINGIFY(PB_VERSION_MINOR) "." PB_STRINGIFY(PB_VERSION_PATCH)

/** @defgroup procbuilder_errors procbuilder errors: codes, messages, errno values, version
 * @{ */
/* What went wrong, independent of the stage that found it. */
enum pb_code {
	PB_OK = 0,
	PB_EPARSE,		/* malformed or unsupported ELF (-ENOEXEC) */
	PB_ELOAD,		/* the image cannot be placed or mapped (-EINVAL) */
	PB_EINVAL,		/* a bad argument or option (-EINVAL) */
	PB_EBADF,		/* a closed or unusable fd (-EBADF) */
	PB_ELOADER_MISSING,	/* PT_INTERP but no interpreter resolver (-EINVAL) */
	PB_E2BIG,		/* argv/envp over the kernel's limits (-E2BIG) */
	PB_ENOMEM,		/* out of memory or address space (-ENOMEM) */
	PB_EINTERP,		/* the interpreter is unusable (-ELIBBAD) */
	PB_EACCES,		/* not executable, noexec mount, privilege (-EACCES) */
	PB_ESTUB,		/* the process under construction died (-ECHILD) */
	PB_ESYS,		/* a system call failed; errno is in sys_errno */
	_PB_CODE_MAX,
};

/* The exact cause of a PB_EPARSE, one per check of the ELF parser. */
enum pb_parse_detail {
	PB_PARSE_NONE = 0,
	PB_PARSE_TRUNCATED,		/* shorter than an ELF64 header */
	PB_PARSE_BAD_MAGIC,		/* not \x7fELF */
	PB_PARSE_BAD_CLASS,		/* not ELFCLASS64 */
	PB_PARSE_BAD_DATA,		/* not little-endian */
	PB_PARSE_BAD_VERSION,		/* EI_VERSION or e_version not 1 */
	PB_PARSE_BAD_OSABI,		/* neither SYSV nor GNU/Linux */
	PB_PARSE_BAD_TYPE,		/* not ET_EXEC or ET_DYN */
	PB_PARSE_BAD_MACHINE,		/* a machine we do not know */
	PB_PARSE_FOREIGN_MACHINE,	/* known, but not this host's */
	PB_PARSE_BAD_EHSIZE,		/* e_ehsize is not 64 */
	PB_PARSE_BAD_PHENTSIZE,		/* e_phentsize is not 56 */
	PB_PARSE_BAD_PHNUM,		/* no program headers, or more than a page */
	PB_PARSE_PHDRS_OUTSIDE,		/* program headers past the end of the file */
	PB_PARSE_PHOFF_ALIGN,		/* e_phoff not 8-byte aligned */
	PB_PARSE_NO_LOAD,		/* no PT_LOAD */
	PB_PARSE_FILESZ_GT_MEMSZ,	/* p_filesz > p_memsz */
	PB_PARSE_SEG_OVERFLOW,		/* p_vaddr + p_memsz wraps or leaves user space */
	PB_PARSE_SEG_OUTSIDE_FILE,	/* p_offset + p_filesz past the end of the file */
	PB_PARSE_BAD_ALIGN,		/* p_align not a power of two */
	PB_PARSE_SEG_MISALIGNED,	/* p_offset and p_vaddr disagree modulo p_align */
	PB_PARSE_SEG_ORDER,		/* PT_LOAD not in ascending p_vaddr order */
	PB_PARSE_SEG_OVERLAP,		/* two PT_LOAD share memory */
	PB_PARSE_MULTIPLE_INTERP,	/* more than one PT_INTERP */
	PB_PARSE_INTERP_SIZE,		/* PT_INTERP shorter than 2 or longer than PATH_MAX */
	PB_PARSE_INTERP_UNTERMINATED,	/* PT_INTERP does not end in NUL, or has one inside */
	PB_PARSE_INTERP_OUTSIDE,	/* PT_INTERP past the end of the file */
	PB_PARSE_MULTIPLE_STACK,	/* more than one PT_GNU_STACK */
	PB_PARSE_BAD_STACK,		/* PT_GNU_STACK with unknown flags or absurd size */
	PB_PARSE_BAD_ENTRY,		/* e_entry outside every PT_LOAD */
	PB_PARSE_NOT_REGULAR,		/* not a regular file */
	PB_PARSE_COMPAT32,		/* a 32-bit i386 program: only the kernel's exec sets up compat mode */
	_PB_PARSE_MAX,
};

struct pb_error {
	enum pb_code code;
	int detail;		/* enum pb_parse_detail for PB_EPARSE, else 0 */
	int sys_errno;		/* the errno behind PB_ESYS (and others), or 0 */
	char stage[32];		/* the stage (or "builder", "launch") that failed */
	char msg[256];		/* a human sentence naming the cause */
};

/* The name of a code ("parse error", ...); never NULL. */
PB_API const char *pb_strerror(enum pb_code code);

/* The name of a parse detail ("bad-magic", ...); never NULL. */
PB_API const char *pb_parse_detail_name(int detail);

/*
 * The error as a negative errno, like the seed's as_zx_status: PB_EPARSE is
 * -ENOEXEC, PB_E2BIG is -E2BIG, PB_ESYS is -sys_errno, ... Returns 0 for PB_OK.
 */
PB_API int pb_error_errno(const struct pb_error *err);

/* Formats "stage: message" into buf (always NUL-terminated); returns buf. */
PB_API char *pb_error_format(const struct pb_error *err, char *buf, size_t size);
/** @} */

/** @defgroup procbuilder_builder procbuilder builder: making a process and telling it what to be
 * @{ */
/*
 * Building a process (the seed's ProcessBuilder).
 *
 * Threading rule: the built process is held with ptrace by the thread that
 * called pb_builder_new (ptrace ties a tracee to one thread, not to the
 * process); call pb_build, pb_start, pb_start_stopped and pb_set_no_ptrace
 * from that same thread. From any other thread they fail at once, touching
 * nothing: pb_build, pb_start and pb_start_stopped with PB_EINVAL and an
 * error naming both threads, pb_set_no_ptrace with -EINVAL. This holds
 * whether or not ptrace was used, so a program behaves the same where the
 * kernel refuses ptrace. pb_wait, pb_built_info and pb_built_free may be
 * called from any thread (waiting on a child is per process). Builders made
 * by pb_builder_new_self are not held: pb_exec from any thread.
 */
struct pb_builder;
struct pb_built;

/*
 * Creates the process at once (seed: fail fast): a tiny stub is spawned with
 * clone3 (clone where clone3 gives ENOSYS) + execveat of a sealed memfd and
 * waits for its plan. exec_fd is the
 * program (checked like execve: a regular file, executable, not on a noexec
 * mount); it is duplicated, the caller keeps its own. job_fd is a cgroup v2
 * directory fd to create the process in, or -1 for the caller's cgroup.
 * name becomes the process name (comm) and, unless pb_set_execfn is called,
 * the pathname the program sees as AT_EXECFN.
 * Returns 0, or -EBADF/-EACCES/-ENOEXEC/... with err filled.
 * A file the kernel knows no format for (a script without #!) fails, in
 * pb_build, with PB_EPARSE (-ENOEXEC), as posix_spawn and execve fail: running
 * it with /bin/sh is execvp's fallback, not exec's; `procbuilder run` does it.
 */
PB_API int pb_builder_new(const char *name, int job_fd, int exec_fd,
			  struct pb_builder **ret, struct pb_error *err);

/*
 * A builder for the calling process itself (exec in place, as env, nice or
 * setpriv do): the same checks and the same add/set calls, then pb_exec.
 * Nothing is created until pb_exec. job_fd, if not -1, is a cgroup v2
 * directory the calling process moves into right before the exec.
 */
PB_API int pb_builder_new_self(const char *name, int job_fd, int exec_fd,
			       struct pb_builder **ret, struct pb_error *err);

/*
 * A pool of stubs spawned ahead (opt-in), so that a launch need not wait for
 * one to be spawned. pb_pool_new spawns size (1 to 64) stubs now, each as
 * pb_builder_new would, in job_fd's cgroup v2 directory (duplicated) or the
 * caller's; pb_pool_take gives one out, the newest that has started and
 * said hello (else the newest), as the builder pb_builder_new(name, job_fd,
 * exec_fd) would return (spawning a fresh one when none is left or none
 * matches); pb_pool_fill spawns more up to size: call it when idle,
 * after pb_start say. pb_pool_drain kills and reaps the pooled stubs,
 * pb_pool_free too and frees the pool; pb_pool_count says how many wait.
 * Each returns 0 or a negative errno with err filled.
 *
 * A pooled stub carries the caller's state as of its spawn. pb_pool_take
 * compares what one system call each can read -- real, effective and saved
 * ids, supplementary groups, capabilities, securebits, no_new_privs, the
 * seccomp mode, the working directory (device and inode), SIGTRAP ignored or
 * not -- and kills a stub that no longer matches. The rest it cannot compare
 * cheaply, and a caller that changes it after making the pool must drain it
 * (or set it on the builder): the umask, resource limits, ignored signals,
 * nice value, scheduling, CPU affinity, personality, cgroup, namespaces,
 * seccomp filters added on top of one already there, and a Landlock domain
 * (which cannot be observed at all). The program's start time
 * (/proc/PID/stat) is its stub's spawn, not the take; the /proc/sys settings
 * the layout follows (randomize_va_space, mmap_min_addr, legacy_va_layout)
 * are read at the spawn too, as for every stub: its own exec followed them.
 *
 * The pool's stubs are held (ptrace) by the thread that made it: take and
 * fill from that thread (-EINVAL from another). A pooled stub is a child
 * with SIGCHLD as its exit signal, as pb_builder_new's stub is: a caller
 * that reaps any child (wait(-1)) may reap one that was killed; take then
 * discards it.
 */
struct pb_pool;
PB_API int pb_pool_new(unsigned size, int job_fd, struct pb_pool **ret, struct pb_error *err);
PB_API int pb_pool_take(struct pb_pool *pool, const char *name, int exec_fd, struct pb_builder **ret,
			struct pb_error *err);
PB_API int pb_pool_fill(struct pb_pool *pool, struct pb_error *err);
PB_API void pb_pool_drain(struct pb_pool *pool);
PB_API size_t pb_pool_count(const struct pb_pool *pool);
PB_API void pb_pool_free(struct pb_pool *pool);

/* Append argv / environment strings (copied). 0 or -ENOMEM/-EINVAL. */
PB_API int pb_add_arguments(struct pb_builder *b, const char *const *args, size_t n);
PB_API int pb_add_environment(struct pb_builder *b, const char *const *vars, size_t n);
/*
 * PATH search as posix_spawnp and execvp do it, for the exec_fd to open: a
 * name with a slash is taken as it is, else each entry of path (the caller's
 * getenv("PATH") for posix_spawnp's semantics; NULL: "/bin:/usr/bin") in
 * turn. 0 and *ret (malloc'd), -ENOENT if nothing is found, -EACCES if only
 * files we may not execute were. A file found that the kernel refuses as no
 * format (a script without #!) is then PB_EPARSE at build, as posix_spawnp
 * returns ENOEXEC; the /bin/sh fallback is execvp's and run's, not ours.
 */
PB_API int pb_find_program(const char *name, const char *path, char **ret);
/*
 * Editing what was added (the builder starts with an empty environment, as
 * execve's envp): pb_unset_environment removes every NAME=... (env -u; -EINVAL
 * for an empty name or one holding '='), pb_clear_environment all (env -i).
 */
PB_API int pb_unset_environment(struct pb_builder *b, const char *name);
PB_API int pb_clear_environment(struct pb_builder *b);
/*
 * The pathname the program sees (AT_EXECFN, the top of its stack); also the
 * path binfmt_misc extensions are matched on (without it the program is a bare
 * fd, as for execveat(fd, "", AT_EMPTY_PATH), and extensions do not match).
 */
PB_API int pb_set_execfn(struct pb_builder *b, const char *path);
/*
 * Startup fds (the seed's add_handles). NUMBERED lands at fd number arg;
 * NAMED is passed at 3, 4, ... in the order added, announced with LISTEN_FDS,
 * LISTEN_PID (the real pid) and LISTEN_FDNAMES (socket activation); LIFECYCLE
 * is a named fd called "lifecycle"; LOADER sets the interpreter (like
 * pb_set_interp_resolver FD). The rest are made by procbuilder itself and
 * refused with PB_EINVAL, like NAMESPACE_DIR (pb_add_namespace_entries).
 */
enum pb_fd_type {
	PB_FD_NUMBERED, PB_FD_NAMED, PB_FD_LIFECYCLE, PB_FD_LOADER,
	PB_FD_PROCESS_SELF, PB_FD_THREAD_SELF, PB_FD_ROOT_VMAR, PB_FD_LOADED_VMAR,
	PB_FD_STACK, PB_FD_EXECUTABLE, PB_FD_NAMESPACE_DIR,
};

struct pb_startup_fd {
	int fd;			/* ours; duplicated, the caller keeps it */
	enum pb_fd_type type;
	int arg;		/* NUMBERED: the fd number in the new process */
	const char *name;	/* NAMED: its LISTEN_FDNAMES name (default "unknown") */
};

/*
 * Appends startup fds: all of them, or none (each is checked first). A closed
 * or invalid fd is PB_EBADF; an automatic type, a namespace directory, two
 * entries for one number or a bad name is PB_EINVAL. 0 or a negative errno.
 */
PB_API int pb_add_fds(struct pb_builder *b, const struct pb_startup_fd *fds, size_t n, struct pb_error *err);

/*
 * Namespace entries (the seed's add_namespace_entries): the program runs in
 * a new mount namespace where each path shows the directory dirfd names.
 * ISOLATED (the default): the root is a fresh tmpfs holding only the entries
 * and the directories above them. OVERLAY: the host's top level (each name
 * bound or linked into that tmpfs), with the entries mounted over it. Mount
 * points are created only in procbuilder's tmpfs: an entry below another
 * entry, or below a host directory in overlay mode, must name a directory
 * that exists there. Without CAP_SYS_ADMIN the namespace is made inside a new
 * user namespace mapping our uid and gid to themselves (and, as execve would,
 * the program keeps no capabilities there). The program, interpreter and
 * libraries planned by pb_build are opened before; what the program opens
 * later (ld.so's libraries too) must be in the namespace.
 */
#define PB_MAX_NS_ENTRIES 65536
enum pb_ns_mode { PB_NS_ISOLATED, PB_NS_OVERLAY };
struct pb_ns_entry {
	const char *path;	/* absolute, clean: no ".", "..", "//" or trailing "/" */
	int dirfd;		/* a directory; its path is looked up now and checked again at build */
};
/*
 * Appends entries: all of them, or none. A bad fd is PB_EBADF; a bad path, a
 * non-directory, a path given twice (here or before), or more than
 * PB_MAX_NS_ENTRIES is PB_EINVAL. 0 or a negative errno.
 */
PB_API int pb_add_namespace_entries(struct pb_builder *b, const struct pb_ns_entry *entries, size_t n,
				    struct pb_error *err);
/* ISOLATED or OVERLAY; 0 or -EINVAL. */
PB_API int pb_set_namespace_mode(struct pb_builder *b, enum pb_ns_mode mode);

/*
 * Namespace mounts of every kind, bubblewrap's (a pb_ns_entry is a
 * PB_NS_BIND without flags). In the same namespace as the entries, checked
 * the same way, sorted with them by path:
 *   PB_NS_BIND   dirfd's directory (bwrap --bind; with PB_NS_RDONLY --ro-bind:
 *                the bind and every mount below it read-only).
 *   PB_NS_PROC   a procfs (bwrap --proc): a new one of our pid namespace when
 *                we hold CAP_SYS_ADMIN; in a user namespace the kernel refuses
 *                that (our pid namespace is not its own), so the host's /proc
 *                is bound, as bwrap binds it when it shares the pid namespace.
 *                sys, sysrq-trigger, irq and bus in it are made read-only, as
 *                bwrap does. Nothing may be mounted below it.
 *   PB_NS_DEV    bwrap's minimal /dev (--dev): a tmpfs holding null, zero,
 *                full, random, urandom and tty bound from the host's /dev,
 *                the links stdin, stdout, stderr, fd, core and ptmx -> pts/ptmx,
 *                an empty shm directory and a new devpts instance on pts.
 *   PB_NS_TMPFS  an empty tmpfs (bwrap --tmpfs), mode (0: 0755; bwrap --perms)
 *                and size in bytes (0: the kernel's default; bwrap --size).
 *   PB_NS_SYMLINK  a symbolic link to target (bwrap --symlink), made only in
 *                procbuilder's own tmpfs (the root, a DEV or a TMPFS), e.g.
 *                /lib -> usr/lib beside a bound /usr.
 * Entries below a PB_NS_DEV or a writable PB_NS_TMPFS get their mount point
 * made there; none may lie below a PB_NS_PROC or a PB_NS_SYMLINK.
 * PB_NS_RDONLY is for BIND, TMPFS and PROC.
 *
 * The struct only grows at its end, one 8-byte field at a time: set sz to
 * sizeof(struct pb_ns_mount); fields past a smaller sz read as 0, fields
 * past the ones this library knows must be 0. dirfd is read for PB_NS_BIND
 * only, mode and size for PB_NS_TMPFS only, target for PB_NS_SYMLINK only
 * (elsewhere they must be 0).
 */
enum pb_ns_kind { PB_NS_BIND, PB_NS_PROC, PB_NS_DEV, PB_NS_TMPFS, PB_NS_SYMLINK };
#define PB_NS_RDONLY (1u << 0)
struct pb_ns_mount {
	size_t sz;		/* sizeof(struct pb_ns_mount) */
	uint64_t kind;		/* enum pb_ns_kind */
	uint64_t flags;		/* PB_NS_RDONLY or 0 */
	const char *path;	/* absolute, clean, as for pb_ns_entry */
	int64_t dirfd;		/* PB_NS_BIND: a directory fd (not kept; its path is) */
	uint64_t mode;		/* PB_NS_TMPFS: permissions of its root, at most 07777 */
	uint64_t size;		/* PB_NS_TMPFS: bytes */
	const char *target;	/* PB_NS_SYMLINK: what it points to (not checked: it is the program's) */
};
/*
 * Adds one mount, checked now: PB_EINVAL for a bad sz, kind, flag, path,
 * mode, size or target, a path already given (by this call or
 * pb_add_namespace_entries), a non-directory, or more than
 * PB_MAX_NS_ENTRIES in all; PB_EBADF for a bad fd. 0 or a negative errno.
 */
PB_API int pb_add_ns_mount(struct pb_builder *b, const struct pb_ns_mount *m, struct pb_error *err);

/* How PT_INTERP is found (the seed's loader service). */
enum pb_interp_resolver {
	PB_INTERP_HOST,		/* open the path PT_INTERP names (the default) */
	PB_INTERP_SYSROOT,	/* resolve it under the directory fd, as if chrooted */
	PB_INTERP_FD,		/* use fd as the interpreter, whatever PT_INTERP says */
	PB_INTERP_NONE,		/* dynamic programs fail with PB_ELOADER_MISSING */
};
/* fd is duplicated (SYSROOT, FD) or ignored. 0, -EBADF or -EINVAL. */
PB_API int pb_set_interp_resolver(struct pb_builder *b, enum pb_interp_resolver how, int fd);

/* The vDSO of the new process (the seed's set_vdso_vmo). */
enum pb_vdso_policy {
	PB_VDSO_SYSTEM,		/* the kernel's [vdso]/[vvar], where it put them (the default) */
	PB_VDSO_NONE,		/* none: no AT_SYSINFO_EHDR; libc falls back to system calls */
	PB_VDSO_CUSTOM,		/* the ELF image in fd, mapped as the vDSO */
};
/* fd is duplicated (CUSTOM) or ignored; a non-ELF image fails in pb_build (PB_EPARSE). */
PB_API int pb_set_vdso(struct pb_builder *b, enum pb_vdso_policy policy, int fd);

/*
 * The range kept free while placing (the seed's low-half reservation):
 * "low-half" (the default, for dynamic programs), "none", "asan", "tsan",
 * "msan", or "START-END" in hex. keep: hold it until pb_start. 0 or -EINVAL.
 */
PB_API int pb_set_reservation(struct pb_builder *b, const char *range, int keep);

/*
 * Build without ptrace, as when the kernel refuses it (then this is automatic):
 * the process is started through a one-page trampoline that stays mapped
 * (pb_built_info's trampoline), and pb_start_stopped is not available.
 * 0 or a negative errno.
 */
PB_API int pb_set_no_ptrace(struct pb_builder *b, int on);

/* Deterministic addresses and AT_RANDOM bytes from seed (a debugging aid). */
PB_API int pb_set_seed(struct pb_builder *b, uint64_t seed);
/*
 * The program's parent-death signal (PR_SET_PDEATHSIG; bubblewrap's
 * --die-with-parent): sig when the thread that built it (in place: our
 * parent) ends; at once if that is gone before the program starts. 0: none
 * (the default: in place, execve keeps whatever the caller had). 0 or -EINVAL.
 */
PB_API int pb_set_pdeathsig(struct pb_builder *b, int sig);

/*
 * Process attributes, as a launcher sets them between fork and exec
 * (posix_spawn's attributes, setsid(1), nice(1), prlimit(1), env --chdir,
 * setpriv --no-new-privs). Each is checked when it is set and returns 0 or
 * a negative errno; the stub applies them after the namespace and the fds,
 * in this order: default signal actions, setsid, setpgid, the terminal's
 * foreground, rlimits, scheduling, nice, affinity, umask, chdir (or
 * fchdir), no_new_privs, personality; then the capability sets, groups and
 * ids (pb_set_uids ..., below) with the credentials execve gives; then the
 * Landlock ruleset, then the seccomp filter, last (a failure anywhere names
 * the attribute).
 *
 * pb_set_cwd: a directory that exists and we may enter now (-ENOENT,
 * -ENOTDIR, -EACCES); relative paths resolve where the process starts (our
 * directory), in its root when namespace entries give it one.
 * pb_set_umask: 0 to 0777 (-EINVAL).
 * pb_set_nice: -20 to 19; below our own only with CAP_SYS_NICE or RLIMIT_NICE
 * (-EPERM), as setpriority(2).
 * pb_set_rlimit: RLIMIT_* with soft <= hard; a hard limit above ours only
 * with CAP_SYS_RESOURCE (-EPERM). RLIMIT_STACK is the program's limit; the
 * layout is still planned with ours.
 * pb_set_setsid: a new session (and process group); in place, -EPERM if the
 * caller leads its process group (setsid(1) would fork).
 * pb_set_no_new_privs: set before the exec, so set-id bits and file
 * capabilities give nothing, as under execve.
 */
PB_API int pb_set_cwd(struct pb_builder *b, const char *path);
PB_API int pb_set_umask(struct pb_builder *b, unsigned mode);
PB_API int pb_set_nice(struct pb_builder *b, int nice);
PB_API int pb_set_rlimit(struct pb_builder *b, int resource, uint64_t soft, uint64_t hard);
PB_API int pb_set_setsid(struct pb_builder *b, int on);
PB_API int pb_set_no_new_privs(struct pb_builder *b, int on);
/*
 * More of posix_spawn's attributes: pb_set_pgid (POSIX_SPAWN_SETPGROUP:
 * setpgid(0, pgid), 0 for a group of its own; -EINVAL if negative),
 * pb_set_sigdefault (POSIX_SPAWN_SETSIGDEF: bit n-1 puts signal n back to
 * SIG_DFL; -EINVAL for SIGKILL or SIGSTOP), pb_set_affinity
 * (sched_setaffinity: nwords 64-bit words, bit n is CPU n; -EINVAL unless
 * one of them is a CPU we may run on).
 */
PB_API int pb_set_pgid(struct pb_builder *b, int pgid);
PB_API int pb_set_sigdefault(struct pb_builder *b, uint64_t mask);
PB_API int pb_set_affinity(struct pb_builder *b, const uint64_t *cpus, size_t nwords);
/*
 * The signal mask the program starts with: bit n-1 blocks signal n
 * (posix_spawn's POSIX_SPAWN_SETSIGMASK). By default it is the calling
 * thread's at pb_builder_new. A caller that blocks SIGINT and SIGTERM
 * before creating the builder, so that one of them cancels the build
 * (pb_build returns -ECANCELED), gives its own mask here. Spawned builds
 * only; 0, or -EINVAL for an in-place builder (execve keeps the caller's).
 */
PB_API int pb_set_sigmask(struct pb_builder *b, uint64_t mask);

/*
 * Who the program is (setpriv's --ruid/--euid/--reuid, --rgid/--egid/--regid,
 * --groups/--clear-groups, posix_spawn's POSIX_SPAWN_RESETIDS). The
 * credentials execve gives the program (AT_SECURE, set-id bits, file
 * capabilities, dumpable) are computed from the ids, groups and
 * capability sets it has once these are applied, as the kernel computes
 * them. The stub applies them last, after every other attribute, in this
 * order: bounding set, inheritable, ambient, groups, gids, uids (the
 * kernel's rules for capabilities across setresuid; SECBIT_KEEP_CAPS as
 * the caller has it). Each is checked when set against what the stub will
 * hold (the caller's credentials after a plain exec), as the kernel would:
 *
 * pb_set_uids: setresuid(ruid, euid, euid); PB_ID_UNCHANGED leaves one as it
 * is. Without CAP_SETUID each must be one of our ids (-EPERM).
 * pb_set_gids: the same with setresgid and CAP_SETGID.
 * pb_set_groups: setgroups(n, groups), n 0 clears them (--clear-groups);
 * without a call they are kept (--keep-groups). -EPERM without CAP_SETGID,
 * -E2BIG above 256, -EINVAL for (uint32_t)-1.
 * pb_set_resetids: the effective ids become the real ones (after the two
 * above), as posix_spawn does; never refused.
 */
#define PB_ID_UNCHANGED 0xffffffffu
PB_API int pb_set_uids(struct pb_builder *b, uint32_t ruid, uint32_t euid);
PB_API int pb_set_gids(struct pb_builder *b, uint32_t rgid, uint32_t egid);
PB_API int pb_set_groups(struct pb_builder *b, const uint32_t *groups, size_t n);
PB_API int pb_set_resetids(struct pb_builder *b, int on);
/*
 * Capability sets the program's exec starts from (setpriv's --inh-caps,
 * --ambient-caps, --bounding-set), bit n capability n: each becomes caps,
 * which must be a subset of ours (-EPERM: only ever dropped); dropping
 * from the bounding set needs CAP_SETPCAP (-EPERM). A root program's
 * permitted set after the exec is bounding | inheritable, so a dropped
 * bounding capability is not there either, as under execve.
 */
PB_API int pb_set_cap_inheritable(struct pb_builder *b, uint64_t caps);
PB_API int pb_set_cap_ambient(struct pb_builder *b, uint64_t caps);
PB_API int pb_set_cap_bounding(struct pb_builder *b, uint64_t caps);
/*
 * Scheduling (chrt(1); posix_spawn's POSIX_SPAWN_SETSCHEDULER and
 * POSIX_SPAWN_SETSCHEDPARAM), applied after the resource limits and before
 * nice. pb_set_scheduler: sched_setscheduler(policy, priority); policy
 * SCHED_OTHER, _BATCH, _IDLE, _FIFO or _RR, optionally | SCHED_RESET_ON_FORK.
 * pb_set_sched_priority: sched_setparam alone, the policy kept (ours, or the
 * one pb_set_scheduler set). -EINVAL for an unknown policy or a priority
 * outside sched_get_priority_min/max; -EPERM for a realtime priority above
 * RLIMIT_RTPRIO (as pb_set_rlimit leaves it) or for leaving SCHED_IDLE
 * beyond RLIMIT_NICE, without CAP_SYS_NICE, as sched_setscheduler(2) checks.
 */
PB_API int pb_set_scheduler(struct pb_builder *b, int policy, int priority);
PB_API int pb_set_sched_priority(struct pb_builder *b, int priority);
/*
 * posix_spawn's fchdir and tcsetpgrp file actions. fd is duplicated (the
 * caller keeps its own) and the stub uses it after setsid and setpgid:
 * pb_set_cwd_fd: fchdir(fd) where pb_set_cwd would chdir (the last of the two
 * set wins); -EBADF, -ENOTDIR, -EACCES now; refused at build with namespace
 * entries (it would be outside the new root).
 * pb_set_foreground: tcsetpgrp(fd, the program's process group) (every
 * signal is blocked while the stub works: no SIGTTOU for a background
 * group, as in posix_spawn's child); -EBADF, -ENOTTY when fd is not a
 * terminal; fails at build (naming it) when that terminal is not the
 * controlling one of the program's session (after pb_set_setsid, say).
 */
PB_API int pb_set_cwd_fd(struct pb_builder *b, int fd);
PB_API int pb_set_foreground(struct pb_builder *b, int fd);
/*
 * The personality (setarch(8)): persona as personality(2) takes it, set
 * after no_new_privs and before the credentials, then changed as a 64-bit
 * exec changes it (READ_IMPLIES_EXEC cleared; PER_CLEAR_ON_SETID for a
 * set-id program). The bits that decide where exec places things
 * (ADDR_NO_RANDOMIZE, ADDR_COMPAT_LAYOUT, MMAP_PAGE_ZERO, ADDR_LIMIT_32BIT,
 * ADDR_LIMIT_3GB) must be ours: the layout is planned from our personality
 * before anything is applied, so a value that changes them is -EOPNOTSUPP
 * (run procbuilder itself under setarch for them). -EINVAL for 0xffffffff.
 */
PB_API int pb_set_personality(struct pb_builder *b, unsigned long persona);
/*
 * A seccomp filter (bubblewrap's --seccomp): len bytes of struct sock_filter
 * (at most 4096), copied, installed by the stub as its last act, after the
 * credentials: the program's first instruction runs under it, and so do the
 * few calls the stub still makes (close, rt_sigprocmask, sendto or recvfrom,
 * pause, munmap: the filter must allow them, as bwrap's must allow execve).
 * Checked when set: -EINVAL for a program the kernel refuses (loaded in a
 * short-lived child), -EACCES without no_new_privs (ours, or
 * pb_set_no_new_privs called before) or CAP_SYS_ADMIN, as seccomp(2) says;
 * ids set afterwards that drop CAP_SYS_ADMIN without no_new_privs fail the
 * build, naming the filter.
 */
PB_API int pb_set_seccomp(struct pb_builder *b, const void *filter, size_t len);
/*
 * A Landlock ruleset (landlock_create_ruleset(2) and landlock_add_rule(2),
 * made by the caller; the fd is duplicated) that the stub enforces on itself
 * with landlock_restrict_self(2) after the credentials and before the
 * seccomp filter: the program starts in the domain, as after
 * landlock_restrict_self and execve. Checked when set: -EBADF, -EBADFD for
 * an fd that is not a ruleset, -EACCES without no_new_privs (ours, or
 * pb_set_no_new_privs called before) or CAP_SYS_ADMIN, and whatever the
 * kernel says when a short-lived child restricts itself with it
 * (-EOPNOTSUPP where Landlock is off), including -EACCES when the kernel's
 * exec check (AT_EXECVE_CHECK) refuses the program inside the domain, as
 * execve would (an interpreter is not checked so: it is known only at
 * build). The last one set wins.
 */
PB_API int pb_set_landlock(struct pb_builder *b, int ruleset_fd);

/*
 * Runs the default pipeline and applies its plan: on success the process is
 * fully built and stopped before its first instruction, and *ret owns it.
 * On failure the stub is killed and reaped, err names the stage and cause.
 * The builder is spent either way: free it with pb_builder_free.
 * No signal to the stub or its process group fails or wedges the build
 * (docs/security.md): the stub blocks them while it is built; a SIGSTOP is
 * passed on at pb_start unless a SIGCONT came after it. Every wait is
 * bounded (30 s without a word or a stop from the stub: PB_ESTUB); a
 * SIGINT or SIGTERM pending for the caller (blocked, not ignored) cancels
 * the build: -ECANCELED, PB_ESYS with sys_errno ECANCELED, the signal left
 * pending.
 */
PB_API int pb_build(struct pb_builder *b, struct pb_built **ret, struct pb_error *err);
/** @} */

/** @defgroup procbuilder_spawn procbuilder posix_spawn: a drop-in for posix_spawn and posix_spawnp
 * @{ */
/*
 * posix_spawn and posix_spawnp with the program built by procbuilder: the
 * same arguments, the same return values (0, or an errno; no process then,
 * nothing to reap), the same child. *pid (if pid is not NULL) is the
 * program's, a child of the caller, which reaps it with waitpid as after
 * posix_spawn; nothing of procbuilder's is left (no pidfd, thread or fd),
 * and the build's own SIGCHLDs are taken back (a child's that came
 * meanwhile is queued again). The child gets every fd not marked
 * close-on-exec, as from execve.
 *
 * Carried out, not emulated: the attributes and file actions are done by
 * procbuilder's clone child, as glibc 2.36's child does them, in its order
 * and with the caller's credentials, cwd and fds: SETSIGDEF, SETSID,
 * SETPGROUP, then every action in order (open, close, dup2, chdir, fchdir,
 * closefrom, tcsetpgrp); SETSIGMASK (else the calling thread's mask) is the
 * program's mask; USEVFORK changes nothing (glibc always clones so).
 * SETSCHEDULER, SETSCHEDPARAM and RESETIDS are pb_set_scheduler,
 * pb_set_sched_priority and pb_set_resetids, which the stub applies after
 * the actions (so, unlike glibc's child, a set-id caller's actions run with
 * its effective ids, not the real ones); their refusal (EPERM, EINVAL) is
 * the return value, as glibc's child's. An action's failure is the return
 * value. PATH (posix_spawnp) is the caller's.
 *
 * Sent to glibc's own posix_spawn(p) instead, unchanged: an attribute flag
 * this library does not know; non-empty file actions this library did not see being added
 * (posix_spawn_file_actions_t is opaque: only a process that has
 * libprocbuilder-spawn.so preloaded records them); a program that cannot
 * be opened (glibc's child then gives the error, after the actions); a
 * build failure execve would not have (the actions then run again, in
 * glibc's child).
 *
 * Threading: the build holds the stub with ptrace from the calling thread,
 * so no other thread may wait for any child (wait, waitpid(-1)) meanwhile;
 * the preload library sends multi-threaded processes to glibc.
 */
PB_API int pb_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *file_actions,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);
PB_API int pb_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *file_actions,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);
/** @} */

/** @defgroup procbuilder_pipelines procbuilder pipelines: pipeline files, registries of stages
 * @{ */
/*
 * Pipelines (docs/pipeline.md): a YAML file naming the stages, their options,
 * tracing, plugins. pb_pipeline_load validates everything (errors carry
 * FILE:LINE:COL) before anything is spawned. It loads the plugins the file
 * names, which runs their code: for a file you do not trust, use
 * pb_pipeline_load_opts with PB_PIPELINE_NO_PLUGINS (below).
 */
struct pb_pipeline;
PB_API int pb_pipeline_load(const char *path, struct pb_pipeline **ret, struct pb_error *err);
PB_API void pb_pipeline_free(struct pb_pipeline *p);

/*
 * Adding stages by API: a registry starts with the built-in stages;
 * pb_registry_add adds one (or replaces one of the same name: that swaps a
 * stage). The definition is struct pb_stage_def from <procbuilder/stage.h>
 * (the stage ABI, with what a stage may do; see docs/pipeline.md).
 * pb_pipeline_load_with takes the registry over.
 */
struct pb_registry;
struct pb_stage_def;
PB_API struct pb_registry *pb_registry_create(void);
PB_API int pb_registry_add(struct pb_registry *reg, const struct pb_stage_def *def);
PB_API void pb_registry_destroy(struct pb_registry *reg);
PB_API int pb_pipeline_load_with(const char *path, struct pb_registry *reg, struct pb_pipeline **ret,
				 struct pb_error *err);

/*
 * Loading with options. A pipeline file may name plugins, and loading one
 * runs its code in the caller (its constructors, at dlopen): for a file
 * from a source you do not trust, set PB_PIPELINE_NO_PLUGINS.
 */
enum pb_pipeline_flags {
	/*
	 * Refuse plugins: a file with a `plugins:` entry fails, before any
	 * plugin is opened, with PB_EINVAL, stage "pipeline" and the message
	 * "FILE:LINE:COL: plugin PATH refused: ..." (the position of that
	 * entry). Stages added through opts->reg are the caller's own code and
	 * stay allowed.
	 */
	PB_PIPELINE_NO_PLUGINS = 1u << 0,
};

/*
 * Options, libbpf-style: set sz to sizeof(struct pb_pipeline_opts) and
 * leave what you do not use zero, e.g.
 *   struct pb_pipeline_opts o = {.sz = sizeof(o), .flags = PB_PIPELINE_NO_PLUGINS};
 * The struct only grows at its end, one 8-byte field at a time (no padding
 * to hide a field in): fields a caller built against an older header does
 * not have read as 0; fields of a newer header this library does not know
 * must be 0, or the call fails with -EINVAL rather than ignore them.
 */
struct pb_pipeline_opts {
	size_t sz;			/* sizeof(struct pb_pipeline_opts) */
	uint64_t flags;			/* enum pb_pipeline_flags, or-ed */
	struct pb_registry *reg;	/* the stages the file may name (NULL: the built-in ones);
					   taken over, also on failure */
};

/*
 * pb_pipeline_load with options (opts NULL: none, the same as
 * pb_pipeline_load). 0, or a negative errno with err filled: -EINVAL for
 * an invalid file, a refused plugin (PB_PIPELINE_NO_PLUGINS), or bad opts
 * (sz smaller than a size_t, unknown flags, unknown fields not zero); the
 * file's own errors (-ENOENT, -E2BIG, ...) as pb_pipeline_load gives them.
 */
PB_API int pb_pipeline_load_opts(const char *path, const struct pb_pipeline_opts *opts,
				 struct pb_pipeline **ret, struct pb_error *err);
/** @} */
/** @addtogroup procbuilder_builder
 * @{ */

/* pb_build with a loaded pipeline (NULL: the compiled-in default). */
PB_API int pb_build_with(struct pb_builder *b, const struct pb_pipeline *p, struct pb_built **ret,
			 struct pb_error *err);

/* Trace the build to stderr: 0 off (or as the pipeline says), 1 text, 2 JSON lines. */
PB_API int pb_set_trace(struct pb_builder *b, int how);

/*
 * Exec in place (a builder from pb_builder_new_self): plans with the same
 * stages (p, or the default pipeline when NULL), then the calling process
 * execs the stub, which applies the plan to its fresh address space and
 * enters the program. The kernel's exec does every reset execve does; the
 * pid, its parent, session, process group, ignored signals, the signal mask,
 * pending signals, itimers, limits, scheduling and every fd not marked
 * close-on-exec stay. Other threads end. Returns only on failure, with err
 * filled and the caller intact (but for the cgroup move). A failure after
 * the exec cannot come back: the process writes "procbuilder: STAGE: ..."
 * on fd 2 and exits with status 125, as the kernel kills a process that
 * fails past exec's point of no return. The builder is spent either way.
 */
PB_API int pb_exec(struct pb_builder *b, const struct pb_pipeline *p, struct pb_error *err);

/* Kills and reaps a process that was never built; accepts NULL. */
PB_API void pb_builder_free(struct pb_builder *b);
/** @} */

/** @defgroup procbuilder_lifecycle procbuilder lifecycle: the built process, starting, waiting, signalling
 * @{ */
/*
 * How /proc/PID/exe came to be the program (pb_built_info.exe_way). Without
 * CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE it is set by the installed exe
 * helper (docs/security.md), where it is installed and the caller is one its
 * capability counts for; the trace says which way, or why not.
 */
enum pb_exe_way {
	PB_EXE_NOT_SET,		/* exe is the stub's memfd */
	PB_EXE_CAPABILITY,	/* set by the stub with the caller's own capability */
	PB_EXE_HELPER,		/* set by the installed exe helper */
};

/* What pb_build made (the seed's BuiltProcess). */
struct pb_built_info {
	int pid;
	int pidfd;
	uint64_t entry;		/* where the first instruction is */
	uint64_t sp;		/* the initial stack pointer (argc) */
	uint64_t elf_base;	/* load bias of the program */
	uint64_t interp_base;	/* AT_BASE, 0 without interpreter */
	uint64_t vdso_base;	/* AT_SYSINFO_EHDR, 0 without vDSO */
	int exe_set;		/* /proc/PID/exe points at the program (exe_way says how) */
	uint64_t trampoline;	/* without ptrace: the page left behind, else 0 */
	int exe_way;		/* enum pb_exe_way */
	unsigned stub_syscalls;	/* system calls the stub made, from its first instruction to its report */
	int stub_left;		/* the stub unmapped itself through the vDSO (one stop), or was stopped and unmapped (0) */
};

PB_API const struct pb_built_info *pb_built_info(const struct pb_built *p);

/* Runs the first thread from the entry point. 0 or a negative errno. */
PB_API int pb_start(struct pb_built *p, struct pb_error *err);

/*
 * Lets go of the process but leaves it stopped (SIGSTOP) before its first
 * instruction, for a debugger to attach (gdb -p PID) or SIGCONT to run it.
 */
PB_API int pb_start_stopped(struct pb_built *p, struct pb_error *err);

/** @} */
/** @addtogroup procbuilder_pipelines
 * @{ */
/* True if the loaded pipeline asks for the process to be handed over stopped (hold: true). */
PB_API int pb_pipeline_holds(const struct pb_pipeline *p);
/** @} */
/** @addtogroup procbuilder_lifecycle
 * @{ */

/*
 * The lifecycle of a started process. Ownership: p owns info->pidfd and
 * closes it in pb_built_free (dup it to keep it); these calls reap the
 * process through that pidfd, so a pid is never signalled or waited for
 * after it could have been recycled. Whoever reaps first wins: if the
 * caller reaps the process itself (waitpid, waitid(P_PIDFD), a SIGCHLD
 * handler with SIG_IGN...), the calls below say -ECHILD. They may be called
 * from any thread, but not concurrently on the same p.
 *
 * pb_wait blocks until the process ends: 0 and *ret_status (a waitpid(2)
 * status), or a negative errno (-ECHILD: not started, or already reaped).
 */
PB_API int pb_wait(struct pb_built *p, int *ret_status);

/* Without blocking: 1 and *ret_status if it has ended (now reaped), 0 if it runs, or a negative errno. */
PB_API int pb_try_wait(struct pb_built *p, int *ret_status);

/*
 * Waits at most timeout_ms (negative: without limit, as pb_wait): 1 and
 * *ret_status if it ended, 0 if it still runs when the time is up, or a
 * negative errno.
 */
PB_API int pb_wait_timeout(struct pb_built *p, int timeout_ms, int *ret_status);

/*
 * Sends sig through the pidfd (pidfd_send_signal(2)): 0, -ESRCH once it is
 * reaped, -EINVAL before pb_start (pb_built_free ends an unstarted one), or
 * another negative errno.
 */
PB_API int pb_kill(struct pb_built *p, int sig);

/* The ended process's resource usage, as wait4(2) gives it: 0, or -ECHILD until it is reaped. */
PB_API int pb_rusage(const struct pb_built *p, struct rusage *ret);

/*
 * The pidfd, owned by p (valid until pb_built_free): poll/epoll it for
 * POLLIN, which it reports once the process has ended; then pb_try_wait.
 */
PB_API int pb_built_pidfd(const struct pb_built *p);

/*
 * Frees the handle and closes its pidfd. A process that was built but never
 * started is killed and reaped; a started one that was not reaped is left
 * running (a zombie until its parent reaps it: wait before freeing).
 */
PB_API void pb_built_free(struct pb_built *p);
/** @} */
/** @addtogroup procbuilder_errors
 * @{ */

/* The library version, "MAJOR.MINOR.PATCH". */
PB_API const char *pb_version(void);
/** @} */

#ifdef __cplusplus
}
#endif
