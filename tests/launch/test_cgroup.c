/* SPDX-License-Identifier: MIT */
/* Jobs: the process is created inside a cgroup v2 directory (CLONE_INTO_CGROUP). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/host.h"
#include "procbuilder.h"
#include "tests/common/proc.h"
#include "tests/common/run.h"

#define H "build/tests/helpers/pbhelper-static"

static char cg[4096];

/* A fresh child cgroup, or skip with the reason. */
static void make_cgroup(void)
{
	char root[4096];

	if (pb_cgroup2_mount(root, sizeof(root)) < 0)
		cr_skip_test("no cgroup2 mount in /proc/self/mountinfo");
	if (snprintf(cg, sizeof(cg), "%s/pb-test-%d", root, getpid()) >= (int)sizeof(cg))
		cr_skip_test("cgroup path too long");
	if (mkdir(cg, 0755) < 0)
		cr_skip_test("cannot create a cgroup under %s: %s", root, strerror(errno));
}

static void remove_cgroup(void)
{
	if (cg[0])
		rmdir(cg);
}

TestSuite(job, .fini = remove_cgroup);

/* Builds H in the fresh cgroup cg and checks it is there before it starts. */
static void assert_in_the_cgroup_before_start(void)
{
	struct pb_builder *b;
	struct pb_built *p;
	struct pb_error err;
	char procs_path[4200], *procs, pid[16];
	int job, fd, status;

	job = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = open(H, O_RDONLY | O_CLOEXEC);
	cr_assert_eq(pb_builder_new(H, job, fd, &b, &err), 0, "%s", err.msg);
	close(job);
	close(fd);
	pb_add_arguments(b, (const char *const[]){H, "exit", "0"}, 3);
	cr_assert_eq(pb_build(b, &p, &err), 0, "%s", err.msg);
	pb_builder_free(b);
	snprintf(procs_path, sizeof(procs_path), "%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d\n", pb_built_info(p)->pid);
	procs = slurp(procs_path);
	cr_assert_str_eq(procs, pid, "cgroup.procs holds the built, unstarted process");
	free(procs);
	cr_assert_eq(pb_start(p, &(struct pb_error){0}), 0);
	cr_assert_eq(pb_wait(p, &status), 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pb_built_free(p);
	cr_assert(no_children());
}

Test(job, the_process_is_in_the_cgroup_before_start)
{
	make_cgroup();
	assert_in_the_cgroup_before_start();
}

/* clone3 refused (ENOSYS): the clone fallback's child joins the cgroup itself, before its exec. */
Test(job, in_the_cgroup_before_start_without_clone3)
{
	make_cgroup();
	cr_assert_eq(refuse_here(__NR_clone3, ENOSYS), 0);
	assert_in_the_cgroup_before_start();
}

/* What `cat /proc/self/cgroup` says under procbuilder run --spawn --cgroup cg, clone3 refused or not. */
Test(job, run_spawn_cgroup_without_clone3_as_with_it, .timeout = 30)
{
	char *argv[] = {"build/procbuilder", "run", "--spawn", "--cgroup", cg, "/bin/busybox", "cat", "/proc/self/cgroup",
			NULL};
	char line[128];
	struct run_result want, got;

	make_cgroup();
	snprintf(line, sizeof(line), "0::/%s\n", strrchr(cg, '/') + 1);
	cr_assert_eq(run_cmd_filtered(NULL, argv, NULL, &want), 0);
	cr_assert_eq(want.exit_code, 0, "%s", want.err);
	cr_assert(strstr(want.out, line), "want %s in %s", line, want.out);
	cr_assert_eq(run_refusing(__NR_clone3, ENOSYS, argv, NULL, &got), 0);
	cr_assert_eq(got.exit_code, 0, "%s", got.err);
	cr_assert_str_eq(got.out, want.out);
	run_result_free(&want);
	run_result_free(&got);
}

/*
 * Kernels 5.3 to 5.6 have clone3 but not CLONE_INTO_CGROUP: E2BIG for its
 * field, EINVAL for its flag. With a job, that is the fallback's case too;
 * without one, neither can come from the kernel, so it is reported.
 */
Test(job, e2big_and_einval_fall_back_only_with_a_job, .timeout = 30)
{
	char *with_job[] = {"build/procbuilder", "run", "--spawn", "--cgroup", cg, "/bin/busybox", "cat",
			    "/proc/self/cgroup", NULL};
	char *without[] = {"build/procbuilder", "run", "--spawn", "/bin/busybox", "true", NULL};
	const int errs[] = {E2BIG, EINVAL};
	char line[128], msg[128];
	struct run_result r;

	make_cgroup();
	snprintf(line, sizeof(line), "0::/%s\n", strrchr(cg, '/') + 1);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(run_refusing(__NR_clone3, errs[i], with_job, NULL, &r), 0);
		cr_assert_eq(r.exit_code, 0, "%s", r.err);
		cr_assert(strstr(r.out, line), "%s: want %s in %s", strerror(errs[i]), line, r.out);
		run_result_free(&r);
		cr_assert_eq(run_refusing(__NR_clone3, errs[i], without, NULL, &r), 0);
		snprintf(msg, sizeof(msg), "procbuilder: launch: clone3: %s\n", strerror(errs[i]));
		cr_assert_eq(r.exit_code, 125);
		cr_assert_str_eq(r.err, msg);
		run_result_free(&r);
	}
}

