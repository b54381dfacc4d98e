/* SPDX-License-Identifier: MIT */
/*
 * DOC: pipeline files (docs/pipeline.md). A YAML mapping:
 *   pipeline: NAME
 *   plugins: [PATH.so, ...]        (relative to the file; loaded, refused or skipped by the flags)
 *   stages: [NAME | {NAME: {OPTION: VALUE, trace: text|json|false}}, ...]
 *   trace: false | text | json
 *   trace_file: PATH               (default stderr)
 *   seed: N                        (deterministic addresses)
 *   hold: false | true             (hand the process over stopped, for a debugger)
 * libyaml's document loader resolves anchors and aliases; every error
 * carries the node's line and column.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "pipeline/pipeline.h"

struct loader {
	yaml_document_t doc;
	const char *file;
	char dir[256];
	struct pb_pipeline *p;
	struct pb_error *err;
	uint64_t flags;		/* PB_PIPELINE_NO_PLUGINS, PB_PIPELINE_SKIP_PLUGINS */
};

static int fail_at(struct loader *l, const yaml_node_t *n, const char *fmt, ...) PB_PRINTF(3, 4);
static int fail_at(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return pb_err_set(l->err, "pipeline", PB_EINVAL, 0, "%s:%lu:%lu: %s", l->file,
			  (unsigned long)(n ? n->start_mark.line + 1 : 0),
			  (unsigned long)(n ? n->start_mark.column + 1 : 0), msg);
}

