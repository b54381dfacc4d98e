/* SPDX-License-Identifier: MIT */
#pragma once
#include <spawn.h>
#include <stddef.h>

/* What a finished command printed and how it ended. */
struct run_result {
	int exit_code;		/* exit status, or -1 if killed */
	int signal;		/* the signal that killed it, or 0 */
	int status;		/* its wait status */
	char *out, *err;	/* NUL-terminated, malloc'd */
	size_t out_len, err_len;
};

/*
 * Runs argv (looked up in PATH) with envp (NULL: inherit), fds 3 and up closed, stdin from
 * /dev/null, and collects stdout and stderr. Returns 0 or -errno.
 */
int run_cmd(char *const argv[], char *const envp[], struct run_result *ret);
/*
 * Runs argv[0] (a path) with envp (NULL: inherit) under no_new_privs and the seccomp
 * filter prog (NULL: none), stdin from /dev/null, and collects stdout and stderr.
 * Every other fd not marked close-on-exec is inherited, as a shell's command
 * inherits its redirections. Returns 0 or -errno; a failed set-up is exit code 99.
 */
struct sock_fprog;
int run_cmd_filtered(const struct sock_fprog *prog, char *const argv[], char *const envp[], struct run_result *ret);
void run_result_free(struct run_result *r);
/*
 * posix_spawn of argv[0] with attr and envp, its stdout into buf (at most
 * len - 1 bytes, NUL-terminated): the reference a test compares with.
 * 0 if it exited 0, else -1.
 */
int spawn_stdout(const posix_spawnattr_t *attr, char *const argv[], char *const envp[], char *buf, size_t len);
/*
 * Starts argv (procbuilder run --stopped ...; argv[0] a path) with envp and
 * returns its pid once it has said "procbuilder: process N is stopped": N in
 * *ret_prog (0 if it never said so, its stderr then in err[len]).
 */
int start_held(char *const argv[], char *const envp[], int *ret_prog, char *err, size_t len);
