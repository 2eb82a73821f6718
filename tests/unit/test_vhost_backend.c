// SPDX-License-Identifier: GPL-2.0-only
/*
 * The backend library driven by shmvm's own frontend over a real unix
 * socket (one codec, two sides), with guest memory in a memfd and a ring
 * built from the driver's side.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vhost/backend.h"
#include "vhost/frontend.h"
#include "vhost/sock.h"

#include "backend_loop.h"
#include "check_main.h"

#define MEM (4u << 20)
#define QSZ 16
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define BUF 0x10000

struct echo_dev {
	int kicks;
	int resets;
	int map_rc; /* what the backend's SHMEM_MAP call returned */
};

/* Queue 0 handler: upper-case the readable buffer into the writable one. */
static void echo_kick(struct vu_backend *b, unsigned int q, void *opaque)
{
	struct echo_dev *d = opaque;
	struct vq *vq = vu_backend_vq(b, q);
	static struct vq_elem e;

	d->kicks++;
	while (vq && vq_pop(vq, &e) == 1) {
		uint32_t n = 0;

		if (e.in_num == 1 && e.out_num == 1) {
			const char *src = e.iov[0].iov_base;
			char *dst = e.iov[1].iov_base;

			for (; n < e.iov[0].iov_len && n < e.iov[1].iov_len; n++)
				dst[n] = (char)(src[n] >= 'a' && src[n] <= 'z' ? src[n] - 32 : src[n]);
		}
		vq_push(vq, &e, n);
		vu_backend_notify(b, q);
	}
}

static int echo_get_config(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	(void)opaque;
	for (uint32_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(0xa0 + off + i);
	return 0;
}

static void echo_shmem(void *opaque, uint64_t sizes[VU_MAX_SHMEM_REGIONS])
{
	(void)opaque;
	sizes[0] = 1ULL << 30;
}

static void echo_reset(void *opaque)
{
	((struct echo_dev *)opaque)->resets++;
}

static const struct vu_backend_ops echo_ops = {
	.features = 1ULL << 0,
	.num_queues = 2,
	.config_size = 16,
	.get_config = echo_get_config,
	.get_shmem_config = echo_shmem,
	.queue_kick = echo_kick,
	.reset = echo_reset,
};

static struct vu_backend be;
static struct echo_dev dev;
static char path[108];
static pthread_t thread;
static pthread_mutex_t be_lock = PTHREAD_MUTEX_INITIALIZER; /* held to look into be (backend_loop.h) */

static void *backend_thread(void *arg)
{
	(void)arg;
	(void)!vu_backend_run_locked(&be, &be_lock);
	return NULL;
}

static size_t be_nregions(void)
{
	return backend_loop_nregions(&be, &be_lock);
}

static void setup(void)
{
	memset(&dev, 0, sizeof(dev));
	snprintf(path, sizeof(path), "/tmp/shmvm-be-test.%d.sock", getpid());
	ck_assert_int_eq(vu_backend_listen(&be, path, &echo_ops, &dev), 0);
	pthread_create(&thread, NULL, backend_thread, NULL);
}

/* The socket file outlives the listener: the test's process removes its own. */
static void teardown(void)
{
	unlink(path);
}

START_TEST(busy_socket_refused)
{
	struct vu_backend other;

	ck_assert_int_eq(vu_backend_listen(&other, path, &echo_ops, &dev), -EADDRINUSE);
}
END_TEST

START_TEST(full_round_trip)
{
	struct vu_frontend f;
	int memfd = memfd_create("guest", 0);
	uint8_t *g;
	struct vu_region r;
	int kick = eventfd(0, 0), call = eventfd(0, EFD_NONBLOCK);
	uint8_t cfg[4];

	ck_assert_int_eq(ftruncate(memfd, MEM), 0);
	g = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(g, MAP_FAILED);
	ck_assert_int_eq(vu_frontend_connect(&f, path, 2000, 5000), 0);
	ck_assert(vu_frontend_has(&f, VU_PF_CONFIG));
	ck_assert_uint_eq(f.queue_num, 2);
	ck_assert(f.features & (1ULL << 0));
	ck_assert_int_eq(vu_frontend_get_config(&f, 2, cfg, 4), 0);
	ck_assert_uint_eq(cfg[0], 0xa2);
	ck_assert_int_ne(vu_frontend_get_config(&f, 14, cfg, 4), 0); /* past config_size: refused */
	ck_assert(f.broken); /* at once (an empty reply), not after the reply timeout */
	vu_frontend_close(&f);

	ck_assert_int_eq(vu_frontend_connect(&f, path, 2000, 5000), 0);
	ck_assert_int_eq(vu_frontend_set_features(&f, (1ULL << 32) | (1ULL << 0)), 0);
	r = (struct vu_region){ .guest_phys_addr = 0, .memory_size = MEM,
				.userspace_addr = (uint64_t)(uintptr_t)g, .mmap_offset = 0 };
	ck_assert_int_eq(vu_frontend_set_mem_table(&f, &r, &memfd, 1), 0);

	/* Driver side: one chain, "hello" readable, 16 bytes writable. */
	struct vring_desc *d = (struct vring_desc *)(g + DESC);
	struct vring_avail *av = (struct vring_avail *)(g + AVAIL);
	struct vring_used *u = (struct vring_used *)(g + USED);
	memcpy(g + BUF, "hello", 5);
	d[0] = (struct vring_desc){ BUF, 5, VRING_DESC_F_NEXT, 1 };
	d[1] = (struct vring_desc){ BUF + 0x100, 16, VRING_DESC_F_WRITE, 0 };
	av->ring[0] = 0;
	av->idx = 1;

	struct vu_ring_setup rs = { .index = 0, .size = QSZ, .base = 0,
				    .desc = (uintptr_t)(g + DESC), .avail = (uintptr_t)(g + AVAIL),
				    .used = (uintptr_t)(g + USED), .kick_fd = kick, .call_fd = call };
	ck_assert_int_eq(vu_frontend_start_ring(&f, &rs), 0);
	ck_assert_int_eq(eventfd_write(kick, 1), 0);
	struct pollfd p = { .fd = call, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 5000), 1);
	ck_assert_uint_eq(u->idx, 1);
	ck_assert_uint_eq(u->ring[0].id, 0);
	ck_assert_uint_eq(u->ring[0].len, 5);
	ck_assert(!memcmp(g + BUF + 0x100, "HELLO", 5));

	uint32_t base = 0;
	ck_assert_int_eq(vu_frontend_stop_ring(&f, 0, &base), 0);
	ck_assert_uint_eq(base, 1);
	ck_assert_int_eq(vu_frontend_reset_device(&f), 0);
	vu_frontend_close(&f);
	munmap(g, MEM);
	close(memfd);
	close(kick);
	close(call);
}
END_TEST

