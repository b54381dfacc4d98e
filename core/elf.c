/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/elf.h"
#include "core/error.h"

#define FAIL(d, ...) pb_err_set(err, NULL, PB_EPARSE, (d), __VA_ARGS__)

static const struct {
	uint16_t id;
	const char *name;
} machines[] = {
	{EM_X86_64, "x86_64"}, {EM_AARCH64, "aarch64"}, {EM_386, "i386"},
	{EM_ARM, "arm"}, {EM_RISCV, "riscv"}, {EM_PPC64, "ppc64"},
	{EM_PPC, "ppc"}, {EM_S390, "s390"}, {EM_MIPS, "mips"},
	{EM_SPARCV9, "sparcv9"}, {258 /* EM_LOONGARCH */, "loongarch"},
	{EM_IA_64, "ia64"}, {EM_ALPHA, "alpha"},
};

uint16_t pb_elf_host_machine(void)
{
#if defined(__x86_64__)
	return EM_X86_64;
#elif defined(__aarch64__)
	return EM_AARCH64;
#else
#error "procbuilder supports x86_64 (and recognises aarch64)"
#endif
}

const char *pb_elf_machine_name(uint16_t machine)
{
	for (size_t i = 0; i < PB_ARRAY_SIZE(machines); i++)
		if (machines[i].id == machine)
			return machines[i].name;
	return "unknown";
}

const char *pb_elf_type_name(uint16_t type)
{
	switch (type) {
	case ET_NONE: return "NONE";
	case ET_REL: return "REL";
	case ET_EXEC: return "EXEC";
	case ET_DYN: return "DYN";
	case ET_CORE: return "CORE";
	default: return "unknown";
	}
}

const char *pb_elf_phdr_type_name(uint32_t type)
{
	switch (type) {
	case PT_NULL: return "NULL";
	case PT_LOAD: return "LOAD";
	case PT_DYNAMIC: return "DYNAMIC";
	case PT_INTERP: return "INTERP";
	case PT_NOTE: return "NOTE";
	case PT_SHLIB: return "SHLIB";
	case PT_PHDR: return "PHDR";
	case PT_TLS: return "TLS";
	case PT_GNU_EH_FRAME: return "GNU_EH_FRAME";
	case PT_GNU_STACK: return "GNU_STACK";
	case PT_GNU_RELRO: return "GNU_RELRO";
	case PT_GNU_PROPERTY: return "GNU_PROPERTY";
	default: return "OTHER";
	}
}

const char *pb_elf_flags_str(uint32_t flags, char buf[4])
{
	buf[0] = flags & PF_R ? 'r' : '-'; /* as plan's prot and /proc/PID/maps spell them */
	buf[1] = flags & PF_W ? 'w' : '-';
	buf[2] = flags & PF_X ? 'x' : '-';
	buf[3] = 0;
	return buf;
}

void pb_elf_clear(struct pb_elf *elf)
{
	free(elf->phdrs);
	free(elf->interp);
	memset(elf, 0, sizeof(*elf));
}

/*
 * An i386 program, which the kernel runs on x86_64 in compat mode (32-bit
 * syscall entry, compat vDSO and stack layout) that only its exec sets up.
 * Looked at before the length: an ELF32 header is shorter than an ELF64 one.
 */
static bool is_i386(const unsigned char *buf, size_t n)
{
	/* e_machine: at 18, in ELF32 and ELF64 headers alike */
	return n >= 20 && memcmp(buf, ELFMAG, SELFMAG) == 0 && buf[EI_CLASS] == ELFCLASS32 &&
	       buf[EI_DATA] == ELFDATA2LSB && buf[18] == EM_386 && buf[19] == 0 && pb_elf_host_machine() == EM_X86_64;
}

static int check_ident(const Elf64_Ehdr *eh, unsigned flags, const char *what,
		       struct pb_error *err)
{
	const unsigned char *id = eh->e_ident;

