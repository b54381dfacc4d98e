/* SPDX-License-Identifier: MIT */
#include <stdlib.h> /* libbsd overlay: reallocarray */
#include <string.h> /* libbsd overlay: strlcpy */
#include <string.h>
#include <sys/mman.h>

#include "core/json.h"
#include "core/plan.h"
#include "core/util.h"

static const char *const kind_names[_PB_STEP_MAX] = {
	[PB_STEP_RESERVE] = "reserve",
	[PB_STEP_RELEASE] = "release",
	[PB_STEP_MAP_FILE] = "map-file",
	[PB_STEP_MAP_ANON] = "map-anon",
	[PB_STEP_ZERO] = "zero",
	[PB_STEP_WRITE] = "write",
	[PB_STEP_PROTECT] = "protect",
	[PB_STEP_UNMAP] = "unmap",
	[PB_STEP_GROW] = "grow",
	[PB_STEP_MOVE] = "move",
};

void pb_plan_init(struct pb_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
}

void pb_plan_clear(struct pb_plan *plan)
{
	free(plan->steps);
	free(plan->data);
	pb_plan_init(plan);
}

int pb_plan_add(struct pb_plan *plan, const struct pb_step *step)
{
	if (plan->nsteps == plan->cap) {
		size_t cap = plan->cap ? plan->cap * 2 : 16;
		struct pb_step *s = reallocarray(plan->steps, cap, sizeof(*s));
		if (!s)
			return -ENOMEM;
		plan->steps = s;
		plan->cap = cap;
	}
	plan->steps[plan->nsteps] = *step;
	return (int)plan->nsteps++;
}

int pb_plan_file(struct pb_plan *plan, int fd, const char *name)
{
	if (fd < 0)
		return -EINVAL;
	for (size_t i = 0; i < plan->nfiles; i++)
		if (plan->files[i].fd == fd)
			return (int)i;
	if (plan->nfiles == PB_ARRAY_SIZE(plan->files))
		return -E2BIG;
	plan->files[plan->nfiles].fd = fd;
	strlcpy(plan->files[plan->nfiles].name, name, sizeof(plan->files[0].name));
	return (int)plan->nfiles++;
}

int pb_plan_data(struct pb_plan *plan, const void *bytes, size_t len, uint64_t *ret_off)
{
	if (plan->data_len + len > plan->data_cap) {
		size_t cap = plan->data_cap ? plan->data_cap : 4096;
		while (cap < plan->data_len + len)
			cap *= 2;
		uint8_t *d = realloc(plan->data, cap);
		if (!d)
			return -ENOMEM;
		plan->data = d;
		plan->data_cap = cap;
	}
	memcpy(plan->data + plan->data_len, bytes, len);
	*ret_off = plan->data_len;
	plan->data_len += len;
	return 0;
}

const char *pb_step_kind_name(enum pb_step_kind kind)
{
	if ((unsigned)kind >= _PB_STEP_MAX)
		return "unknown";
	return kind_names[kind];
}

const char *pb_prot_str(int prot, char buf[4])
{
	buf[0] = prot & PROT_READ ? 'r' : '-';
	buf[1] = prot & PROT_WRITE ? 'w' : '-';
	buf[2] = prot & PROT_EXEC ? 'x' : '-';
	buf[3] = 0;
	return buf;
}

static const char *file_name(const struct pb_plan *plan, int file)
{
	if (file < 0 || (size_t)file >= plan->nfiles)
		return "?";
	return plan->files[file].name;
}

void pb_plan_print_text(const struct pb_plan *plan, FILE *f)
{
	char prot[4];

	fprintf(f, "plan: %zu steps, %zu files, %zu bytes of data\n",
		plan->nsteps, plan->nfiles, plan->data_len);
	for (size_t i = 0; i < plan->nsteps; i++) {
		const struct pb_step *s = &plan->steps[i];
		fprintf(f, "  %3zu %-8s %-9s 0x%012llx-0x%012llx %s", i, s->stage ? s->stage : "-",
			pb_step_kind_name(s->kind), (unsigned long long)s->addr,
			(unsigned long long)(s->addr + s->len), pb_prot_str(s->prot, prot));
		if (s->kind == PB_STEP_MAP_FILE)
			fprintf(f, " %s+0x%llx", file_name(plan, s->file), (unsigned long long)s->off);
		if (s->kind == PB_STEP_WRITE)
			fprintf(f, " data+0x%llx", (unsigned long long)s->off);
		if (s->kind == PB_STEP_MOVE)
			fprintf(f, " from 0x%012llx", (unsigned long long)s->off);
		if (s->flags & PB_STEP_GROWSDOWN)
			fputs(" growsdown", f);
		if (s->flags & PB_STEP_KEEP)
			fputs(" keep", f);
		fprintf(f, "  %s\n", s->note);
	}
	fprintf(f, "registers: rip=0x%llx rsp=0x%llx (all others zero)\n",
		(unsigned long long)plan->rip, (unsigned long long)plan->rsp);
}

void pb_step_print_json(const struct pb_plan *plan, const struct pb_step *s, FILE *f)
{
	char prot[4];

	fputs("{\"stage\":", f);
	pb_json_str(f, s->stage);
	fprintf(f, ",\"op\":\"%s\",\"addr\":%llu,\"len\":%llu,\"prot\":\"%s\"",
		pb_step_kind_name(s->kind), (unsigned long long)s->addr,
		(unsigned long long)s->len, pb_prot_str(s->prot, prot));
	if (s->kind == PB_STEP_MAP_FILE) {
		fputs(",\"file\":", f);
		pb_json_str(f, file_name(plan, s->file));
	}
	if (s->kind == PB_STEP_MAP_FILE || s->kind == PB_STEP_WRITE)
		fprintf(f, ",\"offset\":%llu", (unsigned long long)s->off);
	if (s->kind == PB_STEP_MOVE)
		fprintf(f, ",\"from\":%llu", (unsigned long long)s->off);
	fprintf(f, ",\"growsdown\":%s,\"keep\":%s,\"note\":",
		s->flags & PB_STEP_GROWSDOWN ? "true" : "false",
		s->flags & PB_STEP_KEEP ? "true" : "false");
	pb_json_str(f, s->note);
	fputc('}', f);
}

void pb_plan_print_json(const struct pb_plan *plan, FILE *f)
{
	fputs("{\"files\":[", f);
	for (size_t i = 0; i < plan->nfiles; i++) {
		fputs(i ? "," : "", f);
		pb_json_str(f, plan->files[i].name);
	}
	fputs("],\"steps\":[", f);
	for (size_t i = 0; i < plan->nsteps; i++) {
		fputs(i ? "," : "", f);
		pb_step_print_json(plan, &plan->steps[i], f);
	}
	fprintf(f, "],\"data_len\":%zu,\"rip\":%llu,\"rsp\":%llu}", plan->data_len,
		(unsigned long long)plan->rip, (unsigned long long)plan->rsp);
}
