/* SPDX-License-Identifier: MIT */
/*
 * DOC: libprocbuilder-spawn.so, the preload library. With
 * LD_PRELOAD=libprocbuilder-spawn.so a program's own posix_spawn and
 * posix_spawnp calls build their children with procbuilder
 * (pb_posix_spawn's drop-in, launch/posix_spawn.c), unchanged: ninja, GNU
 * make, Python's os.posix_spawn. It interposes posix_spawn_file_actions_init,
 * every add* and destroy (calling glibc's, then keeping a shadow record:
 * launch/spawn_shadow.c); posix_spawnattr_t needs none, glibc's own getters
 * read it. Environment:
 *   PROCBUILDER_PIPELINE    a pipeline file or name (PB_PIPELINE_DIR, then
 *                           the installed pipelines); unset: the default one
 *   PROCBUILDER_TRACE_FILE  one line per spawn appended to this file:
 *                           "procbuilder CALLER-PID CHILD-PID PATH" or
 *                           "glibc CALLER-PID CHILD-PID PATH: WHY"
 * It never breaks its host: what procbuilder cannot do, or fails at where
 * glibc would not, goes to glibc's posix_spawn (the trace says why). So do
 * processes with more than one thread: the build holds the stub with ptrace
 * from the calling thread, and another thread's wait for any child could
 * take its stops (ninja and make are single-threaded).
 *
 * Its state (glibc's functions, the loaded pipeline, the shadow record) is
 * process-wide, as an interposer's must be.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launch/posix_spawn.h"

#define EXPORT __attribute__((visibility("default")))

static struct {
	pthread_mutex_t lock;
	bool loaded;
	struct pb_pipeline *pipe;
	char error[4400];	/* why the pipeline could not be loaded */
} pipeline_cache = {PTHREAD_MUTEX_INITIALIZER, false, NULL, ""};

/* glibc's definition of name (the next one after us). */
static void *next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

/* PROCBUILDER_PIPELINE as a file: a path as it is, a name in PB_PIPELINE_DIR or the installed pipelines. */
static void pipeline_path(const char *name, char *path, size_t len)
{
	const char *dir = getenv("PB_PIPELINE_DIR");

	if (strchr(name, '/') || strstr(name, ".yaml")) {
		snprintf(path, len, "%s", name);
		return;
	}
	snprintf(path, len, "%s/%s.yaml", dir ? dir : "", name);
	if (!dir || access(path, R_OK) != 0)
		snprintf(path, len, "%s/%s.yaml", PB_PIPELINE_DATADIR, name);
}

/* The pipeline, loaded once: 0 (NULL: the compiled-in default) or -1 with the reason in the cache. */
static int pipeline(const struct pb_pipeline **ret)
{
	const char *name = getenv("PROCBUILDER_PIPELINE");
	struct pb_error err;
	char path[4096];
	int r;

	pthread_mutex_lock(&pipeline_cache.lock);
	if (!pipeline_cache.loaded && name && name[0] && strcmp(name, "default") != 0) {
		pipeline_path(name, path, sizeof(path));
		if (pb_pipeline_load(path, &pipeline_cache.pipe, &err) < 0)
			snprintf(pipeline_cache.error, sizeof(pipeline_cache.error), "PROCBUILDER_PIPELINE %s: %s",
				 name, err.msg);
	}
	pipeline_cache.loaded = true;
	*ret = pipeline_cache.pipe;
	r = pipeline_cache.error[0] ? -1 : 0;
	pthread_mutex_unlock(&pipeline_cache.lock);
	return r;
}

/* More than one thread (the task directory links each one), or no /proc to tell. */
static bool threaded(void)
{
	struct stat st;

	return stat("/proc/self/task", &st) < 0 || st.st_nlink != 3;
}

static void trace(const char *path, pid_t *pid, const struct pb_spawn_outcome *out)
{
	const char *file = getenv("PROCBUILDER_TRACE_FILE");
	char line[4400];
	int fd, n;

	if (!file || !file[0])
		return;
	n = snprintf(line, sizeof(line), "%s %d %d %s%s%s\n", out->glibc ? "glibc" : "procbuilder", (int)getpid(),
		     out->err == 0 && pid ? (int)*pid : -1, path, out->glibc ? ": " : "", out->glibc ? out->why : "");
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	/* one write with O_APPEND: lines from parallel processes do not mix */
	if (write(fd, line, (size_t)(n < (int)sizeof(line) ? n : (int)sizeof(line) - 1)) < 0)
		n = 0;
	close(fd);
}

