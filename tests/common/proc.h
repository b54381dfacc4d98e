/* SPDX-License-Identifier: MIT */
#pragma once
#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>

/* How many fds this process has open (from /proc/self/fd). */
int count_open_fds(void);
/* True if this process has no child left (not even a zombie). */
bool no_children(void);
/* The contents of a small file, malloc'd, or NULL. */
char *slurp(const char *path);
/* How many mounts this process's mount namespace has (lines of /proc/self/mountinfo). */
int mount_count(void);
/* rm -rf dir (asserted), then free(dir). */
void remove_tree(char *dir);
/* mkstemp(tmpl) holding len bytes with the given mode; tmpl becomes its path. 0 or -errno. */
int temp_file(char *tmpl, const void *bytes, size_t len, unsigned mode);

/*
 * Runs argv (envp NULL: ours) with no_new_privs and the seccomp filter prog,
 * its stderr into err (len bytes, NUL-terminated). Its wait status, or -1.
 * (run_cmd_filtered in tests/common/run.h keeps its stdout too.)
 */
int run_filtered(const struct sock_fprog *prog, char *const argv[], char *const envp[], char *err, size_t len);

/* A seccomp filter that answers system call nr with errno e and allows every other call. */
struct refusal {
	struct sock_filter insns[4];
	struct sock_fprog prog;
};
const struct sock_fprog *refusal(struct refusal *f, int nr, int e);
/* run_cmd_filtered under refusal(nr, e). */
struct run_result;
int run_refusing(int nr, int e, char *const argv[], char *const envp[], struct run_result *ret);
/* Installs refusal(nr, e) in this process, for good (with no_new_privs). 0 or -errno. */
int refuse_here(int nr, int e);
