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
#include "util/u64map.h"
#include "util/compiler.h"

#define SHM_MAX_ID 255u         /* shmids are 0..255 */
#define SHM_MAX_REGIONS 4u      /* per window (one PCI capability each) */
#define SHM_ALIGN (2 * MiB)     /* region placement: Linux maps DAX in 2 MiB pieces */
#define SHM_WINDOW_MAX (32 * GiB) /* largest window (BAR) */
#define SHM_GPA_NONE UINT64_MAX /* the window is not in the guest's address space */
#define SHM_NO_SLOT UINT32_MAX

#define SHM_IDLE_WATCHES 32u /* watches kept after their file's last unmap */
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
	uint64_t file_len;   /* leading bytes still the file's: len, less what a repair replaced */
	uint64_t ok_len;     /* of those, the leading bytes within the file's end at the last look;
				[ok_len, file_len) is held: PROT_NONE, so a guest access fails KVM_RUN */
	uint64_t held_seq;   /* when that hold last grew (shm_window_newest_hold()), 0: none */
	int wd;              /* inotify watch on the file (shared by its mappings), -1 if none */
	bool announced;      /* ops->mapped() was called for it at the current gpa */
	uint32_t left, right, prio; /* the window's ordered index: a treap by off (indexes in maps) */
};

struct shm_stats {
	uint64_t maps, unmaps;                 /* done */
	uint64_t refused_maps, refused_unmaps; /* refused */
	uint64_t hole_reads, hole_writes;      /* guest accesses that found nothing mapped */
	uint64_t ro_writes;                    /* guest writes to read-only mappings */
	uint64_t eof_pages;                    /* pages past a file's end replaced by zeros */
	uint64_t eof_held, eof_released;       /* pages past a file's end held, and given back */
};

/*
 * Who else must hear of the mappings (optional: shm_window_set_ops()). Both
 * are called with the window's lock held, only while the window is in the
 * guest's address space (gpa != SHM_GPA_NONE); they must not call into the
 * window and must not wait for anyone (the caller of shm_window_map() may
 * be answering a backend that is blocked until it gets that answer).
 */
struct shm_window_ops {
	/* @m is now mapped at guest address @gpa, host address @hva; @fd is open until return. */
	void (*mapped)(void *opaque, const struct shm_mapping *m, uint64_t gpa, void *hva, int fd);
	/* @m, announced at @gpa, is about to be unmapped, or the window is leaving @gpa. */
	void (*unmapped)(void *opaque, const struct shm_mapping *m, uint64_t gpa);
};

