/* SPDX-License-Identifier: MIT */
/*
 * DOC: finalize. The stub has applied the plan, said so and closed its
 * socket. Mostly it has also unmapped itself, through the vDSO, and stopped
 * at an int3 there (struct pb_wire_leave): one stop, where the other way
 * takes two. Where it could not (no kernel vDSO, an ignored SIGTRAP, a
 * frame that would fault a page in), it waits and PTRACE_INTERRUPT stops
 * it; as its tracer we make it run munmap on its own image through its own
 * "syscall" instruction (the step stop after it comes before any
 * instruction of the unmapped code would run). Then we set the registers
 * execve leaves: every general register zero but rip and rsp, rflags
 * 0x202, fs/gs base 0. The FPU/SIMD state is exec's: the stub never touches
 * it. /proc/PID/exe was set by the stub itself (launch/spawn.c says how).
 */
#include <elf.h>
#include <linux/capability.h>
#include <stddef.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "launch/launch.h"

static int wait_stopped(struct pb_stub_waiter *w, int resume, struct pb_error *err, const char *when)
{
	int status, r = pb_stub_wait(w, -1, resume, &status, err, when);

	if (r < 0)
		return r;
	if (WIFSTOPPED(status))
		return status;
	if (WIFSIGNALED(status))
		return pb_err_set(err, "finalize", PB_ESTUB, 0, "the process was killed by signal %d %s",
				  WTERMSIG(status), when);
	return pb_err_set(err, "finalize", PB_ESTUB, 0, "the process exited with status %d %s",
			  WEXITSTATUS(status), when);
}

/*
 * Runs one system call in the stopped tracee at the "syscall" instruction
 * insn. Single-stepping over it stops once, after it; but the kernel reports
 * that step with a forced SIGTRAP, which would turn an ignored SIGTRAP back
 * to SIG_DFL. So without step (the program's SIGTRAP is ignored) we take the
 * syscall-entry and -exit stops instead: twice the round trips. Every signal
 * is blocked meanwhile; a SIGSTOP, which cannot be, is taken by the wait.
 */
static int inject(struct pb_stub_waiter *w, bool step, uint64_t insn, long nr, long a0, long a1, long a2, long a3,
		  long *ret, struct pb_error *err)
{
	struct user_regs_struct regs = {0};
	int req = step ? PTRACE_SINGLESTEP : PTRACE_SYSCALL;
	pid_t pid = w->pid;
	int r;

	regs.rip = insn;
	regs.rax = (unsigned long)nr;
	regs.orig_rax = (unsigned long)-1; /* no restart of the system call we stopped in */
	regs.rdi = (unsigned long)a0;
	regs.rsi = (unsigned long)a1;
	regs.rdx = (unsigned long)a2;
	regs.r10 = (unsigned long)a3;
	regs.eflags = 0x202;
	regs.cs = 0x33;
	regs.ss = 0x2b;
	if (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0)
		return pb_err_sys(err, "finalize", -errno, "PTRACE_SETREGS");
	for (int stop = 0; stop < (step ? 1 : 2); stop++) { /* after it; or syscall entry, then exit */
		if (ptrace(req, pid, 0, 0) < 0)
			return pb_err_sys(err, "finalize", -errno, step ? "PTRACE_SINGLESTEP" : "PTRACE_SYSCALL");
		r = wait_stopped(w, req, err, "during an injected system call");
		if (r < 0)
			return r;
		if (WSTOPSIG(r) != (step ? SIGTRAP : SIGTRAP | 0x80))
			return pb_err_set(err, "finalize", PB_ESTUB, 0,
					  "unexpected stop (signal %d) during an injected system call",
					  WSTOPSIG(r));
	}
	if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
		return pb_err_sys(err, "finalize", -errno, "PTRACE_GETREGS");
	*ret = (long)regs.rax;
	return 0;
}

/*
 * After the steps: the signal mask the program starts with (a forced SIGTRAP
 * unblocks SIGTRAP) and a clean debug status register, as exec leaves them.
 */
static int settle(pid_t pid, const uint64_t *sigmask, struct pb_error *err)
{
	if (ptrace(PTRACE_SETSIGMASK, pid, sizeof(*sigmask), sigmask) < 0)
		return pb_err_sys(err, "finalize", -errno, "PTRACE_SETSIGMASK");
	if (ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[6]), 0) < 0)
		return pb_err_sys(err, "finalize", -errno, "clearing DR6");
	return 0;
}

uint64_t pb_effective_caps(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {0};

	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	return d[0].effective | (uint64_t)d[1].effective << 32;
}

bool pb_can_set_exe(void)
{
	return pb_effective_caps() & ((1ull << CAP_SYS_ADMIN) | (1ull << 40 /* CAP_CHECKPOINT_RESTORE */));
}

/*
 * A "syscall" instruction (0f 05) in the executable segments of an image
 * mapped at bias, read from its file: the stub is gone by the time we need
 * one, and the vDSO may be too. Returns its address, or 0.
 */
