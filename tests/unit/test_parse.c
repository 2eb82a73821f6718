// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "util/parse.h"

#include "check_main.h"

START_TEST(size_suffixes)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 },
		{ "4096", 4096 },
		{ "64K", 64ULL << 10 },
		{ "64k", 64ULL << 10 },
		{ "512M", 512ULL << 20 },
		{ "512MiB", 512ULL << 20 },
		{ "512MB", 512ULL << 20 },
		{ "2G", 2ULL << 30 },
		{ "1T", 1ULL << 40 },
		{ "100B", 100 },
		{ "16777215T", 16777215ULL << 40 },
		{ "18446744073709551615", UINT64_MAX },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t v = 1;

		ck_assert_msg(parse_size(ok[i].s, &v) == 0, "%s", ok[i].s);
		ck_assert_uint_eq(v, ok[i].v);
	}
}
END_TEST

START_TEST(size_rejects)
{
	static const char *const bad[] = {
		"", "M", "-1", " 1", "1 ", "1X", "1MM", "1Mi", "1KiBx", "0x10", "1.5G", "+1", "1BiB",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t v = 7;

		ck_assert_msg(parse_size(bad[i], &v) == -EINVAL, "'%s'", bad[i]);
		ck_assert_uint_eq(v, 7);
	}
	uint64_t v;
	ck_assert_int_eq(parse_size(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(size_overflow)
{
	uint64_t v;

	ck_assert_int_eq(parse_size("18446744073709551616", &v), -ERANGE);
	ck_assert_int_eq(parse_size("16777216T", &v), -ERANGE);
	ck_assert_int_eq(parse_size("17179869184G", &v), -ERANGE);
	ck_assert_int_eq(parse_size("17179869183G", &v), 0);
}
END_TEST

START_TEST(u64_ranges)
{
	uint64_t v;

	ck_assert_int_eq(parse_u64("1", 1, 255, &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(parse_u64("255", 1, 255, &v), 0);
	ck_assert_int_eq(parse_u64("0x1f", 0, 255, &v), 0);
	ck_assert_uint_eq(v, 31);
	ck_assert_int_eq(parse_u64("0", 1, 255, &v), -ERANGE);
	ck_assert_int_eq(parse_u64("256", 1, 255, &v), -ERANGE);
	ck_assert_int_eq(parse_u64("0x", 0, 255, &v), -EINVAL);
	ck_assert_int_eq(parse_u64("12a", 0, 255, &v), -EINVAL);
	ck_assert_int_eq(parse_u64("-1", 0, 255, &v), -EINVAL);
	ck_assert_int_eq(parse_u64("", 0, 255, &v), -EINVAL);
}
END_TEST

static Suite *parse_suite(void)
{
	Suite *s = suite_create("parse");
	TCase *tc = tcase_create("size");

	tcase_add_test(tc, size_suffixes);
	tcase_add_test(tc, size_rejects);
	tcase_add_test(tc, size_overflow);
	suite_add_tcase(s, tc);
	tc = tcase_create("u64");
	tcase_add_test(tc, u64_ranges);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(parse_suite)
