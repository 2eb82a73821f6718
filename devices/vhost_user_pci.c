// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "devices/vhost_user_pci.h"
#include "util/log.h"
#include "vhost/sock.h"

/* Transport features shmvm's virtio-pci and the split ring support. */
#define TRANSPORT_FEATURES                                                                         \
	((1ULL << 28) /* RING_INDIRECT_DESC */ | (1ULL << 29) /* RING_EVENT_IDX */ |                \
	 (1ULL << 32) /* VERSION_1 */)
#define DEVICE_FEATURES_MASK ((1ULL << 24) - 1)

static struct vhost_user_dev *from_vp(struct virtio_pci *vp)
{
	return container_of(vp, struct vhost_user_dev, vp);
}

/* Bind queue @q's call eventfd to the GSI its vector should fire, or to none. Lock held. */
static void rebind_queue(struct vhost_user_dev *d, unsigned int q)
{
	struct virtio_queue_cfg qc;
	int want = IRQ_NO_GSI;

	if (d->started && d->call[q] >= 0 && virtio_common_queue(&d->vp.common, q, &qc) &&
	    qc.msix_vector < d->vp.msix.nr && !d->masked[qc.msix_vector])
		want = d->gsi[qc.msix_vector];
	if (want == d->bound_gsi[q])
		return;
	if (d->bound_gsi[q] != IRQ_NO_GSI)
		d->hv.irqfd(d->hv.opaque, d->call[q], d->bound_gsi[q], false);
	d->bound_gsi[q] = IRQ_NO_GSI;
	if (want != IRQ_NO_GSI && d->hv.irqfd(d->hv.opaque, d->call[q], want, true) == 0)
		d->bound_gsi[q] = want;
}

static void rebind_all(struct vhost_user_dev *d)
{
	for (unsigned int q = 0; q < d->cfg.queues; q++)
		rebind_queue(d, q);
}

/* ---- MSI-X owner ---- */

static void msix_update(void *opaque, unsigned int v, const struct msix_msg *msg, bool masked)
{
	struct vhost_user_dev *d = opaque;

	pthread_mutex_lock(&d->lock);
	d->msg[v] = *msg;
	d->masked[v] = masked;
	if (!masked && d->hv.msi_route(d->hv.opaque, &d->gsi[v], msg))
		log_warn("%s: cannot route MSI-X vector %u", d->name, v);
	rebind_all(d);
	pthread_mutex_unlock(&d->lock);
}

