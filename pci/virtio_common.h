/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The virtio 1.x PCI common configuration structure (virtio spec 4.1.4.3):
 * feature negotiation, device status, per-queue configuration. A pure
 * register model: the device behind it (a vhost-user frontend) is told about
 * the transitions that matter through virtio_common_ops.
 */
#ifndef SHMVM_PCI_VIRTIO_COMMON_H
#define SHMVM_PCI_VIRTIO_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

/* Size of the structure including the virtio 1.2 queue_notify_data/queue_reset fields. */
#define VIRTIO_COMMON_CFG_SIZE 0x3c
#define VIRTIO_MAX_QUEUES 64
#define VIRTIO_NO_VECTOR 0xffff

struct virtio_queue_cfg {
	uint16_t size;     /* as set by the driver (defaults to max_size) */
	uint16_t max_size; /* what the device supports, a power of two */
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, avail, used; /* guest-physical ring addresses */
};

struct virtio_common_ops {
	/* The driver asks for FEATURES_OK with @features; 0 accepts, else FEATURES_OK stays clear. */
	int (*features_ok)(void *opaque, uint64_t features);
	/* DRIVER_OK was set: the queues' configuration is final; start the device. */
	void (*driver_ok)(void *opaque);
	/* The driver wrote 0 to device_status: reset the device (queues are already cleared). */
	void (*reset)(void *opaque);
	/* An MSI-X vector assignment changed (config or queue @queue, -1 for config). May be NULL. */
	void (*vector_changed)(void *opaque, int queue, uint16_t vector);
};

struct virtio_common {
	pthread_mutex_t lock;
	const struct virtio_common_ops *ops;
	void *opaque;

	uint64_t device_features;
	uint64_t driver_features;
	uint32_t dfselect, gfselect;
	uint16_t msix_config;
	uint8_t status;
	uint8_t generation;
	uint16_t queue_select;
	uint16_t num_queues;
	/*
	 * The MSI-X table's size, set by the transport after init: a vector
	 * past it is not mapped and reads back as VIRTIO_NO_VECTOR, as the
	 * driver checks (0: any vector is taken as written).
	 */
	uint16_t nr_vectors;
	struct virtio_queue_cfg queues[VIRTIO_MAX_QUEUES];
};

/* @max_sizes[i]: queue i's maximum size (power of two, 1..32768). */
int virtio_common_init(struct virtio_common *vc, uint64_t device_features, uint16_t num_queues,
		       const uint16_t *max_sizes, const struct virtio_common_ops *ops,
		       void *opaque) __must_check;
void virtio_common_destroy(struct virtio_common *vc);

/* BAR accesses to the structure; offsets relative to its start. */
void virtio_common_read(struct virtio_common *vc, uint64_t off, void *data, uint32_t len);
void virtio_common_write(struct virtio_common *vc, uint64_t off, const void *data, uint32_t len);

/* The device failed: set DEVICE_NEEDS_RESET (the caller then sends a config interrupt). */
void virtio_common_set_needs_reset(struct virtio_common *vc);
/* Device config changed: bump config_generation. */
void virtio_common_config_changed(struct virtio_common *vc);
/* Snapshot of queue @q (for starting the device at DRIVER_OK). */
bool virtio_common_queue(struct virtio_common *vc, unsigned int q, struct virtio_queue_cfg *out);

#endif
