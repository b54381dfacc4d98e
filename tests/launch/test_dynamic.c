/* SPDX-License-Identifier: MIT */
/*
 * Dynamic programs: the interp, reserve and vdso stages, on the machine's own
 * programs and the helper, against plain execve.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/elfgen.h"
#include "tests/common/proc.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H_DYN "build/tests/helpers/pbhelper-dynamic"
#define LDSO "/lib64/ld-linux-x86-64.so.2"

static char *env[] = {"A=1", "LANG=C", "PATH=/usr/bin:/bin", NULL};

/* Same stdout, stderr and status as when started directly. */
static void assert_same_run(char **args)
{
	char *pbargv[32] = {PB, "run", "--"};
	struct run_result d, b;
	int n = 3;

	for (int i = 0; args[i]; i++)
		pbargv[n++] = args[i];
	cr_assert_eq(run_cmd(args, env, &d), 0);
	cr_assert_eq(run_cmd(pbargv, env, &b), 0);
	cr_assert_eq(b.exit_code, d.exit_code, "%s: status %d vs %d: %s", args[0], b.exit_code, d.exit_code, b.err);
	cr_assert_str_eq(b.out, d.out, "%s stdout:\n--- execve\n%s\n--- procbuilder\n%s", args[0], d.out, b.out);
	cr_assert_str_eq(b.err, d.err, "%s stderr:\n--- execve\n%s\n--- procbuilder\n%s", args[0], d.err, b.err);
	run_result_free(&d);
	run_result_free(&b);
}

Test(dynamic, true_false) { assert_same_run((char *[]){"/bin/true", NULL}); assert_same_run((char *[]){"/bin/false", NULL}); }
Test(dynamic, ls) { assert_same_run((char *[]){"/bin/ls", "-l", "/usr", NULL}); }
Test(dynamic, bash) { assert_same_run((char *[]){"/bin/bash", "-c", "echo $0 \"$@\"", "a", "b", NULL}); }
Test(dynamic, perl) { assert_same_run((char *[]){"/usr/bin/perl", "-e", "print \"$0 @ARGV\\n\"", "x", "y", NULL}); }
Test(dynamic, env) { assert_same_run((char *[]){"/usr/bin/env", NULL}); }
Test(dynamic, cmdline) { assert_same_run((char *[]){"/bin/cat", "/proc/self/cmdline", NULL}); }
Test(dynamic, python3)
{
	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("no /usr/bin/python3 on this machine");
	assert_same_run((char *[]){"/usr/bin/python3", "-c", "import sys; print(sys.argv)", NULL});
}
Test(dynamic, ld_show_auxv_keys)
{
	char *a[] = {"/bin/sh", "-c", "LD_SHOW_AUXV=1 /bin/true | cut -d: -f1", NULL};
	char *b[] = {PB, "run", "-e", "LD_SHOW_AUXV=1", "/bin/true", NULL};
	struct run_result d, p;

	cr_assert_eq(run_cmd(a, env, &d), 0);
	cr_assert_eq(run_cmd(b, env, &p), 0);
	cr_assert(strstr(p.out, "AT_SYSINFO_EHDR") && strstr(p.out, "AT_BASE"), "%s", p.out);
	for (char *line = strtok(p.out, "\n"), *q = d.out; line; line = strtok(NULL, "\n")) {
		size_t len = strcspn(line, ":");
		cr_assert(strncmp(q, line, len) == 0 && q[len] == '\n', "auxv key %.*s out of order", (int)len, line);
		q += len + 1;
	}
	run_result_free(&d);
	run_result_free(&p);
}

