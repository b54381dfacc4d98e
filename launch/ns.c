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

static int check_entry(const struct pb_ns_entry *e, size_t i, struct stat *st, struct pb_error *err)
{
	if (!e->path || !path_is_clean(e->path))
		return pb_err_set(err, "builder", PB_EINVAL, 0,
				  "namespace entry %zu: \"%s\" is not a clean absolute path (no \".\", \"..\", \"//\", "
				  "trailing \"/\", nor \"/\" itself)", i, e->path ? e->path : "(null)");
	if (e->dirfd < 0 || fstat(e->dirfd, st) < 0)
		return pb_err_set(err, "builder", PB_EBADF, 0, "namespace entry %s: %d is not an open fd",
				  e->path, e->dirfd);
	if (!S_ISDIR(st->st_mode))
		return pb_err_set(err, "builder", PB_EINVAL, 0, "namespace entry %s: fd %d is not a directory",
				  e->path, e->dirfd);
	return 0;
}

/* Appends one checked entry; on failure nothing is appended and err says why. */
static int add_entry(struct pb_builder *b, const struct pb_ns_entry *e, size_t i, struct pb_error *err)
{
	struct pb_ns_item *it = &b->ns[b->nns];
	struct stat st;
	int r = check_entry(e, i, &st, err);

	if (r < 0)
		return r;
	*it = (struct pb_ns_item){.dev = st.st_dev, .ino = st.st_ino, .path = strdup(e->path)};
	r = it->path ? source_path(e->dirfd, &st, &it->src) : -ENOMEM;
	if (r == 0) {
		b->nns++;
		return 0;
	}
	free(it->path);
	if (r == -ESTALE)
		return pb_err_set(err, "builder", PB_EINVAL, 0,
				  "namespace entry %s: fd %d has no path in our mount namespace "
				  "that leads back to it (deleted, or from another namespace)", e->path, e->dirfd);
	return pb_err_sys(err, "builder", r, "namespace entry %s", e->path);
}

PB_API int pb_add_namespace_entries(struct pb_builder *b, const struct pb_ns_entry *entries, size_t n,
				    struct pb_error *err)
{
	struct pb_ns_item *grown;
	size_t done = b->nns;
	int r;

	pb_err_clear(err);
	if (n > PB_MAX_NS_ENTRIES || b->nns + n > PB_MAX_NS_ENTRIES)
		return pb_err_set(err, "builder", PB_EINVAL, 0, "more than %d namespace entries", PB_MAX_NS_ENTRIES);
	grown = reallocarray(b->ns, b->nns + n, sizeof(*grown));
	if (!grown && b->nns + n)
		return pb_err_set(err, "builder", PB_ENOMEM, 0, "out of memory");
	b->ns = grown;
	for (size_t i = 0; i < n; i++) {
		r = add_entry(b, &entries[i], i, err);
		if (r < 0) {
			while (b->nns > done) /* all or none */
				ns_item_free(&b->ns[--b->nns]);
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

static int add_op(struct pb_builder *b, uint32_t kind, uint32_t flags, const char *path, const char *src,
		  uint64_t dev, uint64_t ino)
{
	struct pb_ns_op *op;

	if (b->nns_ops % 256 == 0) {
		struct pb_ns_op *grown = reallocarray(b->ns_ops, b->nns_ops + 256, sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		b->ns_ops = grown;
	}
	op = &b->ns_ops[b->nns_ops];
	*op = (struct pb_ns_op){.kind = kind, .flags = flags,
				.item = {.path = strdup(path), .src = src ? strdup(src) : NULL, .dev = dev, .ino = ino}};
	if (!op->item.path || (src && !op->item.src)) {
		ns_item_free(&op->item);
		return -ENOMEM;
	}
	b->nns_ops++;
	return 0;
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

/* One entry's op: a mount point made in the tmpfs, or one that must exist below another mount. */
static int entry_op(struct pb_builder *b, const struct pb_ns_item *e, size_t nhost, struct pb_error *err)
{
	const struct pb_ns_item *up = ancestor(b, e->path);
	char *where = NULL; /* (on the heap: 16 KiB stacks) */
	struct stat st;
	int r;

	if (!up && !(b->ns_mode == PB_NS_OVERLAY && under_host(b, nhost, e->path)))
		return add_op(b, PB_NS_OP_BIND, PB_NS_OP_MKDIR | PB_NS_OP_VERIFY, e->path, e->src, e->dev, e->ino);
	/* nested: we never create directories outside our own tmpfs */
	if (asprintf(&where, "%s%s", up ? up->src : "", up ? e->path + strlen(up->path) : e->path) < 0)
		return -ENOMEM;
	if (stat(where, &st) < 0 || !S_ISDIR(st.st_mode))
		r = pb_err_set(err, "builder", PB_EINVAL, 0,
			       "namespace entry %s: it lies in %s, which has no directory %s to mount on "
			       "(procbuilder creates mount points only in its own tmpfs)",
			       e->path, up ? up->path : "the host's tree", where);
	else
		r = add_op(b, PB_NS_OP_BIND, PB_NS_OP_VERIFY, e->path, e->src, e->dev, e->ino);
	free(where);
	return r;
}

/* The ops, in the order the stub applies them; also used to name a failed op. */
static int plan_ops(struct pb_builder *b, struct pb_error *err)
{
	char *cwd = NULL;
	size_t nhost;
	int r = 0;

	ns_ops_free(b);
	qsort(b->ns, b->nns, sizeof(*b->ns), by_path);
	for (size_t i = 1; i < b->nns; i++)
		if (strcmp(b->ns[i - 1].path, b->ns[i].path) == 0)
			return pb_err_set(err, "builder", PB_EINVAL, 0, "namespace entry %s is given twice", b->ns[i].path);
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
					  op->item.dev, op->item.ino};
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
		pb_err_set(err, "namespace", e == ESTALE ? PB_EINVAL : PB_ESYS, 0, "%s %s%s%s: %s",
			   op->kind == PB_NS_OP_SYMLINK ? "linking" : "mounting", op->item.path,
			   op->item.src ? (op->kind == PB_NS_OP_SYMLINK ? " -> " : " from ") : "",
			   op->item.src ? op->item.src : "",
			   e == ESTALE ? "the directory there is not the one the entry's fd names (moved or replaced)"
				       : strerror(e));
	} else if (where < 0 && -where < (int)PB_ARRAY_SIZE(at)) {
		/* PB_ESYS, not PB_EACCES: the program is fine, the kernel refused us (sys_errno says how) */
		pb_err_set(err, "namespace", PB_ESYS, 0, "%s: %s%s",
			   at[-where], strerror(e), hint);
	} else {
		pb_err_set(err, "namespace", PB_ESYS, 0, "setting up the mount namespace: %s", strerror(e));
	}
	err->sys_errno = e;
}
