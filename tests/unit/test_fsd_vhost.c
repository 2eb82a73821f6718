// SPDX-License-Identifier: GPL-2.0-only
/*
 * Driver-side harness for shmvm-fsd: this test plays the frontend (shmvm's
 * own vhost-user frontend library) and the guest (rings and FUSE requests
 * built in a memfd "guest RAM"); the backend is the real backend library
 * with shmvm-fsd's device and FUSE handler, on a real unix socket.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tools/fsd/device.h"
#include "vhost/frontend.h"

#include "check_main.h"

#define MEM (8u << 20)
#define QSZ 64
#define RING 0x1000 /* desc at RING, avail at RING + 0x1000, used at RING + 0x2000 */
#define REQ 0x100000
#define RSP 0x200000

static char dir[64], sock[108];
static struct fsd *fs;
static struct fsd_device dev;
static struct vu_backend be;
static pthread_t thread;
static struct vu_frontend fe;
static uint8_t *g;
static int memfd, kick, call;
static uint16_t avail_idx;
static uint64_t unique;

static void *backend_thread(void *arg)
{
	(void)arg;
	(void)!vu_backend_run(&be);
	return NULL;
}

static void setup(void)
{
	static struct vu_backend_ops ops; /* the backend keeps a pointer to it */
	char p[128];
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/shmvm-fsdv.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/file", dir);
	f = fopen(p, "w");
	fputs("0123456789", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/out", dir);
	ck_assert_int_eq(symlink("/etc", p), 0);
	snprintf(sock, sizeof(sock), "%s.sock", dir);
	ck_assert_int_eq(fsd_create(&(struct fsd_opts){ .shared_dir = dir }, &fs), 0);
	fsd_device_init(&dev, fs, "harness", 1, 0, &ops);
	ck_assert_int_eq(vu_backend_listen(&be, sock, &ops, &dev), 0);
	pthread_create(&thread, NULL, backend_thread, NULL);

	/* Frontend: features, guest RAM, queue 1 (the request queue). */
	memfd = memfd_create("guest", 0);
	ck_assert_int_eq(ftruncate(memfd, MEM), 0);
	g = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_int_eq(vu_frontend_connect(&fe, sock, 2000, 5000), 0);
	uint8_t tag[8];
	ck_assert_int_eq(vu_frontend_get_config(&fe, 0, tag, 8), 0);
	ck_assert(!memcmp(tag, "harness", 8));
	ck_assert_int_eq(vu_frontend_set_features(&fe, 1ULL << 32), 0);
	struct vu_region r = { 0, MEM, (uintptr_t)g, 0 };
	ck_assert_int_eq(vu_frontend_set_mem_table(&fe, &r, &memfd, 1), 0);
	kick = eventfd(0, 0);
	call = eventfd(0, EFD_NONBLOCK);
	struct vu_ring_setup rs = { .index = 1, .size = QSZ, .desc = (uintptr_t)(g + RING),
				    .avail = (uintptr_t)(g + RING + 0x1000),
				    .used = (uintptr_t)(g + RING + 0x2000), .kick_fd = kick, .call_fd = call };
	ck_assert_int_eq(vu_frontend_start_ring(&fe, &rs), 0);
	avail_idx = 0;
	unique = 0;
}

static void teardown(void)
{
	char cmd[256];

	vu_frontend_close(&fe);
	munmap(g, MEM);
	close(memfd);
	close(kick);
	close(call);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, sock);
	ck_assert_int_eq(system(cmd), 0);
}

