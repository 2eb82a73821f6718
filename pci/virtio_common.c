// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <string.h>

#include "pci/virtio_common.h"
#include "util/log.h"

/* Offsets of the virtio 1.2 fields not in every <linux/virtio_pci.h>. */
#define COMMON_Q_NOTIFY_DATA 0x38
#define COMMON_Q_RESET 0x3a

static struct log_ratelimit common_rl = LOG_RATELIMIT_INIT;

int virtio_common_init(struct virtio_common *vc, uint64_t device_features, uint16_t num_queues,
		       const uint16_t *max_sizes, const struct virtio_common_ops *ops, void *opaque)
{
	memset(vc, 0, sizeof(*vc));
	if (num_queues == 0 || num_queues > VIRTIO_MAX_QUEUES || !ops)
		return -EINVAL;
	for (unsigned int i = 0; i < num_queues; i++)
		if (!max_sizes[i] || max_sizes[i] > 32768 || (max_sizes[i] & (max_sizes[i] - 1)))
			return -EINVAL;
	pthread_mutex_init(&vc->lock, NULL);
	vc->ops = ops;
	vc->opaque = opaque;
	/* A modern-only transport: VERSION_1 is always offered. */
	vc->device_features = device_features | (1ULL << VIRTIO_F_VERSION_1);
	vc->num_queues = num_queues;
	for (unsigned int i = 0; i < num_queues; i++)
		vc->queues[i].max_size = max_sizes[i];
	vc->msix_config = VIRTIO_NO_VECTOR;
	for (unsigned int i = 0; i < num_queues; i++) {
		vc->queues[i].size = max_sizes[i];
		vc->queues[i].msix_vector = VIRTIO_NO_VECTOR;
	}
	return 0;
}

void virtio_common_destroy(struct virtio_common *vc)
{
	if (vc->ops)
		pthread_mutex_destroy(&vc->lock);
	vc->ops = NULL;
}

/* Device reset: everything the driver configured is forgotten. Lock held. */
static void common_reset_locked(struct virtio_common *vc)
{
	vc->driver_features = 0;
	vc->dfselect = vc->gfselect = 0;
	vc->msix_config = VIRTIO_NO_VECTOR;
	vc->status = 0;
	vc->queue_select = 0;
	for (unsigned int i = 0; i < vc->num_queues; i++) {
		struct virtio_queue_cfg *q = &vc->queues[i];

		*q = (struct virtio_queue_cfg){
			.size = q->max_size,
			.max_size = q->max_size,
			.msix_vector = VIRTIO_NO_VECTOR,
		};
	}
}

static struct virtio_queue_cfg *selected(struct virtio_common *vc)
{
	return vc->queue_select < vc->num_queues ? &vc->queues[vc->queue_select] : NULL;
}

static uint64_t common_get(struct virtio_common *vc, uint64_t off)
{
	struct virtio_queue_cfg *q = selected(vc);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return vc->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		return vc->dfselect < 2 ? (uint32_t)(vc->device_features >> (32 * vc->dfselect)) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT:
		return vc->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return vc->gfselect < 2 ? (uint32_t)(vc->driver_features >> (32 * vc->gfselect)) : 0;
	case VIRTIO_PCI_COMMON_MSIX:
		return vc->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ:
		return vc->num_queues;
	case VIRTIO_PCI_COMMON_STATUS:
		return vc->status;
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return vc->generation;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return vc->queue_select;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		return q ? q->size : 0; /* 0: no such queue */
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return q ? q->msix_vector : VIRTIO_NO_VECTOR;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return q ? q->enabled : 0;
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return q ? vc->queue_select : 0; /* notify address = queue index * multiplier */
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		return q ? (uint32_t)q->desc : 0;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		return q ? q->desc >> 32 : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		return q ? (uint32_t)q->avail : 0;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		return q ? q->avail >> 32 : 0;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return q ? (uint32_t)q->used : 0;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return q ? q->used >> 32 : 0;
	case COMMON_Q_NOTIFY_DATA:
		return q ? vc->queue_select : 0;
	default:
		return 0;
	}
}

