/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "launch/exehelper.h"
#include "launch/fdclose.h"
#include "launch/launch.h"
#include "launch/posix_spawn.h"
#include "launch/rawsys.h"

extern const unsigned char pb_stub_image[], pb_stub_image_end[];

#define CHILD_STACK_SIZE (16 * 1024)

/* What the child was doing when it failed. */
enum child_step { STEP_SOCK, STEP_FDS, STEP_CGROUP, STEP_EXEC, STEP_SPAWN };
static const char *const child_step_what[] = {
	[STEP_SOCK] = "moving the stub's socket to fd 3",
	[STEP_FDS] = "marking the caller's fds close-on-exec",
	[STEP_CGROUP] = "moving the stub into the cgroup (cgroup.procs)",
	[STEP_EXEC] = "starting the stub (execveat)",
	[STEP_SPAWN] = "posix_spawn's attributes and file actions",
};

struct spawn_args {
	int memfd, sock;
	int exefd;		/* the empty program naming the stub as its interpreter, or -1 */
	int join_fd;		/* a cgroup the child must join itself (no CLONE_INTO_CGROUP), or -1 */
	char memfd_ro[32], exefd_ro[32];	/* /proc/self/fd/N of each, for a kernel that gives ETXTBSY */
	volatile long err;
	volatile int step;	/* enum child_step: where err happened */
	volatile int stub_is_interp;	/* the exec of exefd worked */
	const struct pb_child_plan *child;	/* posix_spawn's work, or NULL */
	char sock_arg[16];	/* with child: "s<N>", the stub's socket, which stays where it is */
	volatile int child_at;	/* with child: the action that failed, -1 the attributes */
	const char *helper;	/* the installed exe helper, or NULL (launch/exehelper.c) */
	int prog_fd;		/* the program, for the helper to set exe to */
	char prog_arg[16];	/* its number, the helper's argv[2] */
	volatile int used_helper;	/* the exec of the helper worked */
};

/* Where the child puts the stub for the kernel to open it as PT_INTERP. */
#define STUB_INTERP_FD 4

/*
 * clone3 with a function to run on the child's stack (glibc has no wrapper).
 * The child shares our memory until it execs (CLONE_VM|CLONE_VFORK).
 */
int pb_clone3_run(struct clone_args *args, size_t size, int (*fn)(void *), void *arg);
__asm__(".text\n"
	".globl pb_clone3_run\n"
	".hidden pb_clone3_run\n"
	".type pb_clone3_run, @function\n"
	"pb_clone3_run:\n"
	"	mov %rdx, %r8\n"
	"	mov %rcx, %r9\n"
	"	mov $435, %eax\n" /* __NR_clone3 */
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	xor %ebp, %ebp\n"
	"	mov %r9, %rdi\n"
	"	call *%r8\n"
	"	mov %eax, %edi\n"
	"	mov $60, %eax\n" /* exit */
	"	syscall\n"
	"	hlt\n"
	"1:	ret\n"
	".size pb_clone3_run, .-pb_clone3_run\n");

/*
 * clone(2) with a function to run on the child's stack, for where clone3 is
 * unavailable: the exit signal in the low byte of flags (no
 * CLONE_INTO_CGROUP: clone has no cgroup field), the stack's top, the pidfd
 * (CLONE_PIDFD) at parent_tid. fn and arg cross on the child's stack, not in
 * callee-saved registers, which the parent would have to restore.
 */
long pb_clone_run(unsigned long flags, void *stack_top, int *pidfd, int (*fn)(void *), void *arg);
__asm__(".text\n"
	".globl pb_clone_run\n"
	".hidden pb_clone_run\n"
	".type pb_clone_run, @function\n"
	"pb_clone_run:\n"
	"	and $-16, %rsi\n"
	"	sub $16, %rsi\n"
	"	mov %rcx, 8(%rsi)\n"
	"	mov %r8, (%rsi)\n"
	"	xor %r10d, %r10d\n" /* child_tid */
	"	xor %r8d, %r8d\n" /* tls */
	"	mov $56, %eax\n" /* __NR_clone */
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	xor %ebp, %ebp\n"
	"	pop %rdi\n"
	"	pop %rax\n"
	"	call *%rax\n"
	"	mov %eax, %edi\n"
	"	mov $60, %eax\n" /* exit */
	"	syscall\n"
	"	hlt\n"
	"1:	ret\n"
	".size pb_clone_run, .-pb_clone_run\n");

