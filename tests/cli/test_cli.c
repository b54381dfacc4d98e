/* SPDX-License-Identifier: MIT */
/* The procbuilder command as a user runs it (tests run from the source root). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

Test(cli, inspect_not_elf_is_status_126_as_run_gives)
{
	struct run_result r = pb("inspect", "/etc/passwd", NULL);

	cr_assert_eq(r.exit_code, 126);
	cr_assert_eq(r.out_len, 0, "nothing on stdout: %s", r.out);
	cr_assert(strncmp(r.err, "procbuilder: parse: /etc/passwd: invalid file header", 52) == 0,
		  "%s", r.err);
	run_result_free(&r);
}

Test(cli, inspect_missing_file)
{
	struct run_result r = pb("inspect", "/nonexistent", NULL);

	cr_assert_eq(r.exit_code, 127);
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

/*
 * --fd against the shell. A script runs in sh under umask 002 (0666 & ~umask
 * is 664, told apart from 0644 and from 0666 unmasked) with $D a fresh
 * directory; its output ends with the status of its last command and what
 * became of $D/f: "mode M" and the contents, or "no f".
 */
#define OLD_F "printf 'old contents\\n' >$D/f; "
#define REPORT "; echo \"status $?\"; if [ -e $D/f ]; then stat -c 'mode %a' $D/f; cat $D/f; else echo 'no f'; fi"

static struct run_result run_in_fresh_dir(const char *script)
{
	char dir[] = "/tmp/pb-fd-XXXXXX", denv[32], f[32], full[1024];
	char *env[] = {"PATH=/usr/bin:/bin", denv, NULL};
	struct run_result r;

	cr_assert(mkdtemp(dir));
	snprintf(denv, sizeof(denv), "D=%s", dir);
	snprintf(f, sizeof(f), "%s/f", dir);
	cr_assert_lt(snprintf(full, sizeof(full), "umask 002; %s%s", script, REPORT), (int)sizeof(full));
	cr_assert_eq(run_cmd((char *[]){"/bin/sh", "-c", full, NULL}, env, &r), 0);
	unlink(f);
	cr_assert_eq(rmdir(dir), 0, "nothing but f was made: %s", full);
	return r;
}

struct fd_case {
	const char *setup;	/* shell commands run first */
	const char *opts;	/* more options for run, or NULL */
	const char *spec;	/* --fd's argument ($D expanded) */
	const char *redirect;	/* the shell's: exec REDIRECT (NULL: the spec) */
	const char *prog;	/* busybox sh -c PROG, with fd 5 */
	const char *expect;	/* what the shell's script prints */
};

/* PROG sees the same under run --fd SPEC as under the shell's exec REDIRECT, and that is what is expected. */
static void same_as_shell(struct fd_case c)
{
	char pb_script[512], sh_script[512];
	struct run_result pb, sh;

	cr_assert_lt(snprintf(pb_script, sizeof(pb_script), "%s" PB " run %s --fd \"%s\" /bin/busybox sh -c '%s'",
			      c.setup ? c.setup : "", c.opts ? c.opts : "", c.spec, c.prog), (int)sizeof(pb_script));
	cr_assert_lt(snprintf(sh_script, sizeof(sh_script), "%s(exec %s; exec /bin/busybox sh -c '%s')",
			      c.setup ? c.setup : "", c.redirect ? c.redirect : c.spec, c.prog), (int)sizeof(sh_script));
	sh = run_in_fresh_dir(sh_script);
	pb = run_in_fresh_dir(pb_script);
	cr_assert_str_eq(sh.out, c.expect, "the shell, %s: %s", sh_script, sh.err);
	cr_assert_str_eq(pb.out, sh.out, "procbuilder, %s: %s", pb_script, pb.err);
	run_result_free(&sh);
	run_result_free(&pb);
}

Test(cli_fd, lt_reads_and_does_not_write)
{
	same_as_shell((struct fd_case){.setup = OLD_F, .spec = "5<$D/f", .prog = "cat <&5 && echo new >&5",
				       .expect = "old contents\nstatus 1\nmode 664\nold contents\n"});
}

