/* SPDX-License-Identifier: MIT */
/*
 * Credentials and exec permission, each compared with execve of the same
 * file by the same caller (root, or a uid/group/capability set made with
 * setpriv): what the program sees run directly, run in place (`run`) and
 * spawned (`run --spawn`) must be the same, or procbuilder must refuse with
 * a line naming the file and the privilege where it would have to raise.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "tests/common/run.h"

#define PB "build/procbuilder"
#define H "build/tests/helpers/pbhelper-static"
#define SETPRIV "/usr/bin/setpriv"
#define AS_USER SETPRIV, "--reuid=1000", "--regid=1000", "--clear-groups"
#define MAXARGS 24

static char *env[] = {"PATH=/usr/bin:/bin", "HOME=/root", NULL};

struct fixture {
	char dir[64];
	char path[128];
};

/* A copy of the helper with this owner, mode and (if caps) file capabilities, in a fresh 0755 directory. */
static void make_copy(struct fixture *f, uid_t uid, gid_t gid, mode_t mode, const char *caps)
{
	char cmd[512];

	if (geteuid() != 0 || access(SETPRIV, X_OK) != 0)
		cr_skip_test("needs root and setpriv");
	snprintf(f->dir, sizeof(f->dir), "/var/tmp/pb-creds-XXXXXX"); /* /tmp may be nosuid */
	cr_assert_not_null(mkdtemp(f->dir));
	chmod(f->dir, 0755);
	snprintf(f->path, sizeof(f->path), "%s/pbhelper", f->dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", H, f->path);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(chown(f->path, uid, gid), 0);
	cr_assert_eq(chmod(f->path, mode), 0);
	if (caps) {
		snprintf(cmd, sizeof(cmd), "/usr/sbin/setcap %s %s 2>/dev/null", caps, f->path);
		if (system(cmd) != 0)
			cr_skip_test("cannot set file capabilities here");
	}
}

static void remove_fixture(const struct fixture *f)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	system(cmd);
}

/* pre..., then tail... (NULL-terminated lists) into argv. */
static void join(char **argv, char *const *pre, char *const *tail)
{
	int n = 0;

	for (; pre && *pre && n < MAXARGS - 1; pre++)
		argv[n++] = *pre;
	for (; tail && *tail && n < MAXARGS - 1; tail++)
		argv[n++] = *tail;
	argv[n] = NULL;
}

static void run_as(char *const *wrapper, char *const *cmd, struct run_result *r)
{
	char *argv[MAXARGS];

	join(argv, wrapper, cmd);
	cr_assert_eq(run_cmd(argv, env, r), 0);
}

/*
 * The spawned program's proxy asks for SIGKILL at its death (bwrap's
 * --die-with-parent); a secure exec clears it, as execve clears a launcher's.
 */
static void unproxied(char *out)
{
	char *p = strstr(out, "pdeathsig=9 ");

	if (p && strstr(out, "secure=0 "))
		memcpy(p, "pdeathsig=0 ", 12);
}

/* What prog shows under wrapper: the same run directly, in place and spawned; returns the direct output. */
static char *same_as_execve(char *const *wrapper, const char *prog)
{
	char *direct[] = {(char *)prog, "creds", NULL};
	char *inplace[] = {PB, "run", (char *)prog, "creds", NULL};
	char *spawned[] = {PB, "run", "--spawn", (char *)prog, "creds", NULL};
	struct run_result d, p, s;
	char *out;

	run_as(wrapper, direct, &d);
	run_as(wrapper, inplace, &p);
	run_as(wrapper, spawned, &s);
	cr_assert_eq(d.exit_code, 0, "%s", d.err);
	cr_assert_eq(p.exit_code, 0, "%s", p.err);
	cr_assert_eq(s.exit_code, 0, "%s", s.err);
	unproxied(s.out);
	cr_assert_str_eq(p.out, d.out, "in place:\n%s\nexecve:\n%s", p.out, d.out);
	cr_assert_str_eq(s.out, d.out, "spawned:\n%s\nexecve:\n%s", s.out, d.out);
	out = strdup(d.out);
	run_result_free(&d);
	run_result_free(&p);
	run_result_free(&s);
	return out;
}

