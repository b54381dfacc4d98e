/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * A raw system call, for code that may not touch libc: the stub, and the
 * clone child that shares the parent's memory until it execs.
 * Returns the kernel's value (negative errno on failure).
 */
static inline __attribute__((always_inline)) long pb_raw_syscall(long n, long a, long b, long c,
								   long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* For code the clone child runs in its parent's memory: no sanitizer instrumentation. */
#define PB_NO_SANITIZE __attribute__((no_sanitize("address", "undefined")))
