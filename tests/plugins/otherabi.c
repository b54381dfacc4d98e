/* SPDX-License-Identifier: MIT */
/*
 * A plugin for the tests built for another stage ABI version than this
 * procbuilder's: loading it must fail, naming it and both versions, before
 * any of its stages is added.
 */
#include <procbuilder/stage.h>

static int otherabi(struct pb_ctx *ctx, const struct pb_stage_opts *opts)
{
	return 0;
}

PB_PLUGIN_EXPORT const unsigned pb_plugin_abi = PB_STAGE_ABI_VERSION + 1;
PB_PLUGIN_EXPORT const struct pb_stage_def pb_plugin_stages[] = {
	{"otherabi", otherabi, "never added (test plugin)", NULL, NULL, false},
	{0},
};
