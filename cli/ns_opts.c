/* SPDX-License-Identifier: MIT */
/*
 * run's namespace options: --ns PATH=DIR, --ro-ns PATH=DIR, --proc PATH,
 * --dev PATH, --tmpfs PATH (with bwrap's --size and --perms before it),
 * --symlink PATH=TARGET, --ns-mode. Parsed in order into specs, applied to the builder with
 * pb_add_ns_mount, which checks each.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/launch.h"
#include "procbuilder.h"

static int add_spec(struct pb_launch_opts *o, int kind, unsigned flags, const char *arg)
{
	struct pb_ns_spec *grown = reallocarray(o->ns_specs, (size_t)o->nns_specs + 1, sizeof(*grown));

	if (!grown)
		return -ENOMEM;
	o->ns_specs = grown;
	grown[o->nns_specs++] = (struct pb_ns_spec){kind, flags, arg, kind == PB_NS_TMPFS ? o->tmpfs_size : 0,
						    kind == PB_NS_TMPFS ? o->tmpfs_mode : 0};
	o->tmpfs_size = o->tmpfs_mode = 0; /* (bwrap's modifiers are for the one entry after them) */
	o->tmpfs_pending = NULL;
	return 0;
}

/* A number with nothing after it (base: 0 for --size, 8 for --perms), below max. */
static int parse_number(const char *s, int base, uint64_t max, uint64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, base);
	return errno || end == s || *end || s[0] == '-' || *ret > max ? -EINVAL : 0;
}

int pb_ns_parse_opt(struct pb_launch_opts *o, int c, const char *arg, const char *cmd)
{
	const char *name = c == PB_OPT_RO_NS ? "--ro-ns" : c == PB_OPT_SYMLINK ? "--symlink" : "--ns";

	if (o->tmpfs_pending && c != PB_OPT_TMPFS && c != PB_OPT_SIZE && c != PB_OPT_PERMS) {
		pb_cli_error(cmd, "%s applies to the --tmpfs right after it, not to this entry", o->tmpfs_pending);
		return -EINVAL;
	}
	switch (c) {
	case PB_OPT_NS:
	case PB_OPT_RO_NS:
	case PB_OPT_SYMLINK:
		if (!strchr(arg, '=') || arg[0] != '/') {
			pb_cli_error(cmd, "%s wants PATH=%s, not '%s'", name, c == PB_OPT_SYMLINK ? "TARGET" : "DIR", arg);
			return -EINVAL;
		}
		return add_spec(o, c == PB_OPT_SYMLINK ? PB_NS_SYMLINK : PB_NS_BIND, c == PB_OPT_RO_NS ? PB_NS_RDONLY : 0,
				arg);
	case PB_OPT_PROC: return add_spec(o, PB_NS_PROC, 0, arg);
	case PB_OPT_DEV: return add_spec(o, PB_NS_DEV, 0, arg);
	case PB_OPT_TMPFS: return add_spec(o, PB_NS_TMPFS, 0, arg);
	case PB_OPT_SIZE:
		if (parse_number(arg, 0, UINT64_MAX / 2, &o->tmpfs_size) < 0 || !o->tmpfs_size) {
			pb_cli_error(cmd, "--size wants a number of bytes, not '%s'", arg);
			return -EINVAL;
		}
		o->tmpfs_pending = "--size";
		return 0;
	case PB_OPT_PERMS:
		if (parse_number(arg, 8, 07777, &o->tmpfs_mode) < 0) {
			pb_cli_error(cmd, "--perms wants octal permissions up to 7777, not '%s'", arg);
			return -EINVAL;
		}
		o->tmpfs_pending = "--perms";
		return 0;
	}
	return -EINVAL;
}

/* After the options: --size and --perms modify the --tmpfs after them, as in bwrap. */
int pb_ns_parse_done(const struct pb_launch_opts *o, const char *cmd)
{
	if (!o->tmpfs_pending)
		return 0;
	pb_cli_error(cmd, "%s applies to a --tmpfs after it, and none follows", o->tmpfs_pending);
	return -EINVAL;
}

/* One spec as a pb_ns_mount; a bind's DIR is opened here (pb_add_ns_mount keeps no fd). */
static int add_one(const struct pb_ns_spec *s, struct pb_builder *b, const char *cmd)
{
	struct pb_ns_mount m = {.sz = sizeof(m), .kind = (uint64_t)s->kind, .flags = s->flags, .path = s->arg,
				.dirfd = -1, .size = s->size, .mode = s->mode};
	const char *eq = s->kind == PB_NS_BIND || s->kind == PB_NS_SYMLINK ? strchr(s->arg, '=') : NULL;
	char *path = eq ? strndup(s->arg, (size_t)(eq - s->arg)) : NULL;
	struct pb_error err;
	int r = 0;

	if (eq && !path) {
		pb_cli_error(cmd, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	if (eq)
		m.path = path;
	if (s->kind == PB_NS_SYMLINK)
		m.target = eq + 1;
	if (s->kind == PB_NS_BIND) {
		m.dirfd = open(eq + 1, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (m.dirfd < 0) {
			r = -errno;
			pb_cli_error(cmd, "%s %s: %s", s->flags & PB_NS_RDONLY ? "--ro-ns" : "--ns", s->arg, strerror(-r));
		}
	}
	if (r == 0 && (r = pb_add_ns_mount(b, &m, &err)) < 0)
		pb_cli_error(cmd, "%s", err.msg);
	if (m.dirfd >= 0)
		close((int)m.dirfd);
	free(path);
	return r;
}

int pb_ns_apply(const struct pb_launch_opts *o, struct pb_builder *b, const char *cmd)
{
	int r = 0;

	for (int i = 0; i < o->nns_specs && r == 0; i++)
		r = add_one(&o->ns_specs[i], b, cmd);
	if (r == 0 && (r = pb_set_namespace_mode(b, (enum pb_ns_mode)o->ns_mode)) < 0)
		pb_cli_error(cmd, "%s", strerror(-r));
	return r;
}
