/* SPDX-License-Identifier: MIT */
/*
 * The installed exe helper (launch/stub/exe.c, launch/exehelper.c): as
 * uid 65534, who cannot set /proc/PID/exe, a helper installed by
 * misc/install-exe-helper (what `ninja install` runs) into a temporary
 * directory on a mount without nosuid, with its capability, makes exe the
 * program, in place and spawned; each check is compared with execve of the
 * same program by the same user, and with procbuilder without the helper
 * (PROCBUILDER_EXE_HELPER empty), which shows what was broken. Then a
 * hostile caller speaks to the helper directly.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launch/proto.h"
#include "procbuilder.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H_STATIC "build/tests/helpers/pbhelper-static"
#define H_DYNAMIC "build/tests/helpers/pbhelper-dynamic"
#define SETPRIV "/usr/bin/setpriv"
#define NOBODY SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups"
#define MAXARGS 32

struct inst {
	char dir[64];
	char helper[128];
	char env_on[192];
	char *on[4], *off[4];	/* environments: with the helper, without it */
};

/* The directory this test installed into (each test runs in a process of its own). */
static char installed_dir[64];

/* Removed even when a test fails half-way: a capability-bearing file must not stay behind. */
static void remove_installed(void)
{
	char cmd[128];

	if (!installed_dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", installed_dir);
	system(cmd);
	installed_dir[0] = 0;
}

TestSuite(exe_helper, .fini = remove_installed);

/* misc/install-exe-helper into a fresh directory on a mount where file capabilities count. */
static void install_helper(struct inst *in)
{
	char *argv[] = {"misc/install-exe-helper", "build/launch/stub", NULL, NULL}, libexec[96];
	struct statvfs sv;
	struct run_result r;

	if (geteuid() != 0 || access(SETPRIV, X_OK) != 0 || access("/sbin/setcap", X_OK) != 0)
		cr_skip_test("needs root (to set the capability), setpriv and setcap");
	snprintf(in->dir, sizeof(in->dir), "/var/tmp/pb-exehelper-XXXXXX");
	cr_assert_not_null(mkdtemp(in->dir));
	snprintf(installed_dir, sizeof(installed_dir), "%s", in->dir);
	chmod(in->dir, 0755);
	cr_assert_eq(statvfs(in->dir, &sv), 0);
	if (sv.f_flag & ST_NOSUID)
		cr_skip_test("%s is on a nosuid mount: the kernel would ignore the helper's capability", in->dir);
	snprintf(libexec, sizeof(libexec), "%s/libexec/procbuilder", in->dir);
	argv[2] = libexec;
	cr_assert_eq(run_cmd(argv, NULL, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "given cap_checkpoint_restore=p"), "install-exe-helper said:\n%s%s", r.out, r.err);
	run_result_free(&r);
	snprintf(in->helper, sizeof(in->helper), "%s/exe-helper", libexec);
	snprintf(in->env_on, sizeof(in->env_on), "PROCBUILDER_EXE_HELPER=%s", in->helper);
	in->on[0] = in->off[0] = "PATH=/usr/bin:/bin";
	in->on[1] = in->off[1] = "HOME=/";
	in->on[2] = in->env_on;
	in->off[2] = "PROCBUILDER_EXE_HELPER=";
	in->on[3] = in->off[3] = NULL;
}

static void remove_helper(const struct inst *in)
{
	(void)in;
	remove_installed();
}

/* pre..., then tail... into argv. */
static void join(char **argv, char *const *pre, char *const *tail)
{
	int n = 0;

	for (; pre && *pre && n < MAXARGS - 1; pre++)
		argv[n++] = *pre;
	for (; tail && *tail && n < MAXARGS - 1; tail++)
		argv[n++] = *tail;
	argv[n] = NULL;
}

static void run_as(char *const *wrapper, char *const *cmd, char **env, struct run_result *r)
{
	char *argv[MAXARGS];

	join(argv, wrapper, cmd);
	cr_assert_eq(run_cmd(argv, env, r), 0);
}

/*
 * cmd as wrapper's user: directly, in place and spawned with the helper and
 * in place without it; each (exit code and stdout) checked by check with
 * what it should be (1: as execve).
 */
struct runs {
	struct run_result direct, inplace, spawned, without;
};

static void run_four(const struct inst *in, char *const *wrapper, char *const *cmd, bool spawn_too, struct runs *r)
{
	char *inplace[MAXARGS], *spawned[MAXARGS];
	char *run[] = {PB, "run", "--trace", NULL}, *run_spawn[] = {PB, "run", "--spawn", "--trace", NULL};

	join(inplace, run, cmd);
	join(spawned, run_spawn, cmd);
	run_as(wrapper, cmd, (char **)in->on, &r->direct);
	run_as(wrapper, inplace, (char **)in->on, &r->inplace);
	if (spawn_too)
		run_as(wrapper, spawned, (char **)in->on, &r->spawned);
	else
		memset(&r->spawned, 0, sizeof(r->spawned));
	run_as(wrapper, inplace, (char **)in->off, &r->without);
	cr_assert(strstr(r->inplace.err, "[exe] set by the installed helper"), "in place:\n%s", r->inplace.err);
	cr_assert(!spawn_too || strstr(r->spawned.err, "[exe] set by the installed helper"), "spawned:\n%s",
		  r->spawned.err);
	cr_assert(strstr(r->without.err, "[exe] not set: no exe helper"), "without:\n%s", r->without.err);
}

static void free_four(struct runs *r)
{
	run_result_free(&r->direct);
	run_result_free(&r->inplace);
	if (r->spawned.out)
		run_result_free(&r->spawned);
	run_result_free(&r->without);
}

/* Same exit code and stdout as execve's. */
static void same_as_direct(const struct run_result *got, const struct run_result *direct, const char *how)
{
	cr_assert_eq(got->exit_code, direct->exit_code, "%s: status %d, execve %d\n%s", how, got->exit_code,
		     direct->exit_code, got->err);
	cr_assert_str_eq(got->out, direct->out, "%s:\n%s\nexecve:\n%s", how, got->out, direct->out);
}

Test(exe_helper, exe_is_the_program_for_a_user_without_the_capability, .timeout = 60)
{
	char *cmd[] = {"/usr/bin/readlink", "/proc/self/exe", NULL}, *wrapper[] = {NOBODY, NULL};
	char *maps[] = {H_STATIC, "maps", NULL};
	struct inst in;
	struct runs r;

	install_helper(&in);
	run_four(&in, wrapper, cmd, true, &r);
	cr_assert_str_eq(r.direct.out, "/usr/bin/readlink\n");
	same_as_direct(&r.inplace, &r.direct, "in place");
	same_as_direct(&r.spawned, &r.direct, "spawned");
	cr_assert(strstr(r.without.out, "memfd:pb-stub"), "without the helper: %s", r.without.out);
	free_four(&r);
	/* a #! script: exe is its interpreter (spawned too: the helper is given the interpreter) */
	{
		char script[128], *scmd[] = {script, NULL};
		FILE *f;
		snprintf(script, sizeof(script), "%s/exe.sh", in.dir);
		f = fopen(script, "w");
		cr_assert_not_null(f);
		fputs("#!/usr/bin/readlink /proc/self/exe\n", f);
		fclose(f);
		chmod(script, 0755);
		run_four(&in, wrapper, scmd, true, &r);
		cr_assert(strncmp(r.direct.out, "/usr/bin/readlink\n", 18) == 0, "%s", r.direct.out);
		same_as_direct(&r.inplace, &r.direct, "in place");
		same_as_direct(&r.spawned, &r.direct, "spawned");
		free_four(&r);
	}
	/* and nothing of the helper or the stub is left mapped: the maps are execve's */
	run_four(&in, wrapper, maps, true, &r);
	same_as_direct(&r.inplace, &r.direct, "in place");
	same_as_direct(&r.spawned, &r.direct, "spawned");
	free_four(&r);
	remove_helper(&in);
}

/*
 * What exec decided (AT_SECURE, ids, CapPrm/CapEff/CapAmb, dumpable,
 * parent-death signal, RLIMIT_STACK) is execve's, read at the program's
 * start: the helper's capability is gone before its first instruction. As
 * nobody, and with a parent-death signal, which the helper's secure exec
 * clears. (A caller whose euid differs from its uid ignores
 * PROCBUILDER_EXE_HELPER, as secure_getenv does: its AT_SECURE is checked
 * on the helper directly, below.)
 */
Test(exe_helper, the_capability_is_gone_and_the_rest_is_execves, .timeout = 90)
{
	char *nobody[] = {NOBODY, NULL};
	char *pdeath[] = {NOBODY, "--pdeathsig=TERM", NULL};
	char *const *wrappers[] = {nobody, pdeath};
	char *cmd[] = {H_STATIC, "creds", NULL};
	struct inst in;

	install_helper(&in);
	for (int i = 0; i < 2; i++) {
		struct runs r;
		run_four(&in, wrappers[i], cmd, i == 0, &r);
		cr_assert(strstr(r.direct.out, "prm=0000000000000000 eff=0000000000000000 amb=0000000000000000"),
			  "%s", r.direct.out);
		same_as_direct(&r.inplace, &r.direct, "in place");
		if (i == 0) {
			/* the spawned program's proxy asks for SIGKILL at its death (as test_creds.c says) */
			char *p = strstr(r.spawned.out, "pdeathsig=9 ");
			if (p)
				memcpy(p, "pdeathsig=0 ", 12);
			same_as_direct(&r.spawned, &r.direct, "spawned");
		}
		free_four(&r);
	}
	remove_helper(&in);
}

/* java finds its home (libjli.so) through /proc/self/exe and its $ORIGIN rpath. */
Test(exe_helper, java_runs, .timeout = 120)
{
	char *cmd[] = {"/usr/bin/java", "-version", NULL}, *wrapper[] = {NOBODY, NULL};
	struct inst in;
	struct runs r;

	if (access("/usr/bin/java", X_OK) != 0)
		cr_skip_test("no JDK here (/usr/bin/java)");
	install_helper(&in);
	run_four(&in, wrapper, cmd, true, &r);
	cr_assert_eq(r.direct.exit_code, 0, "%s", r.direct.err);
	cr_assert_eq(r.inplace.exit_code, 0, "%s", r.inplace.err);
	cr_assert_eq(r.spawned.exit_code, 0, "%s", r.spawned.err);
	cr_assert(strstr(r.inplace.err, " version \""), "%s", r.inplace.err);
	cr_assert(strstr(r.spawned.err, " version \""), "%s", r.spawned.err);
	cr_assert_eq(r.without.exit_code, 127, "without the helper: %d\n%s", r.without.exit_code, r.without.err);
	cr_assert(strstr(r.without.err, "libjli.so"), "%s", r.without.err);
	free_four(&r);
	remove_helper(&in);
}

Test(exe_helper, an_origin_rpath_program_runs, .timeout = 60)
{
	char *cmd[] = {"build/tests/helpers/origin/bin/origin", NULL}, *wrapper[] = {NOBODY, NULL};
	struct inst in;
	struct runs r;

	install_helper(&in);
	run_four(&in, wrapper, cmd, true, &r);
	cr_assert_str_eq(r.direct.out, "origin 42\n", "%s", r.direct.err);
	same_as_direct(&r.inplace, &r.direct, "in place");
	same_as_direct(&r.spawned, &r.direct, "spawned");
	cr_assert_eq(r.without.exit_code, 127, "without the helper: %d\n%s", r.without.exit_code, r.without.err);
	free_four(&r);
	remove_helper(&in);
}

Test(exe_helper, a_program_reexecuting_proc_self_exe_works, .timeout = 60)
{
	char *cmd[] = {"/usr/bin/python3", "-c",
		       "import os, sys\n"
		       "if len(sys.argv) > 1: print('again', sys.argv[1])\n"
		       "else: os.execv('/proc/self/exe', ['python3', '-c', 'import sys; print(\"again\", 1)'])\n",
		       NULL};
	char *wrapper[] = {NOBODY, NULL};
	struct inst in;
	struct runs r;

	install_helper(&in);
	run_four(&in, wrapper, cmd, true, &r);
	cr_assert_str_eq(r.direct.out, "again 1\n", "%s", r.direct.err);
	same_as_direct(&r.inplace, &r.direct, "in place");
	same_as_direct(&r.spawned, &r.direct, "spawned");
	cr_assert_eq(r.without.exit_code, 127, "without the helper: %d\n%s", r.without.exit_code, r.without.err);
	free_four(&r);
	remove_helper(&in);
}

/* The first frame of an ASan report, from " in " to the end of its line (addresses differ run to run). */
static void frame0_of(const char *report, char *out, size_t len)
{
	const char *f = strstr(report, "    #0 0x"), *in = f ? strstr(f, " in ") : NULL, *end;

	out[0] = 0;
	if (!in)
		return;
	end = strchr(in, '\n');
	snprintf(out, len, "%.*s", (int)(end ? end - in : (long)strlen(in)), in);
}

/* ASan names the main program's frames by file:line (it reads the binary through /proc/self/exe's name). */
Test(exe_helper, an_asan_report_names_file_and_line, .timeout = 90)
{
	char *cmd[] = {"--pipeline", "sanitizer", "build/tests/helpers/asanprog", "overflow", NULL};
	char *direct[] = {NOBODY, "build/tests/helpers/asanprog", "overflow", NULL};
	char *inplace[MAXARGS], *spawned[MAXARGS], *pre[] = {NOBODY, PB, "run", NULL};
	char *pre_spawn[] = {NOBODY, PB, "run", "--spawn", NULL};
	struct run_result d, p, s, w;
	struct inst in;
	char frame[256];

	install_helper(&in);
	join(inplace, pre, cmd);
	join(spawned, pre_spawn, cmd);
	cr_assert_eq(run_cmd(direct, in.on, &d), 0);
	cr_assert_eq(run_cmd(inplace, in.on, &p), 0);
	cr_assert_eq(run_cmd(spawned, in.on, &s), 0);
	cr_assert_eq(run_cmd(inplace, in.off, &w), 0);
	frame0_of(d.err, frame, sizeof(frame));
	cr_assert(strstr(frame, " in main ") && strstr(frame, "asanprog.c"), "execve:\n%s", d.err);
	cr_assert(strstr(p.err, frame), "in place, not '%s':\n%s", frame, p.err);
	cr_assert(strstr(s.err, frame), "spawned, not '%s':\n%s", frame, s.err);
	cr_assert(strstr(w.err, "memfd:pb-stub"), "without the helper:\n%s", w.err);
	run_result_free(&d);
	run_result_free(&p);
	run_result_free(&s);
	run_result_free(&w);
	remove_helper(&in);
}

/* The state letter in /proc/PID/stat, or 0. */
static char proc_state(int pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p && p[1] ? p[2] : 0;
}

/* gdb -p attaches to a started, sleeping program (no debug pipeline, no --gdb) and names its frames. */
static void gdb_backtrace(const struct inst *in, char **env, struct run_result *bt)
{
	char *held[] = {NOBODY, PB, "run", "--stopped", H_STATIC, "sleep", NULL}, err[512], pidstr[16];
	char *gdb[] = {NOBODY, "/usr/bin/gdb", "-nx", "-batch", "-p", pidstr, "-ex", "bt", NULL};
	int prog, status;
	pid_t holder = start_held(held, env, &prog, err, sizeof(err));

	cr_assert_gt(prog, 0, "not held: %s", err);
	kill(prog, SIGCONT);
	while (proc_state(prog) != 'S') /* in pause() */
		sched_yield();
	snprintf(pidstr, sizeof(pidstr), "%d", prog);
	cr_assert_eq(run_cmd(gdb, env, bt), 0);
	kill(prog, SIGKILL);
	waitpid(holder, &status, 0);
}

Test(exe_helper, gdb_names_the_functions_of_a_started_program, .timeout = 120)
{
	struct run_result with, without;
	struct inst in;

	if (access("/usr/bin/gdb", X_OK) != 0)
		cr_skip_test("no gdb");
	if (access("/proc/sys/kernel/yama/ptrace_scope", F_OK) == 0) {
		FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
		int scope = f && fscanf(f, "%d", &scope) == 1 ? scope : 1;
		if (f)
			fclose(f);
		if (scope > 0)
			cr_skip_test("Yama's ptrace_scope %d forbids gdb -p of a process that is not our child", scope);
	}
	install_helper(&in);
	gdb_backtrace(&in, in.on, &with);
	gdb_backtrace(&in, in.off, &without);
	cr_assert(strstr(with.out, " in pause ()") && strstr(with.out, " in main ("), "with the helper:\n%s%s",
		  with.out, with.err);
	cr_assert_null(strstr(without.out, " in main ("), "without the helper gdb named main?\n%s", without.out);
	run_result_free(&with);
	run_result_free(&without);
	remove_helper(&in);
}

/*
 * A hostile caller, uid 65534, speaking to the helper directly: a child
 * that sets fds up (setup) and execs the helper with argv {"pb-stub", "-",
 * fdarg} and its socket at fd 3. What the helper did is read once it says
 * hello (sent after it dropped the capability): its exe link and
 * capabilities, and the AT_SECURE its hello carries.
 */
struct hostile {
	pid_t pid;
	int sock;
	char exe[256];
	char caps[160];
	uint64_t at_secure;
};

static uid_t hostile_euid = 65534; /* 1000: a caller whose euid is not its uid (AT_SECURE 1 under execve) */

static void become_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
	    setresuid(65534, hostile_euid, hostile_euid) < 0)
		_exit(98);
}

