/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"
#include "cli/cli.h"
#include "cli/launch.h"

void pb_cli_run_help(FILE *f)
{
	fputs("Usage: procbuilder run [OPTIONS] [--] PROG [ARGS...]\n"
	      "Build PROG from the outside with the default pipeline, start it, wait for it.\n"
	      "PROG is looked up in PATH like execvp; it gets this environment, stdin,\n"
	      "stdout and stderr, and nothing else.\n\n"
	      "  -e, --env NAME=VALUE      set a variable (repeatable)\n"
	      "  -i, --ignore-environment  start with an empty environment\n"
	      "      --argv0 NAME          argv[0] for the program (default: PROG as given)\n"
	      "      --seed N              deterministic addresses and AT_RANDOM (for debugging)\n", f);
	fputs(pb_launch_build_help, f);
	fputs("      --gdb                 hand the built process, stopped at its entry, to gdb -p\n"
	      "      --gdb-ex CMD          ... running gdb -batch -ex CMD (repeatable; implies --gdb)\n", f);
	fputs("  -h, --help                show this help\n\n"
	      "Signals sent to procbuilder (HUP INT QUIT USR1 USR2 ALRM TERM CONT WINCH TSTP)\n"
	      "are forwarded to the program.\n"
	      "Exit status: the program's; 128+N if signal N killed it; 125 if procbuilder\n"
	      "failed (the error names the stage); 126 if PROG cannot be run; 127 if it\n"
	      "is not found; 2 on a usage error.\n", f);
}

static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM,
				SIGTERM, SIGCONT, SIGWINCH, SIGTSTP};

/* Forwards signals to pid until it ends; returns its wait status or -errno. */
static int supervise(struct pb_built *p, const sigset_t *fwd)
{
	const struct pb_built_info *info = pb_built_info(p);
	struct pollfd pf[2];
	int sfd = signalfd(-1, fwd, SFD_CLOEXEC), status, r;

	if (sfd < 0)
		return -errno;
	pf[0] = (struct pollfd){.fd = sfd, .events = POLLIN};
	pf[1] = (struct pollfd){.fd = info->pidfd, .events = POLLIN};
	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				kill(info->pid, (int)si.ssi_signo);
		}
		if (pf[1].revents) {
			r = pb_wait(p, &status);
			break;
		}
	}
	close(sfd);
	return r < 0 ? r : status;
}

/* Becomes gdb, attached to the stopped process (which stays our child, so gdb's). */
static int exec_gdb(const struct pb_launch_opts *o, int pid)
{
	char pidstr[16], *argv[8 + 2 * 16];
	int n = 0;

	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	argv[n++] = "gdb";
	argv[n++] = "-q";
	if (o->ngdb_ex)
		argv[n++] = "-batch";
	for (int i = 0; i < o->ngdb_ex; i++) {
		argv[n++] = "-ex";
		argv[n++] = (char *)o->gdb_ex[i];
	}
	argv[n++] = "-p";
	argv[n++] = pidstr;
	argv[n] = NULL;
	execvp("gdb", argv);
	pb_cli_error("run", "gdb: %s (process %d is left stopped)", strerror(errno), pid);
	return 125;
}

static int exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 125;
}

int pb_cli_run(int argc, char **argv)
{
	struct pb_launch_opts o;
	struct pb_builder *b = NULL;
	struct pb_built *p = NULL;
	struct pb_pipeline *pipe = NULL;
	struct pb_error err = {0};
	char **pargv = NULL, msg[400];
	sigset_t fwd, old;
	int fd = -1, job, r, ret = 125;
	const char *base;

	r = pb_launch_parse(argc, argv, "run", false, pb_cli_run_help, &o);
	if (r != 0) {
		pb_launch_opts_free(&o);
		return r == 1 ? 0 : r;
	}
	pargv = pb_launch_argv(&o);
	fd = open(o.path, O_RDONLY | O_CLOEXEC);
	if (!pargv || fd < 0) {
		pb_cli_error("run", "%s: %s", o.path, strerror(errno));
		ret = 126;
		goto out;
	}
	base = strrchr(o.path, '/');
	job = pb_launch_cgroup_fd(&o, "run");
	if (job < -1) {
		ret = 125;
		goto out;
	}
	r = pb_builder_new(base ? base + 1 : o.path, job, fd, &b, &err);
	if (job >= 0)
		close(job);
	if (r == 0)
		r = pb_set_execfn(b, o.path);
	if (r == 0)
		r = pb_add_arguments(b, (const char *const *)pargv, (size_t)o.nargs);
	if (r == 0)
		r = pb_add_environment(b, (const char *const *)o.env, o.envc);
	if (r == 0 && o.seeded)
		r = pb_set_seed(b, o.seed);
	if (r == 0 && (pb_launch_apply(&o, b, "run") < 0 || pb_launch_pipeline(&o, &pipe, "run") < 0)) {
		ret = 125;
		goto out;
	}
	if (r == 0)
		r = pb_set_trace(b, o.trace);
	/* The builder has the caller's signal mask for the program; ours now blocks what we forward. */
	sigemptyset(&fwd);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&fwd, forwarded[i]);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	if (r == 0)
		r = pb_build_with(b, pipe, &p, &err);
	if (r == 0 && (o.gdb || pb_pipeline_holds(pipe)))
		r = pb_start_stopped(p, &err);
	else if (r == 0)
		r = pb_start(p, &err);
	if (r < 0) {
		if (!err.msg[0])
			snprintf(err.msg, sizeof(err.msg), "%s", strerror(-r));
		fprintf(stderr, "procbuilder: %s\n", pb_error_format(&err, msg, sizeof(msg)));
		ret = err.code == PB_EACCES || err.code == PB_EPARSE ? 126 : 125;
		goto out_mask;
	}
	if (o.gdb) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		ret = exec_gdb(&o, pb_built_info(p)->pid);
		goto out;
	}
	if (pb_pipeline_holds(pipe))
		fprintf(stderr, "procbuilder: process %d is stopped at its entry point; attach a debugger or send SIGCONT\n",
			pb_built_info(p)->pid);
	r = supervise(p, &fwd);
	ret = r < 0 ? 125 : exit_status(r);
out_mask:
	sigprocmask(SIG_SETMASK, &old, NULL);
out:
	pb_pipeline_free(pipe);
	pb_built_free(p);
	pb_builder_free(b);
	if (fd >= 0)
		close(fd);
	free(pargv);
	pb_launch_opts_free(&o);
	return ret;
}
