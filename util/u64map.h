/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A map from 64-bit keys to 64-bit values: open addressing with linear
 * probing, backward-shift deletion (no tombstones), grown to keep it at most
 * half full. O(1) expected per operation. Not thread-safe.
 */
#ifndef SHMVM_UTIL_U64MAP_H
#define SHMVM_UTIL_U64MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

struct u64map_slot {
	uint64_t key, val;
	bool used;
};

struct u64map {
	struct u64map_slot *slots; /* NULL until the first put */
	uint32_t mask;		   /* slots - 1 (a power of two) */
	uint32_t count;
};

/* An empty map needs no set-up: struct u64map m = {0}. */
void u64map_destroy(struct u64map *m);
/* true and *@val if @key is there. */
bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val);
/* Insert or replace: 0, or -ENOMEM (the map is unchanged). */
int u64map_put(struct u64map *m, uint64_t key, uint64_t val) __must_check;
/* Remove @key: true and *@val (if @val) if it was there. */
bool u64map_take(struct u64map *m, uint64_t key, uint64_t *val);

#endif
