/* SPDX-License-Identifier: MIT */
/* The script stage alone, on scripts written here. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "stages/script/script.h"
#include "tests/common/fakectx.h"

static struct pb_ctx ctx;
static char dir[] = "/tmp/pb-script-test-XXXXXX";
static char *argv0[] = {"./s", "one", "two"};

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	pb_ctx_clear(&ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	system(cmd);
}

TestSuite(script, .init = setup, .fini = teardown);

static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int run(const char *path)
{
	fake_ctx(&ctx);
	ctx.exec_fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(ctx.exec_fd, 0);
	ctx.exec_name = ctx.execfn = "/the/script";
	ctx.argv = argv0;
	ctx.argc = 3;
	ctx.stage = "script";
	return pb_stage_script(&ctx, NULL);
}

static void assert_argv(const char *const *want, size_t n)
{
	cr_assert_eq(ctx.argc, n, "argc %zu", ctx.argc);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(ctx.argv[i], want[i], "argv[%zu]", i);
}

Test(script, not_a_script_passes_through)
{
	int fd;

	cr_assert_eq(run("/bin/true"), 0);
	fd = ctx.exec_fd;
	cr_assert_not(ctx.exec_fd_owned);
	cr_assert_eq(ctx.argv, argv0);
	close(fd);
}

Test(script, interpreter_and_one_argument)
{
	int script_fd;

	cr_assert_eq(run(write_file("s", "#!  /bin/sh   -e  -x \t \necho\n")), 0, "%s", ctx.err.msg);
	assert_argv((const char *[]){"/bin/sh", "-e  -x", "/the/script", "one", "two"}, 5);
	cr_assert(ctx.exec_fd_owned);
	cr_assert_str_eq(ctx.execfn, "/the/script", "AT_EXECFN stays the script");
	script_fd = open("/bin/sh", O_RDONLY);
	close(script_fd);
}

Test(script, no_newline_and_no_argument)
{
	cr_assert_eq(run(write_file("s", "#!/bin/sh")), 0, "%s", ctx.err.msg);
	assert_argv((const char *[]){"/bin/sh", "/the/script", "one", "two"}, 4);
}

Test(script, nested_scripts)
{
	char inner[128];

	snprintf(inner, sizeof(inner), "%s", write_file("inner", "#!/bin/sh -x\n"));
	char text[200];
	snprintf(text, sizeof(text), "#!%s\n", inner);
	cr_assert_eq(run(write_file("outer", text)), 0, "%s", ctx.err.msg);
	/* outer -> inner -> /bin/sh: inner's line applies to inner's path */
	assert_argv((const char *[]){"/bin/sh", "-x", inner, "/the/script", "one", "two"}, 6);
}

Test(script, five_levels_then_eloop)
{
	char prev[128] = "/bin/sh", text[200], name[16];

	for (int i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "#!%s\n", prev);
		snprintf(name, sizeof(name), "l%d", i);
		snprintf(prev, sizeof(prev), "%s", write_file(name, text));
	}
	cr_assert_eq(run(prev), -ELOOP);
	cr_assert_str_eq(ctx.err.stage, "script");
	cr_assert(strstr(ctx.err.msg, "levels"), "%s", ctx.err.msg);
}

Test(script, missing_interpreter_is_enoent)
{
	cr_assert_eq(run(write_file("s", "#!/nonexistent/interp\n")), -ENOENT);
	cr_assert(strstr(ctx.err.msg, "/nonexistent/interp"), "%s", ctx.err.msg);
}

Test(script, empty_line_is_enoexec)
{
	cr_assert_eq(run(write_file("s", "#!   \n")), -ENOEXEC);
	cr_assert_eq(ctx.err.code, PB_EPARSE);
}

Test(script, line_longer_than_the_buffer)
{
	char text[400];

	memset(text, 'a', sizeof(text));
	memcpy(text, "#!/", 3);
	text[sizeof(text) - 1] = 0;
	cr_assert_eq(run(write_file("s", text)), -ENOEXEC);
	cr_assert(strstr(ctx.err.msg, "256"), "%s", ctx.err.msg);
}
