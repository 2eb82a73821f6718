// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the device side of a split virtqueue
 * (vhost/virtq.c): descriptor tables, indirect tables and avail rings
 * written by a hostile driver. Guest memory is 64 KiB with a hole at
 * [32 KiB, 36 KiB) that does not translate; the rings sit at fixed places
 * (descriptors at 0, avail at 0x800, used at 0x900) and the input is the
 * memory's first bytes, so it writes the rings, the indirect tables and
 * the buffers. Every chain popped is checked (head below the queue size,
 * at most VQ_MAX_IOV buffers, each inside guest memory and outside the
 * hole, readable ones first) and pushed back; a queue gives at most as
 * many chains as the avail index moved, and a broken queue gives none.
 * Input: 1 byte (bits 0-2: queue size 2^n; bit 3: event index), 2 bytes
 * of starting index, then guest memory.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "vhost/virtq.h"

#define MEM	 (64 * 1024)
#define HOLE	 0x8000
#define HOLE_END 0x9000
#define DESC	 0x0
#define AVAIL	 0x800
#define USED	 0x900

static uint8_t *mem;
static struct vq_elem elem;

static void *xlate(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	if (gpa >= MEM || len > MEM - gpa || (gpa < HOLE_END && gpa + len > HOLE))
		return NULL;
	return mem + gpa;
}

static bool inside(const void *p, size_t len)
{
	const uint8_t *b = p;

	return b >= mem && (size_t)(b - mem) <= MEM && len <= MEM - (size_t)(b - mem) &&
	       ((size_t)(b - mem) >= HOLE_END || (size_t)(b - mem) + len <= HOLE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq q;
	uint16_t size_q, base, avail_idx, popped = 0;
	bool event_idx;

	if (!mem) {
		fuzz_quiet();
		mem = malloc(MEM); /* ASan sees any access beyond it */
		if (!mem)
			abort();
	}
	if (size < 3)
		return 0;
	size_q = (uint16_t)(1u << (data[0] & 7));
	event_idx = data[0] & 8;
	memcpy(&base, data + 1, 2);
	memset(mem, 0, MEM);
	memcpy(mem, data + 3, MIN(size - 3, (size_t)MEM));
	memcpy(&avail_idx, mem + AVAIL + 2, 2);

	vq_init(&q, size_q, mem + DESC, mem + AVAIL, mem + USED, base, event_idx, xlate, NULL);
	for (unsigned int n = 0; n < 2u * size_q + 2; n++) {
		unsigned int readable = 0;
		int rc = vq_pop(&q, &elem);

		if (rc < 0) {
			if (!q.broken || vq_pop(&q, &elem) != -EIO)
				abort(); /* a broken queue stays broken */
			break;
		}
		if (rc == 0)
			break;
		if (rc != 1 || elem.head >= size_q || elem.in_num + elem.out_num > VQ_MAX_IOV)
			abort();
		if (++popped > (uint16_t)(avail_idx - base))
			abort(); /* more chains than the driver published */
		for (unsigned int i = 0; i < elem.in_num + elem.out_num; i++) {
			if (!inside(elem.iov[i].iov_base, elem.iov[i].iov_len))
				abort();
			readable += i < elem.in_num;
		}
		if (readable != elem.in_num)
			abort();
		vq_push(&q, &elem, elem.out_num ? 1 : 0);
		(void)vq_should_notify(&q);
	}
	return 0;
}