Test(cli_fd, eq_path_is_read_only_as_lt)
{
	same_as_shell((struct fd_case){.setup = OLD_F, .spec = "5=$D/f", .redirect = "5<$D/f",
				       .prog = "cat <&5 && echo new >&5",
				       .expect = "old contents\nstatus 1\nmode 664\nold contents\n"});
}

Test(cli_fd, gt_truncates_an_existing_file)
{
	same_as_shell((struct fd_case){.setup = OLD_F, .spec = "5>$D/f", .prog = "echo new >&5",
				       .expect = "status 0\nmode 664\nnew\n"});
}

Test(cli_fd, gt_creates_a_missing_file_0666_less_the_umask)
{
	same_as_shell((struct fd_case){.spec = "5>$D/f", .prog = "echo new >&5",
				       .expect = "status 0\nmode 664\nnew\n"});
}

Test(cli_fd, gtgt_appends_and_creates)
{
	same_as_shell((struct fd_case){.setup = OLD_F, .spec = "5>>$D/f", .prog = "echo new >&5 && cat <&5",
				       .expect = "status 1\nmode 664\nold contents\nnew\n"});
	same_as_shell((struct fd_case){.spec = "5>>$D/f", .prog = "echo new >&5",
				       .expect = "status 0\nmode 664\nnew\n"});
}

/* Writes start at offset 0 over the old bytes, and reading goes on from there. */
Test(cli_fd, ltgt_reads_and_writes_without_truncating)
{
	same_as_shell((struct fd_case){.setup = OLD_F, .spec = "5<>$D/f", .prog = "echo new >&5 && cat <&5",
				       .expect = "contents\nstatus 0\nmode 664\nnew\ncontents\n"});
	same_as_shell((struct fd_case){.spec = "5<>$D/f", .prog = "echo new >&5",
				       .expect = "status 0\nmode 664\nnew\n"});
}

Test(cli_fd, duplicates_of_an_open_fd)
{
	same_as_shell((struct fd_case){.setup = OLD_F "exec 4<$D/f; ", .spec = "5<&4", .prog = "cat <&5",
				       .expect = "old contents\nstatus 0\nmode 664\nold contents\n"});
	same_as_shell((struct fd_case){.spec = "5>&1", .prog = "echo dup >&5", .expect = "dup\nstatus 0\nno f\n"});
	same_as_shell((struct fd_case){.spec = "5=&1", .redirect = "5>&1", .prog = "echo dup >&5",
				       .expect = "dup\nstatus 0\nno f\n"});
}

/* The program gets fd 5 and nothing more of ours, in place and spawned (3 is ls's directory). */
Test(cli_fd, nothing_but_the_fd_reaches_the_program)
{
	const char *expect = "0\n1\n2\n3\n5\nstatus 0\nmode 664\nold contents\n";

	same_as_shell((struct fd_case){.setup = OLD_F, .spec = "5<$D/f", .prog = "ls /proc/self/fd", .expect = expect});
	same_as_shell((struct fd_case){.setup = OLD_F, .opts = "--spawn", .spec = "5>>$D/f",
				       .redirect = "5>>$D/f", .prog = "ls /proc/self/fd", .expect = expect});
}

/* A missing file for < or =: an error naming the spec, nothing created, nothing run. */
Test(cli_fd, a_missing_file_to_read_is_an_error_and_stays_missing)
{
	const char *specs[] = {"5<$D/f", "5=$D/f"};

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		char script[256];
		struct run_result r;
		snprintf(script, sizeof(script), PB " run --fd \"%s\" /bin/busybox echo ran", specs[i]);
		r = run_in_fresh_dir(script);
		cr_assert_str_eq(r.out, "status 125\nno f\n", "%s: %s", specs[i], r.err);
		cr_assert(strncmp(r.err, "procbuilder: run: --fd '5", 25) == 0, "%s", r.err);
		cr_assert(strstr(r.err, "/f': No such file or directory\n"), "%s", r.err);
		run_result_free(&r);
	}
}

