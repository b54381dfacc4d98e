/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "pipeline/pipeline.h"
#include "stages/args/args.h"
#include "stages/load/load.h"
#include "stages/parse/parse.h"
#include "stages/stack/stack.h"

static const struct pb_stage_def registry[] = {
	{"parse", pb_stage_parse, "read and validate the ELF program"},
	{"load", pb_stage_load, "place and map PT_LOAD segments like load_elf_binary"},
	{"stack", pb_stage_stack, "place the initial stack"},
	{"args", pb_stage_args, "write argc/argv/envp/auxv and strings as execve does"},
};

const struct pb_stage_def *pb_registry_find(const char *name)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++)
		if (strcmp(registry[i].name, name) == 0)
			return &registry[i];
	return NULL;
}

const struct pb_stage_def *pb_registry_list(size_t *ret_n)
{
	*ret_n = sizeof(registry) / sizeof(registry[0]);
	return registry;
}
