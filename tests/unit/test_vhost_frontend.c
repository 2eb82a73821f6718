// SPDX-License-Identifier: GPL-2.0-only
/* The vhost-user frontend against a scripted backend on a real unix socket. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "vhost/frontend.h"
#include "vhost/sock.h"

#include "check_main.h"

enum behaviour {
	GOOD,
	NACK_MEM_TABLE,
	SILENT_ON_CONFIG,
	BAD_REPLY_FLAGS,
	NO_PROTOCOL_FEATURES,
	SHMEM_UNALIGNED,
	SHMEM_MISCOUNTED,
	HOLD_CONFIG, /* answer a GET_CONFIG only once a memory-region message has come */
	STALL,       /* stop reading after SET_OWNER until @release is written */
};

struct fake {
	char path[108];
	int lsock; /* -1: serve @conn, a socketpair end */
	int conn;
	enum behaviour how;
	pthread_t thread;
	uint64_t got_protocol_features;
	uint64_t got_features;
	uint32_t requests[64];
	unsigned int nreq;
	bool saw_need_reply_on_set;
	size_t mem_fds;
	/* ADD/REM_MEM_REG seen: count, the last one, its fd count and flags, and the fd's size. */
	unsigned int mem_regs;
	struct vu_region last_reg;
	uint32_t last_reg_req, last_reg_flags;
	size_t last_reg_fds;
	off_t last_reg_fd_size;
	int release[2]; /* STALL: a pipe */
};

static void reply(int s, uint32_t req, uint32_t flags, const void *p, uint32_t size)
{
	ck_assert_int_eq(vu_msg_send(s, req, flags, p, size, NULL, 0), 0);
}

/* GET_CONFIG's reply: byte i of the config is its offset. */
static void answer_config(struct fake *f, int s, const struct vu_config_hdr *req)
{
	uint8_t buf[12 + VU_MAX_CONFIG_SIZE];
	struct vu_config_hdr h;

	memcpy(&h, req, sizeof(h));
	ck_assert_uint_le(h.size, VU_MAX_CONFIG_SIZE);
	memcpy(buf, &h, sizeof(h));
	for (uint32_t i = 0; i < h.size; i++)
		buf[12 + i] = (uint8_t)(h.offset + i);
	reply(s, VU_GET_CONFIG,
	      f->how == BAD_REPLY_FLAGS ? (VU_VERSION | VU_FLAG_REPLY | VU_FLAG_NEED_REPLY)
					: (VU_VERSION | VU_FLAG_REPLY),
	      buf, 12 + h.size);
}

