/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "stages/interp/interp.h"

static int open_host(struct pb_ctx *ctx, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return pb_err_sys(&ctx->err, ctx->stage, -errno, "interpreter %s", path);
	return fd;
}

/* Like a chroot for the interpreter alone: absolute symlinks stay inside too. */
static int open_sysroot(struct pb_ctx *ctx, const char *path)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
	int fd;

	if (ctx->sysroot_fd < 0)
		return pb_fail(ctx, PB_EINVAL, "resolver sysroot, but no sysroot directory was given");
	fd = (int)syscall(SYS_openat2, ctx->sysroot_fd, path, &how, sizeof(how));
	if (fd < 0)
		return pb_err_sys(&ctx->err, ctx->stage, -errno, "interpreter %s in the sysroot", path);
	return fd;
}

/* open_exec's checks: a regular file, executable, not on a noexec mount. */
static int check_exec(struct pb_ctx *ctx, int fd, const char *path)
{
	const char *why = NULL;
	int r = pb_check_exec_file(fd, &why);

	if (r == -EACCES)
		return pb_fail(ctx, PB_EACCES, "interpreter %s %s", path, why);
	return r < 0 ? pb_err_sys(&ctx->err, ctx->stage, r, "interpreter %s", path) : 0;
}

static int resolve(struct pb_ctx *ctx, const char *resolver, const char *path)
{
	if (strcmp(resolver, "auto") == 0)
		resolver = ctx->interp_override_fd >= 0 ? "fd" : ctx->sysroot_fd >= 0 ? "sysroot" : "host";
	if (strcmp(resolver, "host") == 0)
		return open_host(ctx, path);
	if (strcmp(resolver, "sysroot") == 0)
		return open_sysroot(ctx, path);
	if (strcmp(resolver, "fd") == 0) {
		int fd;
		if (ctx->interp_override_fd < 0)
			return pb_fail(ctx, PB_EBADF, "resolver fd, but no interpreter fd was given");
		fd = fcntl(ctx->interp_override_fd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? pb_fail(ctx, PB_EBADF, "invalid interpreter fd %d", ctx->interp_override_fd) : fd;
	}
	if (strcmp(resolver, "none") == 0)
		return pb_fail(ctx, PB_ELOADER_MISSING, "the program needs the interpreter %s and the resolver is none",
			       path);
	return pb_fail(ctx, PB_EINVAL, "resolver must be auto, host, sysroot, fd or none, not '%s'", resolver);
}

int pb_stage_interp(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	const char *resolver = ctx->interp_resolver ? ctx->interp_resolver : pb_opt_str(opts, "resolver", "auto");
	unsigned flags = pb_opt_bool(opts, "strict", true) ? PB_ELF_STRICT : 0;
	const char *path;
	int fd, r;

	if (!ctx->exec_parsed)
		return pb_fail(ctx, PB_EINVAL, "no parsed program (the parse stage must run first)");
	if (!ctx->exec.interp)
		return 0; /* static: nothing to resolve */
	path = ctx->exec.interp;
	fd = resolve(ctx, resolver, path);
	if (fd < 0)
		return fd;
	r = check_exec(ctx, fd, path);
	if (r == 0)
		r = pb_elf_read(fd, flags, path, &ctx->interp, &ctx->err);
	if (r < 0 && ctx->err.code == PB_EPARSE) /* load_elf_interp: ELIBBAD */
		r = pb_err_set(&ctx->err, ctx->stage, PB_EINTERP, ctx->err.detail, "bad interpreter: %s",
			       ctx->err.msg);
	if (r == 0 && ctx->interp.interp) {
		r = pb_fail(ctx, PB_EINTERP, "the interpreter %s has an interpreter of its own (%s)", path,
			    ctx->interp.interp);
		pb_elf_clear(&ctx->interp);
	}
	if (r < 0) {
		close(fd);
		pb_err_stage(&ctx->err, ctx->stage);
		return r;
	}
	if (ctx->interp_fd >= 0)
		close(ctx->interp_fd);
	ctx->interp_fd = fd;
	ctx->has_interp = true;
	return 0;
}
