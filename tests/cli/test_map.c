/* SPDX-License-Identifier: MIT */
/*
 * `procbuilder plan --map`: the planned address space as a table and as SVG,
 * checked against the plan's own steps and against what a program built with
 * the same seed really has at its entry. Tests run from the source root.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/proc.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H_STATIC "build/tests/helpers/pbhelper-static"
#define H_STATIC_PIE "build/tests/helpers/pbhelper-static-pie"
#define H_DYNAMIC "build/tests/helpers/pbhelper-dynamic"

extern char **environ;

/* One row of the --map table, or one line of /proc/PID/maps. */
struct row {
	unsigned long long lo, hi, off;
	char perm[5], kind[8], stage[16], object[64], note[64];
};

struct rows {
	struct row r[64];
	unsigned n;
};

/* One step of plan's text list. */
struct step {
	unsigned long long lo, hi;
	char stage[16], op[16], prot[4];
};

/* `plan --seed 7 [opt1] [opt2] prog`, which must succeed. */
static struct run_result pb_plan(char *opt1, char *opt2, char *prog)
{
	char *argv[8] = {PB, "plan", "--seed", "7"};
	struct run_result r;
	int n = 4;

	if (opt1)
		argv[n++] = opt1;
	if (opt2)
		argv[n++] = opt2;
	argv[n++] = prog;
	argv[n] = NULL;
	cr_assert_eq(run_cmd(argv, NULL, &r), 0);
	cr_assert_eq(r.exit_code, 0, "plan %s %s %s: %s", opt1 ? opt1 : "", opt2 ? opt2 : "", prog, r.err);
	return r;
}

/* The rows of `plan --seed 7 --map [opt] prog`; the '#' header first. */
static void planned_map(char *opt, char *prog, struct rows *ret)
{
	struct run_result r = pb_plan("--map", opt, prog);
	char *save = NULL;

	cr_assert(r.out[0] == '#', "a header first: %s", r.out);
	ret->n = 0;
	for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct row *w = &ret->r[ret->n];
		if (line[0] == '#')
			continue;
		cr_assert_lt(ret->n, 64);
		memset(w, 0, sizeof(*w));
		cr_assert_eq(sscanf(line, "%llx-%llx %4s %*s %*s %7s %15s %63s %63[^\n]", &w->lo, &w->hi, w->perm,
				    w->kind, w->stage, w->object, w->note), 7, "row: '%s'", line);
		if (strchr(w->object, '+'))
			w->off = strtoull(strchr(w->object, '+') + 1, NULL, 16);
		ret->n++;
	}
	run_result_free(&r);
}

/* The steps of `plan --seed 7 prog`, up to 64. */
static unsigned planned_steps(char *prog, struct step *s)
{
	struct run_result r = pb_plan(NULL, NULL, prog);
	char *save = NULL;
	unsigned n = 0;

	for (char *line = strtok_r(r.out, "\n", &save); line && n < 64; line = strtok_r(NULL, "\n", &save))
		if (sscanf(line, " %*u %15s %15s 0x%llx-0x%llx %3s", s[n].stage, s[n].op, &s[n].lo, &s[n].hi,
			   s[n].prot) == 5)
			n++;
	run_result_free(&r);
	cr_assert_gt(n, 0, "no steps in plan's list");
	return n;
}

static const struct row *find_object(const struct rows *m, const char *object)
{
	for (unsigned i = 0; i < m->n; i++)
		if (strcmp(m->r[i].object, object) == 0)
			return &m->r[i];
	return NULL;
}

/* Sorted, not overlapping, with the kernel's [stack] and [vdso] and no placeholder left over. */
static void assert_well_formed(const struct rows *m)
{
	cr_assert_gt(m->n, 3);
	for (unsigned i = 0; i < m->n; i++) {
		cr_assert_lt(m->r[i].lo, m->r[i].hi, "row %u empty", i);
		cr_assert(i == 0 || m->r[i - 1].hi <= m->r[i].lo, "rows %u and %u overlap or are unsorted", i - 1, i);
		cr_assert(strcmp(m->r[i].kind, "reserve") && strcmp(m->r[i].kind, "kept"),
			  "a reservation is left: %llx-%llx %s", m->r[i].lo, m->r[i].hi, m->r[i].note);
	}
	cr_assert_not_null(find_object(m, "[stack]"));
	cr_assert_not_null(find_object(m, "[vdso]"));
}