/* The child's failure, for the parent to report. */
PB_NO_SANITIZE static int child_failed(struct spawn_args *a, enum child_step step, long err)
{
	a->step = step;
	a->err = err;
	return 127;
}

/* Moves the calling process into the cgroup directory dirfd (writing 0 to cgroup.procs moves the writer). */
PB_NO_SANITIZE static long join_cgroup(int dirfd)
{
	long fd = pb_raw_syscall(SYS_openat, dirfd, (long)"cgroup.procs", O_WRONLY | O_CLOEXEC, 0, 0, 0), r;

	if (fd < 0)
		return fd;
	r = pb_raw_syscall(SYS_write, fd, (long)"0", 1, 0, 0, 0);
	pb_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
	return r < 0 ? r : r == 1 ? 0 : -EIO;
}

/*
 * execveat of the memfd fd; where the kernel denies exec of a file open for
 * writing (ETXTBSY), of a read-only reopen through /proc (ro_path), the
 * only use of /proc on the way: 6.18 runs the O_RDWR memfd, sealed or not.
 */
PB_NO_SANITIZE static long exec_memfd(int fd, const char *ro_path, char **argv, char **envp)
{
	long r = pb_raw_syscall(SYS_execveat, fd, (long)"", (long)argv, (long)envp, AT_EMPTY_PATH, 0), ro;

	if (r != -ETXTBSY)
		return r;
	ro = pb_raw_syscall(SYS_openat, AT_FDCWD, (long)ro_path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (ro < 0)
		return r;
	r = pb_raw_syscall(SYS_execveat, ro, (long)"", (long)argv, (long)envp, AT_EMPTY_PATH, 0);
	pb_raw_syscall(SYS_close, ro, 0, 0, 0, 0, 0);
	return r;
}

/*
 * The posix_spawn drop-in's child: posix_spawn's work (launch/spawn_child.c),
 * then the stub's exec, which keeps the caller's fds as the program's execve
 * would (nothing is marked close-on-exec here); the stub's socket stays where
 * the parent put it, above every fd an action names, and the stub learns its
 * number from argv[1]. Its memfds are close-on-exec.
 */
PB_NO_SANITIZE __attribute__((noinline)) static int spawn_child(struct spawn_args *a)
{
	char *argv[] = {"pb-stub", a->sock_arg, NULL}, *envp[] = {NULL};
	int at;
	long r = pb_child_plan_run(a->child, &at);

	if (r < 0) {
		a->child_at = at;
		return child_failed(a, STEP_SPAWN, r);
	}
	r = pb_raw_syscall(SYS_fcntl, a->sock, F_SETFD, 0, 0, 0, 0);
	if (r < 0)
		return child_failed(a, STEP_SOCK, r);
	if (a->exefd >= 0) {
		a->stub_is_interp = 1;
		exec_memfd(a->exefd, a->exefd_ro, argv, envp);
		a->stub_is_interp = 0;
	}
	r = exec_memfd(a->memfd, a->memfd_ro, argv, envp);
	return child_failed(a, STEP_EXEC, r);
}

/*
 * The installed exe helper, given the program's fd (open across the exec
 * only for it: the stub closes it once exe is set); returns if it cannot run.
 */
PB_NO_SANITIZE static void exec_helper(struct spawn_args *a, char **envp)
{
	char *argv[] = {"pb-stub", "-", a->prog_arg, NULL};

	if (pb_raw_syscall(SYS_fcntl, a->prog_fd, F_SETFD, 0, 0, 0, 0) < 0)
		return;
	a->used_helper = 1;
	pb_raw_syscall(SYS_execve, (long)a->helper, (long)argv, (long)envp, 0, 0, 0);
	a->used_helper = 0;
	pb_raw_syscall(SYS_fcntl, a->prog_fd, F_SETFD, FD_CLOEXEC, 0, 0, 0);
}

/* Runs in the child, in our memory, with every signal blocked: raw syscalls only. */
PB_NO_SANITIZE __attribute__((noinline)) static int stub_child(void *p)
{
	struct spawn_args *a = p;
	char *argv[] = {"pb-stub", NULL}, *envp[] = {NULL};
	long r;

	if (a->child)
		return spawn_child(a);
	if (a->sock != PB_STUB_SOCK_FD)
		r = pb_raw_syscall(SYS_dup3, a->sock, PB_STUB_SOCK_FD, 0, 0, 0, 0);
	else
		r = pb_raw_syscall(SYS_fcntl, PB_STUB_SOCK_FD, F_SETFD, 0, 0, 0, 0);
	if (r < 0)
		return child_failed(a, STEP_SOCK, r);
	/* Nothing of ours but 0, 1, 2 and the socket survives the exec. */
	r = pb_cloexec_from(PB_STUB_SOCK_FD + 1);
	if (r < 0)
		return child_failed(a, STEP_FDS, r);
	/* Before the exec: nothing of the program may run outside the job. */
	if (a->join_fd >= 0 && (r = join_cgroup(a->join_fd)) < 0)
		return child_failed(a, STEP_CGROUP, r);
	if (a->helper)
		exec_helper(a, envp);
	/* (neither memfd is at 3 or 4: pb_spawn_stub moved them; checked all the same) */
	if (a->exefd >= 0 && a->exefd != STUB_INTERP_FD && (a->memfd == STUB_INTERP_FD ||
			      pb_raw_syscall(SYS_dup3, a->memfd, STUB_INTERP_FD, O_CLOEXEC, 0, 0, 0) >= 0)) {
		a->stub_is_interp = 1;
		exec_memfd(a->exefd, a->exefd_ro, argv, envp);
		a->stub_is_interp = 0; /* no /proc here, say: the stub itself, as the program */
	}
	r = exec_memfd(a->memfd, a->memfd_ro, argv, envp);
	return child_failed(a, STEP_EXEC, r);
}

int pb_memfd_reopen_ro(int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* bytes in a sealed memfd (the caller execs it, reopening it read-only only on ETXTBSY). */
static int sealed_memfd(const char *name, const void *bytes, size_t len, struct pb_error *err)
{
	int fd, r;

	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return pb_err_sys(err, "launch", -errno, "memfd_create");
	r = pb_write_full(fd, bytes, len);
	if (r == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		r = -errno;
	if (r < 0) {
		close(fd);
		return pb_err_sys(err, "launch", r, "writing %s", name);
	}
	return fd;
}

int pb_stub_memfd(struct pb_error *err)
{
	return sealed_memfd("pb-stub", pb_stub_image, (size_t)(pb_stub_image_end - pb_stub_image), err);
}

uint64_t pb_stub_image_size(void)
{
	return pb_elf_image_extent(pb_stub_image);
}

/*
 * The empty program: an ELF with no PT_LOAD, only a PT_INTERP naming the
 * stub at /proc/self/fd/interp_fd. The kernel maps nothing of it and runs the
 * stub as its interpreter, so the process's exe is a file with no mapping,
 * which PR_SET_MM_MAP may replace at once: the stub sets /proc/PID/exe
 * itself, no injected calls.
 */
int pb_empty_program_memfd(int interp_fd, struct pb_error *err)
{
	struct empty_program {
		Elf64_Ehdr eh;
		Elf64_Phdr ph;
		char interp[32];
	} img = {
		.eh = {.e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT},
		       .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		       .e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		       .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1},
		.ph = {.p_type = PT_INTERP, .p_flags = PF_R, .p_offset = offsetof(struct empty_program, interp),
		       .p_align = 1},
	};
	int n = snprintf(img.interp, sizeof(img.interp), "/proc/self/fd/%d", interp_fd);

	img.ph.p_filesz = img.ph.p_memsz = (uint64_t)n + 1;
	return sealed_memfd("pb-empty", &img, sizeof(img), err);
}

void pb_kill_and_reap(pid_t *pid, int *pidfd, int *sock)
{
	int status;

	if (*pid > 0) {
		kill(*pid, SIGKILL);
		while (waitpid(*pid, &status, __WALL) < 0 && errno == EINTR)
			;
		*pid = -1;
	}
	if (*pidfd >= 0)
		close(*pidfd);
	if (*sock >= 0)
		close(*sock);
	*pidfd = *sock = -1;
}

/* clone3 with the stub's flags, the job's cgroup given to the kernel. */
static long clone3_stub(const struct pb_builder *b, struct spawn_args *a, void *stack, int *pidfd)
{
	struct clone_args ca = {
		.flags = CLONE_PIDFD | CLONE_VFORK | CLONE_VM,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
		.stack = (uint64_t)(uintptr_t)stack,
		.stack_size = CHILD_STACK_SIZE,
	};

	if (b->job_fd >= 0) {
		ca.flags |= CLONE_INTO_CGROUP;
		ca.cgroup = (uint64_t)b->job_fd;
	}
	return pb_clone3_run(&ca, sizeof(ca), stub_child, a);
}

/*
 * Whether clone3's failure r says that the kernel lacks what we ask for,
 * rather than refusing it: ENOSYS (before 5.3, and seccomp profiles that
 * predate clone3, valgrind); with a job also E2BIG and EINVAL, what 5.3 to 5.6
 * give for the cgroup field they do not know (nonzero: E2BIG) or for the
 * CLONE_INTO_CGROUP flag (job fd 0: EINVAL). A newer kernel gives neither
 * for these arguments, and the fallback places the child itself or fails, so
 * misreading one costs a message, never the placement. EPERM and the rest
 * are the kernel's or a filter's verdict, reported as such.
 */
static bool clone3_lacks(long r, bool job)
{
	return r == -ENOSYS || (job && (r == -E2BIG || r == -EINVAL));
}

/* What CLONE_INTO_CGROUP accepts (it gives EBADF for anything else, a cgroup v1 directory too). */
static bool is_cgroup2(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/*
 * The stub's child: clone3, or where clone3 lacks what we ask, clone(2) as
 * glibc falls back to it, the child joining the job itself. Its pid, or
 * -errno with err set.
 */
static long clone_child(const struct pb_builder *b, struct spawn_args *a, void *stack, int *pidfd,
			struct pb_error *err)
{
	long pid = clone3_stub(b, a, stack, pidfd), r;

	if (!clone3_lacks(pid, b->job_fd >= 0))
		return pid >= 0 ? pid : pb_err_sys(err, "launch", (int)pid, "clone3");
	if (b->job_fd >= 0 && !is_cgroup2(b->job_fd))
		return pb_err_sys(err, "launch", -EBADF, "the job fd is not a cgroup v2 directory");
	a->join_fd = b->job_fd;
	r = pb_clone_run(CLONE_PIDFD | CLONE_VFORK | CLONE_VM | SIGCHLD, (char *)stack + CHILD_STACK_SIZE, pidfd,
			 stub_child, a);
	return r >= 0 ? r : pb_err_sys(err, "launch", (int)r, "clone (clone3: %s)", strerror((int)-pid));
}

/*
 * DOC: whether we may call ptrace at all. A seccomp filter may answer
 * ptrace by killing the caller (SECCOMP_RET_KILL_PROCESS: procbuilder dies of
 * SIGSYS), and its verdict cannot be read without CAP_SYS_ADMIN
 * (SECCOMP_GET_FILTER). So where a filter is installed on this thread
 * (PR_GET_SECCOMP says 2), the same request is first made by a sacrificial
 * child: PTRACE_SEIZE of pid 0, which a kernel that lets it through answers
 * with ESRCH before any permission check. If the child dies of SIGSYS, the
 * filter kills on ptrace: no ptrace, the trampoline fallback. Any other
 * answer lets the real call give its own verdict (EPERM, EACCES, ENOSYS:
 * the fallback too).
 *
 * The child is a fork (clone without CLONE_VM): before Linux 5.16 a core
 * dump killed every process sharing the dumper's memory, so a CLONE_VM child
 * killed by the filter would take the caller with it. Its exit signal is 0,
 * so the caller's SIGCHLD handler never hears of it and an ignored SIGCHLD
 * cannot reap it first.
 *
 * Cost, measured on 6.18 on 2 shared cores: nothing without a filter (one
 * prctl, 0.3 us); with one, about 0.17-0.2 ms per spawn, for a small caller
 * and for one with 1 GiB of heap alike (a CLONE_VM child would take 0.06 ms;
 * a whole `run --spawn /bin/true` takes about 1.8 ms). A filter can be added
 * but never removed, so "kills" stays true and is cached for the thread
 * (filters are per thread); "lets it through" can become false when a filter
 * is added later, so it is never cached.
 */
static _Thread_local bool ptrace_kills; /* the only mutable global: see above */

static bool ptrace_may_kill_us(void)
{
	sigset_t all, old;
	long pid;
	int status;

	if (ptrace_kills)
		return true;
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0)
		return false; /* no filter: nothing can kill on ptrace */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the child dies of the filter or not at all */
	pid = syscall(SYS_clone, 0UL, 0UL, NULL, NULL, 0UL);
	if (pid == 0) {
		pb_raw_syscall(SYS_ptrace, PTRACE_SEIZE, 0, 0, PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD, 0, 0);
		_exit(0);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return true; /* cannot ask: not worth dying for */
	while (waitpid((pid_t)pid, &status, __WALL) < 0)
		if (errno != EINTR)
			return true;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS)
		ptrace_kills = true;
	return !WIFEXITED(status);
}

/* A refusal of ptrace, by the kernel (yama, lockdown, an LSM) or a filter: the no-ptrace fallback. */
static bool ptrace_refused(int e)
{
	return e == EPERM || e == EACCES || e == ENOSYS;
}

/*
 * Run as the installed exe helper, the stub holds a capability we lack
 * until it has set exe: ptrace would be refused. Its hello comes after it
 * dropped it and made itself dumpable again. 0, or -errno with err set.
 */
static int await_helper_dropped(struct pb_builder *b, struct pb_error *err)
{
	struct pb_stub_waiter w = {.pid = b->pid, .pidfd = b->pidfd, .cancellable = true};
	int status, r = pb_stub_wait(&w, b->sock, PTRACE_CONT, &status, err, "for the exe helper to drop its capability");

	if (w.reaped)
		b->pid = -1;
	if (r == 0)
		r = pb_err_set(err, "launch", PB_ESTUB, 0, "the stub ended as the exe helper, before its hello");
	return r < 0 ? r : 0;
}

/*
 * After the clone: the child's own failure, a pidfd where clone gave none
 * (before Linux 5.2 it ignores CLONE_PIDFD), ptrace. 0, or -errno with the
 * child killed and reaped.
 */
static int adopt_stub(struct pb_builder *b, const struct spawn_args *a, struct pb_error *err)
{
	int r = 0;

	if (a->err && a->step == STEP_SPAWN) {
		b->child->failed_at = a->child_at;
		r = pb_err_sys(err, "launch", (int)a->err, "%s: %s", child_step_what[a->step],
			       a->child_at < 0 ? "setsid/setpgid" : "a file action");
	} else if (a->err)
		r = pb_err_sys(err, "launch", (int)a->err, "%s%s", child_step_what[a->step],
			       a->err == -ETXTBSY ? PB_ETXTBSY_HINT : "");
	else if (b->pidfd < 0 && (b->pidfd = (int)syscall(SYS_pidfd_open, b->pid, 0)) < 0)
		r = pb_err_sys(err, "launch", -errno, "pidfd_open of the stub");
	else if (a->used_helper && (r = await_helper_dropped(b, err)) < 0)
		; /* said */
	else if (ptrace_may_kill_us())
		b->no_ptrace = true; /* a filter kills on ptrace: the trampoline fallback */
	else if (ptrace(PTRACE_SEIZE, b->pid, 0, PTRACE_O_EXITKILL | PTRACE_O_TRACESYSGOOD) < 0) {
		if (ptrace_refused(errno))
			b->no_ptrace = true; /* refused (seccomp, yama, ...): the trampoline fallback */
		else
			r = pb_err_sys(err, "launch", -errno, "ptrace(PTRACE_SEIZE) of the stub");
	}
	if (r < 0)
		pb_kill_and_reap(&b->pid, &b->pidfd, &b->sock);
	return r;
}

/*
 * Where fd (ours, close-on-exec) must sit before the child runs. Without
 * posix_spawn's work, above 3 (PB_STUB_SOCK_FD) and 4 (STUB_INTERP_FD), where
 * the child puts its socket and the stub before it execs (in a caller with
 * only 0, 1 and 2 open, the memfds were there); with it, at b->child->low or
 * above, out of reach of the file actions. fd, or its move (fd closed), or
 * -errno (fd closed).
 */
static int out_of_the_childs_way(int fd, const struct pb_builder *b)
{
	int low = b->child ? b->child->low : STUB_INTERP_FD + 1, moved, e;

	if (fd < 0 || fd >= low)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, low);
	e = errno;
	close(fd);
	return moved < 0 ? -e : moved;
}

/* Whether fd starts as an ELF. */
static bool is_elf(int fd)
{
	char magic[4];

	return pread(fd, magic, 4, 0) == 4 && memcmp(magic, ELFMAG, SELFMAG) == 0;
}

/*
 * What execve would make exe, known before the pipeline runs: the file
 * itself if it is an ELF, the interpreter a #! line names if that is one
 * (opened: *ret_own is set to close it). Anything else (nested #!,
 * binfmt_misc) is found by the pipeline after the helper has run: -1.
 * The builder checks the link afterwards all the same.
 */
static int exe_file_of(int fd, bool *ret_own)
{
	char line[256], *p, *end; /* BINPRM_BUF_SIZE: what the kernel reads of a #! line */
	ssize_t n = pread(fd, line, sizeof(line) - 1, 0);
	int interp;

	*ret_own = false;
	if (is_elf(fd))
		return fd;
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return -1;
	line[n] = 0;
	for (p = line + 2; *p == ' ' || *p == '\t'; p++)
		;
	for (end = p; *end && *end != ' ' && *end != '\t' && *end != '\n'; end++)
		;
	*end = 0;
	interp = *p == '/' ? open(p, O_RDONLY | O_CLOEXEC) : -1;
	if (interp >= 0 && !is_elf(interp)) {
		close(interp);
		interp = -1;
	}
	*ret_own = interp >= 0;
	return interp;
}

/* Our own copy of fd above 3 and 4, where the child puts its socket and the stub; -1 if none can be made. */
static int own_above_child_fds(int fd, bool own)
{
	int moved;

	if (fd > STUB_INTERP_FD)
		return fd;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, STUB_INTERP_FD + 1);
	if (own)
		close(fd);
	return moved;
}

