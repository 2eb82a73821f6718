// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdatomic.h>
#include <string.h>

#include "util/guarded_copy.h"
#include "util/log.h"
#include "vhost/virtq.h"

static struct log_ratelimit vq_rl = LOG_RATELIMIT_INIT;

void vq_init(struct vq *q, uint16_t size, void *desc, void *avail, void *used, uint16_t base,
	     bool event_idx, vq_translate_fn *translate, void *opaque)
{
	memset(q, 0, sizeof(*q));
	q->size = size;
	q->desc = desc;
	q->avail = avail;
	q->used = used;
	q->last_avail = base;
	q->used_idx = base;
	q->event_idx = event_idx;
	q->translate = translate;
	q->opaque = opaque;
	q->ready = true;
}

static int vq_break(struct vq *q, const char *why)
{
	log_ratelimited(&vq_rl, LOG_WARN, "virtqueue: %s; queue stopped", why);
	q->broken = true;
	return -EIO;
}

static uint16_t read_u16(const volatile uint16_t *p)
{
	return *p;
}

/* Add one buffer to @e, split nowhere: the translation must cover it whole. */
static int add_buffer(struct vq *q, struct vq_elem *e, uint64_t addr, uint32_t len, bool writable)
{
	void *p;

	if (e->in_num + e->out_num >= VQ_MAX_IOV)
		return vq_break(q, "descriptor chain has too many buffers");
	if (!writable && e->out_num)
		return vq_break(q, "readable descriptor after a writable one");
	p = q->translate(q->opaque, addr, len);
	if (!p)
		return vq_break(q, "descriptor points outside guest memory");
	e->iov[e->in_num + e->out_num] = (struct iovec){ .iov_base = p, .iov_len = len };
	if (writable)
		e->out_num++;
	else
		e->in_num++;
	return 0;
}

/* Walk an indirect table of @len bytes at @addr. */
static int walk_indirect(struct vq *q, struct vq_elem *e, uint64_t addr, uint32_t len)
{
	const struct vring_desc *table;
	unsigned int n = len / sizeof(struct vring_desc), i = 0, hops = 0;

	if (len == 0 || len % sizeof(struct vring_desc) || n > VQ_MAX_SIZE)
		return vq_break(q, "bad indirect table length");
	table = q->translate(q->opaque, addr, len);
	if (!table)
		return vq_break(q, "indirect table outside guest memory");
	for (;;) {
		struct vring_desc d;

		/*
		 * Copy, then check our copy. Unlike the rings, which the frontend
		 * keeps in RAM, a table may lie in a shared-memory mapping whose
		 * file was cut short: guarded (util/guarded_copy.h).
		 */
		if (!guarded_copy(&d, (const void *)&table[i], sizeof(d)))
			return vq_break(q, "indirect table has no page behind it");
		if (d.flags & VRING_DESC_F_INDIRECT)
			return vq_break(q, "nested indirect table");
		if (add_buffer(q, e, d.addr, d.len, d.flags & VRING_DESC_F_WRITE))
			return -EIO;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= n || ++hops >= n)
			return vq_break(q, "indirect chain loops or leaves its table");
		i = d.next;
	}
}

int vq_pop(struct vq *q, struct vq_elem *e)
{
	uint16_t avail_idx, head, i;
	unsigned int hops = 0;

	if (!q->ready || q->broken)
		return q->broken ? -EIO : 0;
	avail_idx = read_u16(&q->avail->idx);
	if (avail_idx == q->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - q->last_avail) > q->size)
		return vq_break(q, "avail index moved by more than the queue size");
	/* Read the ring entry only after seeing the index (pairs with the driver's write barrier). */
	atomic_thread_fence(memory_order_acquire);
	head = read_u16(&q->avail->ring[q->last_avail % q->size]);
	if (head >= q->size)
		return vq_break(q, "avail ring names a descriptor beyond the queue");
	e->head = head;
	e->in_num = e->out_num = 0;
	i = head;
	for (;;) {
		struct vring_desc d;

		memcpy(&d, (const void *)&q->desc[i], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (d.flags & VRING_DESC_F_NEXT)
				return vq_break(q, "indirect descriptor with NEXT");
			if (walk_indirect(q, e, d.addr, d.len))
				return -EIO;
			break;
		}
		if (add_buffer(q, e, d.addr, d.len, d.flags & VRING_DESC_F_WRITE))
			return -EIO;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= q->size || ++hops >= q->size)
			return vq_break(q, "descriptor chain loops or leaves the table");
		i = d.next;
	}
	q->last_avail++;
	/* With event index, tell the driver how far we have read. */
	if (q->event_idx)
		*(volatile uint16_t *)&q->used->ring[q->size] = q->last_avail;
	return 1;
}

void vq_push(struct vq *q, const struct vq_elem *e, uint32_t len)
{
	struct vring_used_elem *u;

	if (q->broken || !q->ready)
		return;
	u = &q->used->ring[q->used_idx % q->size];
	u->id = e->head;
	u->len = len;
	/* The element must be visible before the index that publishes it. */
	atomic_thread_fence(memory_order_release);
	q->used_idx++;
	*(volatile uint16_t *)&q->used->idx = q->used_idx;
}

bool vq_should_notify(struct vq *q)
{
	uint16_t old, new_idx, event;
	bool valid;

	atomic_thread_fence(memory_order_seq_cst);
	if (!q->event_idx)
		return !(read_u16(&q->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	old = q->signalled_used;
	valid = q->signalled_used_valid;
	new_idx = q->signalled_used = q->used_idx;
	q->signalled_used_valid = true;
	event = read_u16(&q->avail->ring[q->size]); /* used_event */
	return !valid || vring_need_event(event, new_idx, old);
}

void vq_set_kicks(struct vq *q, bool enable)
{
	if (!q->ready || q->broken || q->event_idx)
		return;
	*(volatile uint16_t *)&q->used->flags = enable ? 0 : VRING_USED_F_NO_NOTIFY;
	/* The flag must be visible before the ring is looked at again. */
	atomic_thread_fence(memory_order_seq_cst);
}

bool vq_has_avail(struct vq *q)
{
	return q->ready && !q->broken && read_u16(&q->avail->idx) != q->last_avail;
}
