// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "util/unix_socket.h"
#include "vhost/backend.h"
#include "vhost/sock.h"

#define VIRTIO_F_VERSION_1 32
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29

static struct log_ratelimit be_rl = LOG_RATELIMIT_INIT;

static uint64_t offered_features(const struct vu_backend *b)
{
	return b->ops->features | (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |
	       (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VU_F_PROTOCOL_FEATURES);
}

static uint64_t offered_protocol_features(const struct vu_backend *b)
{
	uint64_t pf = (1ULL << VU_PF_MQ) | (1ULL << VU_PF_REPLY_ACK) | (1ULL << VU_PF_BACKEND_REQ) |
		      (1ULL << VU_PF_BACKEND_SEND_FD) | (1ULL << VU_PF_RESET_DEVICE) |
		      (1ULL << VU_PF_CONFIGURE_MEM_SLOTS);

	if (b->ops->config_size)
		pf |= 1ULL << VU_PF_CONFIG;
	if (b->ops->get_shmem_config)
		pf |= 1ULL << VU_PF_SHMEM;
	return pf & ~b->ops->withheld_protocol_features;
}

/*
 * Any thread: the dispatch thread writes protocol_features, a thread asking
 * vu_backend_shmem_map() reads them (backend.h, "Threads").
 */
static bool has_pf(const struct vu_backend *b, enum vu_protocol_feature f)
{
	return __atomic_load_n(&b->protocol_features, __ATOMIC_ACQUIRE) & (1ULL << f);
}

/* The dispatch thread only: a new backend channel (-1: none), never under a request's feet. */
static void set_req_fd(struct vu_backend *b, int fd)
{
	/* Wake a request waiting for its ack on the old one, then wait for it to leave. */
	if (b->req_fd >= 0)
		shutdown(b->req_fd, SHUT_RDWR);
	pthread_mutex_lock(&b->req_lock);
	if (b->req_fd >= 0)
		close(b->req_fd);
	__atomic_store_n(&b->req_fd, fd, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&b->req_lock);
}

/* ---- memory ---- */

static void unmap_region(struct vu_mem_region *r)
{
	if (r->map)
		munmap(r->map, r->map_size);
	r->map = NULL;
}

static void unmap_regions(struct vu_mem_region *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		unmap_region(&r[i]);
}

/* Index of the first region that ends after @gpa (nregions if none). */
static size_t first_ending_after(const struct vu_backend *b, uint64_t gpa)
{
	size_t lo = 0, hi = b->nregions;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct vu_mem_region *r = &b->regions[mid];

		/* r->size > 0 and the region does not wrap (checked when added). */
		if (r->gpa + r->size - 1 < gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void *vu_gpa_to_va(struct vu_backend *b, uint64_t gpa, uint64_t len)
{
	size_t i = first_ending_after(b, gpa);
	struct vu_mem_region *r;

	if (i == b->nregions)
		return NULL;
	r = &b->regions[i];
	if (gpa >= r->gpa && gpa - r->gpa < r->usable && len <= r->usable - (gpa - r->gpa))
		return r->host + (gpa - r->gpa);
	return NULL;
}

/*
 * Ring addresses are the frontend's virtual addresses. Only ring starts
 * translate them (three lookups a ring), so a scan of the gpa-sorted table
 * does, rather than a second index to keep sorted by uva.
 */
static void *uva_to_va(struct vu_backend *b, uint64_t uva, uint64_t len)
{
	for (size_t i = 0; i < b->nregions; i++) {
		struct vu_mem_region *r = &b->regions[i];

		if (uva >= r->uva && uva - r->uva < r->usable && len <= r->usable - (uva - r->uva))
			return r->host + (uva - r->uva);
	}
	return NULL;
}

static void *vq_xlate(void *opaque, uint64_t gpa, uint64_t len)
{
	return vu_gpa_to_va(opaque, gpa, len);
}

/* [guest_phys_addr, + memory_size) is not empty and does not wrap. */
static bool gpa_range_ok(const struct vu_region *r)
{
	return r->memory_size && r->guest_phys_addr + r->memory_size - 1 >= r->guest_phys_addr;
}

/*
 * Map @r of @fd into @out. An aligned mmap_offset is mapped directly (no
 * address space spent on the part before it); an unaligned one the
 * protocol's way, from 0. A read-only file (a read-only window mapping's) is
 * mapped private: the guest may name it as a device-writable buffer, and
 * our writes must not fault. Only what lies within a regular file's
 * (page-rounded) size translates, as touching a page past the end raises
 * SIGBUS; a file that shrinks afterwards is not covered.
 */
static int map_region(const struct vu_region *r, int fd, struct vu_mem_region *out)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), off = r->mmap_offset, skip = 0;
	int share = MAP_SHARED;
	struct stat st;
	void *p;

	if (!gpa_range_ok(r) || r->userspace_addr + r->memory_size - 1 < r->userspace_addr ||
	    off + r->memory_size < off || off + r->memory_size > (uint64_t)INT64_MAX ||
	    r->memory_size > SIZE_MAX - page)
		return -EINVAL;
	if (fstat(fd, &st))
		return -errno;
	if (off % page) {
		skip = off;
		off = 0;
	}
	for (;;) {
		p = mmap(NULL, skip + r->memory_size, PROT_READ | PROT_WRITE, share | MAP_NORESERVE,
			 fd, (off_t)off);
		if (p != MAP_FAILED)
			break;
		if (errno != EACCES || share == MAP_PRIVATE)
			return -errno;
		share = MAP_PRIVATE;
	}
	*out = (struct vu_mem_region){
		.gpa = r->guest_phys_addr,
		.size = r->memory_size,
		.uva = r->userspace_addr,
		.usable = r->memory_size,
		.host = (uint8_t *)p + skip,
		.map = p,
		.map_size = skip + r->memory_size,
	};
	if (S_ISREG(st.st_mode)) {
		uint64_t end = ALIGN_UP((uint64_t)st.st_size, page);

		out->usable = end <= r->mmap_offset ? 0 : MIN(end - r->mmap_offset, r->memory_size);
	}
	return 0;
}

/* Make room for @want regions in all. */
static int table_reserve(struct vu_backend *b, size_t want)
{
	struct vu_mem_region *t;
	size_t cap = b->cap_regions ? b->cap_regions : 16;

	if (want <= b->cap_regions)
		return 0;
	if (want > VU_BACKEND_MAX_MEM_SLOTS)
		return -ENOSPC;
	while (cap < want)
		cap *= 2;
	cap = MIN(cap, (size_t)VU_BACKEND_MAX_MEM_SLOTS);
	t = realloc(b->regions, cap * sizeof(*t));
	if (!t)
		return -ENOMEM;
	b->regions = t;
	b->cap_regions = cap;
	return 0;
}

static int set_mem_table(struct vu_backend *b, struct vu_msg *m)
{
	struct vu_mem_region n[VU_MAX_MEM_REGIONS] = { 0 };
	struct vu_memory mem;
	unsigned int i, j;
	int rc = vu_decode_mem_table(m->payload.bytes, m->hdr.size, m->nfds, &mem);

	if (rc)
		return rc;
	for (i = 0; i < mem.nregions; i++) {
		struct vu_mem_region r;

		rc = map_region(&mem.regions[i], m->fds[i], &r);
		if (rc)
			goto err;
		/* Insertion sort by gpa; overlapping regions are refused. */
		for (j = i; j > 0 && n[j - 1].gpa > r.gpa; j--)
			n[j] = n[j - 1];
		n[j] = r;
		if ((j > 0 && n[j - 1].gpa + n[j - 1].size - 1 >= r.gpa) ||
		    (j < i && r.gpa + r.size - 1 >= n[j + 1].gpa)) {
			i++;
			rc = -EINVAL;
			goto err;
		}
	}
	rc = table_reserve(b, mem.nregions);
	if (rc)
		goto err;
	/* The new table is in place before the old one goes. */
	unmap_regions(b->regions, b->nregions);
	memcpy(b->regions, n, mem.nregions * sizeof(*n));
	__atomic_store_n(&b->nregions, mem.nregions, __ATOMIC_RELAXED);
	return 0;
err:
	unmap_regions(n, i);
	return rc;
}

/* ADD_MEM_REG: one more region, refused if it overlaps one we have. */
static int add_mem_reg(struct vu_backend *b, struct vu_msg *m)
{
	struct vu_region r = m->payload.mem_reg.region; /* our copy, checked from here on */
	struct vu_mem_region n;
	size_t at;
	int rc;

	if (!has_pf(b, VU_PF_CONFIGURE_MEM_SLOTS))
		return -EOPNOTSUPP;
	if (!gpa_range_ok(&r))
		return -EINVAL;
	at = first_ending_after(b, r.guest_phys_addr);
	if (at < b->nregions && b->regions[at].gpa <= r.guest_phys_addr + r.memory_size - 1)
		return -EEXIST;
	rc = table_reserve(b, b->nregions + 1);
	if (rc)
		return rc;
	rc = map_region(&r, m->fds[0], &n);
	if (rc)
		return rc;
	memmove(&b->regions[at + 1], &b->regions[at], (b->nregions - at) * sizeof(n));
	b->regions[at] = n;
	__atomic_store_n(&b->nregions, b->nregions + 1, __ATOMIC_RELAXED); /* backend.h, "Threads" */
	return 0;
}

/* REM_MEM_REG: exactly one region we have, by guest address and size. */
static int rem_mem_reg(struct vu_backend *b, struct vu_msg *m)
{
	struct vu_region r = m->payload.mem_reg.region;
	size_t at;

	if (!has_pf(b, VU_PF_CONFIGURE_MEM_SLOTS))
		return -EOPNOTSUPP;
	at = first_ending_after(b, r.guest_phys_addr);
	if (at == b->nregions || b->regions[at].gpa != r.guest_phys_addr ||
	    b->regions[at].size != r.memory_size)
		return -ENOENT;
	unmap_region(&b->regions[at]);
	memmove(&b->regions[at], &b->regions[at + 1], (b->nregions - at - 1) * sizeof(*b->regions));
	__atomic_store_n(&b->nregions, b->nregions - 1, __ATOMIC_RELAXED);
	return 0;
}

/* ---- queues ---- */

static void queue_stop(struct vu_backend_queue *q)
{
	q->started = false;
	q->vq.ready = false;
}

static void queue_close_fds(struct vu_backend_queue *q)
{
	int *fds[] = { &q->kick_fd, &q->call_fd, &q->err_fd };

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static void device_reset(struct vu_backend *b)
{
	for (unsigned int i = 0; i < VU_BACKEND_MAX_QUEUES; i++) {
		queue_stop(&b->q[i]);
		queue_close_fds(&b->q[i]);
		b->q[i] = (struct vu_backend_queue){ .kick_fd = -1, .call_fd = -1, .err_fd = -1 };
	}
	if (b->ops->reset)
		b->ops->reset(b->opaque);
}

/* The rings of @num entries at @a, in our address space: 0, -EFAULT (not in memory) or -EINVAL. */
static int ring_translate(struct vu_backend *b, const struct vu_vring_addr *a, uint16_t num,
			  void **desc, void **avail, void **used)
{
	*desc = uva_to_va(b, a->desc, 16ULL * num);
	*avail = uva_to_va(b, a->avail, 6 + 2ULL * num);
	*used = uva_to_va(b, a->used, 6 + 8ULL * num);
	if (!*desc || !*avail || !*used)
		return -EFAULT;
	/* The addresses were aligned; what they translate to is not if a region's start is not. */
	if ((uintptr_t)*desc % 16 || (uintptr_t)*avail % 2 || (uintptr_t)*used % 4)
		return -EINVAL;
	return 0;
}

/* A ring starts on its kick fd once it has an address and is enabled (or has no enable). */
static int queue_try_start(struct vu_backend *b, unsigned int i)
{
	struct vu_backend_queue *q = &b->q[i];
	bool event_idx = b->features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	void *desc, *avail, *used;
	int rc;

	if (q->started || !q->have_addr || q->kick_fd < 0 || !q->num)
		return 0;
	if ((b->features & (1ULL << VU_F_PROTOCOL_FEATURES)) && !q->enabled)
		return 0;
	rc = ring_translate(b, &q->addr, q->num, &desc, &avail, &used);
	if (rc)
		return rc;
	vq_init(&q->vq, q->num, desc, avail, used, q->base, event_idx, vq_xlate, b);
	q->started = true;
	return 0;
}

/*
 * The memory table changed (SET_MEM_TABLE, REM_MEM_REG): what a started
 * ring's pointers point into may be unmapped. Translate them again, as
 * libvhost-user does; a ring that no longer translates stops (until the
 * frontend sets it up again) rather than be read through a stale pointer.
 */
static void rings_follow(struct vu_backend *b)
{
	for (unsigned int i = 0; i < VU_BACKEND_MAX_QUEUES; i++) {
		struct vu_backend_queue *q = &b->q[i];
		void *desc, *avail, *used;

		if (!q->started)
			continue;
		if (ring_translate(b, &q->addr, q->vq.size, &desc, &avail, &used)) {
			log_ratelimited(&be_rl, LOG_WARN, "queue %u: its rings left guest memory; stopped", i);
			queue_stop(q);
			continue;
		}
		q->vq.desc = desc;
		q->vq.avail = avail;
		q->vq.used = used;
	}
}

struct vq *vu_backend_vq(struct vu_backend *b, unsigned int i)
{
	return i < VU_BACKEND_MAX_QUEUES && b->q[i].started ? &b->q[i].vq : NULL;
}

bool vu_backend_yield(struct vu_backend *b, unsigned int i)
{
	struct vu_backend_queue *q = &b->q[i];

	if (!__atomic_load_n(&b->map_announced, __ATOMIC_RELAXED) || i >= VU_BACKEND_MAX_QUEUES ||
	    !q->started || q->kick_fd < 0)
		return false;
	/*
	 * Serve the queue again in a later round: the ADD_MEM_REG, written before
	 * the map was answered, is already readable and goes first.
	 */
	__atomic_store_n(&b->map_announced, false, __ATOMIC_RELAXED);
	if (eventfd_write(q->kick_fd, 1) < 0) {
		log_ratelimited(&be_rl, LOG_WARN, "queue %u: kick eventfd: %s", i, strerror(errno));
		return false;
	}
	return true;
}

void vu_backend_notify(struct vu_backend *b, unsigned int i)
{
	struct vu_backend_queue *q = &b->q[i];

	if (q->started && q->call_fd >= 0 && vq_should_notify(&q->vq) && eventfd_write(q->call_fd, 1) < 0)
		log_ratelimited(&be_rl, LOG_WARN, "queue %u: call eventfd: %s", i, strerror(errno));
}

/* SET_VRING_KICK/CALL/ERR: index in bits 0-7, bit 8 "no fd". */
static int set_ring_fd(struct vu_backend *b, struct vu_msg *m, int which)
{
	uint64_t v = m->payload.u64;
	unsigned int i = v & VU_VRING_IDX_MASK;
	bool nofd = v & VU_VRING_NOFD;
	struct vu_backend_queue *q;
	int *slot;

	if (i >= b->ops->num_queues || nofd != (m->nfds == 0) || (v & ~(uint64_t)(VU_VRING_IDX_MASK | VU_VRING_NOFD)))
		return -EINVAL;
	q = &b->q[i];
	slot = which == VU_SET_VRING_KICK ? &q->kick_fd : which == VU_SET_VRING_CALL ? &q->call_fd : &q->err_fd;
	if (*slot >= 0)
		close(*slot);
	*slot = nofd ? -1 : m->fds[0];
	m->nfds = 0; /* the fd is ours now */
	return which == VU_SET_VRING_KICK ? queue_try_start(b, i) : 0;
}

/* ---- the main channel ---- */

static int reply_u64(struct vu_backend *b, uint32_t req, uint64_t v)
{
	return vu_msg_reply_u64(b->conn_fd, req, v);
}

static int reply(struct vu_backend *b, uint32_t req, const void *p, uint32_t size)
{
	return vu_msg_send(b->conn_fd, req, VU_VERSION | VU_FLAG_REPLY, p, size, NULL, 0);
}

/* Handle one request; a negative result is refused (an error ack when asked for). */
static int handle(struct vu_backend *b, struct vu_msg *m, bool *replied)
{
	uint32_t req = m->hdr.request;
	struct vu_vring_state st;
	unsigned int i;
	int rc = 0;

	*replied = false;
	switch (req) {
	case VU_GET_FEATURES:
		*replied = true;
		return reply_u64(b, req, offered_features(b));
	case VU_SET_FEATURES:
		if (m->payload.u64 & ~offered_features(b))
			return -EINVAL;
		b->features = m->payload.u64;
		/* Without protocol features, rings are enabled from the start. */
		if (!(b->features & (1ULL << VU_F_PROTOCOL_FEATURES)))
			for (i = 0; i < b->ops->num_queues; i++)
				b->q[i].enabled = true;
		return 0;
	case VU_GET_PROTOCOL_FEATURES:
		*replied = true;
		return reply_u64(b, req, offered_protocol_features(b));
	case VU_SET_PROTOCOL_FEATURES:
		if (m->payload.u64 & ~offered_protocol_features(b))
			return -EINVAL;
		__atomic_store_n(&b->protocol_features, m->payload.u64, __ATOMIC_RELEASE);
		return 0;
	case VU_SET_OWNER:
		return 0;
	case VU_RESET_OWNER:
	case VU_RESET_DEVICE:
		device_reset(b);
		return 0;
	case VU_GET_QUEUE_NUM:
		*replied = true;
		return reply_u64(b, req, b->ops->num_queues);
	case VU_GET_MAX_MEM_SLOTS:
		*replied = true;
		return reply_u64(b, req, VU_BACKEND_MAX_MEM_SLOTS);
	case VU_SET_MEM_TABLE:
		rc = set_mem_table(b, m);
		rings_follow(b);
		return rc;
	case VU_ADD_MEM_REG:
		return add_mem_reg(b, m);
	case VU_REM_MEM_REG:
		rc = rem_mem_reg(b, m);
		rings_follow(b);
		return rc;
	case VU_SET_VRING_NUM:
		st = m->payload.state;
		if (st.index >= b->ops->num_queues || !st.num || st.num > VQ_MAX_SIZE || (st.num & (st.num - 1)))
			return -EINVAL;
		b->q[st.index].num = (uint16_t)st.num;
		return 0;
	case VU_SET_VRING_ADDR: {
		struct vu_vring_addr a;

		rc = vu_decode_vring_addr(m->payload.bytes, m->hdr.size, &a);
		if (rc || a.index >= b->ops->num_queues)
			return rc ? rc : -EINVAL;
		b->q[a.index].addr = a;
		b->q[a.index].have_addr = true;
		return queue_try_start(b, a.index);
	}
	case VU_SET_VRING_BASE:
		st = m->payload.state;
		if (st.index >= b->ops->num_queues || st.num > 0xffff)
			return -EINVAL;
		b->q[st.index].base = (uint16_t)st.num;
		return 0;
	case VU_GET_VRING_BASE:
		st = m->payload.state;
		if (st.index >= b->ops->num_queues)
			return -EINVAL;
		st.num = b->q[st.index].started ? b->q[st.index].vq.last_avail : b->q[st.index].base;
		queue_stop(&b->q[st.index]);
		queue_close_fds(&b->q[st.index]);
		b->q[st.index].have_addr = false;
		*replied = true;
		return reply(b, req, &st, sizeof(st));
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
	case VU_SET_VRING_ERR:
		return set_ring_fd(b, m, (int)req);
	case VU_SET_VRING_ENABLE:
		st = m->payload.state;
		if (st.index >= b->ops->num_queues || st.num > 1)
			return -EINVAL;
		b->q[st.index].enabled = st.num;
		if (!st.num)
			queue_stop(&b->q[st.index]);
		return queue_try_start(b, st.index);
	case VU_GET_CONFIG: {
		uint8_t buf[12 + VU_MAX_CONFIG_SIZE];
		struct vu_config_hdr h;

		rc = vu_decode_config(m->payload.bytes, m->hdr.size, &h);
		if (!rc && (!b->ops->get_config || h.offset + h.size > b->ops->config_size))
			rc = -EINVAL;
		if (rc)
			return rc;
		memcpy(buf, &h, sizeof(h));
		rc = b->ops->get_config(b->opaque, h.offset, buf + sizeof(h), h.size);
		if (rc)
			return rc;
		*replied = true;
		return reply(b, req, buf, (uint32_t)sizeof(h) + h.size);
	}
	case VU_SET_CONFIG: {
		struct vu_config_hdr h;

		rc = vu_decode_config(m->payload.bytes, m->hdr.size, &h);
		if (!rc && (!b->ops->set_config || h.offset + h.size > b->ops->config_size))
			rc = -EINVAL;
		return rc ? rc : b->ops->set_config(b->opaque, h.offset, m->payload.bytes + sizeof(h), h.size);
	}
	case VU_GET_SHMEM_CONFIG: {
		struct vu_shmem_config c = { 0 };
		uint64_t sizes[VU_MAX_SHMEM_REGIONS] = { 0 };

		if (!has_pf(b, VU_PF_SHMEM))
			return -EOPNOTSUPP;
		b->ops->get_shmem_config(b->opaque, sizes);
		memcpy(c.memory_sizes, sizes, sizeof(sizes));
		for (i = 0; i < VU_MAX_SHMEM_REGIONS; i++)
			c.nregions += c.memory_sizes[i] != 0;
		*replied = true;
		return reply(b, req, &c, sizeof(c));
	}
	case VU_SET_BACKEND_REQ_FD:
		set_req_fd(b, m->fds[0]);
		m->nfds = 0;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static void disconnect(struct vu_backend *b)
{
	device_reset(b);
	unmap_regions(b->regions, b->nregions);
	__atomic_store_n(&b->nregions, 0, __ATOMIC_RELAXED);
	set_req_fd(b, -1);
	if (b->conn_fd >= 0)
		close(b->conn_fd);
	b->conn_fd = -1;
	b->features = 0;
	__atomic_store_n(&b->protocol_features, 0, __ATOMIC_RELEASE);
}

static int on_message(struct vu_backend *b)
{
	struct vu_msg m;
	bool replied;
	int rc = vu_msg_recv(b->conn_fd, &m, 5000);

	/* The frontend's ADD_MEM_REG came before this, if at all. */
	__atomic_store_n(&b->map_announced, false, __ATOMIC_RELAXED);

	if (rc <= 0) {
		if (rc < 0)
			log_warn("vhost-user: frontend connection: %s; dropping it", strerror(-rc));
		disconnect(b);
		return 0;
	}
	rc = vu_msg_check(VU_DIR_FRONTEND_REQ, &m.hdr, m.nfds);
	if (rc) {
		log_ratelimited(&be_rl, LOG_WARN, "vhost-user: malformed %s (%s); dropping the frontend",
				vu_msg_name(VU_DIR_FRONTEND_REQ, m.hdr.request), strerror(-rc));
		vu_msg_close_fds(&m);
		disconnect(b);
		return 0;
	}
	rc = handle(b, &m, &replied);
	if (rc < 0)
		log_ratelimited(&be_rl, LOG_WARN, "vhost-user: %s refused: %s",
				vu_msg_name(VU_DIR_FRONTEND_REQ, m.hdr.request), strerror(-rc));
	vu_msg_close_fds(&m); /* any fd the handler did not take */
	if (!replied && vu_msg_rule(VU_DIR_FRONTEND_REQ, m.hdr.request)->has_reply) {
		/* A refused request that must be answered gets an empty reply, not silence. */
		if (reply(b, m.hdr.request, NULL, 0))
			disconnect(b);
	} else if (!replied && has_pf(b, VU_PF_REPLY_ACK) && (m.hdr.flags & VU_FLAG_NEED_REPLY) &&
		   reply_u64(b, m.hdr.request, rc < 0 ? (uint64_t)(int64_t)rc : 0)) {
		disconnect(b);
	}
	return 0;
}

/* ---- public ---- */

/* Everything but the socket; @ops checked. */
static int backend_init(struct vu_backend *b, const struct vu_backend_ops *ops, void *opaque)
{
	memset(b, 0, sizeof(*b));
	b->conn_fd = b->req_fd = b->listen_fd = -1;
	b->ops = ops;
	b->opaque = opaque;
	b->req_timeout_ms = 30000;
	pthread_mutex_init(&b->req_lock, NULL);
	for (unsigned int i = 0; i < VU_BACKEND_MAX_QUEUES; i++)
		b->q[i].kick_fd = b->q[i].call_fd = b->q[i].err_fd = -1;
	if (ops->num_queues == 0 || ops->num_queues > VU_BACKEND_MAX_QUEUES ||
	    ops->config_size > VU_MAX_CONFIG_SIZE)
		return -EINVAL;
	return 0;
}

int vu_backend_listen(struct vu_backend *b, const char *path, const struct vu_backend_ops *ops,
		      void *opaque)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = backend_init(b, ops, opaque);

	if (s)
		return s;
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	/* Someone answering there is a live server; a dead socket file is ours to replace. */
	s = unix_socket_claim(&a);
	if (s < 0)
		return s;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0) {
		int rc = -errno;

		close(s);
		return rc;
	}
	b->listen_fd = s;
	return 0;
}

int vu_backend_adopt(struct vu_backend *b, int fd, const struct vu_backend_ops *ops, void *opaque)
{
	int rc = backend_init(b, ops, opaque), fl;

	if (!rc)
		rc = vu_sock_check_connected(fd);
	if (rc)
		return rc;
	/* Served like an accepted connection: replies are written with blocking sends. */
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || ((fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0))
		return -errno;
	b->conn_fd = fd;
	return 0;
}

void vu_backend_close(struct vu_backend *b)
{
	disconnect(b);
	free(b->regions);
	b->regions = NULL;
	b->cap_regions = 0;
	if (b->listen_fd >= 0)
		close(b->listen_fd);
	b->listen_fd = -1;
}

bool vu_backend_done(const struct vu_backend *b)
{
	return b->conn_fd < 0 && b->listen_fd < 0;
}

unsigned int vu_backend_fds(const struct vu_backend *b, int *fds, unsigned int max)
{
	unsigned int n = 0;

	if (vu_backend_done(b))
		return 0;
	if (n < max)
		fds[n++] = b->conn_fd >= 0 ? b->conn_fd : b->listen_fd;
	for (unsigned int i = 0; i < b->ops->num_queues && n < max; i++)
		if (b->q[i].started && b->q[i].kick_fd >= 0)
			fds[n++] = b->q[i].kick_fd;
	return n;
}

int vu_backend_dispatch(struct vu_backend *b, int fd)
{
	if (b->listen_fd >= 0 && fd == b->listen_fd && b->conn_fd < 0) {
		b->conn_fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		return b->conn_fd < 0 && errno != EAGAIN && errno != EINTR ? -errno : 0;
	}
	if (fd == b->conn_fd)
		return on_message(b);
	for (unsigned int i = 0; i < b->ops->num_queues; i++) {
		eventfd_t v;

		if (b->q[i].kick_fd != fd || !b->q[i].started)
			continue;
		if (eventfd_read(fd, &v) < 0 && errno != EAGAIN)
			return -errno;
		if (b->ops->queue_kick)
			b->ops->queue_kick(b, i, b->opaque);
		return 0;
	}
	return 0;
}

int vu_backend_run_locked(struct vu_backend *b, pthread_mutex_t *lock)
{
	for (;;) {
		int fds[1 + VU_BACKEND_MAX_QUEUES], rc = 0;
		struct pollfd p[ARRAY_SIZE(fds)];
		unsigned int n;

		if (lock)
			pthread_mutex_lock(lock);
		n = vu_backend_fds(b, fds, ARRAY_SIZE(fds));
		if (lock)
			pthread_mutex_unlock(lock);
		if (!n)
			return 0; /* an adopted connection ended: nothing left to serve */
		for (unsigned int i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (unsigned int i = 0; i < n; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (lock)
				pthread_mutex_lock(lock);
			rc = vu_backend_dispatch(b, p[i].fd);
			if (lock)
				pthread_mutex_unlock(lock);
			/*
			 * The fd set may have changed. One fd a round, the main
			 * socket (p[0]) first: every message queued before a kick
			 * is handled before it (backend.h, "Ordering").
			 */
			break;
		}
		if (rc)
			return rc;
	}
}

int vu_backend_run(struct vu_backend *b)
{
	return vu_backend_run_locked(b, NULL);
}

/* Send a backend-channel request and wait for its ack. */
static int backend_request(struct vu_backend *b, uint32_t req, const struct vu_mmap *mm, int fd)
{
	bool ack = has_pf(b, VU_PF_REPLY_ACK);
	struct vu_msg m;
	int rc;

	if (!has_pf(b, VU_PF_BACKEND_REQ) || !has_pf(b, VU_PF_SHMEM) ||
	    (fd >= 0 && !has_pf(b, VU_PF_BACKEND_SEND_FD)))
		return -EOPNOTSUPP;
	/* req_lock: the dispatch thread replaces or closes req_fd only under it (set_req_fd()). */
	pthread_mutex_lock(&b->req_lock);
	if (b->req_fd < 0) {
		pthread_mutex_unlock(&b->req_lock);
		return -EOPNOTSUPP;
	}
	rc = vu_msg_send(b->req_fd, req, VU_VERSION | (ack ? VU_FLAG_NEED_REPLY : 0), mm, sizeof(*mm),
			 fd >= 0 ? &fd : NULL, fd >= 0);
	if (!rc && ack) {
		rc = vu_msg_recv(b->req_fd, &m, b->req_timeout_ms);
		if (rc == 0)
			rc = -ECONNRESET;
		if (rc > 0) {
			rc = vu_msg_check(VU_DIR_BACKEND_REPLY, &m.hdr, m.nfds);
			vu_msg_close_fds(&m);
			if (!rc && m.hdr.request != req)
				rc = -EPROTO;
			if (!rc && m.payload.u64)
				rc = (int64_t)m.payload.u64 < 0 && (int64_t)m.payload.u64 > -4096 ? (int)(int64_t)m.payload.u64 : -EIO;
		}
	}
	pthread_mutex_unlock(&b->req_lock);
	return rc;
}

int vu_backend_shmem_map(struct vu_backend *b, uint8_t shmid, uint64_t fd_offset,
			 uint64_t shm_offset, uint64_t len, bool writable, int fd)
{
	struct vu_mmap mm = { .shmid = shmid, .fd_offset = fd_offset, .shm_offset = shm_offset,
			      .len = len, .flags = writable ? VU_SHMEM_MAP_F_RW : 0 };

	int rc = backend_request(b, VU_BACKEND_SHMEM_MAP, &mm, fd);

	/* The frontend announced the mapping on the main socket before it answered. */
	if (!rc && has_pf(b, VU_PF_CONFIGURE_MEM_SLOTS))
		__atomic_store_n(&b->map_announced, true, __ATOMIC_RELAXED);
	return rc;
}

int vu_backend_shmem_unmap(struct vu_backend *b, uint8_t shmid, uint64_t shm_offset, uint64_t len)
{
	struct vu_mmap mm = { .shmid = shmid, .shm_offset = shm_offset, .len = len };

	return backend_request(b, VU_BACKEND_SHMEM_UNMAP, &mm, -1);
}
