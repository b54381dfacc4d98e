/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "procbuilder.h"
#include "cli/cli.h"

static const struct pb_cli_cmd commands[] = {
	{"run", "build a program from the outside, start it, wait for it", pb_cli_run, pb_cli_run_help},
	{"plan", "print the plan and initial stack for a program, creating nothing", pb_cli_plan, pb_cli_plan_help},
	{"inspect", "print the parsed ELF headers of a program", pb_cli_inspect, pb_cli_inspect_help},
	{"stages", "list the stages pipelines can name, with their options", pb_cli_stages, pb_cli_stages_help},
	{"check", "validate pipeline files", pb_cli_check, pb_cli_check_help},
};

void pb_cli_error(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "procbuilder: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int pb_cli_bad_option(const char *cmd, int c, char *const *argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		pb_cli_error(cmd, "option '%s' needs a value", arg);
	else if (optopt && strncmp(arg, "--", 2) != 0)
		pb_cli_error(cmd, "unknown option '-%c'", optopt);
	else
		pb_cli_error(cmd, "unknown option '%s'", arg);
	fprintf(stderr, "Try 'procbuilder %s --help'.\n", cmd);
	return PB_EXIT_USAGE;
}

int pb_cli_exit_of(const struct pb_error *err)
{
	if (err->code == PB_ESYS && err->sys_errno == ENOENT)
		return PB_EXIT_NOT_FOUND;
	if (err->code == PB_ESYS && err->sys_errno == ELOOP) /* #! interpreters nested too deep */
		return PB_EXIT_CANNOT_EXEC;
	return err->code == PB_EACCES || err->code == PB_EPARSE ? PB_EXIT_CANNOT_EXEC : PB_EXIT_ERROR;
}

int pb_cli_is_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static void usage(FILE *f)
{
	fputs("Usage: procbuilder COMMAND [OPTIONS] [ARGS...]\n"
	      "Build a Linux process from the outside, stage by stage.\n\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\n  help COMMAND  show the help of a command\n"
	      "\nOptions: --help, --version.  'procbuilder COMMAND --help' for more.\n", f);
}

static const struct pb_cli_cmd *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static char errbuf[BUFSIZ];
	const struct pb_cli_cmd *cmd;

	/*
	 * glibc formats into an 8 KiB buffer on the stack for an unbuffered
	 * stream: a line-buffered stderr keeps our one-line errors within a
	 * 16 KiB stack (every line ends with a newline, so nothing waits).
	 */
	setvbuf(stderr, errbuf, _IOLBF, sizeof(errbuf));

	if (argc < 2) {
		usage(stderr);
		return PB_EXIT_USAGE;
	}
	if (pb_cli_is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("procbuilder %s\n", pb_version());
		return 0;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			usage(stdout);
			return 0;
		}
		cmd = find_command(argv[2]);
		if (!cmd) {
			pb_cli_error("help", "unknown command '%s'", argv[2]);
			return PB_EXIT_USAGE;
		}
		cmd->help(stdout);
		return 0;
	}
	cmd = find_command(argv[1]);
	if (!cmd) {
		pb_cli_error(argv[1], "unknown command (try 'procbuilder --help')");
		return PB_EXIT_USAGE;
	}
	if (argc == 3 && strcmp(argv[2], "--version") == 0) { /* every command answers it */
		printf("procbuilder %s\n", pb_version());
		return 0;
	}
	opterr = 0; /* pb_cli_bad_option says it, naming the command */
	return cmd->main(argc - 1, argv + 1);
}
