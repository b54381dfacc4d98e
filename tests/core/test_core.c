/* SPDX-License-Identifier: MIT */
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "core/ctx.h"
#include "core/plan.h"

Test(error, codes_map_to_errno)
{
	struct pb_error e = {0};
	static const struct { enum pb_code code; int neg; } map[] = {
		{PB_OK, 0}, {PB_EPARSE, -ENOEXEC}, {PB_ELOAD, -EINVAL}, {PB_EINVAL, -EINVAL},
		{PB_EBADF, -EBADF}, {PB_ELOADER_MISSING, -EINVAL}, {PB_E2BIG, -E2BIG},
		{PB_ENOMEM, -ENOMEM}, {PB_EINTERP, -ELIBBAD}, {PB_EACCES, -EACCES},
		{PB_ESTUB, -ECHILD},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		e.code = map[i].code;
		cr_assert_eq(pb_error_errno(&e), map[i].neg, "code %d", map[i].code);
		cr_assert_str_neq(pb_strerror(map[i].code), "unknown error");
	}
	e.code = (enum pb_code)999;
	cr_assert_str_eq(pb_strerror(e.code), "unknown error");
}

Test(error, sys_error_keeps_errno_and_stage)
{
	struct pb_error e = {0};

	cr_assert_eq(pb_err_sys(&e, "load", -EPERM, "mmap at %#x", 0x1000), -EPERM);
	cr_assert_eq(e.code, PB_ESYS);
	cr_assert_eq(e.sys_errno, EPERM);
	cr_assert_eq(pb_error_errno(&e), -EPERM);
	cr_assert_str_eq(e.stage, "load");
	cr_assert(strstr(e.msg, "mmap at 0x1000") && strstr(e.msg, strerror(EPERM)), "%s", e.msg);
}

Test(error, stage_is_set_once)
{
	struct pb_error e = {0};

	pb_err_stage(&e, "interp");
	pb_err_stage(&e, "runner");
	cr_assert_str_eq(e.stage, "interp");
	pb_err_clear(&e);
	cr_assert_eq(e.stage[0], 0);
}

Test(error, detail_names_are_distinct)
{
	for (int i = 1; i < _PB_PARSE_MAX; i++)
		for (int j = i + 1; j < _PB_PARSE_MAX; j++)
			cr_assert_str_neq(pb_parse_detail_name(i), pb_parse_detail_name(j));
	cr_assert_str_eq(pb_parse_detail_name(-1), "unknown");
}

Test(ctx, fail_names_running_stage)
{
	struct pb_ctx ctx;

	pb_ctx_init(&ctx);
	ctx.stage = "stack";
	cr_assert_eq(pb_fail(&ctx, PB_E2BIG, "argv is %d bytes", 5), -E2BIG);
	cr_assert_str_eq(ctx.err.stage, "stack");
	cr_assert_str_eq(ctx.err.msg, "argv is 5 bytes");
	pb_ctx_clear(&ctx);
}

Test(ctx, options_by_type)
{
	struct pb_opt v[] = {
		{.key = "strict", .type = PB_OPT_BOOL, .b = false},
		{.key = "seed", .type = PB_OPT_INT, .i = 7},
		{.key = "policy", .type = PB_OPT_STR, .s = "none"},
	};
	struct pb_stage_opts o = {.sz = sizeof(o), .v = v, .n = 3};

	cr_assert_eq(pb_opt_bool(&o, "strict", true), false);
	cr_assert_eq(pb_opt_int(&o, "seed", 0), 7);
	cr_assert_str_eq(pb_opt_str(&o, "policy", "system"), "none");
	cr_assert_eq(pb_opt_int(&o, "policy", 3), 3, "wrong type gives the default");
	cr_assert_eq(pb_opt_bool(NULL, "x", true), true);
}

static char *plan_text(const struct pb_plan *plan, bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (json)
		pb_plan_print_json(plan, f);
	else
		pb_plan_print_text(plan, f);
	fclose(f);
	return buf;
}

