/* SPDX-License-Identifier: MIT */
/* Namespace entries: the seed's test, both modes, root and unprivileged, and every refusal. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/built.h"
#include "tests/common/proc.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H "build/tests/helpers/pbhelper-static"
#define H_DYN "build/tests/helpers/pbhelper-dynamic"
#define NOBODY "--reuid=65534", "--regid=65534", "--clear-groups"

/* A fresh directory holding the file NAME with TEXT (world-readable, for the unprivileged tests). */
static char *dir_with(const char *name, const char *text)
{
	char tmpl[] = "/tmp/pb-ns-XXXXXX", path[128];
	char *dir = strdup(mkdtemp(tmpl));
	FILE *f;

	cr_assert_not_null(dir);
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0644);
	return dir;
}

static struct pb_builder *looker(const char *path, const char *const *args, size_t n)
{
	struct pb_builder *b;
	struct pb_error err;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_eq(pb_builder_new(path, -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	cr_assert_eq(pb_add_arguments(b, (const char *[]){path, "look"}, 2), 0);
	cr_assert_eq(pb_add_arguments(b, args, n), 0);
	return b;
}

static int add_entry(struct pb_builder *b, const char *path, const char *dir, struct pb_error *err)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), r;

	cr_assert_geq(fd, 0, "%s", dir);
	r = pb_add_namespace_entries(b, &(struct pb_ns_entry){path, fd}, 1, err);
	close(fd);
	return r;
}

Test(seed, start_util_with_namespace_entries)
{
	char *d1 = dir_with("file1", "contents of one"), *d2 = dir_with("file2", "contents of two");
	static const char *const args[] = {"/", "/dir1/file1", "/dir2/file2", "/tmp", "/proc"};
	int fds = count_open_fds(), mounts = mount_count(), status;
	struct pb_builder *b = looker(H, args, 5);
	struct pb_error err;
	char *out;

	cr_assert_eq(add_entry(b, "/dir1", d1, &err), 0, "%s", err.msg);
	cr_assert_eq(add_entry(b, "/dir2", d2, &err), 0, "%s", err.msg);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s: %s", err.stage, err.msg);
	cr_assert_eq(status, 0);
	cr_assert(strstr(out, "\n/: dir1 dir2\n"), "only the entries are visible: %s", out);
	cr_assert(strstr(out, "/dir1/file1 = contents of one\n"), "%s", out);
	cr_assert(strstr(out, "/dir2/file2 = contents of two\n"), "%s", out);
	cr_assert(strstr(out, "/tmp = No such file or directory") && strstr(out, "/proc = No such file"), "%s", out);
	cr_assert(strstr(out, "cwd=/\nfds=0,1,2\n"), "no fd of the namespace setup is left: %s", out);
	pb_builder_free(b);
	free(out);
	cr_assert_eq(count_open_fds(), fds);
	cr_assert_eq(mount_count(), mounts, "nothing was mounted in our namespace");
	cr_assert(no_children());
	remove_tree(d1);
	remove_tree(d2);
}

Test(ns, nested_entry_mounts_on_a_directory_of_the_outer_one)
{
	char *outer = dir_with("top", "t"), *inner = dir_with("deep", "d"), sub[128];
	static const char *const args[] = {"/a", "/a/sub/deep", "/x/y/z/top"};
	struct pb_builder *b = looker(H, args, 3);
	struct pb_error err;
	char *out;
	int status;

	snprintf(sub, sizeof(sub), "%s/sub", outer);
	cr_assert_eq(mkdir(sub, 0755), 0);
	/* added in any order: the outer one is mounted first */
	cr_assert_eq(add_entry(b, "/a/sub", inner, &err), 0, "%s", err.msg);
	cr_assert_eq(add_entry(b, "/a", outer, &err), 0, "%s", err.msg);
	cr_assert_eq(add_entry(b, "/x/y/z", outer, &err), 0, "%s", err.msg);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s: %s", err.stage, err.msg);
	cr_assert(strstr(out, "\n/a: sub top\n"), "%s", out);
	cr_assert(strstr(out, "/a/sub/deep = d\n") && strstr(out, "/x/y/z/top = t\n"), "%s", out);
	cr_assert_eq(access(sub, F_OK), 0);
	cr_assert_neq(access("/tmp/pb-ns-never/deep", F_OK), 0);
	pb_builder_free(b);
	free(out);
	remove_tree(outer);
	remove_tree(inner);
}

