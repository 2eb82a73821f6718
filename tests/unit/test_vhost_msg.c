// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost/msg.h"
#include "vhost/sock.h"

#include "check_main.h"

static const enum vu_dir dirs[] = { VU_DIR_FRONTEND_REQ, VU_DIR_FRONTEND_REPLY, VU_DIR_BACKEND_REQ,
				    VU_DIR_BACKEND_REPLY };

static uint32_t flags_for(enum vu_dir d)
{
	return VU_VERSION | ((d == VU_DIR_FRONTEND_REPLY || d == VU_DIR_BACKEND_REPLY) ? VU_FLAG_REPLY : 0);
}

/* Every known request of every direction: accepted at its bounds, refused just outside. */
START_TEST(every_request_bounds)
{
	unsigned int known = 0;

	for (size_t di = 0; di < ARRAY_SIZE(dirs); di++) {
		enum vu_dir d = dirs[di];

		for (uint32_t req = 0; req <= 64; req++) {
			const struct vu_msg_rule *r = vu_msg_rule(d, req);
			struct vu_hdr h = { .request = req, .flags = flags_for(d) };

			if (!r) {
				h.size = 0;
				ck_assert_int_eq(vu_msg_check(d, &h, 0), -EOPNOTSUPP);
				continue;
			}
			known++;
			ck_assert(strcmp(vu_msg_name(d, req), "unknown"));
			h.size = r->min_size;
			ck_assert_msg(vu_msg_check(d, &h, r->min_fds) == 0, "%s min", r->name);
			h.size = r->max_size;
			ck_assert_msg(vu_msg_check(d, &h, r->max_fds) == 0, "%s max", r->name);
			h.size = r->max_size + 1;
			ck_assert_msg(vu_msg_check(d, &h, r->max_fds) == -EMSGSIZE, "%s too big", r->name);
			if (r->min_size) {
				h.size = r->min_size - 1;
				ck_assert_msg(vu_msg_check(d, &h, r->min_fds) == -EMSGSIZE, "%s too small", r->name);
			}
			h.size = r->min_size;
			ck_assert_msg(vu_msg_check(d, &h, r->max_fds + 1) == -EBADF, "%s fds", r->name);
			if (r->min_fds)
				ck_assert_msg(vu_msg_check(d, &h, r->min_fds - 1) == -EBADF, "%s no fd", r->name);
		}
	}
	/* 44 front-end requests with replies each, 10 back-end requests with replies each. */
	ck_assert_uint_eq(known, 2 * 44 + 2 * 10);
}
END_TEST

START_TEST(specific_rules)
{
	const struct vu_msg_rule *r;

	r = vu_msg_rule(VU_DIR_BACKEND_REQ, VU_BACKEND_SHMEM_MAP);
	ck_assert_uint_eq(r->min_size, 40);
	ck_assert_uint_eq(r->min_fds, 1);
	ck_assert_uint_eq(r->max_fds, 1);
	r = vu_msg_rule(VU_DIR_BACKEND_REQ, VU_BACKEND_SHMEM_UNMAP);
	ck_assert_uint_eq(r->max_fds, 0);
	r = vu_msg_rule(VU_DIR_FRONTEND_REPLY, VU_GET_SHMEM_CONFIG);
	ck_assert_uint_eq(r->min_size, 2056);
	r = vu_msg_rule(VU_DIR_FRONTEND_REPLY, VU_SET_MEM_TABLE); /* REPLY_ACK */
	ck_assert_uint_eq(r->min_size, 8);
	ck_assert_uint_eq(r->max_size, 8);
	r = vu_msg_rule(VU_DIR_FRONTEND_REQ, VU_SET_MEM_TABLE);
	ck_assert_uint_eq(r->max_fds, 8);
	ck_assert(vu_msg_rule(VU_DIR_FRONTEND_REQ, VU_GET_FEATURES)->has_reply);
	ck_assert(!vu_msg_rule(VU_DIR_FRONTEND_REQ, VU_SET_FEATURES)->has_reply);
	ck_assert_str_eq(vu_msg_name(VU_DIR_BACKEND_REPLY, VU_BACKEND_SHMEM_MAP), "BACKEND_SHMEM_MAP");
	ck_assert_str_eq(vu_msg_name(VU_DIR_FRONTEND_REQ, 999), "unknown");
}
END_TEST