/*
 * Every map-file step is a row with its range and prot (the helpers' segments do
 * not overlap), and no row meets a range a release step freed.
 */
static void assert_follows_steps(const struct rows *m, const struct step *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		bool found = false;
		for (unsigned k = 0; k < m->n; k++) {
			if (strcmp(s[i].op, "release") == 0)
				cr_assert(m->r[k].hi <= s[i].lo || m->r[k].lo >= s[i].hi,
					  "row %llx-%llx is in released %llx-%llx", m->r[k].lo, m->r[k].hi, s[i].lo,
					  s[i].hi);
			found |= m->r[k].lo == s[i].lo && m->r[k].hi == s[i].hi &&
				 strncmp(m->r[k].perm, s[i].prot, 3) == 0 && strcmp(m->r[k].stage, s[i].stage) == 0;
		}
		if (strcmp(s[i].op, "map-file") == 0)
			cr_assert(found, "step %u (%llx-%llx %s) has no row", i, s[i].lo, s[i].hi, s[i].prot);
	}
}

static void assert_plan_map(char *prog, bool has_interp)
{
	struct rows *m = malloc(sizeof(*m));
	struct step *s = malloc(64 * sizeof(*s));
	unsigned n;

	planned_map(NULL, prog, m);
	n = planned_steps(prog, s);
	assert_well_formed(m);
	assert_follows_steps(m, s, n);
	cr_assert_not_null(find_object(m, "program+0x0"));
	cr_assert_eq(find_object(m, "interpreter+0x0") != NULL, has_interp);
	free(s);
	free(m);
}

Test(plan_map, static_program)
{
	assert_plan_map(H_STATIC, false);
}

Test(plan_map, static_pie_program)
{
	assert_plan_map(H_STATIC_PIE, false);
}

Test(plan_map, dynamic_program)
{
	assert_plan_map(H_DYNAMIC, true);
}

/* A kept reservation stays, shown as such; the default one is released and gone. */
Test(plan_map, a_kept_reservation_is_a_kept_row)
{
	struct rows *m = malloc(sizeof(*m));
	bool kept = false;

	planned_map("--keep-reservation", H_DYNAMIC, m);
	for (unsigned i = 0; i < m->n; i++)
		kept |= strcmp(m->r[i].kind, "kept") == 0 && m->r[i].lo == 0x1000 && m->r[i].hi == 0x400000000000ull &&
			strcmp(m->r[i].perm, "---p") == 0 && strcmp(m->r[i].stage, "reserve") == 0;
	cr_assert(kept, "no kept row for the low half");
	free(m);
}

/* /proc/pid/maps, less [vsyscall] (not part of the mm); object is the path or name. */
static void read_maps(int pid, struct rows *ret)
{
	char path[64], *text, *save = NULL;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	text = slurp(path);
	cr_assert_not_null(text, "%s", path);
	ret->n = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct row *w = &ret->r[ret->n];
		memset(w, 0, sizeof(*w));
		cr_assert_geq(sscanf(line, "%llx-%llx %4s %llx %*s %*s %63s", &w->lo, &w->hi, w->perm, &w->off,
				     w->object), 4, "%s", line);
		if (strcmp(w->object, "[vsyscall]") == 0)
			continue;
		cr_assert_lt(++ret->n, 64);
	}
	free(text);
}

/* `run --stopped --seed 7 prog`: the maps of the program stopped at its entry, then it is killed. */
static void real_maps(char *prog, struct rows *ret)
{
	char *argv[] = {PB, "run", "--stopped", "--seed", "7", prog, NULL};
	char err[512];
	int status, pid_prog;
	pid_t pid = start_held(argv, environ, &pid_prog, err, sizeof(err));

	cr_assert(pid > 0 && pid_prog > 0, "%s", err);
	read_maps(pid_prog, ret);
	kill(pid_prog, SIGKILL);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
}

