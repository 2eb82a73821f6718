// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <stdlib.h>
#include <string.h>

#include "pci/virtio_common.h"

#include "check_main.h"

struct dev {
	int resets, driver_oks, vec_changes;
	uint64_t offered_features;
	int refuse;
	int last_vec_queue;
	uint16_t last_vec;
};

static int d_features_ok(void *o, uint64_t f)
{
	struct dev *d = o;

	d->offered_features = f;
	return d->refuse;
}

static void d_driver_ok(void *o)
{
	((struct dev *)o)->driver_oks++;
}

static void d_reset(void *o)
{
	((struct dev *)o)->resets++;
}

static void d_vec(void *o, int q, uint16_t v)
{
	struct dev *d = o;

	d->vec_changes++;
	d->last_vec_queue = q;
	d->last_vec = v;
}

static const struct virtio_common_ops ops = {
	.features_ok = d_features_ok,
	.driver_ok = d_driver_ok,
	.reset = d_reset,
	.vector_changed = d_vec,
};

static struct virtio_common vc;
static struct dev dev;

static void setup(void)
{
	static const uint16_t sizes[2] = { 256, 128 };

	memset(&dev, 0, sizeof(dev));
	ck_assert_int_eq(virtio_common_init(&vc, 1ULL << 3, 2, sizes, &ops, &dev), 0);
}

static void teardown(void)
{
	virtio_common_destroy(&vc);
}

static uint32_t rd(uint64_t off, uint32_t len)
{
	uint32_t v = 0;

	virtio_common_read(&vc, off, &v, len);
	return v;
}

static void wr(uint64_t off, uint32_t len, uint32_t v)
{
	virtio_common_write(&vc, off, &v, len);
}

START_TEST(features)
{
	wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_DF, 4), 1u << 3);
	wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_DF, 4), 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 7);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_DF, 4), 0);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_NUMQ, 2), 2);
}
END_TEST

static void negotiate(uint32_t lo, uint32_t hi)
{
	wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(VIRTIO_PCI_COMMON_GF, 4, lo);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(VIRTIO_PCI_COMMON_GF, 4, hi);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, rd(VIRTIO_PCI_COMMON_STATUS, 1) | VIRTIO_CONFIG_S_FEATURES_OK);
}

START_TEST(features_ok_granted)
{
	negotiate(1u << 3, 1u << (VIRTIO_F_VERSION_1 - 32));
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK,
			  VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert_uint_eq(dev.offered_features, (1ULL << 3) | (1ULL << VIRTIO_F_VERSION_1));
	/* Features are frozen after FEATURES_OK. */
	wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(VIRTIO_PCI_COMMON_GF, 4, 0);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_GF, 4), 1u << 3);
}
END_TEST

START_TEST(features_ok_refused)
{
	negotiate(1u << 3, 0); /* no VERSION_1: a legacy driver */
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	negotiate(1u << 5, 1u << (VIRTIO_F_VERSION_1 - 32)); /* a feature not offered */
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	dev.refuse = -EINVAL; /* the device (backend) says no */
	negotiate(0, 1u << (VIRTIO_F_VERSION_1 - 32));
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	/* DRIVER_OK without FEATURES_OK is not accepted. */
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0x0f);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_DRIVER_OK, 0);
	ck_assert_int_eq(dev.driver_oks, 0);
}
END_TEST