START_TEST(header_flags)
{
	struct vu_hdr h = { .request = VU_SET_OWNER, .flags = VU_VERSION, .size = 0 };

	ck_assert_int_eq(vu_msg_check(VU_DIR_FRONTEND_REQ, &h, 0), 0);
	h.flags = VU_VERSION | VU_FLAG_NEED_REPLY;
	ck_assert_int_eq(vu_msg_check(VU_DIR_FRONTEND_REQ, &h, 0), 0);
	h.flags = 0x2; /* version 2 */
	ck_assert_int_eq(vu_msg_check(VU_DIR_FRONTEND_REQ, &h, 0), -EINVAL);
	h.flags = VU_VERSION | 0x10; /* reserved bit */
	ck_assert_int_eq(vu_msg_check(VU_DIR_FRONTEND_REQ, &h, 0), -EINVAL);
	h.flags = VU_VERSION | VU_FLAG_REPLY; /* a "reply" where a request is expected */
	ck_assert_int_eq(vu_msg_check(VU_DIR_FRONTEND_REQ, &h, 0), -EINVAL);
	h.flags = VU_VERSION; /* a request where a reply is expected */
	ck_assert_int_eq(vu_msg_check(VU_DIR_FRONTEND_REPLY, &h, 0), -EINVAL);
	h.flags = VU_VERSION;
	h.size = 0xffffffff;
	ck_assert_int_eq(vu_msg_check(VU_DIR_FRONTEND_REQ, &h, 0), -EMSGSIZE);
}
END_TEST

START_TEST(decode_mem_table)
{
	struct vu_memory in = { .nregions = 2 }, out;

	in.regions[0] = (struct vu_region){ 0, 0x100000, 0x7f0000000000, 0 };
	in.regions[1] = (struct vu_region){ 0x100000000, 0x100000, 0x7f1000000000, 0x1000 };
	ck_assert_int_eq(vu_decode_mem_table(&in, 8 + 64, 2, &out), 0);
	ck_assert_uint_eq(out.regions[1].mmap_offset, 0x1000);
	ck_assert_int_eq(vu_decode_mem_table(&in, 8 + 64, 1, &out), -EBADF);
	ck_assert_int_eq(vu_decode_mem_table(&in, 8 + 32, 2, &out), -EMSGSIZE);
	in.nregions = 9;
	ck_assert_int_eq(vu_decode_mem_table(&in, sizeof(in), 8, &out), -EINVAL);
	in.nregions = 0;
	ck_assert_int_eq(vu_decode_mem_table(&in, 8, 0, &out), -EINVAL);
	in.nregions = 1;
	in.regions[0].memory_size = 0;
	ck_assert_int_eq(vu_decode_mem_table(&in, 8 + 32, 1, &out), -EINVAL);
	in.regions[0] = (struct vu_region){ UINT64_MAX - 10, 0x1000, 0, 0 };
	ck_assert_int_eq(vu_decode_mem_table(&in, 8 + 32, 1, &out), -EINVAL);
}
END_TEST

START_TEST(decode_vring_addr_and_config)
{
	struct vu_vring_addr a = { .index = 0, .desc = 0x1000, .avail = 0x2002, .used = 0x3004 }, ao;
	uint8_t cfgbuf[12 + 8];
	struct vu_config_hdr ch = { .offset = 0, .size = 8 }, co;

	ck_assert_int_eq(vu_decode_vring_addr(&a, sizeof(a), &ao), 0);
	a.desc = 0x1008;
	ck_assert_int_eq(vu_decode_vring_addr(&a, sizeof(a), &ao), -EINVAL);
	a.desc = 0x1000;
	a.used = 0x3002;
	ck_assert_int_eq(vu_decode_vring_addr(&a, sizeof(a), &ao), -EINVAL);
	a.used = 0x3004;
	a.flags = 2;
	ck_assert_int_eq(vu_decode_vring_addr(&a, sizeof(a), &ao), -EINVAL);

	memcpy(cfgbuf, &ch, sizeof(ch));
	ck_assert_int_eq(vu_decode_config(cfgbuf, sizeof(cfgbuf), &co), 0);
	ck_assert_int_eq(vu_decode_config(cfgbuf, sizeof(cfgbuf) - 1, &co), -EMSGSIZE);
	ch.offset = VU_MAX_CONFIG_SIZE - 4;
	memcpy(cfgbuf, &ch, sizeof(ch));
	ck_assert_int_eq(vu_decode_config(cfgbuf, sizeof(cfgbuf), &co), -EINVAL);
	ch.offset = 0xfffffffc; /* offset + size wraps in 32 bits */
	memcpy(cfgbuf, &ch, sizeof(ch));
	ck_assert_int_eq(vu_decode_config(cfgbuf, sizeof(cfgbuf), &co), -EINVAL);
	ch = (struct vu_config_hdr){ .offset = 0, .size = 0 };
	memcpy(cfgbuf, &ch, sizeof(ch));
	ck_assert_int_eq(vu_decode_config(cfgbuf, 12, &co), -EINVAL);
}
END_TEST