/* The lowest row of a group: notes "program ..." / "interpreter ...", or the real file. */
static const struct row *lowest_planned(const struct rows *m, const char *group)
{
	for (unsigned i = 0; i < m->n; i++)
		if (strncmp(m->r[i].note, group, strlen(group)) == 0 && m->r[i].note[strlen(group)] == ' ')
			return &m->r[i];
	return NULL;
}

static const struct row *lowest_real_file(const struct rows *m, const char *path, bool want)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->r[i].object[0] == '/' && (strcmp(m->r[i].object, path) == 0) == want)
			return &m->r[i];
	return NULL;
}

/*
 * The real row where planned row w is, with the groups' bases plan_base and
 * real_base: same size, same perms, same offset for a file; NULL if none.
 */
static const struct row *real_row(const struct rows *real, const struct row *w, unsigned long long plan_base,
				  unsigned long long real_base)
{
	unsigned long long lo = w->lo - plan_base + real_base;

	for (unsigned i = 0; i < real->n; i++) {
		const struct row *r = &real->r[i];
		if (r->lo == lo && r->hi - r->lo == w->hi - w->lo && strcmp(r->perm, w->perm) == 0 &&
		    (strcmp(w->kind, "file") || r->off == w->off))
			return r;
	}
	return NULL;
}

/* Where each planned row's group starts, in the plan and in the real process. */
static void group_bases(const struct rows *plan, const struct rows *real, const struct row *w, const char *path,
			unsigned long long *plan_base, unsigned long long *real_base)
{
	const struct row *p = NULL, *r = NULL;

	if (strncmp(w->note, "program ", 8) == 0) {
		p = lowest_planned(plan, "program");
		r = lowest_real_file(real, path, true);
	} else if (strncmp(w->note, "interpreter ", 12) == 0) {
		p = lowest_planned(plan, "interpreter");
		r = lowest_real_file(real, path, false);
	} else { /* the kernel's and the stack: by name */
		p = w;
		r = find_object(real, w->object);
	}
	cr_assert(p && r, "no real mapping for %llx-%llx %s", w->lo, w->hi, w->note);
	*plan_base = p->lo;
	*real_base = r->lo;
}

/*
 * Every planned row is in the real maps, at the same place relative to its
 * object (the seed does not make the two runs draw the same addresses: the
 * real stub's mmap area is the kernel's), with the same size, perms and file
 * offset; and the real maps have nothing else. absolute: the same addresses too.
 */
static void assert_same_as_real(char *prog, bool absolute)
{
	struct rows *plan = malloc(sizeof(*plan)), *real = malloc(sizeof(*real));
	char *path = realpath(prog, NULL);

	planned_map(NULL, prog, plan);
	real_maps(prog, real);
	cr_assert_eq(plan->n, real->n, "%u planned regions, %u real", plan->n, real->n);
	for (unsigned i = 0; i < plan->n; i++) {
		const struct row *w = &plan->r[i];
		unsigned long long plan_base, real_base;
		group_bases(plan, real, w, path, &plan_base, &real_base);
		cr_assert_not_null(real_row(real, w, plan_base, real_base), "planned %llx-%llx %s %s (%s) not in the real maps",
				   w->lo, w->hi, w->perm, w->object, w->note);
		if (absolute && strcmp(w->kind, "file") == 0)
			cr_assert_eq(plan_base, real_base, "%s", w->note);
	}
	free(path);
	free(real);
	free(plan);
}

Test(plan_map, static_program_as_it_really_starts, .timeout = 30)
{
	assert_same_as_real(H_STATIC, true);
}

Test(plan_map, static_pie_program_as_it_really_starts, .timeout = 30)
{
	assert_same_as_real(H_STATIC_PIE, false);
}

Test(plan_map, dynamic_program_as_it_really_starts, .timeout = 30)
{
	assert_same_as_real(H_DYNAMIC, false);
}