static yaml_node_t *node(struct loader *l, yaml_node_item_t i)
{
	return yaml_document_get_node(&l->doc, i);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int parse_bool(const char *s, bool *ret)
{
	static const char *const t[] = {"true", "yes", "on", "True", "TRUE", NULL};
	static const char *const f[] = {"false", "no", "off", "False", "FALSE", NULL};

	for (int i = 0; t[i]; i++)
		if (strcmp(s, t[i]) == 0)
			return *ret = true, 0;
	for (int i = 0; f[i]; i++)
		if (strcmp(s, f[i]) == 0)
			return *ret = false, 0;
	return -EINVAL;
}

static int parse_int(const char *s, int64_t *ret)
{
	char *end;

	errno = 0;
	*ret = strtoll(s, &end, 0);
	return errno || !*s || *end ? -EINVAL : 0;
}

static int keep_string(struct loader *l, const char *s, const char **ret)
{
	char **v = realloc(l->p->strings, (l->p->nstrings + 1) * sizeof(char *));

	if (!v)
		return -ENOMEM;
	l->p->strings = v;
	v[l->p->nstrings] = strdup(s);
	if (!v[l->p->nstrings])
		return -ENOMEM;
	*ret = v[l->p->nstrings++];
	return 0;
}

static int parse_trace(struct loader *l, const yaml_node_t *n, int *ret)
{
	const char *s = scalar(n);
	bool b;

	if (s && strcmp(s, "text") == 0)
		*ret = PB_TRACE_TEXT;
	else if (s && strcmp(s, "json") == 0)
		*ret = PB_TRACE_JSON;
	else if (s && parse_bool(s, &b) == 0 && !b)
		*ret = PB_TRACE_OFF;
	else if (s && parse_bool(s, &b) == 0)
		*ret = PB_TRACE_TEXT;
	else
		return fail_at(l, n, "trace must be false, text or json; hint: trace: json");
	return 0;
}

static const char *values_list(const struct pb_opt_schema *o, char *buf, size_t len)
{
	buf[0] = 0;
	for (const char *const *v = o->values; v && *v; v++) {
		strlcat(buf, v == o->values ? "" : ", ", len);
		strlcat(buf, *v, len);
	}
	return buf;
}

static int parse_option(struct loader *l, struct pb_pipeline_stage *st, const yaml_node_t *kn,
			const yaml_node_t *vn)
{
	const char *key = scalar(kn), *val = scalar(vn);
	const struct pb_opt_schema *o;
	struct pb_opt *opt;
	char buf[160];

	if (!key)
		return fail_at(l, kn, "an option name must be a plain word");
	if (strcmp(key, "trace") == 0)
		return parse_trace(l, vn, &st->trace);
	for (o = st->def->opts; o && o->name && strcmp(o->name, key) != 0; o++)
		;
	if (!o || !o->name) {
		buf[0] = 0;
		for (o = st->def->opts; o && o->name; o++) {
			strlcat(buf, o == st->def->opts ? "" : ", ", sizeof(buf));
			strlcat(buf, o->name, sizeof(buf));
		}
		return fail_at(l, kn, "stage %s has no option '%s'; hint: its options are: %s", st->def->name, key,
			       buf[0] ? buf : "(none), and trace");
	}
	if (st->opts.n == PB_STAGE_MAX_OPTS)
		return fail_at(l, kn, "too many options");
	if (!val)
		return fail_at(l, vn, "option %s wants a %s value, not a list or mapping", key,
			       o->type == PB_OPT_BOOL ? "true/false" : o->type == PB_OPT_INT ? "number" : "string");
	opt = &st->opt[st->opts.n];
	opt->key = o->name;
	opt->type = o->type;
	if (o->type == PB_OPT_BOOL && parse_bool(val, &opt->b) < 0)
		return fail_at(l, vn, "option %s wants true or false, not '%s'", key, val);
	if (o->type == PB_OPT_INT && parse_int(val, &opt->i) < 0)
		return fail_at(l, vn, "option %s wants a number, not '%s'", key, val);
	if (o->type == PB_OPT_STR) {
		bool ok = !o->values;
		for (const char *const *v = o->values; v && *v; v++)
			ok |= strcmp(*v, val) == 0;
		if (!ok)
			return fail_at(l, vn, "option %s must be one of %s, not '%s'", key,
				       values_list(o, buf, sizeof(buf)), val);
		if (o->check && o->check(val) < 0)
			return fail_at(l, vn, "option %s: '%s' is not valid; hint: %s", key, val, o->help);
		if (keep_string(l, val, &opt->s) < 0)
			return fail_at(l, vn, "out of memory");
	}
	st->opts.n++;
	return 0;
}

static int mention(struct loader *l, const yaml_node_t *n, const char *name, struct pb_pipeline_mention *ret)
{
	if (keep_string(l, name, &ret->name) < 0)
		return fail_at(l, n, "out of memory");
	ret->line = (unsigned)n->start_mark.line + 1;
	ret->col = (unsigned)n->start_mark.column + 1;
	return 0;
}

/* Loaded without its plugins (check): a stage no one defines may be a plugin's, so it is noted, not refused. */
static int unchecked_stage(struct loader *l, const yaml_node_t *n, const char *name)
{
	struct pb_pipeline *p = l->p;

	for (size_t i = 0; i < p->nunchecked_stages; i++)
		if (strcmp(p->unchecked_stages[i].name, name) == 0)
			return fail_at(l, n, "stage %s appears twice", name);
	if (p->n + p->nunchecked_stages == PB_PIPELINE_MAX_STAGES)
		return fail_at(l, n, "more than %d stages", PB_PIPELINE_MAX_STAGES);
	return mention(l, n, name, &p->unchecked_stages[p->nunchecked_stages++]);
}

/* The stage name n gives, added to the pipeline (*ret), or only noted as unchecked (*ret NULL). */
static int stage_named(struct loader *l, const yaml_node_t *n, const char *name, struct pb_pipeline_stage **ret)
{
	struct pb_pipeline *p = l->p;
	const struct pb_stage_def *def = pb_registry_find(p->reg, name);
	char known[300] = "";

	*ret = NULL;
	if (!def && p->nskipped_plugins)
		return unchecked_stage(l, n, name);
	if (!def) {
		for (size_t i = 0; i < p->reg->n; i++) {
			strlcat(known, i ? ", " : "", sizeof(known));
			strlcat(known, p->reg->defs[i].name, sizeof(known));
		}
		return fail_at(l, n, "unknown stage '%s'; hint: known stages are %s (plugins add more)", name, known);
	}
	for (size_t i = 0; i < p->n; i++)
		if (p->stages[i].def == def)
			return fail_at(l, n, "stage %s appears twice", name);
	if (p->n + p->nunchecked_stages == PB_PIPELINE_MAX_STAGES)
		return fail_at(l, n, "more than %d stages", PB_PIPELINE_MAX_STAGES);
	*ret = &p->stages[p->n++];
	memset(*ret, 0, sizeof(**ret));
	(*ret)->def = def;
	(*ret)->opts.sz = sizeof(struct pb_stage_opts);
	(*ret)->trace = -1;
	(*ret)->line = (unsigned)n->start_mark.line + 1;
	(*ret)->col = (unsigned)n->start_mark.column + 1;
	return 0;
}

/* - NAME, or - NAME: {options}, or - NAME: null */
static int parse_stage(struct loader *l, const yaml_node_t *n)
{
	struct pb_pipeline_stage *st;
	const yaml_node_t *kn, *vn;
	int r;

	if (scalar(n))
		return stage_named(l, n, scalar(n), &st);
	if (n->type != YAML_MAPPING_NODE || n->data.mapping.pairs.top - n->data.mapping.pairs.start != 1)
		return fail_at(l, n, "a stage is a name or a one-key mapping; hint: - interp: {resolver: host}");
	kn = node(l, n->data.mapping.pairs.start->key);
	vn = node(l, n->data.mapping.pairs.start->value);
	if (!scalar(kn))
		return fail_at(l, kn, "a stage name must be a plain word");
	r = stage_named(l, kn, scalar(kn), &st);
	if (r < 0 || !st) /* (an unchecked stage's options are its plugin's to judge) */
		return r;
	if (scalar(vn) && (!*scalar(vn) || strcmp(scalar(vn), "null") == 0 || strcmp(scalar(vn), "~") == 0))
		return 0;
	if (vn->type != YAML_MAPPING_NODE)
		return fail_at(l, vn, "the options of %s must be a mapping; hint: - %s: {option: value}", st->def->name,
			       st->def->name);
	for (yaml_node_pair_t *pr = vn->data.mapping.pairs.start; pr < vn->data.mapping.pairs.top; pr++) {
		r = parse_option(l, st, node(l, pr->key), node(l, pr->value));
		if (r < 0)
			return r;
	}
	return 0;
}

static int load_plugin(struct loader *l, const yaml_node_t *pn, const char *path)
{
	char msg[sizeof(l->err->msg)];

	if (pb_registry_load_plugin(l->p->reg, path, l->err) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "%s", l->err->msg);
	return fail_at(l, pn, "%s", msg);
}

/* What can be known of a plugin without running it: that a regular file is there. */
static int skip_plugin(struct loader *l, const yaml_node_t *pn, const char *path)
{
	struct pb_pipeline *p = l->p;
	struct stat st;

	if (p->nskipped_plugins == PB_REGISTRY_MAX_PLUGINS)
		return fail_at(l, pn, "more than %d plugins", PB_REGISTRY_MAX_PLUGINS);
	if (stat(path, &st) < 0)
		return fail_at(l, pn, "plugin %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail_at(l, pn, "plugin %s: not a regular file", path);
	return mention(l, pn, path, &p->skipped_plugins[p->nskipped_plugins++]);
}

static int parse_plugins(struct loader *l, const yaml_node_t *n)
{
	char path[512];
	int r = 0;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail_at(l, n, "plugins must be a list of paths; hint: plugins: [./my-stage.so]");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top && r == 0; it++) {
		const yaml_node_t *pn = node(l, *it);
		const char *s = scalar(pn);
		if (!s)
			return fail_at(l, pn, "a plugin is a path");
		snprintf(path, sizeof(path), "%s%s%s", s[0] == '/' ? "" : l->dir, s[0] == '/' ? "" : "/", s);
		if (l->flags & PB_PIPELINE_NO_PLUGINS)
			return fail_at(l, pn, "plugin %s refused: plugins are turned off for this pipeline "
				       "(loading one runs its code)", path);
		r = l->flags & PB_PIPELINE_SKIP_PLUGINS ? skip_plugin(l, pn, path) : load_plugin(l, pn, path);
	}
	return r;
}

static int parse_top(struct loader *l, const yaml_node_t *kn, const yaml_node_t *vn)
{
	const char *key = scalar(kn), *val = scalar(vn);
	struct pb_pipeline *p = l->p;
	int64_t seed;
	int trace;

	if (!key)
		return fail_at(l, kn, "a key must be a plain word");
	if (strcmp(key, "pipeline") == 0 && val) {
		snprintf(p->name, sizeof(p->name), "%s", val);
	} else if (strcmp(key, "trace") == 0) {
		if (parse_trace(l, vn, &trace) < 0)
			return -EINVAL;
		p->trace = (enum pb_trace)trace;
	} else if (strcmp(key, "trace_file") == 0 && val) {
		snprintf(p->trace_file, sizeof(p->trace_file), "%s", val);
	} else if (strcmp(key, "seed") == 0) {
		if (!val || parse_int(val, &seed) < 0)
			return fail_at(l, vn, "seed wants a number");
		p->seeded = true;
		p->seed = (uint64_t)seed;
	} else if (strcmp(key, "hold") == 0) {
		if (!val || parse_bool(val, &p->hold) < 0)
			return fail_at(l, vn, "hold wants true or false");
	} else if (strcmp(key, "stages") == 0 || strcmp(key, "plugins") == 0) {
		return 0; /* handled in order: plugins first, then stages */
	} else if (strcmp(key, "pipeline") == 0 || strcmp(key, "trace_file") == 0) {
		return fail_at(l, vn, "%s wants a string", key);
	} else {
		return fail_at(l, kn, "unknown key '%s'; hint: pipeline, plugins, stages, trace, trace_file, seed, hold", key);
	}
	return 0;
}

static const yaml_node_t *lookup(struct loader *l, const yaml_node_t *root, const char *key)
{
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++)
		if (scalar(node(l, pr->key)) && strcmp(scalar(node(l, pr->key)), key) == 0)
			return node(l, pr->value);
	return NULL;
}