START_TEST(decode_mmap)
{
	struct vu_mmap m = { .shmid = 0, .fd_offset = 0x200000, .shm_offset = 0x400000, .len = 0x200000,
			     .flags = VU_SHMEM_MAP_F_RW },
		       o;

	ck_assert_int_eq(vu_decode_mmap(&m, sizeof(m), &o), 0);
	ck_assert_uint_eq(o.len, 0x200000);
	m.len = 0;
	ck_assert_int_eq(vu_decode_mmap(&m, sizeof(m), &o), -EINVAL);
	m.len = 0x1001;
	ck_assert_int_eq(vu_decode_mmap(&m, sizeof(m), &o), -EINVAL);
	m.len = 0x1000;
	m.shm_offset = 0x800;
	ck_assert_int_eq(vu_decode_mmap(&m, sizeof(m), &o), -EINVAL);
	m.shm_offset = UINT64_MAX & ~0xfffULL;
	ck_assert_int_eq(vu_decode_mmap(&m, sizeof(m), &o), -EOVERFLOW);
	m.shm_offset = 0;
	m.fd_offset = UINT64_MAX & ~0xfffULL;
	ck_assert_int_eq(vu_decode_mmap(&m, sizeof(m), &o), -EOVERFLOW);
	m.fd_offset = 0;
	m.flags = 2;
	ck_assert_int_eq(vu_decode_mmap(&m, sizeof(m), &o), -EINVAL);
	ck_assert_int_eq(vu_decode_mmap(&m, 39, &o), -EMSGSIZE);
}
END_TEST

START_TEST(decode_shmem_config)
{
	struct vu_shmem_config c = { .nregions = 2 }, o;

	c.memory_sizes[0] = 1ULL << 30;
	c.memory_sizes[5] = 0x200000; /* shmid = index; holes allowed */
	ck_assert_int_eq(vu_decode_shmem_config(&c, sizeof(c), &o), 0);
	c.nregions = 1; /* must count non-zero entries */
	ck_assert_int_eq(vu_decode_shmem_config(&c, sizeof(c), &o), -EINVAL);
	c.nregions = 2;
	c.memory_sizes[5] = 0x200001;
	ck_assert_int_eq(vu_decode_shmem_config(&c, sizeof(c), &o), -EINVAL);
	ck_assert_int_eq(vu_decode_shmem_config(&c, 2048, &o), -EMSGSIZE);
}
END_TEST

/* ---- socket I/O ---- */

static int sp[2];

static void sock_setup(void)
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
}

static void sock_teardown(void)
{
	close(sp[0]);
	close(sp[1]);
}