/* The backend channel: SHMEM_MAP goes out with its fd and the frontend's answer comes back. */
struct map_call {
	int rc;
};

static void *do_map(void *arg)
{
	struct map_call *c = arg;
	int fd = memfd_create("file", 0);

	c->rc = vu_backend_shmem_map(&be, 0, 0x200000, 0x400000, 0x200000, true, fd);
	close(fd);
	return NULL;
}

START_TEST(backend_channel)
{
	struct vu_frontend f;
	int sp[2];
	struct vu_msg m;
	struct map_call c;
	pthread_t t;
	uint64_t pf;

	ck_assert_int_eq(vu_frontend_connect(&f, path, 2000, 5000), 0);
	/* shmvm's frontend does not ask for SHMEM yet: add it by hand. */
	pf = f.protocol_features | (1ULL << VU_PF_SHMEM);
	ck_assert_int_eq(vu_msg_send(f.sock, VU_SET_PROTOCOL_FEATURES, VU_VERSION, &pf, 8, NULL, 0), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	ck_assert_int_eq(vu_frontend_set_backend_req_fd(&f, sp[1]), 0);
	close(sp[1]);
	/* SET_BACKEND_REQ_FD was acked, so the backend has the channel now. */
	for (int answer = 0; answer < 2; answer++) {
		pthread_create(&t, NULL, do_map, &c);
		ck_assert_int_eq(vu_msg_recv(sp[0], &m, 5000), 1);
		ck_assert_int_eq(vu_msg_check(VU_DIR_BACKEND_REQ, &m.hdr, m.nfds), 0);
		ck_assert_uint_eq(m.hdr.request, VU_BACKEND_SHMEM_MAP);
		ck_assert(m.hdr.flags & VU_FLAG_NEED_REPLY);
		ck_assert_uint_eq(m.payload.mmap.shm_offset, 0x400000);
		ck_assert_uint_eq(m.payload.mmap.flags, VU_SHMEM_MAP_F_RW);
		vu_msg_close_fds(&m);
		ck_assert_int_eq(vu_msg_reply_u64(sp[0], VU_BACKEND_SHMEM_MAP,
						  answer ? (uint64_t)-EBUSY : 0), 0);
		pthread_join(t, NULL);
		ck_assert_int_eq(c.rc, answer ? -EBUSY : 0);
	}
	close(sp[0]);
	vu_frontend_close(&f);
}
END_TEST

START_TEST(shmem_config)
{
	int s;
	struct vu_msg m;
	struct vu_shmem_config sc;
	uint64_t pf = (1ULL << VU_PF_SHMEM);

	/* Raw messages: shmvm's frontend does not ask for SHMEM yet. */
	struct vu_frontend f;
	ck_assert_int_eq(vu_frontend_connect(&f, path, 2000, 5000), 0);
	s = f.sock;
	ck_assert_int_eq(vu_msg_send(s, VU_SET_PROTOCOL_FEATURES, VU_VERSION, &pf, 8, NULL, 0), 0);
	ck_assert_int_eq(vu_msg_send(s, VU_GET_SHMEM_CONFIG, VU_VERSION, NULL, 0, NULL, 0), 0);
	ck_assert_int_eq(vu_msg_recv(s, &m, 5000), 1);
	ck_assert_int_eq(vu_msg_check(VU_DIR_FRONTEND_REPLY, &m.hdr, m.nfds), 0);
	ck_assert_int_eq(vu_decode_shmem_config(m.payload.bytes, m.hdr.size, &sc), 0);
	ck_assert_uint_eq(sc.nregions, 1);
	ck_assert_uint_eq(sc.memory_sizes[0], 1ULL << 30);
	vu_frontend_close(&f);
}
END_TEST

START_TEST(garbage_then_next_frontend)
{
	struct vu_frontend f;
	int s;

	/* A frontend that sends garbage is dropped; the next one is served. */
	ck_assert_int_eq(vu_frontend_connect(&f, path, 2000, 5000), 0);
	s = f.sock;
	ck_assert_int_eq(write(s, "\xff\xff\xff\xff\x07\x00\x00\x00\x00\x00\x00\x00", 12), 12);
	char c;
	ck_assert_int_le(read(s, &c, 1), 0); /* the backend hangs up */
	vu_frontend_close(&f);
	ck_assert_int_eq(vu_frontend_connect(&f, path, 2000, 5000), 0);
	ck_assert(!f.broken);
	vu_frontend_close(&f);
}
END_TEST

/* ---- the memory table: ADD_MEM_REG / REM_MEM_REG ---- */

#define PG 4096ULL

/* A memfd of @pages pages, each filled with its page number + 1. */
static int pages_fd(unsigned int pages)
{
	int fd = memfd_create("regions", MFD_CLOEXEC);
	uint8_t page[PG];

	ck_assert_int_ge(fd, 0);
	for (unsigned int i = 0; i < pages; i++) {
		memset(page, (int)(i + 1), sizeof(page));
		ck_assert_int_eq(pwrite(fd, page, sizeof(page), (off_t)(i * PG)), (ssize_t)PG);
	}
	return fd;
}

/* Send one ADD/REM_MEM_REG with NEED_REPLY; the backend's ack (0 or -errno). */
static int64_t mem_reg(struct vu_frontend *f, uint32_t req, uint64_t gpa, uint64_t size,
		       uint64_t off, int fd)
{
	struct vu_mem_reg r = { .region = { .guest_phys_addr = gpa, .memory_size = size,
					    .userspace_addr = 0x7f0000000000ULL + gpa,
					    .mmap_offset = off } };
	struct vu_msg m;

	ck_assert_int_eq(vu_msg_send(f->sock, req, VU_VERSION | VU_FLAG_NEED_REPLY, &r, sizeof(r),
				     fd >= 0 ? &fd : NULL, fd >= 0), 0);
	ck_assert_int_eq(vu_msg_recv(f->sock, &m, 5000), 1);
	ck_assert_int_eq(vu_msg_check(VU_DIR_FRONTEND_REPLY, &m.hdr, m.nfds), 0);
	ck_assert_uint_eq(m.hdr.request, req);
	return (int64_t)m.payload.u64;
}

/* The byte @gpa translates to in the backend; -1 if [@gpa, @gpa + @len) does not translate. */
static int byte_at(uint64_t gpa, uint64_t len)
{
	const uint8_t *p;
	int v;

	pthread_mutex_lock(&be_lock);
	p = vu_gpa_to_va(&be, gpa, len);
	v = p ? *p : -1;
	pthread_mutex_unlock(&be_lock);
	return v;
}

static void connect_mem_slots(struct vu_frontend *f)
{
	ck_assert_int_eq(vu_frontend_connect(f, path, 2000, 5000), 0);
	ck_assert(vu_frontend_has(f, VU_PF_CONFIGURE_MEM_SLOTS));
}

START_TEST(max_mem_slots)
{
	struct vu_frontend f;
	struct vu_msg m;

	connect_mem_slots(&f);
	ck_assert_int_eq(vu_msg_send(f.sock, VU_GET_MAX_MEM_SLOTS, VU_VERSION, NULL, 0, NULL, 0),
			 0);
	ck_assert_int_eq(vu_msg_recv(f.sock, &m, 5000), 1);
	ck_assert_int_eq(vu_msg_check(VU_DIR_FRONTEND_REPLY, &m.hdr, m.nfds), 0);
	/* A 32 GiB window in 2 MiB pieces, and a full memory table of RAM. */
	ck_assert_uint_eq(m.payload.u64, 16384 + 8);
	ck_assert_uint_eq(m.payload.u64, VU_BACKEND_MAX_MEM_SLOTS);
	vu_frontend_close(&f);
}
END_TEST

START_TEST(add_and_remove)
{
	struct vu_frontend f;
	int fd = pages_fd(8);
	const uint64_t G = 0x100000;

	connect_mem_slots(&f);
	/* Pages 2..5 of the file (aligned offset) at G. */
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, G, 4 * PG, 2 * PG, fd), 0);
	ck_assert_int_eq(byte_at(G, 1), 3);
	ck_assert_int_eq(byte_at(G + PG, PG), 4);
	/* The edges: the last byte is in, one more is not, nor the byte before. */
	ck_assert_int_eq(byte_at(G + 4 * PG - 1, 1), 6);
	ck_assert_int_eq(byte_at(G + 4 * PG - 1, 2), -1);
	ck_assert_int_eq(byte_at(G + 4 * PG, 1), -1);
	ck_assert_int_eq(byte_at(G - 1, 1), -1);
	ck_assert_int_eq(byte_at(G - 1, 2), -1);
	ck_assert_int_eq(byte_at(G, 4 * PG), 3);
	ck_assert_int_eq(byte_at(G, 4 * PG + 1), -1);

	/* Overlaps by one byte at either end, or inside, are refused; adjacent is fine. */
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, G - PG, PG + 1, 0, fd), -EEXIST);
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, G + 4 * PG - 1, PG, 0, fd), -EEXIST);
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, G + PG, PG, 0, fd), -EEXIST);
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, G - 2 * PG, 16 * PG, 0, fd), -EEXIST);
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, G - PG, PG, 0, fd), 0);
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, G + 4 * PG, PG, 7 * PG, fd), 0);
	ck_assert_int_eq(byte_at(G - 1, 1), 1);
	ck_assert_int_eq(byte_at(G + 4 * PG, 1), 8);
	/* Contiguous regions do not make one: a range across two does not translate. */
	ck_assert_int_eq(byte_at(G - 1, 2), -1);

	/* Bad regions: empty, wrapping, wrapping file offset. */
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, 1ULL << 40, 0, 0, fd), -EINVAL);
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, UINT64_MAX - PG + 2, PG, 0, fd), -EINVAL);
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, 1ULL << 40, PG, UINT64_MAX - PG + 2, fd),
			 -EINVAL);
	/* The very top of the address space is a region like any other. */
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, UINT64_MAX - PG + 1, PG, 0, fd), 0);
	ck_assert_int_eq(byte_at(UINT64_MAX, 1), 1);
	ck_assert_int_eq(byte_at(UINT64_MAX, 2), -1);

	/* REM must name a region exactly. */
	ck_assert_int_eq(mem_reg(&f, VU_REM_MEM_REG, G, 3 * PG, 0, -1), -ENOENT);
	ck_assert_int_eq(mem_reg(&f, VU_REM_MEM_REG, G + PG, 3 * PG, 0, -1), -ENOENT);
	ck_assert_int_eq(mem_reg(&f, VU_REM_MEM_REG, G, 5 * PG, 0, -1), -ENOENT);
	ck_assert_int_eq(byte_at(G, 1), 3);
	ck_assert_int_eq(mem_reg(&f, VU_REM_MEM_REG, G, 4 * PG, 0, -1), 0);
	ck_assert_int_eq(byte_at(G, 1), -1);
	ck_assert_int_eq(byte_at(G - 1, 1), 1); /* its neighbours stay */
	ck_assert_int_eq(byte_at(G + 4 * PG, 1), 8);
	ck_assert_int_eq(mem_reg(&f, VU_REM_MEM_REG, G, 4 * PG, 0, -1), -ENOENT);
	/* Its range is free again. */
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, G, 4 * PG, 0, fd), 0);
	ck_assert_int_eq(byte_at(G, 1), 1);
	ck_assert_uint_eq(be_nregions(), 4);
	vu_frontend_close(&f);
	close(fd);
}
END_TEST