/* execve raises (direct output has want), and procbuilder refuses, both ways, naming what. */
static void refused_where_execve_raises(char *const *wrapper, char *const *cmd, const char *want,
				       const char *why)
{
	char *inplace[MAXARGS], *spawned[MAXARGS];
	char *run[] = {PB, "run", NULL}, *run_spawn[] = {PB, "run", "--spawn", NULL};
	struct run_result d, r;

	run_as(wrapper, cmd, &d);
	cr_assert(strstr(d.out, want), "execve did not raise here (%s):\n%s%s", want, d.out, d.err);
	run_result_free(&d);
	join(inplace, run, cmd);
	join(spawned, run_spawn, cmd);
	for (int i = 0; i < 2; i++) {
		run_as(wrapper, i ? spawned : inplace, &r);
		cr_assert_eq(r.exit_code, 126, "%s%s", r.out, r.err);
		cr_assert(strstr(r.err, why), "%s", r.err);
		cr_assert_eq(r.out_len, 0, "the program ran: %s", r.out);
		run_result_free(&r);
	}
}

Test(creds, at_secure_of_a_plain_program_like_execve)
{
	char *plain[] = {NULL}, *ruid[] = {SETPRIV, "--ruid=65534", NULL}, *rgid[] = {SETPRIV, "--rgid=65534", "--keep-groups", NULL};
	char *out;

	if (geteuid() != 0 || access(SETPRIV, X_OK) != 0)
		cr_skip_test("needs root and setpriv");
	out = same_as_execve(plain, H);
	cr_assert(strstr(out, "secure=0 ") && strstr(out, "secure_getenv=set"), "%s", out);
	free(out);
	out = same_as_execve(ruid, H);
	cr_assert(strstr(out, "secure=1 ") && strstr(out, "secure_getenv=unset"), "%s", out);
	free(out);
	out = same_as_execve(rgid, H);
	cr_assert(strstr(out, "secure=1 ") && strstr(out, "uid=0,0,0 gid=65534,0,0"), "%s", out);
	free(out);
}

Test(creds, ld_preload_ignored_in_secure_mode_like_execve)
{
	char *cmd[] = {SETPRIV, "--ruid=65534", "/usr/bin/env", "LD_PRELOAD=/nonexistent/preload.so", PB, "run", "/bin/true",
		       NULL};
	char *spawned[] = {SETPRIV, "--ruid=65534", "/usr/bin/env", "LD_PRELOAD=/nonexistent/preload.so", PB, "run",
			   "--spawn", "/bin/true", NULL};
	char *plain[] = {"/usr/bin/env", "LD_PRELOAD=/nonexistent/preload.so", PB, "run", "/bin/true", NULL};
	struct run_result r;

	if (geteuid() != 0 || access(SETPRIV, X_OK) != 0)
		cr_skip_test("needs root and setpriv");
	/* the test can fail: without secure mode ld.so says it cannot preload */
	cr_assert_eq(run_cmd(plain, env, &r), 0);
	cr_assert(strstr(r.err, "cannot be preloaded"), "%s", r.err);
	run_result_free(&r);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(run_cmd(i ? spawned : cmd, env, &r), 0);
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		cr_assert(!strstr(r.err, "preload"), "ld.so was not in secure mode: %s", r.err);
		run_result_free(&r);
	}
}

Test(creds, set_id_programs_run_by_root_like_execve)
{
	struct fixture u, g;
	char *plain[] = {NULL};
	char *out;

	make_copy(&u, 65534, 0, 04755, NULL);
	make_copy(&g, 0, 65534, 02755, NULL);
	out = same_as_execve(plain, u.path);
	cr_assert(strstr(out, "secure=1 ") && strstr(out, "uid=0,65534,65534"), "%s", out);
	free(out);
	out = same_as_execve(plain, g.path);
	cr_assert(strstr(out, "gid=0,65534,65534") && strstr(out, "dumpable=0"), "%s", out);
	free(out);
	remove_fixture(&u);
	remove_fixture(&g);
}

Test(creds, file_capabilities_like_execve)
{
	char *plain[] = {NULL};
	char *ambient[] = {SETPRIV, "--inh-caps=+net_raw,+net_bind_service", "--ambient-caps=+net_raw,+net_bind_service",
			   "--reuid=1000", "--regid=1000", "--clear-groups", NULL};
	struct fixture f;
	char *out;

	make_copy(&f, 0, 0, 0755, "cap_net_raw+ep");
	out = same_as_execve(plain, f.path);
	free(out);
	/* execve: pP' = fP, ambient cleared, AT_SECURE; procbuilder used to give 0x2400 in all three */
	out = same_as_execve(ambient, f.path);
	cr_assert(strstr(out, "prm=0000000000002000 eff=0000000000002000 amb=0000000000000000"), "%s", out);
	cr_assert(strstr(out, "secure=1 "), "%s", out);
	free(out);
	remove_fixture(&f);
}