START_TEST(round_trip_with_fds)
{
	struct vu_msg m;
	struct vu_mmap mm = { .shmid = 3, .len = 4096 };
	int fd = memfd_create("t", 0);
	int fds[2] = { fd, STDIN_FILENO };
	struct stat a, b;

	ck_assert_int_eq(vu_msg_send(sp[0], VU_BACKEND_SHMEM_MAP, VU_VERSION | VU_FLAG_NEED_REPLY, &mm,
				     sizeof(mm), fds, 1), 0);
	ck_assert_int_eq(vu_msg_recv(sp[1], &m, 1000), 1);
	ck_assert_uint_eq(m.hdr.request, VU_BACKEND_SHMEM_MAP);
	ck_assert_uint_eq(m.hdr.size, 40);
	ck_assert_uint_eq(m.nfds, 1);
	ck_assert_int_eq(vu_msg_check(VU_DIR_BACKEND_REQ, &m.hdr, m.nfds), 0);
	ck_assert_uint_eq(m.payload.mmap.shmid, 3);
	ck_assert_int_eq(fstat(fd, &a), 0);
	ck_assert_int_eq(fstat(m.fds[0], &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	ck_assert_int_ne(m.fds[0], fd);
	vu_msg_close_fds(&m);
	/* Two fds, header-only message. */
	ck_assert_int_eq(vu_msg_send(sp[0], VU_SET_OWNER, VU_VERSION, NULL, 0, fds, 2), 0);
	ck_assert_int_eq(vu_msg_recv(sp[1], &m, 1000), 1);
	ck_assert_uint_eq(m.nfds, 2);
	vu_msg_close_fds(&m);
	ck_assert_int_eq(vu_msg_reply_u64(sp[1], VU_GET_FEATURES, 0x1234), 0);
	ck_assert_int_eq(vu_msg_recv(sp[0], &m, 1000), 1);
	ck_assert_uint_eq(m.hdr.flags, VU_VERSION | VU_FLAG_REPLY);
	ck_assert_uint_eq(m.payload.u64, 0x1234);
	close(fd);
}
END_TEST

/* A writer that sleeps @arg ms, then sends one SHMEM_UNMAP on sp[0]. */
static void *send_later(void *arg)
{
	struct vu_mmap mm = { .len = 4096 };

	usleep((useconds_t)(uintptr_t)arg * 1000);
	ck_assert_int_eq(vu_msg_send(sp[0], VU_BACKEND_SHMEM_UNMAP, VU_VERSION, &mm, sizeof(mm), NULL, 0), 0);
	return NULL;
}

/* vu_msg_recv_next() on sp[1] with nothing coming: its result in blocked_rc. */
static int blocked_rc = -1;

static void *recv_blocked(void *arg)
{
	struct vu_msg m;

	(void)arg;
	blocked_rc = vu_msg_recv_next(sp[1], &m, 50);
	return NULL;
}

/*
 * vu_msg_recv_next(): the wait for a message's start has no timeout (past
 * the part timeout, the message still comes), the rest of one must come in
 * time, and the end of the stream and shutdown() end it as they should.
 */
START_TEST(recv_next)
{
	struct vu_hdr h = { .request = VU_BACKEND_SHMEM_MAP, .flags = VU_VERSION, .size = 40 };
	struct vu_mmap mm = { .shmid = 1, .len = 4096 };
	int fd = memfd_create("t", 0);
	struct vu_msg m;
	pthread_t t;

	/* A whole message with an fd, waiting already. */
	ck_assert_int_eq(vu_msg_send(sp[0], VU_BACKEND_SHMEM_MAP, VU_VERSION, &mm, sizeof(mm), &fd, 1), 0);
	ck_assert_int_eq(vu_msg_recv_next(sp[1], &m, 50), 1);
	ck_assert_uint_eq(m.payload.mmap.shmid, 1);
	ck_assert_uint_eq(m.nfds, 1);
	vu_msg_close_fds(&m);
	/* One that starts after four part timeouts: still received. */
	ck_assert_int_eq(pthread_create(&t, NULL, send_later, (void *)(uintptr_t)200), 0);
	ck_assert_int_eq(vu_msg_recv_next(sp[1], &m, 50), 1);
	ck_assert_uint_eq(m.hdr.request, VU_BACKEND_SHMEM_UNMAP);
	pthread_join(t, NULL);
	/* A header whose payload never comes: the part timeout. */
	ck_assert_int_eq(write(sp[0], &h, sizeof(h)), (ssize_t)sizeof(h));
	ck_assert_int_eq(vu_msg_recv_next(sp[1], &m, 50), -ETIMEDOUT);
	/* Our own shutdown ends a read blocked waiting for the next message (how a thread is stopped). */
	ck_assert_int_eq(pthread_create(&t, NULL, recv_blocked, NULL), 0);
	usleep(100000);
	ck_assert_int_eq(shutdown(sp[1], SHUT_RDWR), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(blocked_rc, 0);
	close(fd);
}
END_TEST

START_TEST(truncated_and_eof)
{
	struct vu_msg m;
	struct vu_hdr h = { .request = VU_SET_FEATURES, .flags = VU_VERSION, .size = 8 };

	/* Nothing arrives: timeout. */
	ck_assert_int_eq(vu_msg_recv(sp[1], &m, 50), -ETIMEDOUT);
	/* Header promises 8 bytes, only 3 come, then the peer closes. */
	ck_assert_int_eq(write(sp[0], &h, sizeof(h)), (ssize_t)sizeof(h));
	ck_assert_int_eq(write(sp[0], "abc", 3), 3);
	close(sp[0]);
	sp[0] = -1;
	ck_assert_int_eq(vu_msg_recv(sp[1], &m, 1000), -EPIPE);
	/* And then a clean end of stream. */
	ck_assert_int_eq(vu_msg_recv(sp[1], &m, 1000), 0);
}
END_TEST

START_TEST(half_header_then_eof)
{
	struct vu_msg m;

	ck_assert_int_eq(write(sp[0], "\x01\x00\x00", 3), 3);
	shutdown(sp[0], SHUT_WR);
	ck_assert_int_eq(vu_msg_recv(sp[1], &m, 1000), -EPIPE);
}
END_TEST

START_TEST(oversized_payload)
{
	struct vu_msg m;
	struct vu_hdr h = { .request = VU_SET_FEATURES, .flags = VU_VERSION, .size = VU_MAX_PAYLOAD + 1 };

	ck_assert_int_eq(write(sp[0], &h, sizeof(h)), (ssize_t)sizeof(h));
	ck_assert_int_eq(vu_msg_recv(sp[1], &m, 1000), -EMSGSIZE);
}
END_TEST

START_TEST(too_many_fds_closed)
{
	struct vu_msg m;
	/* 12: more than vu_msg_recv()'s buffer asks for (9) and than its padding takes (10). */
	int fds[VU_MAX_FDS + 4];
	struct vu_hdr h = { .request = VU_SET_OWNER, .flags = VU_VERSION };
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = &h, .iov_len = sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	bool was_open[ARRAY_SIZE(fds)];
	int before, after;

	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		fds[i] = STDERR_FILENO;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	before = dup(0);
	close(before);
	for (int i = 0; i < (int)ARRAY_SIZE(fds); i++)
		was_open[i] = fcntl(before + i, F_GETFD) >= 0;
	ck_assert_int_eq(sendmsg(sp[0], &mh, 0), (ssize_t)sizeof(h));
	ck_assert_int_eq(vu_msg_recv(sp[1], &m, 1000), -EBADF);
	ck_assert_uint_eq(m.nfds, 0);
	/* No descriptor leaked: the next free one is the same as before, and none above it is open. */
	after = dup(0);
	close(after);
	ck_assert_int_eq(after, before);
	for (int i = 0; i < (int)ARRAY_SIZE(fds); i++)
		ck_assert_msg(fcntl(before + i, F_GETFD) < 0 || was_open[i], "fd %d left open",
			      before + i);
}
END_TEST

static Suite *vhost_msg_suite(void)
{
	Suite *s = suite_create("vhost_msg");
	TCase *tc = tcase_create("check");

	tcase_add_test(tc, every_request_bounds);
	tcase_add_test(tc, specific_rules);
	tcase_add_test(tc, header_flags);
	suite_add_tcase(s, tc);
	tc = tcase_create("decode");
	tcase_add_test(tc, decode_mem_table);
	tcase_add_test(tc, decode_vring_addr_and_config);
	tcase_add_test(tc, decode_mmap);
	tcase_add_test(tc, decode_shmem_config);
	suite_add_tcase(s, tc);
	tc = tcase_create("sock");
	tcase_add_checked_fixture(tc, sock_setup, sock_teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, round_trip_with_fds);
	tcase_add_test(tc, recv_next);
	tcase_add_test(tc, truncated_and_eof);
	tcase_add_test(tc, half_header_then_eof);
	tcase_add_test(tc, oversized_payload);
	tcase_add_test(tc, too_many_fds_closed);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(vhost_msg_suite)
