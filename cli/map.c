/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h> /* libbsd overlay: reallocarray */
#include <string.h>
#include <sys/mman.h>

#include "cli/map.h"
#include "core/host.h"
#include "core/plan.h"

void pb_region_map_free(struct pb_region_map *map)
{
	free(map->r);
	memset(map, 0, sizeof(*map));
}

static int make_room(struct pb_region_map *map, size_t more)
{
	size_t cap = map->cap ? map->cap : 32;
	struct pb_region *r;

	if (map->n + more <= map->cap)
		return 0;
	while (cap < map->n + more)
		cap *= 2;
	r = reallocarray(map->r, cap, sizeof(*r));
	if (!r)
		return -ENOMEM;
	map->r = r;
	map->cap = cap;
	return 0;
}

/* The region holding addr strictly inside becomes two, cut at addr. 0 or -ENOMEM. */
static int split_at(struct pb_region_map *map, uint64_t addr)
{
	for (size_t i = 0; i < map->n; i++) {
		struct pb_region *r = &map->r[i];
		if (addr <= r->lo || addr >= r->hi)
			continue;
		if (make_room(map, 1) < 0)
			return -ENOMEM;
		r = &map->r[i];
		memmove(r + 1, r, (map->n - i) * sizeof(*r));
		map->n++;
		r[0].hi = addr;
		r[1].lo = addr;
		if (r[1].kind == PB_REGION_FILE)
			r[1].off += addr - r[0].lo;
		return 0;
	}
	return 0;
}

/* munmap: nothing is left in [lo, hi). 0 or -ENOMEM. */
static int punch(struct pb_region_map *map, uint64_t lo, uint64_t hi)
{
	size_t out = 0;

	if (split_at(map, lo) < 0 || split_at(map, hi) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < map->n; i++)
		if (map->r[i].hi <= lo || map->r[i].lo >= hi)
			map->r[out++] = map->r[i];
	map->n = out;
	return 0;
}

/* mmap MAP_FIXED: reg replaces whatever was under it. 0 or -ENOMEM. */
static int overlay(struct pb_region_map *map, const struct pb_region *reg)
{
	size_t i;

	if (reg->lo >= reg->hi)
		return 0;
	if (punch(map, reg->lo, reg->hi) < 0 || make_room(map, 1) < 0)
		return -ENOMEM;
	for (i = 0; i < map->n && map->r[i].lo < reg->lo; i++)
		;
	memmove(&map->r[i + 1], &map->r[i], (map->n - i) * sizeof(map->r[0]));
	map->r[i] = *reg;
	map->n++;
	return 0;
}

/* mprotect: only what is mapped in [lo, hi) changes. 0 or -ENOMEM. */
static int protect(struct pb_region_map *map, uint64_t lo, uint64_t hi, int prot)
{
	if (split_at(map, lo) < 0 || split_at(map, hi) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < map->n; i++)
		if (map->r[i].lo >= lo && map->r[i].hi <= hi)
			map->r[i].prot = prot;
	return 0;
}

/* The grows-down VMA starting at hi now starts at lo (one VMA, as the kernel shows it). */
static int grow_down(struct pb_region_map *map, uint64_t lo, uint64_t hi)
{
	if (punch(map, lo, hi) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < map->n; i++)
		if (map->r[i].lo == hi) {
			map->r[i].lo = lo;
			return 0;
		}
	return 0; /* (no stack above: the stub would fault; nothing to draw) */
}

/* A MOVE: the region starting at from, now at lo (the kernel's [vvar...] and [vdso]). */
static int move(struct pb_region_map *map, uint64_t from, uint64_t lo, uint64_t len)
{
	for (size_t i = 0; i < map->n; i++) {
		if (map->r[i].lo == from) {
			struct pb_region reg = map->r[i];
			reg.lo = lo;
			reg.hi = lo + len;
			return punch(map, from, from + len) < 0 ? -ENOMEM : overlay(map, &reg);
		}
	}
	return 0;
}