	if (memcmp(id, ELFMAG, SELFMAG) != 0)
		return FAIL(PB_PARSE_BAD_MAGIC, "%s: invalid file header: not an ELF file (magic %02x %02x %02x %02x)",
			    what, id[0], id[1], id[2], id[3]);
	if (id[EI_CLASS] != ELFCLASS64)
		return FAIL(PB_PARSE_BAD_CLASS, "%s: EI_CLASS is %u, only ELFCLASS64 (2) is supported",
			    what, id[EI_CLASS]);
	if (id[EI_DATA] != ELFDATA2LSB)
		return FAIL(PB_PARSE_BAD_DATA, "%s: EI_DATA is %u, only little-endian (1) is supported",
			    what, id[EI_DATA]);
	if ((flags & PB_ELF_STRICT) && (id[EI_VERSION] != EV_CURRENT || eh->e_version != EV_CURRENT))
		return FAIL(PB_PARSE_BAD_VERSION, "%s: ELF version is %u/%u, expected 1",
			    what, id[EI_VERSION], eh->e_version);
	if ((flags & PB_ELF_STRICT) && id[EI_OSABI] != ELFOSABI_SYSV && id[EI_OSABI] != ELFOSABI_GNU)
		return FAIL(PB_PARSE_BAD_OSABI, "%s: EI_OSABI is %u, expected SYSV (0) or GNU/Linux (3)",
			    what, id[EI_OSABI]);
	return 0;
}

static int check_header(const Elf64_Ehdr *eh, unsigned flags, const char *what,
			uint64_t size, struct pb_error *err)
{
	uint16_t host = pb_elf_host_machine();
	int r = check_ident(eh, flags, what, err);
	size_t max_ph;

	if (r < 0)
		return r;
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return FAIL(PB_PARSE_BAD_TYPE, "%s: e_type is %u (%s), expected ET_EXEC or ET_DYN",
			    what, eh->e_type, pb_elf_type_name(eh->e_type));
	if (eh->e_machine != host) {
		const char *name = pb_elf_machine_name(eh->e_machine);
		if (strcmp(name, "unknown") == 0)
			return FAIL(PB_PARSE_BAD_MACHINE, "%s: e_machine is %u, an unknown machine",
				    what, eh->e_machine);
		return FAIL(PB_PARSE_FOREIGN_MACHINE, "%s: built for %s (e_machine %u), this host runs %s",
			    what, name, eh->e_machine, pb_elf_machine_name(host));
	}
	if ((flags & PB_ELF_STRICT) && eh->e_ehsize != sizeof(Elf64_Ehdr))
		return FAIL(PB_PARSE_BAD_EHSIZE, "%s: e_ehsize is %u, expected %zu",
			    what, eh->e_ehsize, sizeof(Elf64_Ehdr));
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return FAIL(PB_PARSE_BAD_PHENTSIZE, "%s: e_phentsize is %u, expected %zu",
			    what, eh->e_phentsize, sizeof(Elf64_Phdr));
	max_ph = flags & PB_ELF_STRICT ? PB_ELF_MAX_PHDRS_STRICT : PB_ELF_MAX_PHDRS;
	if (eh->e_phnum == 0 || eh->e_phnum > max_ph)
		return FAIL(PB_PARSE_BAD_PHNUM, "%s: e_phnum is %u, expected 1 to %zu",
			    what, eh->e_phnum, max_ph);
	if (eh->e_phoff > size || size - eh->e_phoff < (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr))
		return FAIL(PB_PARSE_PHDRS_OUTSIDE, "%s: program headers at 0x%llx (%u entries) end past the file (%llu bytes)",
			    what, (unsigned long long)eh->e_phoff, eh->e_phnum, (unsigned long long)size);
	if ((flags & PB_ELF_STRICT) && eh->e_phoff % 8)
		return FAIL(PB_PARSE_PHOFF_ALIGN, "%s: e_phoff 0x%llx is not 8-byte aligned",
			    what, (unsigned long long)eh->e_phoff);
	return 0;
}

