// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the vhost-user backend library (vhost/backend.c):
 * what a hostile frontend sends on the main socket. A fresh backend adopts
 * one end of a socketpair; the input becomes messages on the other end
 * (fuzz.h: stream records, with memfds, eventfds or sockets as their fds,
 * and writes into the memfd that backs guest memory), and the backend
 * dispatches them one by one; after each, the guest kicks every started
 * queue and every kick fd that is readable is dispatched, whose handler
 * pops and answers every chain; once it has a backend channel, it
 * also asks for a SHMEM_MAP and a SHMEM_UNMAP there, whose answers the
 * input wrote beforehand. After each message: the memory
 * table is sorted and overlap-free, config accesses stayed inside the
 * config, every buffer handed out lies inside one region's usable part (and
 * is touched whole: a page past a file's end would raise SIGBUS). At the end
 * no fd is left open.
 */
#include <errno.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"
#include "vhost/backend.h"
#include "vhost/sock.h"

#define CONFIG_SIZE 40

static struct fuzz_feed feed;
static struct vq_elem elem;

static int get_config(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	(void)opaque;
	if (!len || off > CONFIG_SIZE || len > CONFIG_SIZE - off)
		abort(); /* the library must check the range before asking */
	memset(buf, 0xc5, len);
	return 0;
}

static int set_config(void *opaque, uint32_t off, const void *buf, uint32_t len)
{
	(void)opaque, (void)buf;
	if (!len || off > CONFIG_SIZE || len > CONFIG_SIZE - off)
		abort();
	return off == 4 ? -EINVAL : 0; /* a refusal too */
}

static void get_shmem_config(void *opaque, uint64_t sizes[VU_MAX_SHMEM_REGIONS])
{
	(void)opaque;
	sizes[0] = 1 << 30;
	sizes[3] = 2 << 20;
}

/* Is [p, p + len) inside the usable part of one region? */
static bool in_region(const struct vu_backend *b, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < b->nregions; i++) {
		const struct vu_mem_region *r = &b->regions[i];

		if (p >= r->host && (uint64_t)(p - r->host) <= r->usable &&
		    len <= r->usable - (uint64_t)(p - r->host))
			return true;
	}
	return false;
}

static void queue_kick(struct vu_backend *b, unsigned int q, void *opaque)
{
	struct vq *v = vu_backend_vq(b, q);
	volatile uint8_t sink = 0;

	(void)opaque;
	if (!v)
		abort(); /* kicked before it started */
	for (unsigned int n = 0; n < 2u * v->size + 2; n++) {
		uint32_t written = 0;

		if (vq_pop(v, &elem) != 1)
			break;
		if (elem.head >= v->size || elem.in_num + elem.out_num > VQ_MAX_IOV)
			abort();
		for (unsigned int i = 0; i < elem.in_num + elem.out_num; i++) {
			uint8_t *p = elem.iov[i].iov_base;
			size_t len = elem.iov[i].iov_len;

			if (!in_region(b, p, len))
				abort();
			if (i < elem.in_num) {
				for (size_t k = 0; k < len; k += 512)
					sink ^= p[k];
				if (len)
					sink ^= p[len - 1];
			} else {
				memset(p, 0xd1, len);
				written += (uint32_t)len;
			}
		}
		vq_push(v, &elem, written);
		vu_backend_notify(b, q);
		if (vu_backend_yield(b, q))
			break;
	}
	(void)sink;
}

static const struct vu_backend_ops ops = {
    .features = 1ULL << 0,
    .num_queues = 2,
    .config_size = CONFIG_SIZE,
    .get_config = get_config,
    .set_config = set_config,
    .get_shmem_config = get_shmem_config,
    .queue_kick = queue_kick,
};

/*
 * Guest memory is the memfd: the rings and buffers the kicks walk. A write
 * at PEER_OFF goes to the frontend's end of the last socket sent instead
 * (SET_BACKEND_REQ_FD's): its answers to our SHMEM_MAP/UNMAP requests.
 */
#define PEER_OFF (0xffffULL * 8)

