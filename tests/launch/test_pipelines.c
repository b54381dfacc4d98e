/* SPDX-License-Identifier: MIT */
/* Each shipped pipeline, and the pipeline commands, on real programs. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pipeline/pipeline.h"
#include "procbuilder.h"
#include "tests/common/json.h"
#include "tests/common/proc.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
static char *env[] = {"LANG=C", "PATH=/usr/bin:/bin", NULL};

static struct run_result pb(char **args)
{
	struct run_result r;

	cr_assert_eq(run_cmd(args, env, &r), 0);
	return r;
}

Test(pipelines, default_by_name)
{
	struct run_result r = pb((char *[]){PB, "run", "--pipeline", "default", "/bin/echo", "hi", NULL});

	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "hi\n");
	run_result_free(&r);
}

Test(pipelines, sanitizer_runs_an_asan_program)
{
	struct run_result r = pb((char *[]){PB, "run", "--pipeline", "sanitizer", "build/tests/helpers/asanprog", NULL});

	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "ok 1\n");
	run_result_free(&r);
	r = pb((char *[]){PB, "run", "--pipeline", "sanitizer", "build/tests/helpers/asanprog", "overflow", NULL});
	cr_assert(strstr(r.err, "heap-buffer-overflow"), "%s", r.err);
	run_result_free(&r);
}

Test(pipelines, novdso)
{
	struct run_result r = pb((char *[]){PB, "run", "--pipeline", "novdso", "build/tests/helpers/pbhelper-dynamic",
					    "report", NULL});

	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"auxv_keys\": [51,"), "%s", r.out);
	run_result_free(&r);
}

Test(pipelines, debug_hands_the_process_to_gdb, .timeout = 60)
{
	struct run_result r;
	char *line, *save;
	int json_lines = 0;

	if (access("/usr/bin/gdb", X_OK) != 0)
		cr_skip_test("gdb is not installed");
	r = pb((char *[]){PB, "run", "--pipeline", "debug", "--gdb-ex", "info registers rip rax rdx",
			  "--gdb-ex", "kill", "build/tests/helpers/pbhelper-static", "exit", "0", NULL});
	/* stopped before its first instruction: rip at the entry, registers as exec leaves them */
	cr_assert(strstr(r.out, "<helper_entry>"), "%s\n%s", r.out, r.err);
	cr_assert(strstr(r.out, "rax            0x0"), "%s", r.out);
	cr_assert(strstr(r.out, "rdx            0x0"), "%s", r.out);
	/* and the build was traced as JSON lines on stderr */
	for (line = strtok_r(r.err, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (line[0] == '{') {
			cr_assert(json_valid(line, strlen(line)), "%s", line);
			json_lines++;
		}
	cr_assert_eq(json_lines, 10, "one line per stage, and one saying how exe was set");
	run_result_free(&r);
}

Test(pipelines, debug_is_deterministic)
{
	struct run_result a = pb((char *[]){PB, "plan", "--pipeline", "debug", "/bin/true", NULL});
	struct run_result b = pb((char *[]){PB, "plan", "--pipeline", "debug", "/bin/true", NULL});

	cr_assert_eq(a.exit_code, 0, "%s", a.err);
	cr_assert_str_eq(a.out, b.out);
	run_result_free(&a);
	run_result_free(&b);
}

Test(pipelines, trace_json_on_the_command_line)
{
	struct run_result r = pb((char *[]){PB, "run", "--trace=json", "/bin/true", NULL});
	char *line, *save;
	int n = 0;

	cr_assert_eq(r.exit_code, 0);
	for (line = strtok_r(r.err, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++)
		cr_assert(json_valid(line, strlen(line)), "%s", line);
	cr_assert_eq(n, 10, "one line per stage, and one saying how exe was set");
	run_result_free(&r);
}

Test(commands, check_and_stages)
{
	char path[] = "/tmp/pb-bad-XXXXXX";
	struct run_result r;

	cr_assert_eq(temp_file(path, "stages:\n  - parse\n  - lod\n", 26, 0644), 0);
	r = pb((char *[]){PB, "check", "pipelines/default.yaml", "pipelines/debug.yaml", NULL});
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "pipelines/debug.yaml: ok (pipeline debug, 9 stages)"), "%s", r.out);
	run_result_free(&r);
	r = pb((char *[]){PB, "check", path, NULL});
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, ":3:5: unknown stage 'lod'"), "%s", r.err);
	run_result_free(&r);
	r = pb((char *[]){PB, "run", "--pipeline", path, "/bin/true", NULL});
	cr_assert_eq(r.exit_code, 125, "a bad pipeline stops before anything runs");
	cr_assert(strstr(r.err, "procbuilder: pipeline: "), "%s", r.err);
	run_result_free(&r);
	unlink(path);
	r = pb((char *[]){PB, "stages", NULL});
	cr_assert_eq(r.exit_code, 0);
	cr_assert(strstr(r.out, "reserve") && strstr(r.out, "range") && strstr(r.out, "asan"), "%s", r.out);
	run_result_free(&r);
	r = pb((char *[]){PB, "stages", "--plugin", "build/examples/extra-reserve.so", NULL});
	cr_assert(strstr(r.out, "extra-reserve"), "%s", r.out);
	run_result_free(&r);
	r = pb((char *[]){PB, "check", "--help", NULL});
	cr_assert(strstr(r.out, "Usage: procbuilder check"), "%s", r.out);
	run_result_free(&r);
}

