/* SPDX-License-Identifier: MIT */
/*
 * The stub's half of namespace entries: a new mount namespace (inside a new
 * user namespace when we lack CAP_SYS_ADMIN), a tmpfs stacked on "/" as the
 * new root, the ops the builder computed applied to it, then pivot_root into
 * it. Sources are looked up by path while the old root is still our root,
 * and each is checked against the dev:ino of the fd the caller gave.
 */
#include <linux/capability.h>
#include <linux/fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/sched.h>

#include "launch/stub/stub.h"

#define ENOENT 2
#define EEXIST 17
#define ESTALE 116
#define ENAMETOOLONG 36
#define MNT_DETACH 2

static char path[PB_NS_PATH_MAX], src[PB_NS_PATH_MAX], cwd[PB_NS_PATH_MAX];

static long write_file(const char *name, const char *text)
{
	long fd = sys3(__NR_openat, AT_FDCWD, name, O_WRONLY | O_CLOEXEC), r;
	size_t len = 0;

	if (fd < 0)
		return fd;
	while (text[len])
		len++;
	r = sys3(__NR_write, fd, text, len);
	sys3(__NR_close, fd, 0, 0);
	return r < 0 ? r : 0;
}

static long enter_namespaces(const struct pb_plan_hdr *hdr, int *where)
{
	long r;

	*where = PB_NS_AT_UNSHARE;
	r = sys3(__NR_unshare, CLONE_NEWNS | (hdr->ns_flags & PB_NS_USER ? CLONE_NEWUSER : 0), 0, 0);
	if (r < 0 || !(hdr->ns_flags & PB_NS_USER))
		return r;
	*where = PB_NS_AT_IDMAP;
	r = write_file("/proc/self/setgroups", "deny");
	if (r == 0)
		r = write_file("/proc/self/uid_map", hdr->ns_uid_map);
	if (r == 0)
		r = write_file("/proc/self/gid_map", hdr->ns_gid_map);
	return r;
}

