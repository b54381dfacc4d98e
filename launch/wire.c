/* SPDX-License-Identifier: MIT */
/*
 * DOC: the plan as the stub reads it. One memfd holds the steps, their
 * data, (in place) a note per step for error messages, and the namespace
 * ops; the header says where each is and carries the mm fields, the name
 * and the signal mask. Spawned, the header travels as the message with the
 * fds; in place it sits at offset 0 of the memfd.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/error.h"
#include "launch/launch.h"

_Static_assert(sizeof(struct pb_wire_mm) == 104, "struct prctl_mm_map is 104 bytes");
_Static_assert((int)PB_WIRE_GROW == (int)PB_STEP_GROW && (int)PB_WIRE_WRITE == (int)PB_STEP_WRITE,
	       "wire kinds follow enum pb_step_kind");
_Static_assert(PB_WIRE_GROWSDOWN == PB_STEP_GROWSDOWN && PB_WIRE_FROM_SP0 == PB_STEP_FROM_SP0,
	       "wire flags follow plan flags");

static int write_steps(int fd, const struct pb_plan *plan)
{
	struct pb_wire_step *w = calloc(plan->nsteps + 1, sizeof(*w));
	int r;

	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < plan->nsteps; i++) {
		const struct pb_step *s = &plan->steps[i];
		w[i] = (struct pb_wire_step){s->kind, s->flags, s->prot, s->file, s->addr, s->len, s->off};
	}
	r = pb_write_full(fd, w, plan->nsteps * sizeof(*w));
	free(w);
	return r;
}

/* "stage: applying step N (kind prot, note)", one PB_NOTE_LEN record a step. */
static int write_notes(int fd, const struct pb_plan *plan)
{
	char (*notes)[PB_NOTE_LEN] = calloc(plan->nsteps + 1, PB_NOTE_LEN), prot[4];
	int r;

	if (!notes)
		return -ENOMEM;
	for (size_t i = 0; i < plan->nsteps; i++) {
		const struct pb_step *s = &plan->steps[i];
		snprintf(notes[i], PB_NOTE_LEN, "%s: applying step %zu (%s %s, %s)", s->stage ? s->stage : "apply", i,
			 pb_step_kind_name(s->kind), pb_prot_str(s->prot, prot), s->note);
	}
	r = pb_write_full(fd, notes, plan->nsteps * PB_NOTE_LEN);
	free(notes);
	return r;
}

/* "namespace: mounting PATH from SRC", one PB_NOTE_LEN record an op, at the end of the memfd. */
static int write_ns_notes(struct pb_builder *b, int fd, struct pb_plan_hdr *hdr, struct pb_error *err)
{
	char (*notes)[PB_NOTE_LEN] = calloc(b->nns_ops, PB_NOTE_LEN);
	off_t at = lseek(fd, 0, SEEK_END);
	int r;

	if (!notes || at < 0) {
		free(notes);
		return pb_err_sys(err, "launch", -ENOMEM, "writing the namespace notes");
	}
	for (size_t i = 0; i < b->nns_ops; i++) {
		static const char prefix[] = "namespace: ";
		memcpy(notes[i], prefix, sizeof(prefix) - 1);
		pb_ns_op_describe(&b->ns_ops[i], notes[i] + sizeof(prefix) - 1, PB_NOTE_LEN - (sizeof(prefix) - 1));
	}
	hdr->in.ns_notes_off = (uint64_t)at;
	r = pb_write_full(fd, notes, b->nns_ops * PB_NOTE_LEN);
	free(notes);
	return r < 0 ? pb_err_sys(err, "launch", r, "writing the namespace notes") : 0;
}

int pb_wire_plan(struct pb_builder *b, struct pb_ctx *ctx, struct pb_plan_hdr *hdr, bool in_place,
		 struct pb_error *err)
{
	const struct pb_plan *plan = &ctx->plan;
	uint64_t at = in_place ? sizeof(*hdr) : 0;
	int fd = memfd_create("pb-plan", MFD_CLOEXEC), r;
	const char *base;

	if (fd < 0)
		return pb_err_sys(err, "launch", -errno, "memfd_create");
	if ((r = pb_attrs_plan_fds(b, ctx, err)) < 0) {
		close(fd);
		return r;
	}
	if (plan->nfiles > PB_PLAN_MAX_FILES) {
		close(fd);
		return pb_err_set(err, "launch", PB_EINVAL, 0, "too many files in the plan");
	}
	hdr->magic = PB_PROTO_MAGIC;
	hdr->nsteps = (uint32_t)plan->nsteps;
	hdr->steps_off = at;
	hdr->data_off = at + plan->nsteps * sizeof(struct pb_wire_step);
	r = lseek(fd, (off_t)at, SEEK_SET) < 0 ? -errno : write_steps(fd, plan);
	if (r == 0)
		r = pb_write_full(fd, plan->data, plan->data_len);
	if (r == 0 && in_place) {
		hdr->in.notes_off = hdr->data_off + plan->data_len;
		r = write_notes(fd, plan);
	}
	if (r < 0) {
		close(fd);
		return pb_err_sys(err, "launch", r, "writing the plan");
	}
	r = pb_ns_write(b, fd, hdr, err);
	if (r == 0 && in_place && b->nns_ops)
		r = write_ns_notes(b, fd, hdr, err);
	if (r == 0)
		r = pb_seccomp_write(b, fd, err);
	if (r < 0) {
		close(fd);
		return r;
	}
	hdr->nfiles = (uint32_t)plan->nfiles;
	memcpy(&hdr->mm, &ctx->mm, offsetof(struct pb_wire_mm, auxv)); /* start_code .. env_end */
	hdr->mm.auxv = ctx->mm.auxv;
	hdr->mm.auxv_size = (uint32_t)ctx->mm.auxv_size;
	hdr->mm.exe_fd = (uint32_t)-1;
	memcpy(&hdr->sigmask, &b->sigmask, sizeof(hdr->sigmask));
	hdr->pdeathsig = b->pdeathsig;
	hdr->attrs = b->attrs; /* (cwd_file and fg_file set by pb_attrs_plan_fds) */
	hdr->ppid = b->in_place ? getppid() : getpid();
	base = strrchr(ctx->comm, '/');
	snprintf(hdr->comm, sizeof(hdr->comm), "%s", base ? base + 1 : ctx->comm);
	return fd;
}

/* Above every startup fd's number: where the stub parks what it receives. */
int pb_wire_fd_high(const struct pb_builder *b)
{
	int high = 3;

	for (size_t i = 0; i < b->nfds; i++)
		if (b->fds[i].target >= high)
			high = b->fds[i].target + 1;
	return high;
}