static int apply_step(struct pb_region_map *map, const struct pb_step *s)
{
	struct pb_region reg = {.lo = s->addr, .hi = s->addr + s->len, .prot = s->prot, .file = -1,
				.stage = s->stage ? s->stage : "-", .note = s->note};

	switch (s->kind) {
	case PB_STEP_RESERVE:
		reg.kind = s->flags & PB_STEP_KEEP ? PB_REGION_KEPT : PB_REGION_RESERVE;
		reg.prot = PROT_NONE;
		return overlay(map, &reg);
	case PB_STEP_MAP_FILE:
		reg.kind = PB_REGION_FILE;
		reg.file = s->file;
		reg.off = s->off;
		return overlay(map, &reg);
	case PB_STEP_MAP_ANON:
		reg.kind = s->flags & PB_STEP_GROWSDOWN ? PB_REGION_STACK : PB_REGION_ANON;
		return overlay(map, &reg);
	case PB_STEP_RELEASE:
	case PB_STEP_UNMAP:
		return punch(map, reg.lo, reg.hi);
	case PB_STEP_PROTECT:
		return protect(map, reg.lo, reg.hi, s->prot);
	case PB_STEP_GROW:
		return grow_down(map, reg.lo, reg.hi);
	case PB_STEP_MOVE:
		return move(map, s->off, reg.lo, s->len);
	default: /* ZERO and WRITE change bytes, not the layout */
		return 0;
	}
}

/*
 * The host model keeps no protection for the kernel's VMAs; these are the
 * ones x86_64 maps them with.
 */
static int kernel_prot(const char *name)
{
	if (strcmp(name, "[vdso]") == 0)
		return PROT_READ | PROT_EXEC;
	if (strncmp(name, "[vvar", 5) == 0)
		return PROT_READ;
	if (strcmp(name, "[stack]") == 0)
		return PROT_READ | PROT_WRITE;
	return PROT_NONE;
}

static int add_host(struct pb_region_map *map, const struct pb_host *host)
{
	for (unsigned i = 0; i < host->nmaps; i++) {
		const struct pb_vma *v = &host->maps[i];
		struct pb_region reg = {.lo = v->lo, .hi = v->hi, .prot = kernel_prot(v->name),
					.kind = PB_REGION_KERNEL, .file = -1, .stage = "kernel", .note = v->name};
		if (strcmp(v->name, "[stack]") == 0)
			reg.kind = PB_REGION_STACK;
		if (overlay(map, &reg) < 0)
			return -ENOMEM;
	}
	/* the stub's image goes at finalize, after every step */
	return 0;
}

int pb_region_map_build(struct pb_region_map *map, const struct pb_plan *plan, const struct pb_host *host)
{
	int r = add_host(map, host);

	for (size_t i = 0; r == 0 && i < plan->nsteps; i++)
		r = apply_step(map, &plan->steps[i]);
	if (r == 0 && host->stub_hi > host->stub_lo)
		r = punch(map, host->stub_lo, host->stub_hi);
	return r;
}

static const char *const kind_names[] = {
	[PB_REGION_KERNEL] = "kernel", [PB_REGION_FILE] = "file", [PB_REGION_ANON] = "anon",
	[PB_REGION_STACK] = "stack", [PB_REGION_RESERVE] = "reserve", [PB_REGION_KEPT] = "kept",
};

/* "4 KiB", "1.5 MiB", "64 TiB": whole numbers as such, one decimal otherwise. */
static const char *human_size(uint64_t n, char buf[16])
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	unsigned u = 0;

	while (u + 1 < sizeof(units) / sizeof(units[0]) && n >> (10 * (u + 1)))
		u++;
	if ((n & ((1ull << (10 * u)) - 1)) == 0)
		snprintf(buf, 16, "%llu %s", (unsigned long long)(n >> (10 * u)), units[u]);
	else
		snprintf(buf, 16, "%.1f %s", (double)n / (double)(1ull << (10 * u)), units[u]);
	return buf;
}

/* The OBJECT column: FILE+OFFSET, the kernel's name, [stack], or "-". */
static const char *object_name(const struct pb_region *r, const struct pb_plan *plan, char buf[64])
{
	if (r->kind == PB_REGION_FILE) {
		const char *file = r->file >= 0 && (size_t)r->file < plan->nfiles ? plan->files[r->file].name : "?";
		snprintf(buf, 64, "%s+0x%llx", file, (unsigned long long)r->off);
		return buf;
	}
	if (r->kind == PB_REGION_KERNEL)
		return r->note;
	if (r->kind == PB_REGION_STACK)
		return "[stack]";
	return "-";
}

