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
#include <sys/socket.h>
#include <unistd.h>

#include "devices/shm_announce.h"
#include "mm/shm_window.h"
#include "tools/fsd/device.h"
#include "vhost/frontend.h"
#include "vhost/sock.h"

#include "backend_loop.h"
#include "check_main.h"

#define MEM (8u << 20)
#define QSZ 64
#define RING 0x1000 /* desc at RING, avail at RING + 0x1000, used at RING + 0x2000 */
#define REQ 0x100000
#define RSP 0x200000
#define DAX_WINDOW (4ULL << 20)

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
static bool adopted; /* the harness_adopted case: a socketpair, no socket file */
static int run_rc;
static pthread_mutex_t be_lock = PTHREAD_MUTEX_INITIALIZER; /* held to look into be (backend_loop.h) */

static void *backend_thread(void *arg)
{
	(void)arg;
	run_rc = vu_backend_run_locked(&be, &be_lock);
	return NULL;
}

/* vu_gpa_to_va() from the test's thread: whether [@gpa, +@len) translates in the backend. */
static bool be_translates(uint64_t gpa, uint64_t len)
{
	bool yes;

	pthread_mutex_lock(&be_lock);
	yes = vu_gpa_to_va(&be, gpa, len) != NULL;
	pthread_mutex_unlock(&be_lock);
	return yes;
}

/* The backend's [@gpa, +@len) is @want (it translates and holds those bytes). */
static bool be_holds(uint64_t gpa, const void *want, size_t len)
{
	const uint8_t *p;
	bool yes;

	pthread_mutex_lock(&be_lock);
	p = vu_gpa_to_va(&be, gpa, len);
	yes = p && !memcmp(p, want, len);
	pthread_mutex_unlock(&be_lock);
	return yes;
}

static size_t be_nregions(void)
{
	return backend_loop_nregions(&be, &be_lock);
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
	ck_assert_int_eq(fsd_create(&(struct fsd_opts){ .shared_dir = dir, .dax_window = DAX_WINDOW,
							.dax_ops = &fsd_device_dax_ops, .dax_opaque = &dev },
				    &fs),
			 0);
	fsd_device_init(&dev, fs, &be, "harness", 1, DAX_WINDOW, &ops);
	run_rc = 1;
	if (adopted) {
		int sv[2];

		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		ck_assert_int_eq(vu_backend_adopt(&be, sv[0], &ops, &dev), 0);
		pthread_create(&thread, NULL, backend_thread, NULL);
		ck_assert_int_eq(vu_frontend_adopt(&fe, sv[1], NULL, 5000), 0);
	} else {
		ck_assert_int_eq(vu_backend_listen(&be, sock, &ops, &dev), 0);
		pthread_create(&thread, NULL, backend_thread, NULL);
		ck_assert_int_eq(vu_frontend_connect(&fe, sock, 2000, 5000), 0);
	}

	/* Frontend: features, guest RAM, queue 1 (the request queue). */
	memfd = memfd_create("guest", 0);
	ck_assert_int_eq(ftruncate(memfd, MEM), 0);
	g = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
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
	if (adopted) {
		/* The frontend went away: an adopted server is done, without an error. */
		pthread_join(thread, NULL);
		ck_assert_int_eq(run_rc, 0);
		ck_assert(vu_backend_done(&be));
		ck_assert_int_eq(access(sock, F_OK), -1); /* and never made a socket file */
	}
	munmap(g, MEM);
	close(memfd);
	close(kick);
	close(call);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", dir, sock);
	ck_assert_int_eq(system(cmd), 0);
}

static void setup_adopted(void)
{
	adopted = true;
	setup();
}

/*
 * The guest's side. post() puts one FUSE request on the ring without a kick:
 * request @slot (0..7) has descriptors 4 * @slot.. and request and reply
 * areas of its own; @data_len bytes at guest address @data follow the
 * arguments in a descriptor of their own (a write's payload), none if 0.
 * kick_and_wait() kicks once and waits for every posted request's reply.
 */
#define SLOT_REQ(slot) (REQ + (uint64_t)(slot) * 0x10000)
#define SLOT_RSP(slot) (RSP + (uint64_t)(slot) * 0x20000)

