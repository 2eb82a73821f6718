// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/fsd/dax.h"
#include "util/log.h"

#define DAX_FREE UINT32_MAX

static struct log_ratelimit dax_rl = LOG_RATELIMIT_INIT;

int dax_init(struct fsd_dax *d, uint64_t window, const struct fsd_dax_ops *ops, void *opaque)
{
	memset(d, 0, sizeof(*d));
	if (!window || window % DAX_CHUNK || window >> DAX_CHUNK_SHIFT > UINT32_MAX / 2)
		return -EINVAL;
	d->ops = ops;
	d->opaque = opaque;
	d->window = window;
	d->nchunks = (uint32_t)(window >> DAX_CHUNK_SHIFT);
	d->owner = malloc(d->nchunks * sizeof(*d->owner));
	d->maps = calloc(d->nchunks, sizeof(*d->maps));
	if (!d->owner || !d->maps) {
		dax_destroy(d);
		return -ENOMEM;
	}
	memset(d->owner, 0xff, d->nchunks * sizeof(*d->owner)); /* DAX_FREE */
	return 0;
}

void dax_destroy(struct fsd_dax *d)
{
	free(d->owner);
	free(d->maps);
	d->owner = NULL;
	d->maps = NULL;
	d->nchunks = 0;
}

/* [@moffset, +@len) is page-granular, chunk-aligned at its start and inside the window. */
static bool range_ok(const struct fsd_dax *d, uint64_t moffset, uint64_t len)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return len && len % page == 0 && moffset % DAX_CHUNK == 0 && moffset < d->window &&
	       len <= d->window - moffset;
}

static uint32_t first_chunk(uint64_t off)
{
	return (uint32_t)(off >> DAX_CHUNK_SHIFT);
}

/* One past the last chunk [@off, +@len) touches. */
static uint32_t end_chunk(uint64_t off, uint64_t len)
{
	return (uint32_t)((off + len + DAX_CHUNK - 1) >> DAX_CHUNK_SHIFT);
}

static void record(struct fsd_dax *d, uint32_t head, const struct dax_mapping *m)
{
	d->maps[head] = *m;
	for (uint32_t c = head; c < end_chunk((uint64_t)head << DAX_CHUNK_SHIFT, m->len); c++)
		d->owner[c] = head;
	d->stats.live++;
}

static void unrecord(struct fsd_dax *d, uint32_t head)
{
	for (uint32_t c = head; c < end_chunk((uint64_t)head << DAX_CHUNK_SHIFT, d->maps[head].len); c++)
		d->owner[c] = DAX_FREE;
	d->maps[head].len = 0;
	d->stats.live--;
}

/* Unmap the mapping that starts at chunk @head; the record follows the frontend's answer. */
static int unmap_one(struct fsd_dax *d, uint32_t head)
{
	uint64_t moffset = (uint64_t)head << DAX_CHUNK_SHIFT;
	int rc = d->ops->unmap(d->opaque, moffset, d->maps[head].len);

	if (rc) {
		log_ratelimited(&dax_rl, LOG_WARN, "dax: the frontend refused to unmap %#llx+%#llx: %s",
				(unsigned long long)moffset, (unsigned long long)d->maps[head].len,
				strerror(-rc));
		return rc;
	}
	unrecord(d, head);
	d->stats.unmaps++;
	return 0;
}

int dax_setup(struct fsd_dax *d, int fd, const struct stat *st, uint64_t foffset, uint64_t moffset,
	      uint64_t len, bool writable)
{
	struct dax_mapping m = { .len = len, .foffset = foffset, .dev = st->st_dev, .ino = st->st_ino,
				 .writable = writable };
	uint32_t head = first_chunk(moffset), end;
	int rc;

	if (!range_ok(d, moffset, len) || foffset % DAX_CHUNK || foffset + len < foffset ||
	    foffset + len > (uint64_t)INT64_MAX)
		return -EINVAL;
	end = end_chunk(moffset, len);
	if (d->owner[head] == head) {
		const struct dax_mapping *o = &d->maps[head];

		/* Linux's read-only → writable upgrade asks for the very same range again. */
		if (o->len == len && o->foffset == foffset && o->dev == m.dev && o->ino == m.ino &&
		    (o->writable || !writable)) {
			d->stats.reused++;
			return 0;
		}
	}
	/* Free the range: vhost-user never maps over a live mapping. */
	for (uint32_t c = head; c < end; c++) {
		if (d->owner[c] == DAX_FREE)
			continue;
		rc = unmap_one(d, d->owner[c]);
		if (rc)
			return rc;
	}
	rc = d->ops->map(d->opaque, fd, foffset, moffset, len, writable);
	if (rc) {
		log_ratelimited(&dax_rl, LOG_WARN, "dax: the frontend refused to map %#llx+%#llx: %s",
				(unsigned long long)moffset, (unsigned long long)len, strerror(-rc));
		return rc;
	}
	record(d, head, &m);
	d->stats.maps++;
	return 0;
}

int dax_remove(struct fsd_dax *d, uint64_t moffset, uint64_t len)
{
	uint32_t head = first_chunk(moffset), end;
	int rc = 0;

	if (!range_ok(d, moffset, len))
		return -EINVAL;
	end = end_chunk(moffset, len);
	/* Whole mappings only: one that starts before or runs past the range is cut. */
	if (d->owner[head] != DAX_FREE && d->owner[head] != head)
		return -EINVAL;
	for (uint32_t c = head; c < end; c++) {
		uint32_t h = d->owner[c];

		if (h == c && (uint64_t)c * DAX_CHUNK + d->maps[c].len > moffset + len)
			return -EINVAL;
	}
	for (uint32_t c = head; c < end; c++) {
		if (d->owner[c] == c) {
			int r = unmap_one(d, c);

			if (r && !rc)
				rc = r;
		}
	}
	return rc;
}

unsigned int dax_unmap_all(struct fsd_dax *d)
{
	unsigned int refused = 0;

	for (uint32_t c = 0; c < d->nchunks && d->stats.live; c++)
		if (d->owner[c] == c && unmap_one(d, c))
			refused++;
	if (refused)
		dax_forget_all(d); /* whatever the frontend kept, we can do nothing more about */
	return refused;
}

void dax_forget_all(struct fsd_dax *d)
{
	if (!d->owner)
		return;
	memset(d->owner, 0xff, d->nchunks * sizeof(*d->owner));
	for (uint32_t c = 0; c < d->nchunks; c++)
		d->maps[c].len = 0;
	d->stats.live = 0;
}
