/* SPDX-License-Identifier: MIT */
/* The script stage alone, on scripts written here. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
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
	if (ctx.stage) /* the previous run's */
		pb_ctx_clear(&ctx);
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

/*
 * Against the kernel: the same file, execve'd. The interpreter named in the
 * #! line is a script of our own that prints its $0 and "$@" one a line, so
 * the kernel's split of the line shows as text: with the nesting, sh gets
 * [/bin/sh, INTERP, (ARG), FILE, one, two] and prints all but the first, which
 * must be the stage's argv[1..]. A refused execve must be the stage's errno.
 */
static const char dumper_text[] = "#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\"\n";

/* The kernel's verdict on path: its argv[1..] as lines in out, or the errno of execve. */
static int kernel_runs(const char *path, char *out, size_t size)
{
	int p[2], status, e = 0;
	size_t n = 0;
	ssize_t k;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		char *av[] = {"./s", "one", "two", NULL}, *ev[] = {NULL};
		dup2(p[1], 1);
		execve(path, av, ev);
		e = errno;
		dprintf(1, "%d", e);
		_exit(99);
	}
	close(p[1]);
	while (n + 1 < size && (k = read(p[0], out + n, size - 1 - n)) > 0)
		n += (size_t)k;
	out[n] = 0;
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 99 ? atoi(out) : 0;
}

/* Writes text (len bytes) as file "s", runs it both ways and asserts they agree. */
static void same_as_execve(const char *text, size_t len)
{
	char path[128], want[4096], got[4096] = "", *p = got;
	int e, fd, r;

	snprintf(path, sizeof(path), "%s/s", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	e = kernel_runs(path, want, sizeof(want));
	r = run(path);
	if (e) {
		cr_assert_eq(r, -e, "execve says %s, the stage %d (%s)", strerror(e), r, ctx.err.msg);
		return;
	}
	cr_assert_eq(r, 0, "execve ran it, the stage says %s", ctx.err.msg);
	cr_assert_str_eq(ctx.argv[0], "/bin/sh");
	for (size_t i = 1; i < ctx.argc; i++)
		p += sprintf(p, "%s\n", i == ctx.argc - 3 ? path : ctx.argv[i]);
	cr_assert_str_eq(got, want);
}

/* "#!" + name + rest, the name padded with leading slashes to end at byte `name_end`. */
static size_t shebang(char *buf, const char *name, size_t name_end, const char *rest, size_t rest_len)
{
	size_t len = strlen(name);

	cr_assert_geq(name_end, len + 2);
	memcpy(buf, "#!", 2);
	memset(buf + 2, '/', name_end - 2 - len);
	memcpy(buf + name_end - len, name, len);
	memcpy(buf + name_end, rest, rest_len);
	return name_end + rest_len;
}

static const char *dumper(void)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s", write_file("d", dumper_text));
	return path;
}

/* A line of `line` bytes (newline not counted) with or without an argument, with or without its newline. */
static void long_line(size_t line, bool with_arg, bool newline)
{
	char text[1024], rest[1024];
	const char *d = dumper();
	size_t name_end = with_arg ? 2 + strlen(d) : line, n;

	memset(rest, 'A', sizeof(rest));
	rest[0] = ' ';
	rest[line - name_end] = newline ? '\n' : 'B';
	memcpy(rest + line - name_end + 1, "echo body\n", 10);
	n = shebang(text, d, name_end, with_arg ? rest : rest + 1, line - name_end + 11 - !with_arg);
	same_as_execve(text, n);
}

Test(script, long_lines_as_execve_runs_them)
{
	static const size_t lines[] = {255, 256, 257, 400};

	for (size_t i = 0; i < 4; i++)
		for (int mask = 0; mask < 4; mask++)
			long_line(lines[i], mask & 1, mask & 2);
}

Test(script, name_ending_at_the_buffer_edge_as_execve)
{
	char text[600], rest[300];

	memset(rest, 'A', sizeof(rest));
	memcpy(rest, " x", 2);
	rest[250] = '\n';
	for (size_t end = 250; end <= 257; end++)
		same_as_execve(text, shebang(text, dumper(), end, rest, 251));
}

Test(script, line_longer_than_the_buffer_with_argument_is_cut)
{
	char text[400];
	const char *d = dumper();
	size_t n = shebang(text, d, 2 + strlen(d), " ", 1);

	memset(text + n, 'A', sizeof(text) - n);
	same_as_execve(text, sizeof(text));
	/* the kernel keeps 255 bytes of the line: the argument ends one byte before the buffer */
	cr_assert_eq(strlen(ctx.argv[2]), 255 - n, "%zu", strlen(ctx.argv[2]));
}

Test(script, name_cut_by_the_buffer_is_enoexec)
{
	char text[400];
	size_t n = shebang(text, dumper(), 300, "\n", 1);

	same_as_execve(text, n);
	cr_assert_eq(ctx.err.code, PB_EPARSE);
	cr_assert(strstr(ctx.err.msg, "cut"), "%s", ctx.err.msg);
}

static void text_as_execve(const char *fmt)
{
	char text[512];
	int n = snprintf(text, sizeof(text), fmt, dumper());

	same_as_execve(text, (size_t)n);
}

Test(script, blanks_tabs_and_cr_as_execve)
{
	text_as_execve("#!%s\t-a\tb \t\n");
	text_as_execve("#! \t %s  x  y \n");
	text_as_execve("#!%s -x\r\n");
	text_as_execve("#!%s\r\n");
	text_as_execve("#!%s");
}

Test(script, empty_interpreters_as_execve)
{
	char spaces[400];

	same_as_execve("#!", 2);
	same_as_execve("#!\n", 3);
	same_as_execve("#!   \n", 6);
	same_as_execve("#!  ", 4);
	same_as_execve("#!\0/bin/sh\n", 11);
	memset(spaces, ' ', sizeof(spaces));
	memcpy(spaces, "#!", 2);
	same_as_execve(spaces, sizeof(spaces));
}

Test(script, nul_ends_the_argument_as_execve)
{
	char text[256];
	int n = snprintf(text, sizeof(text), "#!%s -a", dumper());

	memcpy(text + n, "\0b c\n", 5);
	same_as_execve(text, (size_t)n + 5);
}
