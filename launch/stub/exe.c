/* SPDX-License-Identifier: MIT */
/*
 * DOC: the exe helper's one privileged act. Installed, the stub is the
 * PT_INTERP of an empty ELF carrying cap_checkpoint_restore=p (configure.py's
 * install, misc/install-exe-helper): run by a user without that capability,
 * the kernel gives it to us in permitted for this exec, and we use it for
 * one thing only, before anything of the caller's but one fd is read:
 * PR_SET_MM_MAP with exe_fd, so that /proc/PID/exe is the program, as
 * execve would make it. Then every capability the file gave is dropped, the
 * process is made dumpable again where a plain exec would leave it so (only
 * then may the caller's ptrace attach: a process holding a capability its
 * tracer lacks cannot be traced), and our own AT_SECURE becomes a plain
 * exec's, so the program's credentials are planned from what execve would
 * have given.
 *
 * The fd: argv is {"pb-stub", PLAN, FD} (PLAN the in-place plan memfd or
 * "-"); FD is the only thing read from the caller while privileged, and it
 * must be a regular file opened for reading, with no set-user-ID or
 * set-group-ID bit and no file capabilities, that the caller may execute
 * (AT_EXECVE_CHECK, then the kernel's own MAY_EXEC and noexec checks).
 * Anything else, and any other argv shape, and the capability is dropped
 * unused. One request per exec: the capability is gone after it.
 */
#include <asm/stat.h>
#include <linux/capability.h>
#include <linux/fcntl.h>
#include <linux/prctl.h>
#include <linux/securebits.h>
#include <linux/stat.h>

#include "launch/stub/stub.h"

#define ENODATA 61
#define EACCES 13
#define EBADF 9
#define EPERM 1
#define CAP_CR 40 /* CAP_CHECKPOINT_RESTORE (5.9) */
#define AT_EXECVE_CHECK 0x10000 /* 6.14 */

struct caps {
	struct __user_cap_data_struct d[2];
	uint64_t amb;
};

static uint64_t prm_of(const struct caps *c)
{
	return c->d[0].permitted | (uint64_t)c->d[1].permitted << 32;
}

/* The permitted, effective and inheritable sets (ambient apart: read_caps). */
static void get_caps(struct caps *c)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};

	sys3(__NR_capget, &h, c->d, 0);
}

/* The ambient set, after get_caps: 64 prctls, only where permitted is not empty. */
static void read_ambient(struct caps *c)
{
	c->amb = 0;
	for (int i = 0; i < 64 && prm_of(c); i++)
		if (sys6(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, i, 0, 0, 0) == 1)
			c->amb |= 1ull << i;
}

/* Every set, the ambient one included. */
static void read_caps(struct caps *c)
{
	get_caps(c);
	read_ambient(c);
}

/*
 * Whether this exec gave us capabilities from the file: permitted beyond
 * ambient, for a process whose uids do not make it root (root's exec gives
 * it its bounding set whatever the file says). A plain exec of a non-root
 * process gives exactly its ambient set. Cheapest first: the ambient set
 * costs 64 prctls, and every spawn asks (a root caller's every spawn paid
 * them before the uids were looked at). Yes leaves every set in c.
 */
static int privileged_by_file(struct caps *c)
{
	unsigned r[3];
	long bits;

	get_caps(c);
	if (!prm_of(c))
		return 0;
	sys3(__NR_getresuid, &r[0], &r[1], &r[2]);
	bits = sys6(__NR_prctl, PR_GET_SECUREBITS, 0, 0, 0, 0, 0);
	if ((r[0] == 0 || r[1] == 0) && !(bits >= 0 && (bits & SECBIT_NOROOT)))
		return 0;
	read_ambient(c);
	return (prm_of(c) & ~c->amb) != 0;
}