static int route(bool search, pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct pb_spawn_outcome out = {0};
	struct pb_spawn_action *acts = NULL;
	const struct pb_pipeline *pipe = NULL;
	int saved = errno; /* posix_spawn leaves errno alone */
	size_t n = 0;
	int r;

	if (fa && pb_shadow_get(fa, &acts, &n) < 0)
		n = (size_t)-1;
	if (threaded() || pipeline(&pipe) < 0) {
		int (*f)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
			 char *const[], char *const[]) = next(search ? "posix_spawnp" : "posix_spawn");
		out.glibc = true;
		strlcpy(out.why, pipeline_cache.error[0] ? pipeline_cache.error :
			"more than one thread (the build's ptrace belongs to one)", sizeof(out.why));
		r = f ? f(pid, path, fa, attr, argv, envp) : ENOSYS;
		out.err = r;
	} else {
		r = pb_spawn_dropin(pid, path, fa, acts, n, attr, argv, envp, search, pipe, &out);
	}
	pb_spawn_actions_free(acts, n == (size_t)-1 ? 0 : n);
	trace(path, pid, &out);
	errno = saved;
	return r;
}

EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return route(false, pid, path, fa, attr, argv, envp);
}

EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return route(true, pid, file, fa, attr, argv, envp);
}

/* Calls glibc's NAME with ARGS and, if it took the action, records A. */
#define RECORD(name, args, ...)                                                   \
	do {                                                                      \
		int (*f) args = next(name);                                       \
		int r = f ? f(__VA_ARGS__) : ENOSYS;                              \
		if (r == 0)                                                       \
			pb_shadow_add(fa, &a);                                    \
		return r;                                                         \
	} while (0)

EXPORT int posix_spawn_file_actions_init(posix_spawn_file_actions_t *fa)
{
	int (*f)(posix_spawn_file_actions_t *) = next("posix_spawn_file_actions_init");
	int r = f ? f(fa) : ENOSYS;

	if (r == 0)
		pb_shadow_init(fa);
	return r;
}

EXPORT int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa)
{
	int (*f)(posix_spawn_file_actions_t *) = next("posix_spawn_file_actions_destroy");

	pb_shadow_forget(fa);
	return f ? f(fa) : ENOSYS;
}

EXPORT int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd, const char *path, int oflag,
					    mode_t mode)
{
	struct pb_spawn_action a = {.kind = PB_SA_OPEN, .fd = fd, .path = (char *)path, .oflag = oflag, .mode = mode};

	RECORD("posix_spawn_file_actions_addopen", (posix_spawn_file_actions_t *, int, const char *, int, mode_t),
	       fa, fd, path, oflag, mode);
}

EXPORT int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t *fa, int fd)
{
	struct pb_spawn_action a = {.kind = PB_SA_CLOSE, .fd = fd};

	RECORD("posix_spawn_file_actions_addclose", (posix_spawn_file_actions_t *, int), fa, fd);
}

EXPORT int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
	struct pb_spawn_action a = {.kind = PB_SA_DUP2, .fd = fd, .newfd = newfd};

	RECORD("posix_spawn_file_actions_adddup2", (posix_spawn_file_actions_t *, int, int), fa, fd, newfd);
}

EXPORT int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *fa, const char *path)
{
	struct pb_spawn_action a = {.kind = PB_SA_CHDIR, .path = (char *)path};

	RECORD("posix_spawn_file_actions_addchdir_np", (posix_spawn_file_actions_t *, const char *), fa, path);
}

EXPORT int posix_spawn_file_actions_addfchdir_np(posix_spawn_file_actions_t *fa, int fd)
{
	struct pb_spawn_action a = {.kind = PB_SA_FCHDIR, .fd = fd};

	RECORD("posix_spawn_file_actions_addfchdir_np", (posix_spawn_file_actions_t *, int), fa, fd);
}

EXPORT int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *fa, int from)
{
	struct pb_spawn_action a = {.kind = PB_SA_CLOSEFROM, .fd = from};

	RECORD("posix_spawn_file_actions_addclosefrom_np", (posix_spawn_file_actions_t *, int), fa, from);
}

EXPORT int posix_spawn_file_actions_addtcsetpgrp_np(posix_spawn_file_actions_t *fa, int fd)
{
	struct pb_spawn_action a = {.kind = PB_SA_TCSETPGRP, .fd = fd};

	RECORD("posix_spawn_file_actions_addtcsetpgrp_np", (posix_spawn_file_actions_t *, int), fa, fd);
}
