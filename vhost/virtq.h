/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The device side of a split virtqueue (virtio 1.x 2.7), for vhost-user
 * backends. Every byte of the rings comes from a hostile driver: descriptor
 * fields are copied before they are checked, every buffer is translated
 * through the owner's bounds-checked function, a chain may not loop or be
 * longer than the queue, indirect tables may not nest, and an avail index
 * that jumps by more than the queue size breaks the queue. A broken queue
 * refuses everything until it is set up again.
 */
#ifndef SHMVM_VHOST_VIRTQ_H
#define SHMVM_VHOST_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/compiler.h"

#define VQ_MAX_SIZE 32768
#define VQ_MAX_IOV 1024 /* buffers per element, readable + writable */

/* Guest-physical range → host pointer, NULL if not all of it is mapped. */
typedef void *vq_translate_fn(void *opaque, uint64_t gpa, uint64_t len);

struct vq {
	uint16_t size;
	bool ready, broken, event_idx;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail; /* next avail index we will consume */
	uint16_t used_idx;   /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx when the driver was last notified */
	bool signalled_used_valid;
	vq_translate_fn *translate;
	void *opaque;
};

/* One descriptor chain: device-readable buffers first, then device-writable ones. */
struct vq_elem {
	uint16_t head;
	unsigned int in_num;  /* device-readable (driver → device) */
	unsigned int out_num; /* device-writable (device → driver) */
	struct iovec iov[VQ_MAX_IOV]; /* [0, in_num) readable, [in_num, in_num + out_num) writable */
};

/*
 * Set up @q over the rings at host addresses @desc/@avail/@used (already
 * translated and bounds-checked by the caller for @size entries).
 */
void vq_init(struct vq *q, uint16_t size, void *desc, void *avail, void *used, uint16_t base,
	     bool event_idx, vq_translate_fn *translate, void *opaque);

/*
 * Take the next available chain into @e. Returns 1 with an element, 0 if
 * none is available, -EIO if the chain (or the ring) is bad: the queue is
 * then broken.
 */
int vq_pop(struct vq *q, struct vq_elem *e) __must_check;
/* Return @e with @len bytes written to its writable buffers. */
void vq_push(struct vq *q, const struct vq_elem *e, uint32_t len);
/* Should the driver be interrupted now (event index or NO_INTERRUPT honoured)? */
bool vq_should_notify(struct vq *q);
/*
 * Ask the driver to notify (kick) on new buffers, or not to bother: a device
 * that is busy with the queue anyway saves it the exits. After enabling, the
 * caller looks at the ring once more (a buffer may have come in between).
 * Only without event index (which needs the avail event written instead).
 */
void vq_set_kicks(struct vq *q, bool enable);
/* Are buffers waiting in the avail ring? */
bool vq_has_avail(struct vq *q);

#endif