/* Each is one line naming the spec, status 2 (a usage error), nothing run and nothing created. */
Test(cli_fd, bad_specs_are_usage_errors)
{
	static const char *const bad[][2] = {
		{"7=&foo", "M must be an open file descriptor number"},
		{"7=&", "M must be an open file descriptor number"},
		{"7<&", "M must be an open file descriptor number"},
		{"7>&-1", "M must be an open file descriptor number"},
		{"7<&250", "M must be an open file descriptor number"},	/* not open */
		{"7=&1x", "M must be an open file descriptor number"},
		{"7<&99999999999", "M must be an open file descriptor number"},
		{"x=$D/f", "N must be a file descriptor number from 0 to "},
		{"-1>$D/f", "N must be a file descriptor number from 0 to "},
		{"+5>$D/f", "N must be a file descriptor number from 0 to "},
		{">$D/f", "N must be a file descriptor number from 0 to "},
		{"", "N must be a file descriptor number from 0 to "},
		{"1048576>$D/f", "N must be a file descriptor number from 0 to "},
		{"2147483648>$D/f", "N must be a file descriptor number from 0 to "},
		{"5", "wants N<PATH, N>PATH, N>>PATH, N<>PATH, N=PATH, N<&M, N>&M or N=&M"},
		{"5 >$D/f", "wants N<PATH"},
		{"5|$D/f", "wants N<PATH"},
		{"5>", "PATH is empty"},
		{"5<", "PATH is empty"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char script[256];
		struct run_result r;
		snprintf(script, sizeof(script), PB " run --fd \"%s\" /bin/busybox touch $D/f", bad[i][0]);
		r = run_in_fresh_dir(script);
		cr_assert_str_eq(r.out, "status 2\nno f\n", "%s: %s", bad[i][0], r.err);
		cr_assert(strncmp(r.err, "procbuilder: run: --fd '", 24) == 0, "%s", r.err);
		cr_assert(strstr(r.err, bad[i][1]), "%s: %s", bad[i][0], r.err);
		cr_assert(strchr(r.err, '\n') == r.err + r.err_len - 1, "one line: %s", r.err);
		run_result_free(&r);
	}
}

Test(cli_fd, one_number_twice_is_a_usage_error)
{
	struct run_result r = run_in_fresh_dir(PB " run --fd 5=/dev/null --fd \"5>$D/f\" /bin/busybox true");

	cr_assert_str_eq(r.out, "status 2\nno f\n", "%s", r.err);
	cr_assert(strstr(r.err, "fd 5 is already given by --fd '5=/dev/null'\n"), "%s", r.err);
	run_result_free(&r);
}

Test(cli_fd, help_lists_every_mode)
{
	static const char *const modes[] = {
		"--fd 'N<PATH'", "--fd 'N>PATH'", "--fd 'N>>PATH'", "--fd 'N<>PATH'",
		"--fd 'N<&M'", "--fd 'N>&M'", "--fd N=PATH", "--fd 'N=&M'",
	};
	struct run_result r = pb("run", "--help", NULL);

	cr_assert_eq(r.exit_code, 0);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		cr_assert(strstr(r.out, modes[i]), "%s missing: %s", modes[i], r.out);
	run_result_free(&r);
}

/*
 * Plugins only when asked. A pipeline file naming the test plugin
 * (tests/plugins/marker.c), whose constructor creates $PB_TEST_PLUGIN_MARKER:
 * that file exists exactly when the plugin's code ran.
 */
struct plugin_case {
	char dir[32];
	char yaml[64], other[64], marker[64], touched[64];
	char marker_env[96];
	char *env[4];
};

#define MARKER_STAGES "stages:\n  - script\n  - parse\n  - marker\n  - interp\n  - reserve\n  - load\n  - vdso\n" \
	"  - stack\n  - args\n"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/*
 * A fresh directory holding p.yaml: "pipeline: with-marker", "plugins: [the
 * marker plugin]" (the path at 2:11), then text; other.yaml is free for a test.
 */
static void plugin_case_init(struct plugin_case *c, const char *text)
{
	char so[4096], yaml[8192];

	snprintf(c->dir, sizeof(c->dir), "/tmp/pb-plugins-XXXXXX");
	cr_assert_not_null(mkdtemp(c->dir));
	snprintf(c->yaml, sizeof(c->yaml), "%s/p.yaml", c->dir);
	snprintf(c->other, sizeof(c->other), "%s/other.yaml", c->dir);
	snprintf(c->marker, sizeof(c->marker), "%s/marker", c->dir);
	snprintf(c->touched, sizeof(c->touched), "%s/touched", c->dir);
	snprintf(c->marker_env, sizeof(c->marker_env), "PB_TEST_PLUGIN_MARKER=%s", c->marker);
	c->env[0] = "LANG=C";
	c->env[1] = "PATH=/usr/bin:/bin";
	c->env[2] = c->marker_env;
	c->env[3] = NULL;
	cr_assert_not_null(realpath("build/tests/plugins/marker.so", so));
	snprintf(yaml, sizeof(yaml), "pipeline: with-marker\nplugins: [%s]\n%s", so, text);
	write_file(c->yaml, yaml);
}

static void plugin_case_cleanup(struct plugin_case *c)
{
	const char *files[] = {c->yaml, c->other, c->marker, c->touched};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlink(files[i]);
	cr_assert_eq(rmdir(c->dir), 0, "%s: %s", c->dir, strerror(errno));
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static struct run_result pb_in(struct plugin_case *c, char **args)
{
	struct run_result r;

	cr_assert_eq(run_cmd(args, c->env, &r), 0);
	return r;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(cli, check_loads_plugins_only_with_plugins)
{
	struct plugin_case c;
	struct run_result r;
	char want[160];

	plugin_case_init(&c, MARKER_STAGES);
	r = pb_in(&c, (char *[]){PB, "check", c.yaml, NULL});
	cr_assert_not(exists(c.marker), "check ran the plugin's constructor");
	cr_assert_eq(r.exit_code, 1, "valid as far as checked, not fully: %s", r.err);
	snprintf(want, sizeof(want),
		 "%s: valid as far as checked without plugins (pipeline with-marker, 8 stages checked, 1 not)\n", c.yaml);
	cr_assert_str_eq(r.out, want);
	snprintf(want, sizeof(want), "%s:2:11: note: plugin /", c.yaml);
	cr_assert(strstr(r.err, want) && strstr(r.err, "marker.so not loaded (--plugins loads it)"), "%s", r.err);
	snprintf(want, sizeof(want), "%s:6:5: note: stage 'marker' is not built in, so plugin /", c.yaml);
	cr_assert(strstr(r.err, want), "%s", r.err);
	cr_assert_eq(count_lines(r.err), 2, "%s", r.err);
	run_result_free(&r);

	r = pb_in(&c, (char *[]){PB, "check", "--plugins", c.yaml, NULL});
	cr_assert(exists(c.marker), "check --plugins loads the plugin");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	snprintf(want, sizeof(want), "%s: ok (pipeline with-marker, 9 stages)\n", c.yaml);
	cr_assert_str_eq(r.out, want);
	cr_assert_eq(r.err_len, 0, "%s", r.err);
	run_result_free(&r);
	plugin_case_cleanup(&c);
}

/* Without --plugins, the rest of the file is still checked, and so is each plugin's path. */
Test(cli, check_without_plugins_still_finds_errors)
{
	struct plugin_case c;
	struct run_result r;
	char want[160];

	plugin_case_init(&c, "stages:\n  - parse\n  - marker: {any: thing}\n  - load\n  - stack: {placement: sideways}\n"
			 "  - args\n");
	r = pb_in(&c, (char *[]){PB, "check", c.yaml, "pipelines/default.yaml", NULL});
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	snprintf(want, sizeof(want), "%s:7:24: option placement must be one of auto, kernel, planned", c.yaml);
	cr_assert(strstr(r.err, want), "%s", r.err);
	cr_assert(strstr(r.out, "pipelines/default.yaml: ok (pipeline default, 9 stages)"), "%s", r.out);
	cr_assert_not(exists(c.marker));
	run_result_free(&r);

	write_file(c.other, "plugins: [missing.so]\nstages: [parse, load, stack, args]\n");
	r = pb_in(&c, (char *[]){PB, "check", c.other, NULL});
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	snprintf(want, sizeof(want), "%s:1:11: plugin %s/missing.so: No such file or directory\n", c.other, c.dir);
	cr_assert_str_eq(r.err, want);
	run_result_free(&r);

	write_file(c.other, "stages: [parse, load, stack, args]\nplugins:\n  - .\n");
	r = pb_in(&c, (char *[]){PB, "check", c.other, NULL});
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	snprintf(want, sizeof(want), "%s:3:5: plugin %s/.: not a regular file\n", c.other, c.dir);
	cr_assert_str_eq(r.err, want);
	run_result_free(&r);
	plugin_case_cleanup(&c);
}

/* run and plan --no-plugins: one line naming the plugins: entry, nothing loaded, nothing run. */
Test(cli, run_and_plan_refuse_plugins_with_no_plugins)
{
	struct plugin_case c;
	struct run_result r;
	char want[160];

	plugin_case_init(&c, MARKER_STAGES);
	snprintf(want, sizeof(want), "procbuilder: pipeline: %s:2:11: plugin /", c.yaml);
	for (int spawn = 0; spawn < 2; spawn++) {
		char *in_place[] = {PB, "run", "--no-plugins", "--pipeline", c.yaml, "/usr/bin/touch", c.touched, NULL};
		char *spawned[] = {PB, "run", "--spawn", "--no-plugins", "--pipeline", c.yaml, "/usr/bin/touch",
				   c.touched, NULL};
		r = pb_in(&c, spawn ? spawned : in_place);
		cr_assert_eq(r.exit_code, 125, "%s", r.err);
		cr_assert(strncmp(r.err, want, strlen(want)) == 0, "%s", r.err);
		cr_assert(strstr(r.err, "marker.so refused: plugins are turned off"), "%s", r.err);
		cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
		cr_assert_not(exists(c.marker), "the plugin was loaded");
		cr_assert_not(exists(c.touched), "the program ran");
		run_result_free(&r);
	}
	r = pb_in(&c, (char *[]){PB, "plan", "--no-plugins", "--pipeline", c.yaml, "/bin/true", NULL});
	cr_assert_eq(r.exit_code, 125, "%s", r.err); /* as run: a refused pipeline is procbuilder's failure */
	cr_assert(strncmp(r.err, want, strlen(want)) == 0, "%s", r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert_eq(r.out_len, 0, "%s", r.out);
	cr_assert_not(exists(c.marker));
	run_result_free(&r);

	/* the same file without --no-plugins: the plugin is loaded and the program runs */
	r = pb_in(&c, (char *[]){PB, "run", "--pipeline", c.yaml, "/usr/bin/touch", c.touched, NULL});
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(exists(c.marker));
	cr_assert(exists(c.touched));
	run_result_free(&r);
	plugin_case_cleanup(&c);
}

/* A pipeline without plugins runs as before under --no-plugins. */
Test(cli, no_plugins_runs_a_pipeline_without_plugins)
{
	struct plugin_case c;
	struct run_result r;

	plugin_case_init(&c, MARKER_STAGES);
	r = pb_in(&c, (char *[]){PB, "run", "--no-plugins", "--pipeline", "pipelines/default.yaml",
				 "build/tests/helpers/pbhelper-static", "exit", "7", NULL});
	cr_assert_eq(r.exit_code, 7, "%s", r.err);
	cr_assert_eq(r.err_len, 0, "%s", r.err);
	run_result_free(&r);
	r = pb_in(&c, (char *[]){PB, "run", "--no-plugins", "--spawn", "--pipeline", "default", "/bin/echo", "hi", NULL});
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "hi\n");
	run_result_free(&r);
	r = pb_in(&c, (char *[]){PB, "plan", "--no-plugins", "--pipeline", "pipelines/default.yaml", "/bin/true", NULL});
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "stack: top"), "%s", r.out);
	run_result_free(&r);
	plugin_case_cleanup(&c);
}

Test(cli, help_says_when_plugins_load)
{
	struct run_result r = pb("check", "--help", NULL);

	cr_assert_eq(r.exit_code, 0);
	cr_assert(strstr(r.out, "Usage: procbuilder check [--plugins] PIPELINE.yaml..."), "%s", r.out);
	cr_assert(strstr(r.out, "none is\nloaded without --plugins"), "%s", r.out);
	cr_assert(strstr(r.out, "; 1 if none is\ninvalid but some name plugins"), "%s", r.out);
	run_result_free(&r);
	for (int i = 0; i < 2; i++) {
		r = pb(i ? "plan" : "run", "--help", NULL);
		cr_assert_eq(r.exit_code, 0);
		cr_assert(strstr(r.out, "--no-plugins          refuse a pipeline that names plugins"), "%s", r.out);
		run_result_free(&r);
	}
}

/* ---- the CLI's rough edges (issue 18): options anywhere getopt allows, one-line errors, statuses ---- */

Test(cli, a_bad_option_is_one_line_and_a_hint)
{
	const char *cmds[] = {"run", "plan", "inspect", "stages", "check"};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char want[128];
		struct run_result r = pb((char *)cmds[i], "--bogus", "/bin/true");

		snprintf(want, sizeof(want), "procbuilder: %s: unknown option '--bogus'\nTry 'procbuilder %s --help'.\n",
			 cmds[i], cmds[i]);
		cr_assert_eq(r.exit_code, 2, "%s", cmds[i]);
		cr_assert_str_eq(r.err, want, "%s", cmds[i]);
		cr_assert_eq(r.out_len, 0);
		run_result_free(&r);
	}
	{
		struct run_result r = pb("run", "--seed", NULL);
		cr_assert_eq(r.exit_code, 2);
		cr_assert(strstr(r.err, "option '--seed' needs a value"), "%s", r.err);
		run_result_free(&r);
	}
}

