/* SPDX-License-Identifier: MIT */
#pragma once
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define PB_PAGE_SIZE 4096ull
#define PB_PAGE_START(x) ((uint64_t)(x) & ~(PB_PAGE_SIZE - 1))
#define PB_PAGE_OFF(x) ((uint64_t)(x) & (PB_PAGE_SIZE - 1))
#define PB_PAGE_ALIGN(x) (((uint64_t)(x) + PB_PAGE_SIZE - 1) & ~(PB_PAGE_SIZE - 1))
/* x86_64 user address space: TASK_SIZE_MAX with 4-level paging. */
#define PB_TASK_SIZE 0x7ffffffff000ull

#define PB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PB_INTERNAL __attribute__((visibility("hidden")))
#define PB_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* -1/errno from libc becomes -errno; anything else passes through. */
#define PB_NERRNO(expr) ({ long _r = (long)(expr); _r < 0 ? -errno : _r; })

static inline void pb_freep(void *p) { free(*(void **)p); }
static inline void pb_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_free_ __attribute__((cleanup(pb_freep)))
#define _cleanup_close_ __attribute__((cleanup(pb_closep)))

/* Hands ownership out of a cleanup variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

static inline bool pb_is_pow2(uint64_t x) { return x && !(x & (x - 1)); }

/*
 * Reads exactly len bytes at off, retrying on EINTR and short reads.
 * Returns the number of bytes read (less than len only at end of file), or
 * a negative errno.
 */
ssize_t pb_pread_full(int fd, void *buf, size_t len, uint64_t off);
/* Like pb_pread_full, from the current position. */
ssize_t pb_read_full(int fd, void *buf, size_t len);
/* Writes all of buf, retrying on EINTR and short writes; 0 or -errno. */
int pb_write_full(int fd, const void *buf, size_t len);

#define PB_AT_EXECVE_CHECK 0x10000	/* linux/fcntl.h, 6.14 */

/*
 * execve's checks on an opened program or interpreter (open_exec): a regular
 * file, not on a noexec mount, executable by us, and allowed by the kernel's
 * exec policy (asked with AT_EXECVE_CHECK where the kernel has it). 0,
 * -EACCES with *ret_why set to the reason, or the fstat errno.
 */
int pb_check_exec_file(int fd, const char **ret_why);

/* A sigset_t as the builder and the plan take signal sets: bit n-1 for signal n (1 to 64). */
uint64_t pb_sigset_bits(const sigset_t *set);
