/* SPDX-License-Identifier: MIT */
/*
 * DOC: the posix_spawn drop-in. pb_posix_spawn and pb_posix_spawnp take
 * posix_spawn's arguments and behave as glibc 2.36's do, but the program is
 * built by procbuilder: its stub is cloned as glibc clones its child
 * (CLONE_VM|CLONE_VFORK), and that child does posix_spawn's own work, in
 * glibc's order, with the caller's credentials, cwd and fd table
 * (launch/spawn_child.c): default dispositions, setsid, setpgid, each file
 * action. A failing action is the return value and no process remains. The
 * child then execs the stub, which keeps every fd not marked close-on-exec,
 * as the program's execve would, and the program is built and started; its
 * pid, a child of the caller that the caller reaps, is returned. Nothing of
 * procbuilder's stays: no pidfd, no thread, no fd, no SIGCHLD of its own.
 *
 * What procbuilder cannot do (yet), or cannot know, goes to glibc's own
 * posix_spawn, unchanged: see glibc_only() (the one place where new builder
 * calls get wired), file actions it did not see (the preload library's
 * shadow record, launch/spawn_shadow.c), a program it cannot open where
 * glibc's child would, and a build failure glibc would not have (say, a
 * strict parse refusal of a file the kernel runs; the actions then run a
 * second time, in glibc's child).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"
#include "launch/launch.h"
#include "launch/posix_spawn.h"

typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
			char *const[], char *const[]);

/* Everything one spawn needs, on the heap (callers may run on small stacks). */
struct dropin {
	const char *path;
	bool search;
	const struct pb_spawn_action *acts;
	size_t nacts;
	const posix_spawnattr_t *attr;
	char *const *argv, *const *envp;
	struct pb_child_plan cp;
	uint64_t sigmask;
	char *found;		/* the program's path as execve would be given it */
	int exec_fd;
	struct pb_error err;
};

/* glibc's posix_spawn(p) itself: libc.so.6's definition, never an interposer of it (ours included). */
static int glibc_spawn(bool search, pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		       const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	spawn_fn f = libc ? (spawn_fn)dlsym(libc, search ? "posix_spawnp" : "posix_spawn") : NULL;
	int r = f ? f(pid, path, fa, attr, argv, envp) : ENOSYS;

	if (libc)
		dlclose(libc);
	return r;
}

/* To glibc, and why (cut to fit). */
static void say(struct pb_spawn_outcome *out, const char *why)
{
	out->glibc = true;
	strlcpy(out->why, why, sizeof(out->why));
}

/*
 * THE TABLE: posix_spawn attribute flags procbuilder has no builder call
 * for; each goes to glibc's posix_spawn. NULL: procbuilder does it
 * (SETSCHEDULER, SETSCHEDPARAM and RESETIDS through their builder calls,
 * in configure()).
 */
static const char *glibc_only(short flags)
{
	if (flags & ~(POSIX_SPAWN_RESETIDS | POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
		      POSIX_SPAWN_USEVFORK | POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSCHEDPARAM | POSIX_SPAWN_SETSCHEDULER))
		return "an attribute flag procbuilder does not know";
	return NULL;
}

/* The attributes, as the clone child and the builder take them. */
static void read_attrs(struct dropin *d)
{
	short flags = 0;
	sigset_t set;
	pid_t pgid = 0;

	if (d->attr)
		posix_spawnattr_getflags(d->attr, &flags);
	d->cp.setsid = flags & POSIX_SPAWN_SETSID;
	d->cp.setpgroup = flags & POSIX_SPAWN_SETPGROUP;
	if (d->cp.setpgroup && posix_spawnattr_getpgroup(d->attr, &pgid) == 0)
		d->cp.pgid = pgid;
	if ((flags & POSIX_SPAWN_SETSIGDEF) && posix_spawnattr_getsigdefault(d->attr, &set) == 0)
		d->cp.sigdefault = pb_sigset_bits(&set);
	/* the program's mask: SETSIGMASK's, else the calling thread's, as glibc's child restores it */
	if (!(flags & POSIX_SPAWN_SETSIGMASK) || posix_spawnattr_getsigmask(d->attr, &set) != 0)
		pthread_sigmask(SIG_SETMASK, NULL, &set);
	d->sigmask = pb_sigset_bits(&set);
}

