/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-console with MULTIPORT (virtio 1.2, 5.3), served in shmvm: a few
 * ports whose host side is a file descriptor or a callback, carried by one
 * I/O thread of the device's own. The guest's notifications arrive through
 * ioeventfds, its interrupts go out as MSI-X messages, and every transfer
 * is one readv()/writev() between a host descriptor and the guest's buffers
 * (no copy in shmvm).
 *
 * Why in shmvm and not behind vhost-user: the other end of every port is
 * shmvm's own stdin, stdout and stderr, its terminal and its exit status
 * (docs/design.md, "The console").
 *
 * Port 0 is the console (hvc0 in Linux); the others are named ports
 * (/sys/class/virtio-ports/vportNpM/name). Descriptors are used as they
 * are: the owner makes them non-blocking (or hands over ones that never
 * block: regular files, /dev/null). A descriptor that cannot be polled
 * (a regular file) is taken as always ready.
 */
#ifndef SHMVM_DEVICES_VIRTIO_CONSOLE_H
#define SHMVM_DEVICES_VIRTIO_CONSOLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/kvm_ops.h"
#include "mm/guest_mem.h"
#include "pci/virtio_pci.h"
#include "util/compiler.h"
#include "vhost/virtq.h"

#define VIRTIO_ID_CONSOLE 3
#define VCON_MAX_PORTS 8
#define VCON_NAME_MAX 32

/* Bytes the guest wrote to a port with no descriptor behind it (on the device's thread). */
typedef void vcon_output_fn(void *opaque, unsigned int port, const uint8_t *buf, size_t len);
/* Every output port's ring is empty and all it held was written (on the device's thread). */
typedef void vcon_drained_fn(void *opaque);

struct vcon_port_cfg {
	const char *name;  /* NULL for port 0, the console */
	int in_fd;         /* host → guest: read until EOF, which closes the port for reading; -1: none */
	int out_fd;        /* guest → host; -1: @output, or dropped */
	bool out_is_sock;  /* @out_fd is a socket: sent with MSG_DONTWAIT */
	bool in_is_sock;
};

struct vcon_cfg {
	unsigned int nr_ports; /* 1..VCON_MAX_PORTS */
	struct vcon_port_cfg port[VCON_MAX_PORTS];
	vcon_output_fn *output;
	void *opaque;
};

struct vcon_counters {
	uint64_t kicks;      /* wake-ups by the guest's notifications */
	uint64_t interrupts; /* MSI-X messages sent */
	uint64_t bytes_out;  /* guest → host, all ports */
	uint64_t bytes_in;   /* host → guest */
	uint64_t bad;        /* refused control messages and broken queues */
};

struct vcon_port;
struct vcon_outbox;

struct virtio_console {
	pthread_mutex_t lock; /* rings and port state: the I/O thread and the vCPUs' config accesses */
	struct vcon_cfg cfg;
	struct virtio_pci vp;
	const struct guest_mem *mem;
	struct hv_ops hv;
	uint64_t bar_addr;
	unsigned int nr_queues;
	struct vcon_port *ports;
	struct vq *vqs;
	struct vcon_outbox *outbox; /* control messages waiting for the driver's buffers */
	struct vq_elem *ctrl_elem;
	int kick[2 * (VCON_MAX_PORTS + 1)]; /* ioeventfds, one per queue */
	int epfd, wake_efd;
	pthread_t thread;
	bool thread_started, stop, started;
	bool driver_ready; /* DEVICE_READY came: ports may be announced */
	vcon_drained_fn *drained;
	void *drained_opaque;
	struct vcon_counters count;
};

/*
 * Build the device on @mem, interrupting through @hv. Descriptors in @cfg
 * stay the caller's and must outlive the device. Its thread starts here.
 */
int vcon_create(struct virtio_console *c, const struct vcon_cfg *cfg, const struct guest_mem *mem,
		const struct hv_ops *hv) __must_check;
void vcon_destroy(struct virtio_console *c);
/*
 * Call @fn once (on the device's thread) as soon as every output port has
 * written all the guest gave it so far and its ring is empty: what was
 * written before an exit status, say, has left before the VM stops.
 */
void vcon_when_drained(struct virtio_console *c, vcon_drained_fn *fn, void *opaque);
/* A snapshot of the counters. */
struct vcon_counters vcon_counters(struct virtio_console *c);

#endif