static void post(unsigned int slot, uint32_t op, uint64_t nodeid, const void *arg, size_t len,
		 uint64_t data, uint32_t data_len)
{
	struct vring_desc *d = (struct vring_desc *)(g + RING) + 4 * slot;
	struct vring_avail *av = (struct vring_avail *)(g + RING + 0x1000);
	struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + len + data_len), .opcode = op,
				    .unique = ++unique, .nodeid = nodeid };
	uint16_t i = (uint16_t)(4 * slot);

	memcpy(g + SLOT_REQ(slot), &h, sizeof(h));
	if (len)
		memcpy(g + SLOT_REQ(slot) + sizeof(h), arg, len);
	memset(g + SLOT_RSP(slot), 0, 4096);
	/* Header and arguments in separate descriptors, as Linux does. */
	d[0] = (struct vring_desc){ SLOT_REQ(slot), sizeof(h), VRING_DESC_F_NEXT, (uint16_t)(i + 1) };
	d[1] = (struct vring_desc){ SLOT_REQ(slot) + sizeof(h), (uint32_t)len, VRING_DESC_F_NEXT,
				    (uint16_t)(i + 2) };
	d[2] = (struct vring_desc){ data, data_len, VRING_DESC_F_NEXT, (uint16_t)(i + 3) };
	d[3] = (struct vring_desc){ SLOT_RSP(slot), 65536, VRING_DESC_F_WRITE, 0 };
	if (!data_len)
		d[1].next = (uint16_t)(i + 3);
	if (!len)
		d[0].next = d[1].next;
	av->ring[avail_idx % QSZ] = i;
	avail_idx++;
	__atomic_store_n(&av->idx, avail_idx, __ATOMIC_RELEASE);
}

static void kick_and_wait(void)
{
	struct vring_used *u = (struct vring_used *)(g + RING + 0x2000);
	struct pollfd p = { .fd = call, .events = POLLIN };
	eventfd_t v;

	eventfd_write(kick, 1);
	while (__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE) != avail_idx) {
		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		(void)!eventfd_read(call, &v);
	}
}

/* Request @slot's reply header (zeros if the device wrote none). */
static struct fuse_out_header reply(unsigned int slot)
{
	struct fuse_out_header oh;

	memcpy(&oh, g + SLOT_RSP(slot), sizeof(oh));
	return oh;
}

/* One request through the ring; returns the reply header. */
static struct fuse_out_header fuse_data(uint32_t op, uint64_t nodeid, const void *arg, size_t len,
					uint64_t data, uint32_t data_len)
{
	post(0, op, nodeid, arg, len, data, data_len);
	kick_and_wait();
	return reply(0);
}

static struct fuse_out_header fuse(uint32_t op, uint64_t nodeid, const void *arg, size_t len)
{
	return fuse_data(op, nodeid, arg, len, 0, 0);
}

/* LOOKUP of @name under @parent, which must succeed: the node id. */
static uint64_t lookup(uint64_t parent, const char *name)
{
	struct fuse_out_header oh = fuse(FUSE_LOOKUP, parent, name, strlen(name) + 1);

	ck_assert_int_eq(oh.error, 0);
	return ((struct fuse_entry_out *)(g + RSP + sizeof(oh)))->nodeid;
}

START_TEST(requests_through_the_ring)
{
	struct fuse_init_in init = { .major = 7, .minor = 38 };
	struct fuse_out_header oh = fuse(FUSE_INIT, 0, &init, sizeof(init));

	ck_assert_int_eq(oh.error, 0);
	ck_assert_uint_eq(((struct fuse_init_out *)(g + RSP + sizeof(oh)))->major, 7);
	uint64_t n = lookup(FUSE_ROOT_ID, "file");
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
	uint64_t out = lookup(FUSE_ROOT_ID, "out");
	ck_assert_int_ne(fuse(FUSE_LOOKUP, out, "passwd", 7).error, 0);
	struct fuse_open_in oi = { .flags = O_RDONLY };
	ck_assert_int_ne(fuse(FUSE_OPENDIR, out, &oi, sizeof(oi)).error, 0);
	ck_assert_int_eq(fuse(FUSE_GETATTR, 0xdeadbeef, &(struct fuse_getattr_in){ 0 },
			      sizeof(struct fuse_getattr_in)).error, -ESTALE);
	/* After all that, the device still serves. */
	ck_assert_int_eq(fuse(FUSE_LOOKUP, FUSE_ROOT_ID, "file", 5).error, 0);
}
END_TEST

