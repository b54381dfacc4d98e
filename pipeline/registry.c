/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline.h"
#include "stages/args/args.h"
#include "stages/binfmt/binfmt.h"
#include "stages/interp/interp.h"
#include "stages/load/load.h"
#include "stages/parse/parse.h"
#include "stages/reserve/reserve.h"
#include "stages/script/script.h"
#include "stages/stack/stack.h"
#include "stages/vdso/vdso.h"

static int check_range(const char *v)
{
	uint64_t lo, hi;

	return strcmp(v, "none") == 0 ? 0 : pb_reserve_range(v, 4096, &lo, &hi);
}

int pb_registry_check_reserve_range(const char *range)
{
	return range ? check_range(range) : 0;
}

static const struct pb_opt_schema no_opts[] = {{0}};
static const char *const no_stages[] = {NULL};
static const struct pb_opt_schema parse_opts[] = {
	{"strict", PB_OPT_BOOL, NULL, NULL, "refuse what the kernel tolerates but no linker writes (default true)"},
	{0}};
static const struct pb_opt_schema interp_opts[] = {
	{"resolver", PB_OPT_STR, (const char *const[]){"auto", "host", "sysroot", "fd", "none", NULL}, NULL,
	 "how PT_INTERP is found (default auto)"},
	{"strict", PB_OPT_BOOL, NULL, NULL, "parse the interpreter strictly (default true)"},
	{0}};
static const struct pb_opt_schema reserve_opts[] = {
	{"range", PB_OPT_STR, NULL, check_range, "low-half, none, asan, tsan, msan or START-END in hex (default low-half)"},
	{"when", PB_OPT_STR, (const char *const[]){"dynamic", "always", NULL}, NULL,
	 "reserve for dynamic programs only, or always (default dynamic)"},
	{"keep", PB_OPT_BOOL, NULL, NULL, "hold the reservation until pb_start (default false)"},
	{0}};
static const struct pb_opt_schema vdso_opts[] = {
	{"policy", PB_OPT_STR, (const char *const[]){"system", "none", "custom", NULL}, NULL,
	 "the kernel's vDSO, none, or the caller's image (default system)"},
	{0}};
static const struct pb_opt_schema stack_opts[] = {
	{"placement", PB_OPT_STR, (const char *const[]){"auto", "kernel", "planned", NULL}, NULL,
	 "reuse the kernel's [stack], or place one (default auto)"},
	{0}};

static const struct pb_opt_schema binfmt_opts[] = {
	{"enabled", PB_OPT_BOOL, NULL, NULL, "use the binfmt_misc registrations (default true)"},
	{"dir", PB_OPT_STR, NULL, NULL, "the binfmt_misc directory to read (default " PB_BINFMT_DIR ")"},
	{0}};

static const struct pb_stage_def builtin[] = {
	{"binfmt", pb_stage_binfmt, "run files binfmt_misc registrations match through their interpreter", binfmt_opts,
	 (const char *const[]){NULL}, false},
	{"script", pb_stage_script, "run #! scripts through their interpreter, like binfmt_script", no_opts,
	 (const char *const[]){"binfmt", NULL}, false},
	{"parse", pb_stage_parse, "read and validate the ELF program", parse_opts,
	 (const char *const[]){"binfmt", "script", NULL}, true},
	{"interp", pb_stage_interp, "find and parse the PT_INTERP interpreter", interp_opts,
	 (const char *const[]){"parse", NULL}, false},
	{"reserve", pb_stage_reserve, "keep an address range free while placing (sanitizer shadow)", reserve_opts,
	 (const char *const[]){"parse", "interp", NULL}, false},
	{"load", pb_stage_load, "place and map PT_LOAD segments like load_elf_binary", no_opts,
	 (const char *const[]){"parse", "interp", "reserve", NULL}, true},
	{"vdso", pb_stage_vdso, "keep, remove or replace the vDSO", vdso_opts,
	 (const char *const[]){"load", NULL}, false},
	{"stack", pb_stage_stack, "place the initial stack", stack_opts,
	 (const char *const[]){"parse", "load", "vdso", NULL}, true},
	{"args", pb_stage_args, "write argc/argv/envp/auxv and strings as execve does", no_opts,
	 (const char *const[]){"load", "vdso", "stack", NULL}, true},
};

struct pb_registry *pb_registry_new(void)
{
	struct pb_registry *reg = calloc(1, sizeof(*reg));

	if (!reg)
		return NULL;
	memcpy(reg->defs, builtin, sizeof(builtin));
	reg->n = sizeof(builtin) / sizeof(builtin[0]);
	return reg;
}

void pb_registry_free(struct pb_registry *reg)
{
	if (!reg)
		return;
	for (size_t i = 0; i < reg->nplugins; i++)
		dlclose(reg->plugins[i]);
	free(reg);
}

const struct pb_stage_def *pb_registry_find(const struct pb_registry *reg, const char *name)
{
	for (size_t i = 0; i < reg->n; i++)
		if (strcmp(reg->defs[i].name, name) == 0)
			return &reg->defs[i];
	return NULL;
}

