/* SPDX-License-Identifier: MIT */
/*
 * A plugin for the tests with the ABI stamp plugins carried before stage ABI
 * versions (0x70620000 + sizeof(struct pb_ctx) of the core they copied):
 * refused, and said to be that, not "version 1885470720".
 */
#include <procbuilder/stage.h>

static int oldstamp(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	return 0;
}

PB_PLUGIN_EXPORT const unsigned pb_plugin_abi = 0x70620000u + 7000;
PB_PLUGIN_EXPORT const struct pb_stage_def pb_plugin_stages[] = {
	{"oldstamp", oldstamp, "never added (test plugin)", NULL, NULL, false},
	{0},
};
