/* SPDX-License-Identifier: MIT */
/* The procbuilder command as a user runs it (tests run from the source root). */
#include <criterion/criterion.h>
#include <string.h>

#include "tests/common/run.h"

#define PB "build/procbuilder"

static struct run_result pb(char *a1, char *a2, char *a3)
{
	char *argv[] = {PB, a1, a2, a3, NULL};
	struct run_result r;

	cr_assert_eq(run_cmd(argv, NULL, &r), 0);
	return r;
}

Test(cli, inspect_bin_ls)
{
	struct run_result r = pb("inspect", "/bin/ls", NULL);

	cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
	cr_assert(strstr(r.out, "ELF64 DYN x86_64"), "%s", r.out);
	cr_assert(strstr(r.out, "interpreter: /lib64/ld-linux-x86-64.so.2"), "%s", r.out);
	cr_assert(strstr(r.out, "LOAD") && strstr(r.out, "GNU_STACK"), "%s", r.out);
	run_result_free(&r);
}

Test(cli, inspect_json)
{
	struct run_result r = pb("inspect", "--json", "/bin/ls");

	cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
	cr_assert(r.out[0] == '{' && strstr(r.out, "}\n"), "%s", r.out);
	cr_assert(strstr(r.out, "\"type\":\"DYN\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"interp\":\"/lib64/ld-linux-x86-64.so.2\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"segments\":[{\"type\":\"PHDR\""), "%s", r.out);
	run_result_free(&r);
}

Test(cli, inspect_static_busybox)
{
	struct run_result r = pb("inspect", "/bin/busybox", NULL);

	cr_assert_eq(r.exit_code, 0, "stderr: %s", r.err);
	cr_assert(strstr(r.out, "interpreter: (none)"), "%s", r.out);
	run_result_free(&r);
}

Test(cli, inspect_not_elf_is_status_2)
{
	struct run_result r = pb("inspect", "/etc/passwd", NULL);

	cr_assert_eq(r.exit_code, 2);
	cr_assert_eq(r.out_len, 0, "nothing on stdout: %s", r.out);
	cr_assert(strncmp(r.err, "procbuilder: parse: /etc/passwd: invalid file header", 52) == 0,
		  "%s", r.err);
	run_result_free(&r);
}

Test(cli, inspect_missing_file)
{
	struct run_result r = pb("inspect", "/nonexistent", NULL);

	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "/nonexistent: No such file or directory"), "%s", r.err);
	run_result_free(&r);
}

Test(cli, inspect_usage_errors)
{
	struct run_result r = pb("inspect", NULL, NULL);

	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "expected one FILE"), "%s", r.err);
	run_result_free(&r);
	r = pb("inspect", "--bogus", "/bin/ls");
	cr_assert_eq(r.exit_code, 2);
	run_result_free(&r);
}

Test(cli, help_everywhere)
{
	struct run_result r = pb("--help", NULL, NULL);

	cr_assert_eq(r.exit_code, 0);
	cr_assert(strstr(r.out, "Usage: procbuilder COMMAND"), "%s", r.out);
	cr_assert(strstr(r.out, "inspect"), "%s", r.out);
	run_result_free(&r);
	r = pb("inspect", "--help", NULL);
	cr_assert_eq(r.exit_code, 0);
	cr_assert(strstr(r.out, "Usage: procbuilder inspect"), "%s", r.out);
	run_result_free(&r);
	r = pb("help", "inspect", NULL);
	cr_assert_eq(r.exit_code, 0);
	cr_assert(strstr(r.out, "Usage: procbuilder inspect"), "%s", r.out);
	run_result_free(&r);
	r = pb("frobnicate", NULL, NULL);
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "unknown command"), "%s", r.err);
	run_result_free(&r);
	r = pb("--version", NULL, NULL);
	cr_assert_eq(r.exit_code, 0);
	cr_assert(strstr(r.out, "procbuilder 0.1.0"), "%s", r.out);
	run_result_free(&r);
}