/* Checks one PT_LOAD alone and against the previous one. */
static int check_load(const Elf64_Phdr *ph, const Elf64_Phdr *prev, unsigned idx,
		      unsigned flags, const char *what, uint64_t size, struct pb_error *err)
{
	bool strict = flags & PB_ELF_STRICT;

	if (ph->p_filesz > ph->p_memsz)
		return FAIL(PB_PARSE_FILESZ_GT_MEMSZ, "%s: PT_LOAD[%u] p_filesz 0x%llx > p_memsz 0x%llx",
			    what, idx, (unsigned long long)ph->p_filesz, (unsigned long long)ph->p_memsz);
	if (ph->p_vaddr >= PB_TASK_SIZE || ph->p_memsz > PB_TASK_SIZE - ph->p_vaddr)
		return FAIL(PB_PARSE_SEG_OVERFLOW, "%s: PT_LOAD[%u] p_vaddr 0x%llx + p_memsz 0x%llx leaves the user address space",
			    what, idx, (unsigned long long)ph->p_vaddr, (unsigned long long)ph->p_memsz);
	if (strict && (ph->p_offset > size || ph->p_filesz > size - ph->p_offset))
		return FAIL(PB_PARSE_SEG_OUTSIDE_FILE, "%s: PT_LOAD[%u] file range 0x%llx+0x%llx ends past the file (%llu bytes)",
			    what, idx, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz,
			    (unsigned long long)size);
	if (strict && ph->p_align > 1 && !pb_is_pow2(ph->p_align))
		return FAIL(PB_PARSE_BAD_ALIGN, "%s: PT_LOAD[%u] p_align 0x%llx is not a power of two",
			    what, idx, (unsigned long long)ph->p_align);
	if (strict && ph->p_align > 1 && ph->p_offset % ph->p_align != ph->p_vaddr % ph->p_align)
		return FAIL(PB_PARSE_SEG_MISALIGNED, "%s: PT_LOAD[%u] p_offset 0x%llx and p_vaddr 0x%llx differ modulo p_align 0x%llx",
			    what, idx, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_vaddr,
			    (unsigned long long)ph->p_align);
	/* mmap needs page congruence whatever p_align says. */
	if (strict && PB_PAGE_OFF(ph->p_offset) != PB_PAGE_OFF(ph->p_vaddr))
		return FAIL(PB_PARSE_SEG_MISALIGNED, "%s: PT_LOAD[%u] p_offset 0x%llx and p_vaddr 0x%llx differ modulo the page size",
			    what, idx, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_vaddr);
	if (strict && prev && ph->p_vaddr < prev->p_vaddr)
		return FAIL(PB_PARSE_SEG_ORDER, "%s: PT_LOAD[%u] p_vaddr 0x%llx is below the previous PT_LOAD's 0x%llx",
			    what, idx, (unsigned long long)ph->p_vaddr, (unsigned long long)prev->p_vaddr);
	if (strict && prev && ph->p_vaddr < prev->p_vaddr + prev->p_memsz)
		return FAIL(PB_PARSE_SEG_OVERLAP, "%s: PT_LOAD[%u] at 0x%llx overlaps the previous PT_LOAD (0x%llx-0x%llx)",
			    what, idx, (unsigned long long)ph->p_vaddr, (unsigned long long)prev->p_vaddr,
			    (unsigned long long)(prev->p_vaddr + prev->p_memsz));
	return 0;
}

/* The bytes [off, off+len): from the header already read when they lie in it. */
static ssize_t read_at(int fd, const uint8_t *head, size_t head_len, void *buf, size_t len, uint64_t off)
{
	if (off < head_len && len <= head_len - off) {
		memcpy(buf, head + off, len);
		return (ssize_t)len;
	}
	return pb_pread_full(fd, buf, len, off);
}

