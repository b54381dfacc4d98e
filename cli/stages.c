/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "pipeline/pipeline.h"

void pb_cli_stages_help(FILE *f)
{
	fputs("Usage: procbuilder stages [--plugin PATH.so]...\n"
	      "List the stages a pipeline can name, with their options; --plugin adds a\n"
	      "plugin's stages to the list (loading it runs its code). PATH is relative to\n"
	      "the current directory, a name without a slash too (the library path is not\n"
	      "searched).\n\n"
	      "      --plugin PATH.so  add this plugin's stages (repeatable; --plugin=PATH too)\n"
	      "  -h, --help            show this help\n"
	      "      --version         print procbuilder's version\n\n"
	      "Exit status: 0; 125 if a plugin cannot be loaded; 2 on a usage error.\n", f);
}

void pb_cli_check_help(FILE *f)
{
	fputs("Usage: procbuilder check [--plugins] PIPELINE.yaml...\n"
	      "Validate pipeline files without running anything: YAML syntax, known stages\n"
	      "and options, option types and values, stage order, required stages.\n"
	      "Errors are 'FILE:LINE:COLUMN: message; hint: ...' on stderr.\n\n"
	      "A plugin is code: loading one runs it (its constructors at once), so none is\n"
	      "loaded without --plugins. Then each plugins: entry must name a regular file,\n"
	      "and it and every stage that is not built in (a plugin may provide it) are\n"
	      "noted as not checked: 'FILE:LINE:COLUMN: note: ...' on stderr.\n\n"
	      "      --plugins   load the plugins the files name, running their code, and\n"
	      "                  check the stages and options they add too\n"
	      "  -h, --help      show this help\n\n"
	      "Exit status: 0 if every file is valid and was fully checked; 1 if none is\n"
	      "invalid but some name plugins, which were not loaded, so what those provide\n"
	      "was not checked (--plugins checks it); 2 if a file is invalid or on a usage\n"
	      "error.\n", f);
}

int pb_cli_stages(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"plugin", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct pb_registry *reg = pb_registry_new();
	struct pb_error err;
	int c, ret = 0;

	while (reg && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (pb_registry_load_plugin(reg, optarg, &err) < 0) {
				pb_cli_error("stages", "%s", err.msg);
				ret = PB_EXIT_ERROR;
				goto out;
			}
			break;
		case 'h': pb_cli_stages_help(stdout); goto out;
		default: ret = pb_cli_bad_option("stages", c, argv); goto out;
		}
	}
	if (reg && optind < argc) {
		pb_cli_error("stages", "unexpected argument '%s' (try 'procbuilder stages --help')", argv[optind]);
		ret = PB_EXIT_USAGE;
		goto out;
	}
	if (reg)
		pb_registry_print(reg, stdout);
out:
	pb_registry_free(reg);
	return ret;
}

/* check's status for a file that is valid as far as it was checked without its plugins */
#define PB_EXIT_UNCHECKED 1
/* and for an invalid one (its documented status, the same as a usage error's) */
#define PB_EXIT_INVALID 2

/* Says on stderr what was not checked in p, loaded without its plugins; true if there is anything. */
static bool note_unchecked(const struct pb_pipeline *p)
{
	const struct pb_pipeline_mention *m;

	for (size_t i = 0; i < p->nskipped_plugins; i++) {
		m = &p->skipped_plugins[i];
		fprintf(stderr, "%s:%u:%u: note: plugin %s not loaded (--plugins loads it): what it provides is not checked\n",
			p->file, m->line, m->col, m->name);
	}
	for (size_t i = 0; i < p->nunchecked_stages; i++) {
		m = &p->unchecked_stages[i];
		if (p->nskipped_plugins == 1)
			fprintf(stderr, "%s:%u:%u: note: stage '%s' is not built in, so plugin %s must provide it: "
				"not loaded, not checked (--plugins loads it)\n", p->file, m->line, m->col, m->name,
				p->skipped_plugins[0].name);
		else
			fprintf(stderr, "%s:%u:%u: note: stage '%s' is not built in, so one of the %zu plugins must "
				"provide it: not loaded, not checked (--plugins loads them)\n", p->file, m->line, m->col,
				m->name, p->nskipped_plugins);
	}
	return p->nskipped_plugins > 0;
}

/* Checks one file: 0, PB_EXIT_UNCHECKED or PB_EXIT_INVALID, after saying which. */
static int check_file(const char *path, bool plugins)
{
	struct pb_pipeline *p;
	struct pb_error err;
	int ret = 0;

	if (pb_pipeline_load_file(path, NULL, plugins ? 0 : PB_PIPELINE_SKIP_PLUGINS, &p, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return PB_EXIT_INVALID;
	}
	if (note_unchecked(p)) {
		printf("%s: valid as far as checked without plugins (pipeline %s, %zu stages checked, %zu not)\n",
		       path, p->name, p->n, p->nunchecked_stages);
		ret = PB_EXIT_UNCHECKED;
	} else {
		printf("%s: ok (pipeline %s, %zu stages)\n", path, p->name, p->n);
	}
	pb_pipeline_free(p);
	return ret;
}

int pb_cli_check(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"plugins", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bool plugins = false;
	int c, ret = 0;

	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': plugins = true; break;
		case 'h': pb_cli_check_help(stdout); return 0;
		default: return pb_cli_bad_option("check", c, argv);
		}
	}
	if (optind == argc) {
		pb_cli_check_help(stderr);
		return PB_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		int r = check_file(argv[i], plugins);
		ret = r > ret ? r : ret;
	}
	return ret;
}
