/* SPDX-License-Identifier: MIT */
/*
 * DOC: the shadow record of file actions. posix_spawn_file_actions_t is
 * opaque (glibc's struct __spawn_action is not in its headers), so the
 * preload library, which interposes posix_spawn_file_actions_init, every
 * add* and destroy, records here what was done to each object, keyed by
 * its address. pb_posix_spawn takes the record only when it saw every
 * action (its count is glibc's __used); anything else goes to glibc.
 *
 * This table is the library's one piece of process-wide mutable state: an
 * interposer has nowhere else to keep what it saw. A mutex guards it, so
 * threads may build their file actions concurrently.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "launch/posix_spawn.h"

struct shadow {
	const posix_spawn_file_actions_t *key;
	struct pb_spawn_action *acts;
	size_t n, cap;
	bool broken;		/* an add we could not record: glibc's from now on */
};

static struct {
	pthread_mutex_t lock;
	struct shadow *v;
	size_t n, cap;
} shadows = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

void pb_spawn_actions_free(struct pb_spawn_action *acts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(acts[i].path);
	free(acts);
}

static struct shadow *find(const posix_spawn_file_actions_t *fa)
{
	for (size_t i = 0; i < shadows.n; i++)
		if (shadows.v[i].key == fa)
			return &shadows.v[i];
	return NULL;
}

static void drop(struct shadow *s)
{
	pb_spawn_actions_free(s->acts, s->n);
	*s = shadows.v[--shadows.n];
}

void pb_shadow_init(const posix_spawn_file_actions_t *fa)
{
	struct shadow *s, *v;

	pthread_mutex_lock(&shadows.lock);
	if ((s = find(fa)))
		drop(s); /* an object re-initialised without destroy: its old record is stale */
	if (shadows.n == shadows.cap) {
		size_t cap = shadows.cap ? 2 * shadows.cap : 8;
		v = realloc(shadows.v, cap * sizeof(*v));
		if (!v)
			goto out; /* unrecorded: glibc's */
		shadows.v = v;
		shadows.cap = cap;
	}
	shadows.v[shadows.n++] = (struct shadow){.key = fa};
out:
	pthread_mutex_unlock(&shadows.lock);
}

static bool append(struct shadow *s, const struct pb_spawn_action *a)
{
	struct pb_spawn_action copy = *a;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		struct pb_spawn_action *v = realloc(s->acts, cap * sizeof(*v));
		if (!v)
			return false;
		s->acts = v;
		s->cap = cap;
	}
	if (a->path && !(copy.path = strdup(a->path)))
		return false;
	s->acts[s->n++] = copy;
	return true;
}

void pb_shadow_add(const posix_spawn_file_actions_t *fa, const struct pb_spawn_action *a)
{
	struct shadow *s;

	pthread_mutex_lock(&shadows.lock);
	s = find(fa);
	/* glibc has counted it already: anything but one more than ours means we missed one */
	if (s && !s->broken && (s->n + 1 != (size_t)fa->__used || !append(s, a)))
		s->broken = true;
	pthread_mutex_unlock(&shadows.lock);
}

void pb_shadow_forget(const posix_spawn_file_actions_t *fa)
{
	struct shadow *s;

	pthread_mutex_lock(&shadows.lock);
	if ((s = find(fa)))
		drop(s);
	pthread_mutex_unlock(&shadows.lock);
}

/* A deep copy of a record, so the caller may use it while another thread destroys the object. */
static int copy_out(const struct shadow *s, struct pb_spawn_action **ret, size_t *n)
{
	struct pb_spawn_action *v = calloc(s->n ? s->n : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++) {
		v[i] = s->acts[i];
		if (s->acts[i].path && !(v[i].path = strdup(s->acts[i].path))) {
			pb_spawn_actions_free(v, i);
			return -ENOMEM;
		}
	}
	*ret = v;
	*n = s->n;
	return 0;
}

int pb_shadow_get(const posix_spawn_file_actions_t *fa, struct pb_spawn_action **ret, size_t *n)
{
	struct shadow *s;
	int r = -ENOENT;

	*ret = NULL;
	*n = 0;
	pthread_mutex_lock(&shadows.lock);
	s = find(fa);
	if (s && !s->broken && s->n == (size_t)fa->__used)
		r = copy_out(s, ret, n);
	pthread_mutex_unlock(&shadows.lock);
	return r;
}
