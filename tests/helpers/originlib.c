/* SPDX-License-Identifier: MIT */
/* The library tests/helpers/origin.c finds through its $ORIGIN/../lib rpath. */
int pb_origin_answer(void);

int pb_origin_answer(void)
{
	return 42;
}