static int read_interp(int fd, const uint8_t *head, size_t head_len, const Elf64_Phdr *ph, unsigned flags,
		       const char *what, uint64_t size, struct pb_elf *elf, struct pb_error *err)
{
	char *path;
	ssize_t n;

	if (ph->p_filesz < 2 || ph->p_filesz > PATH_MAX)
		return FAIL(PB_PARSE_INTERP_SIZE, "%s: PT_INTERP p_filesz is %llu, expected 2 to %d",
			    what, (unsigned long long)ph->p_filesz, PATH_MAX);
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return FAIL(PB_PARSE_INTERP_OUTSIDE, "%s: PT_INTERP at 0x%llx+%llu ends past the file",
			    what, (unsigned long long)ph->p_offset, (unsigned long long)ph->p_filesz);
	path = malloc(ph->p_filesz);
	if (!path)
		return pb_err_set(err, NULL, PB_ENOMEM, 0, "%s: out of memory", what);
	n = read_at(fd, head, head_len, path, ph->p_filesz, ph->p_offset);
	if (n < 0 || (uint64_t)n != ph->p_filesz) {
		free(path);
		return n < 0 ? pb_err_sys(err, NULL, (int)n, "%s: reading PT_INTERP", what)
			     : FAIL(PB_PARSE_INTERP_OUTSIDE, "%s: PT_INTERP is cut short", what);
	}
	if (path[ph->p_filesz - 1] != 0) {
		free(path);
		return FAIL(PB_PARSE_INTERP_UNTERMINATED, "%s: PT_INTERP path does not end in NUL", what);
	}
	if ((flags & PB_ELF_STRICT) && strlen(path) != ph->p_filesz - 1) {
		free(path);
		return FAIL(PB_PARSE_INTERP_UNTERMINATED, "%s: PT_INTERP path has a NUL inside it", what);
	}
	elf->interp = path;
	return 0;
}

/* Notes the x86 feature bits of PT_GNU_PROPERTY; a malformed note is ignored, like the kernel on x86. */
static void read_property(int fd, const uint8_t *head, size_t head_len, const Elf64_Phdr *ph, struct pb_elf *elf)
{
	uint32_t buf[256];
	size_t len = ph->p_filesz < sizeof(buf) ? ph->p_filesz : sizeof(buf);
	ssize_t n = read_at(fd, head, head_len, buf, len, ph->p_offset);

	elf->has_gnu_property = true;
	if (n < 16 || buf[2] != NT_GNU_PROPERTY_TYPE_0 || buf[0] != 4 || memcmp(&buf[3], "GNU", 4) != 0)
		return;
	for (size_t off = 16; off + 8 <= (size_t)n && off + 8 <= 16 + buf[1];) {
		uint32_t type = buf[off / 4], datasz = buf[off / 4 + 1];
		if (type == GNU_PROPERTY_X86_FEATURE_1_AND && datasz == 4 && off + 12 <= (size_t)n)
			elf->x86_features = buf[off / 4 + 2];
		off += 8 + (((size_t)datasz + 7) & ~(size_t)7); /* 32-bit math wrapped to 0 here (fuzzer) */
	}
}

static int check_entry(const struct pb_elf *elf, const char *what, struct pb_error *err)
{
	for (unsigned i = 0; i < elf->phnum; i++) {
		const Elf64_Phdr *ph = &elf->phdrs[i];
		if (ph->p_type == PT_LOAD && elf->entry >= ph->p_vaddr &&
		    elf->entry - ph->p_vaddr < ph->p_memsz)
			return 0;
	}
	return FAIL(PB_PARSE_BAD_ENTRY, "%s: e_entry 0x%llx lies in no PT_LOAD", what,
		    (unsigned long long)elf->entry);
}

