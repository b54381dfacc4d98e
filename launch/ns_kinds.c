/* SPDX-License-Identifier: MIT */
/*
 * What each kind of namespace entry becomes (enum pb_ns_kind): the ops the
 * stub applies (launch/proto.h), and their names in errors. The lists are
 * bubblewrap's, so that a bwrap user finds the /dev and /proc they know.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/util.h"
#include "launch/launch.h"

/* An op at e->path plus "/name" (name NULL: e->path itself). */
static int op_at(struct pb_builder *b, const struct pb_ns_item *e, const char *name, uint32_t kind,
		 uint32_t flags, struct pb_ns_item what)
{
	char *path = NULL;
	int r;

	if (name && asprintf(&path, "%s/%s", e->path, name) < 0)
		return -ENOMEM;
	what.path = path ? path : e->path;
	r = pb_ns_add_op(b, kind, flags, &what);
	free(path);
	return r;
}

/* The host's /dev/NAME, checked to be a character device, bound onto an empty file. */
static int dev_node(struct pb_builder *b, const struct pb_ns_item *e, const char *name, struct pb_error *err)
{
	char src[64];
	struct stat st;

	snprintf(src, sizeof(src), "/dev/%s", name);
	if (stat(src, &st) < 0 || !S_ISCHR(st.st_mode))
		return pb_err_set(err, "builder", PB_EINVAL, 0,
				  "namespace entry %s (dev): the host's %s is not a character device to bind", e->path,
				  src);
	return op_at(b, e, name, PB_NS_OP_FILE_BIND, PB_NS_OP_MKDIR | PB_NS_OP_VERIFY,
		     (struct pb_ns_item){.src = src, .dev = st.st_dev, .ino = st.st_ino});
}

/* bwrap's --dev: a tmpfs, six devices of the host's, the stdio links, shm, and a devpts of its own. */
static int dev_ops(struct pb_builder *b, const struct pb_ns_item *e, uint32_t mk, struct pb_error *err)
{
	static const char *const nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
	static const char *const links[][2] = {{"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
					       {"stderr", "/proc/self/fd/2"}, {"fd", "/proc/self/fd"},
					       {"core", "/proc/kcore"}, {"ptmx", "pts/ptmx"}};
	int r = op_at(b, e, NULL, PB_NS_OP_TMPFS, mk, (struct pb_ns_item){.mode = 0755});

	for (size_t i = 0; r == 0 && i < PB_ARRAY_SIZE(nodes); i++)
		r = dev_node(b, e, nodes[i], err);
	for (size_t i = 0; r == 0 && i < PB_ARRAY_SIZE(links); i++)
		r = op_at(b, e, links[i][0], PB_NS_OP_SYMLINK, 0, (struct pb_ns_item){.src = (char *)links[i][1]});
	if (r == 0)
		r = op_at(b, e, "shm", PB_NS_OP_DIR, 0, (struct pb_ns_item){.mode = 0755});
	if (r == 0)
		r = op_at(b, e, "pts", PB_NS_OP_DEVPTS, PB_NS_OP_MKDIR, (struct pb_ns_item){0});
	return r;
}

/*
 * bwrap's --proc: a procfs of our own where the kernel allows it (we hold
 * CAP_SYS_ADMIN over our pid namespace); in a user namespace it answers
 * EPERM (measured on 6.18), so the host's /proc, as bwrap binds it when it
 * shares the pid namespace. Then bwrap's read-only covers.
 */
static int proc_ops(struct pb_builder *b, const struct pb_ns_item *e, uint32_t mk, struct pb_error *err)
{
	static const char *const covers[] = {"sys", "sysrq-trigger", "irq", "bus"};
	uint32_t ro = e->flags & PB_NS_RDONLY ? PB_NS_OP_RDONLY : 0;
	struct stat st;
	int r;

	if (!pb_ns_uses_userns(b)) {
		r = op_at(b, e, NULL, PB_NS_OP_PROC, mk | ro, (struct pb_ns_item){0});
	} else if (stat("/proc", &st) < 0 || !S_ISDIR(st.st_mode)) {
		return pb_err_set(err, "builder", PB_EINVAL, 0,
				  "namespace entry %s (proc): in a user namespace the kernel refuses a procfs of "
				  "our pid namespace, and there is no /proc here to bind instead", e->path);
	} else {
		r = op_at(b, e, NULL, PB_NS_OP_BIND, mk | ro | PB_NS_OP_VERIFY,
			  (struct pb_ns_item){.src = "/proc", .dev = st.st_dev, .ino = st.st_ino});
	}
	for (size_t i = 0; r == 0 && !ro && i < PB_ARRAY_SIZE(covers); i++)
		r = op_at(b, e, covers[i], PB_NS_OP_COVER_RO, 0, (struct pb_ns_item){0});
	return r;
}

int pb_ns_entry_ops(struct pb_builder *b, const struct pb_ns_item *e, bool mkdir, struct pb_error *err)
{
	uint32_t mk = mkdir ? PB_NS_OP_MKDIR : 0, ro = e->flags & PB_NS_RDONLY ? PB_NS_OP_RDONLY : 0;

	switch (e->kind) {
	case PB_NS_PROC:
		return proc_ops(b, e, mk, err);
	case PB_NS_DEV:
		return dev_ops(b, e, mk, err);
	case PB_NS_TMPFS:
		return op_at(b, e, NULL, PB_NS_OP_TMPFS, mk | ro, (struct pb_ns_item){.mode = e->mode, .size = e->size});
	case PB_NS_SYMLINK:
		return op_at(b, e, NULL, PB_NS_OP_SYMLINK, 0, (struct pb_ns_item){.src = e->src});
	default:
		return pb_ns_add_op(b, PB_NS_OP_BIND, mk | ro | PB_NS_OP_VERIFY, e);
	}
}

void pb_ns_op_describe(const struct pb_ns_op *op, char *buf, size_t len)
{
	const char *path = op->item.path, *src = op->item.src ? op->item.src : "";
	const char *ro = op->flags & PB_NS_OP_RDONLY ? " read-only" : "";

	switch (op->kind) {
	case PB_NS_OP_SYMLINK: snprintf(buf, len, "linking %s -> %s", path, src); break;
	case PB_NS_OP_CHDIR: snprintf(buf, len, "entering %s", path); break;
	case PB_NS_OP_TMPFS: snprintf(buf, len, "mounting a%s tmpfs on %s", ro, path); break;
	case PB_NS_OP_PROC: snprintf(buf, len, "mounting a%s procfs on %s", ro, path); break;
	case PB_NS_OP_DEVPTS: snprintf(buf, len, "mounting a devpts on %s", path); break;
	case PB_NS_OP_DIR: snprintf(buf, len, "making the directory %s", path); break;
	case PB_NS_OP_COVER_RO: snprintf(buf, len, "making %s read-only", path); break;
	default: snprintf(buf, len, "mounting %s from %s%s", path, src, ro); break;
	}
}
