// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "vhost/frontend.h"
#include "vhost/sock.h"

bool vu_frontend_has(const struct vu_frontend *f, enum vu_protocol_feature pf)
{
	return f->protocol_features & (1ULL << pf);
}

const char *vu_frontend_name(const struct vu_frontend *f)
{
	return f->path ? f->path : f->fd_name;
}

static int fail(struct vu_frontend *f, uint32_t req, const char *what, int rc)
{
	log_err("vhost-user %s: %s %s: %s", vu_frontend_name(f),
		vu_msg_name(VU_DIR_FRONTEND_REQ, req), what, strerror(-rc));
	__atomic_store_n(&f->broken, true, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->errors, 1, __ATOMIC_RELAXED);
	return rc;
}

/* Wait for the reply to @req and check it. Lock held. */
static int recv_reply(struct vu_frontend *f, uint32_t req, struct vu_msg *m)
{
	int rc = vu_msg_recv(f->sock, m, f->timeout_ms);

	if (rc == 0)
		rc = -ECONNRESET;
	if (rc < 0)
		return fail(f, req, "reply", rc);
	rc = vu_msg_check(VU_DIR_FRONTEND_REPLY, &m->hdr, m->nfds);
	if (!rc && m->hdr.request != req)
		rc = -EPROTO;
	if (!rc && m->hdr.flags != (VU_VERSION | VU_FLAG_REPLY))
		rc = -EPROTO;
	vu_msg_close_fds(m); /* no reply we use carries fds */
	return rc ? fail(f, req, "bad reply", rc) : 0;
}

/*
 * Write one whole message under the send lock, which is never held while
 * waiting: a full socket buffer is waited for (up to the timeout) with the
 * lock released, so vu_frontend_add_mem_reg() never waits behind us.
 */
static int send_whole(struct vu_frontend *f, uint32_t req, uint32_t flags, const void *payload,
		      uint32_t size, const int *fds, size_t nfds)
{
	for (;;) {
		struct pollfd p = { .fd = f->sock, .events = POLLOUT };
		int rc;

		pthread_mutex_lock(&f->send_lock);
		rc = vu_msg_send_nowait(f->sock, req, flags, payload, size, fds, nfds);
		pthread_mutex_unlock(&f->send_lock);
		if (rc != -EAGAIN)
			return rc;
		do
			rc = poll(&p, 1, f->timeout_ms);
		while (rc < 0 && errno == EINTR);
		if (rc < 0)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
	}
}

/*
 * Send a request. If it has a reply by definition, receive it into @reply;
 * otherwise, with REPLY_ACK, ask for an ack and turn a non-zero ack into
 * -EIO. Lock held.
 */
static int request(struct vu_frontend *f, uint32_t req, const void *payload, uint32_t size,
		   const int *fds, size_t nfds, struct vu_msg *reply)
{
	const struct vu_msg_rule *rule = vu_msg_rule(VU_DIR_FRONTEND_REQ, req);
	bool ack = !rule->has_reply && vu_frontend_has(f, VU_PF_REPLY_ACK);
	struct vu_msg local;
	int rc;

	if (vu_frontend_broken(f))
		return -EIO;
	rc = send_whole(f, req, VU_VERSION | (ack ? VU_FLAG_NEED_REPLY : 0), payload, size, fds,
			nfds);
	if (rc)
		return fail(f, req, "send", rc);
	if (!rule->has_reply && !ack)
		return 0;
	if (!reply)
		reply = &local;
	rc = recv_reply(f, req, reply);
	if (rc)
		return rc;
	if (ack && reply->payload.u64 != 0) {
		log_err("vhost-user %s: backend refused %s", vu_frontend_name(f), rule->name);
		return -EIO;
	}
	return 0;
}

static int request_u64(struct vu_frontend *f, uint32_t req, uint64_t *out)
{
	struct vu_msg m;
	int rc = request(f, req, NULL, 0, NULL, 0, &m);

	if (!rc)
		*out = m.payload.u64;
	return rc;
}