/* The kernel's bookkeeping: code range, data range, brk, span, alignment, AT_PHDR. */
static void note_load(struct pb_elf *elf, const Elf64_Phdr *ph)
{
	uint64_t end = ph->p_vaddr + ph->p_memsz;

	if (elf->nload++ == 0) {
		elf->lo = PB_PAGE_START(ph->p_vaddr);
		elf->start_code = UINT64_MAX;
	}
	if (PB_PAGE_START(ph->p_vaddr) < elf->lo)
		elf->lo = PB_PAGE_START(ph->p_vaddr);
	if (PB_PAGE_ALIGN(end) > elf->hi)
		elf->hi = PB_PAGE_ALIGN(end);
	if (pb_is_pow2(ph->p_align) && ph->p_align > elf->max_align)
		elf->max_align = ph->p_align;
	if ((ph->p_flags & PF_X) && ph->p_vaddr < elf->start_code)
		elf->start_code = ph->p_vaddr;
	if ((ph->p_flags & PF_X) && ph->p_vaddr + ph->p_filesz > elf->end_code)
		elf->end_code = ph->p_vaddr + ph->p_filesz;
	if (ph->p_vaddr > elf->start_data)
		elf->start_data = ph->p_vaddr;
	if (ph->p_vaddr + ph->p_filesz > elf->end_data)
		elf->end_data = ph->p_vaddr + ph->p_filesz;
	if (end > elf->elf_brk)
		elf->elf_brk = end;
	if (!elf->phdr_in_load && elf->phoff >= ph->p_offset &&
	    elf->phoff < ph->p_offset + ph->p_filesz) {
		elf->phdr_in_load = true;
		elf->phdr_vaddr = elf->phoff - ph->p_offset + ph->p_vaddr;
	}
}

static int check_phdrs(int fd, const uint8_t *head, size_t head_len, unsigned flags, const char *what,
		       struct pb_elf *elf, struct pb_error *err)
{
	bool strict = flags & PB_ELF_STRICT;
	const Elf64_Phdr *prev_load = NULL;
	int r;

	elf->max_align = PB_PAGE_SIZE;
	elf->stack_flags = PF_R | PF_W;
	for (unsigned i = 0; i < elf->phnum; i++) {
		const Elf64_Phdr *ph = &elf->phdrs[i];
		switch (ph->p_type) {
		case PT_LOAD:
			r = check_load(ph, prev_load, elf->nload, flags, what, elf->file_size, err);
			if (r < 0)
				return r;
			note_load(elf, ph);
			prev_load = ph;
			break;
		case PT_INTERP:
			if (elf->interp && strict)
				return FAIL(PB_PARSE_MULTIPLE_INTERP, "%s: more than one PT_INTERP", what);
			if (elf->interp)
				break; /* the kernel takes the first */
			r = read_interp(fd, head, head_len, ph, flags, what, elf->file_size, elf, err);
			if (r < 0)
				return r;
			break;
		case PT_GNU_STACK:
			if (elf->has_gnu_stack && strict)
				return FAIL(PB_PARSE_MULTIPLE_STACK, "%s: more than one PT_GNU_STACK", what);
			if (strict && (ph->p_flags & ~(PF_R | PF_W | PF_X)))
				return FAIL(PB_PARSE_BAD_STACK, "%s: PT_GNU_STACK has unknown flags 0x%x",
					    what, ph->p_flags);
			if (strict && ph->p_memsz > (1ull << 32))
				return FAIL(PB_PARSE_BAD_STACK, "%s: PT_GNU_STACK asks for a %llu-byte stack",
					    what, (unsigned long long)ph->p_memsz);
			elf->has_gnu_stack = true;
			elf->stack_flags = ph->p_flags;
			elf->stack_size = ph->p_memsz;
			break;
		case PT_GNU_PROPERTY:
			read_property(fd, head, head_len, ph, elf);
			break;
		}
	}
	if (elf->nload == 0)
		return FAIL(PB_PARSE_NO_LOAD, "%s: no PT_LOAD program header", what);
	if (elf->start_code == UINT64_MAX)
		elf->start_code = 0;
	if (strict)
		return check_entry(elf, what, err);
	if (elf->entry >= PB_TASK_SIZE)
		return FAIL(PB_PARSE_BAD_ENTRY, "%s: e_entry 0x%llx is outside user space", what,
			    (unsigned long long)elf->entry);
	return 0;
}