Test(cli, version_on_every_command)
{
	const char *cmds[] = {"run", "plan", "inspect", "stages", "check"};
	struct run_result v = pb("--version", NULL, NULL);

	cr_assert_eq(v.exit_code, 0);
	cr_assert(strncmp(v.out, "procbuilder ", 12) == 0, "%s", v.out);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct run_result r = pb((char *)cmds[i], "--version", NULL);
		cr_assert_eq(r.exit_code, 0, "%s: %s", cmds[i], r.err);
		cr_assert_str_eq(r.out, v.out, "%s", cmds[i]);
		run_result_free(&r);
	}
	run_result_free(&v);
}

Test(cli, options_where_getopt_takes_them)
{
	struct run_result r = pb("inspect", "/bin/true", "--json"); /* after FILE */

	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(r.out[0] == '{', "%s", r.out);
	run_result_free(&r);
	r = pb("stages", "--plugin=./no-such-plugin.so", NULL); /* the = form reaches the loader */
	cr_assert_eq(r.exit_code, 125, "%s", r.err);
	cr_assert(strstr(r.err, "no-such-plugin.so"), "%s", r.err);
	run_result_free(&r);
	r = pb("check", "--", "pipelines/default.yaml");
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	run_result_free(&r);
	r = pb("check", "pipelines/default.yaml", "--help"); /* help, not a validation */
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "Usage: procbuilder check") && !strstr(r.out, ": ok"), "%s", r.out);
	run_result_free(&r);
}

