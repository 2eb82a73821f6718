// SPDX-License-Identifier: GPL-2.0-only
/* The device side of a split virtqueue, fed by rings built from the driver's side. */
#include <check.h>
#include <errno.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/guarded_copy.h"
#include "vhost/virtq.h"

#include "check_main.h"

#define QSZ 8
#define MEM (1 << 20)
/* Guest memory layout: rings at the bottom, buffers from 64 KiB. */
#define DESC_GPA 0x0
#define AVAIL_GPA 0x1000
#define USED_GPA 0x2000
#define IND_GPA 0x3000
#define BUF_GPA 0x10000

/* A second region, as a shared-memory mapping would give a backend: two pages of a file. */
#define CUT_GPA 0x40000000ULL
#define CUT_SIZE 0x2000

static uint8_t *mem, *cut;
static struct vq q;
static struct vq_elem e;

static void *xlate(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	if (cut && gpa >= CUT_GPA && gpa - CUT_GPA < CUT_SIZE && len <= CUT_SIZE - (gpa - CUT_GPA))
		return cut + (gpa - CUT_GPA);
	if (gpa >= MEM || len > MEM - gpa)
		return NULL;
	return mem + gpa;
}

static struct vring_desc *desc(unsigned int i)
{
	return (struct vring_desc *)(mem + DESC_GPA) + i;
}

static struct vring_avail *avail(void)
{
	return (struct vring_avail *)(mem + AVAIL_GPA);
}

static struct vring_used *used(void)
{
	return (struct vring_used *)(mem + USED_GPA);
}

/* Driver side: publish chain @head. */
static void publish(uint16_t head)
{
	avail()->ring[avail()->idx % QSZ] = head;
	avail()->idx++;
}

static void setup(void)
{
	mem = calloc(1, MEM);
	vq_init(&q, QSZ, mem + DESC_GPA, mem + AVAIL_GPA, mem + USED_GPA, 0, false, xlate, NULL);
}

static void teardown(void)
{
	free(mem);
}

START_TEST(simple_chain)
{
	*desc(3) = (struct vring_desc){ BUF_GPA, 16, VRING_DESC_F_NEXT, 5 };
	*desc(5) = (struct vring_desc){ BUF_GPA + 0x100, 64, VRING_DESC_F_WRITE, 0 };
	ck_assert_int_eq(vq_pop(&q, &e), 0); /* nothing published yet */
	publish(3);
	ck_assert_int_eq(vq_pop(&q, &e), 1);
	ck_assert_uint_eq(e.head, 3);
	ck_assert_uint_eq(e.in_num, 1);
	ck_assert_uint_eq(e.out_num, 1);
	ck_assert_ptr_eq(e.iov[0].iov_base, mem + BUF_GPA);
	ck_assert_uint_eq(e.iov[0].iov_len, 16);
	ck_assert_ptr_eq(e.iov[1].iov_base, mem + BUF_GPA + 0x100);
	ck_assert_uint_eq(e.iov[1].iov_len, 64);
	ck_assert_int_eq(vq_pop(&q, &e), 0);
	vq_push(&q, &e, 40);
	ck_assert_uint_eq(used()->idx, 1);
	ck_assert_uint_eq(used()->ring[0].id, 3);
	ck_assert_uint_eq(used()->ring[0].len, 40);
	ck_assert(vq_should_notify(&q));
	avail()->flags = VRING_AVAIL_F_NO_INTERRUPT;
	ck_assert(!vq_should_notify(&q));
}
END_TEST

START_TEST(indirect_table)
{
	struct vring_desc *t = (struct vring_desc *)(mem + IND_GPA);

	t[0] = (struct vring_desc){ BUF_GPA, 40, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ BUF_GPA + 40, 8, VRING_DESC_F_NEXT, 2 };
	t[2] = (struct vring_desc){ BUF_GPA + 0x1000, 4096, VRING_DESC_F_WRITE, 0 };
	*desc(0) = (struct vring_desc){ IND_GPA, 3 * 16, VRING_DESC_F_INDIRECT, 0 };
	publish(0);
	ck_assert_int_eq(vq_pop(&q, &e), 1);
	ck_assert_uint_eq(e.in_num, 2);
	ck_assert_uint_eq(e.out_num, 1);
	ck_assert_uint_eq(e.iov[2].iov_len, 4096);
}
END_TEST

/* Each bad ring is refused with -EIO, the queue stays broken, nothing crashes. */
static void expect_broken(void)
{
	ck_assert_int_eq(vq_pop(&q, &e), -EIO);
	ck_assert(q.broken);
	ck_assert_int_eq(vq_pop(&q, &e), -EIO);
}

/*
 * An indirect table in a mapping whose file was then cut short (a DAX page
 * the guest truncated): reading it must break the queue, not raise SIGBUS.
 */
START_TEST(indirect_table_past_a_files_end)
{
	int fd = memfd_create("cut", MFD_CLOEXEC);
	struct vring_desc *t;

	ck_assert_int_eq(guarded_copy_init(), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, CUT_SIZE), 0);
	cut = mmap(NULL, CUT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(cut, MAP_FAILED);
	t = (struct vring_desc *)(cut + 0x1000);
	t[0] = (struct vring_desc){ BUF_GPA, 40, 0, 0 };
	*desc(0) = (struct vring_desc){ CUT_GPA + 0x1000, 16, VRING_DESC_F_INDIRECT, 0 };
	*desc(1) = (struct vring_desc){ CUT_GPA + 0x1000, 16, VRING_DESC_F_INDIRECT, 0 };
	publish(0);
	ck_assert_int_eq(vq_pop(&q, &e), 1); /* the page is there */
	ck_assert_uint_eq(e.in_num, 1);
	ck_assert_int_eq(ftruncate(fd, 0x1000), 0); /* now it is not */
	publish(1);
	expect_broken();
	munmap(cut, CUT_SIZE);
	cut = NULL;
	close(fd);
}
END_TEST