Test(creds, raising_is_refused_with_the_file_and_the_privilege)
{
	struct fixture u, g, c;
	char *user[] = {AS_USER, NULL}, *with_group[] = {SETPRIV, "--reuid=1000", "--regid=1000", "--groups=65534", NULL};
	char *cmd[] = {NULL, "creds", NULL};

	make_copy(&u, 65534, 0, 04755, NULL);
	make_copy(&g, 0, 65534, 02755, NULL);
	make_copy(&c, 0, 0, 0755, "cap_net_raw+ep");
	cmd[0] = u.path;
	refused_where_execve_raises(user, cmd, "uid=1000,65534,65534", "is set-user-ID (owner uid 65534)");
	/* a supplementary group: execve takes it as egid, setresgid cannot (EPERM) */
	cmd[0] = g.path;
	refused_where_execve_raises(with_group, cmd, "gid=1000,65534,65534", "is set-group-ID (group 65534)");
	cmd[0] = c.path;
	refused_where_execve_raises(user, cmd, "prm=0000000000002000", "has file capabilities (0x2000)");
	remove_fixture(&u);
	remove_fixture(&g);
	remove_fixture(&c);
}

/* A script whose interpreter carries the privilege: the same rules as the direct route. */
Test(creds, script_interpreters_privilege_like_execve)
{
	struct fixture u, g, c;
	struct fixture *interp[] = {&u, &g, &c};
	const char *why[] = {"pbhelper is set-user-ID", "pbhelper is set-group-ID", "pbhelper has file capabilities"};
	char *plain[] = {NULL}, *user[] = {AS_USER, NULL};
	char script[192], *cmd[] = {script, NULL};
	char *out;
	FILE *f;

	make_copy(&u, 65534, 0, 04755, NULL);
	make_copy(&g, 0, 65534, 02755, NULL);
	make_copy(&c, 0, 0, 0755, "cap_net_raw+ep");
	for (int i = 0; i < 3; i++) {
		snprintf(script, sizeof(script), "%s/script", interp[i]->dir);
		f = fopen(script, "w");
		cr_assert_not_null(f);
		fprintf(f, "#!%s creds\n", interp[i]->path);
		fclose(f);
		chmod(script, 0755);
		if (i == 0) { /* root: runs with what execve gives */
			out = same_as_execve(plain, script);
			cr_assert(strstr(out, "uid=0,65534,65534"), "%s", out);
			free(out);
		}
		refused_where_execve_raises(user, cmd, i == 0 ? "uid=1000,65534,65534" :
					    i == 1 ? "gid=1000,65534,65534" : "prm=0000000000002000", why[i]);
	}
	remove_fixture(&u);
	remove_fixture(&g);
	remove_fixture(&c);
}

Test(creds, secure_exec_resets_the_stack_limit_and_pdeathsig_like_execve)
{
	char *big[] = {"/usr/bin/prlimit", "--stack=unlimited:unlimited", NULL};
	struct fixture u;
	char *out;

	make_copy(&u, 65534, 0, 04755, NULL);
	if (access("/usr/bin/prlimit", X_OK) != 0)
		cr_skip_test("needs prlimit");
	out = same_as_execve(big, u.path);
	cr_assert(strstr(out, "stack_cur=8388608 ") && strstr(out, "pdeathsig=0 "), "%s", out);
	free(out);
	out = same_as_execve(big, H); /* not secure: the limit stays */
	cr_assert(strstr(out, "stack_cur=-1 "), "%s", out);
	free(out);
	remove_fixture(&u);
}

/* ---- the kernel's exec checks (AT_EXECVE_CHECK) ---- */

static bool kernel_has_execve_check(void)
{
	char *argv[] = {"", NULL}, *envp[] = {NULL};
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
	bool yes = syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH | 0x10000) == 0;

	close(fd);
	return yes;
}

