/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An I/O address space (port I/O or MMIO): non-overlapping ranges, each
 * owned by a device with read/write callbacks. Callbacks get the offset
 * relative to the start of their range. vCPU threads dispatch concurrently;
 * a callback may itself register, move or remove ranges on any bus (a PCI
 * config write that moves a BAR does).
 */
#ifndef SHMVM_MM_BUS_H
#define SHMVM_MM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

struct bus_ops {
	void (*read)(void *dev, uint64_t offset, void *data, uint32_t len);
	void (*write)(void *dev, uint64_t offset, const void *data, uint32_t len);
};

struct bus_range {
	uint64_t base;
	uint64_t len;
	const struct bus_ops *ops;
	void *dev;
};

struct bus {
	pthread_rwlock_t lock;
	const char *name; /* "pio" or "mmio", for log lines */
	struct bus_range *ranges; /* sorted by base, non-overlapping */
	size_t nr, cap;
};

void bus_init(struct bus *b, const char *name);
void bus_destroy(struct bus *b);

/* Claim [base, base + len) for @dev; -EEXIST if it overlaps, -EINVAL if len 0 or it wraps. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops,
		 void *dev) __must_check;
/* Release the range starting at @base owned by @dev; -ENOENT if none. */
int bus_unregister(struct bus *b, uint64_t base, void *dev) __must_check;

/*
 * Dispatch an access of @len bytes (1..8) at @addr. The whole access must
 * fall inside one range. Returns false if nothing claims it; the caller
 * decides what an unclaimed access does (reads return all-ones for PIO).
 */
bool bus_read(struct bus *b, uint64_t addr, void *data, uint32_t len);
bool bus_write(struct bus *b, uint64_t addr, const void *data, uint32_t len);

#endif