Test(plan, append_print_text_and_json)
{
	struct pb_plan plan;
	struct pb_step s = {.kind = PB_STEP_MAP_FILE, .prot = PROT_READ | PROT_EXEC,
			    .addr = 0x400000, .len = 0x1000, .off = 0, .stage = "load",
			    .note = "exec PT_LOAD[0]"};
	uint64_t off;
	char *t;

	pb_plan_init(&plan);
	cr_assert_eq(pb_plan_file(&plan, 5, "exec"), 0);
	cr_assert_eq(pb_plan_file(&plan, 5, "exec"), 0, "same fd, same index");
	cr_assert_eq(pb_plan_file(&plan, -1, "x"), -EINVAL);
	s.file = 0;
	for (int i = 0; i < 40; i++)
		cr_assert_eq(pb_plan_add(&plan, &s), i);
	cr_assert_eq(pb_plan_data(&plan, "abc", 3, &off), 0);
	cr_assert_eq(off, 0);
	cr_assert_eq(pb_plan_data(&plan, "defg", 4, &off), 0);
	cr_assert_eq(off, 3);
	cr_assert_eq(memcmp(plan.data, "abcdefg", 7), 0);
	plan.rip = 0x400800;

	t = plan_text(&plan, false);
	cr_assert(strstr(t, "plan: 40 steps, 1 files, 7 bytes of data"), "%s", t);
	cr_assert(strstr(t, "map-file") && strstr(t, "r-x exec+0") && strstr(t, "exec PT_LOAD[0]"), "%s", t);
	cr_assert(strstr(t, "rip=0x400800"), "%s", t);
	free(t);
	t = plan_text(&plan, true);
	cr_assert(strstr(t, "{\"stage\":\"load\",\"op\":\"map-file\",\"addr\":4194304,\"len\":4096,"
			    "\"prot\":\"r-x\",\"file\":\"exec\",\"offset\":0"), "%s", t);
	cr_assert(strstr(t, "\"rip\":4196352"), "%s", t);
	free(t);
	pb_plan_clear(&plan);
	cr_assert_eq(plan.nsteps, 0);
}

Test(plan, files_are_bounded)
{
	struct pb_plan plan;

	pb_plan_init(&plan);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(pb_plan_file(&plan, 10 + i, "f"), i);
	cr_assert_eq(pb_plan_file(&plan, 99, "f"), -E2BIG);
	pb_plan_clear(&plan);
}

Test(plan, json_escapes_notes)
{
	struct pb_plan plan;
	struct pb_step s = {.kind = PB_STEP_WRITE, .stage = "args", .note = "a\"b\\c\n"};
	char *t;

	pb_plan_init(&plan);
	pb_plan_add(&plan, &s);
	t = plan_text(&plan, true);
	cr_assert(strstr(t, "\"note\":\"a\\\"b\\\\c\\n\""), "%s", t);
	free(t);
	pb_plan_clear(&plan);
}

/* The legacy layout's search: the lowest free, aligned place from the floor up. */
Test(aspace, bottomup_takes_the_lowest_gap_that_fits)
{
	struct pb_aspace as;

	pb_aspace_init(&as);
	cr_assert_eq(pb_aspace_take(&as, 0x10000, 0x12000, "a"), 0);
	cr_assert_eq(pb_aspace_take(&as, 0x13000, 0x20000, "b"), 0);
	cr_assert_eq(pb_aspace_find_bottomup(&as, 0x1000, 0x1000, 0x10000, 0x100000), 0x12000);
	cr_assert_eq(pb_aspace_find_bottomup(&as, 0x2000, 0x1000, 0x10000, 0x100000), 0x20000);
	cr_assert_eq(pb_aspace_find_bottomup(&as, 0x2000, 0x10000, 0x10000, 0x100000), 0x20000);
	cr_assert_eq(pb_aspace_find_bottomup(&as, 0x1000, 0x1000, 0x8000, 0x100000), 0x8000);
	cr_assert_eq(pb_aspace_find_bottomup(&as, 0x100000, 0x1000, 0x10000, 0x100000), 0, "no room");
}