/* "r-xp": /proc/PID/maps's permissions (every plan mapping is private). */
static const char *perms(int prot, char buf[5])
{
	pb_prot_str(prot, buf);
	buf[3] = 'p';
	buf[4] = 0;
	return buf;
}

/* One region as a table row, without the newline. */
static void format_row(const struct pb_region *r, const struct pb_plan *plan, char *buf, size_t len)
{
	char size[16], obj[64], perm[5];

	snprintf(buf, len, "%012llx-%012llx %s %10s %-7s %-8s %-22s %s", (unsigned long long)r->lo,
		 (unsigned long long)r->hi, perms(r->prot, perm), human_size(r->hi - r->lo, size),
		 kind_names[r->kind], r->stage, object_name(r, plan, obj), r->note);
}

void pb_region_map_print_text(const struct pb_region_map *map, const struct pb_plan *plan, FILE *f)
{
	char row[256];

	fprintf(f, "# %-23s %-4s %10s %-7s %-8s %-22s %s\n", "START-END", "PERM", "SIZE", "KIND", "STAGE",
		"OBJECT", "NOTE");
	for (size_t i = 0; i < map->n; i++) {
		format_row(&map->r[i], plan, row, sizeof(row));
		fprintf(f, "%s\n", row);
	}
}

/*
 * DOC: the drawing. The user address space is 128 TiB and a page is 4 KiB, so
 * no linear scale shows both. Each region is a box whose height grows with
 * log2 of its size (a page is MIN_H, every doubling STEP_H more), stacked
 * with the highest address on top as memory is usually drawn; the gaps
 * between regions are cut to a fixed band with their size written in it.
 */
#define SVG_MIN_H 16
#define SVG_STEP_H 5
#define SVG_GAP_H 22
#define SVG_TOP 56
#define SVG_ADDR_X 10
#define SVG_BOX_X 190
#define SVG_BOX_W 200
#define SVG_LABEL_X 400
#define SVG_LEGEND_X 760
#define SVG_WIDTH 1040

static unsigned box_height(uint64_t size)
{
	uint64_t pages = size / 4096 ? size / 4096 : 1;
	unsigned bits = 63 - (unsigned)__builtin_clzll(pages);

	return SVG_MIN_H + SVG_STEP_H * bits;
}

static bool gap_below(const struct pb_region_map *map, size_t i)
{
	return i > 0 && map->r[i - 1].hi < map->r[i].lo;
}

static unsigned drawing_height(const struct pb_region_map *map)
{
	unsigned h = SVG_TOP + 40;

	for (size_t i = 0; i < map->n; i++)
		h += box_height(map->r[i].hi - map->r[i].lo) + (gap_below(map, i) ? SVG_GAP_H : 0);
	return h;
}

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			/* (control bytes are not allowed in XML 1.0 at all) */
			fputc((unsigned char)*s < 0x20 ? '?' : *s, f);
		}
	}
}

/* Stages in order of first appearance; each one's colour is its index in the palette. */
struct stage_list {
	const char *name[16];
	unsigned n;
};

static unsigned stage_index(struct stage_list *l, const char *stage)
{
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->name[i], stage) == 0)
			return i;
	if (l->n == 16)
		return 15; /* (more stages than colours share the last) */
	l->name[l->n] = stage;
	return l->n++;
}

static const char *stage_colour(const char *stage, unsigned index)
{
	static const char *const palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
					      "#edc948", "#b07aa1", "#ff9da7", "#9c755f"};

	if (strcmp(stage, "kernel") == 0)
		return "#a0a0a0";
	return palette[index % (sizeof(palette) / sizeof(palette[0]))];
}

static void draw_gap(FILE *f, uint64_t size, unsigned y)
{
	char buf[16];

	fprintf(f, "<path d=\"M%d %u l10 -4 l10 8 l10 -8 l10 8 l10 -4\" fill=\"none\" stroke=\"#888\"/>\n",
		SVG_BOX_X + SVG_BOX_W / 2 - 25, y + SVG_GAP_H / 2);
	fprintf(f, "<text x=\"%d\" y=\"%u\" class=\"gap\">gap %s</text>\n", SVG_LABEL_X, y + SVG_GAP_H / 2 + 4,
		human_size(size, buf));
}