Test(ns, overlay_keeps_the_host_and_the_working_directory)
{
	char *d1 = dir_with("f", "overlaid");
	static const char *const args[] = {"/", "/over/f", "/etc/hostname"};
	struct pb_builder *b = looker(H_DYN, args, 3);
	struct pb_error err;
	char *out, *host, cwd[4096], line[4200];
	int status;

	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(add_entry(b, "/over", d1, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_set_namespace_mode(b, PB_NS_OVERLAY), 0);
	cr_assert_eq(pb_set_namespace_mode(b, 7), -EINVAL);
	/* a dynamic program: ld.so finds its libraries in the host's /usr */
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s: %s", err.stage, err.msg);
	cr_assert_eq(status, 0, "%s", out);
	snprintf(line, sizeof(line), "cwd=%s\n", cwd);
	cr_assert(strstr(out, line), "%s", out);
	cr_assert(strstr(out, " over ") && strstr(out, " usr") && strstr(out, " etc "), "%s", out);
	cr_assert(strstr(out, "/over/f = overlaid\n"), "%s", out);
	host = slurp("/etc/hostname");
	if (host) {
		snprintf(line, sizeof(line), "/etc/hostname = %s", host);
		cr_assert(strstr(out, line), "%s", out);
	}
	cr_assert_neq(access("/over", F_OK), 0, "the mount point is in our tmpfs, not on the host");
	free(host);
	free(out);
	pb_builder_free(b);
	remove_tree(d1);
}

Test(ns, overlay_entry_below_a_host_directory_needs_its_mount_point)
{
	char *d1 = dir_with("f", "x"), *out;
	struct pb_builder *b = looker(H, (const char *const[]){"/tmp"}, 1);
	struct pb_error err;
	int status;

	cr_assert_eq(pb_set_namespace_mode(b, PB_NS_OVERLAY), 0);
	cr_assert_eq(add_entry(b, "/usr/pb-ns-missing", d1, &err), 0, "%s", err.msg);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), -EINVAL);
	cr_assert(strstr(err.msg, "/usr/pb-ns-missing") && strstr(err.msg, "only in its own tmpfs"), "%s", err.msg);
	cr_assert_neq(access("/usr/pb-ns-missing", F_OK), 0);
	pb_builder_free(b);
	cr_assert(no_children());
	remove_tree(d1);
}

