/* SPDX-License-Identifier: MIT */
/*
 * A builder's startup fds (the seed's handles): each checked when added
 * (open, a type procbuilder does not make itself, a number the program's
 * RLIMIT_NOFILE allows, no number twice), and the socket-activation
 * environment (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES) of the named ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/error.h"
#include "launch/launch.h"

static size_t count_named(const struct pb_builder *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->nfds; i++)
		n += b->fds[i].name[0] != 0;
	return n;
}

static bool target_taken(const struct pb_builder *b, const struct pb_startup_fd *fds, size_t upto, int target)
{
	for (size_t i = 0; i < b->nfds; i++)
		if (b->fds[i].target == target)
			return true;
	for (size_t i = 0; i < upto; i++)
		if (fds[i].type == PB_FD_NUMBERED && fds[i].arg == target)
			return true;
	return false;
}

/*
 * The highest startup fd target the stub can reach: it moves the plan
 * memfd, the files, nfds startup fds and its socket above the highest
 * target first, all under RLIMIT_NOFILE (the caller's, which it inherits).
 * With nfds 0: the limit itself.
 */
static int fd_ceiling(size_t nfds)
{
	struct rlimit rl;
	long limit;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur > (1 << 20))
		return 1 << 20;
	limit = (long)rl.rlim_cur - (nfds ? (long)(2 + PB_PLAN_MAX_FILES + nfds) : 0);
	return limit > 0 ? (int)limit : 0;
}

/* The seed's checks, on every entry before any is added. */
static int check_fds(struct pb_builder *b, const struct pb_startup_fd *fds, size_t n, struct pb_error *err)
{
	static const char *const automatic[] = {
		[PB_FD_PROCESS_SELF] = "process self", [PB_FD_THREAD_SELF] = "thread self",
		[PB_FD_ROOT_VMAR] = "root address space", [PB_FD_LOADED_VMAR] = "loaded address space",
		[PB_FD_STACK] = "stack", [PB_FD_EXECUTABLE] = "executable",
	};
	size_t named = count_named(b);

	if (b->nfds + n > PB_MAX_STARTUP_FDS)
		return pb_err_set(err, "builder", PB_EINVAL, 0, "more than %d startup fds", PB_MAX_STARTUP_FDS);
	for (size_t i = 0; i < n; i++) {
		const struct pb_startup_fd *f = &fds[i];
		int target = f->type == PB_FD_NUMBERED ? f->arg : 3 + (int)named;
		if (f->fd < 0 || fcntl(f->fd, F_GETFD) < 0)
			return pb_err_set(err, "builder", PB_EBADF, 0, "startup fd %zu: %d is not an open fd", i, f->fd);
		if (f->type >= PB_FD_PROCESS_SELF && f->type <= PB_FD_EXECUTABLE)
			return pb_err_set(err, "builder", PB_EINVAL, 0,
					  "startup fd %zu: a %s fd is added by procbuilder itself", i, automatic[f->type]);
		if (f->type == PB_FD_NAMESPACE_DIR)
			return pb_err_set(err, "builder", PB_EINVAL, 0,
					  "startup fd %zu: namespace directories go through pb_add_namespace_entries", i);
		if ((unsigned)f->type > PB_FD_NAMESPACE_DIR)
			return pb_err_set(err, "builder", PB_EINVAL, 0, "startup fd %zu: unknown type %d", i, f->type);
		if (f->type == PB_FD_LOADER)
			continue;
		if (f->type == PB_FD_NAMED && f->name && (!f->name[0] || strlen(f->name) > 63 || strchr(f->name, ':')))
			return pb_err_set(err, "builder", PB_EINVAL, 0, "startup fd %zu: a name is 1 to 63 characters, no ':'", i);
		if (f->type == PB_FD_NUMBERED && (f->arg < 0 || f->arg >= 1 << 20))
			return pb_err_set(err, "builder", PB_EINVAL, 0, "startup fd %zu: no fd number %d", i, f->arg);
		if (f->type == PB_FD_NUMBERED && f->arg >= fd_ceiling(b->nfds + n))
			return pb_err_set(err, "builder", PB_EINVAL, 0,
					  "startup fd %zu: fd %d is out of reach under RLIMIT_NOFILE %d (the stub parks the "
					  "plan's fds above the highest target: keep targets below %d)",
					  i, f->arg, fd_ceiling(0), fd_ceiling(b->nfds + n));
		if (target_taken(b, fds, i, target))
			return pb_err_set(err, "builder", PB_EINVAL, 0, "startup fd %zu: fd %d is given twice", i, target);
		named += f->type != PB_FD_NUMBERED;
	}
	return 0;
}

PB_API int pb_add_fds(struct pb_builder *b, const struct pb_startup_fd *fds, size_t n, struct pb_error *err)
{
	int r;

	pb_err_clear(err);
	r = check_fds(b, fds, n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		const struct pb_startup_fd *f = &fds[i];
		struct pb_fd_entry *e = &b->fds[b->nfds];
		if (f->type == PB_FD_LOADER) {
			r = pb_set_interp_resolver(b, PB_INTERP_FD, f->fd);
			if (r < 0)
				return pb_err_sys(err, "builder", r, "the loader fd");
			continue;
		}
		e->fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 3);
		if (e->fd < 0)
			return pb_err_sys(err, "builder", -errno, "duplicating startup fd %zu", i);
		e->target = f->type == PB_FD_NUMBERED ? f->arg : 3 + (int)count_named(b);
		snprintf(e->name, sizeof(e->name), "%s", f->type == PB_FD_NUMBERED ? "" :
			 f->type == PB_FD_LIFECYCLE ? "lifecycle" : f->name ? f->name : "unknown");
		b->nfds++;
	}
	return 0;
}

/*
 * Socket activation: LISTEN_FDS, LISTEN_PID (known: the process exists) and
 * LISTEN_FDNAMES for the named fds, replacing any the caller had.
 */
int pb_builder_listen_env(struct pb_builder *b, pid_t pid)
{
	size_t named = count_named(b), n = 0, len;
	char *p;

	if (!named)
		return 0;
	len = 64 + 64 + 32;
	for (size_t i = 0; i < b->nfds; i++)
		len += strlen(b->fds[i].name) + 1;
	b->listen_strings = p = malloc(len);
	b->envp_listen = calloc(b->envc + 4, sizeof(char *));
	if (!p || !b->envp_listen)
		return -ENOMEM;
	for (size_t i = 0; i < b->envc; i++)
		if (strncmp(b->envp[i], "LISTEN_PID=", 11) && strncmp(b->envp[i], "LISTEN_FDS=", 11) &&
		    strncmp(b->envp[i], "LISTEN_FDNAMES=", 15))
			b->envp_listen[n++] = b->envp[i];
	b->envp_listen[n++] = p;
	p += sprintf(p, "LISTEN_FDS=%zu", named) + 1;
	b->envp_listen[n++] = p;
	p += sprintf(p, "LISTEN_PID=%d", (int)pid) + 1;
	b->envp_listen[n++] = p;
	p += sprintf(p, "LISTEN_FDNAMES=");
	for (size_t i = 0, k = 0; i < b->nfds; i++)
		if (b->fds[i].name[0])
			p += sprintf(p, "%s%s", k++ ? ":" : "", b->fds[i].name);
	b->nenvp_listen = n;
	return 0;
}