static void *fake_run(void *arg)
{
	struct fake *f = arg;
	int s = f->lsock >= 0 ? accept(f->lsock, NULL, NULL) : f->conn;
	struct vu_msg m;
	uint64_t pf = 0;
	struct vu_config_hdr held; /* HOLD_CONFIG: the GET_CONFIG not answered yet */
	bool have_held = false;

	while (s >= 0 && vu_msg_recv(s, &m, 5000) == 1) {
		uint32_t req = m.hdr.request, ok = VU_VERSION | VU_FLAG_REPLY;
		uint64_t v;

		if (vu_msg_check(VU_DIR_FRONTEND_REQ, &m.hdr, m.nfds)) {
			vu_msg_close_fds(&m);
			break;
		}
		/* The test's thread polls nreq: the request is in place before the count says so. */
		if (f->nreq < 64) {
			f->requests[f->nreq] = req;
			__atomic_store_n(&f->nreq, f->nreq + 1, __ATOMIC_RELEASE);
		}
		switch (req) {
		case VU_GET_FEATURES:
			v = (1ULL << 32) | (1ULL << 9) |
			    (f->how == NO_PROTOCOL_FEATURES ? 0 : 1ULL << VU_F_PROTOCOL_FEATURES);
			reply(s, req, ok, &v, 8);
			break;
		case VU_GET_PROTOCOL_FEATURES:
			v = ~0ULL; /* offers everything, GPA_ADDRESSES included */
			reply(s, req, ok, &v, 8);
			break;
		case VU_SET_PROTOCOL_FEATURES:
			pf = f->got_protocol_features = m.payload.u64;
			break;
		case VU_GET_QUEUE_NUM:
			v = 4;
			reply(s, req, ok, &v, 8);
			break;
		case VU_ADD_MEM_REG:
		case VU_REM_MEM_REG:
			__atomic_add_fetch(&f->mem_regs, 1, __ATOMIC_RELEASE); /* wait_mem_regs() polls it */
			f->last_reg_req = req;
			f->last_reg = m.payload.mem_reg.region;
			f->last_reg_flags = m.hdr.flags;
			f->last_reg_fds = m.nfds;
			f->last_reg_fd_size = m.nfds ? lseek(m.fds[0], 0, SEEK_END) : -1;
			if (have_held)
				answer_config(f, s, &held);
			have_held = false;
			break;
		case VU_GET_CONFIG:
			if (f->how == SILENT_ON_CONFIG)
				break;
			if (f->how == HOLD_CONFIG) {
				memcpy(&held, m.payload.bytes, sizeof(held));
				have_held = true;
				break;
			}
			answer_config(f, s, (struct vu_config_hdr *)m.payload.bytes);
			break;
		case VU_GET_SHMEM_CONFIG: {
			struct vu_shmem_config c = { .nregions = 2 };

			c.memory_sizes[0] = 4 << 20;
			c.memory_sizes[3] = f->how == SHMEM_UNALIGNED ? 4097 : 8192;
			if (f->how == SHMEM_MISCOUNTED)
				c.nregions = 1;
			reply(s, req, ok, &c, sizeof(c));
			break;
		}
		case VU_SET_FEATURES:
			f->got_features = m.payload.u64;
			/* fall through */
		default:
			if (req == VU_SET_MEM_TABLE)
				f->mem_fds = m.nfds;
			if (m.hdr.flags & VU_FLAG_NEED_REPLY) {
				f->saw_need_reply_on_set = true;
				v = (req == VU_SET_MEM_TABLE && f->how == NACK_MEM_TABLE) ? 1 : 0;
				reply(s, req, ok, &v, 8);
			}
			break;
		}
		vu_msg_close_fds(&m);
		if (f->how == STALL && req == VU_SET_OWNER) {
			char c;

			ck_assert_int_eq(read(f->release[0], &c, 1), 1);
		}
	}
	(void)pf;
	if (s >= 0)
		close(s);
	return NULL;
}

static struct fake fk;

static void start_fake(enum behaviour how)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(&fk, 0, sizeof(fk));
	fk.how = how;
	ck_assert_int_eq(pipe(fk.release), 0);
	snprintf(fk.path, sizeof(fk.path), "/tmp/shmvm-fe-test.%d.sock", getpid());
	strcpy(a.sun_path, fk.path);
	unlink(fk.path);
	fk.lsock = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fk.lsock, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fk.lsock, 1), 0);
	pthread_create(&fk.thread, NULL, fake_run, &fk);
}

