/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shmvm-fsd's DAX window: what it has mapped there for the guest.
 *
 * The guest's virtio-fs driver asks for a file range at an offset of the
 * window (FUSE_SETUPMAPPING) and gives ranges back (FUSE_REMOVEMAPPING);
 * the mapping itself is done by the frontend, through the ops below
 * (SHMEM_MAP / SHMEM_UNMAP on the vhost-user backend channel). FUSE lets a
 * new mapping replace whatever was there; vhost-user forbids a map over a
 * live mapping and unmaps only whole mappings. This record bridges the two:
 * a setup first unmaps every mapping it overlaps, and at unmount or a new
 * session everything still mapped is unmapped.
 *
 * shmvm-fsd announces a 2 MiB mapping alignment (FUSE_MAP_ALIGNMENT 21,
 * Linux's DAX range size), so every mapping starts on a 2 MiB chunk of the
 * window and each chunk belongs to at most one mapping: the record is an
 * array over the chunks, every operation O(chunks it touches).
 *
 * Read-only requests are mapped read-write when the file could be opened
 * so (the caller decides): Linux upgrades a read-only range by asking for
 * the identical range writable, which then needs no unmap, and so never
 * leaves a hole another vCPU could read zeros from meanwhile.
 *
 * Not thread-safe: shmvm-fsd serves every queue and the vhost-user channel
 * from one thread.
 */
#ifndef SHMVM_FSD_DAX_H
#define SHMVM_FSD_DAX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util/compiler.h"

#define DAX_CHUNK_SHIFT 21
#define DAX_CHUNK (1ULL << DAX_CHUNK_SHIFT)

/* How mappings are made: by the vhost-user frontend, for shmvm-fsd. */
struct fsd_dax_ops {
	/* Map [@foffset, +@len) of @fd (the caller closes it) at window offset @moffset: 0 or -errno. */
	int (*map)(void *opaque, int fd, uint64_t foffset, uint64_t moffset, uint64_t len,
		   bool writable);
	/* Unmap exactly the mapping at [@moffset, +@len): 0 or -errno. */
	int (*unmap)(void *opaque, uint64_t moffset, uint64_t len);
};

struct dax_mapping {
	uint64_t len; /* 0: no mapping starts at this chunk */
	uint64_t foffset;
	dev_t dev;
	ino_t ino;
	bool writable;
};

struct dax_stats {
	uint64_t maps, unmaps; /* done through the ops */
	uint64_t reused;       /* setups the live mapping already satisfied */
	uint64_t live;         /* mappings now */
};

struct fsd_dax {
	const struct fsd_dax_ops *ops;
	void *opaque;
	uint64_t window;           /* bytes, a multiple of DAX_CHUNK */
	uint32_t nchunks;
	uint32_t *owner;           /* chunk → first chunk of its mapping, DAX_FREE if none */
	struct dax_mapping *maps;  /* by first chunk */
	struct dax_stats stats;
};

/* A @window-byte window (a non-zero multiple of DAX_CHUNK) mapped through @ops: 0, -EINVAL or -ENOMEM. */
int dax_init(struct fsd_dax *d, uint64_t window, const struct fsd_dax_ops *ops,
	     void *opaque) __must_check;
void dax_destroy(struct fsd_dax *d);

/*
 * FUSE_SETUPMAPPING: map [@foffset, +@len) of the file open as @fd (regular,
 * described by @st) at @moffset, @writable or not. An identical live
 * mapping that is at least as writable is kept (0). Otherwise every
 * mapping it overlaps is unmapped first. 0, or -EINVAL (unaligned, zero,
 * overflowing or outside the window) or what the frontend refused; after a
 * refused map the range is free.
 */
int dax_setup(struct fsd_dax *d, int fd, const struct stat *st, uint64_t foffset, uint64_t moffset,
	      uint64_t len, bool writable) __must_check;

/*
 * One FUSE_REMOVEMAPPING entry: unmap every mapping inside [@moffset,
 * +@len); nothing there is fine (0). -EINVAL if the range is bad or cuts a
 * mapping, else the first error of the frontend (the rest are still tried).
 */
int dax_remove(struct fsd_dax *d, uint64_t moffset, uint64_t len) __must_check;

/* Unmap everything (unmount, new session); returns how many the frontend refused. */
unsigned int dax_unmap_all(struct fsd_dax *d);
/* Forget everything without a word to the frontend, which already dropped it (reset, disconnect). */
void dax_forget_all(struct fsd_dax *d);

#endif
