/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * Marking the caller's fds close-on-exec before an exec, also where
 * close_range is refused (launch/fdclose.c): for the spawn child and for
 * run --close-fds.
 */

/*
 * Marks every fd numbered lowfd or more close-on-exec: close_range with
 * CLOSE_RANGE_CLOEXEC; where that is refused (ENOSYS or EPERM from a seccomp
 * filter, EINVAL before Linux 5.11), each fd /proc/self/fd lists; without
 * /proc, every number below fs.nr_open (read then; the kernel's default
 * 1048576 if /proc/sys cannot say; not RLIMIT_NOFILE, which may have been
 * lowered after fds were opened). Raw system calls only, no allocation:
 * async-signal-safe and usable in a vfork child. 0, or the negative errno of
 * an fd it could not mark: then nothing may exec, or the fd leaks.
 */
int pb_cloexec_from(int lowfd);
