/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A shared-memory window: the guest-physical range behind one device's
 * shared-memory BAR, holding that device's VIRTIO shared memory regions,
 * into which a backend maps ranges of its own files on demand.
 *
 * The host address space of the whole window is reserved up front with no
 * backing. A map puts the file range there with mmap(MAP_FIXED); an unmap
 * puts the reservation back. How the guest reaches the pages depends on the
 * strategy:
 *
 *  - SHM_STRATEGY_SLOT (default): one memory slot per mapping, read-only
 *    slots for read-only mappings. Holes and writes to read-only mappings
 *    exit to the VMM, which reads zeros and drops writes (shm_window_access).
 *  - SHM_STRATEGY_WINDOW: one memory slot over the whole window; maps and
 *    unmaps are mmap(MAP_FIXED) alone and KVM follows them through its MMU
 *    notifiers. KVM cannot exit on a hole or a protection there, so holes
 *    are private zero memory and read-only mappings are private file
 *    mappings: guest writes never reach a file, but the guest reads back
 *    what it wrote until that range is next mapped or unmapped.
 *
 * Slots go through struct memslot_table, so all of this runs without KVM.
 * Every request is validated here whoever sent it. Thread-safe: one lock.
 */
#ifndef SHMVM_MM_SHM_WINDOW_H
#define SHMVM_MM_SHM_WINDOW_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/memslot.h"
#include "util/compiler.h"

#define SHM_MAX_ID 255u         /* shmids are 0..255 */
#define SHM_MAX_REGIONS 4u      /* per window (one PCI capability each) */
#define SHM_ALIGN (2 * MiB)     /* region placement: Linux maps DAX in 2 MiB pieces */
#define SHM_WINDOW_MAX (32 * GiB) /* largest window (BAR) */
#define SHM_GPA_NONE UINT64_MAX /* the window is not in the guest's address space */
#define SHM_NO_SLOT UINT32_MAX

#define SHM_MAP_F_RW 0x1ULL /* writable mapping (vhost-user VU_SHMEM_MAP_F_RW) */

enum shm_strategy {
	SHM_STRATEGY_SLOT,
	SHM_STRATEGY_WINDOW,
};

struct shm_region {
	uint8_t id;
	uint64_t off;  /* from the window's start, SHM_ALIGN-aligned */
	uint64_t size; /* page multiple */
};

struct shm_mapping {
	uint8_t shmid;
	uint64_t shm_offset; /* in its region */
	uint64_t off;        /* in the window: region offset + shm_offset */
	uint64_t len;
	uint64_t fd_offset;
	uint32_t flags;      /* SHM_MAP_F_* */
	uint32_t slot;       /* SHM_NO_SLOT: none (window strategy, or window not in the guest) */
	uint64_t dev, ino;   /* the backing file */
};

struct shm_stats {
	uint64_t maps, unmaps;                 /* done */
	uint64_t refused_maps, refused_unmaps; /* refused */
	uint64_t hole_reads, hole_writes;      /* guest accesses that found nothing mapped */
	uint64_t ro_writes;                    /* guest writes to read-only mappings */
};

struct shm_window {
	pthread_mutex_t lock;
	const char *name; /* for log lines */
	enum shm_strategy strategy;
	struct memslot_table *slots;
	uint8_t *hva;  /* reserved host range */
	uint64_t size; /* = BAR size: a power of two */
	uint64_t gpa;  /* where the guest sees it, SHM_GPA_NONE if nowhere */
	uint32_t window_slot;
	unsigned int nr_regions;
	struct shm_region regions[SHM_MAX_REGIONS];
	struct shm_mapping *maps; /* sorted by off, never overlapping */
	size_t nr_maps, cap_maps;
	struct shm_stats stats;
};

const char *shm_strategy_name(enum shm_strategy s);
/* "slot" or "window" → 0, else -EINVAL. */
int shm_strategy_parse(const char *s, enum shm_strategy *out) __must_check;

/*
 * Lay out @n regions (@sizes[i] bytes for id @ids[i]) and reserve the host
 * range. Sizes must be non-zero page multiples, ids distinct, the whole at
 * most SHM_WINDOW_MAX; a bad one is named in one log line and gives -EINVAL.
 */
int shm_window_init(struct shm_window *w, const char *name, enum shm_strategy strategy,
		    struct memslot_table *slots, const uint8_t *ids, const uint64_t *sizes,
		    unsigned int n) __must_check;
/* Drop every mapping and the reservation. */
void shm_window_destroy(struct shm_window *w);

/* The region with id @shmid, NULL if none. */
const struct shm_region *shm_window_region(const struct shm_window *w, uint8_t shmid);

/*
 * Put the window at guest address @gpa (SHM_GPA_NONE: take it out of the
 * guest), moving every live mapping's slot with it. A slot that cannot be
 * re-registered is logged; its mapping stays and counts no slot.
 */
void shm_window_set_gpa(struct shm_window *w, uint64_t gpa);

/*
 * Map [@fd_offset, @fd_offset + @len) of @fd at @shm_offset of region
 * @shmid. The caller keeps @fd (the mapping holds its own reference).
 * 0, or -errno with nothing left behind: -EINVAL (unknown region or flag,
 * zero or unaligned), -EOVERFLOW, -ERANGE (outside the region), -EEXIST
 * (overlaps a live mapping), -EBADF, or what mmap or the slot refused.
 */
int shm_window_map(struct shm_window *w, uint8_t shmid, uint64_t shm_offset, uint64_t len, int fd,
		   uint64_t fd_offset, uint64_t flags) __must_check;
/* Unmap exactly one whole live mapping: 0, -EINVAL or -ENOENT. */
int shm_window_unmap(struct shm_window *w, uint8_t shmid, uint64_t shm_offset,
		     uint64_t len) __must_check;
/* Drop every mapping (reset, disconnect, exit); returns how many. */
size_t shm_window_unmap_all(struct shm_window *w);

/*
 * A guest access at window offset @off that KVM could not satisfy (slot
 * strategy): reads give zeros, writes are dropped; counted, logged with a
 * rate limit.
 */
void shm_window_access(struct shm_window *w, uint64_t off, void *data, uint32_t len, bool write);

/* Live mappings, for reports: @fn is called for each with the lock held. */
void shm_window_for_each(struct shm_window *w,
			 void (*fn)(const struct shm_mapping *m, void *opaque), void *opaque);
size_t shm_window_count(struct shm_window *w);
struct shm_stats shm_window_stats(struct shm_window *w);

#endif
