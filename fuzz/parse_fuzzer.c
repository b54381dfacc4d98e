/* SPDX-License-Identifier: MIT */
/* The ELF parser on any bytes, strict and lax: an error or a parse, never a crash. */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	struct pb_error err;
	struct pb_elf elf;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		__builtin_trap();
	for (unsigned flags = 0; flags <= PB_ELF_STRICT; flags += PB_ELF_STRICT) {
		if (pb_elf_read(fd, flags, "fuzz", &elf, &err) == 0) {
			/* what a parse promises the stages */
			if (elf.nload == 0 || elf.lo > elf.hi || elf.phnum == 0 || !elf.phdrs)
				__builtin_trap();
			pb_elf_clear(&elf);
		} else if (!err.msg[0]) {
			__builtin_trap();
		}
	}
	close(fd);
	return 0;
}