static void mem_write(void *opaque, uint64_t off, const uint8_t *buf, size_t len)
{
	(void)opaque;
	if (off == PEER_OFF) {
		if (feed.peer >= 0 && send(feed.peer, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
		    errno != EAGAIN)
			abort();
		return;
	}
	if (pwrite(feed.memfd, buf, len, (off_t)off) != (ssize_t)len)
		abort();
}

/* Ask the frontend for a mapping and an unmapping, as shmvm-fsd does; whatever it answers. */
static void backend_requests(struct vu_backend *b, unsigned int round)
{
	uint8_t junk[512];
	int rc;

	if (b->req_fd < 0)
		return;
	rc = vu_backend_shmem_map(b, (uint8_t)round, 0x200000, (uint64_t)round << 21, 0x200000,
				  round & 1, feed.memfd);
	if (rc > 0 || rc < -4095)
		abort();
	rc = vu_backend_shmem_unmap(b, 0, (uint64_t)round << 21, 0x200000);
	if (rc > 0 || rc < -4095)
		abort();
	if (feed.peer >= 0)
		while (recv(feed.peer, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			; /* the requests themselves (the fd they carry is closed with the socket)
			   */
}

static void check_table(const struct vu_backend *b)
{
	if (b->nregions > b->cap_regions || b->nregions > VU_BACKEND_MAX_MEM_SLOTS)
		abort();
	for (size_t i = 0; i < b->nregions; i++) {
		const struct vu_mem_region *r = &b->regions[i];

		if (!r->size || r->gpa + r->size - 1 < r->gpa || r->usable > r->size || !r->map)
			abort();
		if (i && b->regions[i - 1].gpa + b->regions[i - 1].size - 1 >= r->gpa)
			abort();
	}
}

/* Throw away whatever the backend answered (replies carry no fds). */
static void drain(int sock)
{
	uint8_t buf[4096];

	while (recv(sock, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/*
 * The guest kicks every started queue whose kick fd is an eventfd (the only
 * anonymous inode the feeder sends); then, as vu_backend_run() would, every
 * kick fd that polls readable is dispatched. A frontend's fault must never
 * make dispatch fail (that ends the backend): it is refused or the frontend
 * is dropped.
 */
static void kick_all(struct vu_backend *b)
{
	int fds[1 + VU_BACKEND_MAX_QUEUES];
	struct pollfd p[ARRAY_SIZE(fds)];
	unsigned int n = vu_backend_fds(b, fds, ARRAY_SIZE(fds));

	for (unsigned int i = 1; i < n; i++) {
		struct stat st;

		if (!fstat(fds[i], &st) && !(st.st_mode & S_IFMT) && eventfd_write(fds[i], 1))
			abort();
		p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	}
	while (n > 1 && poll(p + 1, n - 1, 0) < 0)
		if (errno != EINTR)
			abort();
	for (unsigned int i = 1; i < n; i++)
		if ((p[i].revents & (POLLIN | POLLHUP | POLLERR)) && vu_backend_dispatch(b, fds[i]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	unsigned int base_fds;
	struct vu_backend b;
	int sv[2];

	if (!ready) {
		fuzz_quiet();
		fuzz_feed_init(&feed);
		feed.mem_write = mem_write;
		feed.keep_peer = true;
		ready = true;
	}
	base_fds = fuzz_open_fds(); /* counted each time: libFuzzer may open its own */
	fuzz_feed_reset(&feed);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	if (vu_backend_adopt(&b, sv[0], &ops, NULL))
		abort();
	b.req_timeout_ms = 0; /* every answer is written before: a missing one is not waited for */
	fuzz_feed(&feed, sv[1], data, size);
	shutdown(sv[1], SHUT_WR); /* a cut message ends at once, without the receive timeout */
	for (unsigned int round = 0; !vu_backend_done(&b) && round < (1u << 16); round++) {
		if (vu_backend_dispatch(&b, b.conn_fd))
			abort(); /* an adopted backend only ever drops a bad frontend */
		check_table(&b);
		drain(sv[1]);
		backend_requests(&b, round);
		kick_all(&b);
	}
	if (!vu_backend_done(&b))
		abort(); /* the stream ended: the backend must be done with it */
	vu_backend_close(&b);
	close(sv[1]);
	fuzz_feed_reset(&feed); /* closes the peer */
	fuzz_check_fds(base_fds);
	return 0;
}