/* Spawned, the helper sets exe before the plan exists, to what exe_file_of finds. Why not, for the trace. */
static void choose_helper(struct pb_builder *b, struct spawn_args *a, bool *ret_own)
{
	*ret_own = false;
	if (pb_can_set_exe())
		return;
	if (b->child) {
		snprintf(b->exe_why, sizeof(b->exe_why), "posix_spawn's drop-in: its clone child carries out the "
			 "file actions, and the helper is not given the program there");
		return;
	}
	if (b->exec_fd < 0) {
		snprintf(b->exe_why, sizeof(b->exe_why), "a pooled stub, spawned before its program was known: "
			 "the helper could not be given it");
		return;
	}
	a->prog_fd = exe_file_of(b->exec_fd, ret_own);
	if (a->prog_fd >= 0 && a->prog_fd <= STUB_INTERP_FD) {
		a->prog_fd = own_above_child_fds(a->prog_fd, *ret_own);
		*ret_own = a->prog_fd >= 0;
	}
	if (a->prog_fd < 0) {
		snprintf(b->exe_why, sizeof(b->exe_why), "spawned, the helper takes an ELF program or a #! script "
			 "naming one (a nested script's or binfmt_misc's interpreter is found after it has run)");
		return;
	}
	a->helper = pb_exe_helper_choose(a->prog_fd, b->exe_why, sizeof(b->exe_why));
	snprintf(a->prog_arg, sizeof(a->prog_arg), "%d", a->prog_fd);
}