/* The fake serves one end of a socketpair; the other is returned, for vu_frontend_adopt(). */
static int start_fake_pair(enum behaviour how)
{
	int sv[2];

	memset(&fk, 0, sizeof(fk));
	fk.how = how;
	fk.lsock = -1;
	ck_assert_int_eq(pipe(fk.release), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fk.conn = sv[0];
	pthread_create(&fk.thread, NULL, fake_run, &fk);
	return sv[1];
}

static void stop_fake(struct vu_frontend *f)
{
	vu_frontend_close(f);
	pthread_join(fk.thread, NULL);
	if (fk.lsock >= 0)
		close(fk.lsock);
	close(fk.release[0]);
	close(fk.release[1]);
	unlink(fk.path);
}

START_TEST(negotiation)
{
	struct vu_frontend f;

	start_fake(GOOD);
	ck_assert_int_eq(vu_frontend_connect(&f, fk.path, 1000, 2000), 0);
	/* Only what shmvm asks for, never GPA_ADDRESSES, whatever the backend offers. */
	ck_assert_uint_eq(fk.got_protocol_features, VU_FRONTEND_PROTOCOL_FEATURES);
	ck_assert(!(f.protocol_features & (1ULL << VU_PF_GPA_ADDRESSES)));
	ck_assert_uint_eq(f.queue_num, 4);
	ck_assert(vu_frontend_has(&f, VU_PF_REPLY_ACK));
	ck_assert_int_eq(vu_frontend_set_features(&f, 1ULL << 32), 0);
	ck_assert_uint_eq(fk.got_features, (1ULL << 32) | (1ULL << VU_F_PROTOCOL_FEATURES));
	ck_assert(fk.saw_need_reply_on_set);
	/* GET_CONFIG returns the requested slice. */
	uint8_t cfg[4];
	ck_assert_int_eq(vu_frontend_get_config(&f, 8, cfg, 4), 0);
	ck_assert_uint_eq(cfg[0], 8);
	ck_assert_uint_eq(cfg[3], 11);
	ck_assert_int_eq(vu_frontend_get_config(&f, 250, cfg, 8), -EINVAL);
	/* Memory table: one fd per region. */
	struct vu_region r[2] = { { 0, 4096, 0x1000, 0 }, { 1ULL << 32, 4096, 0x2000, 4096 } };
	int fds[2] = { STDIN_FILENO, STDIN_FILENO };
	ck_assert_int_eq(vu_frontend_set_mem_table(&f, r, fds, 2), 0);
	ck_assert(!f.broken);
	stop_fake(&f);
	ck_assert_uint_eq(fk.mem_fds, 2);
	ck_assert_uint_eq(fk.requests[0], VU_GET_FEATURES);
}
END_TEST

START_TEST(shmem_config)
{
	static uint64_t sizes[VU_MAX_SHMEM_REGIONS];
	struct vu_frontend f;

	start_fake(GOOD);
	ck_assert_int_eq(vu_frontend_connect(&f, fk.path, 1000, 2000), 0);
	ck_assert(vu_frontend_has(&f, VU_PF_SHMEM));
	ck_assert_int_eq(vu_frontend_get_shmem_config(&f, sizes), 0);
	ck_assert_uint_eq(sizes[0], 4 << 20);
	ck_assert_uint_eq(sizes[3], 8192);
	ck_assert_uint_eq(sizes[1] | sizes[2] | sizes[255], 0);
	stop_fake(&f);

	/* A size that is no page multiple, or a count that does not match: refused, broken. */
	for (int how = SHMEM_UNALIGNED; how <= SHMEM_MISCOUNTED; how++) {
		start_fake(how);
		ck_assert_int_eq(vu_frontend_connect(&f, fk.path, 1000, 2000), 0);
		ck_assert_int_eq(vu_frontend_get_shmem_config(&f, sizes), -EINVAL);
		ck_assert(f.broken);
		stop_fake(&f);
	}
}
END_TEST

START_TEST(backend_refuses)
{
	struct vu_frontend f;
	struct vu_region r = { 0, 4096, 0x1000, 0 };
	int fd = STDIN_FILENO;

	start_fake(NACK_MEM_TABLE);
	ck_assert_int_eq(vu_frontend_connect(&f, fk.path, 1000, 2000), 0);
	ck_assert_int_eq(vu_frontend_set_mem_table(&f, &r, &fd, 1), -EIO);
	stop_fake(&f);
}
END_TEST

START_TEST(reply_timeout_marks_broken)
{
	struct vu_frontend f;
	uint8_t cfg[4];

	start_fake(SILENT_ON_CONFIG);
	ck_assert_int_eq(vu_frontend_connect(&f, fk.path, 1000, 300), 0);
	ck_assert_int_eq(vu_frontend_get_config(&f, 0, cfg, 4), -ETIMEDOUT);
	ck_assert(f.broken);
	ck_assert_int_eq(vu_frontend_set_features(&f, 0), -EIO); /* stays broken */
	stop_fake(&f);
}
END_TEST

START_TEST(bad_reply_flags_mark_broken)
{
	struct vu_frontend f;
	uint8_t cfg[4];

	start_fake(BAD_REPLY_FLAGS);
	ck_assert_int_eq(vu_frontend_connect(&f, fk.path, 1000, 2000), 0);
	ck_assert_int_ne(vu_frontend_get_config(&f, 0, cfg, 4), 0);
	ck_assert(f.broken);
	stop_fake(&f);
}
END_TEST

START_TEST(without_protocol_features)
{
	struct vu_frontend f;
	uint8_t cfg[4];

	start_fake(NO_PROTOCOL_FEATURES);
	ck_assert_int_eq(vu_frontend_connect(&f, fk.path, 1000, 2000), 0);
	ck_assert_uint_eq(f.protocol_features, 0);
	ck_assert_int_eq(vu_frontend_get_config(&f, 0, cfg, 4), -EOPNOTSUPP);
	ck_assert_int_eq(vu_frontend_reset_device(&f), -EOPNOTSUPP);
	ck_assert_int_eq(vu_frontend_set_features(&f, 1ULL << 32), 0);
	stop_fake(&f); /* no REPLY_ACK: wait for the backend to have read it */
	ck_assert_uint_eq(fk.got_features, 1ULL << 32);
	ck_assert_uint_eq(fk.requests[1], VU_SET_OWNER);
}
END_TEST

START_TEST(adopt_negotiation)
{
	struct vu_frontend f;
	char name[16];
	int fd = start_fake_pair(GOOD);

	ck_assert_int_eq(vu_frontend_adopt(&f, fd, NULL, 2000), 0);
	snprintf(name, sizeof(name), "fd %d", fd);
	ck_assert_str_eq(vu_frontend_name(&f), name);
	ck_assert_int_eq(f.sock, fd);
	ck_assert_uint_eq(f.queue_num, 4);
	ck_assert(!vu_frontend_has(&f, VU_PF_GPA_ADDRESSES));
	ck_assert_int_eq(vu_frontend_set_features(&f, 1ULL << 32), 0);
	stop_fake(&f); /* closes fd: the fake sees the end of the stream */
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_uint_eq(fk.got_protocol_features, VU_FRONTEND_PROTOCOL_FEATURES);
	ck_assert_uint_eq(fk.got_features, (1ULL << 32) | (1ULL << VU_F_PROTOCOL_FEATURES));
	ck_assert_uint_eq(fk.requests[0], VU_GET_FEATURES);
}
END_TEST

static char last_err[256];

static void capture(enum log_level level, const char *msg, void *opaque)
{
	(void)opaque;
	if (level == LOG_ERR)
		snprintf(last_err, sizeof(last_err), "%s", msg);
}

START_TEST(adopt_logs_by_name)
{
	struct vu_frontend f;
	int fd = start_fake_pair(NACK_MEM_TABLE), p[2];
	struct vu_region r = { 0, 4096, 0x1000, 0 };
	int mfd = memfd_create("m", MFD_CLOEXEC);
	char want[64];

	log_set_sink(capture, NULL);
	ck_assert_int_eq(vu_frontend_adopt(&f, fd, "fsd", 2000), 0);
	ck_assert_str_eq(vu_frontend_name(&f), "fsd");
	ck_assert_int_eq(vu_frontend_set_mem_table(&f, &r, &mfd, 1), -EIO);
	ck_assert_str_eq(last_err, "vhost-user fsd: backend refused SET_MEM_TABLE");
	stop_fake(&f);
	close(mfd);
	/* Not a socket: refused, said so by fd number, left open. */
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(vu_frontend_adopt(&f, p[1], NULL, 2000), -ENOTSOCK);
	snprintf(want, sizeof(want), "vhost-user fd %d: not a socket", p[1]);
	ck_assert_str_eq(last_err, want);
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	log_set_sink(NULL, NULL);
}
END_TEST

START_TEST(no_backend)
{
	struct vu_frontend f;

	ck_assert_int_eq(vu_frontend_connect(&f, "/nonexistent/shmvm.sock", 100, 100), -ENOENT);
}
END_TEST

/* A memfd of @pages pages (its size identifies it on the far side). */
static int sized_fd(unsigned int pages)
{
	int fd = memfd_create("region", MFD_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)pages * 4096), 0);
	return fd;
}

