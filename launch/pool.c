// SPDX-License-Identifier: MIT
/*
 * A pool of stubs spawned ahead (pb_pool_*): a launch takes a stub that is
 * already waiting for its plan instead of waiting for one to be spawned.
 *
 * A pooled stub was made when it was spawned, so it carries the caller's
 * state as of then. What can be read cheaply is recorded with each stub and
 * compared when it is taken; a stub that no longer matches is killed, reaped
 * and replaced by a fresh spawn. The rest is the caller's to drain
 * (include/procbuilder.h says what).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/util.h"
#include "launch/launch.h"
#include "procbuilder.h"

#define PB_POOL_MAX 64

/*
 * The caller's state a stub inherits at its spawn and that the kernel lets
 * us read with one system call each (about 1 us each on the 2-core VM this
 * was measured on; /proc/self/status, which has more, costs 14 us).
 */
struct caller_state {
	uid_t uid[3];
	gid_t gid[3];
	uint64_t groups;		/* FNV-1a of the supplementary groups, count included */
	struct __user_cap_data_struct caps[2];
	int securebits, nnp, seccomp;
	dev_t cwd_dev;
	ino_t cwd_ino;
	bool sigtrap_ignored;		/* the stub's SIGTRAP disposition decides single-stepping */
};

struct pooled {
	struct pb_builder *b;		/* blank: a stub waiting for its plan */
	struct caller_state state;
};

struct pb_pool {
	struct pooled *stubs;
	size_t n, size;
	int job_fd;			/* owned, or -1 */
	pid_t tid;			/* the stubs' tracer */
};

static uint64_t hash_groups(void)
{
	gid_t groups[256], *g = groups;
	int n = getgroups(256, groups);
	uint64_t h = 1469598103934665603ull;

	if (n < 0 && errno == EINVAL) { /* more than 256: rare, read them all */
		n = getgroups(0, NULL);
		g = n > 0 ? malloc((size_t)n * sizeof(*g)) : NULL;
		n = g ? getgroups(n, g) : -1;
	}
	for (int i = 0; i < n; i++)
		h = (h ^ (uint32_t)g[i]) * 1099511628211ull;
	h = (h ^ (uint32_t)n) * 1099511628211ull;
	if (g != groups)
		free(g);
	return h;
}

