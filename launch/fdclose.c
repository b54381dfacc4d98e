/* SPDX-License-Identifier: MIT */
/*
 * The spawn child runs this in its parent's memory until it execs, so
 * everything here is raw system calls on the stack, uninstrumented.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include "launch/fdclose.h"
#include "launch/rawsys.h"

/* The kernel's default fs.nr_open (NR_OPEN). */
#define KERNEL_NR_OPEN (1024 * 1024)

/*
 * fs.nr_open, which no fd number reaches (unlike RLIMIT_NOFILE, which may
 * have been lowered after fds were opened); the kernel's default if
 * /proc/sys/fs/nr_open cannot be read. Read only on the last fallback, so a
 * spawn that close_range serves pays nothing for it.
 */
PB_NO_SANITIZE static int nr_open(void)
{
	char buf[16];
	long fd = pb_raw_syscall(SYS_openat, AT_FDCWD, (long)"/proc/sys/fs/nr_open", O_RDONLY | O_CLOEXEC, 0, 0, 0);
	long len = fd < 0 ? -1 : pb_raw_syscall(SYS_read, fd, (long)buf, sizeof(buf) - 1, 0, 0, 0);
	long n = 0;

	if (fd >= 0)
		pb_raw_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
	for (long i = 0; i < len && buf[i] >= '0' && buf[i] <= '9' && n <= INT_MAX / 10; i++)
		n = n * 10 + (buf[i] - '0');
	return n > 0 && n <= INT_MAX ? (int)n : KERNEL_NR_OPEN;
}

/* Marks fd close-on-exec if it is open and not yet marked; 0 or -errno. */
PB_NO_SANITIZE static int mark(int fd)
{
	long fl = pb_raw_syscall(SYS_fcntl, fd, F_GETFD, 0, 0, 0, 0);

	if (fl == -EBADF || (fl >= 0 && (fl & FD_CLOEXEC)))
		return 0;
	if (fl >= 0)
		fl = pb_raw_syscall(SYS_fcntl, fd, F_SETFD, fl | FD_CLOEXEC, 0, 0, 0);
	return fl == -EBADF ? 0 : (int)fl;
}

/* The fd a /proc/self/fd entry names, or -1 ("." and ".."). */
PB_NO_SANITIZE static int entry_fd(const char *name)
{
	int fd = 0;

	if (!*name)
		return -1;
	for (; *name; name++) {
		if (*name < '0' || *name > '9' || fd > (INT_MAX - 9) / 10)
			return -1;
		fd = fd * 10 + (*name - '0');
	}
	return fd;
}

/* The head of a getdents64 record (struct linux_dirent64, which libc does not declare). */
struct dirent64_head {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* Marks the fds from lowfd among len bytes of getdents64 records, skipping dir itself. */
PB_NO_SANITIZE static int mark_entries(const unsigned char *buf, long len, int lowfd, int dir)
{
	for (long off = 0; off < len;) {
		const struct dirent64_head *d = (const void *)(buf + off);
		int fd = entry_fd(d->name), r;

		off += d->reclen;
		if (fd < lowfd || fd == dir)
			continue;
		r = mark(fd);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Marks the fds from lowfd that /proc/self/fd lists. A /proc that is not
 * procfs (a directory put there) cannot be trusted to list them: -ENOENT.
 */
PB_NO_SANITIZE static int mark_listed(int lowfd)
{
	uint64_t buf[128]; /* (aligned for the records; small: the CLI runs on a 16 KiB stack) */
	struct statfs sf;
	long dir = pb_raw_syscall(SYS_openat, AT_FDCWD, (long)"/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				  0, 0, 0);
	long n = 0, r;

	if (dir < 0)
		return (int)dir;
	r = pb_raw_syscall(SYS_fstatfs, dir, (long)&sf, 0, 0, 0, 0);
	if (r == 0 && sf.f_type != PROC_SUPER_MAGIC)
		r = -ENOENT;
	while (r == 0 && (n = pb_raw_syscall(SYS_getdents64, dir, (long)buf, sizeof(buf), 0, 0, 0)) > 0)
		r = mark_entries((const unsigned char *)buf, n, lowfd, (int)dir);
	pb_raw_syscall(SYS_close, dir, 0, 0, 0, 0, 0);
	return (int)(r < 0 ? r : n);
}

/* Marks every number from lowfd below fs.nr_open. */
PB_NO_SANITIZE static int mark_every(int lowfd)
{
	int limit = nr_open();

	for (int fd = lowfd; fd < limit; fd++) {
		int r = mark(fd);
		if (r < 0)
			return r;
	}
	return 0;
}

PB_NO_SANITIZE int pb_cloexec_from(int lowfd)
{
	if (pb_raw_syscall(SYS_close_range, lowfd, ~0u, CLOSE_RANGE_CLOEXEC, 0, 0, 0) == 0)
		return 0;
	/* whatever the refusal (ENOSYS, EPERM, EINVAL), these do the same */
	if (mark_listed(lowfd) == 0)
		return 0;
	return mark_every(lowfd);
}