START_TEST(unaligned_offset_and_file_end)
{
	struct vu_frontend f;
	int fd = pages_fd(3), ro;
	char name[64];
	const uint64_t G = 0x200000;

	connect_mem_slots(&f);
	/* mmap_offset not page-aligned: mapped from 0, the protocol's way. */
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, G, PG, PG + 16, fd), 0);
	ck_assert_int_eq(byte_at(G, 1), 2);
	ck_assert_int_eq(byte_at(G + PG - 17, 1), 2);
	ck_assert_int_eq(byte_at(G + PG - 16, 1), 3);
	/* Past the file's end nothing translates (touching it would raise SIGBUS)... */
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, 2 * G, 8 * PG, PG, fd), 0);
	ck_assert_int_eq(byte_at(2 * G + 2 * PG - 1, 1), 3);
	ck_assert_int_eq(byte_at(2 * G + 2 * PG, 1), -1);
	/* ...but the region is the one announced: REM matches its full size. */
	ck_assert_int_eq(mem_reg(&f, VU_REM_MEM_REG, 2 * G, 2 * PG, 0, -1), -ENOENT);
	ck_assert_int_eq(mem_reg(&f, VU_REM_MEM_REG, 2 * G, 8 * PG, 0, -1), 0);
	/* A read-only file is mapped privately: a device-writable buffer there does not fault. */
	snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
	ro = open(name, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(ro, 0);
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, 4 * G, PG, 0, ro), 0);
	uint8_t *p = vu_gpa_to_va(&be, 4 * G, PG);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p[0], 1);
	p[0] = 0x77;
	ck_assert_int_eq(pread(fd, name, 1, 0), 1);
	ck_assert_uint_eq((uint8_t)name[0], 1); /* the file is untouched */
	/* Without a file offset that fits, or without an fd: refused. */
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, 5 * G, PG, 1ULL << 63, fd), -EINVAL);
	vu_frontend_close(&f);
	close(ro);
	close(fd);
}
END_TEST