static void read_caps_line(pid_t pid, char *out, size_t len)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	out[0] = 0;
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "CapPrm:", 7) == 0 || strncmp(line, "CapEff:", 7) == 0 ||
		    strncmp(line, "CapAmb:", 7) == 0)
			strncat(out, line, len - strlen(out) - 1);
	if (f)
		fclose(f);
}

static void hostile_start(const struct inst *in, void (*setup)(const struct inst *), const char *fdarg,
			  struct hostile *h)
{
	static struct pb_hello hello;
	char path[64];
	int sv[2];
	ssize_t n, l;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	h->pid = fork();
	cr_assert_geq(h->pid, 0);
	if (h->pid == 0) {
		char *argv[] = {"pb-stub", "-", (char *)fdarg, NULL}, *envp[] = {NULL};
		if (dup2(sv[1], 3) < 0)
			_exit(97);
		become_nobody();
		if (setup)
			setup(in);
		execve(in->helper, fdarg ? argv : (char *[]){"pb-stub", NULL}, envp);
		_exit(99);
	}
	close(sv[1]);
	h->sock = sv[0];
	n = recv(h->sock, &hello, sizeof(hello), 0);
	cr_assert_gt(n, (ssize_t)offsetof(struct pb_hello, maps), "no hello from the helper (%zd)", n);
	h->at_secure = 99;
	for (uint32_t i = 0; i < hello.nauxv; i++)
		if (hello.auxv[i][0] == 23)
			h->at_secure = hello.auxv[i][1];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)h->pid);
	l = readlink(path, h->exe, sizeof(h->exe) - 1);
	h->exe[l > 0 ? l : 0] = 0;
	read_caps_line(h->pid, h->caps, sizeof(h->caps));
}

