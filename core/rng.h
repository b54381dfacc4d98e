/* SPDX-License-Identifier: MIT */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Randomness for placement and AT_RANDOM: the kernel's getrandom, or a seeded generator. */
struct pb_rng {
	bool seeded;
	uint64_t state;
	uint8_t pool[256];	/* getrandom in one call, not one per draw */
	size_t pool_left;
};

void pb_rng_init(struct pb_rng *rng);
void pb_rng_seed(struct pb_rng *rng, uint64_t seed);
uint64_t pb_rng_u64(struct pb_rng *rng);
void pb_rng_bytes(struct pb_rng *rng, void *buf, size_t len);