static bool msix_pending(void *opaque, unsigned int v)
{
	struct vhost_user_dev *d = opaque;
	bool pending = false;

	/* A masked vector's queues keep their call eventfds unbound: a count there is pending. */
	pthread_mutex_lock(&d->lock);
	for (unsigned int q = 0; q < d->cfg.queues && d->started; q++) {
		struct virtio_queue_cfg qc;
		uint64_t n;

		if (d->call[q] < 0 || !virtio_common_queue(&d->vp.common, q, &qc) || qc.msix_vector != v)
			continue;
		/* Peek without consuming: read then write back. */
		if (read(d->call[q], &n, sizeof(n)) == sizeof(n)) {
			pending = true;
			if (write(d->call[q], &n, sizeof(n)) != sizeof(n))
				log_warn("%s: lost a pending interrupt", d->name);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return pending;
}

static void msix_signal(void *opaque, const struct msix_msg *msg)
{
	struct vhost_user_dev *d = opaque;

	d->hv.signal_msi(d->hv.opaque, msg);
}

static const struct msix_ops vu_msix_ops = {
	.update = msix_update,
	.pending = msix_pending,
	.signal = msix_signal,
};

/* ---- rings ---- */

static void stop_rings(struct vhost_user_dev *d)
{
	for (unsigned int q = 0; q < d->cfg.queues; q++) {
		uint32_t base;

		if (d->started && d->kick[q] >= 0 && !vu_frontend_broken(&d->fe) &&
		    !vu_frontend_has(&d->fe, VU_PF_RESET_DEVICE))
			(void)!vu_frontend_stop_ring(&d->fe, q, &base);
		if (d->kick[q] >= 0 && d->bar_addr != PCI_BAR_UNMAPPED)
			d->hv.ioeventfd(d->hv.opaque, d->kick[q], virtio_pci_notify_addr(d->bar_addr, q), 2,
					false);
	}
	if (d->started && !vu_frontend_broken(&d->fe) && vu_frontend_has(&d->fe, VU_PF_RESET_DEVICE))
		(void)!vu_frontend_reset_device(&d->fe);
	d->started = false;
	rebind_all(d); /* unbinds every irqfd */
	for (unsigned int q = 0; q < d->cfg.queues; q++) {
		if (d->kick[q] >= 0)
			close(d->kick[q]);
		if (d->call[q] >= 0)
			close(d->call[q]);
		d->kick[q] = d->call[q] = -1;
	}
}

static struct log_ratelimit ring_rl = LOG_RATELIMIT_INIT;

/* Host address of a ring part of @len bytes at @gpa, or 0 if it is not all in RAM. */
static uint64_t ring_hva(struct vhost_user_dev *d, uint64_t gpa, uint64_t len)
{
	return (uint64_t)(uintptr_t)mem_gpa_to_hva(d->mem, gpa, len);
}

static int start_ring(struct vhost_user_dev *d, unsigned int q, const struct virtio_queue_cfg *qc)
{
	struct vu_ring_setup r = { .index = q, .size = qc->size, .base = 0 };
	int rc;

	/* The alignments of virtio 1.2, 2.7: the backend would refuse others, and for good. */
	if (qc->desc % 16 || qc->avail % 2 || qc->used % 4) {
		log_ratelimited(&ring_rl, LOG_WARN, "%s: queue %u rings are misaligned", d->name, q);
		return -EFAULT;
	}
	r.desc = ring_hva(d, qc->desc, 16ULL * qc->size);
	r.avail = ring_hva(d, qc->avail, 6 + 2ULL * qc->size);
	r.used = ring_hva(d, qc->used, 6 + 8ULL * qc->size);
	if (!r.desc || !r.avail || !r.used) {
		log_ratelimited(&ring_rl, LOG_WARN, "%s: queue %u rings are not in guest RAM", d->name, q);
		return -EFAULT;
	}
	d->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	d->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->kick[q] < 0 || d->call[q] < 0)
		return -errno;
	rc = d->hv.ioeventfd(d->hv.opaque, d->kick[q], virtio_pci_notify_addr(d->bar_addr, q), 2, true);
	if (rc)
		return rc;
	r.kick_fd = d->kick[q];
	r.call_fd = d->call[q];
	return vu_frontend_start_ring(&d->fe, &r);
}

/* Every mapping goes on reset, disconnect and exit (vhost-user SHMEM_MAP rules). */
static void drop_mappings(struct vhost_user_dev *d, const char *why)
{
	size_t n;

	if (!d->has_shm)
		return;
	n = shm_window_unmap_all(&d->shm);
	if (n)
		log_info("%s: %s: dropped %zu shared-memory mappings", d->name, why, n);
}

/* ---- virtio lifecycle (called by the common config on vCPU threads) ---- */

/*
 * The driver set the device up so that it cannot run (rings outside RAM):
 * the guest's own doing, with the backend and its channel fine. Stop what
 * started and tell the driver DEVICE_NEEDS_RESET; a reset (status 0) and a
 * sane set-up make the device work again, unlike vhost_user_dev_broken(),
 * which gives up on the backend for good.
 */
static void guest_broke_device(struct vhost_user_dev *d, const char *why)
{
	log_ratelimited(&ring_rl, LOG_WARN, "%s: the driver's set-up: %s; the device needs a reset",
			d->name, why);
	pthread_mutex_lock(&d->lock);
	stop_rings(d);
	pthread_mutex_unlock(&d->lock);
	drop_mappings(d, why);
	virtio_pci_needs_reset(&d->vp);
}

static int vu_features_ok(void *opaque, uint64_t features)
{
	struct vhost_user_dev *d = opaque;

	return vu_frontend_set_features(&d->fe, features);
}

static void vu_driver_ok(void *opaque)
{
	struct vhost_user_dev *d = opaque;
	struct vu_region regions[MEM_MAX_REGIONS];
	int fds[MEM_MAX_REGIONS];
	int rc;

	pthread_mutex_lock(&d->lock);
	for (unsigned int i = 0; i < d->mem->nr_regions; i++) {
		const struct mem_region *r = &d->mem->regions[i];

		regions[i] = (struct vu_region){
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uint64_t)(uintptr_t)(d->mem->hva + r->offset),
			.mmap_offset = r->offset,
		};
		fds[i] = d->mem->fd;
	}
	rc = vu_frontend_set_mem_table(&d->fe, regions, fds, d->mem->nr_regions);
	d->started = true;
	for (unsigned int q = 0; !rc && q < d->cfg.queues; q++) {
		struct virtio_queue_cfg qc;

		if (!virtio_common_queue(&d->vp.common, q, &qc) || !qc.enabled)
			continue;
		rc = start_ring(d, q, &qc);
	}
	rebind_all(d);
	pthread_mutex_unlock(&d->lock);
	if (rc == -EFAULT && !vu_frontend_broken(&d->fe))
		guest_broke_device(d, "its rings are misaligned or not in guest RAM");
	else if (rc)
		vhost_user_dev_broken(d, "could not start the rings");
}