Test(commands, plugin_stage_through_the_cli)
{
	char yaml[] = "/tmp/pb-plugin-XXXXXX", so[4096], text[8192];
	struct run_result r;

	cr_assert_not_null(realpath("build/examples/extra-reserve.so", so));
	snprintf(text, sizeof(text),
		 "plugins: [%s]\nstages:\n  - parse\n  - extra-reserve: {range: 100000000-200000000, keep: true}\n"
		 "  - interp\n  - reserve\n  - load\n  - vdso\n  - stack\n  - args\n", so);
	cr_assert_eq(temp_file(yaml, text, strlen(text), 0644), 0);
	r = pb((char *[]){PB, "plan", "--pipeline", yaml, "/bin/true", NULL});
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "extra-reserve reserve   0x000100000000-0x000200000000"), "%s", r.out);
	run_result_free(&r);
	r = pb((char *[]){PB, "run", "--pipeline", yaml, "/bin/echo", "with plugin", NULL});
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "with plugin\n");
	run_result_free(&r);
	unlink(yaml);
}

/* A stage that plans something the kernel refuses: mprotect of unmapped memory. */
static int bad_step(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	return pb_ctx_step(ctx, PB_STEP_PROTECT, 0x10000, 0x1000, PROT_READ, "nothing is mapped here") < 0 ? -ENOMEM : 0;
}

Test(apply, a_failed_step_names_the_stage_that_planned_it)
{
	struct pb_registry *reg = pb_registry_create();
	struct pb_stage_def def = {"bad-step", bad_step, "plans a step the kernel refuses", NULL, NULL, false};
	char yaml[] = "/tmp/pb-bad-step-XXXXXX";
	const char *text = "stages: [parse, load, bad-step, stack, args]\n";
	struct pb_pipeline *p;
	struct pb_builder *b;
	struct pb_built *built = NULL;
	struct pb_error err;
	int exe, fds;

	cr_assert_eq(temp_file(yaml, text, strlen(text), 0644), 0);
	cr_assert_eq(pb_registry_add(reg, &def), 0);
	cr_assert_eq(pb_pipeline_load_with(yaml, reg, &p, &err), 0, "%s", err.msg);
	fds = count_open_fds();
	exe = open("build/tests/helpers/pbhelper-static", O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pb_builder_new("h", -1, exe, &b, &err), 0, "%s", err.msg);
	close(exe);
	cr_assert_eq(pb_build_with(b, p, &built, &err), -ENOMEM);
	cr_assert_str_eq(err.stage, "bad-step");
	cr_assert_eq(err.code, PB_ENOMEM);
	cr_assert(strstr(err.msg, "applying step") && strstr(err.msg, "nothing is mapped here"), "%s", err.msg);
	cr_assert_null(built);
	pb_builder_free(b);
	cr_assert(no_children(), "the stub was killed and reaped");
	cr_assert_eq(count_open_fds(), fds, "fd leak");
	pb_pipeline_free(p);
	unlink(yaml);
}

