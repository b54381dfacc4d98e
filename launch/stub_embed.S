/* SPDX-License-Identifier: MIT */
/* The stub binary, built by ninja, embedded as read-only data. */
	.section .rodata, "a"
	.balign 16
	.globl pb_stub_image
	.hidden pb_stub_image
pb_stub_image:
	.incbin PB_STUB_PATH
	.globl pb_stub_image_end
	.hidden pb_stub_image_end
pb_stub_image_end:
	.section .note.GNU-stack, "", @progbits