/*
 * A job the process cannot join: an error and no process, with clone3
 * (CLONE_INTO_CGROUP) and then, in this process, without it.
 */
static void assert_unjoinable(int job, const char *clone3_says, const char *fallback_says)
{
	struct pb_builder *b;
	struct pb_error err;
	int fd = open(H, O_RDONLY | O_CLOEXEC);

	cr_assert_lt(pb_builder_new(H, job, fd, &b, &err), 0);
	cr_assert(strstr(err.msg, clone3_says), "clone3: %s", err.msg);
	cr_assert(no_children());
	cr_assert_eq(refuse_here(__NR_clone3, ENOSYS), 0);
	cr_assert_lt(pb_builder_new(H, job, fd, &b, &err), 0);
	cr_assert(strstr(err.msg, fallback_says), "without clone3: %s", err.msg);
	cr_assert(no_children());
	close(fd);
}

Test(job, a_removed_cgroup_is_an_error_without_clone3_too)
{
	int job;

	make_cgroup();
	job = open(cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cr_assert_eq(rmdir(cg), 0);
	assert_unjoinable(job, "clone3: ", "moving the stub into the cgroup (cgroup.procs): No such file or directory");
	close(job);
}

Test(job, pids_max_refuses_a_fork_in_the_program)
{
	char root[4096], path[4200], *controllers;
	struct run_result r;
	FILE *f;

	if (pb_cgroup2_mount(root, sizeof(root)) < 0)
		cr_skip_test("no cgroup2 mount");
	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	controllers = slurp(path);
	if (!controllers || !strstr(controllers, "pids")) {
		free(controllers);
		cr_skip_test("the pids controller is not on cgroup2 here (hybrid mode: it is bound to v1)");
	}
	free(controllers);
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", root);
	f = fopen(path, "w");
	if (!f || fputs("+pids", f) < 0 || fclose(f) != 0)
		cr_skip_test("cannot enable pids in %s", root);
	make_cgroup();
	snprintf(path, sizeof(path), "%s/pids.max", cg);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("1", f);
	fclose(f);
	cr_assert_eq(run_cmd((char *[]){"build/procbuilder", "run", "--cgroup", cg, "/bin/busybox", "sh", "-c",
					"/bin/true && echo forked", NULL}, NULL, &r), 0);
	cr_assert_null(strstr(r.out, "forked"), "the fork inside went through: %s", r.out);
	run_result_free(&r);
}

Test(job, bad_job_fd_and_cli_errors)
{
	struct run_result r;

	cr_assert_eq(run_cmd((char *[]){"build/procbuilder", "run", "--cgroup", "/nonexistent-cgroup", H, "exit", "0", NULL},
			     NULL, &r), 0);
	cr_assert_eq(r.exit_code, 125);
	cr_assert(strstr(r.err, "--cgroup /nonexistent-cgroup: No such file or directory"), "%s", r.err);
	run_result_free(&r);
}

/* clone3 refuses a cgroup v1 directory (EBADF); so does the fallback, which could write its cgroup.procs. */
Test(job, a_cgroup_v1_job_is_refused_without_clone3_too)
{
	struct statfs sf;
	int job = open("/sys/fs/cgroup/pids", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (job < 0 || fstatfs(job, &sf) < 0 || sf.f_type != CGROUP_SUPER_MAGIC)
		cr_skip_test("no cgroup v1 hierarchy at /sys/fs/cgroup/pids");
	assert_unjoinable(job, "clone3: Bad file descriptor", "not a cgroup v2 directory");
	close(job);
}