static void vu_reset(void *opaque)
{
	struct vhost_user_dev *d = opaque;

	pthread_mutex_lock(&d->lock);
	stop_rings(d);
	pthread_mutex_unlock(&d->lock);
	drop_mappings(d, "device reset");
}

static void vu_vector_changed(void *opaque, int queue, uint16_t vector)
{
	struct vhost_user_dev *d = opaque;

	(void)vector;
	pthread_mutex_lock(&d->lock);
	if (queue >= 0)
		rebind_queue(d, (unsigned int)queue);
	pthread_mutex_unlock(&d->lock);
}

static const struct virtio_common_ops vu_common_ops = {
	.features_ok = vu_features_ok,
	.driver_ok = vu_driver_ok,
	.reset = vu_reset,
	.vector_changed = vu_vector_changed,
};

/* ---- device config and BAR ---- */

/*
 * A config access (a vCPU, no device lock held) failed: if that broke the
 * main channel (a backend that did not answer within reply_ms, or answered
 * nonsense; the frontend logged which request), the device needs a reset,
 * so the driver hears of it instead of reading zeros from then on. A
 * refusal that leaves the channel usable changes nothing.
 */
static void main_channel_failed(struct vhost_user_dev *d, const char *req)
{
	char why[64];

	if (!vu_frontend_broken(&d->fe))
		return;
	snprintf(why, sizeof(why), "%s failed on the main channel", req);
	vhost_user_dev_broken(d, why);
}

static void vu_config_read(struct virtio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	struct vhost_user_dev *d = from_vp(vp);
	uint8_t buf[VU_MAX_CONFIG_SIZE];

	/*
	 * Ask for the whole config and slice it here: libvhost-user backends
	 * (qemu-storage-daemon among them) ignore the offset of GET_CONFIG and
	 * always answer from the start, as QEMU always asks from the start.
	 */
	if (d->use_local_config) {
		memcpy(data, d->local_config + off, len);
	} else if (vu_frontend_get_config(&d->fe, 0, buf, d->cfg.config_size)) {
		memset(data, 0, len);
		main_channel_failed(d, "GET_CONFIG");
	} else {
		memcpy(data, buf + off, len);
	}
}

static void vu_config_write(struct virtio_pci *vp, uint32_t off, const void *data, uint32_t len)
{
	struct vhost_user_dev *d = from_vp(vp);

	if (!d->use_local_config && vu_frontend_set_config(&d->fe, off, data, len))
		main_channel_failed(d, "SET_CONFIG");
}

static void vu_notify(struct virtio_pci *vp, unsigned int q)
{
	struct vhost_user_dev *d = from_vp(vp);

	/* Only reached when no ioeventfd is bound: pass the kick on by hand. */
	pthread_mutex_lock(&d->lock);
	if (q < d->cfg.queues && d->kick[q] >= 0 && eventfd_write(d->kick[q], 1) < 0)
		log_warn("%s: kick of queue %u lost", d->name, q);
	pthread_mutex_unlock(&d->lock);
}

static void vu_bar_moved(struct virtio_pci *vp, int bar, uint64_t old, uint64_t new_addr)
{
	struct vhost_user_dev *d = from_vp(vp);

	(void)old;
	if (bar == VPCI_SHM_BAR) {
		if (d->has_shm)
			shm_window_set_gpa(&d->shm, new_addr == PCI_BAR_UNMAPPED ? SHM_GPA_NONE : new_addr);
		return;
	}
	if (bar != VPCI_BAR)
		return;
	pthread_mutex_lock(&d->lock);
	for (unsigned int q = 0; q < d->cfg.queues; q++) {
		if (d->kick[q] < 0)
			continue;
		if (d->bar_addr != PCI_BAR_UNMAPPED)
			d->hv.ioeventfd(d->hv.opaque, d->kick[q], virtio_pci_notify_addr(d->bar_addr, q), 2, false);
		if (new_addr != PCI_BAR_UNMAPPED)
			d->hv.ioeventfd(d->hv.opaque, d->kick[q], virtio_pci_notify_addr(new_addr, q), 2, true);
	}
	d->bar_addr = new_addr;
	pthread_mutex_unlock(&d->lock);
}

