/* SPDX-License-Identifier: MIT */
/*
 * Files in every format the kernel (and execvp) runs, through `procbuilder run`
 * and directly: #! lines at the edge of the kernel's 256-byte buffer, files the
 * kernel refuses with ENOEXEC (execvp then runs /bin/sh FILE ARGS...), and
 * 32-bit i386 programs (refused in one line). Tests run from the source root.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "tests/common/elfgen.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"

static char dir[] = "/tmp/pb-formats-XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

#define MISC "/proc/sys/fs/binfmt_misc"

/* The binfmt_misc entries a test registered: global to the machine, so removed after every test. */
static char registered[2][64];
static bool mounted_misc;

static void unregister_all(void)
{
	for (int i = 0; i < 2; i++) {
		char path[sizeof(MISC) + sizeof(registered[i])];
		int fd;

		if (!registered[i][0])
			continue;
		snprintf(path, sizeof(path), MISC "/%.63s", registered[i]);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			cr_expect_eq(write(fd, "-1", 2), 2, "removing %s", path);
			close(fd);
		}
		registered[i][0] = 0;
	}
	if (mounted_misc)
		umount2(MISC, MNT_DETACH);
	mounted_misc = false;
}

static void teardown(void)
{
	char cmd[64];

	unregister_all();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(formats, .init = setup, .fini = teardown);

/* dir/name holding bytes; the path stays valid until the next call. */
static const char *write_bytes(const char *name, const void *bytes, size_t len)
{
	static char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, bytes, len), (ssize_t)len);
	close(fd);
	return p;
}

static struct run_result run(char *const argv[])
{
	struct run_result r;

	cr_assert_eq(run_cmd(argv, (char *[]){"PATH=/usr/bin:/bin", NULL}, &r), 0);
	return r;
}

/*
 * `procbuilder run [--spawn] FILE one two` and `env FILE one two` (execvp, which
 * run claims to follow) end the same: status, stdout, and stderr too when the
 * file ran; a failure is one line of ours.
 */
static void same_as_execvp(const char *file)
{
	struct run_result want = run((char *[]){"/usr/bin/env", (char *)file, "one", "two", NULL});

	for (int spawn = 0; spawn < 2; spawn++) {
		char *in_place[] = {PB, "run", (char *)file, "one", "two", NULL};
		char *spawned[] = {PB, "run", "--spawn", (char *)file, "one", "two", NULL};
		struct run_result got = run(spawn ? spawned : in_place);

		cr_assert_eq(got.status, want.status, "%s%s: env %d (%s), procbuilder %d (%s)", file,
			     spawn ? " (spawned)" : "", want.status, want.err, got.status, got.err);
		cr_assert_str_eq(got.out, want.out, "%s", file);
		if (want.exit_code == 126 || want.exit_code == 127)
			cr_assert(strchr(got.err, '\n') == got.err + got.err_len - 1, "one line: %s", got.err);
		else
			cr_assert_str_eq(got.err, want.err, "%s", file);
		run_result_free(&got);
	}
	run_result_free(&want);
}

/* An interpreter of ours: prints its $0 and "$@" one a line, and something on stderr. */
static const char *dumper(void)
{
	static const char text[] = "#!/bin/sh\nprintf '%s\\n' \"$0\" \"$@\"\necho err >&2\nexit 7\n";
	static char path[128];

	return strcpy(path, write_bytes("d", text, sizeof(text) - 1));
}

/* "#!" + d padded with leading slashes to end at byte name_end, then rest. */
static size_t shebang(char *buf, const char *d, size_t name_end, const char *rest, size_t rest_len)
{
	size_t len = strlen(d);

	memcpy(buf, "#!", 2);
	memset(buf + 2, '/', name_end - 2 - len);
	memcpy(buf + name_end - len, d, len);
	memcpy(buf + name_end, rest, rest_len);
	return name_end + rest_len;
}

Test(formats, long_shebang_lines_as_the_kernel_reads_them)
{
	static const size_t lines[] = {255, 256, 257, 400};
	const char *d = dumper();
	char text[1024], rest[1024];

	for (size_t i = 0; i < 4; i++) {
		for (int with_arg = 0; with_arg < 2; with_arg++) {
			size_t line = lines[i], name_end = with_arg ? 2 + strlen(d) : line;
			const char *tail = "\necho body\n";
			memset(rest, 'A', sizeof(rest));
			rest[0] = ' ';
			memcpy(rest + line - name_end, tail, strlen(tail));
			/* without an argument: a name of `line` bytes, which the kernel cuts (ENOEXEC) from 256 on */
			same_as_execvp(write_bytes("s", text, shebang(text, d, name_end, with_arg ? rest : rest + 1,
								       line - name_end + strlen(tail) - !with_arg)));
		}
	}
}