struct config_call {
	struct vu_frontend *f;
	uint8_t cfg[4];
	int rc;
};

static void *get_config_thread(void *arg)
{
	struct config_call *c = arg;

	c->rc = vu_frontend_get_config(c->f, 8, c->cfg, 4);
	return NULL;
}

/* The fake's request number @i (from 0) has come and is @req; from another thread than the fake's. */
static bool seen_request(unsigned int i, uint32_t req)
{
	return __atomic_load_n(&fk.nreq, __ATOMIC_ACQUIRE) > i && fk.requests[i] == req;
}

/* Wait (up to 5 s) until the fake has seen @n memory-region messages. */
static void wait_mem_regs(unsigned int n)
{
	for (int i = 0; i < 5000 && __atomic_load_n(&fk.mem_regs, __ATOMIC_ACQUIRE) < n; i++)
		usleep(1000);
	ck_assert_uint_eq(__atomic_load_n(&fk.mem_regs, __ATOMIC_ACQUIRE), n);
}

START_TEST(mem_reg_while_a_request_waits)
{
	struct vu_frontend f;
	struct config_call c = { .f = &f };
	struct vu_region r = { .guest_phys_addr = 0x800000000ULL, .memory_size = 0x200000,
			       .userspace_addr = 0x7f1234000000ULL, .mmap_offset = 0x400000 };
	int fd = sized_fd(3);
	pthread_t t;

	start_fake(HOLD_CONFIG);
	ck_assert_int_eq(vu_frontend_connect(&f, fk.path, 1000, 5000), 0);
	ck_assert(vu_frontend_has(&f, VU_PF_CONFIGURE_MEM_SLOTS));
	/*
	 * The fake answers GET_CONFIG only after a memory-region message: the
	 * request holds the request lock all along, so the ADD must not need it.
	 */
	pthread_create(&t, NULL, get_config_thread, &c);
	while (!seen_request(5, VU_GET_CONFIG))
		usleep(1000);
	ck_assert_int_eq(vu_frontend_add_mem_reg(&f, &r, fd), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(c.rc, 0);
	ck_assert_uint_eq(c.cfg[0], 8);
	ck_assert_uint_eq(fk.last_reg_flags, VU_VERSION); /* no NEED_REPLY: nothing to wait for */
	ck_assert_uint_eq(fk.last_reg_fds, 1);
	ck_assert_int_eq(fk.last_reg_fd_size, 3 * 4096); /* our fd went with it */
	ck_assert(!memcmp(&fk.last_reg, &r, sizeof(r)));

	/* The same for REM, with no fd. */
	pthread_create(&t, NULL, get_config_thread, &c);
	while (!seen_request(7, VU_GET_CONFIG))
		usleep(1000);
	ck_assert_int_eq(vu_frontend_rem_mem_reg(&f, &r), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(c.rc, 0);
	ck_assert_uint_eq(fk.last_reg_req, VU_REM_MEM_REG);
	ck_assert_uint_eq(fk.last_reg_flags, VU_VERSION);
	ck_assert_uint_eq(fk.last_reg_fds, 0);
	ck_assert_uint_eq(fk.last_reg.guest_phys_addr, r.guest_phys_addr);
	ck_assert_uint_eq(fk.last_reg.memory_size, r.memory_size);
	ck_assert(!f.broken);
	stop_fake(&f);
	close(fd);
}
END_TEST

/* The fake reads again after a while, as a backend behind in its reading does. */
static void *release_later(void *arg)
{
	(void)arg;
	usleep(200 * 1000);
	ck_assert_int_eq(write(fk.release[1], "x", 1), 1);
	return NULL;
}

START_TEST(mem_reg_full_socket)
{
	struct vu_frontend f;
	struct vu_region r = { .guest_phys_addr = 0x800000000ULL, .memory_size = 4096 };
	unsigned int sent = 0;
	int fd = sized_fd(1), rc;
	pthread_t t;

	start_fake(STALL);
	ck_assert_int_eq(vu_frontend_connect(&f, fk.path, 1000, 2000), 0);
	/* The fake reads nothing more: the socket fills, and after a bounded wait the sender is told. */
	while ((rc = vu_frontend_rem_mem_reg(&f, &r)) == 0 && sent < 100000)
		sent++;
	ck_assert_int_eq(rc, -EAGAIN);
	ck_assert_uint_gt(sent, 10);
	ck_assert(!f.broken); /* a full buffer is not a broken connection */
	/* A backend that reads again within the wait gets the message: nothing is lost. */
	pthread_create(&t, NULL, release_later, NULL);
	ck_assert_int_eq(vu_frontend_add_mem_reg(&f, &r, fd), 0);
	pthread_join(t, NULL);
	/* Every message arrives whole, in order, and a request works. */
	ck_assert_int_eq(vu_frontend_set_features(&f, 1ULL << 32), 0);
	wait_mem_regs(sent + 1); /* the REMs and the ADD */
	ck_assert_uint_eq(fk.got_features, (1ULL << 32) | (1ULL << VU_F_PROTOCOL_FEATURES));
	ck_assert(!f.broken);
	stop_fake(&f);
	close(fd);
}
END_TEST

START_TEST(mem_reg_not_negotiated)
{
	struct vu_frontend f;
	struct vu_region r = { .guest_phys_addr = 0, .memory_size = 4096 };
	int fd = sized_fd(1);

	start_fake(NO_PROTOCOL_FEATURES);
	ck_assert_int_eq(vu_frontend_connect(&f, fk.path, 1000, 2000), 0);
	ck_assert_int_eq(vu_frontend_add_mem_reg(&f, &r, fd), -EOPNOTSUPP);
	ck_assert_int_eq(vu_frontend_rem_mem_reg(&f, &r), -EOPNOTSUPP);
	stop_fake(&f);
	ck_assert_uint_eq(fk.mem_regs, 0);
	/* Negotiated but closed: -EIO, nothing sent. */
	start_fake(GOOD);
	ck_assert_int_eq(vu_frontend_connect(&f, fk.path, 1000, 2000), 0);
	vu_frontend_close(&f);
	ck_assert_int_eq(vu_frontend_add_mem_reg(&f, &r, fd), -EIO);
	stop_fake(&f);
	ck_assert_uint_eq(fk.mem_regs, 0);
	close(fd);
}
END_TEST

static Suite *frontend_suite(void)
{
	Suite *s = suite_create("vhost_frontend");
	TCase *tc = tcase_create("frontend");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, negotiation);
	tcase_add_test(tc, shmem_config);
	tcase_add_test(tc, backend_refuses);
	tcase_add_test(tc, reply_timeout_marks_broken);
	tcase_add_test(tc, bad_reply_flags_mark_broken);
	tcase_add_test(tc, without_protocol_features);
	tcase_add_test(tc, no_backend);
	tcase_add_test(tc, adopt_negotiation);
	tcase_add_test(tc, adopt_logs_by_name);
	tcase_add_test(tc, mem_reg_while_a_request_waits);
	tcase_add_test(tc, mem_reg_full_socket);
	tcase_add_test(tc, mem_reg_not_negotiated);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(frontend_suite)