static int send_u64(struct vu_frontend *f, uint32_t req, uint64_t v)
{
	return request(f, req, &v, sizeof(v), NULL, 0, NULL);
}

static int connect_once(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int rc = -errno;

		close(s);
		return rc;
	}
	return s;
}

static void frontend_init(struct vu_frontend *f, const char *path, int timeout_ms)
{
	memset(f, 0, sizeof(*f));
	f->sock = -1;
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_init(&f->send_lock, NULL);
	f->path = path;
	f->timeout_ms = timeout_ms;
}

/* GET_FEATURES, protocol features, GET_QUEUE_NUM, SET_OWNER on f->sock. */
static int handshake(struct vu_frontend *f)
{
	uint64_t pf;
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = request_u64(f, VU_GET_FEATURES, &f->features);
	if (!rc && (f->features & (1ULL << VU_F_PROTOCOL_FEATURES))) {
		rc = request_u64(f, VU_GET_PROTOCOL_FEATURES, &pf);
		if (!rc) {
			pf &= VU_FRONTEND_PROTOCOL_FEATURES;
			rc = send_u64(f, VU_SET_PROTOCOL_FEATURES, pf);
			/* REPLY_ACK applies from the next message on. */
			f->protocol_features = pf;
		}
	}
	if (!rc && vu_frontend_has(f, VU_PF_MQ))
		rc = request_u64(f, VU_GET_QUEUE_NUM, &f->queue_num);
	if (!rc)
		rc = request(f, VU_SET_OWNER, NULL, 0, NULL, 0, NULL);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* Milliseconds since @start (CLOCK_MONOTONIC). */
static int ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int)((now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000);
}

int vu_frontend_connect(struct vu_frontend *f, const char *path, int retry_ms, int timeout_ms)
{
	struct timespec start;
	int rc;

	frontend_init(f, path, timeout_ms);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		f->sock = connect_once(path);
		if (f->sock >= 0 || (f->sock != -ENOENT && f->sock != -ECONNREFUSED))
			break;
		if (ms_since(&start) >= retry_ms)
			break;
		usleep(50 * 1000);
	}
	if (f->sock < 0) {
		rc = f->sock;
		log_err("vhost-user %s: cannot connect: %s", path, strerror(-rc));
		return rc;
	}
	rc = handshake(f);
	if (rc)
		vu_frontend_close(f);
	return rc;
}

int vu_frontend_adopt(struct vu_frontend *f, int fd, const char *name, int timeout_ms)
{
	int rc;

	frontend_init(f, name, timeout_ms);
	snprintf(f->fd_name, sizeof(f->fd_name), "fd %d", fd);
	rc = vu_sock_check_connected(fd);
	if (rc) {
		log_err("vhost-user %s: %s", vu_frontend_name(f), vu_sock_strerror(rc));
		f->broken = true;
		return rc;
	}
	f->sock = fd;
	rc = handshake(f);
	if (rc) {
		f->sock = -1; /* the caller's again */
		vu_frontend_close(f);
	}
	return rc;
}

void vu_frontend_close(struct vu_frontend *f)
{
	/* Under the send lock: a memory-region message may be on its way from another thread. */
	pthread_mutex_lock(&f->send_lock);
	if (f->sock >= 0)
		close(f->sock);
	f->sock = -1;
	__atomic_store_n(&f->broken, true, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&f->send_lock);
}