static const struct virtio_pci_ops vu_pci_ops = {
	.config_read = vu_config_read,
	.config_write = vu_config_write,
	.notify = vu_notify,
	.bar_moved = vu_bar_moved,
};

void vhost_user_dev_broken(struct vhost_user_dev *d, const char *why)
{
	bool first;

	/*
	 * Once, not "unless fe.broken": the frontend marks itself broken when a
	 * request fails, before its caller gets here, and the guest must hear
	 * of it all the same. Only once: a driver that answers the config
	 * interrupt by reading the config would otherwise be sent another.
	 */
	pthread_mutex_lock(&d->lock);
	first = !d->needs_reset;
	if (first)
		log_err("%s: vhost-user backend %s: %s; the device needs a reset", d->name, d->cfg.socket, why);
	d->needs_reset = true;
	__atomic_store_n(&d->fe.broken, true, __ATOMIC_RELAXED);
	stop_rings(d);
	pthread_mutex_unlock(&d->lock);
	drop_mappings(d, why);
	if (first)
		virtio_pci_needs_reset(&d->vp);
}

/* ---- the shared-memory BAR: what no memory slot covers ---- */

static void shm_bar_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct vhost_user_dev *d = opaque;

	shm_window_access(&d->shm, off, data, len, false);
}

static void shm_bar_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct vhost_user_dev *d = opaque;

	shm_window_access(&d->shm, off, (void *)data, len, true);
}

static const struct bus_ops shm_bar_ops = { .read = shm_bar_read, .write = shm_bar_write };

/* ---- the backend channel ---- */

static struct log_ratelimit backend_rl = LOG_RATELIMIT_INIT;

/* Requests must not wait for more than this between the parts of one message. */
#define BACKEND_MSG_MS 1000

static int handle_shmem(struct vhost_user_dev *d, const struct vu_msg *m)
{
	struct vu_mmap mm;

	if (!d->has_shm)
		return -EINVAL;
	/* vu_msg_check() saw the size; the window checks every field. */
	memcpy(&mm, m->payload.bytes, sizeof(mm));
	if (m->hdr.request == VU_BACKEND_SHMEM_MAP)
		return shm_window_map(&d->shm, mm.shmid, mm.shm_offset, mm.len, m->fds[0], mm.fd_offset,
				      mm.flags);
	return shm_window_unmap(&d->shm, mm.shmid, mm.shm_offset, mm.len);
}

/* vu_msg_check()'s refusal of @hdr in words that say what was wrong with it. */
static const char *check_error(const struct vu_hdr *hdr, int rc)
{
	switch (rc) {
	case -EINVAL:
		return (hdr->flags & VU_VERSION_MASK) != VU_VERSION ? "wrong version bits"
								    : "unknown or misplaced flag bits";
	case -EOPNOTSUPP:
		return "unknown request";
	case -EMSGSIZE:
		return "payload size not what the request has";
	case -EBADF:
		return "wrong number of file descriptors for the request";
	default:
		return strerror(-rc);
	}
}

