/* SPDX-License-Identifier: MIT */
/*
 * Namespace entries (the seed's add_namespace_entries): the builder checks
 * each entry when it is added, and at build time turns the list into the
 * ops the stub applies (launch/stub/ns.c). Paths and the mode are ours; the
 * kernel's part happens in the stub, inside the process being built.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h> /* libbsd overlay: reallocarray */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util.h"
#include "launch/launch.h"

static void ns_item_free(struct pb_ns_item *it)
{
	free(it->path);
	free(it->src);
	it->path = it->src = NULL;
}

static void ns_ops_free(struct pb_builder *b)
{
	for (size_t i = 0; i < b->nns_ops; i++)
		ns_item_free(&b->ns_ops[i].item);
	free(b->ns_ops);
	b->ns_ops = NULL;
	b->nns_ops = 0;
}

/* Absolute, no empty, "." or ".." component, no trailing slash, not "/". */
static bool path_is_clean(const char *p)
{
	if (p[0] != '/' || !p[1] || strlen(p) >= PB_NS_PATH_MAX)
		return false;
	for (const char *c = p; *c; ) {
		const char *next = strchr(c + 1, '/');
		size_t len = next ? (size_t)(next - c - 1) : strlen(c + 1);
		if (len == 0 || (len == 1 && c[1] == '.') || (len == 2 && c[1] == '.' && c[2] == '.'))
			return false;
		c = next ? next : c + 1 + len;
	}
	return true;
}

/* The path of a directory fd in our mount namespace, checked to lead back to it. */
static int source_path(int fd, const struct stat *st, char **ret)
{
	char link[64], *buf = malloc(PB_NS_PATH_MAX); /* (paths on the heap: 16 KiB stacks) */
	struct stat again;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, PB_NS_PATH_MAX - 1);
	if (n <= 0) {
		free(buf);
		return -EBADF;
	}
	buf[n] = 0;
	if (buf[0] != '/' || lstat(buf, &again) < 0 || again.st_dev != st->st_dev || again.st_ino != st->st_ino) {
		free(buf);
		return -ESTALE;
	}
	*ret = buf;
	return 0;
}

/* FNV-1a: the index finds a path given twice when it is added, not at build. */
static size_t path_hash(const char *p)
{
	uint64_t h = 14695981039346656037ull;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 1099511628211ull;
	return (size_t)h;
}

/* The slot holding path, or the empty one where it would go. */
static size_t *index_slot(const struct pb_builder *b, const char *path)
{
	size_t mask = b->ns_index_cap - 1, i = path_hash(path) & mask;

	while (b->ns_index[i] && strcmp(b->ns[b->ns_index[i] - 1].path, path) != 0)
		i = (i + 1) & mask;
	return &b->ns_index[i];
}