/* Width of each field; accesses must match it exactly (spec 4.1.3.1). */
static uint32_t field_width(uint64_t off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
	case VIRTIO_PCI_COMMON_DF:
	case VIRTIO_PCI_COMMON_GFSELECT:
	case VIRTIO_PCI_COMMON_GF:
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		return 4;
	case VIRTIO_PCI_COMMON_STATUS:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return 1;
	default:
		return off < VIRTIO_COMMON_CFG_SIZE && off % 2 == 0 ? 2 : 0;
	}
}

void virtio_common_read(struct virtio_common *vc, uint64_t off, void *data, uint32_t len)
{
	uint64_t v = 0;

	/* A 64-bit access to a lo/hi pair is split, as drivers on 32-bit hosts would. */
	if (len == 8 && field_width(off) == 4 && field_width(off + 4) == 4) {
		virtio_common_read(vc, off, data, 4);
		virtio_common_read(vc, off + 4, (uint8_t *)data + 4, 4);
		return;
	}
	if (field_width(off) == len) {
		pthread_mutex_lock(&vc->lock);
		v = common_get(vc, off);
		pthread_mutex_unlock(&vc->lock);
	} else {
		log_ratelimited(&common_rl, LOG_WARN, "virtio: bad %u-byte read at common cfg 0x%llx",
				len, (unsigned long long)off);
	}
	memcpy(data, &v, len > 8 ? 8 : len);
}

static void set_lo(uint64_t *p, uint32_t v)
{
	*p = (*p & ~0xffffffffULL) | v;
}

static void set_hi(uint64_t *p, uint32_t v)
{
	*p = (*p & 0xffffffffULL) | (uint64_t)v << 32;
}

/* Status transitions; returns the callback to run after dropping the lock. */
enum status_action { ACT_NONE, ACT_RESET, ACT_DRIVER_OK };