/* One request from the backend: act, and answer when asked to. False: the channel is unusable. */
static bool backend_request(struct vhost_user_dev *d, struct vu_msg *m)
{
	const struct vu_msg_rule *rule = vu_msg_rule(VU_DIR_BACKEND_REQ, m->hdr.request);
	bool want_reply = (rule && rule->has_reply) ||
			  (vu_frontend_has(&d->fe, VU_PF_REPLY_ACK) && (m->hdr.flags & VU_FLAG_NEED_REPLY));
	int rc = vu_msg_check(VU_DIR_BACKEND_REQ, &m->hdr, m->nfds);

	if (rc) {
		__atomic_add_fetch(&d->refused_msgs, 1, __ATOMIC_RELAXED);
		log_ratelimited(&backend_rl, LOG_WARN, "%s: backend sent a bad %s (%u bytes, %zu fds): %s",
				d->name, vu_msg_name(VU_DIR_BACKEND_REQ, m->hdr.request), m->hdr.size,
				m->nfds, check_error(&m->hdr, rc));
	} else {
		switch (m->hdr.request) {
		case VU_BACKEND_SHMEM_MAP:
		case VU_BACKEND_SHMEM_UNMAP:
			rc = handle_shmem(d, m);
			break;
		case VU_BACKEND_CONFIG_CHANGE_MSG:
			virtio_pci_config_changed(&d->vp);
			break;
		default:
			__atomic_add_fetch(&d->refused_msgs, 1, __ATOMIC_RELAXED);
			log_ratelimited(&backend_rl, LOG_WARN, "%s: backend request %s is not supported",
					d->name, vu_msg_name(VU_DIR_BACKEND_REQ, m->hdr.request));
			rc = -EOPNOTSUPP;
		}
	}
	vu_msg_close_fds(m); /* a mapping keeps its own reference to the file */
	if (!want_reply)
		return true;
	rc = vu_msg_reply_u64(d->backend_fd, m->hdr.request, (uint64_t)(int64_t)rc);
	if (rc && __atomic_load_n(&d->backend_stopping, __ATOMIC_ACQUIRE))
		return false; /* shut down under us: the thread is being stopped */
	if (rc) {
		/* Gone, or not reading its replies (the send timed out): stop serving it. */
		__atomic_add_fetch(&d->refused_msgs, 1, __ATOMIC_RELAXED);
		log_err("%s: cannot answer the backend's %s: %s; closing the backend channel", d->name,
			vu_msg_name(VU_DIR_BACKEND_REQ, m->hdr.request), strerror(-rc));
		return false;
	}
	return true;
}

/* vu_msg_recv()'s refusal of a message, in words that name what the backend did. */
static const char *framing_error(int rc)
{
	_Static_assert(VU_MAX_PAYLOAD == 4096 && VU_MAX_FDS == 8 && BACKEND_MSG_MS == 1000,
		       "the numbers in the words below");
	switch (rc) {
	case -EMSGSIZE:
		return "a header announcing a payload over 4096 bytes";
	case -EBADF:
		return "more file descriptors in one message than the 8 allowed";
	case -EPIPE:
		return "the backend hung up in the middle of a message";
	case -ETIMEDOUT:
		return "a message left incomplete for over a second";
	default:
		return strerror(-rc);
	}
}

/*
 * The backend channel has a thread of its own, so a vCPU waiting for a reply
 * on the main channel never blocks a SHMEM_MAP the backend needs answered
 * first. It never sends on the main channel. It waits in a blocking read
 * (vu_msg_recv_next: two recvmsg per message, no poll), and is stopped by a
 * shutdown() of its socket, which ends that read.
 */
static void *backend_thread(void *opaque)
{
	struct vhost_user_dev *d = opaque;
	struct vu_msg m;

	for (;;) {
		int rc = vu_msg_recv_next(d->backend_fd, &m, BACKEND_MSG_MS);

		if (__atomic_load_n(&d->backend_stopping, __ATOMIC_ACQUIRE)) {
			if (rc > 0)
				vu_msg_close_fds(&m);
			return NULL;
		}
		if (rc == 0) {
			log_info("%s: the backend closed its backend channel", d->name);
			break;
		}
		if (rc < 0) {
			/* A stream that lost its framing cannot be read on. */
			__atomic_add_fetch(&d->refused_msgs, 1, __ATOMIC_RELAXED);
			log_err("%s: backend channel: %s; closing it", d->name, framing_error(rc));
			break;
		}
		if (!backend_request(d, &m)) {
			if (__atomic_load_n(&d->backend_stopping, __ATOMIC_ACQUIRE))
				return NULL;
			break;
		}
	}
	/* The backend sees the end of the stream; the fd itself goes at destroy. */
	shutdown(d->backend_fd, SHUT_RDWR);
	drop_mappings(d, "backend channel closed");
	return NULL;
}