START_TEST(table_grows_sorted)
{
	struct vu_frontend f;
	enum { N = 200 }; /* well past the table's first allocation (16) */
	int fd = pages_fd(N);
	struct vu_region ram;
	unsigned int i, k;

	connect_mem_slots(&f);
	/* Insert in a scrambled order (37 is prime to 200): region k is page k at 2 * k pages. */
	for (i = 0; i < N; i++) {
		k = (i * 37) % N;
		ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, (2 * k + 1) * PG, PG, k * PG, fd), 0);
	}
	ck_assert_uint_eq(be_nregions(), N);
	pthread_mutex_lock(&be_lock);
	for (i = 1; i < be.nregions; i++)
		ck_assert_uint_lt(be.regions[i - 1].gpa, be.regions[i].gpa);
	pthread_mutex_unlock(&be_lock);
	for (k = 0; k < N; k++) {
		ck_assert_int_eq(byte_at((2 * k + 1) * PG, 1), (uint8_t)(k + 1));
		ck_assert_int_eq(byte_at((2 * k + 2) * PG - 1, 1), (uint8_t)(k + 1));
		ck_assert_int_eq(byte_at((2 * k + 1) * PG - 1, 1), -1); /* the holes between */
		ck_assert_int_eq(byte_at((2 * k + 2) * PG, 1), -1);
	}
	/* Remove every other one. */
	for (k = 0; k < N; k += 2)
		ck_assert_int_eq(mem_reg(&f, VU_REM_MEM_REG, (2 * k + 1) * PG, PG, 0, -1), 0);
	ck_assert_uint_eq(be_nregions(), N / 2);
	for (k = 0; k < N; k++)
		ck_assert_int_eq(byte_at((2 * k + 1) * PG + 5, 1), k % 2 ? (uint8_t)(k + 1) : -1);
	/* SET_MEM_TABLE replaces the lot. */
	ram = (struct vu_region){ .guest_phys_addr = 0, .memory_size = PG, .userspace_addr = 0x1000,
				  .mmap_offset = 9 * PG };
	ck_assert_int_eq(vu_frontend_set_mem_table(&f, &ram, &fd, 1), 0);
	ck_assert_uint_eq(be_nregions(), 1);
	ck_assert_int_eq(byte_at(0, PG), 10);
	ck_assert_int_eq(byte_at(3 * PG, 1), -1);
	vu_frontend_close(&f);
	close(fd);
}
END_TEST

