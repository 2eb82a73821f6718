/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Memory-slot allocator: hands out KVM slot numbers and registers the
 * slot through an ops table, so the same code runs against KVM in shmvm
 * and against a fake in tests. Thread-safe.
 */
#ifndef SHMVM_MM_MEMSLOT_H
#define SHMVM_MM_MEMSLOT_H

#include <pthread.h>
#include <stdint.h>

#include "util/compiler.h"

#define MEMSLOT_F_READONLY (1u << 1) /* same value as KVM_MEM_READONLY */

struct memslot_ops {
	/* Install (size != 0) or delete (size == 0) slot @slot. 0 or -errno. */
	int (*set)(void *opaque, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		   void *hva);
};

struct memslot_table {
	pthread_mutex_t lock;
	const struct memslot_ops *ops;
	void *opaque;
	uint32_t nr_slots;  /* slot numbers are [0, nr_slots) */
	uint32_t used;
	uint64_t *bitmap;
};

/* @nr_slots from KVM_CAP_NR_MEMSLOTS (> 0). */
int memslot_table_init(struct memslot_table *t, uint32_t nr_slots, const struct memslot_ops *ops,
		       void *opaque) __must_check;
void memslot_table_destroy(struct memslot_table *t);

/* Allocate the lowest free slot, register it; on failure nothing is left allocated. */
int memslot_add(struct memslot_table *t, uint64_t gpa, uint64_t size, void *hva, uint32_t flags,
		uint32_t *slot) __must_check;
/* Re-register live slot @slot at a new guest address (a moved BAR). */
int memslot_move(struct memslot_table *t, uint32_t slot, uint64_t old_gpa, uint64_t new_gpa,
		 uint64_t size, void *hva, uint32_t flags) __must_check;
/* Unregister and free @slot. */
int memslot_del(struct memslot_table *t, uint32_t slot) __must_check;
/* Number of live slots. */
uint32_t memslot_count(struct memslot_table *t);

#endif