/* Give the backend its channel to us, if it has one. */
static int backend_channel_start(struct vhost_user_dev *d)
{
	int sv[2], rc;

	if (!vu_frontend_has(&d->fe, VU_PF_BACKEND_REQ))
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	/* A backend that stops reading its replies must not hold this thread forever. */
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO,
		       &(struct timeval){ .tv_sec = BACKEND_MSG_MS / 1000 }, sizeof(struct timeval))) {
		rc = -errno;
		goto err;
	}
	rc = vu_frontend_set_backend_req_fd(&d->fe, sv[1]);
	if (rc)
		goto err;
	close(sv[1]);
	d->backend_fd = sv[0];
	__atomic_store_n(&d->backend_stopping, false, __ATOMIC_RELAXED);
	rc = -pthread_create(&d->backend_thread, NULL, backend_thread, d);
	if (rc) {
		close(d->backend_fd);
		d->backend_fd = -1;
		return rc;
	}
	d->backend_running = true;
	return 0;
err:
	close(sv[0]);
	close(sv[1]);
	return rc;
}

static void backend_channel_stop(struct vhost_user_dev *d)
{
	if (d->backend_running) {
		/* Ends its read (or makes its next one return at once); the fd stays ours. */
		__atomic_store_n(&d->backend_stopping, true, __ATOMIC_RELEASE);
		if (shutdown(d->backend_fd, SHUT_RDWR))
			log_err("%s: cannot stop the backend channel thread: %s", d->name,
				strerror(errno));
		pthread_join(d->backend_thread, NULL);
		d->backend_running = false;
	}
	if (d->backend_fd >= 0)
		close(d->backend_fd);
	d->backend_fd = -1;
}

/*
 * The regions: the backend's (GET_SHMEM_CONFIG), then the command line's
 * by id. Must be known before the BAR layout is fixed.
 */
static int shm_setup(struct vhost_user_dev *d, struct virtio_pci_shm *regions, unsigned int *nr)
{
	uint64_t sizes[VU_MAX_SHMEM_REGIONS] = { 0 };
	uint8_t ids[SHM_MAX_REGIONS];
	uint64_t lens[SHM_MAX_REGIONS];
	unsigned int n = 0;
	int rc;

	if (vu_frontend_has(&d->fe, VU_PF_SHMEM)) {
		rc = vu_frontend_get_shmem_config(&d->fe, sizes);
		if (rc)
			return rc;
	}
	for (unsigned int i = 0; i < d->cfg.nr_shm; i++)
		sizes[d->cfg.shm_id[i]] = d->cfg.shm_size[i];
	for (unsigned int id = 0; id < VU_MAX_SHMEM_REGIONS; id++) {
		if (!sizes[id])
			continue;
		if (n == SHM_MAX_REGIONS) {
			log_err("%s: backend %s asks for more than %u shared-memory regions", d->name,
				d->cfg.socket, SHM_MAX_REGIONS);
			return -EINVAL;
		}
		ids[n] = (uint8_t)id;
		lens[n++] = sizes[id];
	}
	*nr = n;
	if (!n)
		return 0;
	if (!vu_frontend_has(&d->fe, VU_PF_SHMEM) || !vu_frontend_has(&d->fe, VU_PF_BACKEND_REQ) ||
	    !vu_frontend_has(&d->fe, VU_PF_BACKEND_SEND_FD))
		log_warn("%s: backend %s lacks SHMEM, BACKEND_REQ or BACKEND_SEND_FD: its shared memory "
			 "stays empty", d->name, d->cfg.socket);
	rc = shm_window_init(&d->shm, d->name, d->cfg.shm_strategy, d->cfg.slots, ids, lens, n);
	if (rc)
		return rc;
	d->has_shm = true;
	/* Only this window's own backend hears of its mappings. */
	d->announce = (struct shm_announce){ .name = d->name, .fe = &d->fe };
	if (vu_frontend_has(&d->fe, VU_PF_CONFIGURE_MEM_SLOTS))
		shm_window_set_ops(&d->shm, &shm_announce_ops, &d->announce);
	for (unsigned int i = 0; i < n; i++)
		regions[i] = (struct virtio_pci_shm){ .id = d->shm.regions[i].id,
						      .offset = d->shm.regions[i].off,
						      .length = d->shm.regions[i].size };
	return 0;
}

int vhost_user_dev_fd(const struct vhost_user_dev *d)
{
	return d->fe.sock;
}

