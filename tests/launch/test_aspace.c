/* SPDX-License-Identifier: MIT */
/*
 * The address space execve gives (issue 14): the same program, started by
 * plain execve, by 'procbuilder run' (in place) and 'run --spawn', under the
 * kernel's four layouts (default, ulimit -s unlimited, setarch -L, setarch
 * -R), prints its /proc/self/maps in main(), after 10 anonymous mmaps and
 * after a dlopen (tests/helpers/mapsprobe.c): the (permissions, name)
 * sequences must be execve's, and with ASLR off every start address too;
 * VmPeak within 1 MiB of execve's.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/resource.h>

#include "tests/common/run.h"

#define PB "build/procbuilder"
#define PROBE "build/tests/helpers/mapsprobe-"

static char *env[] = {"LANG=C", "PATH=/usr/bin:/bin", NULL};

enum layout { DEFAULT, UNLIMITED, LEGACY, NORANDOM };

/*
 * This test's own process takes the layout (Criterion runs each test in a
 * process of its own): the children it starts inherit the stack limit and
 * the personality, as under ulimit and setarch.
 */
static void take_layout(enum layout layout)
{
	struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};

	if (layout == UNLIMITED)
		cr_assert_eq(setrlimit(RLIMIT_STACK, &unlimited), 0);
	if (layout == LEGACY)
		cr_assert_neq(personality(ADDR_COMPAT_LAYOUT), -1);
	if (layout == NORANDOM)
		cr_assert_neq(personality(ADDR_NO_RANDOMIZE), -1);
}

/* The probe's report without its last line, "VmPeak N" (N into *peak). */
static char *split_peak(char *out, long *peak)
{
	char *line = strstr(out, "VmPeak ");

	cr_assert_not_null(line, "no VmPeak in:\n%s", out);
	*peak = strtol(line + 7, NULL, 10);
	*line = 0;
	return out;
}

static void run_probe(char **argv, struct run_result *r)
{
	cr_assert_eq(run_cmd(argv, env, r), 0);
	cr_assert_eq(r->exit_code, 0, "%s: status %d: %s", argv[0], r->exit_code, r->err);
}

static void assert_like_execve(const char *flavour, enum layout layout)
{
	char probe[128], *addrs = layout == NORANDOM ? "-a" : NULL;
	struct run_result d, b;
	long peak_d, peak_b;

	take_layout(layout);
	snprintf(probe, sizeof(probe), PROBE "%s", flavour);
	run_probe((char *[]){probe, addrs, NULL}, &d);
	split_peak(d.out, &peak_d);
	for (int spawned = 0; spawned < 2; spawned++) {
		const char *how = spawned ? "run --spawn" : "run";
		run_probe((char *[]){PB, "run", spawned ? "--spawn" : "--", probe, addrs, NULL}, &b);
		split_peak(b.out, &peak_b);
		cr_assert_str_eq(b.out, d.out, "%s under %s:\n--- execve\n%s\n--- procbuilder %s\n%s", flavour, how,
				 d.out, how, b.out);
		cr_assert_leq(labs(peak_b - peak_d), 1024, "%s: VmPeak %ld kB under %s, %ld kB under execve", flavour,
			      peak_b, how, peak_d);
		run_result_free(&b);
	}
	run_result_free(&d);
}