Test(formats, shebang_blanks_cr_and_empty_interpreters)
{
	const char *d = dumper();
	static const char *const fmts[] = {"#!%s\t-a\tb \t\n", "#!%s -x\r\n", "#!%s\r\n", "#!%s"};
	char text[512];

	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		snprintf(text, sizeof(text), fmts[i], d);
		same_as_execvp(write_bytes("s", text, strlen(text)));
	}
	same_as_execvp(write_bytes("s", "#!", 2));
	same_as_execvp(write_bytes("s", "#!\n", 3));
	same_as_execvp(write_bytes("s", "#!   \necho body\n", 16));
	same_as_execvp(write_bytes("s", "#!/nonexistent/interp\n", 22));
}

Test(formats, too_many_nested_interpreters_as_execvp)
{
	char prev[128] = "/bin/sh", text[160], name[16];

	for (int i = 0; i < 6; i++) {
		snprintf(text, sizeof(text), "#!%s\necho level %d\n", prev, i);
		snprintf(name, sizeof(name), "l%d", i);
		strcpy(prev, write_bytes(name, text, strlen(text)));
		same_as_execvp(prev); /* 5 levels run, the 6th is ELOOP */
	}
}

Test(formats, enoexec_files_run_with_sh_as_execvp_runs_them)
{
	static const char no_shebang[] = "echo \"[$0]\" \"$@\"\necho to-stderr >&2\nexit 3\n";
	char text[256];
	char plain[128];

	strcpy(plain, write_bytes("plain", no_shebang, sizeof(no_shebang) - 1));

	same_as_execvp(plain);
	same_as_execvp(write_bytes("empty", "", 0));
	same_as_execvp(write_bytes("garbage", "\x01\x02\x03 not a program\n", 19));
	/* a #! interpreter the kernel refuses: the whole execve is ENOEXEC, and sh runs the script */
	snprintf(text, sizeof(text), "#!%s\necho via\n", plain);
	same_as_execvp(write_bytes("s", text, strlen(text)));
}

/* Files the kernel runs but the parse stage refuses are not scripts for /bin/sh: they stay refused. */
Test(formats, refused_elf_files_the_kernel_runs_get_no_sh_fallback)
{
	struct elfgen g;
	char path[128];
	struct run_result direct, r;

	for (int i = 0; i < 2; i++) {
		elfgen_static_exec(&g, 42);
		if (i == 0)
			g.eh.e_ident[EI_DATA] = ELFDATA2MSB; /* binfmt_elf does not look: it runs */
		else
			g.eh.e_ident[EI_VERSION] = 7; /* only strict parsing refuses it */
		strcpy(path, write_bytes("elf", elfgen_bytes(&g), g.size));
		cr_assert_eq(run_cmd_filtered(NULL, (char *[]){path, NULL}, NULL, &direct), 0);
		cr_assert_eq(direct.exit_code, 42, "case %d: the kernel runs it", i);
		r = run((char *[]){PB, "run", path, NULL});
		cr_assert_eq(r.exit_code, 126, "case %d: %s", i, r.err);
		cr_assert(strstr(r.err, "procbuilder: parse: "), "case %d: %s", i, r.err);
		cr_assert_str_eq(r.out, "");
		run_result_free(&r);
		run_result_free(&direct);
	}
}

Test(formats, enoexec_fallback_finds_prog_in_path_as_execvp)
{
	static const char text[] = "echo \"[$0]\" \"$@\"\n";
	char path_env[128];
	struct run_result want, got;

	write_bytes("prog", text, sizeof(text) - 1);
	snprintf(path_env, sizeof(path_env), "PATH=%s:/usr/bin:/bin", dir);
	cr_assert_eq(run_cmd((char *[]){"/usr/bin/env", "prog", "x", NULL}, (char *[]){path_env, NULL}, &want), 0);
	cr_assert_eq(run_cmd((char *[]){PB, "run", "--argv0", "ignored", "prog", "x", NULL},
			     (char *[]){path_env, NULL}, &got), 0);
	cr_assert_eq(want.exit_code, 0, "%s", want.err);
	cr_assert_str_eq(got.out, want.out, "%s", got.err);
	cr_assert_eq(got.status, want.status);
	run_result_free(&want);
	run_result_free(&got);
}

Test(formats, run_help_describes_the_sh_fallback)
{
	struct run_result r = run((char *[]){PB, "run", "--help", NULL});

	cr_assert(strstr(r.out, "/bin/sh PROG ARGS"), "%s", r.out);
	run_result_free(&r);
}

/*
 * A static i386 program of 96 bytes: an ELF32 header, one PT_LOAD of the
 * whole file at 0x08048000, and code that does exit(42) with int 0x80.
 */
