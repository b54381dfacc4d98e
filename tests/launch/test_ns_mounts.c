/* SPDX-License-Identifier: MIT */
/*
 * Namespace mounts of bwrap's kinds (pb_add_ns_mount, run --ro-ns, --proc,
 * --dev, --tmpfs, --symlink): each run as root and as nobody (a user
 * namespace), against what the same program sees on the host under execve.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/proc.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define PY "/usr/bin/python3"
#define BB "/bin/busybox"
#define NOBODY "--reuid=65534", "--regid=65534", "--clear-groups"
/* a usable minimal root, as bwrap users make it */
#define ROOT "--ro-ns", "/usr=/usr", "--symlink", "/lib=usr/lib", "--symlink", "/lib64=usr/lib64", \
	"--symlink", "/bin=usr/bin", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"

/* The unprivileged half needs root (to become nobody) and setpriv. */
static bool can_be_nobody(void)
{
	return geteuid() == 0 && access("/usr/bin/setpriv", X_OK) == 0;
}

/* procbuilder run ARGS... (as nobody through setpriv), or ARGS... alone (plain execve) with pb false. */
static void run(bool pb, bool nobody, char *const args[], struct run_result *r)
{
	char *argv[64];
	int n = 0;

	if (nobody)
		for (char *const *s = (char *const[]){"/usr/bin/setpriv", NOBODY, NULL}; *s; s++)
			argv[n++] = *s;
	if (pb) {
		argv[n++] = PB;
		argv[n++] = "run";
	}
	for (; *args && n < 63; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	cr_assert_eq(run_cmd(argv, NULL, r), 0);
}

/* A fresh directory anyone may write in (so that a refusal is the mount's, not the mode's). */
static char *open_dir(void)
{
	char tmpl[] = "/tmp/pb-nsm-XXXXXX";
	char *dir = strdup(mkdtemp(tmpl));

	cr_assert_not_null(dir);
	cr_assert_eq(chmod(dir, 0777), 0);
	return dir;
}

static char *path_in(const char *dir, const char *name)
{
	char *p;

	cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

/* busybox sh's own "echo > FILE" (no applet, no exec) into each of three places. */
static const char write_script[] =
	"echo ro > \"$1/new\"; echo sub > \"$1/sub/new\"; echo rw > \"$2/new\"; echo nested > \"$1/rw/new\"; echo done";

static void read_only_case(bool nobody, const char *ro, const char *rw)
{
	char ro_spec[128], rw_spec[128], nested_spec[128];
	struct run_result r;

	snprintf(ro_spec, sizeof(ro_spec), "/ro=%s", ro);
	snprintf(rw_spec, sizeof(rw_spec), "/rw=%s", rw);
	snprintf(nested_spec, sizeof(nested_spec), "/ro/rw=%s", rw);
	run(true, nobody, (char *const[]){"--ro-ns", ro_spec, "--ns", rw_spec, "--ns", nested_spec, BB, "sh", "-c",
					  (char *)write_script, "sh", "/ro", "/rw", NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_str_eq(r.out, "done\n");
	/* the entry and the tmpfs mounted in it (recursive) refuse; the entries on and beside it take it */
	cr_assert(strstr(r.err, "can't create /ro/new: Read-only file system"), "%s", r.err);
	cr_assert(strstr(r.err, "can't create /ro/sub/new: Read-only file system"), "%s", r.err);
	cr_assert_null(strstr(r.err, "/rw/new"), "%s", r.err);
	run_result_free(&r);
	for (const char *const *name = (const char *const[]){"new", "sub/new", NULL}; *name; name++) {
		char *p = path_in(ro, *name);
		cr_assert_neq(access(p, F_OK), 0, "%s", p);
		free(p);
	}
	char *p = path_in(rw, "new"), *text = slurp(p);
	cr_assert_str_eq(text ? text : "", "nested\n", "the nested entry wrote last, as the host sees it");
	free(text);
	unlink(p);
	free(p);
}

Test(nsmounts, a_read_only_entry_refuses_writes_the_same_directory_takes_read_write)
{
	char *ro = open_dir(), *rw = open_dir(), *sub = path_in(ro, "sub"), *mnt = path_in(ro, "rw");
	struct run_result r;

	cr_assert_eq(mkdir(sub, 0777), 0);
	cr_assert_eq(mkdir(mnt, 0777), 0);
	/* the tmpfs in a mount namespace of this test's own: it goes with the test, failed or not */
	cr_assert_eq(unshare(CLONE_NEWNS), 0, "%s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mount("pb-nsm", sub, "tmpfs", 0, "mode=0777"), 0, "%s", strerror(errno));
	/* under plain execve the same script writes into every one of them */
	run(false, false, (char *const[]){BB, "sh", "-c", (char *)write_script, "sh", ro, rw, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert_eq(r.err_len, 0, "%s", r.err);
	run_result_free(&r);
	cr_assert_eq(system("rm -f /tmp/pb-nsm-*/new /tmp/pb-nsm-*/sub/new /tmp/pb-nsm-*/rw/new"), 0);
	read_only_case(false, ro, rw);
	if (can_be_nobody())
		read_only_case(true, ro, rw);
	cr_assert_eq(umount(sub), 0);
	free(sub);
	free(mnt);
	remove_tree(ro);
	remove_tree(rw);
	if (!can_be_nobody())
		cr_skip_test("the unprivileged half needs root and setpriv");
}

/* What a program finds in /proc and /dev; the same script runs on the host under execve. */
static const char probe_script[] =
	"import os, errno\n"
	"print('pid', os.getpid() == int(os.readlink('/proc/self')), os.getppid() == int(open('/proc/self/stat').read().split()[3]))\n"
	"print('exe', open('/proc/self/exe', 'rb').read(4))\n"
	"print('fds', sorted(os.listdir('/proc/self/fd')))\n"
	"for n in ['null', 'zero', 'full', 'random', 'urandom', 'tty']:\n"
	"    print(n, os.stat('/dev/' + n).st_rdev)\n"
	"open('/dev/null', 'w').write('x')\n"
	"print('zero', open('/dev/zero', 'rb').read(4).hex(), 'urandom', len(open('/dev/urandom', 'rb').read(16)))\n"
	"try:\n"
	"    with open('/dev/full', 'w') as f: f.write('x')\n"
	"except OSError as e: print('full', errno.errorcode[e.errno])\n"
	"print('stdio', [os.readlink('/dev/' + n) for n in ['stdin', 'stdout', 'stderr', 'fd']])\n";

static void proc_and_dev_case(bool nobody, const char *host_out)
{
	struct run_result r;
	char *exe = NULL;

	run(true, nobody, (char *const[]){ROOT, PY, "-c", (char *)probe_script, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s: %s", nobody ? "nobody" : "root", r.err);
	cr_assert_str_eq(r.out, host_out, "%s", nobody ? "nobody" : "root");
	run_result_free(&r);
	/* /dev holds bwrap's list and nothing else; /proc/self/exe names the program (root: we may set it) */
	run(true, nobody, (char *const[]){ROOT, PY, "-c",
					  "import os; print(sorted(os.listdir('/dev')), os.readlink('/proc/self/exe'))", NULL},
	    &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "['core', 'fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', "
				"'stdout', 'tty', 'urandom', 'zero']"), "%s", r.out);
	exe = realpath(PY, NULL);
	cr_assert(nobody || strstr(r.out, exe), "%s", r.out);
	free(exe);
	run_result_free(&r);
}

Test(nsmounts, proc_and_dev_in_a_minimal_root_show_what_execve_shows_on_the_host)
{
	struct run_result host;

	run(false, false, (char *const[]){PY, "-c", (char *)probe_script, NULL}, &host);
	cr_assert_eq(host.exit_code, 0, "%s", host.err);
	cr_assert(strstr(host.out, "pid True True\nexe b'\\x7fELF'\n"), "%s", host.out);
	cr_assert(strstr(host.out, "zero 00000000 urandom 16\nfull ENOSPC\n"), "%s", host.out);
	proc_and_dev_case(false, host.out);
	if (can_be_nobody())
		proc_and_dev_case(true, host.out);
	run_result_free(&host);
	if (!can_be_nobody())
		cr_skip_test("the unprivileged half needs root and setpriv");
}

Test(nsmounts, proc_is_ours_as_root_the_hosts_bound_as_nobody_with_bwraps_covers)
{
	static const char script[] =
		"for l in open('/proc/self/mountinfo'):\n"
		"    f = l.split()\n"
		"    if f[4].startswith('/proc'): print(f[4], f[5].split(',')[0], f[-3])\n";
	struct run_result r;

	run(true, false, (char *const[]){ROOT, PY, "-c", (char *)script, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "/proc rw proc\n/proc/sys ro proc\n"), "%s", r.out);
	run_result_free(&r);
	if (!can_be_nobody())
		cr_skip_test("the unprivileged half needs root and setpriv");
	run(true, true, (char *const[]){ROOT, PY, "-c", (char *)script, NULL}, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	cr_assert(strstr(r.out, "/proc rw proc\n"), "%s", r.out);
	cr_assert(strstr(r.out, "/proc/sys ro proc\n"), "%s", r.out);
	run_result_free(&r);
}

static const char tmpfs_script[] =
	"import os, errno\n"
	"print(os.listdir('/scratch'), oct(os.stat('/scratch').st_mode), os.statvfs('/scratch').f_blocks * os.statvfs('/scratch').f_frsize)\n"
	"open('/scratch/f', 'w').write('x')\n"
	"print(open('/scratch/f').read())\n"
	"try:\n"
	"    with open('/scratch/big', 'wb') as f: f.write(bytes(131072))\n"
	"except OSError as e: print(errno.errorcode[e.errno])\n";

Test(nsmounts, a_tmpfs_is_empty_writable_sized_and_gone_afterwards)
{
	int mounts = mount_count();

	for (int nobody = 0; nobody <= can_be_nobody(); nobody++) {
		/* twice, in place and spawned: the second run finds it empty again */
		for (int i = 0; i < 2; i++) {
			struct run_result r;
			run(true, nobody, (char *const[]){i ? "--spawn" : "--close-fds", ROOT, "--perms", "1777", "--size",
							  "65536", "--tmpfs", "/scratch", PY, "-c", (char *)tmpfs_script,
							  NULL}, &r);
			cr_assert_eq(r.exit_code, 0, "%s", r.err);
			cr_assert_str_eq(r.out, "[] 0o41777 65536\nx\nENOSPC\n", "%s", nobody ? "nobody" : "root");
			run_result_free(&r);
		}
	}
	cr_assert_neq(access("/scratch", F_OK), 0, "nothing of it on the host");
	cr_assert_eq(mount_count(), mounts, "nor in our mount namespace");
}

/* The example: busybox sh in a root of a read-only /usr, /proc, /dev and a tmpfs /tmp. */
Test(nsmounts, busybox_sh_gets_a_usable_minimal_root)
{
	static const char script[] = "ls /proc/self/fd; echo x > /tmp/f; cat /tmp/f; ls /tmp; echo y > /usr/f";
	struct run_result host, r;
	char *want;

	run(false, false, (char *const[]){BB, "sh", "-c", "ls /proc/self/fd; echo x; echo f", NULL}, &host);
	cr_assert_eq(host.exit_code, 0, "%s", host.err);
	run(true, false, (char *const[]){ROOT, BB, "sh", "-c", (char *)script, NULL}, &r);
	cr_assert_eq(r.exit_code, 1, "%s", r.err);
	cr_assert_str_eq(r.out, host.out, "the same fds as under execve, and /tmp works");
	cr_assert(strstr(r.err, "can't create /usr/f: Read-only file system"), "%s", r.err);
	run_result_free(&r);
	run_result_free(&host);
	want = slurp("/tmp/f");
	cr_assert(!want || strcmp(want, "x\n"), "the program's /tmp is not the host's");
	free(want);
}

static int add(struct pb_builder *b, struct pb_ns_mount m, struct pb_error *err)
{
	m.sz = m.sz ? m.sz : sizeof(m);
	return pb_add_ns_mount(b, &m, err);
}

/* Each refusal when it is set, with a message naming the cause; nothing refused is added. */
Test(nsmounts, bad_mounts_are_refused_when_set)
{
	struct pb_builder *b;
	struct pb_error err;
	int exe = open("/bin/true", O_RDONLY | O_CLOEXEC), dir = open("/usr", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int file = open("/bin/true", O_RDONLY | O_CLOEXEC);
	struct {
		struct pb_ns_mount m;
		uint64_t newer;
	} big = {{.sz = sizeof(big), .kind = PB_NS_TMPFS, .path = "/n"}, 1};
	static const struct {
		struct pb_ns_mount m;
		const char *msg;
	} bad[] = {
		{{.kind = PB_NS_TMPFS, .path = "tmp"}, "not a clean absolute path"},
		{{.kind = PB_NS_TMPFS, .path = "/a/../b"}, "not a clean absolute path"},
		{{.kind = PB_NS_TMPFS, .path = "/t"}, "/t is given twice"},
		{{.kind = PB_NS_PROC, .path = "/used"}, "/used is given twice"},
		{{.kind = 9, .path = "/k"}, "not a kind of mount"},
		{{.kind = PB_NS_TMPFS, .flags = 2, .path = "/f"}, "unknown flags 0x2"},
		{{.kind = PB_NS_DEV, .flags = PB_NS_RDONLY, .path = "/d"}, "read-only is for bind, tmpfs and proc, not dev"},
		{{.kind = PB_NS_PROC, .mode = 0700, .path = "/p"}, "tmpfs options, not proc ones"},
		{{.kind = PB_NS_TMPFS, .mode = 010000, .path = "/m"}, "more than 07777"},
		{{.kind = PB_NS_SYMLINK, .path = "/s"}, "a symlink needs a target"},
		{{.kind = PB_NS_TMPFS, .path = "/s", .target = "x"}, "a target is for a symlink"},
		{{.sz = 1, .kind = PB_NS_TMPFS, .path = "/z"}, "sz is not set"},
	};

	cr_assert_eq(pb_builder_new("true", -1, exe, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(add(b, (struct pb_ns_mount){.kind = PB_NS_TMPFS, .path = "/t"}, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_add_namespace_entries(b, &(struct pb_ns_entry){"/used", dir}, 1, &err), 0, "%s", err.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(add(b, bad[i].m, &err), -EINVAL, "%zu", i);
		cr_assert_eq(err.code, PB_EINVAL);
		cr_assert(strstr(err.msg, bad[i].msg), "%zu: %s", i, err.msg);
	}
	/* a file where a directory is needed; a closed fd */
	cr_assert_eq(add(b, (struct pb_ns_mount){.kind = PB_NS_BIND, .path = "/b", .dirfd = file}, &err), -EINVAL);
	cr_assert(strstr(err.msg, "namespace entry /b: fd") && strstr(err.msg, "is not a directory"), "%s", err.msg);
	cr_assert_eq(add(b, (struct pb_ns_mount){.kind = PB_NS_BIND, .path = "/b", .dirfd = -1}, &err), -EBADF);
	/* a newer caller's struct: its fields past ours must be 0 */
	cr_assert_eq(pb_add_ns_mount(b, &big.m, &err), -EINVAL);
	cr_assert(strstr(err.msg, "fields this library does not know"), "%s", err.msg);
	big.newer = 0;
	cr_assert_eq(pb_add_ns_mount(b, &big.m, &err), 0, "%s", err.msg);
	/* a smaller (older) struct reads the rest as 0 */
	cr_assert_eq(add(b, (struct pb_ns_mount){.sz = offsetof(struct pb_ns_mount, mode), .kind = PB_NS_TMPFS,
						 .path = "/old", .mode = 0700}, &err), 0, "%s", err.msg);
	cr_assert_eq(add(b, (struct pb_ns_mount){.kind = PB_NS_TMPFS, .path = "/old"}, &err), -EINVAL);
	pb_builder_free(b);
	close(exe);
	close(dir);
	close(file);
	cr_assert(no_children());
}

/* procbuilder run ARGS... /bin/true (args NULL-terminated, at most 12), what it printed into r. */
static void run_true_with(const char *const *args, struct run_result *r)
{
	char *argv[16] = {PB, "run"};
	int n = 2;

	for (int k = 0; args[k]; k++)
		argv[n++] = (char *)args[k];
	argv[n++] = "/bin/true";
	cr_assert_eq(run_cmd(argv, NULL, r), 0);
}

/* What only the whole tree shows is refused at build, naming the entry, before anything is mounted. */
Test(nsmounts, bad_nesting_is_refused_at_build)
{
	static const struct {
		const char *args[8];
		const char *msg;
	} cases[] = {
		{{"--proc", "/proc", "--tmpfs", "/proc/x"}, "/proc/x: it lies in the procfs at /proc"},
		{{"--symlink", "/l=usr", "--tmpfs", "/l/x"}, "/l/x: it lies below the symlink /l"},
		{{"--ns", "/u=/usr", "--symlink", "/u/l=x"}, "/u/l: a symlink is made only in procbuilder's own tmpfs"},
		{{"--ns-mode", "overlay", "--symlink", "/usr/l=x"}, "/usr/l: a symlink is made only in procbuilder's own"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run_result r;
		run_true_with(cases[i].args, &r);
		cr_assert_neq(r.exit_code, 0);
		cr_assert(strstr(r.err, cases[i].msg), "%zu: %s", i, r.err);
		cr_assert_eq(strchr(r.err, '\n'), r.err + r.err_len - 1, "one line: %s", r.err);
		run_result_free(&r);
	}
}

Test(nsmounts, a_read_only_tmpfs_holds_no_mount_point)
{
	struct pb_builder *b;
	struct pb_error err;
	int exe = open("/bin/true", O_RDONLY | O_CLOEXEC);
	struct pb_built *p = NULL;

	cr_assert_eq(pb_builder_new("true", -1, exe, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(add(b, (struct pb_ns_mount){.kind = PB_NS_TMPFS, .flags = PB_NS_RDONLY, .path = "/ro"}, &err), 0);
	cr_assert_eq(add(b, (struct pb_ns_mount){.kind = PB_NS_DEV, .path = "/ro/dev"}, &err), 0);
	cr_assert_eq(pb_build(b, &p, &err), -EINVAL);
	cr_assert(strstr(err.msg, "/ro/dev: it lies in the read-only tmpfs at /ro"), "%s", err.msg);
	pb_builder_free(b);
	close(exe);
	cr_assert(no_children());
}

Test(nsmounts, cli_errors)
{
	static const struct {
		const char *args[6];
		const char *msg;
	} cases[] = {
		{{"--size", "4096"}, "--size applies to a --tmpfs after it, and none follows"},
		{{"--size", "4096", "--proc", "/proc"}, "--size applies to the --tmpfs right after it"},
		{{"--perms", "9999", "--tmpfs", "/t"}, "--perms wants octal permissions up to 7777, not '9999'"},
		{{"--size", "lots", "--tmpfs", "/t"}, "--size wants a number of bytes, not 'lots'"},
		{{"--ro-ns", "nodir"}, "--ro-ns wants PATH=DIR, not 'nodir'"},
		{{"--symlink", "/l"}, "--symlink wants PATH=TARGET, not '/l'"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run_result r;
		run_true_with(cases[i].args, &r);
		cr_assert_eq(r.exit_code, 2, "%zu: %s", i, r.err);
		cr_assert(strstr(r.err, cases[i].msg), "%zu: %s", i, r.err);
		run_result_free(&r);
	}
	/* refused by the library when set: one line naming it */
	struct run_result r;
	cr_assert_eq(run_cmd((char *[]){PB, "run", "--tmpfs", "/t", "--proc", "/t", "/bin/true", NULL}, NULL, &r), 0);
	cr_assert_neq(r.exit_code, 0);
	cr_assert(strstr(r.err, "namespace entry /t is given twice"), "%s", r.err);
	cr_assert_eq(strchr(r.err, '\n'), r.err + r.err_len - 1, "one line: %s", r.err);
	run_result_free(&r);
}