/* ---- the shared-memory window in the backend's memory table ---- */

static int no_kvm(void *opaque, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		  void *hva)
{
	(void)opaque, (void)slot, (void)flags, (void)gpa, (void)size, (void)hva;
	return 0;
}

/* A request with a reply: the backend serves its main socket in order, so all before it is done. */
static void sync_backend(void)
{
	uint8_t tag[8];

	ck_assert_int_eq(vu_frontend_get_config(&fe, 0, tag, 8), 0);
}

/*
 * shmvm's window with the hook vhost_user_pci installs (shm_announce_ops):
 * a mapping made through shm_window_map() translates in the backend, the
 * backend serves a write() whose buffer is in the window, and an unmap (or
 * a BAR move) takes it out of the backend's table again.
 */
START_TEST(window_mappings_reach_the_backend)
{
	static const struct memslot_ops slot_ops = { .set = no_kvm };
	static struct memslot_table slots;
	static struct shm_window w;
	struct shm_announce a = { .name = "harness", .fe = &fe };
	const uint64_t wgpa = 1ULL << 34, moved = 1ULL << 35, off = 2 * MiB, page = 4096;
	uint64_t size = 4 * MiB;
	uint8_t id = 0;
	char p[128], got[16] = { 0 };
	int fd;

	ck_assert(vu_frontend_has(&fe, VU_PF_CONFIGURE_MEM_SLOTS));
	ck_assert_int_eq(memslot_table_init(&slots, 32, &slot_ops, NULL), 0);
	ck_assert_int_eq(shm_window_init(&w, "harness", SHM_STRATEGY_SLOT, &slots, &id, &size, 1),
			 0);
	shm_window_set_ops(&w, &shm_announce_ops, &a);
	shm_window_set_gpa(&w, wgpa);

	/* A read-only DAX-style mapping of "file"; shmvm closes the fd at once. */
	snprintf(p, sizeof(p), "%s/file", dir);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(shm_window_map(&w, 0, off, page, fd, 0, 0), 0);
	close(fd);
	sync_backend();
	ck_assert(be_holds(wgpa + off, "0123456789", 10));
	ck_assert(!be_translates(wgpa + off - 1, 1));
	ck_assert(!be_translates(wgpa + off + page, 1));

	/* The motivating case: a write() into "dst" whose buffer is that mapping. */
	snprintf(p, sizeof(p), "%s/dst", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct fuse_init_in init = { .major = 7, .minor = 38 };
	ck_assert_int_eq(fuse(FUSE_INIT, 0, &init, sizeof(init)).error, 0);
	uint64_t n = lookup(FUSE_ROOT_ID, "dst");
	struct fuse_open_in oi = { .flags = O_WRONLY };
	struct fuse_out_header oh = fuse(FUSE_OPEN, n, &oi, sizeof(oi));
	ck_assert_int_eq(oh.error, 0);
	struct fuse_write_in wi = { .fh = ((struct fuse_open_out *)(g + RSP + sizeof(oh)))->fh,
				    .size = 10 };
	oh = fuse_data(FUSE_WRITE, n, &wi, sizeof(wi), wgpa + off, 10);
	ck_assert_int_eq(oh.error, 0);
	ck_assert_uint_eq(((struct fuse_write_out *)(g + RSP + sizeof(oh)))->size, 10);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(read(fd, got, sizeof(got)), 10);
	close(fd);
	ck_assert_str_eq(got, "0123456789");

	/* Unmapped: gone from the backend's table. */
	ck_assert_int_eq(shm_window_unmap(&w, 0, off, page), 0);
	sync_backend();
	ck_assert(!be_translates(wgpa + off, 1));

	/* A BAR move retracts the mappings at the old address; later ones appear at the new one. */
	snprintf(p, sizeof(p), "%s/file", dir);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(shm_window_map(&w, 0, off, page, fd, 0, 0), 0);
	sync_backend();
	ck_assert(be_translates(wgpa + off, 1));
	shm_window_set_gpa(&w, moved);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, page, fd, 0, 0), 0);
	close(fd);
	sync_backend();
	ck_assert(!be_translates(wgpa + off, 1));
	ck_assert(!be_translates(moved + off, 1)); /* never re-announced: no fd kept */
	ck_assert(be_holds(moved, "0123456789", 10));
	/* Dropping all sends one REM, for the one the backend has; nothing was refused or lost. */
	ck_assert_uint_eq(shm_window_unmap_all(&w), 2);
	sync_backend();
	ck_assert(!be_translates(moved, 1));
	ck_assert_uint_eq(be_nregions(), 1); /* guest RAM alone */
	ck_assert_uint_eq(a.failures, 0);
	shm_window_destroy(&w);
	memslot_table_destroy(&slots);
}
END_TEST

