/* SPDX-License-Identifier: MIT */
/*
 * A seccomp filter (pb_set_seccomp; run --seccomp FD, bubblewrap's): the
 * program runs under it from its first instruction, as after fork +
 * no_new_privs + seccomp + execve, in place and spawned; a program the
 * kernel refuses, and installing without no_new_privs or CAP_SYS_ADMIN, are
 * refused when set.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "tests/common/built.h"
#include "tests/common/run.h"

#define PB "build/procbuilder"
#define SCRIPT "mkdir /tmp/pb-seccomp-denied 2>&1; grep -E '^(NoNewPrivs|Seccomp)' /proc/self/status"

static char *env[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};

/* mkdir and mkdirat fail with EPERM; everything else is allowed (x86-64 only, else killed). */
static const struct sock_filter no_mkdir[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdir, 2, 0),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_mkdirat, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
};

/* What SCRIPT prints after fork + no_new_privs + seccomp + execve: the reference, malloc'd. */
static char *reference(void)
{
	struct sock_fprog prog = {sizeof(no_mkdir) / sizeof(no_mkdir[0]), (struct sock_filter *)no_mkdir};
	struct run_result r;
	char *out;

	cr_assert_eq(run_cmd_filtered(&prog, (char *[]){"/bin/sh", "-c", SCRIPT, NULL}, env, &r), 0);
	out = r.out;
	r.out = NULL;
	run_result_free(&r);
	return out;
}

Test(seccomp, like_fork_seccomp_execve)
{
	char *want = reference(), *out = NULL, file[] = "/tmp/pb-filter-XXXXXX", cmd[512];
	struct pb_builder *b;
	struct pb_error err;
	struct run_result r;
	int status, fd = mkstemp(file), prog = open("/bin/sh", O_RDONLY | O_CLOEXEC);

	cr_assert(strstr(want, "Operation not permitted") && strstr(want, "Seccomp:\t2"), "%s", want);
	cr_assert_eq(write(fd, no_mkdir, sizeof(no_mkdir)), (ssize_t)sizeof(no_mkdir));
	close(fd);
	for (int spawn = 0; spawn < 2; spawn++) {
		snprintf(cmd, sizeof(cmd), "exec %s run%s --no-new-privs --seccomp 3 /bin/sh -c \"%s\" 3<%s", PB,
			 spawn ? " --spawn" : "", SCRIPT, file);
		cr_assert_eq(run_cmd((char *[]){"/bin/sh", "-c", cmd, NULL}, env, &r), 0);
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		cr_assert_str_eq(r.out, want, "%s:\n%s\nexecve:\n%s", spawn ? "spawned" : "in place", r.out, want);
		run_result_free(&r);
	}
	unlink(file);
	cr_assert_eq(pb_builder_new("sh", -1, prog, &b, &err), 0, "%s", err.msg);
	close(prog);
	cr_assert_eq(pb_add_arguments(b, (const char *[]){"sh", "-c", SCRIPT}, 3), 0);
	cr_assert_eq(pb_add_environment(b, (const char *const *)env, 2), 0);
	cr_assert_eq(pb_set_no_new_privs(b, 1), 0);
	cr_assert_eq(pb_set_seccomp(b, no_mkdir, sizeof(no_mkdir)), 0);
	cr_assert_eq(build_and_collect(b, &out, &status, &err), 0, "%s", err.msg);
	cr_assert_str_eq(out, want);
	free(out);
	free(want);
	pb_builder_free(b);
}

Test(seccomp, refused_when_set)
{
	const struct sock_filter bad[] = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 1000), BPF_STMT(0xffff, 0)};
	struct pb_builder *b;
	struct pb_error err;
	int fd = open("/bin/true", O_RDONLY | O_CLOEXEC), status;
	pid_t pid;

	cr_assert_eq(pb_builder_new_self("true", -1, fd, &b, &err), 0, "%s", err.msg);
	cr_assert_eq(pb_set_no_new_privs(b, 1), 0);
	cr_assert_eq(pb_set_seccomp(b, no_mkdir, 7), -EINVAL);
	cr_assert_eq(pb_set_seccomp(b, NULL, 8), -EINVAL);
	cr_assert_eq(pb_set_seccomp(b, bad, sizeof(bad)), -EINVAL, "the kernel refuses it");
	cr_assert_eq(pb_set_seccomp(b, no_mkdir, sizeof(no_mkdir)), 0);
	pb_builder_free(b);
	if (geteuid() != 0)
		goto out;
	/* as nobody, without no_new_privs: seccomp(2) says EACCES */
	pid = fork();
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0 || pb_builder_new_self("true", -1, fd, &b, &err) < 0)
			_exit(90);
		_exit(pb_set_seccomp(b, no_mkdir, sizeof(no_mkdir)) != -EACCES ? 1 :
		      pb_set_no_new_privs(b, 1) != 0 ? 2 :
		      pb_set_seccomp(b, no_mkdir, sizeof(no_mkdir)) != 0 ? 3 : 0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %x", status);
out:
	close(fd);
}