/* What the fd must be for exe to be set to it (see above): 0 or -errno. */
static long check_target(int fd)
{
	static char *const empty[] = {0};
	struct stat st;
	char cap[32];
	long fl = sys3(__NR_fcntl, fd, F_GETFL, 0), r;

	if (fl < 0)
		return fl;
	if ((fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
		return -EBADF; /* not open for reading */
	r = sys3(__NR_fstat, fd, &st, 0);
	if (r < 0)
		return r;
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_ISUID | S_ISGID)))
		return -EACCES;
	r = sys6(__NR_fgetxattr, fd, (long)"security.capability", (long)cap, sizeof(cap), 0, 0);
	if (r != -ENODATA)
		return r < 0 ? r : -EPERM; /* file capabilities, or we cannot tell */
	return sys6(__NR_execveat, fd, (long)"", (long)empty, (long)empty, AT_EMPTY_PATH | AT_EXECVE_CHECK, 0);
}

/*
 * PR_SET_MM_MAP needs every field valid; these hold until the plan's own
 * (launch/stub/stub.c finish). have: our sets as privileged_by_file read them.
 */
static long set_exe(int fd, uint64_t *sp0, uint64_t image_lo, uint64_t image_hi, const struct caps *have)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct caps c = *have;
	struct pb_wire_mm mm = {
		.start_code = image_lo, .end_code = image_hi, .start_data = image_hi, .end_data = image_hi,
		.start_brk = image_hi, .brk = image_hi, .start_stack = (uint64_t)sp0,
		.arg_start = (uint64_t)sp0, .arg_end = (uint64_t)sp0, .env_start = (uint64_t)sp0,
		.env_end = (uint64_t)sp0, .exe_fd = (uint32_t)fd,
	};
	long r;

	c.d[1].effective = c.d[1].permitted & (1u << (CAP_CR - 32)); /* only this one, only now */
	r = sys3(__NR_capset, &h, c.d, 0);
	if (r == 0)
		r = sys6(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, (long)&mm, sizeof(mm), 0, 0);
	return r;
}

/*
 * Down to what a plain exec gives a non-root process: its ambient set (empty
 * after a file-capability exec). have: our sets as privileged_by_file read
 * them (set_exe changes only the effective set, which this sets anew); read
 * again after, to be sure.
 */
static void drop_file_caps(const struct caps *have)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct caps c = *have;

	for (int i = 0; i < 2; i++)
		c.d[i].permitted = c.d[i].effective = (uint32_t)(c.amb >> (32 * i));
	sys3(__NR_capset, &h, c.d, 0);
	read_caps(&c);
	if (prm_of(&c) & ~c.amb)
		for (;;)
			sys3(__NR_exit_group, 127, 0, 0); /* never go on holding it */
}

/* Dumpable and AT_SECURE as a plain exec would leave them (it keeps the ids, so only they decide). */
static void as_plain_exec(uint64_t *auxv)
{
	unsigned u[3], g[3];
	int setid;

	sys3(__NR_getresuid, &u[0], &u[1], &u[2]);
	sys3(__NR_getresgid, &g[0], &g[1], &g[2]);
	setid = u[0] != u[1] || g[0] != g[1];
	if (!setid)
		sys3(__NR_prctl, PR_SET_DUMPABLE, 1, 0);
	for (; auxv[0] != 0; auxv += 2)
		if (auxv[0] == 23) /* AT_SECURE */
			auxv[1] = (uint64_t)setid;
}

int stub_exe_helper(uint64_t *sp0, uint64_t *auxv, uint64_t image_lo, uint64_t image_hi)
{
	struct caps c;
	int fd = -1;
	long r = -EBADF;

	if (sp0[0] == 3)
		fd = stub_parse_num((const char *)sp0[3]);
	if (!privileged_by_file(&c)) {
		r = 1; /* not run as the helper, or the kernel gave it nothing (traced, no_new_privs, nosuid) */
	} else {
		if (fd >= 0 && (r = check_target(fd)) == 0)
			r = set_exe(fd, sp0, image_lo, image_hi, &c);
		drop_file_caps(&c);
		as_plain_exec(auxv);
	}
	if (fd >= 0)
		sys3(__NR_close, fd, 0, 0); /* the library's own copy, never the program's */
	return r == 1 ? 0 : r == 0 ? 1 : (int)r;
}