/* In a child: a Landlock ruleset that lets nothing execute but beneath allowed[]; then cmd. Its status. */
static int landlocked(const char *const *allowed, char *const *cmd, struct run_result *r)
{
	struct landlock_ruleset_attr ra = {.handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE};
	int pipefd[2], status, rs;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
		for (; rs >= 0 && *allowed; allowed++) {
			struct landlock_path_beneath_attr pb = {LANDLOCK_ACCESS_FS_EXECUTE,
								open(*allowed, O_PATH | O_CLOEXEC)};
			syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
		}
		if (rs < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || syscall(SYS_landlock_restrict_self, rs, 0) < 0)
			_exit(99);
		rs = run_cmd(cmd, env, r);
		if (rs < 0) { /* execve itself refused */
			dprintf(pipefd[1], "126\nexecve: %s", strerror(-rs));
			_exit(0);
		}
		dprintf(pipefd[1], "%d\n%s", r->exit_code, r->err);
		run_result_free(r);
		_exit(0);
	}
	close(pipefd[1]);
	memset(r, 0, sizeof(*r));
	r->err = calloc(1, 8192);
	cr_assert_not_null(r->err);
	for (ssize_t n; (n = read(pipefd[0], r->err + r->err_len, 8191 - r->err_len)) > 0;)
		r->err_len += (size_t)n;
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 99)
		return -1;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	r->exit_code = atoi(r->err);
	return 0;
}

Test(exec_check, landlock_without_execute_is_refused_like_execve)
{
	char cwd[512];
	const char *allowed[] = {"/usr", "/bin", "/lib", "/lib64", cwd, NULL};
	struct fixture f;
	char *direct[] = {NULL, "exit", "0", NULL}, *inplace[] = {PB, "run", NULL, "exit", "0", NULL};
	char *spawned[] = {PB, "run", "--spawn", NULL, "exit", "0", NULL};
	char *allowed_prog[] = {PB, "run", H, "exit", "0", NULL};
	struct run_result r;

	if (!kernel_has_execve_check())
		cr_skip_test("this kernel has no AT_EXECVE_CHECK (6.14)");
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	make_copy(&f, 0, 0, 0755, NULL); /* in /var/tmp: not beneath any allowed directory */
	direct[0] = inplace[2] = spawned[3] = f.path;
	if (landlocked(allowed, direct, &r) < 0)
		cr_skip_test("Landlock is not enabled here");
	cr_assert_neq(r.exit_code, 0, "execve ran it under the ruleset");
	run_result_free(&r);
	for (int i = 0; i < 2; i++) {
		landlocked(allowed, i ? spawned : inplace, &r);
		cr_assert_eq(r.exit_code, 126, "%s", r.err);
		cr_assert(strstr(r.err, "pbhelper is refused by the kernel's exec check"), "%s", r.err);
		run_result_free(&r);
	}
	/* and a program the ruleset allows runs */
	landlocked(allowed, allowed_prog, &r);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	run_result_free(&r);
	remove_fixture(&f);
}

/* FAN_OPEN_EXEC events on prog while cmd runs. */
static int exec_events(const char *prog, char *const *cmd)
{
	char buf[4096] __attribute__((aligned(8)));
	int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_CLOEXEC), n = 0;
	struct run_result r;
	ssize_t len;

	if (fan < 0)
		return -1;
	cr_assert_eq(fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_EXEC, AT_FDCWD, prog), 0, "%s", strerror(errno));
	cr_assert_eq(run_cmd(cmd, env, &r), 0);
	cr_assert_eq(r.exit_code, 0, "%s", r.err);
	run_result_free(&r);
	while ((len = read(fan, buf, sizeof(buf))) > 0) {
		for (struct fanotify_event_metadata *m = (void *)buf; FAN_EVENT_OK(m, len); m = FAN_EVENT_NEXT(m, len)) {
			n += !!(m->mask & FAN_OPEN_EXEC);
			if (m->fd >= 0)
				close(m->fd);
		}
	}
	close(fan);
	return n;
}

Test(exec_check, fanotify_sees_the_exec_like_execve)
{
	struct fixture f;
	char *direct[] = {NULL, "exit", "0", NULL}, *inplace[] = {PB, "run", NULL, "exit", "0", NULL};
	char *spawned[] = {PB, "run", "--spawn", NULL, "exit", "0", NULL};
	int d;

	if (!kernel_has_execve_check())
		cr_skip_test("this kernel has no AT_EXECVE_CHECK (6.14)");
	make_copy(&f, 0, 0, 0755, NULL);
	direct[0] = inplace[2] = spawned[3] = f.path;
	d = exec_events(f.path, direct);
	if (d < 0)
		cr_skip_test("fanotify is not available here");
	cr_assert_eq(d, 1);
	cr_assert_eq(exec_events(f.path, inplace), d);
	cr_assert_eq(exec_events(f.path, spawned), d);
	remove_fixture(&f);
}
