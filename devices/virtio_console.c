// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/virtio_console.h"
#include "util/log.h"

/* Feature bits (virtio 1.2, 5.3.3). */
#define VCON_F_MULTIPORT (1ULL << 1)
#define VCON_F_INDIRECT (1ULL << 28)

/* Control events (5.3.6.2). */
enum {
	VCON_DEVICE_READY = 0,
	VCON_DEVICE_ADD = 1,
	VCON_DEVICE_REMOVE = 2,
	VCON_PORT_READY = 3,
	VCON_CONSOLE_PORT = 4,
	VCON_RESIZE = 5,
	VCON_PORT_OPEN = 6,
	VCON_PORT_NAME = 7,
};

struct vcon_ctrl {
	uint32_t id;
	uint16_t event;
	uint16_t value;
} __attribute__((packed));
_Static_assert(sizeof(struct vcon_ctrl) == 8, "struct virtio_console_control");

struct vcon_config {
	uint16_t cols, rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
} __attribute__((packed));
_Static_assert(sizeof(struct vcon_config) == 12, "struct virtio_console_config");

#define CTRL_RXQ 2
#define CTRL_TXQ 3
#define DATA_QUEUE_SIZE 256
#define CTRL_QUEUE_SIZE 64
#define CTRL_PENDING_MAX 64

/* What an epoll event is about: kind << 32 | index. */
enum { EV_WAKE, EV_KICK, EV_IN, EV_OUT };
#define EV(kind, i) ((uint64_t)(kind) << 32 | (uint32_t)(i))

struct vcon_port {
	struct vcon_port_cfg cfg;
	unsigned int id;
	bool ready;      /* the driver said PORT_READY */
	bool guest_open; /* a guest program has the port open (or it is the console) */
	bool in_eof;     /* in_fd said EOF: the port is closed for the guest's reads */
	bool in_told_eof;
	bool in_armed;   /* in_fd is in the epoll set (we hold a buffer to fill) */
	bool in_poll_fails; /* in_fd cannot be polled: always ready */
	bool out_armed;  /* out_fd is in the epoll set for EPOLLOUT */
	bool out_poll_fails;
	bool out_gone;   /* out_fd failed for good: the rest is dropped */
	bool has_in, has_out; /* an element is held */
	size_t out_off;  /* bytes of the held tx element already written */
	struct vq_elem in_elem, out_elem;
};

static struct log_ratelimit vcon_rl = LOG_RATELIMIT_INIT;

/* Queue numbers (5.3.2): port 0 has 0 and 1, control 2 and 3, port p>0 has 2p+2 and 2p+3. */
static unsigned int rxq(unsigned int port)
{
	return port ? 2 * port + 2 : 0;
}

static unsigned int txq(unsigned int port)
{
	return rxq(port) + 1;
}

static struct virtio_console *from_vp(struct virtio_pci *vp)
{
	return container_of(vp, struct virtio_console, vp);
}

/* ---- the control queue, host → guest ---- */

struct vcon_msg {
	struct vcon_ctrl hdr;
	const char *name; /* PORT_NAME's payload */
};

/* Pending control messages live in a small ring in the device. */
struct vcon_outbox {
	struct vcon_msg msg[CTRL_PENDING_MAX];
	unsigned int head, n;
};

static void ctrl_queue(struct virtio_console *c, uint32_t id, uint16_t event, uint16_t value,
		       const char *name)
{
	struct vcon_outbox *o = c->outbox;

	if (o->n == CTRL_PENDING_MAX) {
		log_ratelimited(&vcon_rl, LOG_WARN, "virtio-console: the driver takes no control messages");
		c->count.bad++;
		return;
	}
	o->msg[(o->head + o->n++) % CTRL_PENDING_MAX] = (struct vcon_msg){
		.hdr = { .id = id, .event = event, .value = value },
		.name = name,
	};
}

/* Copy @len bytes at @src into the writable buffers of @e; returns what fit. */
static size_t to_guest(const struct vq_elem *e, const void *src, size_t len)
{
	const uint8_t *p = src;
	size_t done = 0;

	for (unsigned int i = e->in_num; i < e->in_num + e->out_num && done < len; i++) {
		size_t n = MIN(e->iov[i].iov_len, len - done);

		memcpy(e->iov[i].iov_base, p + done, n);
		done += n;
	}
	return done;
}

