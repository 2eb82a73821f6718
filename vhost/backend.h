/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A small library for vhost-user backends (shmvm-fsd, shmvm-bench). It does
 * not impose an event loop: the program polls the fds vu_backend_fds()
 * gives and calls vu_backend_dispatch() on the ready ones, or calls
 * vu_backend_run() if it has no loop of its own. One frontend at a time; a
 * frontend that disconnects resets the device, ready for the next one.
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

struct vu_backend;

struct vu_backend_ops {
	uint64_t features;      /* device-specific feature bits offered */
	uint16_t num_queues;    /* GET_QUEUE_NUM */
	uint32_t config_size;   /* bytes of device config, 0: no CONFIG */
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
	uint8_t *host;           /* our mapping of [gpa, gpa + size) */
	void *map;               /* what mmap returned (includes mmap_offset) */
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
	unsigned int nregions;
	struct vu_mem_region regions[VU_MAX_MEM_REGIONS];
	struct vu_backend_queue q[VU_BACKEND_MAX_QUEUES];
	pthread_mutex_t req_lock; /* one backend-channel request at a time */
	int req_timeout_ms;
};

/* Listen on @path (@ops must outlive @b): -EADDRINUSE if a live server answers there; a stale socket file is replaced. */
int vu_backend_listen(struct vu_backend *b, const char *path, const struct vu_backend_ops *ops,
		      void *opaque) __must_check;
void vu_backend_close(struct vu_backend *b);

/* The fds to poll for input now (listen or connection socket, then kick fds); returns how many. */
unsigned int vu_backend_fds(const struct vu_backend *b, int *fds, unsigned int max);
/* @fd (one of vu_backend_fds()) is readable. 0, or -errno if the backend cannot go on. */
int vu_backend_dispatch(struct vu_backend *b, int fd) __must_check;
/* Poll and dispatch until vu_backend_dispatch() fails. */
int vu_backend_run(struct vu_backend *b) __must_check;

/* Guest-physical range → our pointer, NULL unless all of it is mapped. */
void *vu_gpa_to_va(struct vu_backend *b, uint64_t gpa, uint64_t len);
/* Queue @q's ring, once started (NULL before). */
struct vq *vu_backend_vq(struct vu_backend *b, unsigned int q);
/* Interrupt the driver about queue @q if it wants to be. */
void vu_backend_notify(struct vu_backend *b, unsigned int q);

/* SHMEM_MAP / SHMEM_UNMAP on the backend channel; 0, -EOPNOTSUPP, -ETIMEDOUT or the refusal. */
int vu_backend_shmem_map(struct vu_backend *b, uint8_t shmid, uint64_t fd_offset,
			 uint64_t shm_offset, uint64_t len, bool writable, int fd) __must_check;
int vu_backend_shmem_unmap(struct vu_backend *b, uint8_t shmid, uint64_t shm_offset,
			   uint64_t len) __must_check;

#endif