static void hostile_end(struct hostile *h)
{
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
	close(h->sock);
}

/* What every hostile case must find: nothing held, AT_SECURE a plain exec's, and exe as want. */
static void hostile_check(const struct inst *in, void (*setup)(const struct inst *), const char *fdarg,
			  const char *want_exe, const char *what)
{
	struct hostile h;

	hostile_start(in, setup, fdarg, &h);
	cr_assert_str_eq(h.exe, want_exe, "%s: exe is %s", what, h.exe);
	cr_assert_str_eq(h.caps, "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapAmb:\t0000000000000000\n",
			 "%s: %s", what, h.caps);
	cr_assert_eq(h.at_secure, hostile_euid != 65534, "%s: AT_SECURE %llu", what, (unsigned long long)h.at_secure);
	hostile_end(&h);
}

static void put_at(const char *file, int flags, int fd)
{
	int f = open(file, flags);

	if (f < 0 || dup2(f, fd) < 0)
		_exit(96);
	close(f);
}

static char fixture_dir[64]; /* the forked child's copy of the test's directory, for the setups */

static void good_at_5(const struct inst *in)
{
	put_at("/usr/bin/true", O_RDONLY, 5);
}

static void dir_at_5(const struct inst *in)
{
	put_at("/", O_RDONLY | O_DIRECTORY, 5);
}

