/* SPDX-License-Identifier: MIT */
/*
 * A plugin for the tests that tells whether it was loaded: its constructor
 * runs at dlopen, before any of its stages could be looked at, and creates
 * the file $PB_TEST_PLUGIN_MARKER names. Its stage, "marker", does nothing.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <procbuilder/stage.h>

__attribute__((constructor)) static void create_marker(void)
{
	const char *path = getenv("PB_TEST_PLUGIN_MARKER");
	int fd = path ? open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;

	if (fd >= 0)
		close(fd);
}

static int marker(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	return 0;
}

PB_PLUGIN_EXPORT const unsigned pb_plugin_abi = PB_STAGE_ABI_VERSION;
PB_PLUGIN_EXPORT const struct pb_stage_def pb_plugin_stages[] = {
	{"marker", marker, "does nothing (test plugin)", NULL, (const char *const[]){"parse", NULL}, false},
	{0},
};