START_TEST(mem_slots_need_negotiation)
{
	struct vu_frontend f;
	int fd = pages_fd(1);
	uint64_t pf;

	connect_mem_slots(&f);
	pf = f.protocol_features & ~(1ULL << VU_PF_CONFIGURE_MEM_SLOTS);
	ck_assert_int_eq(vu_msg_send(f.sock, VU_SET_PROTOCOL_FEATURES, VU_VERSION, &pf, 8, NULL, 0),
			 0);
	ck_assert_int_eq(mem_reg(&f, VU_ADD_MEM_REG, 0, PG, 0, fd), -EOPNOTSUPP);
	ck_assert_uint_eq(be_nregions(), 0);
	vu_frontend_close(&f);
	close(fd);
}
END_TEST

/* ---- an adopted, already-connected socket (no listening socket, no file) ---- */

static int run_rc;

static void *adopted_thread(void *arg)
{
	(void)arg;
	run_rc = vu_backend_run(&be);
	return NULL;
}

/* The backend serves one end of a socketpair; the frontend adopts the other. */
static void adopt_pair(int sv[2])
{
	memset(&dev, 0, sizeof(dev));
	run_rc = 1;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(vu_backend_adopt(&be, sv[0], &echo_ops, &dev), 0);
	ck_assert(!vu_backend_done(&be));
	pthread_create(&thread, NULL, adopted_thread, NULL);
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

START_TEST(adopt_round_trip)
{
	struct vu_frontend f;
	uint8_t cfg[4];
	int sv[2], fds[4];

	adopt_pair(sv);
	ck_assert_int_eq(vu_frontend_adopt(&f, sv[1], "pair", 5000), 0);
	ck_assert_str_eq(vu_frontend_name(&f), "pair");
	ck_assert(vu_frontend_has(&f, VU_PF_CONFIG));
	ck_assert(vu_frontend_has(&f, VU_PF_REPLY_ACK));
	ck_assert_uint_eq(f.queue_num, 2);
	ck_assert(f.features & (1ULL << 0));
	ck_assert_int_eq(vu_frontend_get_config(&f, 2, cfg, 4), 0);
	ck_assert_uint_eq(cfg[0], 0xa2);
	ck_assert_int_eq(vu_frontend_set_features(&f, (1ULL << 32) | (1ULL << 0)), 0);
	/* The frontend goes: the server is done, and says so with 0. */
	vu_frontend_close(&f);
	pthread_join(thread, NULL);
	ck_assert_int_eq(run_rc, 0);
	ck_assert(vu_backend_done(&be));
	ck_assert_uint_eq(vu_backend_fds(&be, fds, 4), 0);
	ck_assert_int_eq(dev.resets, 1); /* the disconnect reset the device */
	ck_assert(!fd_open(sv[0]));      /* the backend closed its end */
	vu_backend_close(&be);
}
END_TEST

START_TEST(adopt_garbage_ends_the_server)
{
	int sv[2];
	char c;

	/* A malformed message drops the frontend; with no listener, that is the end. */
	adopt_pair(sv);
	ck_assert_int_eq(write(sv[1], "\xff\xff\xff\xff\x07\x00\x00\x00\x00\x00\x00\x00", 12), 12);
	ck_assert_int_le(read(sv[1], &c, 1), 0);
	pthread_join(thread, NULL);
	ck_assert_int_eq(run_rc, 0);
	close(sv[1]);
	vu_backend_close(&be);
}
END_TEST

START_TEST(adopt_makes_blocking)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_int_eq(vu_backend_adopt(&be, sv[0], &echo_ops, &dev), 0);
	ck_assert_int_eq(fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0);
	vu_backend_close(&be);
	ck_assert(!fd_open(sv[0]));
	close(sv[1]);
}
END_TEST

