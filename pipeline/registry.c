/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "pipeline/pipeline.h"
#include "stages/args/args.h"
#include "stages/interp/interp.h"
#include "stages/load/load.h"
#include "stages/parse/parse.h"
#include "stages/reserve/reserve.h"
#include "stages/script/script.h"
#include "stages/stack/stack.h"
#include "stages/vdso/vdso.h"

static const struct pb_stage_def registry[] = {
	{"script", pb_stage_script, "run #! scripts through their interpreter, like binfmt_script"},
	{"parse", pb_stage_parse, "read and validate the ELF program"},
	{"interp", pb_stage_interp, "find and parse the PT_INTERP interpreter"},
	{"reserve", pb_stage_reserve, "keep an address range free while placing (sanitizer shadow)"},
	{"load", pb_stage_load, "place and map PT_LOAD segments like load_elf_binary"},
	{"vdso", pb_stage_vdso, "keep, remove or replace the vDSO"},
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