int pb_registry_add_def(struct pb_registry *reg, const struct pb_stage_def *def)
{
	struct pb_stage_def *slot;

	if (!reg || !def || !def->name || !def->name[0] || !def->run) /* checked before the name is looked up */
		return -EINVAL;
	slot = (struct pb_stage_def *)pb_registry_find(reg, def->name);
	if (!slot) {
		if (reg->n == PB_REGISTRY_MAX)
			return -E2BIG;
		slot = &reg->defs[reg->n++];
	}
	*slot = *def;
	if (!slot->opts)
		slot->opts = no_opts;
	if (!slot->after)
		slot->after = no_stages;
	return 0;
}

/*
 * dlopen searches the library path for a name without a slash (and would
 * find a system library of that name first): a plugin is a file, named
 * relative to the current directory, as the shell would take it.
 */
static void *open_plugin(const char *path)
{
	char rel[4096];

	if (strchr(path, '/'))
		return dlopen(path, RTLD_NOW | RTLD_LOCAL);
	snprintf(rel, sizeof(rel), "./%s", path);
	return dlopen(rel, RTLD_NOW | RTLD_LOCAL);
}

/* Before stage ABI versions, plugins carried 0x70620000 + sizeof(struct pb_ctx) of the core they copied. */
#define OLD_STAMP 0x70620000u
#define OLD_STAMP_MASK 0xffff0000u

/* Its pb_plugin_abi and pb_plugin_stages, checked; 0 or -EINVAL with err filled. */
static int plugin_symbols(void *h, const char *path, const struct pb_stage_def **ret_defs, struct pb_error *err)
{
	const unsigned *abi = dlsym(h, "pb_plugin_abi");
	const struct pb_stage_def *defs = dlsym(h, "pb_plugin_stages");

	if (!abi || !defs)
		return pb_err_set(err, "pipeline", PB_EINVAL, 0,
				  "plugin %s exports no pb_plugin_abi/pb_plugin_stages (visibility default?)", path);
	if ((*abi & OLD_STAMP_MASK) == OLD_STAMP)
		return pb_err_set(err, "pipeline", PB_EINVAL, 0,
				  "plugin %s carries the stamp %#x of a procbuilder before stage ABI versions (with its own "
				  "copy of core), this procbuilder %s has version %u; hint: rebuild it against "
				  "procbuilder/stage.h", path, *abi, PB_VERSION_STRING, PB_STAGE_ABI_VERSION);
	if (*abi != PB_STAGE_ABI_VERSION)
		return pb_err_set(err, "pipeline", PB_EINVAL, 0,
				  "plugin %s is built for stage ABI version %u, this procbuilder %s has version %u; "
				  "hint: rebuild it against this procbuilder/stage.h", path, *abi, PB_VERSION_STRING,
				  PB_STAGE_ABI_VERSION);
	*ret_defs = defs;
	return 0;
}

int pb_registry_load_plugin(struct pb_registry *reg, const char *path, struct pb_error *err)
{
	const struct pb_stage_def *defs = NULL;
	void *h;
	int r;

	if (reg->nplugins == PB_REGISTRY_MAX_PLUGINS)
		return pb_err_set(err, "pipeline", PB_EINVAL, 0, "more than %d plugins", PB_REGISTRY_MAX_PLUGINS);
	h = open_plugin(path);
	if (!h)
		return pb_err_set(err, "pipeline", PB_EINVAL, 0, "plugin %s: %s", path, dlerror());
	r = plugin_symbols(h, path, &defs, err);
	for (; r == 0 && defs->name; defs++)
		if (pb_registry_add_def(reg, defs) < 0)
			r = pb_err_set(err, "pipeline", PB_EINVAL, 0, "plugin %s: cannot add stage %s", path, defs->name);
	if (r < 0) {
		dlclose(h);
		return r;
	}
	reg->plugins[reg->nplugins++] = h;
	return 0;
}

static const char *type_name(enum pb_opt_type t)
{
	return t == PB_OPT_BOOL ? "bool" : t == PB_OPT_INT ? "int" : "string";
}

void pb_registry_print(const struct pb_registry *reg, FILE *f)
{
	for (size_t i = 0; i < reg->n; i++) {
		const struct pb_stage_def *d = &reg->defs[i];
		fprintf(f, "%-8s %s%s\n", d->name, d->summary ? d->summary : "", d->required ? " (required)" : "");
		for (const struct pb_opt_schema *o = d->opts; o && o->name; o++) {
			fprintf(f, "    %-10s %-6s", o->name, type_name(o->type));
			for (const char *const *v = o->values; v && *v; v++)
				fprintf(f, "%s%s", v == o->values ? " " : "|", *v);
			fprintf(f, "  %s\n", o->help ? o->help : "");
		}
	}
}

PB_API struct pb_registry *pb_registry_create(void)
{
	return pb_registry_new();
}

PB_API int pb_registry_add(struct pb_registry *reg, const struct pb_stage_def *def)
{
	return pb_registry_add_def(reg, def);
}

PB_API void pb_registry_destroy(struct pb_registry *reg)
{
	pb_registry_free(reg);
}