/* Whether an action before index `upto` changes fd in the child (so the parent's fd is not the child's). */
static bool fd_changed(const struct pb_spawn_action *acts, size_t upto, int fd)
{
	for (size_t i = 0; i < upto; i++) {
		const struct pb_spawn_action *a = &acts[i];
		if ((a->kind == PB_SA_CLOSE && a->fd == fd) || (a->kind == PB_SA_OPEN && a->fd == fd) ||
		    (a->kind == PB_SA_DUP2 && a->newfd == fd) || (a->kind == PB_SA_CLOSEFROM && fd >= a->fd))
			return true;
	}
	return false;
}

/*
 * The child's cwd after the actions, as a directory fd of ours (AT_FDCWD
 * when none changes it), to find a relative program where glibc's child
 * execs it; -1 where we cannot follow (then glibc's posix_spawn).
 */
static int child_cwd(const struct pb_spawn_action *acts, size_t n)
{
	int dir = AT_FDCWD, next;

	for (size_t i = 0; i < n; i++) {
		if (acts[i].kind == PB_SA_CHDIR)
			next = openat(dir, acts[i].path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		else if (acts[i].kind == PB_SA_FCHDIR && !fd_changed(acts, i, acts[i].fd))
			next = fcntl(acts[i].fd, F_DUPFD_CLOEXEC, 0);
		else if (acts[i].kind == PB_SA_FCHDIR)
			next = -1;
		else
			continue;
		if (dir >= 0)
			close(dir);
		if (next < 0)
			return -1;
		dir = next;
	}
	return dir;
}

/* Whether a PATH entry is relative (or empty: the cwd), which a chdir action would move. */
static bool path_has_relative(const char *path)
{
	for (const char *p = path; p; p = strchr(p, ':'), p = p ? p + 1 : NULL)
		if (*p != '/')
			return true;
	return false;
}

/* Opens the program where glibc's child would exec it: 0, or a reason for glibc's posix_spawn. */
static const char *open_program(struct dropin *d)
{
	const char *env_path = getenv("PATH");
	bool relative = d->search && !strchr(d->path, '/') ? path_has_relative(env_path ? env_path : "/bin:/usr/bin")
							    : d->path[0] != '/';
	/* (an absolute path needs no directory: a failing chdir is then the child's to report) */
	int dir = relative ? child_cwd(d->acts, d->nacts) : AT_FDCWD;

	if (dir == -1)
		return "a directory action procbuilder cannot follow before the build";
	if (d->search && !strchr(d->path, '/')) {
		if (dir != AT_FDCWD)
			d->exec_fd = -1; /* a relative PATH entry after a chdir: glibc's */
		else if (pb_find_program(d->path, env_path, &d->found) == 0)
			d->exec_fd = openat(dir, d->found, O_RDONLY | O_CLOEXEC);
	} else if ((d->found = strdup(d->path))) {
		d->exec_fd = openat(dir, d->found, O_RDONLY | O_CLOEXEC);
	}
	if (dir >= 0)
		close(dir);
	return d->exec_fd < 0 ? "the program cannot be opened here (glibc's child gives the error)" : NULL;
}

/*
 * Whether pb_build's failure is one glibc's posix_spawn gives too (the
 * kernel's execve fails alike): then it is the return value; otherwise
 * glibc's posix_spawn is asked.
 */
static bool execve_would_fail(const struct pb_error *err)
{
	switch (pb_error_errno(err)) {
	case -ENOEXEC:
		return pb_error_kernel_enoexec(err);
	case -E2BIG: case -EACCES: case -ENOMEM: case -ELIBBAD: case -ENOENT: case -ENOTDIR: case -ELOOP:
	case -ENAMETOOLONG: case -ETXTBSY: case -EPERM: case -EISDIR:
		return true;
	}
	return false;
}

bool pb_error_kernel_enoexec(const struct pb_error *err)
{
	if (err->code != PB_EPARSE)
		return false;
	switch (err->detail) {
	case PB_PARSE_NONE: /* the script stage's */
	case PB_PARSE_TRUNCATED:
	case PB_PARSE_BAD_MAGIC:
	case PB_PARSE_BAD_TYPE:
	case PB_PARSE_BAD_MACHINE:
	case PB_PARSE_FOREIGN_MACHINE:
	case PB_PARSE_BAD_PHENTSIZE:
	case PB_PARSE_PHDRS_OUTSIDE:
	case PB_PARSE_INTERP_SIZE:
		return true;
	default:
		return false;
	}
}

static size_t count(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/*
 * The scheduling and id attributes, as builder calls (the stub applies
 * them). 0, or a negative errno that glibc's child would have met too
 * (sched_setscheduler's EPERM or EINVAL, checked when set).
 */
static int configure_attrs(struct pb_builder *b, const struct dropin *d)
{
	struct sched_param sp = {0};
	short flags = 0;
	int policy = 0, r = 0;

	if (!d->attr)
		return 0;
	posix_spawnattr_getflags(d->attr, &flags);
	posix_spawnattr_getschedparam(d->attr, &sp);
	posix_spawnattr_getschedpolicy(d->attr, &policy);
	if (flags & POSIX_SPAWN_SETSCHEDULER)
		r = pb_set_scheduler(b, policy, sp.sched_priority);
	else if (flags & POSIX_SPAWN_SETSCHEDPARAM)
		r = pb_set_sched_priority(b, sp.sched_priority);
	/* glibc's child: seteuid(getuid()), setegid(getgid()) */
	if (r == 0 && (flags & POSIX_SPAWN_RESETIDS))
		r = pb_set_resetids(b, 1);
	return r;
}

/* What the builder is told besides the child's work. */
static int configure(struct pb_builder *b, const struct dropin *d)
{
	int r = pb_set_execfn(b, d->found);

	if (r == 0)
		r = pb_add_arguments(b, (const char *const *)d->argv, count(d->argv));
	if (r == 0)
		r = pb_add_environment(b, (const char *const *)d->envp, count(d->envp));
	if (r == 0)
		r = pb_set_sigmask(b, d->sigmask);
	return r;
}

/*
 * Builds and starts the program: 0 with *pid, a positive errno for
 * posix_spawn to return, or -1 with out->why for glibc's posix_spawn.
 */
static int launch(struct dropin *d, const struct pb_pipeline *pipe, pid_t *pid, struct pb_spawn_outcome *out)
{
	const char *base = strrchr(d->found, '/');
	struct pb_builder *b = NULL;
	struct pb_built *p = NULL;
	int r;

	d->cp.failed_at = -2;
	r = pb_builder_new_child(base ? base + 1 : d->found, d->exec_fd, &d->cp, &b, &d->err);
	if (r < 0 && d->cp.failed_at != -2)
		return d->err.sys_errno ? d->err.sys_errno : -r; /* an attribute or action failed: glibc's answer too */
	if (r < 0)
		goto glibc;
	r = configure(b, d);
	if (r < 0) {
		pb_err_sys(&d->err, "builder", r, "setting up the builder");
		goto glibc;
	}
	r = configure_attrs(b, d);
	if (r == -EPERM || r == -EINVAL) {
		r = -r; /* what glibc's child gets from sched_setscheduler, sched_setparam or seteuid */
		goto out;
	}
	if (r < 0) {
		pb_err_sys(&d->err, "builder", r, "the scheduling or id attributes");
		goto glibc;
	}
	r = pb_build_with(b, pipe, &p, &d->err);
	if (r == 0)
		r = pb_start(p, &d->err);
	if (r < 0 && execve_would_fail(&d->err)) {
		r = -pb_error_errno(&d->err);
		goto out;
	}
	if (r < 0)
		goto glibc;
	if (pid)
		*pid = pb_built_info(p)->pid;
	r = 0;
	goto out;
glibc:
	say(out, d->err.msg[0] ? d->err.msg : "procbuilder failed");
	r = -1;
out:
	pb_built_free(p); /* started: left running, its pidfd closed; the caller reaps it */
	pb_builder_free(b);
	return r;
}

/*
 * A SIGCHLD the build caused (the stub's ptrace stops, a failed stub's
 * death) is not the caller's to see: glibc's posix_spawn causes none
 * until the program ends. It is taken back unless one was pending before;
 * if a child of the caller has something to report meanwhile (the program
 * itself may have ended), its SIGCHLD is queued again, as the kernel would.
 */
static void absorb_sigchld(bool was_pending)
{
	struct timespec zero = {0, 0};
	sigset_t chld, pending;
	siginfo_t si;

	sigpending(&pending);
	if (was_pending || !sigismember(&pending, SIGCHLD))
		return;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	while (sigtimedwait(&chld, &si, &zero) < 0 && errno == EINTR)
		;
	memset(&si, 0, sizeof(si));
	if (waitid(P_ALL, 0, &si, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0)
		syscall(SYS_rt_sigqueueinfo, getpid(), SIGCHLD, &si);
}

int pb_spawn_dropin(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		    const struct pb_spawn_action *acts, size_t nacts, const posix_spawnattr_t *attr,
		    char *const argv[], char *const envp[], bool search, const struct pb_pipeline *pipe,
		    struct pb_spawn_outcome *out)
{
	struct dropin *d = calloc(1, sizeof(*d));
	short flags = 0;
	sigset_t chld, old, pending;
	const char *why;
	int r = -1;

	memset(out, 0, sizeof(*out));
	if (d)
		d->exec_fd = -1;
	if (attr)
		posix_spawnattr_getflags(attr, &flags);
	if (!fa || (nacts == (size_t)-1 && fa->__used == 0))
		nacts = 0;
	if (!d)
		say(out, "out of memory");
	else if (nacts == (size_t)-1)
		say(out, "file actions procbuilder did not see being added");
	else if ((why = glibc_only(flags)))
		say(out, why);
	if (out->glibc)
		goto out;
	*d = (struct dropin){.path = path, .search = search, .acts = acts, .nacts = nacts, .attr = attr,
			     .argv = argv, .envp = envp, .exec_fd = -1};
	d->cp.acts = acts;
	d->cp.nacts = nacts;
	d->cp.low = pb_child_plan_low(acts, nacts);
	d->cp.keep[0] = d->cp.keep[1] = d->cp.keep[2] = -1;
	read_attrs(d);
	if ((why = open_program(d))) {
		say(out, why);
		goto out;
	}
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &chld, &old);
	sigpending(&pending);
	r = launch(d, pipe, pid, out);
	absorb_sigchld(sigismember(&pending, SIGCHLD));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
out:
	if (d && d->exec_fd >= 0)
		close(d->exec_fd);
	if (d)
		free(d->found);
	free(d);
	if (out->glibc)
		r = glibc_spawn(search, pid, path, fa, attr, argv, envp);
	out->err = r;
	return r;
}

/* The file actions we know of for fa: none, the shadow's, or (size_t)-1 (unknown). */
static int spawn_with_shadow(bool search, pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct pb_spawn_outcome out;
	struct pb_spawn_action *acts = NULL;
	size_t n = 0;
	int r;

	if (fa && pb_shadow_get(fa, &acts, &n) < 0)
		n = (size_t)-1;
	r = pb_spawn_dropin(pid, path, fa, acts, n, attr, argv, envp, search, NULL, &out);
	pb_spawn_actions_free(acts, n == (size_t)-1 ? 0 : n);
	return r;
}

PB_API int pb_posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_with_shadow(false, pid, path, fa, attr, argv, envp);
}

PB_API int pb_posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn_with_shadow(true, pid, file, fa, attr, argv, envp);
}
