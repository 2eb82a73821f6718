/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small library for vhost-user backends (shmvm-fsd, shmvm-bench). It does
 * not impose an event loop: the program polls the fds vu_backend_fds()
 * gives and calls vu_backend_dispatch() on the ready ones, or calls
 * vu_backend_run() if it has no loop of its own. One frontend at a time; a
 * frontend that disconnects resets the device, ready for the next one.
 * Either the library listens on a socket path (vu_backend_listen(), the next
 * frontend is accepted after a disconnect) or it adopts one already-connected
 * socket (vu_backend_adopt(): a socketpair end inherited from the frontend
 * that started the program; no socket file), and is done when that frontend
 * disconnects: vu_backend_run() returns 0, vu_backend_done() says so.
 *
 * Guest memory: SET_MEM_TABLE replaces the whole table; with
 * CONFIGURE_MEM_SLOTS (always offered) ADD_MEM_REG and REM_MEM_REG add and
 * remove one region at a time, up to VU_BACKEND_MAX_MEM_SLOTS. shmvm uses
 * them to show the backend its own shared-memory window mappings, so that a
 * descriptor pointing into the window translates. The table belongs to the
 * thread that dispatches the main socket: call vu_gpa_to_va() from that
 * thread (queue_kick runs there).
 *
 * Ordering: vu_backend_run() serves a readable main socket before any kick,
 * one message per poll round, so every message the frontend queued before a
 * kick is handled before that kick. shmvm relies on it: it writes a
 * mapping's ADD_MEM_REG to the main socket before it answers the SHMEM_MAP,
 * so a request that uses the mapping, which the guest can only issue after
 * that answer, is served after the ADD_MEM_REG. A program with its own loop
 * must keep that order (vu_backend_fds() lists the main socket first). It
 * holds between poll rounds, not inside one: a queue_kick handler that keeps
 * popping after its own SHMEM_MAP was answered could meet such a request
 * before the next round, so it asks vu_backend_yield() between requests.
 *
 * Threads: everything belongs to the thread that dispatches, except that
 * vu_backend_shmem_map() and vu_backend_shmem_unmap() may be called from
 * any thread (req_lock orders them; the dispatch thread replaces or closes
 * req_fd only under it, after a shutdown() that wakes a waiting request).
 * Other threads may read protocol_features, req_fd (acquire) and nregions
 * (relaxed: a count, not the table) with __atomic_load_n; the dispatch
 * thread stores them atomically.
 */
#ifndef SHMVM_VHOST_BACKEND_H
#define SHMVM_VHOST_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"
#include "vhost/msg.h"
#include "vhost/virtq.h"

#define VU_BACKEND_MAX_QUEUES 64
/*
 * GET_MAX_MEM_SLOTS: a whole shared-memory window (at most 32 GiB in shmvm)
 * in the 2 MiB pieces Linux DAX maps, plus a full SET_MEM_TABLE of RAM. The
 * table grows as needed (48 bytes a region: 768 KiB at most), and each
 * region is one mmap, well below the default vm.max_map_count (65530).
 * Smaller pieces can exhaust it; ADD_MEM_REG then fails with -ENOSPC.
 */
#define VU_BACKEND_MAX_MEM_SLOTS ((32ULL << 30) / (2ULL << 20) + VU_MAX_MEM_REGIONS)

struct vu_backend;

struct vu_backend_ops {
	uint64_t features;      /* device-specific feature bits offered */
	uint16_t num_queues;    /* GET_QUEUE_NUM */
	uint32_t config_size;   /* bytes of device config, 0: no CONFIG */
	uint64_t withheld_protocol_features; /* not offered (to measure what one costs) */
	int (*get_config)(void *opaque, uint32_t off, void *buf, uint32_t len);
	int (*set_config)(void *opaque, uint32_t off, const void *buf, uint32_t len);
	/* Shared-memory region sizes by shmid (0 = unused); NULL: no SHMEM feature. */
	void (*get_shmem_config)(void *opaque, uint64_t sizes[VU_MAX_SHMEM_REGIONS]);
	/* Queue @q was kicked (or started with work pending): process it. */
	void (*queue_kick)(struct vu_backend *b, unsigned int q, void *opaque);
	/* The device is reset (RESET_DEVICE, RESET_OWNER or the frontend went away). */
	void (*reset)(void *opaque);
};

