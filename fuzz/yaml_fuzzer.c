/* SPDX-License-Identifier: MIT */
/* The pipeline loader on any text: a pipeline, or an error with FILE:LINE:COL. */
#include <stdint.h>
#include <string.h>

#include "pipeline/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pb_pipeline *p = NULL;
	struct pb_error err;

	/* plugins would run code from the input: not what is fuzzed here */
	if (memmem(data, size, "plugins", 7))
		return 0;
	if (pb_pipeline_load_text((const char *)data, size, "f.yaml", NULL, 0, &p, &err) == 0) {
		if (pb_pipeline_validate(p, &err) != 0)
			__builtin_trap();
		pb_pipeline_free(p);
	} else if (strncmp(err.msg, "f.yaml:", 7) != 0 && err.code == PB_EINVAL) {
		__builtin_trap();
	}
	return 0;
}