int pb_elf_read(int fd, unsigned flags, const char *what, struct pb_elf *ret,
		struct pb_error *err)
{
	return pb_elf_read_head(fd, NULL, 0, flags, what, ret, err);
}

/* The program headers into elf->phdrs: from buf when they lie in it, else read. */
static int read_phdrs(int fd, const unsigned char *buf, size_t n, const Elf64_Ehdr *eh, const char *what,
		      struct pb_elf *elf, struct pb_error *err)
{
	size_t phsize = (size_t)eh->e_phnum * sizeof(Elf64_Phdr);
	ssize_t got;

	elf->phdrs = malloc(phsize);
	if (!elf->phdrs)
		return pb_err_set(err, NULL, PB_ENOMEM, 0, "%s: out of memory", what);
	if (eh->e_phoff + phsize <= (uint64_t)n) {
		memcpy(elf->phdrs, buf + eh->e_phoff, phsize);
		return 0;
	}
	/* got, not n: n stays the length of buf, which read_at trusts */
	got = pb_pread_full(fd, elf->phdrs, phsize, eh->e_phoff);
	if (got < 0)
		return pb_err_sys(err, NULL, (int)got, "%s: reading program headers", what);
	if ((size_t)got != phsize)
		return FAIL(PB_PARSE_PHDRS_OUTSIDE, "%s: program headers cut short", what);
	return 0;
}

int pb_elf_read_head(int fd, const void *head, size_t head_len, unsigned flags, const char *what,
		     struct pb_elf *ret, struct pb_error *err)
{
	struct pb_elf elf = {0};
	unsigned char *own = NULL; /* (on the heap: callers may run on a 16 KiB stack) */
	const unsigned char *buf = head;
	Elf64_Ehdr eh;
	struct stat st;
	ssize_t n = (ssize_t)head_len;
	int r;

	if (fstat(fd, &st) < 0)
		return pb_err_sys(err, NULL, -errno, "%s: fstat", what);
	if (!S_ISREG(st.st_mode))
		return FAIL(PB_PARSE_NOT_REGULAR, "%s: not a regular file", what);
	elf.file_size = (uint64_t)st.st_size;
	/* One read covers the header and, nearly always, the program headers and PT_INTERP. */
	if (!buf) {
		buf = own = malloc(PB_ELF_HEAD);
		n = own ? pb_pread_full(fd, own, PB_ELF_HEAD, 0) : -ENOMEM;
	}
	if (n < 0)
		r = pb_err_sys(err, NULL, (int)n, "%s: reading the ELF header", what);
	else if (is_i386(buf, (size_t)n))
		r = FAIL(PB_PARSE_COMPAT32, "%s: 32-bit (i386) programs need the kernel's exec; run it directly", what);
	else if ((size_t)n < sizeof(eh))
		r = FAIL(PB_PARSE_TRUNCATED, "%s: invalid file header: %zd bytes, an ELF64 header needs %zu",
			 what, n, sizeof(eh));
	else
		r = check_header(memcpy(&eh, buf, sizeof(eh)), flags, what, elf.file_size, err);
	if (r < 0)
		goto out;
	elf.type = eh.e_type;
	elf.machine = eh.e_machine;
	elf.osabi = eh.e_ident[EI_OSABI];
	elf.entry = eh.e_entry;
	elf.phoff = eh.e_phoff;
	elf.phnum = eh.e_phnum;
	r = read_phdrs(fd, buf, (size_t)n, &eh, what, &elf, err);
	if (r == 0)
		r = check_phdrs(fd, buf, (size_t)n, flags, what, &elf, err);
	if (r < 0) {
		pb_elf_clear(&elf);
		goto out;
	}
	*ret = elf;
out:
	free(own);
	return r;
}

uint64_t pb_elf_image_extent(const void *image)
{
	const Elf64_Ehdr *eh = image;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)image + eh->e_phoff);
	uint64_t end = 0;

	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr + ph[i].p_memsz > end)
			end = ph[i].p_vaddr + ph[i].p_memsz;
	return PB_PAGE_ALIGN(end);
}