static uint64_t find_syscall_insn(int fd, const struct pb_elf *elf, uint64_t bias)
{
	unsigned char buf[4096 + 1];

	for (unsigned i = 0; fd >= 0 && i < elf->phnum; i++) {
		const Elf64_Phdr *ph = &elf->phdrs[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		for (uint64_t off = 0; off + 1 < ph->p_filesz; off += sizeof(buf) - 1) {
			ssize_t n = pb_pread_full(fd, buf, sizeof(buf), ph->p_offset + off);
			if (n < 2)
				break;
			if ((uint64_t)n > ph->p_filesz - off)
				n = (ssize_t)(ph->p_filesz - off);
			for (ssize_t k = 0; k + 1 < n; k++)
				if (buf[k] == 0x0f && buf[k + 1] == 0x05)
					return bias + ph->p_vaddr + off + (uint64_t)k;
		}
	}
	return 0;
}

uint64_t pb_image_syscall_insn(const struct pb_ctx *ctx)
{
	uint64_t a = 0;

	if (ctx->has_interp)
		a = find_syscall_insn(ctx->interp_fd, &ctx->interp, ctx->interp_bias);
	if (!a)
		a = find_syscall_insn(ctx->exec_fd, &ctx->exec, ctx->exec_bias);
	return a;
}

/*
 * The stub left through the vDSO: stopped right after its int3, the
 * munmap's answer in rax. The frame it returned through, below sp, is
 * cleared: execve leaves zeros there (its stub wrote 0 and the int3's
 * address; it left this way only while dumpable, so ours may write).
 */
static int check_left(const struct pb_ctx *ctx, pid_t pid, uint64_t trap, struct pb_error *err)
{
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
		return pb_err_sys(err, "finalize", -errno, "PTRACE_GETREGS");
	if (regs.rip != ctx->vdso_base + trap + 1)
		return pb_err_set(err, "finalize", PB_ESTUB, 0, "the stub stopped at 0x%llx, not at the vDSO's int3",
				  (unsigned long long)regs.rip);
	if ((long)regs.rax < 0)
		return pb_err_sys(err, "finalize", (int)(long)regs.rax, "unmapping the stub");
	if (ptrace(PTRACE_POKEDATA, pid, ctx->sp - 8, 0) < 0)
		return pb_err_sys(err, "finalize", -errno, "clearing the frame below the stack pointer");
	return 0;
}

int pb_finalize(struct pb_ctx *ctx, struct pb_stub_waiter *w, const uint64_t *sigmask, bool step, uint64_t left,
		struct pb_error *err)
{
	pid_t pid = w->pid;
	struct user_regs_struct regs = {0};
	const struct pb_host *h = &ctx->host;
	long ret;
	int r;

	if (left) {
		r = check_left(ctx, pid, left, err);
	} else {
		r = inject(w, step, h->syscall_insn, SYS_munmap, (long)h->stub_lo, (long)(h->stub_hi - h->stub_lo),
			   0, 0, &ret, err);
		if (r == 0 && ret < 0)
			r = pb_err_sys(err, "finalize", (int)ret, "unmapping the stub");
	}
	if (r < 0)
		return r;
	r = settle(pid, sigmask, err);
	if (r < 0)
		return r;
	/* ELF_PLAT_INIT + start_thread: what execve leaves */
	regs.rip = ctx->entry;
	regs.rsp = ctx->sp;
	regs.eflags = 0x202;
	regs.cs = 0x33;
	regs.ss = 0x2b;
	regs.orig_rax = (unsigned long)-1;
	if (ptrace(PTRACE_SETREGS, pid, 0, &regs) < 0)
		return pb_err_sys(err, "finalize", -errno, "PTRACE_SETREGS");
	return 0;
}

int pb_release_kept(struct pb_built *p, struct pb_error *err)
{
	struct pb_stub_waiter w = {.pid = p->info.pid, .pidfd = p->info.pidfd, .stop_seen = p->stop_seen};
	static const uint64_t all = ~0ull;
	struct user_regs_struct final;
	long ret;
	int r = 0;

	if (!p->syscall_insn)
		return pb_err_set(err, "start", PB_ESYS, 0, "no syscall instruction to release the reservation with");
	if (ptrace(PTRACE_GETREGS, p->info.pid, 0, &final) < 0)
		return pb_err_sys(err, "start", -errno, "PTRACE_GETREGS");
	/* the program's mask is set: nothing but SIGSTOP may stop the injected calls */
	if (ptrace(PTRACE_SETSIGMASK, p->info.pid, sizeof(all), &all) < 0)
		return pb_err_sys(err, "start", -errno, "PTRACE_SETSIGMASK");
	for (unsigned i = 0; i < p->nkept && r == 0; i++) {
		r = inject(&w, p->step, p->syscall_insn, SYS_munmap, (long)p->kept[i].lo,
			   (long)(p->kept[i].hi - p->kept[i].lo), 0, 0, &ret, err);
		if (r == 0 && ret < 0)
			r = pb_err_sys(err, "start", (int)ret, "releasing a kept reservation");
	}
	if (r == 0)
		r = settle(p->info.pid, &p->sigmask, err);
	if (r == 0 && ptrace(PTRACE_SETREGS, p->info.pid, 0, &final) < 0)
		r = pb_err_sys(err, "start", -errno, "PTRACE_SETREGS");
	p->nkept = 0;
	p->stop_seen = w.stop_seen;
	return r;
}