#define LAYOUT_TESTS(name, flavour)                                                                   \
	Test(aspace, name##_default) { assert_like_execve(flavour, DEFAULT); }                        \
	Test(aspace, name##_stack_unlimited) { assert_like_execve(flavour, UNLIMITED); }              \
	Test(aspace, name##_legacy_layout) { assert_like_execve(flavour, LEGACY); }                   \
	Test(aspace, name##_aslr_off_same_addresses) { assert_like_execve(flavour, NORANDOM); }

LAYOUT_TESTS(glibc_static, "static")
LAYOUT_TESTS(glibc_static_pie, "static-pie")
LAYOUT_TESTS(musl_static, "musl")
LAYOUT_TESTS(pie_dynamic, "dynamic")
LAYOUT_TESTS(nopie_dynamic, "nopie")

/* The lines of the first snapshot that name the program, its heap or its stack, into out. */
static void seeded_lines(const char *report, char *out, size_t len)
{
	const char *end = strstr(report, "== mmap");
	size_t n = 0;

	for (const char *line = report; line && line < end; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		size_t l = (size_t)(strchrnul(line, '\n') - line);
		if ((memmem(line, l, "mapsprobe-dynamic", 17) || memmem(line, l, "[heap]", 6) ||
		     memmem(line, l, "[stack]", 7)) && n + l + 1 < len) {
			memcpy(out + n, line, l + 1);
			n += l + 1;
		}
	}
	out[n] = 0;
}

/*
 * With --seed what the planner draws is the seed's, as before: the program,
 * its brk and (spawned, planned) its stack; the mmap area starts at the
 * kernel's random mmap_base for the stub.
 */
Test(aspace, seeded_program_and_stack_are_deterministic)
{
	char *argv[] = {PB, "run", "--spawn", "--seed", "7", PROBE "dynamic", "-a", NULL};
	char la[4096], lb[4096];
	struct run_result a, b;

	run_probe(argv, &a);
	run_probe(argv, &b);
	seeded_lines(a.out, la, sizeof(la));
	seeded_lines(b.out, lb, sizeof(lb));
	cr_assert(strstr(la, "[stack]") && strstr(la, "mapsprobe-dynamic"), "%s", a.out);
	cr_assert_str_eq(la, lb);
	run_result_free(&a);
	run_result_free(&b);
}

/*
 * The sanitizers' runtimes find the layout they need: each program prints
 * what it prints when run directly, in place and spawned, with its preset
 * reserved (kept or not) and through the sanitizer pipeline. Skipped where the
 * direct run fails (TSan and MSan re-exec through /proc/self/exe when the
 * layout does not suit them).
 */
static void assert_sanitized_runs(const char *name, const char *preset)
{
	char prog[128];
	struct run_result d, b;
	char *ways[][10] = {
		{PB, "run", "--", prog, NULL},
		{PB, "run", "--spawn", prog, NULL},
		{PB, "run", "--reserve", (char *)preset, prog, NULL},
		{PB, "run", "--spawn", "--reserve", (char *)preset, "--keep-reservation", prog, NULL},
		{PB, "run", "--pipeline", "sanitizer", "--reserve", (char *)preset, prog, NULL},
		{PB, "run", "--spawn", "--pipeline", "sanitizer", "--reserve", (char *)preset, prog, NULL},
	};

	snprintf(prog, sizeof(prog), "build/tests/helpers/sanprog-%s", name);
	cr_assert_eq(run_cmd((char *[]){prog, NULL}, env, &d), 0);
	if (d.exit_code != 0)
		cr_skip_test("%s does not run directly here: %s", name, d.err);
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++) {
		cr_assert_eq(run_cmd(ways[i], env, &b), 0);
		cr_assert_eq(b.exit_code, 0, "%s, way %zu: status %d: %s", name, i, b.exit_code, b.err);
		cr_assert_str_eq(b.out, d.out, "%s, way %zu", name, i);
		run_result_free(&b);
	}
	run_result_free(&d);
}

Test(aspace, asan_gcc) { assert_sanitized_runs("address-gcc", "asan"); }
Test(aspace, asan_clang) { assert_sanitized_runs("address-clang", "asan"); }
Test(aspace, tsan_gcc) { assert_sanitized_runs("thread-gcc", "tsan"); }
Test(aspace, tsan_clang) { assert_sanitized_runs("thread-clang", "tsan"); }
Test(aspace, msan_clang) { assert_sanitized_runs("memory-clang", "msan"); }