/* Bytes of @e's readable buffers, copied into @dst (at most @size). */
static size_t from_guest(const struct vq_elem *e, void *dst, size_t size)
{
	uint8_t *p = dst;
	size_t done = 0;

	for (unsigned int i = 0; i < e->in_num && done < size; i++) {
		size_t n = MIN(e->iov[i].iov_len, size - done);

		memcpy(p + done, e->iov[i].iov_base, n);
		done += n;
	}
	return done;
}

static uint64_t elem_readable(const struct vq_elem *e)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < e->in_num; i++)
		n += e->iov[i].iov_len;
	return n;
}

/* ---- interrupts ---- */

static void queue_interrupt(struct virtio_console *c, unsigned int q)
{
	struct virtio_queue_cfg qc;

	if (!vq_should_notify(&c->vqs[q]) || !virtio_common_queue(&c->vp.common, q, &qc) ||
	    qc.msix_vector == VIRTIO_NO_VECTOR)
		return;
	msix_notify(&c->vp.msix, qc.msix_vector);
	c->count.interrupts++;
}

/* ---- epoll bookkeeping ---- */

/* Add or remove @fd for @events; false if it cannot be polled (a regular file: always ready). */
static bool watch(struct virtio_console *c, int fd, uint32_t events, uint64_t tag, bool on)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	if (!on) {
		epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
		return true;
	}
	if (!epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev))
		return true;
	if (errno == EEXIST && !epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev))
		return true;
	return false;
}

/* ---- one port, guest → host ---- */

static ssize_t port_write(struct vcon_port *p, const struct iovec *iov, int n)
{
	if (p->cfg.out_is_sock) {
		struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };

		return sendmsg(p->cfg.out_fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	return writev(p->cfg.out_fd, iov, n);
}

/*
 * Write the held element from p->out_off on. 1: all of it is out (or
 * dropped), 0: the descriptor is full (armed for EPOLLOUT).
 */
static int port_flush_elem(struct virtio_console *c, struct vcon_port *p)
{
	struct vq_elem *e = &p->out_elem;
	struct iovec iov[VQ_MAX_IOV];
	uint64_t total = elem_readable(e);

	while (p->out_off < total) {
		size_t skip = p->out_off;
		int n = 0;
		ssize_t w;

		for (unsigned int i = 0; i < e->in_num; i++) {
			if (skip >= e->iov[i].iov_len) {
				skip -= e->iov[i].iov_len;
				continue;
			}
			iov[n].iov_base = (uint8_t *)e->iov[i].iov_base + skip;
			iov[n++].iov_len = e->iov[i].iov_len - skip;
			skip = 0;
		}
		w = port_write(p, iov, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			if (!p->out_poll_fails && watch(c, p->cfg.out_fd, EPOLLOUT, EV(EV_OUT, p->id), true)) {
				p->out_armed = true;
				return 0;
			}
			p->out_poll_fails = true; /* never happens for what cannot be polled; spin */
			continue;
		}
		if (w <= 0) {
			log_info("virtio-console: port %u: its reader is gone (%s); the rest is dropped",
				 p->id, w < 0 ? strerror(errno) : "nothing written");
			p->out_gone = true;
			if (p->ready) /* closed to the guest (else at its PORT_READY) */
				ctrl_queue(c, p->id, VCON_PORT_OPEN, 0, NULL);
			return 1;
		}
		p->out_off += (size_t)w;
		c->count.bytes_out += (uint64_t)w;
	}
	return 1;
}

static void port_output(struct virtio_console *c, struct vcon_port *p)
{
	unsigned int q = txq(p->id);
	struct vq *vq = &c->vqs[q];
	bool pushed = false;

	if (p->out_armed)
		return; /* waiting for room */
	for (;;) {
		if (!p->has_out) {
			int rc = vq_pop(vq, &p->out_elem);

			if (rc < 0)
				c->count.bad++;
			if (rc <= 0) {
				/* Caught up: kicks back on, and one more look for what raced with that. */
				vq_set_kicks(vq, true);
				if (!vq_has_avail(vq))
					break;
				continue;
			}
			p->has_out = true;
			p->out_off = 0;
		}
		if (p->cfg.out_fd >= 0 && !p->out_gone) {
			if (!port_flush_elem(c, p)) {
				/* Blocked: the guest need not kick while we cannot take more. */
				vq_set_kicks(vq, false);
				break;
			}
		} else if (c->cfg.output && p->cfg.out_fd < 0) {
			for (unsigned int i = 0; i < p->out_elem.in_num; i++)
				c->cfg.output(c->cfg.opaque, p->id, p->out_elem.iov[i].iov_base,
					      p->out_elem.iov[i].iov_len);
			c->count.bytes_out += elem_readable(&p->out_elem);
		}
		vq_push(vq, &p->out_elem, 0);
		p->has_out = false;
		pushed = true;
	}
	if (pushed)
		queue_interrupt(c, q);
}

/* ---- one port, host → guest ---- */

static ssize_t port_read(struct vcon_port *p, const struct iovec *iov, int n)
{
	if (p->cfg.in_is_sock) {
		struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };

		return recvmsg(p->cfg.in_fd, &m, MSG_DONTWAIT);
	}
	return readv(p->cfg.in_fd, iov, n);
}

