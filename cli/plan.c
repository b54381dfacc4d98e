/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/launch.h"
#include "cli/map.h"
#include "core/json.h"
#include "pipeline/pipeline.h"

void pb_cli_plan_help(FILE *f)
{
	fputs("Usage: procbuilder plan [OPTIONS] [--] PROG [ARGS...]\n"
	      "Run the default pipeline for PROG and print the plan and the initial stack,\n"
	      "without creating any process. A fresh address space is modelled (kernel-like\n"
	      "mmap_base and vDSO, this process's auxv keys), so addresses are illustrative;\n"
	      "with --seed the plan is the same on every run.\n\n"
	      "  -e, --env NAME=VALUE      set a variable (repeatable)\n"
	      "  -i, --ignore-environment  start with an empty environment\n"
	      "  -u, --unset NAME          remove NAME from the environment (repeatable; in order\n"
	      "                            with -e and -i, as env applies them)\n"
	      "      --argv0 NAME          argv[0] for the program\n"
	      "      --seed N              deterministic addresses and AT_RANDOM\n"
	      "      --json                one JSON object\n"
	      "      --map[=text|svg]      instead, the address space the program will start in:\n"
	      "                            a table like /proc/PID/maps (text), or an SVG drawing\n"
	      "                            of it, [stack], [vvar] and [vdso] included\n"
	      "                            (columns: START-END PERM SIZE KIND STAGE OBJECT NOTE;\n"
	      "                            KIND is kernel, file, anon, stack, reserve or kept)\n", f);
	fputs(pb_launch_build_help, f);
	fputs("  (--fd, --listen, --ns, --cgroup, --no-ptrace, --spawn, --stopped, --gdb, --close-fds and\n"
	      "   the process attributes --chdir, --umask, --nice, --rlimit, --setsid, --no-new-privs,\n"
	      "   --default-signal, --cpu-list, the ids and capabilities (--ruid ... --bounding-set)\n"
	      "   are run's: plan makes no process)\n", f);
	fputs(
	      "  -h, --help                show this help\n"
	      "      --version             print procbuilder's version\n\n"
	      "Exit status: 0; 126 if PROG cannot be run, 127 if it (or its interpreter) is\n"
	      "not found, as run gives them; 125 if a stage fails for another reason (the\n"
	      "error names it); 2 on a usage error.\n", f);
}

static const char *at_name(uint64_t id)
{
	static const char *const names[] = {
		[AT_NULL] = "AT_NULL", [AT_EXECFD] = "AT_EXECFD", [AT_PHDR] = "AT_PHDR",
		[AT_PHENT] = "AT_PHENT", [AT_PHNUM] = "AT_PHNUM", [AT_PAGESZ] = "AT_PAGESZ",
		[AT_BASE] = "AT_BASE", [AT_FLAGS] = "AT_FLAGS", [AT_ENTRY] = "AT_ENTRY",
		[AT_UID] = "AT_UID", [AT_EUID] = "AT_EUID", [AT_GID] = "AT_GID",
		[AT_EGID] = "AT_EGID", [AT_PLATFORM] = "AT_PLATFORM", [AT_HWCAP] = "AT_HWCAP",
		[AT_CLKTCK] = "AT_CLKTCK", [AT_SECURE] = "AT_SECURE", [AT_RANDOM] = "AT_RANDOM",
		[AT_HWCAP2] = "AT_HWCAP2", [27] = "AT_RSEQ_FEATURE_SIZE", [28] = "AT_RSEQ_ALIGN",
		[AT_EXECFN] = "AT_EXECFN", [AT_SYSINFO_EHDR] = "AT_SYSINFO_EHDR",
		[51] = "AT_MINSIGSTKSZ",
	};
	return id < sizeof(names) / sizeof(names[0]) && names[id] ? names[id] : "AT_?";
}

