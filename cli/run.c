/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "procbuilder.h"
#include "cli/cli.h"
#include "cli/launch.h"
#include "launch/fdclose.h"
#include "launch/posix_spawn.h"

void pb_cli_run_help(FILE *f)
{
	fputs("Usage: procbuilder run [OPTIONS] [--] PROG [ARGS...]\n"
	      "Build PROG with the default pipeline and become it, as env or setpriv do:\n"
	      "the process keeps its pid, parent, session, signal mask, ignored signals,\n"
	      "limits and every fd not marked close-on-exec, exactly as execve keeps them.\n"
	      "PROG is looked up in PATH like execvp, and like execvp, a PROG the kernel\n"
	      "would refuse as no format it knows (ENOEXEC: a script without #!, say) is\n"
	      "run as /bin/sh PROG ARGS... (--argv0 is then dropped, as execvp drops argv[0]).\n\n"
	      "  -e, --env NAME=VALUE      set a variable (repeatable)\n"
	      "  -i, --ignore-environment  start with an empty environment\n"
	      "  -u, --unset NAME          remove NAME from the environment (repeatable; in order\n"
	      "                            with -e and -i, as env applies them)\n"
	      "      --argv0 NAME          argv[0] for the program (default: PROG as given)\n"
	      "      --seed N              deterministic addresses and AT_RANDOM (for debugging)\n"
	      "      --close-fds           pass only fds 0, 1, 2 and those --fd/--listen name\n"
	      "      --spawn               build a child instead and wait for it, as its proxy:\n"
	      "                            signals are forwarded, its stops and its death are ours\n"
	      "      --stopped             spawned, stopped at its entry point (prints its pid)\n", f);
	fputs(pb_launch_build_help, f);
	fputs(pb_ids_help, f);
	fputs(pb_persona_help, f);
	fputs("      --gdb                 spawned, handed stopped at its entry to gdb -p\n"
	      "      --gdb-ex CMD          ... running gdb -batch -ex CMD (repeatable; implies --gdb)\n", f);
	fputs("  -h, --help                show this help\n"
	      "      --version             print procbuilder's version\n\n"
	      "With --spawn, every catchable signal sent to procbuilder is forwarded to the\n"
	      "program (as SI_QUEUE, with the sender's pid and value), except those a\n"
	      "terminal or our own process group sent, which the program got too. When the\n"
	      "program stops for job control, procbuilder stops; when it is killed by a\n"
	      "signal, procbuilder kills itself with that signal (no core of its own).\n"
	      "Exit status: the program's; 125 if procbuilder failed (the error names the\n"
	      "stage); 126 if PROG cannot be run; 127 if it, or its #! interpreter, is not\n"
	      "found; 2 on a usage error.\n"
	      "In place, a failure past the exec ends the process with 125 and one line.\n\n"
	      "/proc/PID/exe is the program where procbuilder holds CAP_SYS_ADMIN or\n"
	      "CAP_CHECKPOINT_RESTORE, and for other users through the installed exe helper\n"
	      "(" PB_EXE_HELPER_PATH ";\n"
	      "environment: PROCBUILDER_EXE_HELPER names another, empty for none); --trace\n"
	      "says which way ([exe]), or why not: then exe is the stub's memfd.\n", f);
}

/* Returned instead of an exit status when PROG failed as execve fails with ENOEXEC, before saying anything. */
#define RUN_ENOEXEC (-1)

/*
 * Whether the kernel refuses the file with ENOEXEC too (tests/parse's
 * table, measured on 6.18; launch/posix_spawn.c): those run as /bin/sh
 * scripts; what the kernel runs and we refuse stays a refusal.
 */
static bool kernel_says_enoexec(const struct pb_error *err)
{
	return pb_error_kernel_enoexec(err);
}

/*
 * The exit status for a failed build, after saying why: as env and the shells
 * give it, 127 when execve would say ENOENT (a missing #! interpreter), 126
 * when the file cannot be run (ELOOP included). With sh_fallback, an ENOEXEC failure says
 * nothing and is RUN_ENOEXEC.
 */
static int build_failed(struct pb_error *err, int r, bool sh_fallback)
{
	char msg[400];

	if (sh_fallback && kernel_says_enoexec(err))
		return RUN_ENOEXEC;
	if (!err->msg[0])
		snprintf(err->msg, sizeof(err->msg), "%s", strerror(-r));
	fprintf(stderr, "procbuilder: %s\n", pb_error_format(err, msg, sizeof(msg)));
	return pb_cli_exit_of(err);
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
static int make_builder(const struct pb_launch_opts *o, char **pargv, int fd, bool in_place, bool sh_fallback,
			struct pb_builder **b)
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
		return build_failed(&err, r, sh_fallback);
	if (configure(*b, o, pargv) < 0) {
		pb_builder_free(*b);
		*b = NULL;
		return 125;
	}
	return 0;
}

/* Becomes the program; returns only on failure. */
static int run_in_place(const struct pb_launch_opts *o, char **pargv, int fd, const struct pb_pipeline *pipe,
			bool sh_fallback)
{
	struct pb_builder *b = NULL;
	struct pb_error err = {0};
	int ret = make_builder(o, pargv, fd, true, sh_fallback, &b);

	if (ret)
		return ret;
	/* what cannot be marked close-on-exec would leak: nothing runs then */
	if (o->close_fds && (ret = pb_cloexec_from(3)) < 0) {
		pb_cli_error("run", "--close-fds: %s", strerror(-ret));
		ret = 125;
	} else {
		ret = build_failed(&err, pb_exec(b, pipe, &err), sh_fallback);
	}
	pb_builder_free(b);
	return ret;
}