struct shm_window {
	pthread_mutex_t lock;
	const struct shm_window_ops *ops; /* NULL: nobody to tell */
	void *ops_opaque;
	const char *name; /* for log lines */
	int watch_fd;     /* inotify instance watching the mapped files, -1 if none */
	enum shm_strategy strategy;
	struct memslot_table *slots;
	uint8_t *hva;  /* reserved host range */
	uint64_t size; /* = BAR size: a power of two */
	uint64_t gpa;  /* where the guest sees it, SHM_GPA_NONE if nowhere */
	uint32_t window_slot;
	unsigned int nr_regions;
	struct shm_region regions[SHM_MAX_REGIONS];
	/*
	 * The live mappings, never overlapping: a dense array in no order (a
	 * removal moves the last one into the hole), and an index by offset over
	 * it (a treap: O(log n) expected per map, unmap and lookup, where a
	 * sorted array moved all the others), walked in order by
	 * shm_window_for_each(). @watches counts each inotify watch's mappings;
	 * a watch whose file has none left stays, counted 0, among the @idle
	 * (oldest first) until it is wanted again or pushed out: DAX maps the same
	 * files again and again, and a removed watch costs a system call here and
	 * an event for the main loop.
	 */
	struct shm_mapping *maps;
	size_t nr_maps, cap_maps;
	uint32_t root, seed;
	struct u64map watches;
	int idle[SHM_IDLE_WATCHES];
	unsigned int nr_idle;
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

/* Tell @ops about every mapping from now on (set once, before the window is used). */
void shm_window_set_ops(struct shm_window *w, const struct shm_window_ops *ops, void *opaque);

/*
 * Put the window at guest address @gpa (SHM_GPA_NONE: take it out of the
 * guest), moving every live mapping's slot with it. A slot that cannot be
 * re-registered is logged; its mapping stays and counts no slot. Every
 * announced mapping is unmapped() at the old address, and is not announced
 * again at the new one: the window keeps no fds (a live mapping costs none),
 * so it has nothing to hand ops->mapped(). Mappings made after the move are
 * announced at the new address.
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

/*
 * Pages past a file's end (docs/design.md, "Beyond EOF"). Touching one
 * raises SIGBUS in a process; in a guest, KVM_RUN fails with EFAULT, except
 * where the vCPU can take interrupts (a Linux guest, nearly always): then
 * KVM retries the fault as an asynchronous page fault for ever and the vCPU
 * hangs. A mapping may reach past its file's end when it is made (Linux DAX
 * maps whole 2 MiB ranges of smaller files, and maps with the size it last
 * saw, which a host process may have cut since) or later (the file is cut
 * under it). So such pages are *held*: made PROT_NONE, which KVM does not
 * retry (the VMA is not readable) but fails at once with EFAULT. They are
 * held when the mapping is made (from the fstat() the map does anyway) and
 * whenever the file changes (see the watch below), and given back when the
 * file grows over them again: a guest that extends a small file through the
 * backend and reads it back through the same mapping sees its data.
 *
 * Only a guest access to a held page makes it private zeros: readable, and
 * writable unless the mapping is read-only in the slot strategy (whose slot
 * is read-only anyway); the guest's writes there never reach the file. The
 * mapping stays in the table with its zeros until it is unmapped (the
 * reservation goes back over all of it). EFAULT names no address (Linux
 * 6.1), so the VMM zeros one hold at a time, newest first, and runs the
 * vCPU again (vm_shm_repair()): the access that faults is nearly always to
 * the mapping just made or the file just cut.
 *
 * Finding a file's end needs no fd: a page past it is one that
 * madvise(MADV_POPULATE_READ) refuses with EFAULT (Linux >= 5.14). The last
 * page is probed, and only if it faults is the first faulting page
 * binary-searched (a file ends once; a file that faults for another reason,
 * an I/O error, breaks that and may lose good pages to a hold).
 */

/*
 * After a failed KVM_RUN: read the watch's events (below), then look for
 * pages past a file's end that no event announced (a file cut through a
 * path inotify does not see) in every mapping's touchable part, and hold
 * them. Costs one madvise per live mapping when nothing is wrong. Returns
 * the pages given back (the fault may have been on one of them).
 */
size_t shm_window_refresh(struct shm_window *w);
/* The newest hold's shm_mapping.held_seq (comparable across windows), 0 if none. */
uint64_t shm_window_newest_hold(struct shm_window *w);
/*
 * Put private zeros over the hold stamped @seq, if it is still there;
 * counted (eof_pages), logged with a rate limit. Returns the pages zeroed.
 */
size_t shm_window_zero_hold(struct shm_window *w, uint64_t seq);

/*
 * Mapped files are watched (inotify, IN_MODIFY: a write, a truncation, an
 * extension) so that holds follow their files as soon as they change, not
 * only when a guest access fails. The watch fd (-1 if inotify is
 * unavailable) is for the VMM's event loop; when it is readable,
 * shm_window_files_changed() reads the events and, for each mapping of a
 * file named, gives back what the file covers again and holds what lies past
 * its end. Returns the pages held or given back. A watch is added before the
 * map's fstat(), so a change after that is an event; it costs one
 * inotify_add_watch() per map (one per file, the kernel shares it) and is
 * removed with the file's last mapping.
 */
int shm_window_watch_fd(const struct shm_window *w);
size_t shm_window_files_changed(struct shm_window *w);

/* Live mappings, for reports: @fn is called for each with the lock held. */
void shm_window_for_each(struct shm_window *w,
			 void (*fn)(const struct shm_mapping *m, void *opaque), void *opaque);
size_t shm_window_count(struct shm_window *w);
struct shm_stats shm_window_stats(struct shm_window *w);

#endif