static void print_stack(const struct pb_ctx *ctx, bool json)
{
	const uint64_t *aux = NULL;
	size_t n = ctx->mm.auxv_size / 16;

	for (size_t i = 0; i < ctx->plan.nsteps; i++) {
		const struct pb_step *s = &ctx->plan.steps[i];
		if (s->kind == PB_STEP_WRITE && s->addr == ctx->sp)
			aux = (const uint64_t *)(ctx->plan.data + s->off + (ctx->mm.auxv - ctx->sp));
	}
	if (json) {
		printf(",\"stack\":{\"top\":%llu,\"rsp\":%llu,\"argc\":%zu,\"envc\":%zu,\"auxv\":[",
		       (unsigned long long)ctx->stack_top, (unsigned long long)ctx->sp,
		       ctx->argc ? ctx->argc : 1, ctx->envc);
		for (size_t i = 0; aux && i < n; i++)
			printf("%s{\"id\":%llu,\"name\":\"%s\",\"value\":%llu}", i ? "," : "",
			       (unsigned long long)aux[2 * i], at_name(aux[2 * i]),
			       (unsigned long long)aux[2 * i + 1]);
		printf("]},\"mm\":{\"start_code\":%llu,\"end_code\":%llu,\"start_data\":%llu,\"end_data\":%llu,"
		       "\"start_brk\":%llu,\"brk\":%llu,\"start_stack\":%llu,\"arg_start\":%llu,\"arg_end\":%llu,"
		       "\"env_start\":%llu,\"env_end\":%llu,\"auxv\":%llu,\"auxv_size\":%llu}",
		       (unsigned long long)ctx->mm.start_code, (unsigned long long)ctx->mm.end_code,
		       (unsigned long long)ctx->mm.start_data, (unsigned long long)ctx->mm.end_data,
		       (unsigned long long)ctx->mm.start_brk, (unsigned long long)ctx->mm.brk,
		       (unsigned long long)ctx->mm.start_stack, (unsigned long long)ctx->mm.arg_start,
		       (unsigned long long)ctx->mm.arg_end, (unsigned long long)ctx->mm.env_start,
		       (unsigned long long)ctx->mm.env_end, (unsigned long long)ctx->mm.auxv,
		       (unsigned long long)ctx->mm.auxv_size);
		return;
	}
	printf("stack: top 0x%llx, rsp 0x%llx (%llu bytes), argc %zu, envc %zu\n",
	       (unsigned long long)ctx->stack_top, (unsigned long long)ctx->sp,
	       (unsigned long long)(ctx->stack_top - ctx->sp), ctx->argc ? ctx->argc : 1, ctx->envc);
	printf("mm: code 0x%llx-0x%llx data 0x%llx-0x%llx brk 0x%llx args 0x%llx-0x%llx env 0x%llx-0x%llx\n",
	       (unsigned long long)ctx->mm.start_code, (unsigned long long)ctx->mm.end_code,
	       (unsigned long long)ctx->mm.start_data, (unsigned long long)ctx->mm.end_data,
	       (unsigned long long)ctx->mm.start_brk, (unsigned long long)ctx->mm.arg_start,
	       (unsigned long long)ctx->mm.arg_end, (unsigned long long)ctx->mm.env_start,
	       (unsigned long long)ctx->mm.env_end);
	for (size_t i = 0; aux && i < n; i++)
		printf("  %-22s 0x%llx\n", at_name(aux[2 * i]), (unsigned long long)aux[2 * i + 1]);
}

/* The address space the plan leaves, from the host model it was made against. 0 or -ENOMEM. */
static int print_map(const struct pb_ctx *ctx, bool svg)
{
	struct pb_region_map map = {0};
	int r = pb_region_map_build(&map, &ctx->plan, &ctx->host);

	if (r == 0 && svg)
		pb_region_map_print_svg(&map, &ctx->plan, stdout);
	else if (r == 0)
		pb_region_map_print_text(&map, &ctx->plan, stdout);
	pb_region_map_free(&map);
	return r;
}

/* No process: the plan is for a model of a fresh one, drawn from ctx's rng. */
static void model_fresh_process(struct pb_ctx *ctx)
{
	pb_aspace_init(&ctx->as);
	pb_host_model_fresh(&ctx->host, &ctx->rng);
	pb_ctx_set_host(ctx, &ctx->host, "anonymous");
}

/* The build options, straight into the context (there is no builder here). */
static int apply_build_opts(const struct pb_launch_opts *o, struct pb_ctx *ctx, int fds[2])
{
	if (pb_launch_open_files(o, "plan", fds) < 0)
		return -1;
	if (fds[0] >= 0) {
		ctx->interp_resolver = o->interp ? "fd" : "sysroot";
		*(o->interp ? &ctx->interp_override_fd : &ctx->sysroot_fd) = fds[0];
	}
	if (o->vdso) {
		ctx->vdso_policy = fds[1] >= 0 ? "custom" : o->vdso;
		ctx->vdso_fd = fds[1];
	}
	ctx->reserve_range = o->reserve;
	if (o->keep_reservation)
		ctx->reserve_keep = 1;
	return 0;
}