static void pipe_at_5(const struct inst *in)
{
	int p[2];

	if (pipe(p) < 0 || dup2(p[0], 5) < 0)
		_exit(96);
}

static void opath_at_5(const struct inst *in)
{
	put_at("/usr/bin/true", O_PATH, 5);
}

static void named_at_5(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", fixture_dir, name);
	put_at(path, O_RDONLY, 5);
}

static void suid_at_5(const struct inst *in)
{
	named_at_5("suid");
}

static void sgid_at_5(const struct inst *in)
{
	named_at_5("sgid");
}

static void fcap_at_5(const struct inst *in)
{
	named_at_5("fcap");
}

static void noexec_at_5(const struct inst *in)
{
	named_at_5("noexec");
}

/* good targets at every number from 4 to 40, and the one named (41) empty */
static void good_everywhere(const struct inst *in)
{
	for (int fd = 4; fd <= 40; fd++)
		put_at("/usr/bin/true", O_RDONLY, fd);
}

/* Copies of /usr/bin/true with the given mode (and file capabilities). */
static void make_targets(const struct inst *in)
{
	char cmd[512];

	snprintf(fixture_dir, sizeof(fixture_dir), "%s", in->dir);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && for f in suid sgid fcap noexec; do cp /usr/bin/true $f; done && chmod 4755 suid && "
		 "chmod 2755 sgid && chmod 0644 noexec && /sbin/setcap cap_net_raw=p fcap", in->dir);
	cr_assert_eq(system(cmd), 0);
}

