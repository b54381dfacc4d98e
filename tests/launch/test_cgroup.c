/* SPDX-License-Identifier: MIT */
/* Jobs: the process is created inside a cgroup v2 directory (CLONE_INTO_CGROUP). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

Test(job, the_process_is_in_the_cgroup_before_start)
{
	struct pb_builder *b;
	struct pb_built *p;
	struct pb_error err;
	char procs_path[4200], *procs, pid[16];
	int job, fd, status;

	make_cgroup();
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