static int load_document(struct loader *l)
{
	const yaml_node_t *root = yaml_document_get_root_node(&l->doc), *n;
	int r;

	if (!root || root->type != YAML_MAPPING_NODE)
		return fail_at(l, root, "a pipeline file is a mapping; hint: stages: [parse, load, stack, args]");
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		r = parse_top(l, node(l, pr->key), node(l, pr->value));
		if (r < 0)
			return r;
	}
	n = lookup(l, root, "plugins");
	if (n && (r = parse_plugins(l, n)) < 0)
		return r;
	n = lookup(l, root, "stages");
	if (!n || n->type != YAML_SEQUENCE_NODE)
		return fail_at(l, n ? n : root, "stages must be a list; hint: stages: [parse, load, stack, args]");
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		r = parse_stage(l, node(l, *it));
		if (r < 0)
			return r;
	}
	return pb_pipeline_validate(l->p, l->err);
}

int pb_pipeline_load_text(const char *text, size_t len, const char *name, struct pb_registry *reg, uint64_t flags,
			  struct pb_pipeline **ret, struct pb_error *err)
{
	struct loader l = {.file = name, .err = err, .flags = flags};
	yaml_parser_t parser;
	char dircopy[256];
	int r;

	pb_err_clear(err);
	l.p = calloc(1, sizeof(*l.p));
	if (!l.p) {
		pb_registry_free(reg);
		return pb_err_set(err, "pipeline", PB_ENOMEM, 0, "out of memory");
	}
	l.p->reg = reg ? reg : pb_registry_new();
	if (!l.p->reg) {
		free(l.p);
		return pb_err_set(err, "pipeline", PB_ENOMEM, 0, "out of memory");
	}
	snprintf(l.p->name, sizeof(l.p->name), "%s", name);
	snprintf(l.p->file, sizeof(l.p->file), "%s", name);
	snprintf(dircopy, sizeof(dircopy), "%s", name);
	snprintf(l.dir, sizeof(l.dir), "%s", dirname(dircopy));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &l.doc)) {
		r = pb_err_set(err, "pipeline", PB_EINVAL, 0, "%s:%lu:%lu: %s%s%s", name,
			       (unsigned long)parser.problem_mark.line + 1,
			       (unsigned long)parser.problem_mark.column + 1,
			       parser.problem ? parser.problem : "malformed YAML",
			       parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		pb_pipeline_free(l.p);
		return r;
	}
	r = load_document(&l);
	yaml_document_delete(&l.doc);
	yaml_parser_delete(&parser);
	if (r < 0) {
		pb_pipeline_free(l.p);
		return r;
	}
	*ret = l.p;
	return 0;
}