/* ---- DAX all the way: shmvm-fsd's SETUPMAPPING through a real backend channel ---- */

static struct shm_window dax_w;
static int chan[2] = { -1, -1 };

/* shmvm's side of the backend channel, as devices/vhost_user_pci.c serves it. */
static void *backend_channel(void *arg)
{
	struct vu_msg m;

	(void)arg;
	while (vu_msg_recv(chan[0], &m, -1) == 1) {
		int rc = -EINVAL;

		if (m.hdr.request == VU_BACKEND_SHMEM_MAP && m.nfds == 1)
			rc = shm_window_map(&dax_w, m.payload.mmap.shmid, m.payload.mmap.shm_offset,
					    m.payload.mmap.len, m.fds[0], m.payload.mmap.fd_offset,
					    m.payload.mmap.flags);
		else if (m.hdr.request == VU_BACKEND_SHMEM_UNMAP)
			rc = shm_window_unmap(&dax_w, m.payload.mmap.shmid, m.payload.mmap.shm_offset,
					      m.payload.mmap.len);
		vu_msg_close_fds(&m);
		if ((m.hdr.flags & VU_FLAG_NEED_REPLY) &&
		    vu_msg_reply_u64(chan[0], m.hdr.request, (uint64_t)(int64_t)rc))
			break;
	}
	return NULL;
}

/*
 * The guest maps a file through shmvm-fsd (SETUPMAPPING → SHMEM_MAP → a
 * window whose mappings are announced to the backend) and, in the same kick,
 * writes another file from that very mapping: the backend must not meet the
 * write before the mapping's ADD_MEM_REG (vu_backend_yield). Then
 * REMOVEMAPPING and DESTROY leave the window and the backend's table empty.
 */