START_TEST(queue_setup_and_driver_ok)
{
	struct virtio_queue_cfg q;

	negotiate(0, 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 128);
	wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 100); /* not a power of two */
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 128);
	wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 256); /* above max */
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 128);
	wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 64);
	wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x1000);
	wr(VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0x1);
	uint64_t avail = 0x2000;
	virtio_common_write(&vc, VIRTIO_PCI_COMMON_Q_AVAILLO, &avail, 8);
	wr(VIRTIO_PCI_COMMON_Q_USEDLO, 4, 0x3000);
	wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, 3);
	ck_assert_int_eq(dev.last_vec_queue, 1);
	ck_assert_uint_eq(dev.last_vec, 3);
	wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_Q_NOFF, 2), 1);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, rd(VIRTIO_PCI_COMMON_STATUS, 1) | VIRTIO_CONFIG_S_DRIVER_OK);
	ck_assert_int_eq(dev.driver_oks, 1);
	ck_assert(virtio_common_queue(&vc, 1, &q));
	ck_assert_uint_eq(q.size, 64);
	ck_assert_uint_eq(q.desc, 0x100001000ULL);
	ck_assert_uint_eq(q.avail, 0x2000);
	ck_assert_uint_eq(q.used, 0x3000);
	ck_assert(q.enabled);
	ck_assert_uint_eq(q.msix_vector, 3);
	/* Frozen while live; a non-existent queue reads size 0. */
	wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x9000);
	ck_assert(virtio_common_queue(&vc, 1, &q));
	ck_assert_uint_eq(q.desc, 0x100001000ULL);
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 5);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	ck_assert(!virtio_common_queue(&vc, 5, &q));
	/* Setting DRIVER_OK again does not restart the device. */
	wr(VIRTIO_PCI_COMMON_STATUS, 1, rd(VIRTIO_PCI_COMMON_STATUS, 1));
	ck_assert_int_eq(dev.driver_oks, 1);
}
END_TEST

START_TEST(reset_clears)
{
	struct virtio_queue_cfg q;

	negotiate(0, 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	wr(VIRTIO_PCI_COMMON_MSIX, 2, 0);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	ck_assert_int_eq(dev.resets, 1);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_NO_VECTOR);
	ck_assert(virtio_common_queue(&vc, 0, &q));
	ck_assert(!q.enabled);
	ck_assert_uint_eq(q.size, 256);
}
END_TEST

START_TEST(needs_reset_and_generation)
{
	negotiate(0, 1u << (VIRTIO_F_VERSION_1 - 32));
	virtio_common_set_needs_reset(&vc);
	ck_assert(rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* The driver cannot clear it except by a reset. */
	wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	ck_assert(rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0);
	uint8_t g = (uint8_t)rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1);
	virtio_common_config_changed(&vc);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_CFGGENERATION, 1), (uint8_t)(g + 1));
}
END_TEST

START_TEST(bad_accesses)
{
	/* Wrong widths and offsets are ignored and read as zero. */
	wr(VIRTIO_PCI_COMMON_STATUS, 4, 0xffffffff);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_STATUS, 1), 0);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_DF, 2), 0);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_Q_SIZE + 1, 1), 0);
	ck_assert_uint_eq(rd(0x1000, 4), 0);
	wr(UINT64_MAX - 1, 2, 1);
	static const uint16_t bad[1] = { 100 };
	struct virtio_common x;
	ck_assert_int_eq(virtio_common_init(&x, 0, 1, bad, &ops, NULL), -EINVAL);
	ck_assert_int_eq(virtio_common_init(&x, 0, 0, bad, &ops, NULL), -EINVAL);
}
END_TEST

/* Vectors past the MSI-X table read back as NO_VECTOR; the device is told so. */
START_TEST(vectors_past_the_table)
{
	vc.nr_vectors = 3;
	wr(VIRTIO_PCI_COMMON_MSIX, 2, 2);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_MSIX, 2), 2);
	wr(VIRTIO_PCI_COMMON_MSIX, 2, 3);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_MSIX, 2), VIRTIO_NO_VECTOR);
	ck_assert_int_eq(dev.last_vec_queue, -1);
	ck_assert_uint_eq(dev.last_vec, VIRTIO_NO_VECTOR);
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	for (uint32_t v = 3; v < 0x10000; v += 0x7ff) {
		wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, v);
		ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_NO_VECTOR);
		ck_assert_int_eq(dev.last_vec_queue, 1);
		ck_assert_uint_eq(dev.last_vec, VIRTIO_NO_VECTOR);
	}
	wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, 0xfffe);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), VIRTIO_NO_VECTOR);
	wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	ck_assert_uint_eq(rd(VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
}
END_TEST

static Suite *virtio_common_suite(void)
{
	Suite *s = suite_create("virtio_common");
	TCase *tc = tcase_create("common_cfg");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, features);
	tcase_add_test(tc, features_ok_granted);
	tcase_add_test(tc, features_ok_refused);
	tcase_add_test(tc, queue_setup_and_driver_ok);
	tcase_add_test(tc, reset_clears);
	tcase_add_test(tc, needs_reset_and_generation);
	tcase_add_test(tc, bad_accesses);
	tcase_add_test(tc, vectors_past_the_table);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(virtio_common_suite)