/* PROG is looked up in the PATH the program gets, as env -i does. */
Test(cli, path_search_in_the_programs_environment_like_env)
{
	char *pb_argv[] = {PB, "run", "-i", "-e", "PATH=/nonexistent", "ls", "/", NULL};
	char *env_argv[] = {"/usr/bin/env", "-i", "PATH=/nonexistent", "ls", "/", NULL};
	char *pb_default[] = {PB, "run", "-i", "ls", "/", NULL};
	char *env_default[] = {"/usr/bin/env", "-i", "ls", "/", NULL};
	struct run_result p, e;

	cr_assert_eq(run_cmd(pb_argv, NULL, &p), 0);
	cr_assert_eq(run_cmd(env_argv, NULL, &e), 0);
	cr_assert_eq(e.exit_code, 127, "%s", e.err);
	cr_assert_eq(p.exit_code, e.exit_code, "%s", p.err);
	run_result_free(&p);
	run_result_free(&e);
	/* no PATH at all: execvp's default, /bin:/usr/bin */
	cr_assert_eq(run_cmd(pb_default, NULL, &p), 0);
	cr_assert_eq(run_cmd(env_default, NULL, &e), 0);
	cr_assert_eq(e.exit_code, 0, "%s", e.err);
	cr_assert_eq(p.exit_code, 0, "%s", p.err);
	cr_assert_str_eq(p.out, e.out);
	run_result_free(&p);
	run_result_free(&e);
}

