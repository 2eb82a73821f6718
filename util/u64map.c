// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>

#include "util/u64map.h"

static uint32_t home(const struct u64map *m, uint64_t key)
{
	return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & m->mask;
}

/* The slot holding @key, or the empty one where it would go. */
static uint32_t probe(const struct u64map *m, uint64_t key)
{
	uint32_t i = home(m, key);

	while (m->slots[i].used && m->slots[i].key != key)
		i = (i + 1) & m->mask;
	return i;
}

void u64map_destroy(struct u64map *m)
{
	free(m->slots);
	*m = (struct u64map){ 0 };
}

bool u64map_get(const struct u64map *m, uint64_t key, uint64_t *val)
{
	uint32_t i;

	if (!m->slots)
		return false;
	i = probe(m, key);
	if (!m->slots[i].used)
		return false;
	*val = m->slots[i].val;
	return true;
}

/* Rehash into @size slots (a power of two). */
static int resize(struct u64map *m, uint32_t size)
{
	struct u64map old = *m;

	m->slots = calloc(size, sizeof(*m->slots));
	if (!m->slots) {
		*m = old;
		return -ENOMEM;
	}
	m->mask = size - 1;
	for (uint32_t i = 0; old.slots && i <= old.mask; i++)
		if (old.slots[i].used)
			m->slots[probe(m, old.slots[i].key)] = old.slots[i];
	free(old.slots);
	return 0;
}

int u64map_put(struct u64map *m, uint64_t key, uint64_t val)
{
	uint32_t i;

	if (!m->slots || 2 * (m->count + 1) > m->mask + 1) {
		uint32_t size = m->slots ? 2 * (m->mask + 1) : 16;

		if (!size || resize(m, size))
			return -ENOMEM;
	}
	i = probe(m, key);
	if (!m->slots[i].used)
		m->count++;
	m->slots[i] = (struct u64map_slot){ .key = key, .val = val, .used = true };
	return 0;
}

bool u64map_take(struct u64map *m, uint64_t key, uint64_t *val)
{
	uint32_t i, j;

	if (!m->slots)
		return false;
	i = probe(m, key);
	if (!m->slots[i].used)
		return false;
	if (val)
		*val = m->slots[i].val;
	m->slots[i].used = false;
	m->count--;
	/* Backward shift: move later entries of the run into the hole unless they sit at home. */
	for (j = (i + 1) & m->mask; m->slots[j].used; j = (j + 1) & m->mask) {
		uint32_t h = home(m, m->slots[j].key);

		/* j's home cyclically in (i, j]: it stays. */
		if (i <= j ? i < h && h <= j : i < h || h <= j)
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].used = false;
		i = j;
	}
	return true;
}