/* The stub's vDSO run goes beside its image, away from the mmap area; the host follows it. */
Test(host, park_vdso_run_beside_the_stub)
{
	struct pb_host *h = calloc(1, sizeof(*h));
	struct pb_move park[4];

	h->maps[0] = (struct pb_vma){0x7f0000000000 - 0x8000, 0x7f0000000000 - 0x4000, "[vvar]"};
	h->maps[1] = (struct pb_vma){0x7f0000000000 - 0x4000, 0x7f0000000000 - 0x2000, "[vvar_vclock]"};
	h->maps[2] = (struct pb_vma){0x7f0000000000 - 0x2000, 0x7f0000000000, "[vdso]"};
	h->maps[3] = (struct pb_vma){0x7f0000022000, 0x7f0000044000, "/memfd:pb-stub (deleted)"};
	h->nmaps = 4;
	h->stub_lo = 0x7f0000022000;
	h->stub_hi = 0x7f0000044000;
	h->vdso_base = 0x7f0000000000 - 0x2000;
	h->auxv[0][0] = AT_SYSINFO_EHDR;
	h->auxv[0][1] = h->vdso_base;
	h->nauxv = 1;
	cr_assert_eq(pb_host_park_vdso_run(h, park), 3);
	cr_assert_eq(park[0].from, 0x7f0000000000 - 0x8000);
	cr_assert_eq(park[0].to, 0x7f0000044000, "above the stub, top-down");
	cr_assert_eq(park[2].to, 0x7f0000044000 + 0x6000);
	cr_assert_eq(h->vdso_base, 0x7f0000044000 + 0x6000);
	cr_assert_eq(h->auxv[0][1], h->vdso_base);
	cr_assert_str_eq(h->maps[0].name, "/memfd:pb-stub (deleted)", "still sorted");
	free(h);
}

/*
 * /proc/PID/maps text as the stub sends it: names with spaces kept whole,
 * anonymous lines without one, [vsyscall] (not part of the mm) and malformed
 * lines left out, the rest sorted by address; compared with the kernel's own
 * text of this process, parsed the same way.
 */
Test(host, parse_maps_lines)
{
	static const char text[] =
		"7ffff7fc2000-7ffff7fc6000 r--p 00000000 00:00 0                          [vvar]\n"
		"555555554000-555555556000 r--p 00000000 08:01 1234                       /tmp/a b (deleted)\n"
		"555555559000-55555555a000 rw-p 00000000 00:00 0 \n"
		"not a line\n"
		"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
		"7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]";
	struct pb_host *h = calloc(1, sizeof(*h));
	char *self = calloc(1, 1 << 16);
	FILE *f = fopen("/proc/self/maps", "r");
	size_t n;

	cr_assert_eq(pb_host_parse_maps(h, text, sizeof(text) - 1), 4);
	cr_assert_eq(h->maps[0].lo, 0x555555554000ull);
	cr_assert_str_eq(h->maps[0].name, "/tmp/a b (deleted)");
	cr_assert_eq(h->maps[1].hi, 0x55555555a000ull);
	cr_assert_str_eq(h->maps[1].name, "");
	cr_assert_str_eq(h->maps[2].name, "[vvar]");
	cr_assert_eq(h->maps[3].lo, 0x7ffffffde000ull);
	cr_assert_str_eq(h->maps[3].name, "[stack]");
	cr_assert_not_null(f);
	n = fread(self, 1, (1 << 16) - 1, f);
	fclose(f);
	cr_assert_gt(pb_host_parse_maps(h, self, n), 3);
	for (unsigned i = 0; i < h->nmaps; i++) {
		char head[64];
		snprintf(head, sizeof(head), "%llx-%llx ", (unsigned long long)h->maps[i].lo,
			 (unsigned long long)h->maps[i].hi);
		cr_assert_not_null(strstr(self, head), "%s", head);
		cr_assert(i == 0 || h->maps[i - 1].lo < h->maps[i].lo);
	}
	free(self);
	free(h);
}