static void port_input(struct virtio_console *c, struct vcon_port *p)
{
	unsigned int q = rxq(p->id);
	struct vq *vq = &c->vqs[q];
	bool pushed = false;

	/* Linux drops what comes to a port no program has open: wait for one. */
	if (p->cfg.in_fd < 0 || p->in_eof || !p->guest_open) {
		/* Not watched meanwhile: a readable descriptor would wake us again and again. */
		if (p->in_armed)
			watch(c, p->cfg.in_fd, 0, 0, false);
		p->in_armed = false;
		goto tell_eof;
	}
	for (;;) {
		ssize_t n;

		if (!p->has_in) {
			int rc = vq_pop(vq, &p->in_elem);

			if (rc < 0)
				c->count.bad++;
			if (rc <= 0) {
				/* No buffer: wait for the driver's kick, not for the descriptor. */
				if (p->in_armed)
					watch(c, p->cfg.in_fd, 0, 0, false);
				p->in_armed = false;
				vq_set_kicks(vq, true);
				if (!vq_has_avail(vq))
					break;
				continue;
			}
			if (!p->in_elem.out_num) {
				vq_push(vq, &p->in_elem, 0); /* nothing to fill */
				pushed = true;
				continue;
			}
			p->has_in = true;
		}
		n = port_read(p, &p->in_elem.iov[p->in_elem.in_num], (int)p->in_elem.out_num);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!p->in_armed && !p->in_poll_fails) {
				if (watch(c, p->cfg.in_fd, EPOLLIN, EV(EV_IN, p->id), true))
					p->in_armed = true;
				else
					p->in_poll_fails = true;
			}
			if (p->in_armed)
				break;
			continue;
		}
		if (n <= 0) {
			/* EOF (or an error, taken as one): the guest's reads end once it has all. */
			if (n < 0)
				log_warn("virtio-console: port %u: input ends: %s", p->id, strerror(errno));
			if (p->in_armed)
				watch(c, p->cfg.in_fd, 0, 0, false);
			p->in_armed = false;
			p->in_eof = true;
			break;
		}
		vq_push(vq, &p->in_elem, (uint32_t)n);
		c->count.bytes_in += (uint64_t)n;
		p->has_in = false;
		pushed = true;
	}
	if (pushed)
		queue_interrupt(c, q);
tell_eof:
	/* Also after a reset, whose PORT_READY opened the port again. */
	if (p->in_eof && !p->in_told_eof && p->ready) {
		p->in_told_eof = true;
		ctrl_queue(c, p->id, VCON_PORT_OPEN, 0, NULL);
	}
}

/* ---- the control queues ---- */

