/* SPDX-License-Identifier: MIT */
/*
 * mapsprobe: the address space a program finds in main(), as a sequence to
 * compare between execve and procbuilder. Built static, static-PIE, musl,
 * PIE dynamic and no-PIE dynamic (configure.py).
 *
 *   mapsprobe [-a]
 *
 * prints three snapshots of /proc/self/maps, each "== NAME" then one line per
 * mapping in address order, "PERMS KIND" (KIND: the file's path, [heap],
 * [stack], [vdso]..., or "anon"); -a puts the start address in front. The
 * snapshots: "main" (as found), "mmap" (after 10 anonymous mmaps of mixed
 * sizes, none a multiple of 2 MiB: the kernel aligns those to 2 MiB, which
 * makes even execve's order depend on the random mmap_base), "dlopen"
 * (after dlopen of libm, dynamic builds only). Then
 * "VmPeak N" in KiB, read last.
 * Nothing is allocated before the first snapshot is read: stdio's buffer
 * would be a mapping (or the heap) of its own.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef PROBE_DLOPEN
#include <dlfcn.h>
#endif

static char snap[3][64 << 10];

static void take(char *buf, size_t cap)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	while (fd >= 0 && len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = 0;
	if (fd >= 0)
		close(fd);
}

/* "lo-hi perms off dev ino   name": the perms, the name or "anon", the start with -a. */
static void print_snap(const char *title, char *buf, int addrs)
{
	printf("== %s\n", title);
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char perms[8] = "", *lo_end = strchr(line, '-');
		int name_at = 0;

		if (sscanf(line, "%*s %7s %*s %*s %*s %n", perms, &name_at) < 1 || !lo_end)
			continue;
		if (strstr(line, "[vsyscall]"))
			continue;
		if (addrs)
			printf("%.*s ", (int)(lo_end - line), line);
		printf("%s %s\n", perms, name_at && line[name_at] ? line + name_at : "anon");
	}
}

static long vm_peak(void)
{
	char buf[4096], *p;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "VmPeak:");
	return p ? strtol(p + 7, NULL, 10) : -1;
}

int main(int argc, char **argv)
{
	static const size_t sizes[10] = {4096, 65536, 1 << 20, 8192, 262144, 3 << 19, 12288, 131072, 16384, 524288};
	int addrs = argc > 1 && strcmp(argv[1], "-a") == 0, nsnap = 2;

	take(snap[0], sizeof(snap[0]));
	for (int i = 0; i < 10; i++)
		if (mmap(NULL, sizes[i], i % 3 ? PROT_READ | PROT_WRITE : PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0) == MAP_FAILED)
			return 2;
	take(snap[1], sizeof(snap[1]));
#ifdef PROBE_DLOPEN
	if (!dlopen("libm.so.6", RTLD_NOW))
		return 3;
	take(snap[2], sizeof(snap[2]));
	nsnap = 3;
#endif
	print_snap("main", snap[0], addrs);
	print_snap("mmap", snap[1], addrs);
	if (nsnap == 3)
		print_snap("dlopen", snap[2], addrs);
	printf("VmPeak %ld\n", vm_peak());
	return 0;
}