struct vu_mem_region {
	uint64_t gpa, size, uva; /* guest-physical start, length, frontend's address */
	uint64_t usable;         /* bytes of [gpa, gpa + size) that translate (file's end) */
	uint8_t *host;           /* our mapping of [gpa, gpa + size) */
	void *map;               /* what mmap returned (includes mmap_offset if unaligned) */
	size_t map_size;
};

struct vu_backend_queue {
	struct vq vq;
	uint16_t num;
	uint16_t base;
	struct vu_vring_addr addr;
	bool have_addr, enabled, started;
	int kick_fd, call_fd, err_fd;
};

struct vu_backend {
	const struct vu_backend_ops *ops;
	void *opaque;
	int listen_fd, conn_fd, req_fd;
	uint64_t features, protocol_features;
	size_t nregions, cap_regions;
	struct vu_mem_region *regions; /* sorted by gpa, never overlapping */
	struct vu_backend_queue q[VU_BACKEND_MAX_QUEUES];
	pthread_mutex_t req_lock; /* one backend-channel request at a time */
	bool map_announced;       /* a SHMEM_MAP was answered; its ADD_MEM_REG is not read yet */
	int req_timeout_ms;
};

/* Listen on @path (@ops must outlive @b): -EADDRINUSE if a live server answers there; a stale socket file is replaced. */
int vu_backend_listen(struct vu_backend *b, const char *path, const struct vu_backend_ops *ops,
		      void *opaque) __must_check;
/*
 * Serve @fd, a socket already connected to the frontend (@ops must outlive
 * @b); no listening socket. 0: @fd is @b's now (vu_backend_close() closes
 * it; it is made blocking if it was not); -EINVAL for bad @ops, or
 * vu_sock_check_connected()'s refusal (vhost/sock.h: not open, not a
 * connected unix stream socket): @fd is then left as it was, the caller's.
 * Its close-on-exec flag is the caller's business.
 */
int vu_backend_adopt(struct vu_backend *b, int fd, const struct vu_backend_ops *ops,
		     void *opaque) __must_check;
void vu_backend_close(struct vu_backend *b);

/*
 * The fds to poll for input now (listen or connection socket, then kick
 * fds); returns how many: 0 once vu_backend_done().
 */
unsigned int vu_backend_fds(const struct vu_backend *b, int *fds, unsigned int max);
/* @fd (one of vu_backend_fds()) is readable. 0, or -errno if the backend cannot go on. */
int vu_backend_dispatch(struct vu_backend *b, int fd) __must_check;
/* Nothing left to serve: the adopted connection ended (or @b is closed). */
bool vu_backend_done(const struct vu_backend *b);
/*
 * Poll and dispatch until vu_backend_dispatch() fails (its -errno) or,
 * for an adopted socket, until the frontend disconnects (0). A listening
 * backend serves one frontend after another.
 */
int vu_backend_run(struct vu_backend *b) __must_check;
/*
 * vu_backend_run() holding @lock around each listing of the fds and each
 * dispatch, so that another thread may look into @b (its memory table)
 * under @lock between them (see "Threads"). NULL: no lock.
 */
int vu_backend_run_locked(struct vu_backend *b, pthread_mutex_t *lock) __must_check;

/* Guest-physical range → our pointer, NULL unless all of it is in one region (binary search). */
void *vu_gpa_to_va(struct vu_backend *b, uint64_t gpa, uint64_t len);
/* Queue @q's ring, once started (NULL before). */
struct vq *vu_backend_vq(struct vu_backend *b, unsigned int q);
/*
 * For a queue_kick handler, between two requests of queue @q: true if it
 * must return now, because a mapping it made has an ADD_MEM_REG waiting on
 * the main socket that later requests may need ("Ordering" above); queue @q
 * is then kicked again and its other requests are served in a later round.
 */
bool vu_backend_yield(struct vu_backend *b, unsigned int q);
/* Interrupt the driver about queue @q if it wants to be. */
void vu_backend_notify(struct vu_backend *b, unsigned int q);

/* SHMEM_MAP / SHMEM_UNMAP on the backend channel; 0, -EOPNOTSUPP, -ETIMEDOUT or the refusal. */
int vu_backend_shmem_map(struct vu_backend *b, uint8_t shmid, uint64_t fd_offset,
			 uint64_t shm_offset, uint64_t len, bool writable, int fd) __must_check;
int vu_backend_shmem_unmap(struct vu_backend *b, uint8_t shmid, uint64_t shm_offset,
			   uint64_t len) __must_check;

#endif