static void ctrl_received(struct virtio_console *c, const struct vcon_ctrl *m)
{
	struct vcon_port *p;

	if (m->event == VCON_DEVICE_READY) {
		if (m->value != 1) {
			log_ratelimited(&vcon_rl, LOG_WARN, "virtio-console: the driver failed to start");
			return;
		}
		c->driver_ready = true;
		for (unsigned int i = 0; i < c->cfg.nr_ports; i++)
			ctrl_queue(c, i, VCON_DEVICE_ADD, 0, NULL);
		return;
	}
	if (m->id >= c->cfg.nr_ports) {
		log_ratelimited(&vcon_rl, LOG_WARN,
				"virtio-console: control message %u for port %u, which does not exist",
				m->event, m->id);
		c->count.bad++;
		return;
	}
	p = &c->ports[m->id];
	switch (m->event) {
	case VCON_PORT_READY:
		if (m->value != 1 || p->ready) {
			if (m->value != 1)
				log_ratelimited(&vcon_rl, LOG_WARN, "virtio-console: port %u failed in the guest",
						p->id);
			return;
		}
		p->ready = true;
		if (!p->id) {
			ctrl_queue(c, 0, VCON_CONSOLE_PORT, 1, NULL);
			p->guest_open = true; /* a console is open from the start */
		}
		/* Open, then named: the guest's init takes the name as "open on the host's side". */
		ctrl_queue(c, p->id, VCON_PORT_OPEN, 1, NULL);
		if (p->id && p->cfg.name)
			ctrl_queue(c, p->id, VCON_PORT_NAME, 0, p->cfg.name);
		if (p->out_gone) /* its reader went away before (a reset since) */
			ctrl_queue(c, p->id, VCON_PORT_OPEN, 0, NULL);
		return;
	case VCON_PORT_OPEN:
		if (p->id)
			p->guest_open = m->value != 0;
		return;
	default:
		log_ratelimited(&vcon_rl, LOG_WARN, "virtio-console: unknown control event %u", m->event);
		c->count.bad++;
	}
}

static void ctrl_process(struct virtio_console *c)
{
	struct vq *tx = &c->vqs[CTRL_TXQ], *rx = &c->vqs[CTRL_RXQ];
	struct vcon_outbox *o = c->outbox;
	struct vq_elem *e = c->ctrl_elem;
	bool pushed_tx = false, pushed_rx = false;
	int rc;

	while ((rc = vq_pop(tx, e)) > 0) {
		struct vcon_ctrl m;

		if (from_guest(e, &m, sizeof(m)) == sizeof(m)) {
			ctrl_received(c, &m);
		} else {
			log_ratelimited(&vcon_rl, LOG_WARN, "virtio-console: short control message");
			c->count.bad++;
		}
		vq_push(tx, e, 0);
		pushed_tx = true;
	}
	if (rc < 0)
		c->count.bad++;
	while (o->n && (rc = vq_pop(rx, e)) > 0) {
		struct vcon_msg *m = &o->msg[o->head];
		uint8_t buf[sizeof(struct vcon_ctrl) + VCON_NAME_MAX];
		size_t len = sizeof(m->hdr);

		memcpy(buf, &m->hdr, sizeof(m->hdr));
		if (m->name) {
			size_t n = strnlen(m->name, VCON_NAME_MAX - 1);

			memcpy(buf + len, m->name, n);
			len += n;
		}
		vq_push(rx, e, (uint32_t)to_guest(e, buf, len));
		pushed_rx = true;
		o->head = (o->head + 1) % CTRL_PENDING_MAX;
		o->n--;
	}
	if (rc < 0)
		c->count.bad++;
	if (pushed_tx)
		queue_interrupt(c, CTRL_TXQ);
	if (pushed_rx)
		queue_interrupt(c, CTRL_RXQ);
}

/* Has every output port written all it was given? Lock held, rings started. */
static bool drained(struct virtio_console *c)
{
	for (unsigned int i = 0; i < c->cfg.nr_ports; i++) {
		struct vcon_port *p = &c->ports[i];

		if (p->has_out || vq_has_avail(&c->vqs[txq(i)]))
			return false;
	}
	return true;
}

