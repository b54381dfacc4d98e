/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/common/elfgen.h"

static void base(struct elfgen *g, uint16_t type, uint64_t vbase, int code)
{
	/* mov edi, code; mov eax, 60 (exit); syscall */
	const uint8_t text[] = {0xbf, (uint8_t)code, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05};

	memset(g, 0, sizeof(*g));
	memcpy(g->eh.e_ident, ELFMAG, SELFMAG);
	g->eh.e_ident[EI_CLASS] = ELFCLASS64;
	g->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	g->eh.e_ident[EI_VERSION] = EV_CURRENT;
	g->eh.e_type = type;
	g->eh.e_machine = EM_X86_64;
	g->eh.e_version = EV_CURRENT;
	g->eh.e_entry = vbase + ELFGEN_CODE_OFF;
	g->eh.e_phoff = sizeof(Elf64_Ehdr);
	g->eh.e_ehsize = sizeof(Elf64_Ehdr);
	g->eh.e_phentsize = sizeof(Elf64_Phdr);
	memcpy(g->body + ELFGEN_CODE_OFF, text, sizeof(text));
	memcpy(g->body + 0x1000, "procbuilder-data", 16);
	g->size = 0x1010;
	elfgen_add(g, &(Elf64_Phdr){.p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0,
				    .p_vaddr = vbase, .p_paddr = vbase, .p_filesz = 0x1000,
				    .p_memsz = 0x1000, .p_align = 0x1000});
	elfgen_add(g, &(Elf64_Phdr){.p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = 0x1000,
				    .p_vaddr = vbase + 0x1000, .p_paddr = vbase + 0x1000,
				    .p_filesz = 0x10, .p_memsz = 0x2000, .p_align = 0x1000});
	elfgen_add(g, &(Elf64_Phdr){.p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W, .p_align = 16});
}

void elfgen_static_exec(struct elfgen *g, int code)
{
	base(g, ET_EXEC, 0x400000, code);
}

void elfgen_static_pie(struct elfgen *g, int code)
{
	base(g, ET_DYN, 0, code);
}

unsigned elfgen_add(struct elfgen *g, const Elf64_Phdr *ph)
{
	g->ph[g->nph] = *ph;
	g->eh.e_phnum = (Elf64_Half)(g->nph + 1);
	return g->nph++;
}

unsigned elfgen_add_interp(struct elfgen *g, const char *path)
{
	size_t len = strlen(path) + 1;

	memcpy(g->body + ELFGEN_INTERP_OFF, path, len);
	return elfgen_add(g, &(Elf64_Phdr){.p_type = PT_INTERP, .p_flags = PF_R,
					   .p_offset = ELFGEN_INTERP_OFF,
					   .p_vaddr = g->ph[0].p_vaddr + ELFGEN_INTERP_OFF,
					   .p_filesz = len, .p_memsz = len, .p_align = 1});
}

const uint8_t *elfgen_bytes(struct elfgen *g)
{
	memcpy(g->body, &g->eh, sizeof(g->eh));
	if (g->eh.e_phoff < ELFGEN_MAX_SIZE &&
	    g->eh.e_phoff + g->nph * sizeof(Elf64_Phdr) <= ELFGEN_MAX_SIZE)
		memcpy(g->body + g->eh.e_phoff, g->ph, g->nph * sizeof(Elf64_Phdr));
	return g->body;
}

int elfgen_fd(struct elfgen *g)
{
	int fd = memfd_create("elfgen", MFD_CLOEXEC);
	const uint8_t *bytes = elfgen_bytes(g);
	char path[64];
	int ro;

	if (fd < 0)
		return -1;
	if (write(fd, bytes, g->size) != (ssize_t)g->size) {
		close(fd);
		return -1;
	}
	/* A writable fd would make execve fail with ETXTBSY: hand out a read-only one. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	close(fd);
	return ro;
}

struct kernel_verdict kernel_exec_fd(int fd)
{
	struct kernel_verdict v = {0, -1, 0};
	int pipefd[2], status, e = 0;
	char *argv[] = {"elfgen", NULL}, *envp[] = {NULL};
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return v;
	pid = fork();
	if (pid == 0) {
		syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
		e = errno;
		(void)!write(pipefd[1], &e, sizeof(e));
		_exit(127);
	}
	close(pipefd[1]);
	if (read(pipefd[0], &e, sizeof(e)) == sizeof(e))
		v.exec_errno = e;
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	if (!v.exec_errno && WIFEXITED(status))
		v.exit_code = WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		v.signal = WTERMSIG(status);
	return v;
}