START_TEST(dax_setupmapping_then_write_from_it)
{
	static const struct memslot_ops slot_ops = { .set = no_kvm };
	static struct memslot_table slots;
	struct shm_announce a = { .name = "harness", .fe = &fe };
	const uint64_t wgpa = 1ULL << 34;
	uint64_t size = DAX_WINDOW, sizes[VU_MAX_SHMEM_REGIONS];
	uint8_t id = 0;
	pthread_t t;
	char p[128], got[16] = { 0 };
	int fd;

	/* shmvm's part: the window the backend asked for, its channel, its thread. */
	ck_assert_int_eq(vu_frontend_get_shmem_config(&fe, sizes), 0);
	ck_assert_uint_eq(sizes[0], DAX_WINDOW);
	ck_assert_int_eq(memslot_table_init(&slots, 32, &slot_ops, NULL), 0);
	ck_assert_int_eq(shm_window_init(&dax_w, "harness", SHM_STRATEGY_SLOT, &slots, &id, &size, 1), 0);
	shm_window_set_ops(&dax_w, &shm_announce_ops, &a);
	shm_window_set_gpa(&dax_w, wgpa);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan), 0);
	ck_assert_int_eq(vu_frontend_set_backend_req_fd(&fe, chan[1]), 0);
	close(chan[1]);
	ck_assert_int_eq(pthread_create(&t, NULL, backend_channel, NULL), 0);

	/* The guest's part. */
	struct fuse_init_in init = { .major = 7, .minor = 38, .flags = FUSE_MAP_ALIGNMENT };
	struct fuse_out_header oh = fuse(FUSE_INIT, 0, &init, sizeof(init));
	ck_assert_int_eq(oh.error, 0);
	ck_assert_uint_eq(((struct fuse_init_out *)(g + RSP + sizeof(oh)))->map_alignment, 21);
	uint64_t src = lookup(FUSE_ROOT_ID, "file");
	struct { struct fuse_create_in in; char name[4]; } cr = { { .flags = O_WRONLY, .mode = S_IFREG | 0644 }, "dst" };
	oh = fuse(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr));
	ck_assert_int_eq(oh.error, 0);
	uint64_t dst = ((struct fuse_entry_out *)(g + RSP + sizeof(oh)))->nodeid;
	uint64_t fh = ((struct fuse_open_out *)(g + RSP + sizeof(oh) + sizeof(struct fuse_entry_out)))->fh;

	/* Two requests, one kick: map "file" at window offset 2 MiB, then write "dst" from it. */
	struct fuse_setupmapping_in sm = { .fh = (uint64_t)-1, .foffset = 0, .len = 2 * MiB,
					   .flags = FUSE_SETUPMAPPING_FLAG_READ, .moffset = 2 * MiB };
	struct fuse_write_in wi = { .fh = fh, .size = 10 };
	post(0, FUSE_SETUPMAPPING, src, &sm, sizeof(sm), 0, 0);
	post(1, FUSE_WRITE, dst, &wi, sizeof(wi), wgpa + 2 * MiB, 10);
	kick_and_wait();
	ck_assert_int_eq(reply(0).error, 0);
	ck_assert_int_eq(reply(1).error, 0);
	ck_assert_uint_eq(((struct fuse_write_out *)(g + SLOT_RSP(1) + sizeof(oh)))->size, 10);
	snprintf(p, sizeof(p), "%s/dst", dir);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(read(fd, got, sizeof(got)), 10);
	close(fd);
	ck_assert_str_eq(got, "0123456789");
	ck_assert_uint_eq(shm_window_count(&dax_w), 1);
	ck_assert((shm_window_stats(&dax_w).maps == 1));

	/* REMOVEMAPPING: gone from the window and from the backend's table. */
	uint8_t rm[4 + 16];
	uint32_t one = 1;
	uint64_t range[2] = { 2 * MiB, 2 * MiB };
	memcpy(rm, &one, 4);
	memcpy(rm + 4, range, 16);
	ck_assert_int_eq(fuse(FUSE_REMOVEMAPPING, src, rm, sizeof(rm)).error, 0);
	ck_assert_uint_eq(shm_window_count(&dax_w), 0);
	sync_backend();
	ck_assert(!be_translates(wgpa + 2 * MiB, 1));

	/* Unmount with a mapping live: DESTROY unmaps it. */
	sm.moffset = 0;
	ck_assert_int_eq(fuse(FUSE_SETUPMAPPING, src, &sm, sizeof(sm)).error, 0);
	ck_assert_uint_eq(shm_window_count(&dax_w), 1);
	ck_assert_int_eq(fuse(FUSE_DESTROY, 0, NULL, 0).error, 0);
	ck_assert_uint_eq(shm_window_count(&dax_w), 0);
	sync_backend();
	ck_assert_uint_eq(be_nregions(), 1); /* guest RAM alone */
	ck_assert_uint_eq(a.failures, 0);

	shutdown(chan[0], SHUT_RDWR);
	pthread_join(t, NULL);
	close(chan[0]);
	shm_window_destroy(&dax_w);
	memslot_table_destroy(&slots);
}
END_TEST

/* --dax-window 0: no GET_SHMEM_CONFIG, so SHMEM is not offered and the guest finds no window. */
START_TEST(no_dax_window_no_shmem)
{
	struct fsd_device d;
	struct vu_backend_ops o;

	ck_assert(vu_frontend_has(&fe, VU_PF_SHMEM)); /* the harness's device has a window */
	fsd_device_init(&d, fs, &be, "none", 1, 0, &o);
	ck_assert(o.get_shmem_config == NULL);
	fsd_device_init(&d, fs, &be, "some", 1, DAX_WINDOW, &o);
	ck_assert(o.get_shmem_config != NULL);
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
	tcase_add_test(tc, window_mappings_reach_the_backend);
	tcase_add_test(tc, dax_setupmapping_then_write_from_it);
	tcase_add_test(tc, no_dax_window_no_shmem);
	suite_add_tcase(s, tc);

	/* The same over a socketpair, as `shmvm run` starts shmvm-fsd (--socket-fd). */
	tc = tcase_create("harness_adopted");
	tcase_add_checked_fixture(tc, setup_adopted, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, requests_through_the_ring);
	tcase_add_test(tc, escapes_through_the_ring);
	tcase_add_test(tc, dax_setupmapping_then_write_from_it);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(fsd_vhost_suite)
