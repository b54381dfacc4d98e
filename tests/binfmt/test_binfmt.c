/* SPDX-License-Identifier: MIT */
/* The binfmt stage alone (and with script), on registration directories written here. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stages/binfmt/binfmt.h"
#include "stages/script/script.h"
#include "tests/common/fakectx.h"

static struct pb_ctx ctx;
static char dir[] = "/tmp/pb-binfmt-test-XXXXXX";
static char regs[128];	/* dir/regs: the registrations */
static char *argv0[] = {"./s", "one", "two"};
static struct pb_opt opt_v[2];
static struct pb_stage_opts opts = {sizeof(opts), opt_v, 1};

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(regs, sizeof(regs), "%s/regs", dir);
	cr_assert_eq(mkdir(regs, 0755), 0);
	opt_v[0] = (struct pb_opt){.key = "dir", .type = PB_OPT_STR, .s = regs};
}

static void teardown(void)
{
	char cmd[128];

	if (ctx.stage)
		pb_ctx_clear(&ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(binfmt, .init = setup, .fini = teardown);

/* Writes text to dir/name (sub: a directory under dir, or ""); returns the path, valid until the next call. */
static const char *write_in(const char *sub, const char *name, const void *text, size_t len)
{
	static char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s%s%s/%s", dir, *sub ? "/" : "", sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void registration(const char *name, const char *text)
{
	write_in("regs", name, text, strlen(text));
}

static void misc_status(const char *status)
{
	registration("status", status);
}

/* Runs the stage on path (the pathname exec_path says, or a bare fd with exec_path NULL). */
static int run_stage(const char *path, const char *exec_path)
{
	if (ctx.stage)
		pb_ctx_clear(&ctx);
	fake_ctx(&ctx);
	ctx.exec_fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(ctx.exec_fd, 0);
	ctx.exec_name = ctx.execfn = "/the/file";
	ctx.exec_path = exec_path;
	ctx.argv = argv0;
	ctx.argc = 3;
	ctx.stage = "binfmt";
	return pb_stage_binfmt(&ctx, &opts);
}

static int run(const char *path)
{
	return run_stage(path, "/the/file");
}

static void assert_argv(const char *const *want, size_t n)
{
	cr_assert_eq(ctx.argc, n, "argc %zu", ctx.argc);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(ctx.argv[i], want[i], "argv[%zu]", i);
}

/* ctx's program is now the file at path (the interpreter was opened, not just named). */
static void assert_program_is(const char *path)
{
	struct stat a, b;

	cr_assert(ctx.exec_fd_owned);
	cr_assert_eq(fstat(ctx.exec_fd, &a), 0);
	cr_assert_eq(stat(path, &b), 0);
	cr_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "exec_fd is not %s", path);
	cr_assert_str_eq(ctx.exec_name, path);
	cr_assert_str_eq(ctx.exec_path, path);
}

static void assert_untouched(void)
{
	cr_assert_not(ctx.exec_fd_owned);
	cr_assert_eq(ctx.argv, argv0);
	cr_assert_str_eq(ctx.exec_name, "/the/file");
}

Test(binfmt, magic_at_an_offset_under_a_mask)
{
	misc_status("enabled\n");
	/* offset 4, "ABCD" with bit 5 of the second byte masked off: "AbCD" matches too */
	registration("m", "enabled\ninterpreter /bin/true\nflags: \noffset 4\nmagic 41424344\nmask ffdfffff\n");
	cr_assert_eq(run(write_in("", "f", "xxxxAbCDyy", 10)), 0, "%s", ctx.err.msg);
	assert_argv((const char *[]){"/bin/true", "/the/file", "one", "two"}, 4);
	assert_program_is("/bin/true");
	cr_assert_str_eq(ctx.execfn, "/the/file", "AT_EXECFN stays the file's");
	cr_assert_eq(run(write_in("", "f", "xxxxAbCEyy", 10)), 0);
	assert_untouched();
	cr_assert_eq(run(write_in("", "f", "xxxxAB", 6)), 0, "past the end of the file is zeros");
	assert_untouched();
}

Test(binfmt, magic_without_a_mask_and_zeros_past_the_end)
{
	misc_status("enabled\n");
	registration("m", "enabled\ninterpreter /bin/true\nflags: \noffset 2\nmagic 5a0000\n");
	cr_assert_eq(run(write_in("", "f", "xxZ", 3)), 0);
	assert_argv((const char *[]){"/bin/true", "/the/file", "one", "two"}, 4);
	cr_assert_eq(run(write_in("", "f", "xxz", 3)), 0);
	assert_untouched();
}

Test(binfmt, extension_needs_a_path)
{
	misc_status("enabled\n");
	registration("e", "enabled\ninterpreter /bin/true\nflags: \nextension .foo\n");
	const char *f = write_in("", "f", "anything", 8);
	char path[256];

	snprintf(path, sizeof(path), "%s", f);
	cr_assert_eq(run_stage(path, "/x/prog.foo"), 0);
	assert_argv((const char *[]){"/bin/true", "/the/file", "one", "two"}, 4);
	cr_assert_eq(run_stage(path, "/x/prog.foo.bar"), 0);
	assert_untouched();
	cr_assert_eq(run_stage(path, "/x.foo/prog"), 0, "the last dot of the path, as strrchr finds it");
	assert_untouched();
	cr_assert_eq(run_stage(path, NULL), 0, "a bare fd has no extension");
	assert_untouched();
}

Test(binfmt, flag_p_keeps_argv0_after_the_path)
{
	misc_status("enabled\n");
	registration("p", "enabled\ninterpreter /bin/true\nflags: P\noffset 0\nmagic 50\n");
	cr_assert_eq(run(write_in("", "f", "P", 1)), 0);
	assert_argv((const char *[]){"/bin/true", "/the/file", "./s", "one", "two"}, 5);
}

Test(binfmt, flag_f_opens_the_interpreter_when_the_stage_runs)
{
	char interp[256];

	misc_status("enabled\n");
	snprintf(interp, sizeof(interp), "%s/interp", dir);
	cr_assert_eq(symlink("/bin/true", interp), 0);
	char text[512];
	snprintf(text, sizeof(text), "enabled\ninterpreter %s\nflags: F\noffset 0\nmagic 46\n", interp);
	registration("f", text);
	cr_assert_eq(run(write_in("", "f", "F", 1)), 0, "%s", ctx.err.msg);
	assert_program_is(interp);
	/* the kernel would still have the file it opened at registration: we see the path as it is now */
	cr_assert_eq(unlink(interp), 0);
	cr_assert_eq(run(write_in("", "f", "F", 1)), -ENOENT);
	cr_assert(strstr(ctx.err.msg, interp), "%s", ctx.err.msg);
}

Test(binfmt, flags_c_and_o_are_refused_by_name)
{
	misc_status("enabled\n");
	registration("cred", "enabled\ninterpreter /bin/true\nflags: OC\noffset 0\nmagic 43\n");
	registration("open", "enabled\ninterpreter /bin/true\nflags: O\noffset 0\nmagic 4f\n");
	cr_assert_eq(run(write_in("", "f", "C", 1)), -EACCES);
	cr_assert(strstr(ctx.err.msg, "cred has flag C"), "%s", ctx.err.msg);
	cr_assert_eq(run(write_in("", "f", "O", 1)), -EACCES);
	cr_assert(strstr(ctx.err.msg, "open has flag O"), "%s", ctx.err.msg);
	cr_assert_eq(run(write_in("", "f", "X", 1)), 0, "entries that do not match are not refused");
	assert_untouched();
}

Test(binfmt, disabled_entries_and_binfmt_misc_off_match_nothing)
{
	const char *f;
	char path[256];

	registration("m", "disabled\ninterpreter /bin/true\nflags: \noffset 0\nmagic 4d\n");
	f = write_in("", "f", "M", 1);
	snprintf(path, sizeof(path), "%s", f);
	misc_status("enabled\n");
	cr_assert_eq(run(path), 0);
	assert_untouched();
	registration("m", "enabled\ninterpreter /bin/true\nflags: \noffset 0\nmagic 4d\n");
	cr_assert_eq(run(path), 0);
	cr_assert(ctx.exec_fd_owned, "the same entry enabled matches");
	misc_status("disabled\n");
	cr_assert_eq(run(path), 0);
	assert_untouched();
	cr_assert_eq(unlink(write_in("regs", "status", "", 0)), 0);
	cr_assert_eq(run(path), 0, "no status file: binfmt_misc is not mounted there");
	assert_untouched();
	misc_status("enabled\n");
	opt_v[1] = (struct pb_opt){.key = "enabled", .type = PB_OPT_BOOL, .b = false};
	opts.n = 2;
	cr_assert_eq(run(path), 0);
	assert_untouched();
}

Test(binfmt, malformed_entries_are_named)
{
	static const char *const bad[] = {
		"on\ninterpreter /bin/true\nflags: \noffset 0\nmagic 4d\n",
		"enabled\nflags: \noffset 0\nmagic 4d\n",
		"enabled\ninterpreter /bin/true\nflags: X\noffset 0\nmagic 4d\n",
		"enabled\ninterpreter /bin/true\nflags: \noffset 0\nmagic 4\n",
		"enabled\ninterpreter /bin/true\nflags: \noffset 0\nmagic 4d4d\nmask ff\n",
		"enabled\ninterpreter /bin/true\nflags: \noffset 255\nmagic 4d4d\n",
		"enabled\ninterpreter /bin/true\nflags: \n",
		"enabled\ninterpreter /bin/true\nflags: \nextension .x\noffset 0\nmagic 4d\n",
		"enabled\ninterpreter /bin/true\nflags: \nsize 3\n",
	};

	misc_status("enabled\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		registration("broken", bad[i]);
		cr_assert_eq(run(write_in("", "f", "M", 1)), -EINVAL, "case %zu", i);
		cr_assert(strstr(ctx.err.msg, "regs/broken"), "case %zu: %s", i, ctx.err.msg);
	}
}

Test(binfmt, a_missing_given_directory_is_an_error)
{
	opt_v[0].s = "/nonexistent/binfmt_misc";
	cr_assert_eq(run(write_in("", "f", "M", 1)), -ENOENT);
	cr_assert(strstr(ctx.err.msg, "/nonexistent/binfmt_misc"), "%s", ctx.err.msg);
}

/* Both stages, as the default pipeline runs them: binfmt, then script. */
static int run_both(const char *path)
{
	int r = run(path);

	ctx.stage = "script";
	return r < 0 ? r : pb_stage_script(&ctx, NULL);
}

Test(binfmt, tried_before_script_at_every_level)
{
	char interp[256], text[300];

	misc_status("enabled\n");
	/* the kernel's order: a magic "#!/nonexistent" runs its entry, not binfmt_script */
	registration("hash", "enabled\ninterpreter /bin/true\nflags: \noffset 0\nmagic 23212f6e6f6e\n");
	cr_assert_eq(run_both(write_in("", "f", "#!/nonexistent\n", 15)), 0, "%s", ctx.err.msg);
	assert_argv((const char *[]){"/bin/true", "/the/file", "one", "two"}, 4);
	/* a #! interpreter that an extension matches: binfmt at the second level */
	registration("ext", "enabled\ninterpreter /bin/true\nflags: \nextension .foo\n");
	snprintf(interp, sizeof(interp), "%s", write_in("", "x.foo", "data", 4));
	snprintf(text, sizeof(text), "#!%s -a\n", interp);
	cr_assert_eq(run_both(write_in("", "s", text, strlen(text))), 0, "%s", ctx.err.msg);
	assert_argv((const char *[]){"/bin/true", interp, "-a", "/the/file", "one", "two"}, 6);
	assert_program_is("/bin/true");
}

Test(binfmt, levels_count_with_scripts_then_eloop)
{
	char interp[256], text[512];

	misc_status("enabled\n");
	/* an interpreter its own extension matches: a level each time, then ELOOP */
	snprintf(interp, sizeof(interp), "%s/loop.lp", dir);
	write_in("", "loop.lp", "x", 1);
	snprintf(text, sizeof(text), "enabled\ninterpreter %s\nflags: \nextension .lp\n", interp);
	registration("loop", text);
	cr_assert_eq(run_stage(interp, interp), -ELOOP);
	cr_assert(strstr(ctx.err.msg, "5 levels"), "%s", ctx.err.msg);
	cr_assert_eq(ctx.exec_levels, 6);
}