int pb_cli_plan(int argc, char **argv)
{
	int opt_fds[2] = {-1, -1};
	struct pb_launch_opts o;
	struct pb_pipeline *pipe = NULL;
	struct pb_ctx *ctx = NULL;
	char **pargv = NULL;
	int fd = -1, r, ret = PB_EXIT_ERROR;

	r = pb_launch_parse(argc, argv, "plan", true, pb_cli_plan_help, &o);
	if (r != 0) {
		pb_launch_opts_free(&o);
		return r == 1 ? 0 : r;
	}
	if (o.map && o.json) {
		pb_cli_error("plan", "--map and --json are two different outputs; give one");
		pb_launch_opts_free(&o);
		return PB_EXIT_USAGE;
	}
	if (o.nfd_specs || o.nlisten_specs || o.cgroup || o.no_ptrace || o.spawn || o.close_fds || o.nns_specs ||
	    o.attrs_given) {
		pb_cli_error("plan", "--fd, --listen, --ns, --cgroup, --no-ptrace, --spawn, --stopped, --gdb, "
			     "--close-fds and the process attributes (--chdir, --umask, --nice, --rlimit, --setsid, "
			     "--no-new-privs, the ids and capabilities) need a process; "
			     "plan makes none (use run)");
		pb_launch_opts_free(&o);
		return PB_EXIT_USAGE;
	}
	pargv = pb_launch_argv(&o);
	ctx = malloc(sizeof(*ctx));
	fd = open(o.path, O_RDONLY | O_CLOEXEC);
	if (!pargv || !ctx || fd < 0) {
		pb_cli_error("plan", "%s: %s", o.path, strerror(errno));
		ret = 126;
		goto out;
	}
	pb_ctx_init(ctx);
	if (o.seeded)
		pb_rng_seed(&ctx->rng, o.seed);
	model_fresh_process(ctx);
	ctx->exec_fd = fd;
	ctx->exec_name = ctx->execfn = ctx->exec_path = o.path;
	ctx->comm = o.path;
	ctx->argv = pargv;
	ctx->argc = (size_t)o.nargs;
	ctx->envp = o.env;
	ctx->envc = o.envc;
	if (apply_build_opts(&o, ctx, opt_fds) < 0)
		goto out_clear;
	r = pb_launch_pipeline(&o, &pipe, "plan");
	if (r < 0)
		goto out_clear;
	if (pipe->seeded && !o.seeded) { /* the model of a fresh process is drawn from the seed too */
		pb_rng_seed(&ctx->rng, pipe->seed);
		model_fresh_process(ctx);
	}
	r = pb_pipeline_run(pipe, ctx, (enum pb_trace)o.trace, NULL) /* stderr, or the trace file */;
	if (r < 0) {
		pb_cli_error(ctx->err.stage, "%s", ctx->err.msg);
		ret = pb_cli_exit_of(&ctx->err);
		goto out_clear;
	}
	if (o.map) {
		r = print_map(ctx, o.map == 2);
		if (r < 0) {
			pb_cli_error("plan", "--map: %s", strerror(-r));
			goto out_clear;
		}
	} else if (o.json) {
		fputc('{', stdout);
		pb_json_format(stdout, "plan", PB_JSON_PLAN_VERSION);
		fputs(",\"plan\":", stdout);
		pb_plan_print_json(&ctx->plan, stdout);
		print_stack(ctx, true);
		fputs("}\n", stdout);
	} else {
		pb_plan_print_text(&ctx->plan, stdout);
		print_stack(ctx, false);
	}
	ret = 0;
out_clear:
	pb_pipeline_free(pipe);
	pb_ctx_clear(ctx);
out:
	for (int i = 0; i < 2; i++)
		if (opt_fds[i] >= 0)
			close(opt_fds[i]);
	free(ctx);
	free(pargv);
	if (fd >= 0)
		close(fd);
	pb_launch_opts_free(&o);
	return ret;
}