/* The --map text's rows, as printed (the header dropped). */
static char *text_rows(char *opt, char *prog)
{
	struct run_result r = pb_plan("--map", opt, prog);
	char *rows = strdup(strchr(r.out, '\n') + 1);

	run_result_free(&r);
	return rows;
}

/*
 * python3's XML parser (from the system python) reads the SVG: it must be
 * well formed, its boxes one below the other inside the drawing; it prints the
 * <title> of every <rect> in document order.
 */
static struct run_result parse_svg(const char *svg)
{
	static const char script[] =
		"import sys, xml.etree.ElementTree as ET\n"
		"ns = '{http://www.w3.org/2000/svg}'\n"
		"root = ET.parse(sys.argv[1]).getroot()\n"
		"assert root.tag == ns + 'svg', root.tag\n"
		"bottom = 0\n"
		"for rect in root.iter(ns + 'rect'):\n"
		"    y, h = float(rect.get('y')), float(rect.get('height'))\n"
		"    assert y >= bottom and h > 0, 'boxes overlap'\n"
		"    bottom = y + h\n"
		"    print(rect.find(ns + 'title').text)\n"
		"assert bottom <= float(root.get('height')), 'drawn below the bottom'\n";
	char path[] = "/tmp/pb-map-XXXXXX";
	char *argv[] = {"/usr/bin/python3", "-c", (char *)script, path, NULL};
	struct run_result r;

	cr_assert_eq(temp_file(path, svg, strlen(svg), 0600), 0);
	cr_assert_eq(run_cmd(argv, NULL, &r), 0);
	unlink(path);
	return r;
}

/* One <rect> per row of the text map, its <title> that row, highest address first. */
static void assert_svg_matches_text(char *opt, char *prog)
{
	struct run_result svg, titles;
	char *rows, *want, *save = NULL;
	char *lines[64];
	unsigned n = 0;

	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("no /usr/bin/python3 to parse the SVG");
	svg = pb_plan("--map=svg", opt, prog);
	rows = text_rows(opt, prog);
	want = calloc(1, strlen(rows) + 1);
	cr_assert(strncmp(svg.out, "<?xml", 5) == 0, "%s", svg.out);
	titles = parse_svg(svg.out);
	cr_assert_eq(titles.exit_code, 0, "not well-formed: %s", titles.err);
	for (char *line = strtok_r(rows, "\n", &save); line && n < 64; line = strtok_r(NULL, "\n", &save))
		lines[n++] = line;
	while (n-- > 0) {
		strcat(want, lines[n]);
		strcat(want, "\n");
	}
	cr_assert_str_eq(titles.out, want);
	free(want);
	free(rows);
	run_result_free(&titles);
	run_result_free(&svg);
}

Test(plan_map, svg_of_a_static_program, .timeout = 30)
{
	assert_svg_matches_text(NULL, H_STATIC);
}

Test(plan_map, svg_of_a_dynamic_program_with_a_kept_reservation, .timeout = 30)
{
	assert_svg_matches_text("--keep-reservation", H_DYNAMIC);
}

Test(plan_map, usage_errors)
{
	char *cases[][6] = {
		{PB, "plan", "--map=png", H_STATIC, NULL},
		{PB, "plan", "--map", "--json", H_STATIC, NULL},
		{PB, "run", "--map", H_STATIC, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run_result r;
		cr_assert_eq(run_cmd(cases[i], NULL, &r), 0);
		cr_assert_eq(r.exit_code, 2, "%s %s: %d %s", cases[i][1], cases[i][2], r.exit_code, r.err);
		cr_assert_eq(r.out_len, 0, "%s", r.out);
		run_result_free(&r);
	}
}

Test(plan_map, help_tells_the_columns)
{
	char *argv[] = {PB, "plan", "--help", NULL};
	struct run_result r;

	cr_assert_eq(run_cmd(argv, NULL, &r), 0);
	cr_assert(strstr(r.out, "--map[=text|svg]"), "%s", r.out);
	cr_assert(strstr(r.out, "START-END PERM SIZE KIND STAGE OBJECT NOTE"), "%s", r.out);
	run_result_free(&r);
}
