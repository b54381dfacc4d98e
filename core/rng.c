/* SPDX-License-Identifier: MIT */
#include <string.h>
#include <sys/random.h>

#include "core/rng.h"

void pb_rng_init(struct pb_rng *rng)
{
	rng->seeded = false;
	rng->state = 0;
	rng->pool_left = 0;
}

void pb_rng_seed(struct pb_rng *rng, uint64_t seed)
{
	rng->seeded = true;
	rng->state = seed;
}

/* splitmix64: small, and the same sequence for the same seed everywhere. */
static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void pb_rng_bytes(struct pb_rng *rng, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (!rng->seeded && len > 0) {
		size_t n;
		if (rng->pool_left == 0) {
			ssize_t got = getrandom(rng->pool, sizeof(rng->pool), 0);
			if (got <= 0)
				break; /* no kernel randomness: fall through to splitmix */
			memmove(rng->pool + sizeof(rng->pool) - got, rng->pool, (size_t)got); /* draws come from the end */
			rng->pool_left = (size_t)got;
		}
		n = len < rng->pool_left ? len : rng->pool_left;
		memcpy(p, rng->pool + sizeof(rng->pool) - rng->pool_left, n);
		/* what was handed out is not handed out again */
		memset(rng->pool + sizeof(rng->pool) - rng->pool_left, 0, n);
		rng->pool_left -= n;
		p += n;
		len -= n;
	}
	if (len == 0)
		return;
	while (len > 0) {
		uint64_t v = splitmix64(&rng->state);
		size_t n = len < 8 ? len : 8;
		memcpy(p, &v, n);
		p += n;
		len -= n;
	}
}

uint64_t pb_rng_u64(struct pb_rng *rng)
{
	uint64_t v;

	pb_rng_bytes(rng, &v, sizeof(v));
	return v;
}