/* Everything that can move, moves. Lock held. */
static void process(struct virtio_console *c)
{
	if (c->started) {
		ctrl_process(c);
		for (unsigned int i = 0; i < c->cfg.nr_ports; i++) {
			port_output(c, &c->ports[i]);
			port_input(c, &c->ports[i]);
		}
		/* Ports may have queued control messages (an EOF). */
		ctrl_process(c);
	}
	if (c->drained && (!c->started || drained(c))) {
		vcon_drained_fn *fn = c->drained;

		c->drained = NULL;
		fn(c->drained_opaque);
	}
}

static void *vcon_thread(void *opaque)
{
	struct virtio_console *c = opaque;
	struct epoll_event ev[16];

	for (;;) {
		int n = epoll_wait(c->epfd, ev, ARRAY_SIZE(ev), -1);

		if (n < 0 && errno != EINTR) {
			log_err("virtio-console: epoll_wait: %s", strerror(errno));
			break;
		}
		pthread_mutex_lock(&c->lock);
		if (c->stop) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		for (int i = 0; i < n; i++) {
			unsigned int kind = (unsigned int)(ev[i].data.u64 >> 32);
			unsigned int idx = (uint32_t)ev[i].data.u64;
			uint64_t v;

			switch (kind) {
			case EV_WAKE:
				(void)!read(c->wake_efd, &v, sizeof(v));
				break;
			case EV_KICK:
				if (read(c->kick[idx], &v, sizeof(v)) == sizeof(v))
					c->count.kicks += v;
				break;
			case EV_OUT: /* room again: one shot */
				if (c->ports[idx].out_armed)
					watch(c, c->ports[idx].cfg.out_fd, 0, 0, false);
				c->ports[idx].out_armed = false;
				break;
			case EV_IN: /* stays armed while a buffer is held */
				break;
			}
		}
		process(c);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

static void wake(struct virtio_console *c)
{
	uint64_t one = 1;

	(void)!write(c->wake_efd, &one, sizeof(one));
}

/* ---- virtio lifecycle (vCPU threads) ---- */

/* Forget every ring and what the ports held. Lock held. */
static void stop_all(struct virtio_console *c)
{
	c->started = false;
	c->driver_ready = false;
	c->outbox->n = 0;
	for (unsigned int q = 0; q < c->nr_queues; q++)
		c->vqs[q].ready = false;
	for (unsigned int i = 0; i < c->cfg.nr_ports; i++) {
		struct vcon_port *p = &c->ports[i];

		if (p->in_armed)
			watch(c, p->cfg.in_fd, 0, 0, false);
		if (p->out_armed)
			watch(c, p->cfg.out_fd, 0, 0, false);
		p->ready = p->guest_open = p->in_armed = p->out_armed = false;
		p->has_in = p->has_out = false;
		p->in_told_eof = false;
	}
}

static int vcon_features_ok(void *opaque, uint64_t features)
{
	(void)opaque;
	return features & VCON_F_MULTIPORT ? 0 : -EINVAL;
}

static void *vcon_translate(void *opaque, uint64_t gpa, uint64_t len)
{
	const struct guest_mem *m = opaque;

	return mem_gpa_to_hva(m, gpa, len);
}

static void vcon_driver_ok(void *opaque)
{
	struct virtio_console *c = opaque;
	bool bad = false;

	pthread_mutex_lock(&c->lock);
	for (unsigned int q = 0; q < c->nr_queues; q++) {
		struct virtio_queue_cfg qc;
		void *desc, *avail, *used;

		if (!virtio_common_queue(&c->vp.common, q, &qc) || !qc.enabled)
			continue;
		desc = mem_gpa_to_hva(c->mem, qc.desc, 16ULL * qc.size);
		avail = mem_gpa_to_hva(c->mem, qc.avail, 6 + 2ULL * qc.size);
		used = mem_gpa_to_hva(c->mem, qc.used, 6 + 8ULL * qc.size);
		if (!desc || !avail || !used || qc.desc % 16 || qc.avail % 2 || qc.used % 4) {
			bad = true;
			break;
		}
		vq_init(&c->vqs[q], qc.size, desc, avail, used, 0, false, vcon_translate,
			(void *)c->mem);
	}
	if (bad)
		stop_all(c);
	else
		c->started = true;
	pthread_mutex_unlock(&c->lock);
	if (bad) {
		log_ratelimited(&vcon_rl, LOG_WARN,
				"virtio-console: rings misaligned or not in guest RAM; the device needs a reset");
		virtio_pci_needs_reset(&c->vp);
		return;
	}
	wake(c);
}

static void vcon_reset(void *opaque)
{
	struct virtio_console *c = opaque;

	pthread_mutex_lock(&c->lock);
	stop_all(c);
	pthread_mutex_unlock(&c->lock);
}

static const struct virtio_common_ops vcon_common_ops = {
	.features_ok = vcon_features_ok,
	.driver_ok = vcon_driver_ok,
	.reset = vcon_reset,
};

static void vcon_msix_update(void *opaque, unsigned int v, const struct msix_msg *msg, bool masked)
{
	(void)opaque, (void)v, (void)msg, (void)masked; /* interrupts are sent one by one */
}

static void vcon_msix_signal(void *opaque, const struct msix_msg *msg)
{
	struct virtio_console *c = opaque;

	c->hv.signal_msi(c->hv.opaque, msg);
}

static const struct msix_ops vcon_msix_ops = {
	.update = vcon_msix_update,
	.signal = vcon_msix_signal,
};

static void vcon_config_read(struct virtio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	struct virtio_console *c = from_vp(vp);
	struct vcon_config cfg = { .max_nr_ports = c->cfg.nr_ports };

	/* virtio_pci checks off + len against the config's size. */
	memcpy(data, (uint8_t *)&cfg + off, len);
}

static void vcon_config_write(struct virtio_pci *vp, uint32_t off, const void *data, uint32_t len)
{
	(void)vp, (void)off, (void)data, (void)len; /* emerg_wr: not offered */
}

static void vcon_notify(struct virtio_pci *vp, unsigned int q)
{
	struct virtio_console *c = from_vp(vp);
	uint64_t one = 1;

	/* No ioeventfd caught it (none bound yet): pass it on by hand. */
	if (q < c->nr_queues)
		(void)!write(c->kick[q], &one, sizeof(one));
}

static void vcon_bar_moved(struct virtio_pci *vp, int bar, uint64_t old, uint64_t new_addr)
{
	struct virtio_console *c = from_vp(vp);

	(void)old;
	if (bar != VPCI_BAR)
		return;
	pthread_mutex_lock(&c->lock);
	for (unsigned int q = 0; q < c->nr_queues; q++) {
		if (c->bar_addr != PCI_BAR_UNMAPPED)
			c->hv.ioeventfd(c->hv.opaque, c->kick[q], virtio_pci_notify_addr(c->bar_addr, q), 2,
					false);
		if (new_addr != PCI_BAR_UNMAPPED &&
		    c->hv.ioeventfd(c->hv.opaque, c->kick[q], virtio_pci_notify_addr(new_addr, q), 2, true))
			log_warn("virtio-console: queue %u: no ioeventfd; its kicks exit to shmvm", q);
	}
	c->bar_addr = new_addr;
	pthread_mutex_unlock(&c->lock);
}

static const struct virtio_pci_ops vcon_pci_ops = {
	.config_read = vcon_config_read,
	.config_write = vcon_config_write,
	.notify = vcon_notify,
	.bar_moved = vcon_bar_moved,
};

/* ---- create / destroy ---- */

void vcon_when_drained(struct virtio_console *c, vcon_drained_fn *fn, void *opaque)
{
	if (c->thread_started && pthread_equal(pthread_self(), c->thread)) {
		/* From an output callback: the lock is held; process() looks at the end of its round. */
		c->drained = fn;
		c->drained_opaque = opaque;
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->drained = fn;
	c->drained_opaque = opaque;
	pthread_mutex_unlock(&c->lock);
	wake(c);
}

struct vcon_counters vcon_counters(struct virtio_console *c)
{
	struct vcon_counters n;

	pthread_mutex_lock(&c->lock);
	n = c->count;
	pthread_mutex_unlock(&c->lock);
	return n;
}

int vcon_create(struct virtio_console *c, const struct vcon_cfg *cfg, const struct guest_mem *mem,
		const struct hv_ops *hv)
{
	uint16_t sizes[2 * (VCON_MAX_PORTS + 1)];
	struct virtio_pci_params p;
	int rc;

	memset(c, 0, sizeof(*c));
	c->epfd = c->wake_efd = -1;
	for (unsigned int q = 0; q < ARRAY_SIZE(c->kick); q++)
		c->kick[q] = -1;
	if (!cfg->nr_ports || cfg->nr_ports > VCON_MAX_PORTS)
		return -EINVAL;
	pthread_mutex_init(&c->lock, NULL);
	c->cfg = *cfg;
	c->mem = mem;
	c->hv = *hv;
	c->bar_addr = PCI_BAR_UNMAPPED;
	c->nr_queues = 2 * (cfg->nr_ports + 1);
	c->ports = calloc(cfg->nr_ports, sizeof(*c->ports));
	c->vqs = calloc(c->nr_queues, sizeof(*c->vqs));
	c->outbox = calloc(1, sizeof(*c->outbox));
	c->ctrl_elem = malloc(sizeof(*c->ctrl_elem));
	if (!c->ports || !c->vqs || !c->outbox || !c->ctrl_elem) {
		rc = -ENOMEM;
		goto err;
	}
	for (unsigned int i = 0; i < cfg->nr_ports; i++) {
		c->ports[i].cfg = cfg->port[i];
		c->ports[i].id = i;
	}
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	c->wake_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->epfd < 0 || c->wake_efd < 0 || !watch(c, c->wake_efd, EPOLLIN, EV(EV_WAKE, 0), true)) {
		rc = -errno;
		goto err;
	}
	for (unsigned int q = 0; q < c->nr_queues; q++) {
		sizes[q] = q == CTRL_RXQ || q == CTRL_TXQ ? CTRL_QUEUE_SIZE : DATA_QUEUE_SIZE;
		c->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (c->kick[q] < 0 || !watch(c, c->kick[q], EPOLLIN, EV(EV_KICK, q), true)) {
			rc = -errno;
			goto err;
		}
	}
	p = (struct virtio_pci_params){
		.name = "virtio-console",
		.virtio_id = VIRTIO_ID_CONSOLE,
		.pci_class = 0x078000, /* communication controller, other */
		.device_features = VCON_F_MULTIPORT | VCON_F_INDIRECT,
		.num_queues = (uint16_t)c->nr_queues,
		.queue_sizes = sizes,
		.config_size = sizeof(struct vcon_config),
		.common_ops = &vcon_common_ops,
		.msix_ops = &vcon_msix_ops,
		.ops = &vcon_pci_ops,
		.opaque = c,
	};
	rc = virtio_pci_init(&c->vp, &p);
	if (rc)
		goto err;
	rc = -pthread_create(&c->thread, NULL, vcon_thread, c);
	if (rc) {
		virtio_pci_destroy(&c->vp);
		goto err;
	}
	c->thread_started = true;
	return 0;
err:
	vcon_destroy(c);
	return rc;
}

void vcon_destroy(struct virtio_console *c)
{
	if (c->thread_started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_mutex_unlock(&c->lock);
		wake(c);
		pthread_join(c->thread, NULL);
		c->thread_started = false;
		pthread_mutex_lock(&c->lock);
		stop_all(c);
		if (c->bar_addr != PCI_BAR_UNMAPPED)
			for (unsigned int q = 0; q < c->nr_queues; q++)
				c->hv.ioeventfd(c->hv.opaque, c->kick[q],
						virtio_pci_notify_addr(c->bar_addr, q), 2, false);
		pthread_mutex_unlock(&c->lock);
		virtio_pci_destroy(&c->vp);
	}
	for (unsigned int q = 0; q < ARRAY_SIZE(c->kick); q++)
		if (c->kick[q] >= 0)
			close(c->kick[q]);
	if (c->wake_efd >= 0)
		close(c->wake_efd);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c->ports);
	free(c->vqs);
	free(c->outbox);
	free(c->ctrl_elem);
	c->ports = NULL;
	c->vqs = NULL;
	c->outbox = NULL;
	c->ctrl_elem = NULL;
	c->epfd = c->wake_efd = -1;
	for (unsigned int q = 0; q < ARRAY_SIZE(c->kick); q++)
		c->kick[q] = -1;
}