static enum status_action common_set_status(struct virtio_common *vc, uint8_t v)
{
	if (v == 0) {
		common_reset_locked(vc);
		return ACT_RESET;
	}
	/* FEATURES_OK is granted only if the device accepts the features. */
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(vc->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		uint64_t f = vc->driver_features;

		if ((f & ~vc->device_features) || !(f & (1ULL << VIRTIO_F_VERSION_1)) ||
		    (vc->ops->features_ok && vc->ops->features_ok(vc->opaque, f)))
			v &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(v & VIRTIO_CONFIG_S_FEATURES_OK)) {
		log_ratelimited(&common_rl, LOG_WARN, "virtio: DRIVER_OK without FEATURES_OK ignored");
		v &= (uint8_t)~VIRTIO_CONFIG_S_DRIVER_OK;
	}
	/* The driver cannot clear bits except by reset, nor set NEEDS_RESET. */
	v = (uint8_t)((v | vc->status) & ~VIRTIO_CONFIG_S_NEEDS_RESET) |
	    (vc->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(vc->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		vc->status = v;
		return ACT_DRIVER_OK;
	}
	vc->status = v;
	return ACT_NONE;
}

/*
 * A vector the MSI-X table does not have cannot be mapped: the device
 * stores (and the driver reads back) NO_VECTOR, which is how a driver
 * learns its choice failed (virtio 1.2, 4.1.5.1.2).
 */
static uint16_t mapped_vector(const struct virtio_common *vc, uint64_t v)
{
	if (!vc->nr_vectors || v == VIRTIO_NO_VECTOR || v < vc->nr_vectors)
		return (uint16_t)v;
	log_ratelimited(&common_rl, LOG_WARN, "virtio: MSI-X vector %llu past the table's %u: not mapped",
			(unsigned long long)v, vc->nr_vectors);
	return VIRTIO_NO_VECTOR;
}

void virtio_common_write(struct virtio_common *vc, uint64_t off, const void *data, uint32_t len)
{
	enum status_action act = ACT_NONE;
	int vec_queue = -2;
	uint16_t vec = 0;
	struct virtio_queue_cfg *q;
	uint64_t v = 0;

	if (len == 8 && field_width(off) == 4 && field_width(off + 4) == 4) {
		virtio_common_write(vc, off, data, 4);
		virtio_common_write(vc, off + 4, (const uint8_t *)data + 4, 4);
		return;
	}
	if (field_width(off) != len) {
		log_ratelimited(&common_rl, LOG_WARN, "virtio: bad %u-byte write at common cfg 0x%llx",
				len, (unsigned long long)off);
		return;
	}
	memcpy(&v, data, len);
	pthread_mutex_lock(&vc->lock);
	q = selected(vc);
	/* Queue configuration is frozen once the driver has said DRIVER_OK. */
	bool live = vc->status & VIRTIO_CONFIG_S_DRIVER_OK;
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vc->dfselect = (uint32_t)v;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vc->gfselect = (uint32_t)v;
		break;
	case VIRTIO_PCI_COMMON_GF:
		if (vc->gfselect < 2 && !(vc->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			uint64_t mask = 0xffffffffULL << (32 * vc->gfselect);

			vc->driver_features = (vc->driver_features & ~mask) |
					      ((v << (32 * vc->gfselect)) & mask);
		}
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		vc->msix_config = mapped_vector(vc, v);
		vec_queue = -1;
		vec = vc->msix_config;
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		act = common_set_status(vc, (uint8_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vc->queue_select = (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (!q || live)
			break;
		if (v == 0 || v > q->max_size || (v & (v - 1)))
			log_ratelimited(&common_rl, LOG_WARN, "virtio: queue %u size %llu refused",
					vc->queue_select, (unsigned long long)v);
		else
			q->size = (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (!q)
			break;
		q->msix_vector = mapped_vector(vc, v);
		vec_queue = vc->queue_select;
		vec = q->msix_vector;
		break;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (q && !live && v == 1)
			q->enabled = true;
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		if (q && !live)
			set_lo(&q->desc, (uint32_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		if (q && !live)
			set_hi(&q->desc, (uint32_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		if (q && !live)
			set_lo(&q->avail, (uint32_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		if (q && !live)
			set_hi(&q->avail, (uint32_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		if (q && !live)
			set_lo(&q->used, (uint32_t)v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		if (q && !live)
			set_hi(&q->used, (uint32_t)v);
		break;
	default:
		break; /* read-only fields; queue_reset (not offered) */
	}
	pthread_mutex_unlock(&vc->lock);

	if (vec_queue != -2 && vc->ops->vector_changed)
		vc->ops->vector_changed(vc->opaque, vec_queue, vec);
	if (act == ACT_RESET && vc->ops->reset)
		vc->ops->reset(vc->opaque);
	else if (act == ACT_DRIVER_OK && vc->ops->driver_ok)
		vc->ops->driver_ok(vc->opaque);
}

void virtio_common_set_needs_reset(struct virtio_common *vc)
{
	pthread_mutex_lock(&vc->lock);
	vc->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	pthread_mutex_unlock(&vc->lock);
}

void virtio_common_config_changed(struct virtio_common *vc)
{
	pthread_mutex_lock(&vc->lock);
	vc->generation++;
	pthread_mutex_unlock(&vc->lock);
}

bool virtio_common_queue(struct virtio_common *vc, unsigned int q, struct virtio_queue_cfg *out)
{
	bool ok = false;

	pthread_mutex_lock(&vc->lock);
	if (q < vc->num_queues) {
		*out = vc->queues[q];
		ok = true;
	}
	pthread_mutex_unlock(&vc->lock);
	return ok;
}