int vhost_user_dev_create(struct vhost_user_dev *d, const struct vhost_user_cfg *cfg,
			  const struct guest_mem *mem, const struct hv_ops *hv)
{
	uint16_t sizes[VIRTIO_MAX_QUEUES];
	struct virtio_pci_shm shm[SHM_MAX_REGIONS];
	struct virtio_pci_params p;
	unsigned int nr_shm = 0;
	int rc;

	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->cfg = *cfg;
	d->mem = mem;
	d->hv = *hv;
	d->bar_addr = PCI_BAR_UNMAPPED;
	d->backend_fd = -1;
	snprintf(d->name, sizeof(d->name), "vhost-user-%u", cfg->virtio_id);
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		d->kick[i] = d->call[i] = -1;
		d->bound_gsi[i] = IRQ_NO_GSI;
		sizes[i] = cfg->queue_size;
	}
	for (unsigned int i = 0; i <= VIRTIO_MAX_QUEUES; i++) {
		d->gsi[i] = IRQ_NO_GSI;
		d->masked[i] = true;
	}
	if (cfg->has_socket_fd) {
		rc = vu_frontend_adopt(&d->fe, cfg->socket_fd, cfg->socket, cfg->reply_ms);
		if (rc) {
			close(cfg->socket_fd); /* ours, whatever happens */
			return rc;
		}
	} else {
		rc = vu_frontend_connect(&d->fe, cfg->socket, cfg->connect_ms, cfg->reply_ms);
		if (rc)
			return rc;
	}
	d->cfg.socket = vu_frontend_name(&d->fe); /* the path, the fd's name or "fd N" */
	if (vu_frontend_has(&d->fe, VU_PF_MQ) && d->fe.queue_num < cfg->queues) {
		log_err("%s: backend %s serves %llu queues, %u requested", d->name, d->cfg.socket,
			(unsigned long long)d->fe.queue_num, cfg->queues);
		rc = -EINVAL;
		goto err_fe;
	}
	if (cfg->config_size && !vu_frontend_has(&d->fe, VU_PF_CONFIG)) {
		if (cfg->local_config) {
			memcpy(d->local_config, cfg->local_config, MIN(cfg->config_size, VU_MAX_CONFIG_SIZE));
			d->use_local_config = true;
		} else {
			log_warn("%s: backend %s has no CONFIG: device config reads as zeros", d->name,
				 d->cfg.socket);
		}
	}
	rc = shm_setup(d, shm, &nr_shm);
	if (rc)
		goto err_fe;
	p = (struct virtio_pci_params){
		.name = d->name,
		.virtio_id = cfg->virtio_id,
		.pci_class = cfg->pci_class,
		.device_features = d->fe.features & (DEVICE_FEATURES_MASK | TRANSPORT_FEATURES),
		.num_queues = cfg->queues,
		.queue_sizes = sizes,
		.config_size = cfg->config_size,
		.common_ops = &vu_common_ops,
		.msix_ops = &vu_msix_ops,
		.ops = &vu_pci_ops,
		.opaque = d,
		.shm_bar_size = d->has_shm ? d->shm.size : 0,
		.nr_shm = nr_shm,
		.shm = shm,
		.shm_ops = &shm_bar_ops,
		.shm_opaque = d,
	};
	rc = virtio_pci_init(&d->vp, &p);
	if (rc) {
		log_err("%s: cannot build its PCI function: %s", d->name, strerror(-rc));
		goto err_shm;
	}
	rc = backend_channel_start(d);
	if (rc) {
		log_err("%s: cannot set up the backend channel of %s: %s", d->name, d->cfg.socket,
			strerror(-rc));
		virtio_pci_destroy(&d->vp);
		goto err_shm;
	}
	return 0;
err_shm:
	backend_channel_stop(d);
	if (d->has_shm)
		shm_window_destroy(&d->shm);
	d->has_shm = false;
err_fe:
	vu_frontend_close(&d->fe);
	return rc;
}

void vhost_user_dev_destroy(struct vhost_user_dev *d)
{
	pthread_mutex_lock(&d->lock);
	stop_rings(d);
	for (unsigned int v = 0; v <= VIRTIO_MAX_QUEUES; v++)
		if (d->gsi[v] != IRQ_NO_GSI)
			d->hv.msi_route_free(d->hv.opaque, d->gsi[v]);
	pthread_mutex_unlock(&d->lock);
	backend_channel_stop(d);
	vu_frontend_close(&d->fe);
	virtio_pci_destroy(&d->vp);
	if (d->has_shm)
		shm_window_destroy(&d->shm);
	d->has_shm = false;
}
