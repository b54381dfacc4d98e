/* SPDX-License-Identifier: MIT */
int tiny_sum(const int *v, int n);
const char *tiny_word(int i);
int count_words(const char *s);
