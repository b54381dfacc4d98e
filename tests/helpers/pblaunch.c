/* SPDX-License-Identifier: MIT */
/*
 * pblaunch: the library path, for sigstress. Builds PATH with ARGS through
 * pb_builder_new, pb_build and pb_start, waits for it with pb_wait and
 * ends as it did (its exit status, or its signal). -c: a careful caller,
 * which blocks SIGINT and SIGTERM before the builder exists (gives the
 * program its own mask with pb_set_sigmask), so that either cancels the
 * build; on a failed build it says so in one line and unblocks them.
 *
 *   pblaunch [-c] PATH [ARGS...]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procbuilder.h"

extern char **environ;

int main(int argc, char **argv)
{
	struct pb_builder *b = NULL;
	struct pb_built *p = NULL;
	struct pb_error err = {0};
	sigset_t cancel, old;
	int careful = argc > 1 && strcmp(argv[1], "-c") == 0, fd, r, status = 0;
	char **args = argv + 1 + careful;
	size_t nenv = 0;

	if (!args[0])
		return 2;
	sigemptyset(&cancel);
	sigaddset(&cancel, SIGINT);
	sigaddset(&cancel, SIGTERM);
	sigprocmask(careful ? SIG_BLOCK : SIG_SETMASK, careful ? &cancel : NULL, &old);
	fd = open(args[0], O_RDONLY | O_CLOEXEC);
	while (environ[nenv])
		nenv++;
	r = fd < 0 ? -errno : pb_builder_new(args[0], -1, fd, &b, &err);
	if (r == 0) {
		uint64_t mask = 0;
		for (int sig = 1; sig <= 64; sig++)
			if (sigismember(&old, sig) == 1)
				mask |= 1ull << (sig - 1);
		for (char **a = args; *a; a++)
			pb_add_arguments(b, (const char *const *)a, 1);
		pb_add_environment(b, (const char *const *)environ, nenv);
		if (careful)
			pb_set_sigmask(b, mask);
		r = pb_build(b, &p, &err);
	}
	if (r == 0)
		r = pb_start(p, &err);
	if (r < 0) {
		char msg[400];
		fprintf(stderr, "pblaunch: %s\n", err.code ? pb_error_format(&err, msg, sizeof(msg)) : strerror(-r));
		pb_built_free(p);
		pb_builder_free(b);
		sigprocmask(SIG_SETMASK, &old, NULL); /* a pending SIGINT or SIGTERM acts now */
		return 125;
	}
	r = pb_wait(p, &status);
	pb_built_free(p);
	pb_builder_free(b);
	if (r < 0)
		return 125;
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		raise(WTERMSIG(status));
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 125;
}
