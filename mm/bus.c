// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm/bus.h"

void bus_init(struct bus *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	pthread_rwlock_init(&b->lock, NULL);
	b->name = name;
}

void bus_destroy(struct bus *b)
{
	free(b->ranges);
	b->ranges = NULL;
	b->nr = b->cap = 0;
	pthread_rwlock_destroy(&b->lock);
}

/* Index of the first range whose end is above @addr (binary search). Caller holds the lock. */
static size_t bus_lower_bound(const struct bus *b, uint64_t addr)
{
	size_t lo = 0, hi = b->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &b->ranges[mid];

		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int bus_register(struct bus *b, uint64_t base, uint64_t len, const struct bus_ops *ops, void *dev)
{
	size_t i;
	int rc = 0;

	if (!len || base + len < base || !ops)
		return -EINVAL;
	pthread_rwlock_wrlock(&b->lock);
	i = bus_lower_bound(b, base);
	if (i < b->nr && b->ranges[i].base < base + len) {
		rc = -EEXIST;
		goto out;
	}
	if (b->nr == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct bus_range *n = realloc(b->ranges, cap * sizeof(*n));

		if (!n) {
			rc = -ENOMEM;
			goto out;
		}
		b->ranges = n;
		b->cap = cap;
	}
	memmove(&b->ranges[i + 1], &b->ranges[i], (b->nr - i) * sizeof(b->ranges[0]));
	b->ranges[i] = (struct bus_range){ .base = base, .len = len, .ops = ops, .dev = dev };
	b->nr++;
out:
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

int bus_unregister(struct bus *b, uint64_t base, void *dev)
{
	size_t i;
	int rc = -ENOENT;

	pthread_rwlock_wrlock(&b->lock);
	i = bus_lower_bound(b, base);
	if (i < b->nr && b->ranges[i].base == base && b->ranges[i].dev == dev) {
		memmove(&b->ranges[i], &b->ranges[i + 1], (b->nr - i - 1) * sizeof(b->ranges[0]));
		b->nr--;
		rc = 0;
	}
	pthread_rwlock_unlock(&b->lock);
	return rc;
}

/*
 * Copy the matching range out under the read lock and call it unlocked, so a
 * callback can change this bus. Devices live as long as the VM, so the copied
 * pointers stay valid.
 */
static bool bus_find(struct bus *b, uint64_t addr, uint32_t len, struct bus_range *out)
{
	bool found = false;
	size_t i;

	if (len == 0 || len > 8 || addr + len < addr)
		return false;
	pthread_rwlock_rdlock(&b->lock);
	i = bus_lower_bound(b, addr);
	if (i < b->nr && b->ranges[i].base <= addr &&
	    addr + len <= b->ranges[i].base + b->ranges[i].len) {
		*out = b->ranges[i];
		found = true;
	}
	pthread_rwlock_unlock(&b->lock);
	return found;
}

bool bus_read(struct bus *b, uint64_t addr, void *data, uint32_t len)
{
	struct bus_range r;

	if (!bus_find(b, addr, len, &r))
		return false;
	if (r.ops->read)
		r.ops->read(r.dev, addr - r.base, data, len);
	else
		memset(data, 0xff, len);
	return true;
}

bool bus_write(struct bus *b, uint64_t addr, const void *data, uint32_t len)
{
	struct bus_range r;

	if (!bus_find(b, addr, len, &r))
		return false;
	if (r.ops->write)
		r.ops->write(r.dev, addr - r.base, data, len);
	return true;
}
