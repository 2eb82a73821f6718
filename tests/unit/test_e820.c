// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm/guest_mem.h"
#include "vmm/e820.h"

#include "check_main.h"

/* A layout-only guest_mem: e820 never touches RAM. */
static struct guest_mem fake_mem(uint64_t size)
{
	struct guest_mem m = {.fd = -1, .size = size};

	ck_assert_int_eq(mem_layout(size, m.regions, &m.nr_regions), 0);
	return m;
}

static void check_sorted_disjoint(const struct e820_table *t)
{
	for (unsigned int i = 0; i < t->nr; i++) {
		ck_assert_uint_gt(t->e[i].size, 0);
		if (i > 0)
			ck_assert_uint_le(t->e[i - 1].addr + t->e[i - 1].size, t->e[i].addr);
	}
}

START_TEST(e820_small)
{
	struct guest_mem m = fake_mem(64 * MiB);
	struct e820_table t;

	ck_assert_int_eq(e820_build(&m, &t), 0);
	ck_assert_uint_eq(t.nr, 3);
	ck_assert_uint_eq(t.e[0].addr, 0);
	ck_assert_uint_eq(t.e[0].size, 0x9fc00);
	ck_assert_uint_eq(t.e[0].type, E820_RAM);
	ck_assert_uint_eq(t.e[1].addr, 0x9fc00);
	ck_assert_uint_eq(t.e[1].size, 0x100000 - 0x9fc00);
	ck_assert_uint_eq(t.e[1].type, E820_RESERVED);
	ck_assert_uint_eq(t.e[2].addr, 0x100000);
	ck_assert_uint_eq(t.e[2].size, 63 * MiB);
	ck_assert_uint_eq(t.e[2].type, E820_RAM);
	check_sorted_disjoint(&t);
}
END_TEST

START_TEST(e820_above_hole)
{
	struct guest_mem m = fake_mem(4 * GiB);
	struct e820_table t;
	uint64_t ram = 0;

	ck_assert_int_eq(e820_build(&m, &t), 0);
	ck_assert_uint_eq(t.nr, 4);
	ck_assert_uint_eq(t.e[2].addr, 0x100000);
	ck_assert_uint_eq(t.e[2].addr + t.e[2].size, 3 * GiB);
	ck_assert_uint_eq(t.e[3].addr, 4 * GiB);
	ck_assert_uint_eq(t.e[3].size, 1 * GiB);
	ck_assert_uint_eq(t.e[3].type, E820_RAM);
	check_sorted_disjoint(&t);
	/* All RAM but the reserved low range is reported. */
	for (unsigned int i = 0; i < t.nr; i++)
		if (t.e[i].type == E820_RAM)
			ram += t.e[i].size;
	ck_assert_uint_eq(ram, 4 * GiB - (0x100000 - 0x9fc00));
	/* Nothing in the PCI hole. */
	for (unsigned int i = 0; i < t.nr; i++)
		ck_assert(t.e[i].addr + t.e[i].size <= MEM_HOLE_START ||
			  t.e[i].addr >= MEM_HOLE_END);
}
END_TEST

START_TEST(e820_exactly_low)
{
	struct guest_mem m = fake_mem(MEM_HOLE_START);
	struct e820_table t;

	ck_assert_int_eq(e820_build(&m, &t), 0);
	ck_assert_uint_eq(t.nr, 3);
	ck_assert_uint_eq(t.e[2].addr + t.e[2].size, MEM_HOLE_START);
}
END_TEST

START_TEST(e820_rejects_bad_layout)
{
	struct guest_mem m = {.nr_regions = 0};
	struct e820_table t;

	ck_assert_int_eq(e820_build(&m, &t), -EINVAL);
	m.nr_regions = 2;
	m.regions[0] = (struct mem_region){.gpa = 0, .size = 64 * MiB};
	m.regions[1] = (struct mem_region){.gpa = 32 * MiB, .size = 64 * MiB};
	ck_assert_int_eq(e820_build(&m, &t), -EINVAL);
}
END_TEST

static Suite *e820_suite(void)
{
	Suite *s = suite_create("e820");
	TCase *tc = tcase_create("build");

	tcase_add_test(tc, e820_small);
	tcase_add_test(tc, e820_above_hole);
	tcase_add_test(tc, e820_exactly_low);
	tcase_add_test(tc, e820_rejects_bad_layout);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(e820_suite)