/*
 * A pipeline file: a regular file (a FIFO would block, /dev/zero would never
 * end) of at most PB_PIPELINE_MAX_BYTES, read whole. 0, or -errno with err set.
 */
static int read_pipeline_file(const char *path, char **ret_text, size_t *ret_len, struct pb_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), r = 0;
	struct stat st;
	char *text = NULL;
	ssize_t n = 0;

	if (fd < 0)
		return pb_err_sys(err, "pipeline", -errno, "%s", path);
	if (fstat(fd, &st) < 0)
		r = pb_err_sys(err, "pipeline", -errno, "%s", path);
	else if (!S_ISREG(st.st_mode))
		r = pb_err_set(err, "pipeline", PB_EINVAL, 0, "%s: not a regular file", path);
	else if (st.st_size > PB_PIPELINE_MAX_BYTES)
		r = pb_err_set(err, "pipeline", PB_E2BIG, 0, "%s: %lld bytes, a pipeline file is at most %d",
			       path, (long long)st.st_size, PB_PIPELINE_MAX_BYTES);
	else if (!(text = malloc((size_t)st.st_size + 1)))
		r = pb_err_set(err, "pipeline", PB_ENOMEM, 0, "out of memory");
	else if ((n = pb_read_full(fd, text, (size_t)st.st_size + 1)) < 0)
		r = pb_err_sys(err, "pipeline", (int)n, "reading %s", path);
	else if (n > st.st_size) /* it grew while we read */
		r = pb_err_set(err, "pipeline", PB_E2BIG, 0, "%s: changed while read", path);
	close(fd);
	if (r < 0) {
		free(text);
		return r;
	}
	*ret_text = text;
	*ret_len = (size_t)n;
	return 0;
}

