/* SPDX-License-Identifier: MIT */
#include "tiny.h"

int tiny_sum(const int *v, int n)
{
	int s = 0;

	for (int i = 0; i < n; i++)
		s += v[i];
	return s;
}