Test(exe_helper, a_hostile_caller_gets_nothing_but_its_own_exe_set, .timeout = 60)
{
	struct inst in;

	install_helper(&in);
	make_targets(&in);
	/* the one thing it does: a readable, executable, plain file */
	hostile_check(&in, good_at_5, "5", "/usr/bin/true", "a good file");
	hostile_check(&in, NULL, "5", in.helper, "nothing at the fd");
	hostile_check(&in, good_at_5, "x5", in.helper, "not a number");
	hostile_check(&in, good_at_5, NULL, in.helper, "no fd named (argv of the spawned stub)");
	hostile_check(&in, dir_at_5, "5", in.helper, "a directory");
	hostile_check(&in, pipe_at_5, "5", in.helper, "a pipe");
	hostile_check(&in, opath_at_5, "5", in.helper, "an O_PATH fd (not open for reading)");
	hostile_check(&in, suid_at_5, "5", in.helper, "a set-user-ID file");
	hostile_check(&in, sgid_at_5, "5", in.helper, "a set-group-ID file");
	hostile_check(&in, fcap_at_5, "5", in.helper, "a file with capabilities");
	hostile_check(&in, noexec_at_5, "5", in.helper, "a file the caller may not execute");
	hostile_check(&in, good_everywhere, "41", in.helper, "good files at every other number");
	/* AT_SECURE is a plain exec's: 1 where the euid is not the uid */
	hostile_euid = 1000;
	hostile_check(&in, good_at_5, "5", "/usr/bin/true", "a good file, euid 1000");
	hostile_check(&in, suid_at_5, "5", in.helper, "a set-user-ID file, euid 1000");
	remove_helper(&in);
}