static int run_spawned(const struct pb_launch_opts *o, char **pargv, int fd, const struct pb_pipeline *pipe,
		       bool sh_fallback)
{
	struct pb_builder *b = NULL;
	struct pb_built *p = NULL;
	struct pb_error err = {0};
	bool stopped = o->gdb || o->stopped || pb_pipeline_holds(pipe);
	sigset_t cancel, old;
	int r, ret;

	/*
	 * From before the stub exists until the program runs, a SIGINT or
	 * SIGTERM waits: the build sees it pending and is cancelled (the stub
	 * killed and reaped, one line), and once we have unwound it does to us
	 * what it would have done (the program is given our mask as it was).
	 */
	sigemptyset(&cancel);
	sigaddset(&cancel, SIGINT);
	sigaddset(&cancel, SIGTERM);
	sigprocmask(SIG_BLOCK, &cancel, &old);
	ret = make_builder(o, pargv, fd, false, sh_fallback, &b);
	if (ret)
		goto out_unblock;
	ret = 125;
	if (!o->close_fds)
		pb_cli_pass_inherited_fds(b);
	r = pb_set_sigmask(b, pb_sigset_bits(&old));
	if (r < 0)
		pb_cli_error("run", "signal mask: %s", strerror(-r));
	else
		r = pb_cli_proxy_prepare(b);
	if (r == 0)
		r = pb_build_with(b, pipe, &p, &err);
	if (r == 0)
		r = stopped ? pb_start_stopped(p, &err) : pb_start(p, &err);
	if (r < 0) {
		if (err.code != PB_OK)
			ret = build_failed(&err, r, sh_fallback);
		goto out_free;
	}
	if (o->gdb) {
		ret = pb_cli_exec_gdb(o, pb_built_info(p)->pid);
		goto out_free;
	}
	if (stopped)
		fprintf(stderr, "procbuilder: process %d is stopped at its entry point; attach a debugger or send SIGCONT\n",
			pb_built_info(p)->pid);
	ret = pb_cli_proxy(p);
	pb_built_free(p);
	pb_builder_free(b);
	return ret;
out_free:
	pb_built_free(p);
	pb_builder_free(b);
out_unblock: /* nothing runs: what is pending acts on us now, as it would have */
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/* Runs o->path with o's arguments, in place or spawned; the exit status, or RUN_ENOEXEC with sh_fallback. */
static int run_prog(const struct pb_launch_opts *o, const struct pb_pipeline *pipe, bool sh_fallback)
{
	char **pargv = pb_launch_argv(o);
	int fd = open(o->path, O_RDONLY | O_CLOEXEC), ret;

	if (!pargv || fd < 0) {
		pb_cli_error("run", "%s: %s", o->path, strerror(errno));
		ret = 126;
	} else if (o->spawn || pb_pipeline_holds(pipe)) {
		ret = run_spawned(o, pargv, fd, pipe, sh_fallback);
	} else {
		ret = run_in_place(o, pargv, fd, pipe, sh_fallback);
	}
	if (fd >= 0)
		close(fd);
	free(pargv);
	return ret;
}

/*
 * glibc's execvp, when execve says ENOEXEC, runs "/bin/sh FILE ARGS..." (FILE
 * as found in PATH; the caller's argv[0] is dropped), and so do the shells:
 * so does run. o becomes that command.
 */
static int run_with_sh(struct pb_launch_opts *o, const struct pb_pipeline *pipe)
{
	char **args = calloc((size_t)o->nargs + 2, sizeof(char *)), **given = o->args, *path = o->path;
	int ret = 125;

	o->path = strdup("/bin/sh");
	if (!args || !o->path) {
		pb_cli_error("run", "out of memory");
		goto out;
	}
	args[0] = o->path;
	args[1] = path;
	for (int i = 1; i < o->nargs; i++)
		args[i + 1] = given[i];
	o->args = args;
	o->nargs++;
	o->argv0 = NULL;
	ret = run_prog(o, pipe, false);
	o->args = given;
	o->nargs--;
out:
	free(path);
	free(args);
	return ret;
}

int pb_cli_run(int argc, char **argv)
{
	struct pb_launch_opts *o = malloc(sizeof(*o)); /* (on the heap: the CLI runs with a 16 KiB stack) */
	struct pb_pipeline *pipe = NULL;
	int r, ret = 125;

	if (!o)
		return 125;
	r = pb_launch_parse(argc, argv, "run", false, pb_cli_run_help, o);
	if (r != 0) {
		pb_launch_opts_free(o);
		free(o);
		return r == 1 ? 0 : r;
	}
	if (pb_launch_pipeline(o, &pipe, "run") < 0)
		goto out;
	ret = run_prog(o, pipe, true);
	if (ret == RUN_ENOEXEC)
		ret = run_with_sh(o, pipe);
out:
	pb_pipeline_free(pipe);
	pb_launch_opts_free(o);
	free(o);
	return ret;
}