/* plan and inspect: 127 not found, 126 cannot be run, as run and a shell give them; 2 only for usage. */
Test(cli, plan_and_inspect_statuses_are_distinct)
{
	char script[] = "/tmp/pb-nointerp-XXXXXX";
	int fd = mkstemp(script);
	struct run_result r;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "#!/nonexistent/interp\n", 22), 22);
	close(fd);
	chmod(script, 0755);
	r = pb("plan", script, NULL);
	cr_assert_eq(r.exit_code, 127, "%s", r.err);
	run_result_free(&r);
	r = pb("plan", "/etc/passwd", NULL);
	cr_assert_eq(r.exit_code, 126, "%s", r.err);
	run_result_free(&r);
	r = pb("plan", "--bogus", "/bin/true");
	cr_assert_eq(r.exit_code, 2, "%s", r.err);
	run_result_free(&r);
	unlink(script);
}

/* --trace-file: the build's story goes to the file, not into the program's stderr. */
Test(cli, trace_file_keeps_the_trace_out_of_stderr)
{
	char path[] = "/tmp/pb-trace-XXXXXX", *argv[8];
	const char *modes[][3] = {{"run", "/bin/true", NULL}, {"run", "--spawn", "/bin/true"}, {"plan", "/bin/true", NULL}};
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	for (size_t i = 0; i < 3; i++) {
		struct run_result r;
		char buf[8192] = {0};
		int n = 0;
		ssize_t len;

		cr_assert_eq(ftruncate(fd, 0), 0);
		argv[n++] = PB;
		argv[n++] = (char *)modes[i][0];
		argv[n++] = "--trace-file";
		argv[n++] = path;
		for (int k = 1; k < 3 && modes[i][k]; k++)
			argv[n++] = (char *)modes[i][k];
		argv[n] = NULL;
		cr_assert_eq(run_cmd(argv, NULL, &r), 0);
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		cr_assert_eq(r.err_len, 0, "%s: the trace reached stderr: %s", modes[i][0], r.err);
		len = pread(fd, buf, sizeof(buf) - 1, 0);
		cr_assert(len > 0 && strstr(buf, "[parse] done"), "%s %s: %s", modes[i][0], modes[i][1], buf);
		run_result_free(&r);
	}
	close(fd);
	unlink(path);
}