int pb_pipeline_load_file(const char *path, struct pb_registry *reg, uint64_t flags, struct pb_pipeline **ret,
			  struct pb_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int r = read_pipeline_file(path, &text, &len, err);

	if (r < 0) {
		pb_registry_free(reg);
		return r;
	}
	r = pb_pipeline_load_text(text, len, path, reg, flags, ret, err);
	free(text);
	return r;
}

PB_API int pb_pipeline_load(const char *path, struct pb_pipeline **ret, struct pb_error *err)
{
	return pb_pipeline_load_file(path, NULL, 0, ret, err);
}

PB_API int pb_pipeline_load_with(const char *path, struct pb_registry *reg, struct pb_pipeline **ret,
				 struct pb_error *err)
{
	return pb_pipeline_load_file(path, reg, 0, ret, err);
}

/* Whether a caller's opts reach field (an older caller's are shorter: what they lack reads as 0). */
#define OPTS_HAS(opts, field) \
	((opts)->sz >= offsetof(struct pb_pipeline_opts, field) + sizeof((opts)->field))

/* libbpf's OPTS_VALID: what a newer caller put past the fields we know must be 0, not silently ignored. */
static bool opts_valid(const struct pb_pipeline_opts *opts)
{
	if (opts->sz < sizeof(opts->sz))
		return false;
	for (size_t i = sizeof(*opts); i < opts->sz; i++)
		if (((const unsigned char *)opts)[i])
			return false;
	return !OPTS_HAS(opts, flags) || !(opts->flags & ~(uint64_t)PB_PIPELINE_NO_PLUGINS);
}

PB_API int pb_pipeline_load_opts(const char *path, const struct pb_pipeline_opts *opts,
				 struct pb_pipeline **ret, struct pb_error *err)
{
	struct pb_registry *reg = opts && OPTS_HAS(opts, reg) ? opts->reg : NULL;

	if (opts && !opts_valid(opts)) {
		pb_registry_free(reg);
		return pb_err_set(err, "pipeline", PB_EINVAL, 0,
				  "%s: bad pb_pipeline_opts (sz %zu, this library knows %zu bytes; unknown flags or fields set)",
				  path, opts->sz, sizeof(*opts));
	}
	return pb_pipeline_load_file(path, reg, opts && OPTS_HAS(opts, flags) ? opts->flags : 0, ret, err);
}

PB_API void pb_pipeline_free(struct pb_pipeline *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	free(p->strings);
	pb_registry_free(p->reg);
	free(p);
}
