// SPDX-License-Identifier: GPL-2.0-only
/* util/u64map: the basics, growth, and random operations against a model. */
#include <check.h>
#include <stdlib.h>

#include "check_main.h"
#include "util/u64map.h"

START_TEST(basics)
{
	struct u64map m = { 0 };
	uint64_t v = 0;

	ck_assert(!u64map_get(&m, 7, &v));
	ck_assert(!u64map_take(&m, 7, NULL));
	ck_assert_int_eq(u64map_put(&m, 7, 70), 0);
	ck_assert_int_eq(u64map_put(&m, 0, 1), 0); /* 0 is a key like any other */
	ck_assert_int_eq(u64map_put(&m, UINT64_MAX, 2), 0);
	ck_assert(u64map_get(&m, 7, &v) && v == 70);
	ck_assert_int_eq(u64map_put(&m, 7, 71), 0); /* replace */
	ck_assert_uint_eq(m.count, 3);
	ck_assert(u64map_take(&m, 7, &v) && v == 71);
	ck_assert(!u64map_get(&m, 7, &v));
	ck_assert(u64map_get(&m, 0, &v) && v == 1);
	ck_assert(u64map_get(&m, UINT64_MAX, &v) && v == 2);
	ck_assert_uint_eq(m.count, 2);
	u64map_destroy(&m);
	ck_assert_ptr_null(m.slots);
}
END_TEST

/*
 * 200,000 random puts and takes over 4,096 keys (offsets: multiples of a
 * page, as the callers use, so many share their low bits) against a plain
 * array: every get agrees, through growth and backward-shift deletions.
 */
START_TEST(against_a_model)
{
	enum { KEYS = 4096 };
	static uint64_t model[KEYS];
	static bool present[KEYS];
	struct u64map m = { 0 };
	uint32_t x = 2463534242u;
	unsigned int n = 0;

	for (unsigned int i = 0; i < 200000; i++) {
		unsigned int k;
		uint64_t v;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		k = x % KEYS;
		if (x & 0x100) {
			ck_assert_int_eq(u64map_put(&m, (uint64_t)k << 12, i), 0);
			n += !present[k];
			present[k] = true;
			model[k] = i;
		} else {
			ck_assert(u64map_take(&m, (uint64_t)k << 12, &v) == present[k]);
			if (present[k])
				ck_assert_uint_eq(v, model[k]);
			n -= present[k];
			present[k] = false;
		}
		if (i % 1000 == 0)
			for (unsigned int j = 0; j < KEYS; j++) {
				bool there = u64map_get(&m, (uint64_t)j << 12, &v);

				ck_assert(there == present[j]);
				if (there)
					ck_assert_uint_eq(v, model[j]);
			}
		ck_assert_uint_eq(m.count, n);
		ck_assert_uint_le(2 * m.count, m.mask + 1); /* at most half full */
	}
	u64map_destroy(&m);
}
END_TEST

static Suite *u64map_suite(void)
{
	Suite *s = suite_create("u64map");
	TCase *tc = tcase_create("u64map");

	tcase_add_test(tc, basics);
	tcase_add_test(tc, against_a_model);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(u64map_suite)
