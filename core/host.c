/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <unistd.h>

#include "core/elf.h"
#include "core/host.h"
#include "core/rng.h"
#include "core/util.h"

uint64_t pb_host_auxv(const struct pb_host *host, uint64_t id, uint64_t def)
{
	for (unsigned i = 0; i < host->nauxv; i++)
		if (host->auxv[i][0] == id)
			return host->auxv[i][1];
	return def;
}

static int cmp_vma(const void *a, const void *b)
{
	const struct pb_vma *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Past n whitespace-separated fields of s and the blanks after them. */
static const char *skip_fields(const char *s, int n)
{
	for (int i = 0; i < n; i++) {
		while (*s == ' ' || *s == '\t')
			s++;
		while (*s && *s != ' ' && *s != '\t')
			s++;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/*
 * One line of /proc/PID/maps, "lo-hi perms offset dev inode   name", into v;
 * false if it is not one. By hand: sscanf took 7 us for the dozen lines of a
 * stub's hello, more than half the hello's handling in a pooled build.
 */
static bool parse_maps_line(const char *line, struct pb_vma *v)
{
	char *q;
	unsigned long long lo = strtoull(line, &q, 16), hi;

	if (q == line || *q != '-')
		return false;
	line = q + 1;
	hi = strtoull(line, &q, 16);
	if (q == line || (*q != ' ' && *q != '\t'))
		return false;
	v->lo = lo;
	v->hi = hi;
	snprintf(v->name, sizeof(v->name), "%s", skip_fields(q, 4));
	return true;
}

int pb_host_parse_maps(struct pb_host *host, const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	host->nmaps = 0;
	while (p < end && host->nmaps < PB_HOST_MAX_MAPS) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl ? nl : end;
		struct pb_vma *v = &host->maps[host->nmaps];
		char line[512];
		size_t n = (size_t)(line_end - p) < sizeof(line) - 1 ? (size_t)(line_end - p) : sizeof(line) - 1;

		memcpy(line, p, n);
		line[n] = 0;
		p = line_end + 1;
		if (!parse_maps_line(line, v) || v->hi > PB_TASK_SIZE) /* [vsyscall] is not part of the mm */
			continue;
		host->nmaps++;
	}
	qsort(host->maps, host->nmaps, sizeof(host->maps[0]), cmp_vma);
	return (int)host->nmaps;
}

static long read_long(const char *path, long def)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return def;
	n = read(fd, buf, sizeof(buf) - 1); /* (one read: a sysctl is a line) */
	close(fd);
	if (n <= 0)
		return def;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

void pb_sysctls_read(struct pb_sysctls *s)
{
	s->randomize_va_space = (int)read_long("/proc/sys/kernel/randomize_va_space", 2);
	s->mmap_min_addr = (uint64_t)read_long("/proc/sys/vm/mmap_min_addr", 4096);
	s->legacy_va_layout = read_long("/proc/sys/vm/legacy_va_layout", 0) != 0;
}

void pb_host_read_sysfacts_with(struct pb_host *host, const struct pb_sysctls *s)
{
	int p = personality(0xffffffff);

	getrlimit(RLIMIT_STACK, &host->stack_rlim);
	getrlimit(RLIMIT_AS, &host->as_rlim);
	host->randomize_va_space = s->randomize_va_space;
	host->mmap_min_addr = s->mmap_min_addr;
	host->legacy_va_layout = s->legacy_va_layout;
	host->personality = p < 0 ? 0 : (unsigned long)p;
}

void pb_host_read_sysfacts(struct pb_host *host)
{
	struct pb_sysctls s;

	pb_sysctls_read(&s);
	pb_host_read_sysfacts_with(host, &s);
}

bool pb_host_randomizes(const struct pb_host *host)
{
	return !(host->personality & ADDR_NO_RANDOMIZE) && host->randomize_va_space != 0;
}

/*
 * Without /proc (or with it unreadable: a process made non-dumpable by a
 * change of uid), the auxv from getauxval, in the order this kernel
 * (fs/binfmt_elf.c create_elf_tables) writes it.
 */
static void auxv_from_getauxval(struct pb_host *host)
{
	static const unsigned long keys[] = {
		AT_SYSINFO_EHDR, 51 /* AT_MINSIGSTKSZ */, AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT,
		AT_PHNUM, AT_BASE, AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE, AT_RANDOM,
		AT_HWCAP2, AT_EXECFN, AT_PLATFORM, 27 /* AT_RSEQ_FEATURE_SIZE */, 28 /* AT_RSEQ_ALIGN */,
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		unsigned long v;
		errno = 0;
		v = getauxval(keys[i]);
		if (v == 0 && errno == ENOENT)
			continue;
		host->auxv[host->nauxv][0] = keys[i];
		host->auxv[host->nauxv++][1] = v;
	}
}

/* Our auxv in the kernel's order: one read of /proc/self/auxv, or getauxval. */
static void read_auxv(struct pb_host *host)
{
	int fd = open("/proc/self/auxv", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		auxv_from_getauxval(host);
		return;
	}
	n = read(fd, host->auxv, sizeof(host->auxv)); /* (one read: the kernel gives it whole) */
	close(fd);
	host->nauxv = 0;
	while (n > 0 && host->nauxv < n / 16 && host->auxv[host->nauxv][0] != AT_NULL)
		host->nauxv++;
}

int pb_host_from_self(struct pb_host *host)
{
	memset(host, 0, sizeof(*host));
	pb_host_read_sysfacts(host);
	read_auxv(host);
	host->vdso_base = pb_host_auxv(host, AT_SYSINFO_EHDR, 0);
	return 0;
}

/* linux/fs.h (6.11): one VMA of /proc/PID/maps by address, without the text of all the others. */
struct pb_procmap_query {
	uint64_t size, query_flags, query_addr;
	uint64_t vma_start, vma_end, vma_flags, vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define PB_PROCMAP_QUERY 0xc0686611 /* _IOWR('f', 17, struct procmap_query) */

/* The VMA holding addr, by PROCMAP_QUERY; 0, or -errno (-ENOTTY: a kernel before 6.11). */
static int query_vma(int fd, uint64_t addr, struct pb_vma *v)
{
	struct pb_procmap_query q = {.size = sizeof(q), .query_addr = addr,
				     .vma_name_size = sizeof(v->name), .vma_name_addr = (uintptr_t)v->name};

	v->name[0] = 0;
	if (ioctl(fd, PB_PROCMAP_QUERY, &q) < 0)
		return -errno;
	v->lo = q.vma_start;
	v->hi = q.vma_end;
	return 0;
}

/* The same from the text of /proc/self/maps (kernels before 6.11): [vdso] first, then down. */
static unsigned vdso_run_from_text(int fd, uint64_t vdso, struct pb_vma *run, unsigned max)
{
	struct pb_host *all = malloc(sizeof(*all));
	char *text = malloc(1 << 20);
	ssize_t len = all && text ? pb_read_full(fd, text, (1 << 20) - 1) : -1;
	unsigned n = 0, k = 0;

	if (len > 0) {
		pb_host_parse_maps(all, text, (size_t)len);
		while (k < all->nmaps && all->maps[k].lo != vdso)
			k++;
		while (k < all->nmaps && n < max) {
			run[n++] = all->maps[k];
			if (k == 0 || strncmp(all->maps[k - 1].name, "[vvar", 5) || all->maps[k - 1].hi != all->maps[k].lo)
				break;
			k--;
		}
	}
	free(all);
	free(text);
	return n;
}

unsigned pb_host_vdso_run(const struct pb_host *host, struct pb_vma run[4])
{
	struct pb_vma v;
	unsigned n = 0;
	int fd, r;

	if (!host->vdso_base)
		return 0;
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : query_vma(fd, host->vdso_base, &v);
	/* [vdso] (not a custom image mapped there), then each [vvar...] right below the one before */
	while (r == 0 && n < 4 && (n == 0 ? strcmp(v.name, "[vdso]") == 0
				      : strncmp(v.name, "[vvar", 5) == 0 && v.hi == run[n - 1].lo)) {
		run[n++] = v;
		r = query_vma(fd, v.lo - 1, &v);
	}
	if (r == -ENOTTY)
		n = vdso_run_from_text(fd, host->vdso_base, run, 4);
	if (fd >= 0)
		close(fd);
	if (n == 0 && fd < 0) { /* no /proc: this kernel's 6 pages of [vvar] and [vvar_vclock] assumed */
		run[0] = (struct pb_vma){host->vdso_base, host->vdso_base + pb_elf_image_extent((const void *)host->vdso_base), "[vdso]"};
		run[1] = (struct pb_vma){host->vdso_base - 6 * PB_PAGE_SIZE, host->vdso_base, "[vvar]"};
		n = 2;
	}
	for (unsigned i = 0; i < n / 2; i++) { /* lowest first */
		v = run[i];
		run[i] = run[n - 1 - i];
		run[n - 1 - i] = v;
	}
	return n;
}

void pb_host_place_vdso_run(struct pb_host *host, const struct pb_vma *run, unsigned n, uint64_t shift)
{
	for (unsigned i = 0; i < n && host->nmaps < PB_HOST_MAX_MAPS; i++, host->nmaps++) {
		host->maps[host->nmaps] = run[i];
		host->maps[host->nmaps].lo += shift;
		host->maps[host->nmaps].hi += shift;
	}
	host->vdso_base = n ? run[n - 1].lo + shift : 0;
	for (unsigned i = 0; i < host->nauxv; i++)
		if (host->auxv[i][0] == AT_SYSINFO_EHDR)
			host->auxv[i][1] = host->vdso_base;
}

uint64_t pb_host_mmap_base(const struct pb_host *host, uint64_t rnd)
{
	uint64_t gap = host->stack_rlim.rlim_cur;
	/* stack_maxrandom_size: 0 without PF_RANDOMIZE (setarch -R puts mmap_base at 0x7ffff7fff000) */
	const uint64_t stack_rnd_max = pb_host_randomizes(host) ? 0x3fffffull << 12 : 0, guard = 256 * PB_PAGE_SIZE;
	const uint64_t gap_min = 128ull << 20, gap_max = PB_TASK_SIZE / 6 * 5;

	if (pb_host_legacy_layout(host))
		return PB_PAGE_ALIGN(PB_TASK_SIZE / 3) + rnd;
	if (gap > gap_max)
		gap = gap_max;
	gap += stack_rnd_max + guard;
	if (gap < gap_min)
		gap = gap_min;
	if (gap > gap_max)
		gap = gap_max;
	return PB_PAGE_ALIGN(PB_TASK_SIZE - gap - rnd);
}

bool pb_host_legacy_layout(const struct pb_host *host)
{
	return (host->personality & ADDR_COMPAT_LAYOUT) || host->legacy_va_layout;
}

/* arch/x86/mm/mmap.c: the random part of mmap_base */
static uint64_t model_mmap_base(const struct pb_host *host, struct pb_rng *rng)
{
	uint64_t rnd = 0;

	if (pb_host_randomizes(host))
		rnd = (pb_rng_u64(rng) & ((1ull << 28) - 1)) << 12;
	return pb_host_mmap_base(host, rnd);
}

int pb_host_model_fresh(struct pb_host *host, struct pb_rng *rng)
{
	struct pb_vma run[4];
	uint64_t base;
	unsigned n;

	pb_host_from_self(host);
	base = model_mmap_base(host, rng);
	host->bottom_up = pb_host_legacy_layout(host);
	/* our [vvar...] and [vdso], just outside the mmap area: the vdso stage places them as execve does */
	n = pb_host_vdso_run(host, run);
	if (n)
		pb_host_place_vdso_run(host, run, n, host->bottom_up ? base - run[n - 1].hi : base - run[0].lo);
	host->mmap_top = base;
	return 0;
}

static bool is_vdso_run_vma(const struct pb_vma *v)
{
	return strcmp(v->name, "[vdso]") == 0 || strncmp(v->name, "[vvar", 5) == 0;
}

unsigned pb_host_park_vdso_run(struct pb_host *host, struct pb_move park[4])
{
	uint64_t lo = UINT64_MAX, hi = 0, to, shift;
	unsigned n = 0;

	for (unsigned i = 0; i < host->nmaps; i++) {
		if (!is_vdso_run_vma(&host->maps[i]))
			continue;
		lo = host->maps[i].lo < lo ? host->maps[i].lo : lo;
		hi = host->maps[i].hi > hi ? host->maps[i].hi : hi;
	}
	if (!hi || !host->vdso_base || host->stub_hi <= host->stub_lo)
		return 0;
	to = host->bottom_up ? host->stub_lo - (hi - lo) : host->stub_hi;
	shift = to - lo;
	for (unsigned i = 0; i < host->nmaps && n < 4; i++) {
		struct pb_vma *v = &host->maps[i];
		if (!is_vdso_run_vma(v))
			continue;
		park[n++] = (struct pb_move){v->lo, v->lo + shift, v->hi - v->lo};
		v->lo += shift;
		v->hi += shift;
	}
	qsort(host->maps, host->nmaps, sizeof(host->maps[0]), cmp_vma);
	host->vdso_base += shift;
	for (unsigned i = 0; i < host->nauxv; i++)
		if (host->auxv[i][0] == AT_SYSINFO_EHDR)
			host->auxv[i][1] = host->vdso_base;
	return n;
}

int pb_cgroup2_mount(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, *mnt = NULL;
	size_t cap = 0;
	int r = -ENOENT;

	if (!f)
		return -errno;
	while (r < 0 && getline(&line, &cap, f) > 0) {
		/* id parent major:minor root MOUNTPOINT options... - FSTYPE source options */
		char *sep = strstr(line, " - ");
		if (sep && strncmp(sep, " - cgroup2 ", 11) == 0 && sscanf(line, "%*s %*s %*s %*s %ms", &mnt) == 1) {
			snprintf(buf, len, "%s", mnt);
			r = 0;
		}
	}
	free(mnt);
	free(line);
	fclose(f);
	return r;
}

static int vma_cmp(const void *a, const void *b)
{
	const struct pb_vma *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/*
 * The stub's mappings where it could not read /proc/self/maps (no /proc):
 * what the kernel is known to have made. Its image; the vDSO run, sized from
 * ours (the same kernel gives every exec the same); the [stack], whose end
 * the file name the kernel copied first gives (AT_EXECFN, at most a few dozen
 * bytes and a pointer below vm_end), down to 256 KiB below the first sp
 * (the kernel expands it by 128 KiB at exec: more is only more avoided).
 */
void pb_host_assume_stub_maps(struct pb_host *host)
{
	struct pb_host *self = calloc(1, sizeof(*self)); /* (on the heap: 16 KiB stacks) */
	uint64_t execfn = pb_host_auxv(host, AT_EXECFN, 0), vdso = host->vdso_base;
	struct pb_vma run[4];
	unsigned n = 0;

	host->nmaps = 0;
	if (host->stub_hi > host->stub_lo)
		host->maps[host->nmaps++] = (struct pb_vma){host->stub_lo, host->stub_hi, "/memfd:pb-stub (deleted)"};
	if (execfn > host->sp0 && host->sp0 > 256u << 10)
		host->maps[host->nmaps++] = (struct pb_vma){PB_PAGE_START(host->sp0) - (256u << 10),
							    PB_PAGE_ALIGN(execfn + 1), "[stack]"};
	if (self && vdso && (self->vdso_base = getauxval(AT_SYSINFO_EHDR)))
		n = pb_host_vdso_run(self, run);
	free(self);
	pb_host_place_vdso_run(host, run, n, n ? vdso - run[n - 1].lo : 0);
	host->vdso_base = vdso; /* what the auxv says, run or not */
	qsort(host->maps, host->nmaps, sizeof(host->maps[0]), vma_cmp);
}
