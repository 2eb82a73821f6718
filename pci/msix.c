// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/msix.h"

uint64_t msix_table_size(unsigned int nr)
{
	return (uint64_t)nr * MSIX_ENTRY_SIZE;
}

uint64_t msix_pba_size(unsigned int nr)
{
	/* One bit per vector, in whole quadwords. */
	return ((uint64_t)nr + 63) / 64 * 8;
}

int msix_init(struct msix *m, unsigned int nr, const struct msix_ops *ops, void *opaque)
{
	memset(m, 0, sizeof(*m));
	if (nr == 0 || nr > MSIX_MAX_VECTORS || !ops || !ops->update)
		return -EINVAL;
	m->table = calloc(nr, sizeof(*m->table));
	if (!m->table)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->nr = nr;
	m->ops = ops;
	m->opaque = opaque;
	for (unsigned int i = 0; i < nr; i++)
		m->table[i].ctrl = MSIX_ENTRY_CTRL_MASKED;
	return 0;
}

void msix_destroy(struct msix *m)
{
	if (!m->table)
		return;
	free(m->table);
	m->table = NULL;
	pthread_mutex_destroy(&m->lock);
}

static bool entry_masked(const struct msix *m, const struct msix_entry *e)
{
	return !m->enabled || m->func_masked || (e->ctrl & MSIX_ENTRY_CTRL_MASKED);
}

static struct msix_msg entry_msg(const struct msix_entry *e)
{
	return (struct msix_msg){ .addr = (uint64_t)e->addr_hi << 32 | e->addr_lo, .data = e->data };
}

/* Tell the owner about vector @v; deliver what a mask held back once it is lifted. */
static void msix_push(struct msix *m, unsigned int v)
{
	struct msix_entry *e = &m->table[v];
	struct msix_msg msg = entry_msg(e);
	bool masked = entry_masked(m, e);

	if (!e->told_valid || e->told_masked != masked || e->told.addr != msg.addr ||
	    e->told.data != msg.data) {
		m->ops->update(m->opaque, v, &msg, masked);
		e->told = msg;
		e->told_masked = masked;
		e->told_valid = true;
	}
	if (!masked && e->pending) {
		e->pending = false;
		if (m->ops->signal)
			m->ops->signal(m->opaque, &msg);
	}
}

static void msix_push_all(struct msix *m)
{
	for (unsigned int v = 0; v < m->nr; v++)
		msix_push(m, v);
}

/* A naturally aligned dword or qword access inside a region of @size bytes. */
static bool access_ok(uint64_t off, uint32_t len, uint64_t size)
{
	return (len == 4 || len == 8) && off % len == 0 && off < size && len <= size - off;
}

/*
 * Table accesses are dword or qword (PCI spec), naturally aligned; other
 * accesses read as zero and are ignored, as on hardware that does not
 * support them.
 */
void msix_table_read(struct msix *m, uint64_t off, void *data, uint32_t len)
{
	uint64_t v = 0;

	memset(data, 0, len);
	if (!access_ok(off, len, msix_table_size(m->nr)))
		return;
	pthread_mutex_lock(&m->lock);
	for (uint32_t i = 0; i < len; i += 4) {
		const struct msix_entry *e = &m->table[(off + i) / MSIX_ENTRY_SIZE];
		const uint32_t words[4] = { e->addr_lo, e->addr_hi, e->data, e->ctrl };

		v |= (uint64_t)words[((off + i) % MSIX_ENTRY_SIZE) / 4] << (i * 8);
	}
	pthread_mutex_unlock(&m->lock);
	memcpy(data, &v, len);
}

void msix_table_write(struct msix *m, uint64_t off, const void *data, uint32_t len)
{
	uint64_t v = 0;

	if (!access_ok(off, len, msix_table_size(m->nr)))
		return;
	memcpy(&v, data, len);
	pthread_mutex_lock(&m->lock);
	for (uint32_t i = 0; i < len; i += 4) {
		unsigned int idx = (unsigned int)((off + i) / MSIX_ENTRY_SIZE);
		struct msix_entry *e = &m->table[idx];
		uint32_t w = (uint32_t)(v >> (i * 8));

		switch (((off + i) % MSIX_ENTRY_SIZE) / 4) {
		case 0:
			e->addr_lo = w & ~3u; /* dword aligned */
			break;
		case 1:
			e->addr_hi = w;
			break;
		case 2:
			e->data = w;
			break;
		case 3:
			e->ctrl = w & MSIX_ENTRY_CTRL_MASKED; /* other bits reserved */
			break;
		}
		msix_push(m, idx);
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_read(struct msix *m, uint64_t off, void *data, uint32_t len)
{
	uint64_t v = 0;

	memset(data, 0, len);
	if (!access_ok(off, len, msix_pba_size(m->nr)))
		return;
	pthread_mutex_lock(&m->lock);
	for (uint32_t bit = 0; bit < len * 8; bit++) {
		uint64_t vec = off * 8 + bit;
		const struct msix_entry *e;

		if (vec >= m->nr)
			break;
		e = &m->table[vec];
		if (e->pending ||
		    (entry_masked(m, e) && m->ops->pending && m->ops->pending(m->opaque, (unsigned int)vec)))
			v |= 1ULL << bit;
	}
	pthread_mutex_unlock(&m->lock);
	memcpy(data, &v, len);
}

uint16_t msix_control_read(struct msix *m)
{
	uint16_t v;

	pthread_mutex_lock(&m->lock);
	v = (uint16_t)((m->nr - 1) | (m->enabled ? MSIX_CTRL_ENABLE : 0) |
		       (m->func_masked ? MSIX_CTRL_FUNC_MASK : 0));
	pthread_mutex_unlock(&m->lock);
	return v;
}

void msix_control_write(struct msix *m, uint16_t v)
{
	bool enabled = v & MSIX_CTRL_ENABLE, masked = v & MSIX_CTRL_FUNC_MASK;

	pthread_mutex_lock(&m->lock);
	if (enabled != m->enabled || masked != m->func_masked) {
		m->enabled = enabled;
		m->func_masked = masked;
		msix_push_all(m);
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_notify(struct msix *m, unsigned int vector)
{
	struct msix_entry *e;

	if (vector >= m->nr)
		return;
	pthread_mutex_lock(&m->lock);
	e = &m->table[vector];
	if (entry_masked(m, e)) {
		e->pending = true;
	} else if (m->ops->signal) {
		struct msix_msg msg = entry_msg(e);

		m->ops->signal(m->opaque, &msg);
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_reset(struct msix *m)
{
	pthread_mutex_lock(&m->lock);
	m->enabled = false;
	m->func_masked = false;
	for (unsigned int i = 0; i < m->nr; i++)
		m->table[i] = (struct msix_entry){ .ctrl = MSIX_ENTRY_CTRL_MASKED };
	msix_push_all(m);
	pthread_mutex_unlock(&m->lock);
}

bool msix_is_masked(struct msix *m, unsigned int vector)
{
	bool masked = true;

	pthread_mutex_lock(&m->lock);
	if (vector < m->nr)
		masked = entry_masked(m, &m->table[vector]);
	pthread_mutex_unlock(&m->lock);
	return masked;
}