/* The guest's side: one FUSE request through the ring; returns the reply header. */
static struct fuse_out_header fuse(uint32_t op, uint64_t nodeid, const void *arg, size_t len)
{
	struct vring_desc *d = (struct vring_desc *)(g + RING);
	struct vring_avail *av = (struct vring_avail *)(g + RING + 0x1000);
	struct vring_used *u = (struct vring_used *)(g + RING + 0x2000);
	struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + len), .opcode = op, .unique = ++unique,
				    .nodeid = nodeid };
	struct fuse_out_header oh = { 0 };
	struct pollfd p = { .fd = call, .events = POLLIN };
	uint16_t want = (uint16_t)(avail_idx + 1);
	eventfd_t v;

	memcpy(g + REQ, &h, sizeof(h));
	if (len)
		memcpy(g + REQ + sizeof(h), arg, len);
	memset(g + RSP, 0, 4096);
	/* Header and arguments in separate descriptors, as Linux does. */
	d[0] = (struct vring_desc){ REQ, sizeof(h), VRING_DESC_F_NEXT, 1 };
	d[1] = (struct vring_desc){ REQ + sizeof(h), (uint32_t)len, VRING_DESC_F_NEXT, 2 };
	d[2] = (struct vring_desc){ RSP, 65536, VRING_DESC_F_WRITE, 0 };
	if (!len)
		d[0].next = 2;
	av->ring[avail_idx % QSZ] = 0;
	__atomic_store_n(&av->idx, want, __ATOMIC_RELEASE);
	avail_idx = want;
	eventfd_write(kick, 1);
	while (__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE) != want) {
		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		(void)!eventfd_read(call, &v);
	}
	if (u->ring[(want - 1) % QSZ].len >= sizeof(oh))
		memcpy(&oh, g + RSP, sizeof(oh));
	return oh;
}

START_TEST(requests_through_the_ring)
{
	struct fuse_init_in init = { .major = 7, .minor = 38 };
	struct fuse_out_header oh = fuse(FUSE_INIT, 0, &init, sizeof(init));

	ck_assert_int_eq(oh.error, 0);
	ck_assert_uint_eq(((struct fuse_init_out *)(g + RSP + sizeof(oh)))->major, 7);
	oh = fuse(FUSE_LOOKUP, FUSE_ROOT_ID, "file", 5);
	ck_assert_int_eq(oh.error, 0);
	uint64_t n = ((struct fuse_entry_out *)(g + RSP + sizeof(oh)))->nodeid;
	struct fuse_open_in oi = { .flags = O_RDONLY };
	oh = fuse(FUSE_OPEN, n, &oi, sizeof(oi));
	ck_assert_int_eq(oh.error, 0);
	struct fuse_read_in ri = { .fh = ((struct fuse_open_out *)(g + RSP + sizeof(oh)))->fh, .offset = 3, .size = 4 };
	oh = fuse(FUSE_READ, n, &ri, sizeof(ri));
	ck_assert_int_eq(oh.error, 0);
	ck_assert_uint_eq(oh.len, sizeof(oh) + 4);
	ck_assert(!memcmp(g + RSP + sizeof(oh), "3456", 4));
}
END_TEST

START_TEST(escapes_through_the_ring)
{
	struct fuse_init_in init = { .major = 7, .minor = 38 };

	ck_assert_int_eq(fuse(FUSE_INIT, 0, &init, sizeof(init)).error, 0);
	ck_assert_int_ne(fuse(FUSE_LOOKUP, FUSE_ROOT_ID, "..", 3).error, 0);
	ck_assert_int_ne(fuse(FUSE_LOOKUP, FUSE_ROOT_ID, "../etc", 7).error, 0);
	struct fuse_out_header oh = fuse(FUSE_LOOKUP, FUSE_ROOT_ID, "out", 4);
	ck_assert_int_eq(oh.error, 0);
	uint64_t out = ((struct fuse_entry_out *)(g + RSP + sizeof(oh)))->nodeid;
	ck_assert_int_ne(fuse(FUSE_LOOKUP, out, "passwd", 7).error, 0);
	struct fuse_open_in oi = { .flags = O_RDONLY };
	ck_assert_int_ne(fuse(FUSE_OPENDIR, out, &oi, sizeof(oi)).error, 0);
	ck_assert_int_eq(fuse(FUSE_GETATTR, 0xdeadbeef, &(struct fuse_getattr_in){ 0 },
			      sizeof(struct fuse_getattr_in)).error, -ESTALE);
	/* After all that, the device still serves. */
	ck_assert_int_eq(fuse(FUSE_LOOKUP, FUSE_ROOT_ID, "file", 5).error, 0);
}
END_TEST

static Suite *fsd_vhost_suite(void)
{
	Suite *s = suite_create("fsd_vhost");
	TCase *tc = tcase_create("harness");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, requests_through_the_ring);
	tcase_add_test(tc, escapes_through_the_ring);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(fsd_vhost_suite)
