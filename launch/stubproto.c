/* SPDX-License-Identifier: MIT */
/*
 * The conversation with a spawned stub: its hello (where it is, its auxv and
 * maps), the plan sent as one memfd and one SCM_RIGHTS message, and its
 * answer, read from the socket (no ptrace) or seen at its stop (ptrace).
 * Every wait is bounded (pb_stub_wait).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "launch/creds.h"
#include "launch/launch.h"
#include "pipeline/pipeline.h"

/*
 * One message from the stub, waited for with pb_stub_wait (bounded, taking
 * the stops a signal to its group causes). Its length, or -errno with err set.
 */
static int recv_all(struct pb_stub_waiter *w, int sock, void *buf, size_t len, struct pb_error *err,
		    const char *what)
{
	char when[64];
	int status, r;
	ssize_t n;

	snprintf(when, sizeof(when), "before sending %s", what);
	r = pb_stub_wait(w, sock, PTRACE_CONT, &status, err, when);
	if (r < 0)
		return r;
	do /* (ended or stopped: what it sent before is still there) */
		n = recv(sock, buf, len, r ? 0 : MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n > 0 && !r && WIFSTOPPED(status)) { /* it stopped after sending (it left: stubproto's await) */
		w->held = true;
		w->held_status = status;
	}
	if (n > 0)
		return (int)n;
	if (n < 0 && r)
		return pb_err_sys(err, "launch", -errno, "receiving %s from the stub", what);
	if (r && n == 0)
		return pb_err_set(err, "launch", PB_ESTUB, 0, "the stub died before sending %s", what);
	if (WIFSTOPPED(status))
		return pb_err_set(err, "launch", PB_ESTUB, 0, "the stub stopped with signal %d before sending %s",
				  WSTOPSIG(status), what);
	if (WIFEXITED(status))
		return pb_err_set(err, "launch", PB_ESTUB, 0, "the stub exited with status %d before sending %s",
				  WEXITSTATUS(status), what);
	return pb_err_set(err, "launch", PB_ESTUB, 0, "the stub was killed by signal %d before sending %s",
			  WTERMSIG(status), what);
}

/* The stub's vDSO run next to its image, out of the mmap area, before the steps (core/host.h). */
static void park_vdso(struct pb_builder *b, struct pb_host *host)
{
	struct pb_move park[4];

	b->npark = pb_host_park_vdso_run(host, park);
	for (unsigned i = 0; i < b->npark; i++)
		b->park[i] = (struct pb_wire_move){park[i].from, park[i].to, park[i].len};
}

/* What the kernel gave the stub, in the context's terms. */
int pb_stub_read_hello(struct pb_builder *b, struct pb_stub_waiter *w, struct pb_ctx *ctx, struct pb_error *err)
{
	struct pb_hello *h = malloc(sizeof(*h));
	struct pb_host *host = &ctx->host;
	int n;

	if (!h)
		return pb_err_set(err, "launch", PB_ENOMEM, 0, "out of memory");
	n = recv_all(w, b->sock, h, sizeof(*h), err, "its hello");
	if (n >= 0 && ((size_t)n < offsetof(struct pb_hello, maps) || h->magic != PB_PROTO_MAGIC ||
		       h->nauxv > 64 || h->maps_len > (size_t)n - offsetof(struct pb_hello, maps)))
		n = pb_err_set(err, "launch", PB_ESTUB, 0, "malformed hello from the stub");
	if (n < 0) {
		free(h);
		return n;
	}
	memset(host, 0, sizeof(*host));
	pb_host_read_sysfacts_with(host, &b->sysctls);
	host->nauxv = h->nauxv;
	memcpy(host->auxv, h->auxv, sizeof(h->auxv));
	pb_host_parse_maps(host, h->maps, h->maps_len);
	host->sp0 = h->sp0;
	host->stub_lo = h->stub_lo;
	host->stub_hi = h->stub_hi;
	host->syscall_insn = h->syscall_insn;
	host->vdso_base = pb_host_auxv(host, AT_SYSINFO_EHDR, 0);
	if (!host->nmaps) /* no /proc in the stub */
		pb_host_assume_stub_maps(host);
	/* the stub was the kernel's first mapping, at mmap_base, and moved out of the area (stub/vacate.c) */
	host->mmap_top = h->mmap_base ? h->mmap_base : h->stub_hi;
	host->bottom_up = h->bottom_up != 0;
	for (unsigned i = 0; i < host->nmaps; i++)
		if (strcmp(host->maps[i].name, "[stack]") == 0)
			host->stack_end = host->maps[i].hi;
	park_vdso(b, host);
	pb_ctx_set_host(ctx, host, "stub anonymous");
	free(h);
	return 0;
}

