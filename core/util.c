/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/util.h"

/* The one read loop: EINTR and short reads; off < 0 reads from the current position. */
static ssize_t read_loop(int fd, void *buf, size_t len, int64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = off < 0 ? read(fd, (char *)buf + done, len - done)
				    : pread(fd, (char *)buf + done, len - done, (off_t)(off + (int64_t)done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

ssize_t pb_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	return read_loop(fd, buf, len, (int64_t)off);
}

ssize_t pb_read_full(int fd, void *buf, size_t len)
{
	return read_loop(fd, buf, len, -1);
}

int pb_write_full(int fd, const void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = write(fd, (const char *)buf + done, len - done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		done += (size_t)r;
	}
	return 0;
}

/*
 * The kernel's own verdict (AT_EXECVE_CHECK, Linux 6.14): the permission,
 * the noexec mount, Landlock's execute right, IMA, fanotify's
 * FAN_OPEN_EXEC(_PERM) and LSM exec hooks, all as for an exec. 1 yes, 0 no
 * (EACCES, EPERM), -1 cannot tell: a kernel without the flag (EINVAL) or
 * any other answer (ETXTBSY for a file open for writing, which we map from
 * our copy anyway).
 */
static int kernel_verdict(int fd)
{
	char *argv[] = {"", NULL}, *envp[] = {NULL};

	if (syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH | PB_AT_EXECVE_CHECK) == 0)
		return 1;
	return errno == EACCES || errno == EPERM ? 0 : -1;
}

/*
 * Asked first, the kernel's yes is the answer; the mount and the mode are
 * looked at only to say why it said no (or where it cannot tell): two
 * system calls fewer for every program and interpreter that may run.
 */
int pb_check_exec_file(int fd, const char **ret_why)
{
	struct statvfs sv;
	struct stat st;
	int verdict;

	if (fstat(fd, &st) < 0)
		return -errno;
	*ret_why = S_ISDIR(st.st_mode) ? "is a directory" :
		   !S_ISREG(st.st_mode) ? "is not a regular file" :
		   (verdict = kernel_verdict(fd)) == 1 ? NULL :
		   fstatvfs(fd, &sv) == 0 && (sv.f_flag & ST_NOEXEC) ? "is on a noexec mount" :
		   faccessat(fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) < 0 ? "has no execute permission" :
		   verdict == 0 ? "is refused by the kernel's exec check (AT_EXECVE_CHECK: a Landlock, "
				  "IMA, fanotify or LSM policy)" : NULL;
	return *ret_why ? -EACCES : 0;
}

uint64_t pb_sigset_bits(const sigset_t *set)
{
	uint64_t bits = 0;

	for (int sig = 1; sig <= 64; sig++)
		if (sigismember(set, sig) == 1)
			bits |= 1ull << (sig - 1);
	return bits;
}
