// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mm/memslot.h"

#define BITS 64u

int memslot_table_init(struct memslot_table *t, uint32_t nr_slots, const struct memslot_ops *ops,
		       void *opaque)
{
	memset(t, 0, sizeof(*t));
	if (!nr_slots || !ops || !ops->set)
		return -EINVAL;
	t->bitmap = calloc((nr_slots + BITS - 1) / BITS, sizeof(uint64_t));
	if (!t->bitmap)
		return -ENOMEM;
	pthread_mutex_init(&t->lock, NULL);
	t->ops = ops;
	t->opaque = opaque;
	t->nr_slots = nr_slots;
	return 0;
}

void memslot_table_destroy(struct memslot_table *t)
{
	if (!t->bitmap)
		return;
	free(t->bitmap);
	t->bitmap = NULL;
	pthread_mutex_destroy(&t->lock);
}

static int slot_find_free(const struct memslot_table *t, uint32_t *slot)
{
	for (uint32_t w = 0; w * BITS < t->nr_slots; w++) {
		uint64_t free_bits = ~t->bitmap[w];
		uint32_t s;

		if (!free_bits)
			continue;
		s = w * BITS + (uint32_t)__builtin_ctzll(free_bits);
		if (s >= t->nr_slots)
			break;
		*slot = s;
		return 0;
	}
	return -ENOSPC;
}

static bool slot_live(const struct memslot_table *t, uint32_t slot)
{
	return slot < t->nr_slots && (t->bitmap[slot / BITS] >> (slot % BITS)) & 1;
}

int memslot_add(struct memslot_table *t, uint64_t gpa, uint64_t size, void *hva, uint32_t flags,
		uint32_t *slot)
{
	uint32_t s;
	int rc;

	if (!size)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	rc = slot_find_free(t, &s);
	if (!rc)
		rc = t->ops->set(t->opaque, s, flags, gpa, size, hva);
	if (!rc) {
		t->bitmap[s / BITS] |= 1ULL << (s % BITS);
		t->used++;
		*slot = s;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int memslot_move(struct memslot_table *t, uint32_t slot, uint64_t old_gpa, uint64_t new_gpa,
		 uint64_t size, void *hva, uint32_t flags)
{
	int rc;

	pthread_mutex_lock(&t->lock);
	if (!slot_live(t, slot)) {
		rc = -ENOENT;
		goto out;
	}
	/* KVM cannot change a slot's address in place: delete, then re-create. */
	rc = t->ops->set(t->opaque, slot, flags, old_gpa, 0, hva);
	if (rc)
		goto out;
	rc = t->ops->set(t->opaque, slot, flags, new_gpa, size, hva);
	if (rc) {
		/* The slot is gone from KVM; free its number so the caller's state matches. */
		t->bitmap[slot / BITS] &= ~(1ULL << (slot % BITS));
		t->used--;
	}
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int memslot_del(struct memslot_table *t, uint32_t slot)
{
	int rc;

	pthread_mutex_lock(&t->lock);
	if (!slot_live(t, slot)) {
		rc = -ENOENT;
		goto out;
	}
	rc = t->ops->set(t->opaque, slot, 0, 0, 0, NULL);
	if (!rc) {
		t->bitmap[slot / BITS] &= ~(1ULL << (slot % BITS));
		t->used--;
	}
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

uint32_t memslot_count(struct memslot_table *t)
{
	uint32_t n;

	pthread_mutex_lock(&t->lock);
	n = t->used;
	pthread_mutex_unlock(&t->lock);
	return n;
}
