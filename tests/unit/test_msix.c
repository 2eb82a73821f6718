// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/msix.h"

#include "check_main.h"

struct owner {
	int updates, signals;
	struct msix_msg msg[8], last_signal;
	bool masked[8];
	bool irqfd_pending[8];
};

static void o_update(void *opaque, unsigned int v, const struct msix_msg *msg, bool masked)
{
	struct owner *o = opaque;

	o->updates++;
	ck_assert_uint_lt(v, 8);
	o->msg[v] = *msg;
	o->masked[v] = masked;
}

static bool o_pending(void *opaque, unsigned int v)
{
	struct owner *o = opaque;

	return v < 8 && o->irqfd_pending[v];
}

static void o_signal(void *opaque, const struct msix_msg *msg)
{
	struct owner *o = opaque;

	o->signals++;
	o->last_signal = *msg;
}

static const struct msix_ops ops = { .update = o_update, .pending = o_pending, .signal = o_signal };

static struct msix m;
static struct owner own;

static void setup(void)
{
	memset(&own, 0, sizeof(own));
	ck_assert_int_eq(msix_init(&m, 5, &ops, &own), 0);
}

static void teardown(void)
{
	msix_destroy(&m);
}

static void w32(uint64_t off, uint32_t v)
{
	msix_table_write(&m, off, &v, 4);
}

static uint32_t r32(uint64_t off)
{
	uint32_t v;

	msix_table_read(&m, off, &v, 4);
	return v;
}

START_TEST(sizes_and_control)
{
	ck_assert_uint_eq(msix_table_size(5), 80);
	ck_assert_uint_eq(msix_pba_size(5), 8);
	ck_assert_uint_eq(msix_pba_size(64), 8);
	ck_assert_uint_eq(msix_pba_size(65), 16);
	ck_assert_uint_eq(msix_control_read(&m), 4); /* table size N-1, disabled */
	msix_control_write(&m, MSIX_CTRL_ENABLE | MSIX_CTRL_FUNC_MASK | 0x7ff);
	ck_assert_uint_eq(msix_control_read(&m), MSIX_CTRL_ENABLE | MSIX_CTRL_FUNC_MASK | 4);
	ck_assert_int_eq(msix_init(&(struct msix){ 0 }, 0, &ops, NULL), -EINVAL);
	ck_assert_int_eq(msix_init(&(struct msix){ 0 }, MSIX_MAX_VECTORS + 1, &ops, NULL), -EINVAL);
}
END_TEST

START_TEST(table_rw_and_routing)
{
	ck_assert_uint_eq(r32(12), MSIX_ENTRY_CTRL_MASKED); /* reset: masked */
	w32(16 + 0, 0xfee00003);                            /* vector 1, low bits forced 0 */
	w32(16 + 4, 0);
	w32(16 + 8, 0x4041);
	ck_assert_uint_eq(r32(16), 0xfee00000);
	ck_assert_uint_eq(r32(24), 0x4041);
	/* Not enabled yet: the vector stays masked whatever its entry says. */
	w32(16 + 12, 0);
	ck_assert(msix_is_masked(&m, 1));
	msix_control_write(&m, MSIX_CTRL_ENABLE);
	ck_assert(!msix_is_masked(&m, 1));
	ck_assert(!own.masked[1]);
	ck_assert(own.masked[0]);
	ck_assert_uint_eq(own.msg[1].addr, 0xfee00000);
	ck_assert_uint_eq(own.msg[1].data, 0x4041);
	/* Function mask masks every vector; lifting it unmasks again. */
	msix_control_write(&m, MSIX_CTRL_ENABLE | MSIX_CTRL_FUNC_MASK);
	ck_assert(msix_is_masked(&m, 1));
	ck_assert(own.masked[1]);
	msix_control_write(&m, MSIX_CTRL_ENABLE);
	ck_assert(!msix_is_masked(&m, 1));
	/* 64-bit access reads addr_lo|addr_hi. */
	uint64_t q;
	msix_table_read(&m, 16, &q, 8);
	ck_assert_uint_eq(q, 0xfee00000);
}
END_TEST

START_TEST(unchanged_state_not_pushed)
{
	msix_control_write(&m, MSIX_CTRL_ENABLE);
	int before = own.updates;
	w32(12, MSIX_ENTRY_CTRL_MASKED); /* same as before: still masked */
	ck_assert_int_eq(own.updates, before);
	w32(12, 0);
	ck_assert_int_eq(own.updates, before + 1);
}
END_TEST

START_TEST(pending_bits)
{
	uint64_t pba;

	msix_control_write(&m, MSIX_CTRL_ENABLE);
	w32(2 * 16 + 8, 0x77);
	/* A VMM-originated interrupt on a masked vector is held, then delivered on unmask. */
	msix_notify(&m, 2);
	ck_assert_int_eq(own.signals, 0);
	msix_pba_read(&m, 0, &pba, 8);
	ck_assert_uint_eq(pba, 1u << 2);
	w32(2 * 16 + 12, 0);
	ck_assert_int_eq(own.signals, 1);
	ck_assert_uint_eq(own.last_signal.data, 0x77);
	msix_pba_read(&m, 0, &pba, 8);
	ck_assert_uint_eq(pba, 0);
	/* Unmasked: delivered at once. */
	msix_notify(&m, 2);
	ck_assert_int_eq(own.signals, 2);
	/* An irqfd-side pending interrupt on a masked vector shows in the PBA. */
	own.irqfd_pending[4] = true;
	msix_pba_read(&m, 0, &pba, 8);
	ck_assert_uint_eq(pba, 1u << 4);
	msix_notify(&m, 99); /* out of range: ignored */
}
END_TEST

START_TEST(bad_accesses)
{
	uint8_t b = 0xaa;
	uint16_t h = 0xbbbb;
	uint32_t v = 0x12345678;

	msix_table_write(&m, 0, &b, 1);      /* byte: ignored */
	msix_table_write(&m, 2, &v, 4);      /* misaligned: ignored */
	msix_table_write(&m, 5 * 16, &v, 4); /* past the table: ignored */
	msix_table_write(&m, UINT64_MAX - 3, &v, 4);
	ck_assert_uint_eq(r32(0), 0);
	msix_table_read(&m, 0, &h, 2);
	ck_assert_uint_eq(h, 0);
	msix_pba_read(&m, 8, &v, 4); /* past the PBA */
	ck_assert_uint_eq(v, 0);
}
END_TEST

START_TEST(reset_masks_everything)
{
	msix_control_write(&m, MSIX_CTRL_ENABLE);
	w32(12, 0);
	w32(8, 0x55);
	msix_notify(&m, 3);
	msix_reset(&m);
	ck_assert(msix_is_masked(&m, 0));
	ck_assert_uint_eq(r32(8), 0);
	ck_assert_uint_eq(r32(12), MSIX_ENTRY_CTRL_MASKED);
	ck_assert_uint_eq(msix_control_read(&m), 4);
	uint64_t pba;
	msix_pba_read(&m, 0, &pba, 8);
	ck_assert_uint_eq(pba, 0);
}
END_TEST

static Suite *msix_suite(void)
{
	Suite *s = suite_create("msix");
	TCase *tc = tcase_create("msix");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sizes_and_control);
	tcase_add_test(tc, table_rw_and_routing);
	tcase_add_test(tc, unchanged_state_not_pushed);
	tcase_add_test(tc, pending_bits);
	tcase_add_test(tc, bad_accesses);
	tcase_add_test(tc, reset_masks_everything);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(msix_suite)
