/* SPDX-License-Identifier: MIT */
/*
 * The personality (pb_set_personality; run's --personality and setarch's
 * flag names): what the program reads from /proc/self/personality and
 * uname equals what setarch and fork + personality + execve give it, in
 * place and spawned (a 64-bit exec clears READ_IMPLIES_EXEC: so do we).
 * The flags that change the layout are refused unless we run with them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/built.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define SETARCH "/usr/bin/setarch"

static char *env[] = {"PATH=/usr/bin:/bin", NULL};

static char *output_of(const char *cmd)
{
	struct run_result r;
	char *out;

	cr_assert_eq(run_cmd((char *[]){"/bin/sh", "-c", (char *)cmd, NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s: %s", cmd, r.err);
	out = strdup(r.out);
	run_result_free(&r);
	return out;
}

/* "setarch ARGS PROG" against "procbuilder run [--spawn] OPTS PROG". */
static void same_as_setarch(const char *setarch_args, const char *opts, const char *prog, const char *want)
{
	char cmd[512], *ref, *got;

	snprintf(cmd, sizeof(cmd), "%s %s %s", SETARCH, setarch_args, prog);
	ref = output_of(cmd);
	cr_assert_str_eq(ref, want, "%s", cmd);
	for (int spawn = 0; spawn < 2; spawn++) {
		snprintf(cmd, sizeof(cmd), "%s run%s %s %s", PB, spawn ? " --spawn" : "", opts, prog);
		got = output_of(cmd);
		cr_assert_str_eq(got, ref, "%s: %s, setarch %s: %s", cmd, got, setarch_args, ref);
		free(got);
	}
	free(ref);
}

Test(persona, like_setarch)
{
	if (access(SETARCH, X_OK) != 0)
		cr_skip_test("needs setarch");
	same_as_setarch("x86_64 -X -S -T --uname-2.6", "--read-implies-exec --whole-seconds --sticky-timeouts --uname-2.6",
			"cat /proc/self/personality", "06020000\n");
	same_as_setarch("x86_64 -I -F", "--short-inode --fdpic-funcptrs", "cat /proc/self/personality", "01080000\n");
	same_as_setarch("linux32", "--personality 0x0008", "uname -m", "i686\n");
	/* the layout bits, as we have them: planned under them, kept */
	{
		char *ref = output_of(SETARCH " x86_64 -R cat /proc/self/personality");
		char *got = output_of(SETARCH " x86_64 -R " PB " run --addr-no-randomize cat /proc/self/personality");
		cr_assert_str_eq(ref, "00040000\n");
		cr_assert_str_eq(got, ref);
		free(ref);
		free(got);
	}
}

/* fork, personality, execve: the reference for the library. */
Test(persona, library_like_fork_personality_execve)
{
	unsigned long want = UNAME26 | READ_IMPLIES_EXEC | WHOLE_SECONDS;
	struct pb_builder *b;
	struct pb_error err;
	char *out = NULL, ref[64] = "";
	int p[2], status, fd;
	ssize_t n;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		if (personality(want) < 0)
			_exit(99);
		execve("/bin/cat", (char *[]){"cat", "/proc/self/personality", NULL}, env);
		_exit(98);
	}
	close(p[1]);
	n = read(p[0], ref, sizeof(ref) - 1);
	close(p[0]);
	cr_assert_gt(n, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_str_eq(ref, "02020000\n", "execve keeps all but READ_IMPLIES_EXEC");
	fd = open("/bin/cat", O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pb_builder_new("cat", -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	cr_assert_eq(pb_add_arguments(b, (const char *[]){"cat", "/proc/self/personality"}, 2), 0);
	cr_assert_eq(pb_set_personality(b, want), 0);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out, ref);
	free(out);
	pb_builder_free(b);
}

Test(persona, layout_bits_refused_when_set)
{
	unsigned long ours = (unsigned long)personality(0xffffffff);
	const unsigned long layout[] = {ADDR_NO_RANDOMIZE, ADDR_COMPAT_LAYOUT, MMAP_PAGE_ZERO, ADDR_LIMIT_32BIT,
					ADDR_LIMIT_3GB};
	struct pb_builder *b;
	struct pb_error err;
	struct run_result r;
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);

	cr_assert_eq(pb_builder_new_self("true", -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++)
		cr_assert_eq(pb_set_personality(b, ours ^ layout[i]), -EOPNOTSUPP, "0x%lx", layout[i]);
	cr_assert_eq(pb_set_personality(b, 0xffffffff), -EINVAL);
	cr_assert_eq(pb_set_personality(b, ours | UNAME26), 0);
	pb_builder_free(b);
	cr_assert_eq(run_cmd((char *[]){PB, "run", "--addr-no-randomize", "/bin/echo", "ran", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 125, "%s%s", r.out, r.err);
	cr_assert(strstr(r.err, "changes where the program is placed") && strstr(r.err, "under setarch"), "%s", r.err);
	cr_assert_eq(r.out_len, 0);
	run_result_free(&r);
}
