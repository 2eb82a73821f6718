/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A virtio 1.x modern PCI function (virtio spec 4.1): vendor 0x1af4, device
 * 0x1040 + virtio id, one 32-bit MMIO BAR holding the common configuration,
 * ISR, device-specific configuration, notification area and the MSI-X table
 * and PBA, each described by its capability. No legacy interface.
 *
 * Notifications normally never reach this code: the VMM binds an ioeventfd
 * to each queue's notify address (virtio_pci_notify_addr()). Device config
 * and lifecycle are the owner's, through virtio_pci_ops.
 */
#ifndef SHMVM_PCI_VIRTIO_PCI_H
#define SHMVM_PCI_VIRTIO_PCI_H

#include <stdint.h>

#include "pci/config.h"
#include "pci/msix.h"
#include "pci/virtio_common.h"
#include "util/compiler.h"

#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040

/* Layout of the device's BAR 0. */
#define VPCI_COMMON_OFF 0x0000
#define VPCI_ISR_OFF 0x1000
#define VPCI_DEVICE_OFF 0x2000
#define VPCI_DEVICE_MAX 0x1000
#define VPCI_NOTIFY_OFF 0x3000
#define VPCI_NOTIFY_MULT 4
#define VPCI_MSIX_TABLE_OFF 0x4000
#define VPCI_MSIX_PBA_OFF 0x6000
#define VPCI_BAR_SIZE 0x8000
#define VPCI_BAR 0
/* The shared-memory BAR (64-bit prefetchable, BARs 2 and 3), when there are regions. */
#define VPCI_SHM_BAR 2
#define VPCI_MAX_SHM 4

struct virtio_pci;

struct virtio_pci_ops {
	/* Device-specific configuration (offset relative to its start). */
	void (*config_read)(struct virtio_pci *vp, uint32_t off, void *data, uint32_t len);
	void (*config_write)(struct virtio_pci *vp, uint32_t off, const void *data, uint32_t len);
	/* The driver wrote queue @q's notify address and no ioeventfd caught it. */
	void (*notify)(struct virtio_pci *vp, unsigned int q);
	/*
	 * BAR @bar (VPCI_BAR or VPCI_SHM_BAR) moved: ioeventfds and memory slots
	 * must follow (old/new are PCI_BAR_UNMAPPED when not decoded).
	 */
	void (*bar_moved)(struct virtio_pci *vp, int bar, uint64_t old, uint64_t new_addr);
};

struct virtio_pci {
	struct pci_device pci;
	struct virtio_common common;
	struct msix msix;
	const struct virtio_pci_ops *ops;
	void *opaque;
	uint32_t config_size;
	uint8_t isr;
	uint8_t msix_cap; /* config offset of the MSI-X capability */
	pthread_mutex_t isr_lock;
};

/* One VIRTIO shared memory region, at @offset of the shared-memory BAR. */
struct virtio_pci_shm {
	uint8_t id;
	uint64_t offset, length;
};

struct virtio_pci_params {
	const char *name;
	uint16_t virtio_id;
	uint32_t pci_class;       /* class << 16 | subclass << 8 | prog-if */
	uint64_t device_features; /* VERSION_1 is added */
	uint16_t num_queues;
	const uint16_t *queue_sizes;
	uint32_t config_size;     /* device-specific config bytes, <= VPCI_DEVICE_MAX */
	const struct virtio_common_ops *common_ops; /* transitions, for the owner */
	const struct msix_ops *msix_ops;
	const struct virtio_pci_ops *ops;
	void *opaque;
	/*
	 * Shared memory: @shm_bar_size (a power of two, 0 for none) bytes of
	 * VPCI_SHM_BAR, one VIRTIO_PCI_CAP_SHARED_MEMORY_CFG capability per
	 * region. @shm_ops get the accesses no memory slot satisfied.
	 */
	uint64_t shm_bar_size;
	unsigned int nr_shm;
	const struct virtio_pci_shm *shm;
	const struct bus_ops *shm_ops;
	void *shm_opaque;
};

/* Build the function: header, capabilities, BAR, common config, MSI-X (one vector per queue + config). */
int virtio_pci_init(struct virtio_pci *vp, const struct virtio_pci_params *p) __must_check;
void virtio_pci_destroy(struct virtio_pci *vp);

/* Guest-physical notify address of queue @q (valid while BAR 0 is decoded at @bar_addr). */
uint64_t virtio_pci_notify_addr(uint64_t bar_addr, unsigned int q);

/* Signal a configuration change (sets ISR bit 1, raises the config vector). */
void virtio_pci_config_changed(struct virtio_pci *vp);
/* The device failed: DEVICE_NEEDS_RESET and a config interrupt. */
void virtio_pci_needs_reset(struct virtio_pci *vp);

#endif