START_TEST(outside_memory)
{
	*desc(0) = (struct vring_desc){ MEM - 8, 16, 0, 0 };
	publish(0);
	expect_broken();
}
END_TEST

START_TEST(address_overflow)
{
	*desc(0) = (struct vring_desc){ UINT64_MAX - 4, 16, 0, 0 };
	publish(0);
	expect_broken();
}
END_TEST

START_TEST(chain_loop)
{
	*desc(0) = (struct vring_desc){ BUF_GPA, 1, VRING_DESC_F_NEXT, 1 };
	*desc(1) = (struct vring_desc){ BUF_GPA, 1, VRING_DESC_F_NEXT, 0 };
	publish(0);
	expect_broken();
}
END_TEST

START_TEST(next_beyond_queue)
{
	*desc(0) = (struct vring_desc){ BUF_GPA, 1, VRING_DESC_F_NEXT, QSZ };
	publish(0);
	expect_broken();
}
END_TEST

START_TEST(head_beyond_queue)
{
	publish(QSZ + 1);
	expect_broken();
}
END_TEST

START_TEST(nested_indirect)
{
	struct vring_desc *t = (struct vring_desc *)(mem + IND_GPA);

	t[0] = (struct vring_desc){ IND_GPA, 16, VRING_DESC_F_INDIRECT, 0 };
	*desc(0) = (struct vring_desc){ IND_GPA, 16, VRING_DESC_F_INDIRECT, 0 };
	publish(0);
	expect_broken();
}
END_TEST

START_TEST(indirect_loop_and_bad_length)
{
	struct vring_desc *t = (struct vring_desc *)(mem + IND_GPA);

	t[0] = (struct vring_desc){ BUF_GPA, 1, VRING_DESC_F_NEXT, 1 };
	t[1] = (struct vring_desc){ BUF_GPA, 1, VRING_DESC_F_NEXT, 0 };
	*desc(0) = (struct vring_desc){ IND_GPA, 32, VRING_DESC_F_INDIRECT, 0 };
	publish(0);
	expect_broken();
	teardown();
	setup();
	*desc(0) = (struct vring_desc){ IND_GPA, 20, VRING_DESC_F_INDIRECT, 0 }; /* not a multiple of 16 */
	publish(0);
	expect_broken();
}
END_TEST

START_TEST(readable_after_writable)
{
	*desc(0) = (struct vring_desc){ BUF_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1 };
	*desc(1) = (struct vring_desc){ BUF_GPA, 8, 0, 0 };
	publish(0);
	expect_broken();
}
END_TEST

START_TEST(avail_index_jump)
{
	avail()->idx = QSZ + 1;
	expect_broken();
}
END_TEST

START_TEST(event_index)
{
	vq_init(&q, QSZ, mem + DESC_GPA, mem + AVAIL_GPA, mem + USED_GPA, 0, true, xlate, NULL);
	*desc(0) = (struct vring_desc){ BUF_GPA, 8, 0, 0 };
	for (int i = 0; i < 3; i++) {
		publish(0);
		ck_assert_int_eq(vq_pop(&q, &e), 1);
		vq_push(&q, &e, 0);
	}
	/* avail_event (after the used ring) tells the driver how far we read. */
	ck_assert_uint_eq(*(uint16_t *)&used()->ring[QSZ], 3);
	/* used_event = 1: the driver wants an interrupt once used passes 1. */
	avail()->ring[QSZ] = 1;
	ck_assert(vq_should_notify(&q)); /* first time: always */
	publish(0);
	ck_assert_int_eq(vq_pop(&q, &e), 1);
	vq_push(&q, &e, 0);
	ck_assert(!vq_should_notify(&q)); /* 3 → 4 does not cross used_event 1 */
	avail()->ring[QSZ] = 4;
	publish(0);
	ck_assert_int_eq(vq_pop(&q, &e), 1);
	vq_push(&q, &e, 0);
	ck_assert(vq_should_notify(&q)); /* 4 → 5 crosses used_event 4 */
}
END_TEST

static Suite *virtq_suite(void)
{
	Suite *s = suite_create("virtq");
	TCase *tc = tcase_create("good");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, simple_chain);
	tcase_add_test(tc, indirect_table);
	tcase_add_test(tc, event_index);
	suite_add_tcase(s, tc);
	tc = tcase_create("hostile");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, outside_memory);
	tcase_add_test(tc, address_overflow);
	tcase_add_test(tc, chain_loop);
	tcase_add_test(tc, next_beyond_queue);
	tcase_add_test(tc, head_beyond_queue);
	tcase_add_test(tc, nested_indirect);
	tcase_add_test(tc, indirect_loop_and_bad_length);
	tcase_add_test(tc, indirect_table_past_a_files_end);
	tcase_add_test(tc, readable_after_writable);
	tcase_add_test(tc, avail_index_jump);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(virtq_suite)