static void read_state(struct caller_state *s)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct sigaction sa;
	struct stat st;

	memset(s, 0, sizeof(*s));
	getresuid(&s->uid[0], &s->uid[1], &s->uid[2]);
	getresgid(&s->gid[0], &s->gid[1], &s->gid[2]);
	s->groups = hash_groups();
	syscall(SYS_capget, &hdr, s->caps);
	s->securebits = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
	s->nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	s->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
	if (stat(".", &st) == 0) {
		s->cwd_dev = st.st_dev;
		s->cwd_ino = st.st_ino;
	}
	s->sigtrap_ignored = sigaction(SIGTRAP, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

static bool state_equal(const struct caller_state *a, const struct caller_state *b)
{
	return memcmp(a->uid, b->uid, sizeof(a->uid)) == 0 && memcmp(a->gid, b->gid, sizeof(a->gid)) == 0 &&
	       a->groups == b->groups && memcmp(a->caps, b->caps, sizeof(a->caps)) == 0 &&
	       a->securebits == b->securebits && a->nnp == b->nnp && a->seccomp == b->seccomp &&
	       a->cwd_dev == b->cwd_dev && a->cwd_ino == b->cwd_ino && a->sigtrap_ignored == b->sigtrap_ignored;
}

/*
 * Whether the stub is still there to be built: a signal may have ended it,
 * and a wait of the caller's may have reaped it (ECHILD).
 */
static bool stub_alive(struct pb_builder *b)
{
	siginfo_t si = {0};

	if (waitid(P_PIDFD, (id_t)b->pidfd, &si, WEXITED | WNOHANG) < 0) {
		if (errno == ECHILD)
			b->pid = -1; /* reaped by the caller: never signal that pid again */
		return false;
	}
	if (si.si_pid == 0)
		return true;
	b->pid = -1; /* reaped here */
	return false;
}

static int check_pool_thread(const struct pb_pool *pool, const char *what, struct pb_error *err)
{
	if (gettid() == pool->tid)
		return 0;
	return pb_err_set(err, "pool", PB_EINVAL, 0,
			  "%s from thread %d: the pool's stubs are held (ptrace) by thread %d, which made it",
			  what, (int)gettid(), (int)pool->tid);
}

/* One more stub at the end of the pool. 0 or a negative errno with err set. */
static int spawn_one(struct pb_pool *pool, struct pb_error *err)
{
	struct pooled *p = &pool->stubs[pool->n];
	int r = pb_builder_blank(pool->job_fd, &p->b, err);

	if (r < 0)
		return r;
	read_state(&p->state); /* before the spawn: what the stub will have inherited */
	r = pb_spawn_stub(p->b, err);
	if (r < 0) {
		pb_builder_free(p->b);
		p->b = NULL;
		return r;
	}
	pool->n++;
	return 0;
}

PB_API int pb_pool_fill(struct pb_pool *pool, struct pb_error *err)
{
	int r;

	pb_err_clear(err);
	if (!pool)
		return pb_err_set(err, "pool", PB_EINVAL, 0, "no pool");
	r = check_pool_thread(pool, "pb_pool_fill", err);
	while (r == 0 && pool->n < pool->size)
		r = spawn_one(pool, err);
	return r;
}

PB_API int pb_pool_new(unsigned size, int job_fd, struct pb_pool **ret, struct pb_error *err)
{
	struct pb_pool *pool;
	int r;

	pb_err_clear(err);
	if (!ret || size == 0 || size > PB_POOL_MAX)
		return pb_err_set(err, "pool", PB_EINVAL, 0, "a pool holds 1 to %d stubs, not %u", PB_POOL_MAX, size);
	if (job_fd >= 0 && fcntl(job_fd, F_GETFD) < 0)
		return pb_err_set(err, "pool", PB_EBADF, 0, "invalid job (cgroup) fd %d", job_fd);
	pool = calloc(1, sizeof(*pool));
	if (!pool || !(pool->stubs = calloc(size, sizeof(*pool->stubs)))) {
		free(pool);
		return pb_err_set(err, "pool", PB_ENOMEM, 0, "out of memory");
	}
	pool->size = size;
	pool->tid = gettid();
	pool->job_fd = job_fd >= 0 ? fcntl(job_fd, F_DUPFD_CLOEXEC, 3) : -1;
	if (job_fd >= 0 && pool->job_fd < 0)
		r = pb_err_sys(err, "pool", -errno, "duplicating the job fd");
	else
		r = pb_pool_fill(pool, err);
	if (r < 0) {
		pb_pool_free(pool);
		return r;
	}
	*ret = pool;
	return 0;
}

/* Stub i out of the pool: the newer ones move down. */
static struct pb_builder *take_out(struct pb_pool *pool, unsigned i)
{
	struct pb_builder *b = pool->stubs[i].b;

	pool->n--;
	memmove(&pool->stubs[i], &pool->stubs[i + 1], (pool->n - i) * sizeof(pool->stubs[0]));
	return b;
}

/* Whether the stub's hello is there to be read: it has started. */
static bool said_hello(const struct pb_builder *b)
{
	struct pollfd pf = {b->sock, POLLIN, 0};

	return poll(&pf, 1, 0) == 1 && (pf.revents & POLLIN);
}

/*
 * Which stub to give out, newest first, killing and reaping on the way
 * every one that no longer matches the caller now or is gone: the newest
 * that has said its hello, else the newest that matches (the build waits for
 * its hello). Its index, or -1 when none is left. Not simply the newest: the
 * fill after the last take may have spawned it a moment ago, and taking it
 * cost a /bin/true build 80 us of waiting for its hello in a tight loop.
 * Not simply the oldest either: measured in bench/launch (release, N=300),
 * taking the oldest made every other launch of the same process slower: a
 * plain vfork+execve of a musl program took 129-144 us in all 38 runs of
 * trees that took the oldest, 57-76 us in all 25 that took the newest or
 * the newest ready, and the process's CPU migrations were 2,745 against
 * 1,739 (perf stat, N=100): the scheduler came to place the children
 * elsewhere. The pooled launches themselves were faster with the oldest
 * (/bin/true 945-952 us against 1,025-1,043), the cold ones and everything
 * else slower (/bin/true cold 1,186-1,227 us against 1,032-1,058).
 */
static int choose(struct pb_pool *pool)
{
	struct caller_state now;
	int fallback = -1;

	if (pool->n == 0)
		return -1;
	read_state(&now);
	for (unsigned i = pool->n; i-- > 0;) {
		struct pooled *p = &pool->stubs[i];

		if (!state_equal(&p->state, &now) || !stub_alive(p->b)) {
			pb_builder_free(take_out(pool, i));
			if (fallback > (int)i)
				fallback--;
			continue;
		}
		if (said_hello(p->b))
			return (int)i;
		if (fallback < 0)
			fallback = (int)i;
	}
	return fallback;
}

PB_API int pb_pool_take(struct pb_pool *pool, const char *name, int exec_fd, struct pb_builder **ret,
			struct pb_error *err)
{
	int i, r;

	pb_err_clear(err);
	if (!pool || !name || !ret)
		return pb_err_set(err, "pool", PB_EINVAL, 0, "pool, name and ret are required");
	r = check_pool_thread(pool, "pb_pool_take", err);
	if (r < 0)
		return r;
	i = choose(pool);
	if (i < 0) /* empty, or nothing matches: as pb_builder_new */
		return pb_builder_new(name, pool->job_fd, exec_fd, ret, err);
	/* a program refused here leaves the stub in the pool */
	r = pb_builder_bind(pool->stubs[i].b, name, exec_fd, err);
	if (r == 0)
		*ret = take_out(pool, (unsigned)i);
	return r;
}

PB_API void pb_pool_drain(struct pb_pool *pool)
{
	if (!pool)
		return;
	while (pool->n > 0) {
		pool->n--;
		pb_builder_free(TAKE_PTR(pool->stubs[pool->n].b));
	}
}

PB_API size_t pb_pool_count(const struct pb_pool *pool)
{
	return pool ? pool->n : 0;
}

PB_API void pb_pool_free(struct pb_pool *pool)
{
	if (!pool)
		return;
	pb_pool_drain(pool);
	if (pool->job_fd >= 0)
		close(pool->job_fd);
	free(pool->stubs);
	free(pool);
}
