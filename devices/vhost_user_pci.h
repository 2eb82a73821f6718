/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A virtio-pci device whose virtqueues are served by a vhost-user backend.
 * The guest's notifications go through ioeventfds straight to the backend's
 * kick eventfds, and the backend's call eventfds interrupt the guest through
 * irqfds on the queues' MSI-X routes: the data path never enters shmvm.
 * shmvm handles only configuration: feature negotiation, ring setup at
 * DRIVER_OK, reset, MSI-X programming and BAR moves.
 */
#ifndef SHMVM_DEVICES_VHOST_USER_PCI_H
#define SHMVM_DEVICES_VHOST_USER_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/kvm_ops.h"
#include "devices/shm_announce.h"
#include "mm/guest_mem.h"
#include "mm/shm_window.h"
#include "pci/virtio_pci.h"
#include "util/compiler.h"
#include "vhost/frontend.h"

struct vhost_user_cfg {
	/*
	 * The backend: the unix socket path to connect to; or, if
	 * @has_socket_fd, @socket_fd, a socket already connected to it (a
	 * socketpair end). The device owns that fd from vhost_user_dev_create()
	 * on, which closes it on failure too. @socket then only names it in
	 * log lines (NULL: "fd N"); after create, d->cfg.socket is always a
	 * printable name.
	 */
	const char *socket;
	bool has_socket_fd;
	int socket_fd;
	uint16_t virtio_id;
	uint16_t queues;
	uint16_t queue_size;
	uint32_t config_size;
	uint32_t pci_class;
	/* Device config served locally when the backend has no CONFIG feature (may be NULL). */
	const uint8_t *local_config;
	int connect_ms; /* how long to retry connecting */
	int reply_ms;   /* timeout of one reply */
	/* Shared memory: regions that set or override the backend's (GET_SHMEM_CONFIG). */
	unsigned int nr_shm;
	uint8_t shm_id[SHM_MAX_REGIONS];
	uint64_t shm_size[SHM_MAX_REGIONS];
	enum shm_strategy shm_strategy;
	struct memslot_table *slots; /* where the window's memory slots go */
};

struct vhost_user_dev {
	pthread_mutex_t lock;
	struct vhost_user_cfg cfg;
	char name[32];
	struct virtio_pci vp;
	struct vu_frontend fe;
	const struct guest_mem *mem;
	struct hv_ops hv;
	uint64_t bar_addr; /* where BAR 0 is decoded, PCI_BAR_UNMAPPED if not */
	bool started;
	bool needs_reset; /* vhost_user_dev_broken() told the guest once (lock held) */
	int kick[VIRTIO_MAX_QUEUES];
	int call[VIRTIO_MAX_QUEUES];
	int bound_gsi[VIRTIO_MAX_QUEUES]; /* GSI call[q] is bound to, IRQ_NO_GSI if none */
	int gsi[VIRTIO_MAX_QUEUES + 1];   /* per MSI-X vector */
	struct msix_msg msg[VIRTIO_MAX_QUEUES + 1];
	bool masked[VIRTIO_MAX_QUEUES + 1];
	uint8_t local_config[VU_MAX_CONFIG_SIZE];
	bool use_local_config;
	unsigned int pci_slot; /* set by the VMM once on the bus */

	/* Shared memory and the backend channel (SET_BACKEND_REQ_FD), served by its own thread. */
	bool has_shm;
	struct shm_window shm;
	int backend_fd;      /* our end, -1 if the backend has no BACKEND_REQ */
	pthread_t backend_thread;
	bool backend_running;
	bool backend_stopping; /* the thread is asked to end (atomic) */
	uint64_t refused_msgs; /* backend-channel messages refused before any window (atomic) */
	struct shm_announce announce; /* the window's mappings in the backend's memory table */
};

/* Connect to the backend and build the PCI function (not yet on a bus). */
int vhost_user_dev_create(struct vhost_user_dev *d, const struct vhost_user_cfg *cfg,
			  const struct guest_mem *mem, const struct hv_ops *hv) __must_check;
void vhost_user_dev_destroy(struct vhost_user_dev *d);
/* The main-channel socket, to watch for the backend going away. */
int vhost_user_dev_fd(const struct vhost_user_dev *d);
/*
 * The backend went away or misbehaved: stop, tell the guest DEVICE_NEEDS_RESET.
 * Logs and tells the guest once; later calls only stop what restarted.
 * Takes the device's and the common config's locks: not from a common-ops
 * callback (those run under the common config's lock).
 */
void vhost_user_dev_broken(struct vhost_user_dev *d, const char *why);

#endif