/* Each refusal, on both sides; the fd stays open and the caller's. */
static void refused(int fd, int want)
{
	struct vu_frontend f;

	ck_assert_int_eq(vu_backend_adopt(&be, fd, &echo_ops, &dev), want);
	ck_assert(vu_backend_done(&be));
	ck_assert_int_eq(vu_frontend_adopt(&f, fd, NULL, 1000), want);
	ck_assert(f.broken);
	ck_assert_int_eq(f.sock, -1);
	if (want != -EBADF)
		ck_assert(fd_open(fd));
}

START_TEST(adopt_refuses_bad_fds)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int p[2], sv[2], closed = open("/dev/null", O_RDONLY), in, st, ls;

	ck_assert_int_ge(closed, 0);
	close(closed);
	refused(-1, -EBADF);
	refused(closed, -EBADF);
	ck_assert_int_eq(pipe(p), 0);
	refused(p[0], -ENOTSOCK);
	in = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(in, 0);
	refused(in, -EAFNOSUPPORT);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	refused(sv[0], -ESOCKTNOSUPPORT);
	st = socket(AF_UNIX, SOCK_STREAM, 0);
	refused(st, -ENOTCONN); /* never connected */
	/* A listening socket is for vu_backend_listen(), not adopt. */
	ls = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "/tmp/shmvm-be-adopt.%d.sock", getpid());
	unlink(a.sun_path);
	ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(ls, 1), 0);
	refused(ls, -ENOTCONN);
	unlink(a.sun_path);
	/* Bad ops come first, as with listen. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, p), 0);
	ck_assert_int_eq(vu_backend_adopt(&be, p[0], &(struct vu_backend_ops){ 0 }, &dev), -EINVAL);
	ck_assert(fd_open(p[0]));
	ck_assert_str_eq(vu_sock_strerror(-ESOCKTNOSUPPORT), "not a stream socket");
}
END_TEST

/* A frontend whose handshake fails keeps its hands off the fd. */
START_TEST(frontend_adopt_handshake_fails)
{
	struct vu_frontend f;
	char name[16];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[0]); /* a backend that is gone already */
	ck_assert_int_lt(vu_frontend_adopt(&f, sv[1], NULL, 1000), 0);
	ck_assert(f.broken);
	ck_assert(fd_open(sv[1]));
	snprintf(name, sizeof(name), "fd %d", sv[1]);
	ck_assert_str_eq(vu_frontend_name(&f), name);
	vu_frontend_close(&f); /* harmless after a failure */
	ck_assert(fd_open(sv[1]));
	close(sv[1]);
}
END_TEST

static Suite *backend_suite(void)
{
	Suite *s = suite_create("vhost_backend");
	TCase *tc = tcase_create("backend");

	/* Fork mode: each test gets a fresh backend thread in its own process. */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, busy_socket_refused);
	tcase_add_test(tc, full_round_trip);
	tcase_add_test(tc, backend_channel);
	tcase_add_test(tc, shmem_config);
	tcase_add_test(tc, garbage_then_next_frontend);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory_table");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, max_mem_slots);
	tcase_add_test(tc, add_and_remove);
	tcase_add_test(tc, unaligned_offset_and_file_end);
	tcase_add_test(tc, table_grows_sorted);
	tcase_add_test(tc, mem_slots_need_negotiation);
	suite_add_tcase(s, tc);

	tc = tcase_create("adopt");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, adopt_round_trip);
	tcase_add_test(tc, adopt_garbage_ends_the_server);
	tcase_add_test(tc, adopt_makes_blocking);
	tcase_add_test(tc, adopt_refuses_bad_fds);
	tcase_add_test(tc, frontend_adopt_handshake_fails);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(backend_suite)