/*
 * A second request, through the stub's own protocol once the helper has
 * answered: a plan asking the stub to set exe (exe_in_mm) to another file.
 * The stub does what it does for anyone without the capability: it tries,
 * is refused, and goes on without; exe stays what the helper set.
 */
Test(exe_helper, a_second_request_is_refused, .timeout = 60)
{
	static struct pb_plan_hdr hdr;
	struct pb_result res;
	struct hostile h;
	struct inst in;
	int fds[2];
	char cbuf[CMSG_SPACE(sizeof(fds))];
	struct iovec iov = {&hdr, sizeof(hdr)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	uint64_t lo;

	install_helper(&in);
	hostile_start(&in, good_at_5, "5", &h);
	cr_assert_str_eq(h.exe, "/usr/bin/true");
	fds[0] = memfd_create("plan", MFD_CLOEXEC);
	fds[1] = open("/usr/bin/ls", O_RDONLY | O_CLOEXEC);
	cr_assert(fds[0] >= 0 && fds[1] >= 0);
	hdr.magic = PB_PROTO_MAGIC;
	hdr.nfiles = 1;
	hdr.exe_in_mm = 1;
	hdr.creds.dumpable = -1;
	lo = 0x400000;
	hdr.mm = (struct pb_wire_mm){lo, lo + 0x1000, lo + 0x1000, lo + 0x1000, lo + 0x1000, lo + 0x1000, lo + 0x2000,
				     lo + 0x2000, lo + 0x2000, lo + 0x2000, lo + 0x2000, 0, 0, 0};
	memcpy(hdr.comm, "second", 7);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	cr_assert_eq(sendmsg(h.sock, &msg, 0), (ssize_t)sizeof(hdr));
	cr_assert_eq(recv(h.sock, &res, sizeof(res), 0), (ssize_t)sizeof(res));
	cr_assert_eq(res.phase, PB_PHASE_OK, "the stub failed at phase %d: %d", res.phase, res.err);
	{
		char path[64], exe[256];
		ssize_t l;
		snprintf(path, sizeof(path), "/proc/%d/exe", (int)h.pid);
		l = readlink(path, exe, sizeof(exe) - 1);
		exe[l > 0 ? l : 0] = 0;
		cr_assert_str_eq(exe, "/usr/bin/true", "the second request set exe to %s", exe);
	}
	close(fds[0]);
	close(fds[1]);
	hostile_end(&h);
	remove_helper(&in);
}

/*
 * The library says which way exe was set (pb_built_info.exe_way), and the
 * builder still traces the program with ptrace (no trampoline left
 * behind): it seized the stub after the helper dropped its capability.
 * In a child that becomes uid 65534; its exit status says what was wrong.
 */
static int library_as_nobody(const char *helper_env)
{
	const char *args[] = {H_STATIC, "exit", "0"};
	const struct pb_built_info *info;
	struct pb_builder *b;
	struct pb_built *p;
	struct pb_error err;
	int fd, status;

	become_nobody();
	setenv("PROCBUILDER_EXE_HELPER", helper_env, 1);
	fd = open(H_STATIC, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pb_builder_new("pbhelper-static", -1, fd, &b, &err) < 0 || pb_add_arguments(b, args, 3) < 0)
		return 10;
	close(fd);
	if (pb_build(b, &p, &err) < 0)
		return 11;
	info = pb_built_info(p);
	status = info->exe_set * 100 + info->exe_way * 10 + (info->trampoline != 0);
	pb_built_free(p);
	pb_builder_free(b);
	return status;
}

Test(exe_helper, the_library_says_which_way_exe_was_set, .timeout = 60)
{
	struct inst in;
	int status;
	pid_t pid;

	install_helper(&in);
	for (int with = 0; with < 2; with++) {
		pid = fork();
		if (pid == 0)
			_exit(library_as_nobody(with ? in.helper : ""));
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFEXITED(status));
		/* exe_set, exe_way, whether a trampoline was left: 1, PB_EXE_HELPER, 0; or 0, PB_EXE_NOT_SET, 0 */
		cr_assert_eq(WEXITSTATUS(status), with ? 100 + 10 * PB_EXE_HELPER : 10 * PB_EXE_NOT_SET,
			     "with%s the helper: %d", with ? "" : "out", WEXITSTATUS(status));
	}
	remove_helper(&in);
}

