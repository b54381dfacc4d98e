/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdio.h>

/* Exit statuses of the CLI's own failures (run passes the program's through). */
#define PB_EXIT_USAGE 2
#define PB_EXIT_ERROR 2

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
/* True if argv[i] asks for help. */
int pb_cli_is_help(const char *arg);