Test(ns, refusals)
{
	char *d1 = dir_with("f", "x");
	struct pb_builder *b = looker(H, NULL, 0);
	static const char *const bad_paths[] = {"rel", "/", "/a/../b", "/a//b", "/a/", "/./a", "", "/a/."};
	int dirfd = open(d1, O_PATH | O_DIRECTORY | O_CLOEXEC), file = open(H, O_RDONLY | O_CLOEXEC);
	int closed = open("/dev/null", O_RDONLY), status;
	struct pb_ns_entry *many = calloc(PB_MAX_NS_ENTRIES + 1, sizeof(*many));
	struct pb_error err;
	char *out;

	close(closed);
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++) {
		cr_assert_eq(pb_add_namespace_entries(b, &(struct pb_ns_entry){bad_paths[i], dirfd}, 1, &err), -EINVAL,
			     "%s", bad_paths[i]);
		cr_assert_eq(err.code, PB_EINVAL);
	}
	cr_assert_eq(pb_add_namespace_entries(b, &(struct pb_ns_entry){NULL, dirfd}, 1, &err), -EINVAL);
	cr_assert_eq(pb_add_namespace_entries(b, &(struct pb_ns_entry){"/a", closed}, 1, &err), -EBADF);
	cr_assert_eq(err.code, PB_EBADF);
	cr_assert_eq(pb_add_namespace_entries(b, &(struct pb_ns_entry){"/a", -1}, 1, &err), -EBADF);
	cr_assert_eq(pb_add_namespace_entries(b, &(struct pb_ns_entry){"/a", file}, 1, &err), -EINVAL);
	cr_assert(strstr(err.msg, "not a directory"), "%s", err.msg);
	/* all or none: a good entry before a bad one is not added */
	struct pb_ns_entry mixed[] = {{"/good", dirfd}, {"/bad", closed}};
	cr_assert_eq(pb_add_namespace_entries(b, mixed, 2, &err), -EBADF);
	for (size_t i = 0; i <= PB_MAX_NS_ENTRIES; i++)
		many[i] = (struct pb_ns_entry){"/m", dirfd};
	cr_assert_eq(pb_add_namespace_entries(b, many, PB_MAX_NS_ENTRIES + 1, &err), -EINVAL);
	cr_assert(strstr(err.msg, "65536"), "%s", err.msg);
	/* the same path twice is refused when added, in one call (adding neither) or in two */
	struct pb_ns_entry twice[] = {{"/dup", dirfd}, {"/dup", dirfd}};
	cr_assert_eq(pb_add_namespace_entries(b, twice, 2, &err), -EINVAL);
	cr_assert(strstr(err.msg, "/dup is given twice"), "%s", err.msg);
	cr_assert_eq(pb_add_namespace_entries(b, twice, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_add_namespace_entries(b, twice + 1, 1, &err), -EINVAL);
	cr_assert(strstr(err.msg, "/dup is given twice"), "%s", err.msg);
	cr_assert_eq(pb_add_ns_mount(b, &(struct pb_ns_mount){.sz = sizeof(struct pb_ns_mount), .kind = PB_NS_TMPFS,
							    .path = "/dup"}, &err), -EINVAL);
	/* what was refused was not added: the one /dup is built */
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s: %s", err.stage, err.msg);
	free(out);
	pb_builder_free(b);
	cr_assert(no_children());
	free(many);
	close(dirfd);
	close(file);
	remove_tree(d1);
}

Test(ns, a_directory_replaced_after_it_was_added_is_refused)
{
	char *d1 = dir_with("f", "first"), moved[160];
	struct pb_builder *b = looker(H, (const char *const[]){"/e/f"}, 1);
	struct pb_error err;
	char *out;
	int status;

	cr_assert_eq(add_entry(b, "/e", d1, &err), 0, "%s", err.msg);
	snprintf(moved, sizeof(moved), "%s.moved", d1);
	cr_assert_eq(rename(d1, moved), 0);
	cr_assert_eq(mkdir(d1, 0755), 0); /* another directory at the same path */
	cr_assert_lt(build_and_collect(b, &out, &status, &err), 0);
	cr_assert_str_eq(err.stage, "namespace");
	cr_assert(strstr(err.msg, "mounting /e from") && strstr(err.msg, "not the one the entry's fd names"),
		  "%s", err.msg);
	pb_builder_free(b);
	cr_assert(no_children());
	rmdir(d1);
	remove_tree(strdup(moved));
	free(d1);
}

Test(ns, the_limit_of_65536_entries, .timeout = 120)
{
	enum { N = PB_MAX_NS_ENTRIES };
	char *d1 = dir_with("f", "many"), (*paths)[16] = calloc(N, 16);
	struct pb_ns_entry *e = calloc(N, sizeof(*e));
	struct pb_builder *b = looker(H, (const char *const[]){"/e65535/f", "/e00000/f"}, 2);
	int fd = open(d1, O_PATH | O_DIRECTORY | O_CLOEXEC), status;
	struct pb_error err;
	char *out;

	for (int i = 0; i < N; i++) {
		snprintf(paths[i], 16, "/e%05d", i);
		e[i] = (struct pb_ns_entry){paths[i], fd};
	}
	cr_assert_eq(pb_add_namespace_entries(b, e, N, &err), 0, "%s", err.msg);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s: %s", err.stage, err.msg);
	cr_assert(strstr(out, "/e65535/f = many\n/e00000/f = many\n"), "%s", out);
	pb_builder_free(b);
	free(out);
	free(e);
	free(paths);
	close(fd);
	remove_tree(d1);
}

