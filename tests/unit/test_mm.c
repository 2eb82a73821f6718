// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm/bus.h"
#include "mm/guest_mem.h"
#include "mm/memslot.h"

#include "check_main.h"

/* ---- guest RAM layout and translation ---- */

START_TEST(layout_small)
{
	struct mem_region r[MEM_MAX_REGIONS];
	unsigned int n;

	ck_assert_int_eq(mem_layout(512 * MiB, r, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(r[0].gpa, 0);
	ck_assert_uint_eq(r[0].size, 512 * MiB);
}
END_TEST

START_TEST(layout_exactly_hole)
{
	struct mem_region r[MEM_MAX_REGIONS];
	unsigned int n;

	ck_assert_int_eq(mem_layout(MEM_HOLE_START, r, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(mem_layout(MEM_HOLE_START + 4096, r, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(r[1].gpa, MEM_HOLE_END);
	ck_assert_uint_eq(r[1].size, 4096);
	ck_assert_uint_eq(r[1].offset, MEM_HOLE_START);
}
END_TEST

START_TEST(layout_rejects)
{
	struct mem_region r[MEM_MAX_REGIONS];
	unsigned int n;

	ck_assert_int_eq(mem_layout(0, r, &n), -EINVAL);
	ck_assert_int_eq(mem_layout(MEM_MIN_SIZE - 4096, r, &n), -EINVAL);
	ck_assert_int_eq(mem_layout(64 * MiB + 1, r, &n), -EINVAL);
	ck_assert_int_eq(mem_layout(UINT64_MAX & ~4095ULL, r, &n), -ERANGE);
}
END_TEST

START_TEST(gpa_translation)
{
	struct guest_mem m;

	ck_assert_int_eq(mem_create(&m, 32 * MiB), 0);
	ck_assert_ptr_eq(mem_gpa_to_hva(&m, 0, 1), m.hva);
	ck_assert_ptr_eq(mem_gpa_to_hva(&m, 32 * MiB - 8, 8), m.hva + 32 * MiB - 8);
	ck_assert_ptr_null(mem_gpa_to_hva(&m, 32 * MiB - 8, 9));
	ck_assert_ptr_null(mem_gpa_to_hva(&m, 32 * MiB, 1));
	ck_assert_ptr_null(mem_gpa_to_hva(&m, 16, UINT64_MAX));
	ck_assert_ptr_null(mem_gpa_to_hva(&m, UINT64_MAX, 2));
	ck_assert_uint_eq(mem_end(&m), 32 * MiB);
	mem_destroy(&m);
	mem_destroy(&m);
}
END_TEST

START_TEST(gpa_translation_above_hole)
{
	struct guest_mem m = { .size = MEM_HOLE_START + 64 * MiB, .hva = (uint8_t *)0x10000 };

	ck_assert_int_eq(mem_layout(m.size, m.regions, &m.nr_regions), 0);
	ck_assert_ptr_eq(mem_gpa_to_hva(&m, MEM_HOLE_END, 4), m.hva + MEM_HOLE_START);
	ck_assert_ptr_null(mem_gpa_to_hva(&m, MEM_HOLE_START - 2, 4)); /* straddles the hole */
	ck_assert_ptr_null(mem_gpa_to_hva(&m, MEM_HOLE_START, 1));
	ck_assert_uint_eq(mem_end(&m), MEM_HOLE_END + 64 * MiB);
}
END_TEST

/* ---- memslot allocator against a fake "KVM" ---- */

struct fake_kvm {
	int calls;
	int fail_at; /* fail the nth call (1-based), 0 = never */
	uint64_t gpa[8], size[8];
};

static int fake_set(void *opaque, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		    void *hva)
{
	struct fake_kvm *k = opaque;

	(void)flags;
	(void)hva;
	if (++k->calls == k->fail_at)
		return -ENOMEM;
	if (slot < 8) {
		k->gpa[slot] = gpa;
		k->size[slot] = size;
	}
	return 0;
}

static const struct memslot_ops fake_ops = { .set = fake_set };

START_TEST(memslot_lowest_free)
{
	struct fake_kvm k = { 0 };
	struct memslot_table t;
	uint32_t a, b, c;

	ck_assert_int_eq(memslot_table_init(&t, 3, &fake_ops, &k), 0);
	ck_assert_int_eq(memslot_add(&t, 0x1000, 0x1000, NULL, 0, &a), 0);
	ck_assert_int_eq(memslot_add(&t, 0x2000, 0x1000, NULL, 0, &b), 0);
	ck_assert_int_eq(memslot_add(&t, 0x3000, 0x1000, NULL, 0, &c), 0);
	ck_assert_uint_eq(a, 0);
	ck_assert_uint_eq(b, 1);
	ck_assert_uint_eq(c, 2);
	ck_assert_int_eq(memslot_add(&t, 0x4000, 0x1000, NULL, 0, &c), -ENOSPC);
	ck_assert_int_eq(memslot_del(&t, 1), 0);
	ck_assert_uint_eq(k.size[1], 0);
	ck_assert_int_eq(memslot_del(&t, 1), -ENOENT);
	ck_assert_int_eq(memslot_add(&t, 0x5000, 0x1000, NULL, 0, &c), 0);
	ck_assert_uint_eq(c, 1);
	ck_assert_uint_eq(memslot_count(&t), 3);
	ck_assert_int_eq(memslot_del(&t, 3), -ENOENT);
	memslot_table_destroy(&t);
}
END_TEST

START_TEST(memslot_failure_leaves_nothing)
{
	struct fake_kvm k = { .fail_at = 1 };
	struct memslot_table t;
	uint32_t s;

	ck_assert_int_eq(memslot_table_init(&t, 100, &fake_ops, &k), 0);
	ck_assert_int_eq(memslot_add(&t, 0x1000, 0x1000, NULL, 0, &s), -ENOMEM);
	ck_assert_uint_eq(memslot_count(&t), 0);
	ck_assert_int_eq(memslot_add(&t, 0x1000, 0x1000, NULL, 0, &s), 0);
	ck_assert_uint_eq(s, 0);
	ck_assert_int_eq(memslot_add(&t, 0x1000, 0, NULL, 0, &s), -EINVAL);
	memslot_table_destroy(&t);
}
END_TEST

START_TEST(memslot_move_slot)
{
	struct fake_kvm k = { 0 };
	struct memslot_table t;
	uint32_t s;

	ck_assert_int_eq(memslot_table_init(&t, 64, &fake_ops, &k), 0);
	ck_assert_int_eq(memslot_add(&t, 0x1000, 0x2000, NULL, 0, &s), 0);
	ck_assert_int_eq(memslot_move(&t, s, 0x1000, 0x8000, 0x2000, NULL, 0), 0);
	ck_assert_uint_eq(k.gpa[s], 0x8000);
	ck_assert_uint_eq(k.size[s], 0x2000);
	k.fail_at = k.calls + 2; /* re-creation fails */
	ck_assert_int_eq(memslot_move(&t, s, 0x8000, 0x9000, 0x2000, NULL, 0), -ENOMEM);
	ck_assert_uint_eq(memslot_count(&t), 0);
	ck_assert_int_eq(memslot_move(&t, 63, 0, 0, 1, NULL, 0), -ENOENT);
	memslot_table_destroy(&t);
}
END_TEST

/* ---- bus dispatch ---- */

struct dev {
	uint64_t last_off;
	uint8_t reg[16];
};

static void dev_read(void *d, uint64_t off, void *data, uint32_t len)
{
	struct dev *dv = d;

	dv->last_off = off;
	memcpy(data, &dv->reg[off], len);
}

static void dev_write(void *d, uint64_t off, const void *data, uint32_t len)
{
	struct dev *dv = d;

	dv->last_off = off;
	memcpy(&dv->reg[off], data, len);
}

static const struct bus_ops dev_ops = { .read = dev_read, .write = dev_write };

START_TEST(bus_dispatch)
{
	struct bus b;
	struct dev d1 = { 0 }, d2 = { 0 };
	uint32_t v = 0x11223344, r = 0;

	bus_init(&b, "test");
	ck_assert_int_eq(bus_register(&b, 0x100, 16, &dev_ops, &d1), 0);
	ck_assert_int_eq(bus_register(&b, 0x110, 16, &dev_ops, &d2), 0);
	ck_assert_int_eq(bus_register(&b, 0x10f, 2, &dev_ops, &d2), -EEXIST);
	ck_assert_int_eq(bus_register(&b, 0xf0, 0x11, &dev_ops, &d2), -EEXIST);
	ck_assert_int_eq(bus_register(&b, 0x50, 0, &dev_ops, &d2), -EINVAL);
	ck_assert_int_eq(bus_register(&b, UINT64_MAX, 2, &dev_ops, &d2), -EINVAL);
	ck_assert(bus_write(&b, 0x114, &v, 4));
	ck_assert_uint_eq(d2.last_off, 4);
	ck_assert(bus_read(&b, 0x114, &r, 4));
	ck_assert_uint_eq(r, v);
	ck_assert(!bus_read(&b, 0x10e, &r, 4)); /* straddles two devices */
	ck_assert(!bus_read(&b, 0x120, &r, 1));
	ck_assert(!bus_read(&b, 0xff, &r, 1));
	ck_assert(!bus_read(&b, 0x100, &r, 0));
	ck_assert(bus_read(&b, 0x10f, &r, 1));
	ck_assert_int_eq(bus_unregister(&b, 0x110, &d1), -ENOENT);
	ck_assert_int_eq(bus_unregister(&b, 0x110, &d2), 0);
	ck_assert(!bus_read(&b, 0x114, &r, 4));
	bus_destroy(&b);
}
END_TEST

START_TEST(bus_many_sorted)
{
	struct bus b;
	struct dev d[64];
	uint8_t x;

	bus_init(&b, "test");
	/* Insert in a scrambled order; lookups must still find each. */
	for (unsigned int i = 0; i < 64; i++) {
		unsigned int j = (i * 37) % 64;

		ck_assert_int_eq(bus_register(&b, 0x1000 + j * 0x10, 0x10, &dev_ops, &d[j]), 0);
	}
	for (unsigned int j = 0; j < 64; j++) {
		ck_assert(bus_read(&b, 0x1000 + j * 0x10 + 3, &x, 1));
		ck_assert_uint_eq(d[j].last_off, 3);
	}
	bus_destroy(&b);
}
END_TEST

static Suite *mm_suite(void)
{
	Suite *s = suite_create("mm");
	TCase *tc;

	tc = tcase_create("guest_mem");
	tcase_add_test(tc, layout_small);
	tcase_add_test(tc, layout_exactly_hole);
	tcase_add_test(tc, layout_rejects);
	tcase_add_test(tc, gpa_translation);
	tcase_add_test(tc, gpa_translation_above_hole);
	suite_add_tcase(s, tc);

	tc = tcase_create("memslot");
	tcase_add_test(tc, memslot_lowest_free);
	tcase_add_test(tc, memslot_failure_leaves_nothing);
	tcase_add_test(tc, memslot_move_slot);
	suite_add_tcase(s, tc);

	tc = tcase_create("bus");
	tcase_add_test(tc, bus_dispatch);
	tcase_add_test(tc, bus_many_sorted);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(mm_suite)
