/* SPDX-License-Identifier: MIT */
/*
 * libprocbuilder-spawn.so in a real program: Python's os.posix_spawn (file
 * actions and attributes through glibc's own functions, which the library
 * interposes), run with and without the preload in the same test; the
 * probe's report must be the same and the trace must say which route each
 * spawn took. (The whole builds, ninja and make, are `ninja client-test`.)
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/common/run.h"

#define PRELOAD "build/libprocbuilder-spawn.so"

/* Spawns the probe with file actions and attributes, waits, prints its status and report. */
static const char script[] =
	"import os, re, sys, threading\n"
	"probe, out, threads = sys.argv[1], sys.argv[2], sys.argv[3] == '1'\n"
	"if threads:\n"
	"    ev = threading.Event(); t = threading.Thread(target=ev.wait); t.start()\n"
	"r, w = os.pipe()\n"
	"os.set_inheritable(w, True)\n"
	"acts = [(os.POSIX_SPAWN_OPEN, 5, '/etc/hostname', os.O_RDONLY, 0),\n"
	"        (os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, w), (os.POSIX_SPAWN_CLOSE, r)]\n"
	"pid = os.posix_spawn(probe, ['probe', 'spawnprobe', out, 'a b'], {'X': '1'}, file_actions=acts,\n"
	"                     setpgroup=0, setsigmask={10, 12}, setsigdef={15})\n"
	"os.close(w); os.close(r)\n"
	"_, st = os.waitpid(pid, 0)\n"
	"if threads:\n"
	"    ev.set(); t.join()\n"
	"print('status', st)\n"
	"print(re.sub(r'pipe:\\[\\d+\\]', 'pipe', open(out).read()), end='')  # two runs, two pipes\n";

struct outcome {
	char *out;	/* python's stdout: the status and the report */
	char trace[4096];
};

static struct outcome run_python(bool preload, const char *pipeline, bool threads)
{
	char trace_path[64], out_path[64], *env[8], env_buf[4][4200];
	char probe[4096];
	struct run_result res;
	struct outcome o = {0};
	FILE *f;
	int n = 0;

	snprintf(trace_path, sizeof(trace_path), "/tmp/pbpreload-%d.trace", (int)getpid());
	snprintf(out_path, sizeof(out_path), "/tmp/pbpreload-%d.out", (int)getpid());
	unlink(trace_path);
	cr_assert(realpath("build/tests/helpers/pbhelper-dynamic", probe));
	env[n++] = "PATH=/usr/bin:/bin";
	env[n++] = "PB_PIPELINE_DIR=pipelines";
	snprintf(env_buf[0], sizeof(env_buf[0]), "PROCBUILDER_TRACE_FILE=%s", trace_path);
	env[n++] = env_buf[0];
	if (preload) {
		env[n++] = "LD_PRELOAD=" PRELOAD;
	}
	if (pipeline) {
		snprintf(env_buf[1], sizeof(env_buf[1]), "PROCBUILDER_PIPELINE=%s", pipeline);
		env[n++] = env_buf[1];
	}
	env[n] = NULL;
	char *argv[] = {"python3", "-c", (char *)script, probe, out_path, threads ? "1" : "0", NULL};
	cr_assert_eq(run_cmd(argv, env, &res), 0);
	cr_assert_eq(res.exit_code, 0, "python: %s", res.err);
	o.out = strdup(res.out);
	run_result_free(&res);
	f = fopen(trace_path, "r");
	if (f) {
		o.trace[fread(o.trace, 1, sizeof(o.trace) - 1, f)] = 0;
		fclose(f);
	}
	unlink(trace_path);
	unlink(out_path);
	return o;
}

Test(preload, python_posix_spawn_through_procbuilder)
{
	struct outcome plain = run_python(false, NULL, false), ours = run_python(true, NULL, false);

	cr_assert_str_eq(ours.out, plain.out, "preloaded:\n%s\nplain:\n%s", ours.out, plain.out);
	cr_assert(strstr(ours.out, "status 0\n"));
	cr_assert_str_eq(plain.trace, "");
	cr_assert(strncmp(ours.trace, "procbuilder ", 12) == 0, "trace: %s", ours.trace);
	cr_assert(strstr(ours.trace, "pbhelper-dynamic\n"), "trace: %s", ours.trace);
	cr_assert(!strchr(strchr(ours.trace, '\n') + 1, '\n'), "one spawn, one line: %s", ours.trace);
	free(plain.out);
	free(ours.out);
}

Test(preload, threaded_callers_go_to_glibc)
{
	struct outcome plain = run_python(false, NULL, true), ours = run_python(true, NULL, true);

	cr_assert_str_eq(ours.out, plain.out);
	cr_assert(strncmp(ours.trace, "glibc ", 6) == 0 && strstr(ours.trace, "more than one thread"),
		  "trace: %s", ours.trace);
	free(plain.out);
	free(ours.out);
}

Test(preload, pipeline_from_the_environment)
{
	struct outcome plain = run_python(false, NULL, false);
	struct outcome named = run_python(true, "novdso", false), bad = run_python(true, "/nonexistent.yaml", false);

	cr_assert_str_eq(named.out, plain.out);
	cr_assert(strncmp(named.trace, "procbuilder ", 12) == 0, "trace: %s", named.trace);
	/* a pipeline that cannot be loaded never breaks the host: glibc, and the trace says why */
	cr_assert_str_eq(bad.out, plain.out);
	cr_assert(strncmp(bad.trace, "glibc ", 6) == 0 && strstr(bad.trace, "PROCBUILDER_PIPELINE /nonexistent.yaml"),
		  "trace: %s", bad.trace);
	free(plain.out);
	free(named.out);
	free(bad.out);
}
