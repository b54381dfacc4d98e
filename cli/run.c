/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procbuilder.h"
#include "cli/cli.h"
#include "cli/launch.h"
#include "launch/fdclose.h"

void pb_cli_run_help(FILE *f)
{
	fputs("Usage: procbuilder run [OPTIONS] [--] PROG [ARGS...]\n"
	      "Build PROG with the default pipeline and become it, as env or setpriv do:\n"
	      "the process keeps its pid, parent, session, signal mask, ignored signals,\n"
	      "limits and every fd not marked close-on-exec, exactly as execve keeps them.\n"
	      "PROG is looked up in PATH like execvp.\n\n"
	      "  -e, --env NAME=VALUE      set a variable (repeatable)\n"
	      "  -i, --ignore-environment  start with an empty environment\n"
	      "      --argv0 NAME          argv[0] for the program (default: PROG as given)\n"
	      "      --seed N              deterministic addresses and AT_RANDOM (for debugging)\n"
	      "      --close-fds           pass only fds 0, 1, 2 and those --fd/--listen name\n"
	      "      --spawn               build a child instead and wait for it, as its proxy:\n"
	      "                            signals are forwarded, its stops and its death are ours\n"
	      "      --stopped             spawned, stopped at its entry point (prints its pid)\n", f);
	fputs(pb_launch_build_help, f);
	fputs("      --gdb                 spawned, handed stopped at its entry to gdb -p\n"
	      "      --gdb-ex CMD          ... running gdb -batch -ex CMD (repeatable; implies --gdb)\n", f);
	fputs("  -h, --help                show this help\n\n"
	      "With --spawn, every catchable signal sent to procbuilder is forwarded to the\n"
	      "program (as SI_QUEUE, with the sender's pid and value), except those a\n"
	      "terminal or our own process group sent, which the program got too. When the\n"
	      "program stops for job control, procbuilder stops; when it is killed by a\n"
	      "signal, procbuilder kills itself with that signal (no core of its own).\n"
	      "Exit status: the program's; 125 if procbuilder failed (the error names the\n"
	      "stage); 126 if PROG cannot be run; 127 if it is not found; 2 on a usage error.\n"
	      "In place, a failure past the exec ends the process with 125 and one line.\n", f);
}

/* The exit status for a failed build, after saying why. */
static int build_failed(struct pb_error *err, int r)
{
	char msg[400];

	if (!err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "%s", strerror(-r));
	fprintf(stderr, "procbuilder: %s\n", pb_error_format(err, msg, sizeof(msg)));
	return err->code == PB_EACCES || err->code == PB_EPARSE ? 126 : 125;
}

/* What run's options say about the build, for either kind of builder. */
static int configure(struct pb_builder *b, const struct pb_launch_opts *o, char **pargv)
{
	int r = pb_set_execfn(b, o->path);

	if (r == 0)
		r = pb_add_arguments(b, (const char *const *)pargv, (size_t)o->nargs);
	if (r == 0)
		r = pb_add_environment(b, (const char *const *)o->env, o->envc);
	if (r == 0 && o->seeded)
		r = pb_set_seed(b, o->seed);
	if (r == 0)
		r = pb_set_trace(b, o->trace);
	if (r < 0) {
		pb_cli_error("run", "%s", strerror(-r));
		return r;
	}
	return pb_launch_apply(o, b, "run");
}

/* A builder for PROG with run's options (in place: for this process); 0, or the exit status after saying why. */
static int make_builder(const struct pb_launch_opts *o, char **pargv, int fd, bool in_place, struct pb_builder **b)
{
	struct pb_error err = {0};
	const char *base = strrchr(o->path, '/');
	int job = pb_launch_cgroup_fd(o, "run"), r;

	if (job < -1)
		return 125;
	r = (in_place ? pb_builder_new_self : pb_builder_new)(base ? base + 1 : o->path, job, fd, b, &err);
	if (job >= 0)
		close(job);
	if (r < 0)
		return build_failed(&err, r);
	if (configure(*b, o, pargv) < 0) {
		pb_builder_free(*b);
		*b = NULL;
		return 125;
	}
	return 0;
}

/* Becomes the program; returns only on failure. */
static int run_in_place(const struct pb_launch_opts *o, char **pargv, int fd, const struct pb_pipeline *pipe)
{
	struct pb_builder *b = NULL;
	struct pb_error err = {0};
	int ret = make_builder(o, pargv, fd, true, &b);

	if (ret)
		return ret;
	/* what cannot be marked close-on-exec would leak: nothing runs then */
	if (o->close_fds && (ret = pb_cloexec_from(3, pb_fd_nr_open())) < 0) {
		pb_cli_error("run", "--close-fds: %s", strerror(-ret));
		ret = 125;
	} else {
		ret = build_failed(&err, pb_exec(b, pipe, &err));
	}
	pb_builder_free(b);
	return ret;
}

static int run_spawned(const struct pb_launch_opts *o, char **pargv, int fd, const struct pb_pipeline *pipe)
{
	struct pb_builder *b = NULL;
	struct pb_built *p = NULL;
	struct pb_error err = {0};
	bool stopped = o->gdb || o->stopped || pb_pipeline_holds(pipe);
	int r, ret = make_builder(o, pargv, fd, false, &b);

	if (ret)
		return ret;
	ret = 125;
	if (!o->close_fds)
		pb_cli_pass_inherited_fds(b);
	r = pb_cli_proxy_prepare(b);
	if (r == 0)
		r = pb_build_with(b, pipe, &p, &err);
	if (r == 0)
		r = stopped ? pb_start_stopped(p, &err) : pb_start(p, &err);
	if (r < 0) {
		ret = build_failed(&err, r);
		goto out;
	}
	if (o->gdb) {
		ret = pb_cli_exec_gdb(o, pb_built_info(p)->pid);
		goto out;
	}
	if (stopped)
		fprintf(stderr, "procbuilder: process %d is stopped at its entry point; attach a debugger or send SIGCONT\n",
			pb_built_info(p)->pid);
	ret = pb_cli_proxy(p);
out:
	pb_built_free(p);
	pb_builder_free(b);
	return ret;
}

int pb_cli_run(int argc, char **argv)
{
	struct pb_launch_opts *o = malloc(sizeof(*o)); /* (on the heap: the CLI runs with a 16 KiB stack) */
	struct pb_pipeline *pipe = NULL;
	char **pargv = NULL;
	int fd = -1, r, ret = 125;

	if (!o)
		return 125;
	r = pb_launch_parse(argc, argv, "run", false, pb_cli_run_help, o);
	if (r != 0) {
		pb_launch_opts_free(o);
		free(o);
		return r == 1 ? 0 : r;
	}
	pargv = pb_launch_argv(o);
	fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (!pargv || fd < 0) {
		pb_cli_error("run", "%s: %s", o->path, strerror(errno));
		ret = 126;
		goto out;
	}
	if (pb_launch_pipeline(o, &pipe, "run") < 0)
		goto out;
	if (o->spawn || pb_pipeline_holds(pipe))
		ret = run_spawned(o, pargv, fd, pipe);
	else
		ret = run_in_place(o, pargv, fd, pipe);
out:
	pb_pipeline_free(pipe);
	if (fd >= 0)
		close(fd);
	free(pargv);
	pb_launch_opts_free(o);
	free(o);
	return ret;
}