/* The CLI as root and as nobody (a user namespace), in both modes. */
static void cli_case(bool nobody, const char *mode, const char *dir, const char *want, const char *want2)
{
	char spec[200];
	struct run_result r;

	snprintf(spec, sizeof(spec), "/data=%s", dir);
	char *argv_root[] = {PB, "run", "--ns-mode", (char *)mode, "--ns", spec, H, "look", "/", "/data/f", NULL};
	char *argv_nobody[] = {"/usr/bin/setpriv", NOBODY, PB, "run", "--ns-mode", (char *)mode, "--ns", spec, H,
			       "look", "/", "/data/f", NULL};
	cr_assert_eq(run_cmd(nobody ? argv_nobody : argv_root, NULL, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, want) && strstr(r.out, want2), "%s %s: %s", nobody ? "nobody" : "root", mode, r.out);
	cr_assert(strstr(r.out, "/data/f = cli\n"), "%s", r.out);
	cr_assert_eq(r.err_len, 0, "a good run says nothing on stderr: %s", r.err);
	run_result_free(&r);
}

Test(ns, cli_root_and_unprivileged)
{
	char *d1 = dir_with("f", "cli");
	char caps[64];

	cli_case(false, "isolated", d1, "\n/: data\n", "uid=0");
	cli_case(false, "overlay", d1, " data ", " usr");
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0) {
		remove_tree(d1);
		cr_skip_test("the unprivileged half needs root (to become nobody) and setpriv");
	}
	/* as nobody: a user namespace; execve there would leave no capabilities, nor do we */
	snprintf(caps, sizeof(caps), "caps=0 uid=65534");
	cli_case(true, "isolated", d1, "\n/: data\n", caps);
	cli_case(true, "overlay", d1, " usr", caps);
	remove_tree(d1);
}

Test(ns, cli_errors)
{
	struct run_result r;

	cr_assert_eq(run_cmd((char *[]){PB, "run", "--ns", "nodir", H, "exit", "0", NULL}, NULL, &r), 0);
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "--ns wants PATH=DIR"), "%s", r.err);
	run_result_free(&r);
	cr_assert_eq(run_cmd((char *[]){PB, "run", "--ns", "/x=/nonexistent-dir", H, "exit", "0", NULL}, NULL, &r), 0);
	cr_assert_neq(r.exit_code, 0);
	cr_assert(strstr(r.err, "/nonexistent-dir: No such file or directory"), "%s", r.err);
	cr_assert_eq(strchr(r.err, '\n'), r.err + r.err_len - 1, "one line, nothing else: %s", r.err);
	run_result_free(&r);
	cr_assert_eq(run_cmd((char *[]){PB, "run", "--ns-mode", "chroot", H, "exit", "0", NULL}, NULL, &r), 0);
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "isolated or overlay"), "%s", r.err);
	run_result_free(&r);
	cr_assert_eq(run_cmd((char *[]){PB, "plan", "--ns", "/x=/tmp", H, NULL}, NULL, &r), 0);
	cr_assert_eq(r.exit_code, 2);
	cr_assert(strstr(r.err, "need a process"), "%s", r.err);
	run_result_free(&r);
}

/* The kernel refuses (here: a seccomp filter makes unshare fail with EPERM): a clear error, no process. */
Test(ns, a_refused_unshare_is_a_clear_error)
{
	struct sock_filter prog[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog fprog = {sizeof(prog) / sizeof(prog[0]), prog};
	char *d1 = dir_with("f", "x"), spec[160], err[4096];
	int status;

	snprintf(spec, sizeof(spec), "/d=%s", d1);
	status = run_filtered(&fprog, (char *[]){PB, "run", "--ns", spec, H, "exit", "0", NULL}, NULL, err, sizeof(err));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 125, "status %x: %s", status, err);
	cr_assert(strstr(err, "namespace") && strstr(err, "unshare: Operation not permitted"), "%s", err);
	cr_assert_null(strstr(err, "Success"), "only the error: %s", err);
	cr_assert(no_children());
	remove_tree(d1);
}