/* A tmpfs, mounted on top of "/": invisible to lookups until we pivot into it. */
static long new_root(int *where)
{
	long fs, t, r;

	*where = PB_NS_AT_PRIVATE;
	r = sys6(__NR_mount, 0, (long)"/", 0, MS_REC | MS_PRIVATE, 0, 0);
	if (r < 0)
		return r;
	*where = PB_NS_AT_TMPFS;
	fs = sys3(__NR_fsopen, "tmpfs", FSOPEN_CLOEXEC, 0);
	if (fs < 0)
		return fs;
	r = sys6(__NR_fsconfig, fs, FSCONFIG_SET_STRING, (long)"mode", (long)"0755", 0, 0);
	if (r == 0)
		r = sys6(__NR_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0, 0);
	t = r < 0 ? r : sys3(__NR_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
	sys3(__NR_close, fs, 0, 0);
	if (t < 0)
		return t;
	r = sys6(__NR_move_mount, t, (long)"", AT_FDCWD, (long)"/", MOVE_MOUNT_F_EMPTY_PATH, 0);
	if (r < 0) {
		sys3(__NR_close, t, 0, 0);
		return r;
	}
	return t;
}

/* path's parents (and path itself unless leaf_is_file) as directories in the tmpfs. */
static long make_dirs(long t, char *rel, int leaf_is_file)
{
	for (char *p = rel;; p++) {
		if (*p == '/' || (*p == 0 && !leaf_is_file)) {
			char c = *p;
			long r;
			*p = 0;
			r = sys3(__NR_mkdirat, t, rel, 0755);
			*p = c;
			if (r < 0 && r != -EEXIST)
				return r;
		}
		if (!*p)
			return 0;
	}
}

/*
 * Read-only for a whole tree: mount_setattr with AT_RECURSIVE sets only the
 * bit, where MS_REMOUNT|MS_BIND|MS_RDONLY must repeat the flags a user
 * namespace finds locked (nosuid, nodev, ...) or fail with EPERM.
 */
static long make_rdonly(long mnt)
{
	struct mount_attr a;

	memset(&a, 0, sizeof(a));
	a.attr_set = MOUNT_ATTR_RDONLY;
	return sys6(__NR_mount_setattr, mnt, (long)"", AT_EMPTY_PATH | AT_RECURSIVE, (long)&a, sizeof(a), 0);
}

/* The mount (or detached tree) m moved onto rel in the new root; m is closed. */
static long attach(long t, long m, const char *rel, int file)
{
	struct open_how how = {O_PATH | O_CLOEXEC | (file ? 0 : O_DIRECTORY), 0,
			       RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	long target = sys6(__NR_openat2, t, (long)rel, (long)&how, sizeof(how), 0, 0), r = target;

	if (target >= 0) {
		r = sys6(__NR_move_mount, m, (long)"", target, (long)"",
			 MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH, 0);
		sys3(__NR_close, target, 0, 0);
	}
	sys3(__NR_close, m, 0, 0);
	return r;
}

/* v in base 8 or 10, NUL-terminated, into buf[24]. */
static const char *utoa(uint64_t v, unsigned base, char *buf)
{
	char *p = buf + 23;

	*p = 0;
	do
		*--p = (char)('0' + v % base);
	while ((v /= base));
	return p;
}

static long set_option(long fs, const char *key, const char *value)
{
	return sys6(__NR_fsconfig, fs, FSCONFIG_SET_STRING, (long)key, (long)value, 0, 0);
}

/* A new filesystem of type, configured for op's kind, as a detached mount; or -errno. */
static long new_fs(const char *type, const struct pb_wire_ns_op *op, unsigned attrs)
{
	long fs = sys3(__NR_fsopen, type, FSOPEN_CLOEXEC, 0), m, r = 0;
	char num[24];

	if (fs < 0)
		return fs;
	if (op->kind == PB_NS_OP_TMPFS) {
		r = set_option(fs, "mode", utoa(op->mode, 8, num));
		if (r == 0 && op->size)
			r = set_option(fs, "size", utoa(op->size, 10, num));
	} else if (op->kind == PB_NS_OP_DEVPTS) {
		r = set_option(fs, "ptmxmode", "0666");
		if (r == 0)
			r = set_option(fs, "mode", "0620");
	}
	if (r == 0)
		r = sys6(__NR_fsconfig, fs, FSCONFIG_CMD_CREATE, 0, 0, 0, 0);
	m = r < 0 ? r : sys3(__NR_fsmount, fs, FSMOUNT_CLOEXEC, attrs | (op->flags & PB_NS_OP_RDONLY ? MOUNT_ATTR_RDONLY : 0));
	sys3(__NR_close, fs, 0, 0);
	return m;
}

/* tmpfs, procfs, devpts: bwrap's flags (tmpfs nosuid,nodev; the others also noexec). */
static long fs_op(long t, const struct pb_wire_ns_op *op, char *rel)
{
	/* (conditionals, not a table of strings: the stub must stay free of relocations) */
	const char *type = op->kind == PB_NS_OP_PROC ? "proc" : op->kind == PB_NS_OP_DEVPTS ? "devpts" : "tmpfs";
	unsigned attrs = MOUNT_ATTR_NOSUID | (op->kind == PB_NS_OP_DEVPTS ? MOUNT_ATTR_NOEXEC : MOUNT_ATTR_NODEV) |
			 (op->kind == PB_NS_OP_PROC ? MOUNT_ATTR_NOEXEC : 0);
	long m, r = op->flags & PB_NS_OP_MKDIR ? make_dirs(t, rel, 0) : 0;

	if (r < 0)
		return r;
	m = new_fs(type, op, attrs);
	return m < 0 ? m : attach(t, m, rel, 0);
}

/* bwrap's cover of /proc/sys and the like: bound onto itself read-only, where it exists. */
static long cover_op(long t, char *rel)
{
	struct open_how how = {O_PATH | O_CLOEXEC | O_NOFOLLOW, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	long at = sys6(__NR_openat2, t, (long)rel, (long)&how, sizeof(how), 0, 0), c, r;

	if (at == -ENOENT)
		return 0;
	if (at < 0)
		return at;
	c = sys6(__NR_open_tree, at, (long)"", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH,
		 0, 0, 0);
	sys3(__NR_close, at, 0, 0);
	if (c < 0)
		return c;
	r = make_rdonly(c);
	if (r < 0) {
		sys3(__NR_close, c, 0, 0);
		return r;
	}
	return attach(t, c, rel, 1);
}

static long bind_op(long t, const struct pb_wire_ns_op *op, char *rel)
{
	int file = op->kind == PB_NS_OP_FILE_BIND;
	uint64_t st[18]; /* struct stat: st_dev, st_ino first */
	long c, r;

	if (op->flags & PB_NS_OP_MKDIR) {
		r = make_dirs(t, rel, file);
		if (r == 0 && file) {
			r = sys3(__NR_openat, t, rel, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
			if (r >= 0)
				r = sys3(__NR_close, r, 0, 0);
		}
		if (r < 0)
			return r;
	}
	c = sys6(__NR_open_tree, AT_FDCWD, (long)src,
		 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, 0, 0, 0);
	if (c < 0)
		return c;
	r = sys3(__NR_fstat, c, st, 0);
	if (r == 0 && (op->flags & PB_NS_OP_VERIFY) && (st[0] != op->dev || st[1] != op->ino))
		r = -ESTALE; /* not the directory the caller's fd names: moved or replaced */
	if (r == 0 && (op->flags & PB_NS_OP_RDONLY))
		r = make_rdonly(c);
	if (r < 0) {
		sys3(__NR_close, c, 0, 0);
		return r;
	}
	return attach(t, c, rel, file);
}

static long apply_op(long t, const struct pb_wire_ns_op *op)
{
	long r;

	switch (op->kind) {
	case PB_NS_OP_BIND:
	case PB_NS_OP_FILE_BIND:
		return bind_op(t, op, path + 1);
	case PB_NS_OP_SYMLINK:
		r = make_dirs(t, path + 1, 1);
		return r < 0 ? r : sys3(__NR_symlinkat, src, t, path + 1);
	case PB_NS_OP_CHDIR:
		memcpy(cwd, path, op->path_len);
		return 0;
	case PB_NS_OP_TMPFS:
	case PB_NS_OP_PROC:
	case PB_NS_OP_DEVPTS:
		return fs_op(t, op, path + 1);
	case PB_NS_OP_DIR:
		r = make_dirs(t, path + 1, 0);
		/* (mkdirat's mode is under the umask: set it as asked) */
		return r < 0 ? r : sys6(__NR_fchmodat, t, (long)(path + 1), op->mode, 0, 0, 0);
	case PB_NS_OP_COVER_RO:
		return cover_op(t, path + 1);
	}
	return -22;
}

static long read_op(int planfd, uint64_t *off, struct pb_wire_ns_op *op)
{
	long n = sys6(__NR_pread64, planfd, (long)op, sizeof(*op), (long)*off, 0, 0);

	if (n != sizeof(*op))
		return n < 0 ? n : -5;
	if (op->path_len < 2 || op->path_len > sizeof(path) || op->src_len > sizeof(src))
		return -ENAMETOOLONG;
	*off += sizeof(*op);
	n = sys6(__NR_pread64, planfd, (long)path, op->path_len, (long)*off, 0, 0);
	*off += op->path_len;
	if (n == op->path_len && op->src_len)
		n = sys6(__NR_pread64, planfd, (long)src, op->src_len, (long)*off, 0, 0) == op->src_len ? n : -5;
	*off += op->src_len;
	if (n != op->path_len)
		return n < 0 ? n : -5;
	path[op->path_len - 1] = 0;
	if (op->src_len)
		src[op->src_len - 1] = 0;
	return path[0] == '/' ? 0 : -22;
}

/* Into the tmpfs: the old root ends up mounted on it, and is detached. */
static long pivot(long t)
{
	long r = sys3(__NR_fchdir, t, 0, 0);

	if (r == 0)
		r = sys3(__NR_pivot_root, ".", ".", 0);
	if (r == 0)
		r = sys3(__NR_umount2, ".", MNT_DETACH, 0);
	if (r == 0 && (!cwd[0] || sys3(__NR_chdir, cwd, 0, 0) < 0))
		r = sys3(__NR_chdir, "/", 0, 0);
	return r;
}

static long drop_caps(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return sys3(__NR_capset, &h, d, 0);
}

long stub_setup_ns(const struct pb_plan_hdr *hdr, int planfd, int *where)
{
	struct pb_wire_ns_op op;
	uint64_t off = hdr->ns_off;
	long t, r = enter_namespaces(hdr, where);

	if (r < 0)
		return r;
	t = new_root(where);
	if (t < 0)
		return t;
	for (uint32_t i = 0; i < hdr->ns_nops && r == 0; i++) {
		*where = PB_NS_AT_READ;
		r = read_op(planfd, &off, &op);
		if (r == 0) {
			*where = (int)i;
			r = apply_op(t, &op);
		}
	}
	if (r == 0) {
		*where = PB_NS_AT_PIVOT;
		r = pivot(t);
	}
	if (r == 0 && (hdr->ns_flags & PB_NS_DROP_CAPS)) {
		*where = PB_NS_AT_CAPS;
		r = drop_caps();
	}
	sys3(__NR_close, t, 0, 0);
	return r;
}