/*
 * Callers the helper's secure exec would change in ways the stub cannot
 * undo (ambient capabilities cleared, RLIMIT_STACK clamped, personality
 * flags cleared), and callers for whom the kernel ignores its capability
 * (no_new_privs, traced by a tracer without CAP_SYS_PTRACE): they keep the old path, the trace says why, and the
 * program sees what execve gives them.
 */
Test(exe_helper, callers_it_would_change_keep_the_old_path, .timeout = 90)
{
	char *nnp[] = {NOBODY, "--no-new-privs", NULL};
	char *ambient[] = {SETPRIV, "--inh-caps=+net_raw", "--ambient-caps=+net_raw", "--reuid=65534", "--regid=65534",
			   "--clear-groups", NULL};
	char *stack[] = {NOBODY, "/bin/sh", "-c", "ulimit -s unlimited && exec \"$0\" \"$@\"", NULL};
	char *norandom[] = {NOBODY, "/usr/bin/setarch", "-R", NULL};
	char *traced[] = {NOBODY, "/usr/bin/strace", "-f", "-o", "/dev/null", NULL};
	char *const *wrappers[] = {nnp, ambient, stack, norandom, traced};
	const char *why[] = {"no_new_privs", "ambient capabilities", "RLIMIT_STACK above 8 MiB", "personality 0x",
			     "the caller is traced"};
	char *direct[] = {H_STATIC, "creds", NULL}, *inplace[] = {PB, "run", "--trace", H_STATIC, "creds", NULL};
	struct inst in;

	install_helper(&in);
	for (int i = 0; i < 5; i++) {
		struct run_result d, p;
		if (i == 4 && access("/usr/bin/strace", X_OK) != 0)
			continue; /* (configure.py installs it) */
		run_as(wrappers[i], direct, in.on, &d);
		run_as(wrappers[i], inplace, in.on, &p);
		cr_assert_eq(d.exit_code, 0, "%s", d.err);
		same_as_direct(&p, &d, why[i]);
		cr_assert(strstr(p.err, "[exe] not set: ") && strstr(p.err, why[i]), "%s:\n%s", why[i], p.err);
		run_result_free(&d);
		run_result_free(&p);
	}
	remove_helper(&in);
}
