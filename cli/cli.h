/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdio.h>

/*
 * Exit statuses of the CLI's own failures (run passes the program's
 * through), as env, timeout and the shells give them: a usage error 2, a
 * program (or its interpreter) not found 127, one that cannot be executed
 * 126, procbuilder's own failure 125.
 */
#define PB_EXIT_USAGE 2
#define PB_EXIT_ERROR 125
#define PB_EXIT_CANNOT_EXEC 126
#define PB_EXIT_NOT_FOUND 127

struct pb_cli_cmd {
	const char *name;
	const char *summary;
	int (*main)(int argc, char **argv);
	void (*help)(FILE *f);
};

int pb_cli_inspect(int argc, char **argv);
void pb_cli_inspect_help(FILE *f);
int pb_cli_run(int argc, char **argv);
void pb_cli_run_help(FILE *f);
int pb_cli_plan(int argc, char **argv);
void pb_cli_plan_help(FILE *f);
int pb_cli_stages(int argc, char **argv);
void pb_cli_stages_help(FILE *f);
int pb_cli_check(int argc, char **argv);
void pb_cli_check_help(FILE *f);

/* Prints "procbuilder: <what>: <msg>" to stderr. */
void pb_cli_error(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * After getopt_long (opterr 0, optstring starting ":" or "+:") returned c,
 * '?' or ':': one line naming the option, one hint line; PB_EXIT_USAGE.
 */
int pb_cli_bad_option(const char *cmd, int c, char *const *argv);
/*
 * The status for a failed build, as a shell gives it for the same file: 127
 * when execve would say ENOENT (a missing interpreter), 126 when the file
 * cannot be run (no format, no permission, a refused privilege, ELOOP), 125
 * for procbuilder's own failure.
 */
struct pb_error;
int pb_cli_exit_of(const struct pb_error *err);
/* True if argv[i] asks for help. */
int pb_cli_is_help(const char *arg);
