/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "pipeline/pipeline.h"

void pb_cli_stages_help(FILE *f)
{
	fputs("Usage: procbuilder stages [--plugin PATH.so]...\n"
	      "List the stages a pipeline can name, with their options; --plugin adds a\n"
	      "plugin's stages to the list.\n", f);
}

void pb_cli_check_help(FILE *f)
{
	fputs("Usage: procbuilder check PIPELINE.yaml...\n"
	      "Validate pipeline files without running anything: YAML syntax, known stages\n"
	      "and options, option types and values, stage order, required stages, plugins.\n"
	      "Errors are 'FILE:LINE:COLUMN: message; hint: ...' on stderr.\n"
	      "Exit status: 0 if every file is valid, 2 otherwise.\n", f);
}

int pb_cli_stages(int argc, char **argv)
{
	struct pb_registry *reg = pb_registry_new();
	struct pb_error err;
	int ret = 0;

	for (int i = 1; i < argc && reg; i++) {
		if (pb_cli_is_help(argv[i])) {
			pb_cli_stages_help(stdout);
			goto out;
		}
		if (strcmp(argv[i], "--plugin") != 0 || i + 1 == argc) {
			pb_cli_stages_help(stderr);
			ret = PB_EXIT_USAGE;
			goto out;
		}
		if (pb_registry_load_plugin(reg, argv[++i], &err) < 0) {
			pb_cli_error("stages", "%s", err.msg);
			ret = PB_EXIT_ERROR;
			goto out;
		}
	}
	if (reg)
		pb_registry_print(reg, stdout);
out:
	pb_registry_free(reg);
	return ret;
}

int pb_cli_check(int argc, char **argv)
{
	struct pb_pipeline *p;
	struct pb_error err;
	int ret = 0;

	if (argc < 2) {
		pb_cli_check_help(stderr);
		return PB_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		if (pb_cli_is_help(argv[i])) {
			pb_cli_check_help(stdout);
			return 0;
		}
		if (pb_pipeline_load_file(argv[i], NULL, 0, &p, &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			ret = PB_EXIT_ERROR;
			continue;
		}
		printf("%s: ok (pipeline %s, %zu stages)\n", argv[i], p->name, p->n);
		pb_pipeline_free(p);
	}
	return ret;
}