/* The index made again for the first b->nns items, in cap slots (0: the same size). */
static int index_rebuild(struct pb_builder *b, size_t cap)
{
	size_t *grown = calloc(cap ? cap : b->ns_index_cap, sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	free(b->ns_index);
	b->ns_index = grown;
	if (cap)
		b->ns_index_cap = cap;
	for (size_t i = 0; i < b->nns; i++)
		*index_slot(b, b->ns[i].path) = i + 1;
	return 0;
}

/* Room for one more item in b->ns and its index. */
static int make_room(struct pb_builder *b)
{
	if (b->nns % 64 == 0) {
		struct pb_ns_item *grown = reallocarray(b->ns, b->nns + 64, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		b->ns = grown;
	}
	if (2 * (b->nns + 1) > b->ns_index_cap)
		return index_rebuild(b, b->ns_index_cap ? 2 * b->ns_index_cap : 128);
	return 0;
}

static int check_dirfd(const char *path, int64_t dirfd, struct stat *st, struct pb_error *err)
{
	if (dirfd < 0 || dirfd > INT32_MAX || fstat((int)dirfd, st) < 0)
		return pb_err_set(err, "builder", PB_EBADF, 0, "namespace entry %s: %lld is not an open fd",
				  path, (long long)dirfd);
	if (!S_ISDIR(st->st_mode))
		return pb_err_set(err, "builder", PB_EINVAL, 0, "namespace entry %s: fd %d is not a directory",
				  path, (int)dirfd);
	return 0;
}

static const char *const kind_name[] = {"bind", "proc", "dev", "tmpfs", "symlink"};

/* What only some kinds take: read-only, a directory fd, tmpfs options. */
static int check_kind(const struct pb_ns_mount *m, struct pb_error *err)
{
	if (m->kind > PB_NS_SYMLINK)
		return pb_err_set(err, "builder", PB_EINVAL, 0, "namespace entry %s: %llu is not a kind of mount",
				  m->path, (unsigned long long)m->kind);
	if (m->flags & ~(uint64_t)PB_NS_RDONLY)
		return pb_err_set(err, "builder", PB_EINVAL, 0, "namespace entry %s: unknown flags %#llx", m->path,
				  (unsigned long long)(m->flags & ~(uint64_t)PB_NS_RDONLY));
	if ((m->flags & PB_NS_RDONLY) && (m->kind == PB_NS_DEV || m->kind == PB_NS_SYMLINK))
		return pb_err_set(err, "builder", PB_EINVAL, 0,
				  "namespace entry %s: read-only is for bind, tmpfs and proc, not %s", m->path,
				  kind_name[m->kind]);
	if ((m->kind == PB_NS_SYMLINK) != (m->target != NULL))
		return pb_err_set(err, "builder", PB_EINVAL, 0, "namespace entry %s: %s", m->path,
				  m->target ? "a target is for a symlink" : "a symlink needs a target");
	if (m->target && (!m->target[0] || strlen(m->target) >= PB_NS_PATH_MAX))
		return pb_err_set(err, "builder", PB_EINVAL, 0, "namespace entry %s: a symlink's target is 1 to %d bytes",
				  m->path, PB_NS_PATH_MAX - 1);
	if (m->kind != PB_NS_TMPFS && (m->mode || m->size))
		return pb_err_set(err, "builder", PB_EINVAL, 0,
				  "namespace entry %s: a mode and a size are tmpfs options, not %s ones", m->path,
				  kind_name[m->kind]);
	if (m->mode > 07777)
		return pb_err_set(err, "builder", PB_EINVAL, 0, "namespace entry %s: mode %#llo is more than 07777",
				  m->path, (unsigned long long)m->mode);
	return 0;
}

static int check_mount(const struct pb_builder *b, const struct pb_ns_mount *m, struct stat *st,
		       struct pb_error *err)
{
	int r;

	if (!m->path || !path_is_clean(m->path))
		return pb_err_set(err, "builder", PB_EINVAL, 0,
				  "namespace entry \"%s\" is not a clean absolute path (no \".\", \"..\", \"//\", "
				  "trailing \"/\", nor \"/\" itself)", m->path ? m->path : "(null)");
	if ((r = check_kind(m, err)) < 0)
		return r;
	if (b->ns_index_cap && *index_slot(b, m->path))
		return pb_err_set(err, "builder", PB_EINVAL, 0, "namespace entry %s is given twice", m->path);
	if (b->nns >= PB_MAX_NS_ENTRIES)
		return pb_err_set(err, "builder", PB_EINVAL, 0, "more than %d namespace entries", PB_MAX_NS_ENTRIES);
	return m->kind == PB_NS_BIND ? check_dirfd(m->path, m->dirfd, st, err) : 0;
}

/* Appends one checked mount; on failure nothing is appended and err says why. */
static int add_mount(struct pb_builder *b, const struct pb_ns_mount *m, struct pb_error *err)
{
	struct pb_ns_item *it;
	struct stat st = {0};
	int r = check_mount(b, m, &st, err);

	if (r < 0)
		return r;
	if (make_room(b) < 0)
		return pb_err_set(err, "builder", PB_ENOMEM, 0, "out of memory");
	it = &b->ns[b->nns];
	*it = (struct pb_ns_item){.dev = st.st_dev, .ino = st.st_ino, .path = strdup(m->path),
				  .kind = (uint32_t)m->kind, .flags = (uint32_t)m->flags,
				  .mode = m->kind == PB_NS_TMPFS ? (uint32_t)(m->mode ? m->mode : 0755) : 0,
				  .size = m->size};
	r = !it->path ? -ENOMEM : m->kind == PB_NS_BIND ? source_path((int)m->dirfd, &st, &it->src) : 0;
	if (r == 0 && m->target && !(it->src = strdup(m->target)))
		r = -ENOMEM; /* (a symlink's target is its src, as in the ops) */
	if (r == 0) {
		*index_slot(b, it->path) = ++b->nns;
		return 0;
	}
	free(it->path);
	if (r == -ESTALE)
		return pb_err_set(err, "builder", PB_EINVAL, 0,
				  "namespace entry %s: fd %d has no path in our mount namespace "
				  "that leads back to it (deleted, or from another namespace)", m->path, (int)m->dirfd);
	return pb_err_sys(err, "builder", r, "namespace entry %s", m->path);
}

/* Drops what was added after the first keep items (all or none); the index follows. */
static void drop_after(struct pb_builder *b, size_t keep)
{
	if (b->nns == keep)
		return;
	while (b->nns > keep)
		ns_item_free(&b->ns[--b->nns]);
	if (index_rebuild(b, 0) < 0) /* out of memory: an empty index misses a duplicate, never names a wrong one */
		memset(b->ns_index, 0, b->ns_index_cap * sizeof(*b->ns_index));
}

/* The first version of struct pb_ns_mount, and any later one whose fields past it are 0. */
static int copy_mount(const struct pb_ns_mount *m, struct pb_ns_mount *out, struct pb_error *err)
{
	if (!m || m->sz < sizeof(size_t))
		return pb_err_set(err, "builder", PB_EINVAL, 0, "struct pb_ns_mount: sz is not set");
	for (size_t i = sizeof(*out); i < m->sz; i++)
		if (((const unsigned char *)m)[i])
			return pb_err_set(err, "builder", PB_EINVAL, 0,
					  "struct pb_ns_mount: fields this library does not know are set");
	memset(out, 0, sizeof(*out));
	memcpy(out, m, m->sz < sizeof(*out) ? m->sz : sizeof(*out));
	return 0;
}

PB_API int pb_add_ns_mount(struct pb_builder *b, const struct pb_ns_mount *m, struct pb_error *err)
{
	struct pb_ns_mount copy;
	int r;

	pb_err_clear(err);
	r = copy_mount(m, &copy, err);
	return r < 0 ? r : add_mount(b, &copy, err);
}

PB_API int pb_add_namespace_entries(struct pb_builder *b, const struct pb_ns_entry *entries, size_t n,
				    struct pb_error *err)
{
	size_t done = b->nns;
	int r;

	pb_err_clear(err);
	if (n > PB_MAX_NS_ENTRIES || b->nns + n > PB_MAX_NS_ENTRIES)
		return pb_err_set(err, "builder", PB_EINVAL, 0, "more than %d namespace entries", PB_MAX_NS_ENTRIES);
	for (size_t i = 0; i < n; i++) {
		struct pb_ns_mount m = {.sz = sizeof(m), .kind = PB_NS_BIND, .path = entries[i].path,
					.dirfd = entries[i].dirfd};
		r = add_mount(b, &m, err);
		if (r < 0) {
			drop_after(b, done);
			return r;
		}
	}
	return 0;
}

PB_API int pb_set_namespace_mode(struct pb_builder *b, enum pb_ns_mode mode)
{
	if ((unsigned)mode > PB_NS_OVERLAY)
		return -EINVAL;
	b->ns_mode = mode;
	return 0;
}

void pb_ns_free(struct pb_builder *b)
{
	for (size_t i = 0; i < b->nns; i++)
		ns_item_free(&b->ns[i]);
	free(b->ns);
	b->ns = NULL;
	b->nns = 0;
	free(b->ns_index);
	b->ns_index = NULL;
	b->ns_index_cap = 0;
	ns_ops_free(b);
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct pb_ns_item *)a)->path, ((const struct pb_ns_item *)b)->path);
}