/* The header (~5 KiB with the attributes) lives on the heap: procbuilder runs on a 16 KiB stack. */
int pb_stub_send_plan(struct pb_builder *b, struct pb_ctx *ctx, bool exe_in_mm, uint64_t tramp,
		     const struct pb_wire_creds *creds, struct pb_error *err)
{
	struct pb_plan_hdr *hdr = calloc(1, sizeof(*hdr));
	int fds[1 + PB_PLAN_MAX_FILES + PB_PLAN_MAX_FDS];
	char cbuf[CMSG_SPACE(sizeof(fds))];
	size_t nfds;
	struct iovec iov = {hdr, sizeof(*hdr)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf};
	struct cmsghdr *c;
	int planfd, r;

	if (!hdr)
		return pb_err_set(err, "launch", PB_ENOMEM, 0, "out of memory");
	/* field by field: a compound literal would put a second header on the stack */
	hdr->exe_in_mm = exe_in_mm;
	hdr->tramp = tramp;
	hdr->fd_high = pb_wire_fd_high(b);
	hdr->creds = *creds;
	memcpy(hdr->park, b->park, sizeof(hdr->park));
	hdr->npark = b->npark;
	/* traced, out through the vDSO: its int3's SIGTRAP (as a single step's) may be forced on the program */
	if (!tramp && !b->no_ptrace && !b->sigtrap_ignored && b->vdso_way.trap && pb_has_kernel_vdso(ctx))
		hdr->leave = (struct pb_wire_leave){b->vdso_way.gadget, b->vdso_way.trap, ctx->sp};
	r = planfd = pb_wire_plan(b, ctx, hdr, false, err);
	if (planfd < 0)
		goto out;
	fds[0] = planfd;
	for (size_t i = 0; i < ctx->plan.nfiles; i++)
		fds[1 + i] = ctx->plan.files[i].fd;
	hdr->nfds = (uint32_t)b->nfds;
	for (size_t i = 0; i < b->nfds; i++) {
		fds[1 + ctx->plan.nfiles + i] = b->fds[i].fd;
		hdr->fd_target[i] = b->fds[i].target;
	}
	nfds = 1 + ctx->plan.nfiles + b->nfds;
	msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	do
		r = (int)sendmsg(b->sock, &msg, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	r = r < 0 ? pb_err_sys(err, "launch", -errno, "sending the plan to the stub") : 0;
	close(planfd);
out:
	free(hdr);
	return r;
}

static enum pb_code code_of_errno(int e)
{
	switch (e) {
	case ENOMEM: return PB_ENOMEM;
	case EEXIST: return PB_ELOAD;
	case EACCES: case EPERM: return PB_EACCES;
	default: return PB_ESYS;
	}
}

/* The stub's verdict; a failed step is reported in the name of the stage that emitted it. */
int pb_stub_read_result(struct pb_builder *b, struct pb_stub_waiter *w, struct pb_ctx *ctx, struct pb_error *err)
{
	static const char *const phases[] = {"ok", "receiving the plan", "step", "PR_SET_MM_MAP",
					     "PR_SET_NAME", "setting up fds", "namespace", "layout",
					     "setting the credentials execve gives the program", "attributes"};
	struct pb_result res;
	char prot[4];
	int n = recv_all(w, b->sock, &res, sizeof(res), err, "its result");

	if (n < 0)
		return n;
	if (n != sizeof(res) || res.magic != PB_PROTO_MAGIC || res.phase < 0 || res.phase > PB_PHASE_ATTRS)
		return pb_err_set(err, "launch", PB_ESTUB, 0, "malformed result from the stub");
	b->stub_nsys = res.nsyscalls;
	b->stub_exe_set = res.exe_set != 0;
	b->stub_leaves = res.leaves != 0;
	if (res.phase == PB_PHASE_OK)
		return 0;
	if (res.phase == PB_PHASE_NS) {
		pb_ns_explain(b, res.step, -res.err, err);
	} else if (res.phase == PB_PHASE_ATTRS) {
		pb_attrs_explain(b, res.step, -res.err, err);
	} else if (res.phase == PB_PHASE_CREDS) {
		pb_creds_explain(&b->ids, res.step, -res.err, err);
	} else if (res.phase == PB_PHASE_STEP && res.step >= 0 && (size_t)res.step < ctx->plan.nsteps) {
		const struct pb_step *s = &ctx->plan.steps[res.step];
		pb_err_set(err, s->stage ? s->stage : "apply", code_of_errno(-res.err), 0,
			   "applying step %d (%s %s 0x%llx-0x%llx, %s): %s", res.step,
			   pb_step_kind_name(s->kind), pb_prot_str(s->prot, prot),
			   (unsigned long long)s->addr, (unsigned long long)(s->addr + s->len), s->note,
			   strerror(-res.err));
	} else {
		pb_err_set(err, "apply", code_of_errno(-res.err), 0, "%s: %s", phases[res.phase],
			   strerror(-res.err));
	}
	err->sys_errno = -res.err;
	return res.err < 0 ? res.err : -EIO;
}

/* A stop (or end) that is not the one we wait for, as an error. */
static int unexpected(int status, struct pb_error *err)
{
	if (WIFSTOPPED(status))
		return pb_err_set(err, "launch", PB_ESTUB, 0, "the stub stopped with signal %d after applying the plan",
				  WSTOPSIG(status));
	if (WIFEXITED(status))
		return pb_err_set(err, "launch", PB_ESTUB, 0, "the stub exited with status %d after applying the plan",
				  WEXITSTATUS(status));
	return pb_err_set(err, "launch", PB_ESTUB, 0, "the stub was killed by signal %d after applying the plan",
			  WTERMSIG(status));
}

/* Its socket's EOF: nothing of the stub's is left open for the program. */
static int closed(struct pb_builder *b, struct pb_error *err)
{
	char c;

	if (recv(b->sock, &c, 1, MSG_DONTWAIT) != 0)
		return pb_err_set(err, "launch", PB_ESTUB, 0, "the stub did not close its socket after its result");
	return 0;
}

/*
 * Traced: the stub says the plan is applied (or reports a failure and
 * exits). Then either it leaves through the vDSO and stops at its int3 (a
 * SIGTRAP signal-delivery-stop; its report says so), or it waits for us and
 * PTRACE_INTERRUPT stops it (PTRACE_EVENT_STOP with SIGTRAP); a
 * group-stop's has the stop signal, taken by the wait. Either way finalize
 * goes on (launch/finalize.c). Any other stop or end is a failure.
 */
int pb_stub_await_applied(struct pb_builder *b, struct pb_stub_waiter *w, struct pb_ctx *ctx, struct pb_error *err)
{
	int status, r = pb_stub_read_result(b, w, ctx, err);

	if (r < 0)
		return r;
	if (b->stub_leaves) {
		r = pb_stub_wait(w, -1, PTRACE_CONT, &status, err, "after the plan was applied");
		if (r < 0)
			return r;
		if (!WIFSTOPPED(status) || status >> 16 || WSTOPSIG(status) != SIGTRAP)
			return unexpected(status, err);
		return closed(b, err);
	}
	r = pb_stub_wait(w, b->sock, PTRACE_CONT, &status, err, "for it to close its socket");
	if (r < 0)
		return r;
	if (r == 0)
		return unexpected(status, err);
	r = closed(b, err);
	if (r < 0)
		return r;
	if (ptrace(PTRACE_INTERRUPT, b->pid, 0, 0) < 0)
		return pb_err_sys(err, "launch", -errno, "stopping the stub (PTRACE_INTERRUPT)");
	w->want_trap = true;
	r = pb_stub_wait(w, -1, PTRACE_CONT, &status, err, "after the plan was applied");
	w->want_trap = false;
	if (r < 0)
		return r;
	if (WIFSTOPPED(status) && status >> 16 == PTRACE_EVENT_STOP)
		return 0;
	return unexpected(status, err);
}
