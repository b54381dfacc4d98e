/* SPDX-License-Identifier: MIT */
/* A C program that does nothing: what procbuilder --version is measured against. */
int main(void)
{
	return 0;
}