static const struct pb_ns_item *find_entry(const struct pb_builder *b, const char *path, size_t len)
{
	size_t lo = 0, hi = b->nns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(b->ns[mid].path, path, len);
		if (c == 0 && b->ns[mid].path[len])
			c = 1;
		if (c == 0)
			return &b->ns[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The nearest entry above path (entries sorted), or NULL. */
static const struct pb_ns_item *ancestor(const struct pb_builder *b, const char *path)
{
	for (size_t len = strlen(path); len > 1; len--) {
		const struct pb_ns_item *a;
		if (path[len] != '/')
			continue;
		a = find_entry(b, path, len);
		if (a)
			return a;
	}
	return NULL;
}

int pb_ns_add_op(struct pb_builder *b, uint32_t kind, uint32_t flags, const struct pb_ns_item *what)
{
	struct pb_ns_op *op;

	if (b->nns_ops % 256 == 0) {
		struct pb_ns_op *grown = reallocarray(b->ns_ops, b->nns_ops + 256, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		b->ns_ops = grown;
	}
	op = &b->ns_ops[b->nns_ops];
	*op = (struct pb_ns_op){.kind = kind, .flags = flags, .item = *what};
	op->item.path = strdup(what->path);
	op->item.src = what->src ? strdup(what->src) : NULL;
	if (!op->item.path || (what->src && !op->item.src)) {
		ns_item_free(&op->item);
		return -ENOMEM;
	}
	b->nns_ops++;
	return 0;
}

static int add_op(struct pb_builder *b, uint32_t kind, uint32_t flags, const char *path, const char *src,
		  uint64_t dev, uint64_t ino)
{
	return pb_ns_add_op(b, kind, flags, &(struct pb_ns_item){.path = (char *)path, .src = (char *)src,
								 .dev = dev, .ino = ino});
}

/* Overlay: the host's top level, each name bound (or linked) into the tmpfs unless an entry replaces it. */
static int host_top_level(struct pb_builder *b, struct pb_error *err)
{
	struct dirent **names;
	int n = scandir("/", &names, NULL, alphasort), r = 0;
	char *target = malloc(PB_NS_PATH_MAX);

	if (n < 0 || !target) {
		r = n < 0 ? pb_err_sys(err, "builder", -errno, "listing / for the overlay namespace")
			  : pb_err_set(err, "builder", PB_ENOMEM, 0, "out of memory");
		for (int i = 0; i < n; i++)
			free(names[i]);
		if (n >= 0)
			free(names);
		free(target);
		return r;
	}
	for (int i = 0; i < n; i++) {
		char path[NAME_MAX + 2];
		const char *name = names[i]->d_name;
		struct stat st;
		ssize_t len;
		snprintf(path, sizeof(path), "/%s", name);
		if (r < 0 || !strcmp(name, ".") || !strcmp(name, "..") || find_entry(b, path, strlen(path)) ||
		    lstat(path, &st) < 0)
			goto next;
		if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
			r = add_op(b, S_ISDIR(st.st_mode) ? PB_NS_OP_BIND : PB_NS_OP_FILE_BIND,
				   PB_NS_OP_MKDIR | PB_NS_OP_VERIFY, path, path, st.st_dev, st.st_ino);
		} else if (S_ISLNK(st.st_mode) && (len = readlink(path, target, PB_NS_PATH_MAX - 1)) > 0) {
			target[len] = 0;
			r = add_op(b, PB_NS_OP_SYMLINK, 0, path, target, 0, 0);
		}
next:
		free(names[i]);
	}
	free(names);
	free(target);
	return r < 0 ? pb_err_set(err, "builder", PB_ENOMEM, 0, "out of memory") : 0;
}

/* Whether host_top_level (the first nhost ops) bound or linked the first component of path. */
static bool under_host(const struct pb_builder *b, size_t nhost, const char *path)
{
	const char *slash = strchr(path + 1, '/');
	size_t len = slash ? (size_t)(slash - path) : strlen(path);

	for (size_t i = 0; i < nhost; i++)
		if (!strncmp(b->ns_ops[i].item.path, path, len) && !b->ns_ops[i].item.path[len])
			return true;
	return false;
}

/* Where an entry below up (an entry or, up NULL, the host's tree) is: 0 if mount points may be made there. */
static int check_nested(const struct pb_ns_item *e, const struct pb_ns_item *up, bool *mkdir, struct pb_error *err)
{
	char *where = NULL; /* (on the heap: 16 KiB stacks) */
	struct stat st;
	int r = 0;

	*mkdir = false;
	if (up && (up->kind == PB_NS_PROC || up->kind == PB_NS_SYMLINK))
		return pb_err_set(err, "builder", PB_EINVAL, 0, "namespace entry %s: it lies %s %s, where nothing "
				  "can be mounted", e->path, up->kind == PB_NS_PROC ? "in the procfs at" :
				  "below the symlink", up->path);
	if (up && (up->kind == PB_NS_DEV || up->kind == PB_NS_TMPFS)) {
		if (up->flags & PB_NS_RDONLY)
			return pb_err_set(err, "builder", PB_EINVAL, 0,
					  "namespace entry %s: it lies in the read-only tmpfs at %s, which can hold "
					  "no mount point", e->path, up->path);
		*mkdir = true; /* a tmpfs of ours */
		return 0;
	}
	/* below a bind or the host's tree: we never create directories outside our own tmpfs */
	if (asprintf(&where, "%s%s", up ? up->src : "", up ? e->path + strlen(up->path) : e->path) < 0)
		return -ENOMEM;
	if (stat(where, &st) < 0 || !S_ISDIR(st.st_mode))
		r = pb_err_set(err, "builder", PB_EINVAL, 0,
			       "namespace entry %s: it lies in %s, which has no directory %s to mount on "
			       "(procbuilder creates mount points only in its own tmpfs)",
			       e->path, up ? up->path : "the host's tree", where);
	free(where);
	return r;
}

/* One entry's ops: on a mount point made in the tmpfs, or one that must exist below another mount. */
static int entry_op(struct pb_builder *b, const struct pb_ns_item *e, size_t nhost, struct pb_error *err)
{
	const struct pb_ns_item *up = ancestor(b, e->path);
	bool mkdir = true;
	int r = 0;

	if (!up && !(b->ns_mode == PB_NS_OVERLAY && under_host(b, nhost, e->path)))
		return pb_ns_entry_ops(b, e, true, err);
	/* nothing is ever created outside our own tmpfs: a symlink below a bind or the host would be */
	if (e->kind == PB_NS_SYMLINK && (!up || up->kind == PB_NS_BIND))
		return pb_err_set(err, "builder", PB_EINVAL, 0,
				  "namespace entry %s: a symlink is made only in procbuilder's own tmpfs, not in %s",
				  e->path, up ? up->path : "the host's tree");
	r = check_nested(e, up, &mkdir, err);
	return r < 0 ? r : pb_ns_entry_ops(b, e, mkdir, err);
}

/* The ops, in the order the stub applies them; also used to name a failed op. */
static int plan_ops(struct pb_builder *b, struct pb_error *err)
{
	char *cwd = NULL;
	size_t nhost;
	int r = 0;

	ns_ops_free(b);
	qsort(b->ns, b->nns, sizeof(*b->ns), by_path);
	if (index_rebuild(b, 0) < 0)
		return pb_err_set(err, "builder", PB_ENOMEM, 0, "out of memory");
	if (b->ns_mode == PB_NS_OVERLAY && (r = host_top_level(b, err)) < 0)
		return r;
	nhost = b->nns_ops;
	for (size_t i = 0; i < b->nns && r == 0; i++)
		r = entry_op(b, &b->ns[i], nhost, err);
	/* the working directory survives execve; in overlay mode it still exists */
	if (r == 0 && b->ns_mode == PB_NS_OVERLAY)
		cwd = getcwd(NULL, 0);
	if (r == 0)
		r = add_op(b, PB_NS_OP_CHDIR, 0, cwd ? cwd : "/", NULL, 0, 0);
	free(cwd);
	return r == -ENOMEM ? pb_err_set(err, "builder", PB_ENOMEM, 0, "out of memory") : r;
}

bool pb_ns_uses_userns(const struct pb_builder *b)
{
	return b->nns && !(pb_effective_caps() & (1ull << CAP_SYS_ADMIN));
}

/* The ops as the stub reads them (launch/proto.h), in one write: there may be 65536 of them. */
static int write_ops(const struct pb_builder *b, int planfd)
{
	size_t len = 0;
	char *buf, *p;
	int r;

	for (size_t i = 0; i < b->nns_ops; i++)
		len += sizeof(struct pb_wire_ns_op) + strlen(b->ns_ops[i].item.path) + 1 +
		       (b->ns_ops[i].item.src ? strlen(b->ns_ops[i].item.src) + 1 : 0);
	p = buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < b->nns_ops; i++) {
		const struct pb_ns_op *op = &b->ns_ops[i];
		struct pb_wire_ns_op w = {op->kind, op->flags, (uint32_t)strlen(op->item.path) + 1,
					  op->item.src ? (uint32_t)strlen(op->item.src) + 1 : 0,
					  op->item.dev, op->item.ino, op->item.size, op->item.mode, 0};
		memcpy(p, &w, sizeof(w));
		p += sizeof(w);
		memcpy(p, op->item.path, w.path_len);
		p += w.path_len;
		if (w.src_len)
			memcpy(p, op->item.src, w.src_len);
		p += w.src_len;
	}
	r = pb_write_full(planfd, buf, len);
	free(buf);
	return r;
}

/* The ops after the plan in its memfd (at its current offset), and the header's namespace fields. */
int pb_ns_write(struct pb_builder *b, int planfd, struct pb_plan_hdr *hdr, struct pb_error *err)
{
	off_t off;
	int r;

	if (!b->nns)
		return 0;
	r = plan_ops(b, err);
	if (r < 0)
		return r;
	off = lseek(planfd, 0, SEEK_CUR);
	if (off < 0)
		return pb_err_sys(err, "launch", -errno, "the plan memfd");
	hdr->ns_off = (uint64_t)off;
	hdr->ns_nops = (uint32_t)b->nns_ops;
	hdr->ns_flags = PB_NS_ON;
	if (pb_ns_uses_userns(b)) {
		/* unprivileged: a user namespace, where we are who we were */
		hdr->ns_flags |= PB_NS_USER | (geteuid() != 0 ? PB_NS_DROP_CAPS : 0);
		snprintf(hdr->ns_uid_map, sizeof(hdr->ns_uid_map), "%u %u 1", geteuid(), geteuid());
		snprintf(hdr->ns_gid_map, sizeof(hdr->ns_gid_map), "%u %u 1", getegid(), getegid());
	}
	r = write_ops(b, planfd);
	return r < 0 ? pb_err_sys(err, "launch", r, "writing the namespace ops") : 0;
}

/* A failed namespace setup, in words. */
void pb_ns_explain(const struct pb_builder *b, int where, int e, struct pb_error *err)
{
	static const char *const at[] = {
		[-PB_NS_AT_UNSHARE] = "unshare", [-PB_NS_AT_IDMAP] = "writing uid_map/gid_map",
		[-PB_NS_AT_PRIVATE] = "making the mounts private", [-PB_NS_AT_TMPFS] = "mounting the root tmpfs",
		[-PB_NS_AT_PIVOT] = "pivot_root into the new root", [-PB_NS_AT_CAPS] = "dropping capabilities",
		[-PB_NS_AT_READ] = "reading the namespace ops",
	};
	const char *hint = "";

	if (where == PB_NS_AT_UNSHARE && (e == EPERM || e == ENOSPC || e == EACCES))
		hint = pb_ns_uses_userns(b)
			       ? " (user namespaces are refused here: see user.max_user_namespaces, "
				 "kernel.unprivileged_userns_clone, or a seccomp/LSM policy)"
			       : "";
	if (where >= 0 && (size_t)where < b->nns_ops) {
		const struct pb_ns_op *op = &b->ns_ops[where];
		char what[192]; /* (the message holds 256) */
		pb_ns_op_describe(op, what, sizeof(what));
		if (op->kind == PB_NS_OP_PROC && e == EPERM)
			hint = " (a new procfs needs CAP_SYS_ADMIN over our pid namespace)";
		pb_err_set(err, "namespace", e == ESTALE ? PB_EINVAL : PB_ESYS, 0, "%s: %s%s", what,
			   e == ESTALE ? "the directory there is not the one the entry's fd names (moved or replaced)"
				       : strerror(e), hint);
	} else if (where < 0 && -where < (int)PB_ARRAY_SIZE(at)) {
		/* PB_ESYS, not PB_EACCES: the program is fine, the kernel refused us (sys_errno says how) */
		pb_err_set(err, "namespace", PB_ESYS, 0, "%s: %s%s",
			   at[-where], strerror(e), hint);
	} else {
		pb_err_set(err, "namespace", PB_ESYS, 0, "setting up the mount namespace: %s", strerror(e));
	}
	err->sys_errno = e;
}