static void draw_region(FILE *f, const struct pb_region *r, const struct pb_plan *plan, const char *colour,
			unsigned y, unsigned h)
{
	bool placeholder = r->kind == PB_REGION_RESERVE || r->kind == PB_REGION_KEPT;
	char row[256], size[16], obj[64], perm[5];

	format_row(r, plan, row, sizeof(row));
	fprintf(f, "<rect class=\"region %s\" x=\"%d\" y=\"%u\" width=\"%d\" height=\"%u\" fill=\"%s\" "
		   "stroke=\"#333\" stroke-width=\"0.5\"%s>",
		kind_names[r->kind], SVG_BOX_X, y, SVG_BOX_W, h, colour,
		placeholder ? " fill-opacity=\"0.3\" stroke-dasharray=\"4 2\"" : "");
	fputs("<title>", f);
	xml_text(f, row);
	fputs("</title></rect>\n", f);
	fprintf(f, "<text x=\"%d\" y=\"%u\" class=\"addr\">%012llx-%012llx</text>\n", SVG_ADDR_X, y + h / 2 + 4,
		(unsigned long long)r->lo, (unsigned long long)r->hi);
	fprintf(f, "<text x=\"%d\" y=\"%u\">%s %s %s ", SVG_LABEL_X, y + h / 2 + 4, perms(r->prot, perm),
		human_size(r->hi - r->lo, size), kind_names[r->kind]);
	xml_text(f, r->stage);
	fputs(": ", f);
	xml_text(f, r->kind == PB_REGION_FILE ? object_name(r, plan, obj) : r->note);
	fputs("</text>\n", f);
}

/* Swatches are circles, so that the drawing's only <rect>s are its regions. */
static void draw_legend(FILE *f, const struct stage_list *stages)
{
	unsigned y = SVG_TOP + 10;

	fprintf(f, "<text x=\"%d\" y=\"%u\" class=\"head\">stage</text>\n", SVG_LEGEND_X, y);
	for (unsigned i = 0; i < stages->n; i++) {
		y += 18;
		fprintf(f, "<circle cx=\"%d\" cy=\"%u\" r=\"6\" fill=\"%s\"/>", SVG_LEGEND_X + 6, y - 4,
			stage_colour(stages->name[i], i));
		fprintf(f, "<text x=\"%d\" y=\"%u\">", SVG_LEGEND_X + 18, y);
		xml_text(f, stages->name[i]);
		fputs("</text>\n", f);
	}
	fprintf(f, "<text x=\"%d\" y=\"%u\" class=\"note\">faded, dashed: a reservation</text>\n"
		   "<text x=\"%d\" y=\"%u\" class=\"note\">height: log2 of the size</text>\n"
		   "<text x=\"%d\" y=\"%u\" class=\"note\">gaps cut, their size written</text>\n"
		   "<text x=\"%d\" y=\"%u\" class=\"note\">hover a region for its row</text>\n",
		SVG_LEGEND_X, y + 28, SVG_LEGEND_X, y + 44, SVG_LEGEND_X, y + 60, SVG_LEGEND_X, y + 76);
}

void pb_region_map_print_svg(const struct pb_region_map *map, const struct pb_plan *plan, FILE *f)
{
	struct stage_list stages = {.n = 0};
	unsigned y = SVG_TOP;

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%u\" "
		   "font-family=\"monospace\" font-size=\"11\">\n"
		   "<style>.addr{fill:#333}.gap{fill:#888;font-style:italic}.head{font-weight:bold}"
		   ".note{fill:#555}</style>\n"
		   "<text x=\"%d\" y=\"24\" class=\"head\" font-size=\"14\">planned address space: "
		   "%zu regions, highest address on top</text>\n",
		   SVG_WIDTH, drawing_height(map), SVG_ADDR_X, map->n);
	for (size_t i = map->n; i-- > 0;) {
		const struct pb_region *r = &map->r[i];
		unsigned h = box_height(r->hi - r->lo);
		draw_region(f, r, plan, stage_colour(r->stage, stage_index(&stages, r->stage)), y, h);
		y += h;
		if (gap_below(map, i)) {
			draw_gap(f, r->lo - map->r[i - 1].hi, y);
			y += SVG_GAP_H;
		}
	}
	draw_legend(f, &stages);
	fputs("</svg>\n", f);
}