int vu_frontend_set_features(struct vu_frontend *f, uint64_t features)
{
	int rc;

	/* Protocol features stay on only if the backend offered them. */
	features |= f->features & (1ULL << VU_F_PROTOCOL_FEATURES);
	pthread_mutex_lock(&f->lock);
	rc = send_u64(f, VU_SET_FEATURES, features);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int vu_frontend_get_config(struct vu_frontend *f, uint32_t off, void *buf, uint32_t len)
{
	struct {
		struct vu_config_hdr h;
		uint8_t data[VU_MAX_CONFIG_SIZE];
	} __packed req = { .h = { .offset = off, .size = len } };
	struct vu_config_hdr got;
	struct vu_msg m;
	int rc;

	if (!vu_frontend_has(f, VU_PF_CONFIG))
		return -EOPNOTSUPP;
	if (!len || len > VU_MAX_CONFIG_SIZE || off + len > VU_MAX_CONFIG_SIZE)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	rc = request(f, VU_GET_CONFIG, &req, (uint32_t)sizeof(req.h) + len, NULL, 0, &m);
	if (!rc) {
		rc = vu_decode_config(m.payload.bytes, m.hdr.size, &got);
		if (!rc && (got.size != len || got.offset != off))
			rc = -EPROTO;
		if (rc)
			rc = fail(f, VU_GET_CONFIG, "reply", rc);
		else
			memcpy(buf, m.payload.bytes + sizeof(got), len);
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int vu_frontend_set_config(struct vu_frontend *f, uint32_t off, const void *buf, uint32_t len)
{
	struct {
		struct vu_config_hdr h;
		uint8_t data[VU_MAX_CONFIG_SIZE];
	} __packed req = { .h = { .offset = off, .size = len } };
	int rc;

	if (!vu_frontend_has(f, VU_PF_CONFIG))
		return -EOPNOTSUPP;
	if (!len || len > VU_MAX_CONFIG_SIZE || off + len > VU_MAX_CONFIG_SIZE)
		return -EINVAL;
	memcpy(req.data, buf, len);
	pthread_mutex_lock(&f->lock);
	rc = request(f, VU_SET_CONFIG, &req, (uint32_t)sizeof(req.h) + len, NULL, 0, NULL);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int vu_frontend_set_mem_table(struct vu_frontend *f, const struct vu_region *regions,
			      const int *fds, unsigned int n)
{
	struct vu_memory mem = { .nregions = n };
	int rc;

	if (!n || n > VU_MAX_MEM_REGIONS)
		return -EINVAL;
	memcpy(mem.regions, regions, n * sizeof(*regions));
	pthread_mutex_lock(&f->lock);
	rc = request(f, VU_SET_MEM_TABLE, &mem, (uint32_t)(8 + n * sizeof(*regions)), fds, n, NULL);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int send_ring_fd(struct vu_frontend *f, uint32_t req, unsigned int index, int fd)
{
	uint64_t v = index | (fd < 0 ? VU_VRING_NOFD : 0);

	return request(f, req, &v, sizeof(v), fd < 0 ? NULL : &fd, fd < 0 ? 0 : 1, NULL);
}

int vu_frontend_start_ring(struct vu_frontend *f, const struct vu_ring_setup *r)
{
	struct vu_vring_state num = { .index = r->index, .num = r->size };
	struct vu_vring_state base = { .index = r->index, .num = r->base };
	struct vu_vring_addr addr = { .index = r->index, .desc = r->desc, .used = r->used,
				      .avail = r->avail };
	struct vu_vring_state enable = { .index = r->index, .num = 1 };
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = request(f, VU_SET_VRING_NUM, &num, sizeof(num), NULL, 0, NULL);
	if (!rc)
		rc = request(f, VU_SET_VRING_ADDR, &addr, sizeof(addr), NULL, 0, NULL);
	if (!rc)
		rc = request(f, VU_SET_VRING_BASE, &base, sizeof(base), NULL, 0, NULL);
	if (!rc)
		rc = send_ring_fd(f, VU_SET_VRING_CALL, r->index, r->call_fd);
	if (!rc)
		rc = send_ring_fd(f, VU_SET_VRING_ERR, r->index, -1); /* errors: not reported */
	if (!rc)
		rc = send_ring_fd(f, VU_SET_VRING_KICK, r->index, r->kick_fd);
	if (!rc && (f->features & (1ULL << VU_F_PROTOCOL_FEATURES)))
		rc = request(f, VU_SET_VRING_ENABLE, &enable, sizeof(enable), NULL, 0, NULL);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int vu_frontend_stop_ring(struct vu_frontend *f, unsigned int index, uint32_t *base)
{
	struct vu_vring_state st = { .index = index };
	struct vu_msg m;
	int rc;

	pthread_mutex_lock(&f->lock);
	rc = request(f, VU_GET_VRING_BASE, &st, sizeof(st), NULL, 0, &m);
	if (!rc)
		*base = m.payload.state.num;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int vu_frontend_reset_device(struct vu_frontend *f)
{
	int rc;

	if (!vu_frontend_has(f, VU_PF_RESET_DEVICE))
		return -EOPNOTSUPP;
	pthread_mutex_lock(&f->lock);
	rc = request(f, VU_RESET_DEVICE, NULL, 0, NULL, 0, NULL);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int vu_frontend_set_backend_req_fd(struct vu_frontend *f, int fd)
{
	int rc;

	if (!vu_frontend_has(f, VU_PF_BACKEND_REQ))
		return -EOPNOTSUPP;
	pthread_mutex_lock(&f->lock);
	rc = request(f, VU_SET_BACKEND_REQ_FD, NULL, 0, &fd, 1, NULL);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

int vu_frontend_get_shmem_config(struct vu_frontend *f, uint64_t sizes[VU_MAX_SHMEM_REGIONS])
{
	struct vu_shmem_config cfg;
	struct vu_msg m;
	int rc;

	if (!vu_frontend_has(f, VU_PF_SHMEM))
		return -EOPNOTSUPP;
	pthread_mutex_lock(&f->lock);
	rc = request(f, VU_GET_SHMEM_CONFIG, NULL, 0, NULL, 0, &m);
	if (!rc) {
		rc = vu_decode_shmem_config(m.payload.bytes, m.hdr.size, &cfg);
		if (rc == -EINVAL)
			log_err("vhost-user %s: GET_SHMEM_CONFIG: sizes must be page multiples and "
				"nregions (%u) their non-zero count", vu_frontend_name(f), cfg.nregions);
		if (rc)
			rc = fail(f, VU_GET_SHMEM_CONFIG, "reply", rc);
		else
			memcpy(sizes, cfg.memory_sizes, sizeof(cfg.memory_sizes));
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* One memory-region message, now or never (see frontend.h). */
static int send_mem_reg(struct vu_frontend *f, uint32_t req, const struct vu_region *r, int fd)
{
	struct vu_mem_reg m = { .region = *r };
	struct timespec start;
	int rc, left, sock;

	if (!vu_frontend_has(f, VU_PF_CONFIGURE_MEM_SLOTS))
		return -EOPNOTSUPP;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { .events = POLLOUT };

		pthread_mutex_lock(&f->send_lock);
		/* broken and sock change under other threads; read them where the send happens. */
		sock = f->sock;
		if (vu_frontend_broken(f) || sock < 0)
			rc = -EIO;
		else
			rc = vu_msg_send_nowait(sock, req, VU_VERSION, &m, sizeof(m),
						fd >= 0 ? &fd : NULL, fd >= 0);
		/* A half-written message would desynchronise the stream: hang up, the main loop sees it. */
		if (rc == -EPIPE)
			shutdown(sock, SHUT_RDWR);
		pthread_mutex_unlock(&f->send_lock);
		if (rc != -EAGAIN)
			return rc;
		/* Room for it, waited for with no lock held; a whole message or nothing goes. */
		left = VU_MEM_REG_WAIT_MS - ms_since(&start);
		if (left <= 0)
			return -EAGAIN;
		p.fd = sock;
		if (poll(&p, 1, left) < 0 && errno != EINTR)
			return -errno;
	}
}

int vu_frontend_add_mem_reg(struct vu_frontend *f, const struct vu_region *r, int fd)
{
	if (fd < 0)
		return -EBADF;
	return send_mem_reg(f, VU_ADD_MEM_REG, r, fd);
}

int vu_frontend_rem_mem_reg(struct vu_frontend *f, const struct vu_region *r)
{
	return send_mem_reg(f, VU_REM_MEM_REG, r, -1);
}