/* ---- JSON outputs against their schemas (docs/json.md, docs/schema; tests/json-check) ---- */

static void schema_valid(const char *what, const char *cmd)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	struct run_result r;

	cr_assert_eq(run_cmd(argv, NULL, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s: %s%s", what, r.out, r.err);
	cr_assert(strstr(r.out, "valid"), "%s: %s", what, r.out);
	run_result_free(&r);
}

Test(json, every_output_validates_against_its_schema, .timeout = 60)
{
	schema_valid("inspect, dynamic", PB " inspect --json /bin/true | tests/json-check inspect");
	schema_valid("inspect, static", PB " inspect --json build/tests/helpers/pbhelper-static | tests/json-check inspect");
	schema_valid("plan, dynamic", PB " plan --json --seed 5 /bin/true | tests/json-check plan");
	schema_valid("plan, static-PIE",
		     PB " plan --json build/tests/helpers/pbhelper-static-pie report | tests/json-check plan");
	schema_valid("trace, in place", PB " run --trace=json /bin/true 2>&1 >/dev/null | tests/json-check trace --lines");
	schema_valid("trace, spawned",
		     PB " run --spawn --trace=json /bin/true 2>&1 >/dev/null | tests/json-check trace --lines");
	/* a failing stage: its record carries the code, errno and message */
	schema_valid("trace, a failure",
		     "f=$(mktemp) && printf 'x\\n' > $f && chmod +x $f && " PB " plan --trace=json $f 2>&1 >/dev/null | "
		     "grep '^{' | tee $f.out | tests/json-check trace --lines && grep -q '\"code\":\"PB_EPARSE\"' $f.out; "
		     "s=$?; rm -f $f $f.out; exit $s");
}

Test(json, the_checker_refuses_what_the_schema_does_not_allow)
{
	char *argv[] = {"/bin/sh", "-c", PB " plan --json /bin/true | sed 's/\"format_version\":1,//' | tests/json-check plan",
			NULL};
	struct run_result r;

	cr_assert_eq(run_cmd(argv, NULL, &r), 0);
	cr_assert_eq(r.exit_code, 1, "%s%s", r.out, r.err);
	cr_assert(strstr(r.err, "'format_version' is a required property"), "%s", r.err);
	run_result_free(&r);
}
