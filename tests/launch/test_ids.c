/* SPDX-License-Identifier: MIT */
/*
 * Who the program is (pb_set_uids, _gids, _groups, _resetids, _cap_*; run's
 * --ruid ... --bounding-set): what a program sees (AT_SECURE, the auxv's
 * ids, dumpable, the Uid/Gid/Groups/Cap* lines of /proc/self/status) under
 * procbuilder, in place and spawned, equals what setpriv, fork + setresuid +
 * execve, or glibc's posix_spawn with POSIX_SPAWN_RESETIDS give the same
 * program, plain, set-user-ID, set-group-ID or with file capabilities: the
 * exec's credentials are computed from the ids the process has at the exec.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/built.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H "build/tests/helpers/pbhelper-static"
#define SETPRIV "/usr/bin/setpriv"
#define MAXARGS 32

static char *env[] = {"PATH=/usr/bin:/bin", "HOME=/root", NULL};

static void need_root_and_setpriv(void)
{
	if (geteuid() != 0 || access(SETPRIV, X_OK) != 0)
		cr_skip_test("needs root and setpriv");
}

/* A copy of the helper in a fresh 0755 directory under /var/tmp (/tmp may be nosuid). */
static void make_copy(char *dir, char *path, uid_t uid, gid_t gid, mode_t mode, const char *caps)
{
	char cmd[512];

	strcpy(dir, "/var/tmp/pb-ids-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
	sprintf(path, "%s/pbhelper", dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", H, path);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(chown(path, uid, gid), 0);
	cr_assert_eq(chmod(path, mode), 0);
	snprintf(cmd, sizeof(cmd), "/usr/sbin/setcap %s %s 2>/dev/null", caps, path);
	if (caps && system(cmd) != 0)
		cr_skip_test("cannot set file capabilities here");
}

static void remove_dir(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	system(cmd);
}

/* wrapper..., then opts (space-separated), then tail... into argv. */
static void join(char **argv, char *const *wrapper, char *opts, char *const *tail)
{
	char *save = NULL;
	int n = 0;

	for (; wrapper && *wrapper; wrapper++)
		argv[n++] = *wrapper;
	for (char *t = strtok_r(opts, " ", &save); t && n < MAXARGS - 8; t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	for (; tail && *tail && n < MAXARGS - 1; tail++)
		argv[n++] = *tail;
	argv[n] = NULL;
}

/* outer... setpriv OPTS prog ids, against outer... procbuilder run [--spawn] OPTS prog ids. */
static void same_as_setpriv(char *const *outer, const char *opts, const char *prog, const char *want)
{
	char *tail[] = {(char *)prog, "ids", NULL}, *argv[MAXARGS], copy[512];
	char *setpriv[MAXARGS], *run[3][4] = {{SETPRIV}, {PB, "run"}, {PB, "run", "--spawn"}};
	struct run_result ref, got;

	for (int i = 0; outer && outer[i]; i++)
		setpriv[i] = outer[i];
	for (int way = 0; way < 3; way++) {
		int n = 0;
		for (; outer && outer[n]; n++)
			setpriv[n] = outer[n];
		for (int k = 0; run[way][k]; k++)
			setpriv[n++] = run[way][k];
		setpriv[n] = NULL;
		snprintf(copy, sizeof(copy), "%s", opts);
		join(argv, setpriv, copy, tail);
		cr_assert_eq(run_cmd(argv, env, way ? &got : &ref), 0);
		if (way == 0) {
			cr_assert_eq(ref.exit_code, 0, "setpriv %s: %s", opts, ref.err);
			cr_assert(!want || strstr(ref.out, want), "setpriv %s %s gave\n%s", opts, prog, ref.out);
			continue;
		}
		cr_assert_eq(got.exit_code, 0, "%s %s: %s", opts, prog, got.err);
		cr_assert_str_eq(got.out, ref.out, "%s %s %s:\n%s\nsetpriv:\n%s", way == 1 ? "in place" : "spawned",
				 opts, prog, got.out, ref.out);
		run_result_free(&got);
	}
	run_result_free(&ref);
}

Test(ids, plain_program_like_setpriv)
{
	need_root_and_setpriv();
	same_as_setpriv(NULL, "--reuid=65534 --regid=65534 --clear-groups", H, "Uid: 65534\t65534\t65534");
	same_as_setpriv(NULL, "--euid=65534", H, "secure=1 ");
	same_as_setpriv(NULL, "--ruid=65534", H, "Uid: 65534\t0\t0");
	same_as_setpriv(NULL, "--regid=65534 --groups=4,24", H, "Groups: 4 24");
	same_as_setpriv(NULL, "--rgid=65534 --keep-groups", H, "Gid: 65534\t0\t0");
	/* a root program's permitted set is bounding | inheritable: the dropped ones are gone from it */
	same_as_setpriv(NULL, "--bounding-set=-net_raw,-sys_admin --inh-caps=-all", H, "CapBnd: 000001fffedfdfff");
}

/* The set-id bits and file capabilities act on the new ids: the credentials are not the caller's. */
Test(ids, set_id_and_file_capability_programs_like_setpriv)
{
	const char *opts[] = {"--reuid=1000 --regid=1000 --clear-groups", "--euid=1000", "--ruid=1000",
			      "--reuid=1000 --regid=1000 --groups=65534"};
	const char *want[3][4] = {
		{"Uid: 1000\t65534\t65534", "Uid: 0\t65534\t65534", "Uid: 1000\t65534\t65534", "secure=1 "},
		{"Gid: 1000\t65534\t65534", "Gid: 0\t65534\t65534", "Gid: 0\t65534\t65534", "Gid: 1000\t65534\t65534"},
		{"CapPrm: 0000000000002000", "secure=1 ", "Uid: 1000\t0\t0", "CapEff: 0000000000002000"},
	};
	char dir[3][64], path[3][128];

	need_root_and_setpriv();
	make_copy(dir[0], path[0], 65534, 0, 04755, NULL);
	make_copy(dir[1], path[1], 0, 65534, 02755, NULL);
	make_copy(dir[2], path[2], 0, 0, 0755, "cap_net_raw+ep");
	for (int p = 0; p < 3; p++)
		for (int o = 0; o < 4; o++)
			same_as_setpriv(NULL, opts[o], path[p], want[p][o]);
	for (int p = 0; p < 3; p++)
		remove_dir(dir[p]);
}

/* Ambient and inheritable sets dropped by a user that has some (setpriv raised them first). */
Test(ids, ambient_and_inheritable_drops_like_setpriv)
{
	char *outer[] = {SETPRIV, "--inh-caps=+net_raw,+net_bind_service", "--ambient-caps=+net_raw,+net_bind_service",
			 "--reuid=1000", "--regid=1000", "--clear-groups", NULL};

	need_root_and_setpriv();
	same_as_setpriv(outer, "--ambient-caps=-net_raw", H, "CapAmb: 0000000000000400");
	same_as_setpriv(outer, "--inh-caps=-net_bind_service", H, "CapAmb: 0000000000002000");
}

/* What the child printed into a shared page (a forked child cannot assert). */
struct shared {
	int ok;
	char why[320];
	char ref[4096], got[4096];
};

static int collect(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t r;

	while (n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fd);
	return 0;
}

/* posix_spawn with POSIX_SPAWN_RESETIDS of H ids, its output into buf. */
static int posix_spawn_resetids(char *buf, size_t len)
{
	posix_spawnattr_t at;
	int r;

	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_RESETIDS);
	r = spawn_stdout(&at, (char *[]){H, "ids", NULL}, env, buf, len);
	posix_spawnattr_destroy(&at);
	return r;
}

static void resetids_child(struct shared *s)
{
	struct pb_builder *b;
	struct pb_error err;
	char *out = NULL;
	int status, fd;

	if (setresuid(65534, 0, 0) < 0 || posix_spawn_resetids(s->ref, sizeof(s->ref)) < 0) {
		snprintf(s->why, sizeof(s->why), "the reference failed");
		return;
	}
	fd = open(H, O_RDONLY | O_CLOEXEC);
	if (pb_builder_new(H, -1, fd, &b, &err) < 0 || pb_add_arguments(b, (const char *[]){H, "ids"}, 2) < 0 ||
	    pb_add_environment(b, (const char *const *)env, 2) < 0 || pb_set_resetids(b, 1) < 0 ||
	    build_and_collect(b, &out, &status, &err) < 0) {
		snprintf(s->why, sizeof(s->why), "procbuilder: %s", err.msg);
		return;
	}
	snprintf(s->got, sizeof(s->got), "%s", out);
	free(out);
	pb_builder_free(b);
	close(fd);
	s->ok = 1;
}

/*
 * A caller whose effective uid is not its real one (as a set-user-ID
 * program): the program's exec is not secure, though the stub's was.
 */
Test(ids, resetids_like_glibc_posix_spawn)
{
	struct shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char *cli[] = {SETPRIV, "--ruid=65534", PB, "run", "--reset-ids", H, "ids", NULL};
	char *cli_spawn[] = {SETPRIV, "--ruid=65534", PB, "run", "--spawn", "--reset-ids", H, "ids", NULL};
	struct run_result r;
	int status;
	pid_t pid;

	need_root_and_setpriv();
	cr_assert_neq(s, MAP_FAILED);
	pid = fork();
	if (pid == 0) {
		resetids_child(s);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(s->ok, "%s", s->why);
	cr_assert(strstr(s->ref, "secure=0 auxv_ids=65534,65534,0,0"), "%s", s->ref);
	cr_assert_str_eq(s->got, s->ref, "procbuilder:\n%s\nposix_spawn:\n%s", s->got, s->ref);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(run_cmd(i ? cli_spawn : cli, env, &r), 0);
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		cr_assert_str_eq(r.out, s->ref, "%s:\n%s\nposix_spawn:\n%s", i ? "spawned" : "in place", r.out, s->ref);
		run_result_free(&r);
	}
	munmap(s, sizeof(*s));
}

/* fork, setgroups, setresgid, setresuid, execve: the reference for the library calls. */
Test(ids, library_like_fork_setresuid_execve)
{
	const uint32_t groups[] = {4, 24};
	struct pb_builder *b;
	struct pb_error err;
	char *out = NULL, ref[4096];
	int p[2], status, fd;
	pid_t pid;

	need_root_and_setpriv();
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		gid_t g[] = {4, 24};
		dup2(p[1], 1);
		if (setgroups(2, g) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(1000, 1000, 1000) < 0)
			_exit(99);
		execve(H, (char *[]){H, "ids", NULL}, env);
		_exit(98);
	}
	close(p[1]);
	collect(p[0], ref, sizeof(ref));
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(status, 0);
	fd = open(H, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pb_builder_new(H, -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	cr_assert_eq(pb_add_arguments(b, (const char *[]){H, "ids"}, 2), 0);
	cr_assert_eq(pb_add_environment(b, (const char *const *)env, 2), 0);
	cr_assert_eq(pb_set_groups(b, groups, 2), 0);
	cr_assert_eq(pb_set_gids(b, 65534, 65534), 0);
	cr_assert_eq(pb_set_uids(b, 1000, 1000), 0);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out, ref, "procbuilder:\n%s\nexecve:\n%s", out, ref);
	cr_assert(strstr(ref, "Groups: 4 24") && strstr(ref, "Uid: 1000\t1000\t1000"), "%s", ref);
	free(out);
	pb_builder_free(b);
}

/* As nobody, what setresuid, setgroups, PR_CAPBSET_DROP and capset would refuse is refused when set. */
Test(ids, refused_when_set)
{
	int status;
	pid_t pid;

	need_root_and_setpriv();
	pid = fork();
	if (pid == 0) {
		struct pb_builder *b;
		struct pb_error err;
		const uint32_t g = 4;
		int fd = open(H, O_RDONLY | O_CLOEXEC);
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0 ||
		    pb_builder_new_self("x", -1, fd, &b, &err) < 0)
			_exit(90);
		_exit(pb_set_uids(b, 0, PB_ID_UNCHANGED) != -EPERM ? 1 :
		      pb_set_gids(b, PB_ID_UNCHANGED, 0) != -EPERM ? 2 :
		      pb_set_groups(b, &g, 1) != -EPERM ? 3 :
		      pb_set_groups(b, NULL, 0) != -EPERM ? 4 :
		      pb_set_cap_bounding(b, 0) != -EPERM ? 5 :
		      pb_set_cap_inheritable(b, 1ull << CAP_NET_RAW) != -EPERM ? 6 :
		      pb_set_uids(b, 65534, 65534) != 0 ? 7 :
		      pb_set_resetids(b, 1) != 0 ? 8 :
		      pb_set_cap_inheritable(b, 0) != 0 ? 9 : 0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %x", status);
}

Test(ids, bad_values_refused_when_set)
{
	uint32_t many[300] = {0}, bad = PB_ID_UNCHANGED;
	struct pb_builder *b;
	struct pb_error err;
	int fd = open(H, O_RDONLY | O_CLOEXEC);

	need_root_and_setpriv();
	cr_assert_eq(pb_builder_new_self("x", -1, fd, &b, &err), 0, "%s", err.msg);
	close(fd);
	cr_assert_eq(pb_set_groups(b, many, 300), -E2BIG);
	cr_assert_eq(pb_set_groups(b, &bad, 1), -EINVAL);
	cr_assert_eq(pb_set_groups(b, NULL, 2), -EINVAL);
	cr_assert_eq(pb_set_cap_ambient(b, 1ull << CAP_NET_RAW), -EPERM, "root has no ambient set to drop from");
	cr_assert_eq(pb_set_cap_bounding(b, 1ull << 63), -EPERM);
	pb_builder_free(b);
}

/* setpriv's own rules and names: a gid needs a groups option; the groups options exclude each other. */
Test(ids, cli_usage_like_setpriv)
{
	char *cases[][8] = {
		{PB, "run", "--regid=65534", "/bin/true", NULL},
		{PB, "run", "--clear-groups", "--keep-groups", "/bin/true", NULL},
		{PB, "run", "--inh-caps=+no_such_cap", "/bin/true", NULL},
		{PB, "run", "--reuid=no-such-user-here", "/bin/true", NULL},
	};
	const char *why[] = {"--[re]gid requires --keep-groups, --clear-groups, or --groups", "exclude each other",
			     "--inh-caps wants", "--reuid wants a user name or number"};
	struct run_result r;

	for (int i = 0; i < 4; i++) {
		cr_assert_eq(run_cmd(cases[i], env, &r), 0);
		cr_assert_eq(r.exit_code, 2, "%s: %s", cases[i][2], r.err);
		cr_assert(strstr(r.err, why[i]), "%s", r.err);
		run_result_free(&r);
	}
	if (geteuid() != 0)
		return;
	/* the kernel's refusal, which setpriv's libcap-ng passes over in silence: said, nothing run */
	cr_assert_eq(run_cmd((char *[]){SETPRIV, "--reuid=1000", "--regid=1000", "--clear-groups", PB, "run",
					"--bounding-set=-net_raw", "/bin/echo", "ran", NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 125, "%s%s", r.out, r.err);
	cr_assert(strstr(r.err, "--bounding-set: Operation not permitted"), "%s", r.err);
	cr_assert_eq(r.out_len, 0);
	run_result_free(&r);
}

/* The options' parsing (user and group names through NSS, the lists) fits procbuilder's 16 KiB stack. */
Test(ids, a_16_kib_stack_is_enough, .timeout = 60)
{
	char cmd[1024];
	struct run_result r;

#ifdef PB_ASAN
	cr_skip("ASan's own frames need more than 16 KiB");
#endif
	need_root_and_setpriv();
	/* numbers went through NSS first (as setpriv does), whose systemd module crashed 1 run in 6 under clang */
	snprintf(cmd, sizeof(cmd), "ulimit -s 16 && for i in 1 2 3 4 5 6 7 8 9 10; do %s run --reuid=nobody "
		 "--regid=nogroup --groups=4,24 --bounding-set=-net_raw --inh-caps=-all /bin/true && %s run --spawn "
		 "--reuid=65534 --regid=65534 --groups=4 --reset-ids /bin/true || exit 1; done", PB, PB);
	cr_assert_eq(run_cmd((char *[]){"sh", "-c", cmd, NULL}, env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "status %d signal %d: %s", r.exit_code, r.signal, r.err);
	run_result_free(&r);
}

/*
 * Allowed when set, no longer possible at the exec (CAP_SETGID gone from
 * the bounding set, so the stub's exec would not get it): pb_exec says what,
 * and the caller is intact.
 */
Test(ids, a_privilege_lost_before_the_exec_is_named)
{
	int status;
	pid_t pid;

	need_root_and_setpriv();
	pid = fork();
	if (pid == 0) {
		const uint32_t g = 4;
		struct pb_builder *b;
		struct pb_error err;
		int fd = open(H, O_RDONLY | O_CLOEXEC), r;
		if (pb_builder_new_self(H, -1, fd, &b, &err) < 0 || pb_set_groups(b, &g, 1) != 0 ||
		    prctl(PR_CAPBSET_DROP, CAP_SETGID, 0, 0, 0) < 0)
			_exit(90);
		r = pb_exec(b, NULL, &err);
		pb_builder_free(b);
		_exit(r != -EACCES ? 1 : !strstr(err.msg, "supplementary groups needs CAP_SETGID") ? 2 : 0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %x", status);
}