static size_t i386_exit42(uint8_t out[96])
{
	static const uint8_t code[] = {0xb8, 1, 0, 0, 0, 0xbb, 42, 0, 0, 0, 0xcd, 0x80};
	const uint32_t base = 0x08048000, size = 84 + sizeof(code);
	const uint16_t h16[] = {2, 3}, h16b[] = {52, 32, 1, 0, 0, 0};
	const uint32_t h32[] = {1, base + 84, 52, 0, 0};
	const uint32_t ph[] = {1, 0, base, base, size, size, 5, 0x1000};

	memset(out, 0, 96);
	memcpy(out, "\x7f" "ELF\x01\x01\x01", 7);
	memcpy(out + 16, h16, sizeof(h16));
	memcpy(out + 20, h32, sizeof(h32));
	memcpy(out + 40, h16b, sizeof(h16b));
	memcpy(out + 52, ph, sizeof(ph));
	memcpy(out + 84, code, sizeof(code));
	return size;
}

Test(formats, i386_programs_are_refused_in_one_line)
{
	uint8_t elf[96];
	const char *path = write_bytes("i386", elf, i386_exit42(elf));
	char want[256];
	struct run_result direct, r;

	/* the kernel runs it (where IA32 emulation is on): the refusal is about us, not the file */
	cr_assert_eq(run_cmd_filtered(NULL, (char *[]){(char *)path, NULL}, NULL, &direct), 0);
	if (direct.exit_code == 98)
		cr_skip_test("this kernel does not run i386 programs");
	cr_assert_eq(direct.exit_code, 42);
	for (int spawn = 0; spawn < 2; spawn++) {
		r = run(spawn ? (char *[]){PB, "run", "--spawn", (char *)path, NULL}
			      : (char *[]){PB, "run", (char *)path, NULL});
		snprintf(want, sizeof(want),
			 "procbuilder: parse: %s: 32-bit (i386) programs need the kernel's exec; run it directly\n", path);
		cr_assert_eq(r.exit_code, 126, "%s", r.err);
		cr_assert_str_eq(r.err, want);
		cr_assert_str_eq(r.out, "", "no sh fallback: the kernel does not refuse it");
		run_result_free(&r);
	}
	run_result_free(&direct);
}

/* binfmt_misc at MISC, mounted if it was not; false where it cannot be (not root, no binfmt_misc). */
static bool have_binfmt_misc(void)
{
	if (access(MISC "/register", W_OK) == 0)
		return true;
	if (geteuid() != 0 || mount("binfmt_misc", MISC, "binfmt_misc", 0, NULL) < 0)
		return false;
	mounted_misc = true;
	return access(MISC "/register", W_OK) == 0;
}

/* Registers ":name:rest" (name remembered first, so teardown removes it whatever happens next). */
static void register_misc(int slot, const char *name, const char *rest)
{
	char line[512];
	int fd = open(MISC "/register", O_WRONLY | O_CLOEXEC);
	int n = snprintf(line, sizeof(line), ":%s:%s", name, rest);

	cr_assert_geq(fd, 0);
	snprintf(registered[slot], sizeof(registered[slot]), "%s", name);
	cr_assert_eq(write(fd, line, (size_t)n), n, "registering %s: %s", line, strerror(errno));
	close(fd);
}

/*
 * A real registration (a magic, and an extension with flag P) whose
 * interpreter is a script of ours: run and execve (env) give the same.
 */
Test(formats, binfmt_misc_registrations_as_execve_runs_them)
{
	char name[2][64], rest[512], magic_file[128], ext_file[128], d[128], text[64];
	int pid = getpid();

	if (!have_binfmt_misc())
		cr_skip_test("binfmt_misc cannot be mounted here (needs root and the module)");
	strcpy(d, dumper());
	snprintf(name[0], sizeof(name[0]), "pbtest-%d", pid);
	snprintf(name[1], sizeof(name[1]), "pbtestx-%d", pid);
	snprintf(rest, sizeof(rest), "M::PBTEST-%d::%s:", pid, d);
	register_misc(0, name[0], rest);
	snprintf(rest, sizeof(rest), "E::pbt%d::%s:P", pid, d);
	register_misc(1, name[1], rest);

	snprintf(text, sizeof(text), "PBTEST-%d and more\n", pid);
	strcpy(magic_file, write_bytes("magic", text, strlen(text)));
	same_as_execvp(magic_file);
	snprintf(text, sizeof(text), "x.pbt%d", pid);
	strcpy(ext_file, write_bytes(text, "anything\n", 9));
	same_as_execvp(ext_file);
	/* the interpreter really ran: with P, argv[0] (the path env gave) follows the path */
	struct run_result r = run((char *[]){PB, "run", ext_file, "one", NULL});
	char want[512];
	snprintf(want, sizeof(want), "%s\n%s\n%s\none\n", d, ext_file, ext_file);
	cr_assert_str_eq(r.out, want, "%s", r.err);
	run_result_free(&r);
}