/*
 * ASLR off (setarch -R; gdb does the same) with a planned stack (--seed, the
 * debug pipeline): the kernel put the stub's own stack at STACK_TOP, where
 * the program's must go; it is planned away first. In place, spawned with
 * and without ptrace: works, and two runs give the same addresses.
 */
Test(apply, no_randomize_with_a_seed_works_and_is_deterministic, .timeout = 60)
{
	static const char *const how[] = {"--seed=1", "--spawn --seed=1", "--spawn --no-ptrace --seed=1"};
	char cmd[512];
	struct run_result a, b;

	if (access("/usr/bin/setarch", X_OK) != 0)
		cr_skip_test("no setarch");
	for (size_t i = 0; i < sizeof(how) / sizeof(how[0]); i++) {
		snprintf(cmd, sizeof(cmd), "exec /usr/bin/setarch x86_64 -R %s run %s /bin/cat /proc/self/maps", PB, how[i]);
		a = pb((char *[]){"/bin/sh", "-c", cmd, NULL});
		b = pb((char *[]){"/bin/sh", "-c", cmd, NULL});
		cr_assert_eq(a.exit_code, 0, "%s: %s", how[i], a.err);
		cr_assert_eq(b.exit_code, 0, "%s: %s", how[i], b.err);
		cr_assert_str_eq(a.out, b.out, "%s", how[i]);
		cr_assert(strstr(a.out, "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]"),
			  "%s: the stack at STACK_TOP, as execve puts it: %s", how[i], a.out);
		run_result_free(&a);
		run_result_free(&b);
	}
}

/* The same for the debug pipeline, handed to gdb: the same entry and stack pointer every time. */
Test(apply, no_randomize_debug_pipeline_works_and_is_deterministic, .timeout = 90)
{
	char *args[] = {"/usr/bin/setarch", "x86_64", "-R", PB, "run", "--pipeline", "debug", "--gdb-ex",
			"info registers rip rsp", "--gdb-ex", "kill", "build/tests/helpers/pbhelper-static", "exit", "0",
			NULL};
	struct run_result a, b;
	const char *ra, *rb;

	if (access(args[0], X_OK) != 0 || access("/usr/bin/gdb", X_OK) != 0)
		cr_skip_test("no setarch or no gdb");
	a = pb(args);
	b = pb(args);
	cr_assert(!strstr(a.err, "no room for the stack"), "%s", a.err);
	ra = strstr(a.out, "rip ");
	rb = strstr(b.out, "rip ");
	cr_assert(ra && strstr(a.out, "<helper_entry>"), "stopped at its entry: %s\n%s", a.out, a.err);
	cr_assert(rb, "%s\n%s", b.out, b.err);
	cr_assert(strstr(ra, "rsp            0x7fffffff"), "the stack below STACK_TOP: %s", ra);
	cr_assert_eq(strcspn(ra, "K"), strcspn(rb, "K"), "%s\n%s", ra, rb);
	cr_assert(strncmp(ra, rb, strcspn(ra, "K")) == 0, "the same registers both times:\n%s\n%s", ra, rb);
	run_result_free(&a);
	run_result_free(&b);
}

/* ADDR_NO_RANDOMIZE (setarch -R), inherited like execve: the same addresses every time. */
Test(apply, no_randomize_personality_is_deterministic)
{
	char *args[] = {"/usr/bin/setarch", "x86_64", "-R", PB, "run", "/bin/cat", "/proc/self/maps", NULL};
	struct run_result a, b;

	if (access(args[0], X_OK) != 0)
		cr_skip_test("no setarch");
	cr_assert_eq(run_cmd(args, env, &a), 0);
	cr_assert_eq(run_cmd(args, env, &b), 0);
	cr_assert_eq(a.exit_code, 0, "%s", a.err);
	cr_assert_str_eq(a.out, b.out);
	cr_assert(strncmp(a.out, "555555554000-", 13) == 0, "PIE at ELF_ET_DYN_BASE: %s", a.out);
	cr_assert(strstr(a.out, "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]"), "%s", a.out);
	run_result_free(&a);
	run_result_free(&b);
}