Test(dynamic, ld_debug_libs)
{
	struct run_result r;

	cr_assert_eq(run_cmd((char *[]){PB, "run", "-e", "LD_DEBUG=libs", "/bin/true", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 0);
	cr_assert(strstr(r.err, "find library=libc.so.6"), "%s", r.err);
	run_result_free(&r);
}

Test(dynamic, helper_view_is_execves)
{
	char *args[] = {H_DYN, "report", "one", "two", NULL};
	char *pbargv[] = {PB, "run", H_DYN, "report", "one", "two", NULL};
	struct run_result d, b;

	cr_assert_eq(run_cmd(args, env, &d), 0);
	cr_assert_eq(run_cmd(pbargv, env, &b), 0);
	cr_assert_str_eq(b.out, d.out, "--- execve\n%s\n--- procbuilder\n%s", d.out, b.out);
	/* the seed's correct_handles_present: 0, 1, 2 and nothing of ours */
	cr_assert(strstr(b.out, "\"fds\": [0,1,2]"), "%s", b.out);
	cr_assert(strstr(b.out, "\"at_base_set\": true"), "%s", b.out);
	cr_assert(strstr(b.out, "\"stack_layout\": \"\""), "%s", b.out);
	run_result_free(&d);
	run_result_free(&b);
}

/* Builds path through the API with a configured builder; leaves it built, not started. */
typedef void (*setup_fn)(struct pb_builder *b);

static int build_with(const char *path, setup_fn setup, struct pb_built **ret, struct pb_error *err)
{
	struct pb_builder *b;
	const char *argv[] = {path};
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	cr_assert_geq(fd, 0, "%s", path);
	r = pb_builder_new(path, -1, fd, &b, err);
	close(fd);
	cr_assert_eq(r, 0, "%s", err->msg);
	pb_add_arguments(b, argv, 1);
	if (setup)
		setup(b);
	r = pb_build(b, ret, err);
	pb_builder_free(b);
	return r;
}

static char *maps_of(const struct pb_built *p)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/maps", pb_built_info(p)->pid);
	return slurp(path);
}

static int start_and_wait(struct pb_built *p)
{
	struct pb_error err;
	int status;

	cr_assert_eq(pb_start(p, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_wait(p, &status), 0);
	pb_built_free(p);
	cr_assert(no_children());
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The seed's verify_low_address_range_reserved, and zero residue for a dynamic program. */
Test(seed, verify_low_address_range_reserved)
{
	struct pb_built *p;
	struct pb_error err;
	char *maps, *line;

	cr_assert_eq(build_with("/bin/true", NULL, &p, &err), 0, "%s: %s", err.stage, err.msg);
	maps = maps_of(p);
	for (line = strtok(maps, "\n"); line; line = strtok(NULL, "\n")) {
		unsigned long long lo;
		const char *name = strrchr(line, ' ') + 1;
		sscanf(line, "%llx", &lo);
		cr_assert_geq(lo, 0x400000000000ull, "a mapping in the low half: %s", line);
		cr_assert_null(strstr(line, "---p"), "a reservation is left: %s", line);
		cr_assert(strstr(line, "/usr/bin/true") || strstr(line, "ld-linux-x86-64") ||
			  strcmp(name, "[stack]") == 0 || strcmp(name, "[vdso]") == 0 ||
			  strncmp(name, "[vvar", 5) == 0 || strcmp(name, "[vsyscall]") == 0 ||
			  (*name == 0 && strstr(line, "rw-p")),
			  "unexpected mapping: %s", line);
	}
	free(maps);
	cr_assert_eq(start_and_wait(p), 0);
}

static void keep_low_half(struct pb_builder *b) { pb_set_reservation(b, "low-half", 1); }

Test(reserve, keep_holds_until_start)
{
	struct pb_built *p;
	struct pb_error err;
	char *maps;

	cr_assert_eq(build_with("/bin/true", keep_low_half, &p, &err), 0, "%s: %s", err.stage, err.msg);
	maps = maps_of(p);
	cr_assert(strstr(maps, "---p"), "the reservation should still be there:\n%s", maps);
	free(maps);
	cr_assert_eq(start_and_wait(p), 0);
}

Test(reserve, a_real_asan_program_runs_with_its_shadow_free)
{
	struct run_result r;

	cr_assert_eq(run_cmd((char *[]){PB, "run", "--reserve", "asan", "--keep-reservation",
					"build/tests/helpers/asanprog", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "ok 1\n");
	run_result_free(&r);
	cr_assert_eq(run_cmd((char *[]){PB, "run", "build/tests/helpers/asanprog", "overflow", NULL}, env, &r), 0);
	cr_assert_neq(r.exit_code, 0);
	cr_assert(strstr(r.err, "ERROR: AddressSanitizer: heap-buffer-overflow"), "%s", r.err);
	run_result_free(&r);
}

/* ---- interpreters ---- */

static void no_loader(struct pb_builder *b) { pb_set_interp_resolver(b, PB_INTERP_NONE, -1); }

Test(seed, start_util_with_no_loader_fails)
{
	struct pb_built *p = NULL;
	struct pb_error err;

	cr_assert_eq(build_with(H_DYN, no_loader, &p, &err), -EINVAL);
	cr_assert_eq(err.code, PB_ELOADER_MISSING, "%s: %s", err.stage, err.msg);
	cr_assert_str_eq(err.stage, "interp");
	cr_assert_null(p);
	cr_assert(no_children());
}

static void loader_fd(struct pb_builder *b)
{
	int fd = open(LDSO, O_RDONLY | O_CLOEXEC);

	cr_assert_eq(pb_set_interp_resolver(b, PB_INTERP_FD, fd), 0);
	close(fd);
}

Test(seed, set_loader_directly)
{
	struct pb_built *p;
	struct pb_error err;

	cr_assert_eq(build_with(H_DYN, loader_fd, &p, &err), 0, "%s: %s", err.stage, err.msg);
	cr_assert_neq(pb_built_info(p)->interp_base, 0);
	cr_assert_eq(start_and_wait(p), 2, "the helper without a mode exits 2");
}

static char sysroot_dir[64];
static void use_sysroot(struct pb_builder *b)
{
	int fd = open(sysroot_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	cr_assert_eq(pb_set_interp_resolver(b, PB_INTERP_SYSROOT, fd), 0);
	close(fd);
}

Test(interp, sysroot_resolves_inside_the_directory)
{
	char lib[128], cmd[400];
	struct pb_built *p;
	struct pb_error err;

	strcpy(sysroot_dir, "/tmp/pb-sysroot-XXXXXX");
	cr_assert_not_null(mkdtemp(sysroot_dir));
	/* empty: the interpreter is not found there, even though the host has it */
	cr_assert_eq(build_with(H_DYN, use_sysroot, &p, &err), -ENOENT, "%s", err.msg);
	cr_assert_str_eq(err.stage, "interp");
	cr_assert(no_children());
	snprintf(lib, sizeof(lib), "%s/lib64", sysroot_dir);
	mkdir(lib, 0755);
	snprintf(cmd, sizeof(cmd), "cp %s %s/", LDSO, lib);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(build_with(H_DYN, use_sysroot, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(start_and_wait(p), 2);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", sysroot_dir);
	system(cmd);
}

static int build_image(struct elfgen *g, struct pb_built **ret, struct pb_error *err)
{
	struct pb_builder *b;
	int fd = elfgen_fd(g), r;

	r = pb_builder_new("gen", -1, fd, &b, err);
	close(fd);
	cr_assert_eq(r, 0, "%s", err->msg);
	r = pb_build(b, ret, err);
	pb_builder_free(b);
	return r;
}

Test(interp, missing_interpreter_is_enoent_like_execve)
{
	struct elfgen g;
	struct pb_built *p = NULL;
	struct pb_error err;
	int fds = count_open_fds();

	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/nonexistent/ld.so");
	cr_assert_eq(build_image(&g, &p, &err), -ENOENT);
	cr_assert_eq(err.code, PB_ESYS);
	cr_assert_str_eq(err.stage, "interp");
	cr_assert(strstr(err.msg, "/nonexistent/ld.so"), "%s", err.msg);
	cr_assert(no_children());
	cr_assert_eq(count_open_fds(), fds);
}

Test(interp, bad_interpreter_is_elibbad)
{
	struct elfgen g;
	struct pb_built *p = NULL;
	struct pb_error err;

	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/bin/sh"); /* dash: a dynamic program, with an interpreter of its own */
	cr_assert_eq(build_image(&g, &p, &err), -ELIBBAD, "%s", err.msg);
	cr_assert_eq(err.code, PB_EINTERP);
	cr_assert(strstr(err.msg, "interpreter of its own"), "%s", err.msg);
	elfgen_static_pie(&g, 0);
	elfgen_add_interp(&g, "/etc/passwd"); /* not executable */
	cr_assert_eq(build_image(&g, &p, &err), -EACCES, "%s", err.msg);
	cr_assert(no_children());
}

/* ---- vDSO ---- */

static void vdso_none(struct pb_builder *b) { pb_set_vdso(b, PB_VDSO_NONE, -1); }

Test(vdso, none_removes_it_and_programs_still_run)
{
	struct pb_built *p;
	struct pb_error err;
	char *maps;
	struct run_result r;

	cr_assert_eq(build_with("/bin/true", vdso_none, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_built_info(p)->vdso_base, 0);
	maps = maps_of(p);
	cr_assert_null(strstr(maps, "[vdso]"), "%s", maps);
	cr_assert_null(strstr(maps, "[vvar"), "%s", maps);
	free(maps);
	cr_assert_eq(start_and_wait(p), 0);
	cr_assert_eq(run_cmd((char *[]){PB, "run", "--vdso", "none", H_DYN, "report", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"auxv_keys\": [51,"), "no AT_SYSINFO_EHDR first: %s", r.out);
	run_result_free(&r);
	cr_assert_eq(run_cmd((char *[]){PB, "run", "--vdso", "none", "/bin/date", "+%Y", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "clock_gettime falls back to the system call: %s", r.err);
	run_result_free(&r);
}

static int custom_vdso_fd = -1;
static void vdso_custom(struct pb_builder *b) { cr_assert_eq(pb_set_vdso(b, PB_VDSO_CUSTOM, custom_vdso_fd), 0); }

/* A copy of the system vDSO, from our own memory. */
static int dump_system_vdso(char *path)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)getauxval(AT_SYSINFO_EHDR);
	size_t size = 0;
	int fd = mkstemp(path);

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff) + i;
		if (ph->p_type == PT_LOAD && ph->p_offset + ph->p_filesz > size)
			size = ph->p_offset + ph->p_filesz;
	}
	cr_assert_eq(write(fd, eh, size), (ssize_t)size);
	return fd;
}

Test(seed, set_vdso_directly)
{
	char path[] = "/tmp/pb-vdso-XXXXXX", *maps;
	struct pb_built *p;
	struct pb_error err;
	unsigned long long lo = 0;
	char *line;

	custom_vdso_fd = dump_system_vdso(path);
	cr_assert_eq(build_with("/bin/echo", vdso_custom, &p, &err), 0, "%s: %s", err.stage, err.msg);
	maps = maps_of(p);
	cr_assert_null(strstr(maps, "[vdso]"), "the system vDSO is gone:\n%s", maps);
	line = strstr(maps, path);
	cr_assert_not_null(line, "the custom vDSO is mapped:\n%s", maps);
	while (line > maps && line[-1] != '\n')
		line--;
	sscanf(line, "%llx", &lo);
	cr_assert_eq(pb_built_info(p)->vdso_base, lo, "AT_SYSINFO_EHDR points at it");
	free(maps);
	cr_assert_eq(start_and_wait(p), 0);
	close(custom_vdso_fd);
	unlink(path);
}

Test(seed, set_invalid_vdso_fails)
{
	char path[] = "/tmp/pb-vdso-XXXXXX";
	struct pb_built *p = NULL;
	struct pb_error err;

	custom_vdso_fd = mkstemp(path);
	cr_assert_eq(write(custom_vdso_fd, "not an ELF image at all, no header", 34), 34);
	cr_assert_eq(build_with("/bin/true", vdso_custom, &p, &err), -ENOEXEC);
	cr_assert_eq(err.code, PB_EPARSE);
	cr_assert_str_eq(err.stage, "vdso");
	cr_assert(strstr(err.msg, "invalid file header"), "%s", err.msg);
	cr_assert(no_children());
	close(custom_vdso_fd);
	unlink(path);
}

Test(seed, set_invalid_vdso_directly_fails)
{
	struct pb_builder *b;
	struct pb_error err;
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC), bad;

	cr_assert_eq(pb_builder_new("t", -1, fd, &b, &err), 0);
	bad = open("/dev/null", O_RDONLY);
	close(bad);
	cr_assert_eq(pb_set_vdso(b, PB_VDSO_CUSTOM, bad), -EBADF);
	cr_assert_eq(pb_set_vdso(b, (enum pb_vdso_policy)7, -1), -EINVAL);
	pb_builder_free(b);
	close(fd);
	cr_assert(no_children());
}

/* ---- #! scripts ---- */

Test(script, runs_like_binfmt_script)
{
	char path[] = "/tmp/pb-script-XXXXXX";
	const char *text = "#!/bin/sh\necho \"script $0 $*\"; exit 3\n";

	cr_assert_eq(temp_file(path, text, strlen(text), 0755), 0);
	assert_same_run((char *[]){path, "a", "b c", NULL});
	unlink(path);
}