int pb_spawn_stub(struct pb_builder *b, struct pb_error *err)
{
	struct spawn_args a = {.memfd = -1, .sock = -1, .exefd = -1, .join_fd = -1, .child = b->child, .prog_fd = -1};
	bool own_prog = false;
	int sv[2], pidfd = -1, r;
	sigset_t all, old;
	void *stack;
	long pid;

	a.memfd = pb_stub_memfd(err);
	if (a.memfd >= 0 && (a.memfd = out_of_the_childs_way(a.memfd, b)) < 0)
		return pb_err_sys(err, "launch", a.memfd, "moving the stub's memfd");
	if (a.memfd < 0)
		return a.memfd;
	/* only worth a second memfd when we may set exe at all; with posix_spawn's work, the stub stays at its number */
	if (pb_can_set_exe()) {
		a.exefd = r = pb_empty_program_memfd(b->child ? a.memfd : STUB_INTERP_FD, err);
		if (r >= 0 && (a.exefd = r = out_of_the_childs_way(r, b)) < 0)
			pb_err_sys(err, "launch", r, "moving the empty program's memfd");
		if (r < 0)
			goto out_close_memfd;
	}
	choose_helper(b, &a, &own_prog);
	snprintf(a.memfd_ro, sizeof(a.memfd_ro), "/proc/self/fd/%d", a.memfd);
	snprintf(a.exefd_ro, sizeof(a.exefd_ro), "/proc/self/fd/%d", a.exefd);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		r = pb_err_sys(err, "launch", -errno, "socketpair");
		goto out_close_memfd;
	}
	if ((sv[1] = out_of_the_childs_way(sv[1], b)) < 0) {
		r = pb_err_sys(err, "launch", sv[1], "moving the stub's socket");
		close(sv[0]);
		goto out_close_memfd;
	}
	if (b->child) {
		snprintf(a.sock_arg, sizeof(a.sock_arg), "s%d", sv[1]);
		b->child->keep[0] = a.memfd;
		b->child->keep[1] = a.exefd;
		b->child->keep[2] = sv[1];
	}
	stack = malloc(CHILD_STACK_SIZE);
	if (!stack) {
		r = pb_err_set(err, "launch", PB_ENOMEM, 0, "out of memory");
		goto out_close_sock;
	}
	a.sock = sv[1];
	/* No handler of ours may run in the child: it shares our memory. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = clone_child(b, &a, stack, &pidfd, err);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	free(stack);
	close(sv[1]);
	sv[1] = -1;
	if (pid < 0) {
		r = (int)pid;
		goto out_close_sock;
	}
	b->pid = (pid_t)pid;
	b->pidfd = pidfd;
	b->sock = sv[0];
	b->stub_is_interp = a.stub_is_interp;
	b->exe_by_helper = a.used_helper;
	if (a.helper && !a.used_helper)
		snprintf(b->exe_why, sizeof(b->exe_why), "the exec of the helper %s failed", a.helper);
	r = adopt_stub(b, &a, err);
	if (r == 0) { /* while it starts, not after its hello */
		pb_sysctls_read(&b->sysctls);
		pb_vdso_way_find(&b->vdso_way);
	}
	goto out_close_memfd; /* the stub has exec'd them (or is gone): ours go either way */

out_close_sock:
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
out_close_memfd:
	close(a.memfd);
	if (a.exefd >= 0)
		close(a.exefd);
	if (own_prog)
		close(a.prog_fd);
	return r;
}
