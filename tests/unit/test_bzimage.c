// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/guest_mem.h"
#include "util/log.h"
#include "vmm/bzimage.h"
#include "vmm/e820.h"
#include "vmm/x86_boot.h"

#include "tests/unit/boot_images.h"

#include "check_main.h"

/* ---- log capture: rejections must say which file and what ---- */

static char last_log[512];

static void capture(enum log_level level, const char *msg, void *opaque)
{
	(void)level;
	(void)opaque;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void log_setup(void)
{
	last_log[0] = '\0';
	log_set_sink(capture, NULL);
}

static void log_teardown(void)
{
	log_set_sink(NULL, NULL);
}

static void expect_log(const char *what)
{
	ck_assert_msg(strstr(last_log, "vmlinuz") != NULL, "log does not name the file: %s",
		      last_log);
	ck_assert_msg(strstr(last_log, what) != NULL, "log lacks \"%s\": %s", what, last_log);
}

static int parse_spec(const struct bz_spec *s, struct bzimage *bz)
{
	size_t len;
	uint8_t *b = bz_build(s, &len);
	int rc = bzimage_parse("vmlinuz", b, len, bz);

	free(b);
	return rc;
}

START_TEST(parse_good)
{
	struct bzimage bz;

	ck_assert_int_eq(parse_spec(&bz_good, &bz), 0);
	ck_assert_uint_eq(bz.kernel_off, 5 * 512);
	ck_assert_uint_eq(bz.kernel_size, 64 * 1024);
	ck_assert_uint_eq(bz.mem_size, 4 * MiB);
	ck_assert_uint_eq(bz.hdr.version, 0x020f);
	ck_assert_uint_eq(bz.hdr.cmdline_size, 2047);
	ck_assert_uint_eq(bz.hdr.pref_address, 0x1000000);
	ck_assert_uint_eq(bz.hdr_len, sizeof(struct setup_header));
	ck_assert_str_eq(last_log, "");
}
END_TEST

START_TEST(parse_setup_sects_zero)
{
	struct bz_spec s = bz_good;
	struct bzimage bz;

	s.setup_sects = 0;
	ck_assert_int_eq(parse_spec(&s, &bz), 0);
	ck_assert_uint_eq(bz.kernel_off, 5 * 512); /* 0 means 4 */
	s.setup_sects = 30;
	ck_assert_int_eq(parse_spec(&s, &bz), 0);
	ck_assert_uint_eq(bz.kernel_off, 31 * 512);
}
END_TEST

START_TEST(parse_signed_tail)
{
	struct bz_spec s = bz_good;
	struct bzimage bz;

	s.extra = 0x600;
	ck_assert_int_eq(parse_spec(&s, &bz), 0);
	ck_assert_uint_eq(bz.kernel_size, 64 * 1024); /* the signature is not loaded */
}
END_TEST

START_TEST(reject_no_magic)
{
	size_t len;
	uint8_t *b = bz_build(&bz_good, &len);
	struct bzimage bz;

	b[0x205] = 'T';
	ck_assert_int_eq(bzimage_parse("vmlinuz", b, len, &bz), -ENOEXEC);
	expect_log("HdrS");
	free(b);
}
END_TEST

START_TEST(reject_old_protocol)
{
	struct bz_spec s = bz_good;
	struct bzimage bz;

	s.version = 0x020b;
	ck_assert_int_eq(parse_spec(&s, &bz), -ENOEXEC);
	expect_log("2.11");
}
END_TEST

START_TEST(reject_not_64bit)
{
	struct bz_spec s = bz_good;
	struct bzimage bz;

	s.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
	ck_assert_int_eq(parse_spec(&s, &bz), -ENOEXEC);
	expect_log("64-bit");
}
END_TEST

START_TEST(reject_not_loaded_high)
{
	struct bz_spec s = bz_good;
	struct bzimage bz;

	s.loadflags = 0;
	ck_assert_int_eq(parse_spec(&s, &bz), -ENOEXEC);
	expect_log("LOADED_HIGH");
}
END_TEST

START_TEST(reject_truncated)
{
	size_t len;
	uint8_t *b = bz_build(&bz_good, &len);
	struct bzimage bz;

	ck_assert_int_eq(bzimage_parse("vmlinuz", b, len - 1, &bz), -ENOEXEC);
	expect_log("truncated");
	last_log[0] = '\0';
	ck_assert_int_eq(bzimage_parse("vmlinuz", b, 0x240, &bz), -ENOEXEC);
	expect_log("truncated");
	last_log[0] = '\0';
	ck_assert_int_eq(bzimage_parse("vmlinuz", b, 3 * 512, &bz), -ENOEXEC); /* setup cut */
	expect_log("truncated");
	free(b);
}
END_TEST

START_TEST(reject_zero_sizes)
{
	struct bz_spec s = bz_good;
	struct bzimage bz;

	s.init_size = 0;
	ck_assert_int_eq(parse_spec(&s, &bz), -ENOEXEC);
	expect_log("init_size");
	s = bz_good;
	s.syssize_bytes = 0;
	ck_assert_int_eq(parse_spec(&s, &bz), -ENOEXEC);
	expect_log("syssize");
}
END_TEST

START_TEST(reject_short_header)
{
	size_t len;
	uint8_t *b = bz_build(&bz_good, &len);
	struct bzimage bz;

	b[0x201] = 0x20; /* header ends at 0x222: no init_size */
	ck_assert_int_eq(bzimage_parse("vmlinuz", b, len, &bz), -ENOEXEC);
	expect_log("too short");
	free(b);
}
END_TEST

/* ---- placement ---- */

START_TEST(place_kernel)
{
	struct bzimage bz;
	uint64_t a;

	ck_assert_int_eq(parse_spec(&bz_good, &bz), 0);
	ck_assert_int_eq(bzimage_place_kernel("vmlinuz", &bz, 64 * MiB, &a), 0);
	ck_assert_uint_eq(a, 0x1000000);
	/* pref_address + init_size exactly at the end of RAM still fits */
	ck_assert_int_eq(bzimage_place_kernel("vmlinuz", &bz, 20 * MiB, &a), 0);
	ck_assert_uint_eq(a, 0x1000000);
	/* does not fit at pref_address: 1 MiB */
	ck_assert_int_eq(bzimage_place_kernel("vmlinuz", &bz, 20 * MiB - 4096, &a), 0);
	ck_assert_uint_eq(a, 0x100000);
	bz.hdr.relocatable_kernel = 0;
	ck_assert_int_eq(bzimage_place_kernel("vmlinuz", &bz, 64 * MiB, &a), 0);
	ck_assert_uint_eq(a, 0x100000);
	ck_assert_int_eq(bzimage_place_kernel("vmlinuz", &bz, 5 * MiB - 4096, &a), -ENOMEM);
	expect_log("init_size");
}
END_TEST

START_TEST(place_initrd)
{
	struct bzimage bz;
	uint64_t a;

	ck_assert_int_eq(parse_spec(&bz_good, &bz), 0);
	/* As high as possible, page-aligned. */
	ck_assert_int_eq(bzimage_place_initrd("initrd", &bz, 5000, 20 * MiB, 64 * MiB, &a), 0);
	ck_assert_uint_eq(a, 64 * MiB - 8192);
	/* Capped by initrd_addr_max (inclusive last byte). */
	bz.hdr.initrd_addr_max = 32 * MiB - 1;
	ck_assert_int_eq(bzimage_place_initrd("initrd", &bz, 4096, 20 * MiB, 64 * MiB, &a), 0);
	ck_assert_uint_eq(a, 32 * MiB - 4096);
	/* Exactly the room between the kernel end and the cap. */
	ck_assert_int_eq(bzimage_place_initrd("initrd", &bz, 12 * MiB, 20 * MiB, 64 * MiB, &a), 0);
	ck_assert_uint_eq(a, 20 * MiB);
	ck_assert_int_eq(bzimage_place_initrd("initrd", &bz, 12 * MiB + 1, 20 * MiB, 64 * MiB, &a),
			 -ENOMEM);
	ck_assert(strstr(last_log, "initrd does not fit") != NULL);
	ck_assert_int_eq(bzimage_place_initrd("initrd", &bz, 1ULL << 40, 20 * MiB, 64 * MiB, &a),
			 -ENOMEM);
}
END_TEST

/* ---- loading into guest RAM ---- */

static struct guest_mem mem;

static void mem_setup(void)
{
	log_setup();
	ck_assert_int_eq(mem_create(&mem, 64 * MiB), 0);
}

static void mem_teardown(void)
{
	mem_destroy(&mem);
	log_teardown();
}

static const uint8_t *zp(void)
{
	const uint8_t *p = mem_gpa_to_hva(&mem, BOOT_ZERO_PAGE_ADDR, 4096);

	ck_assert_ptr_nonnull(p);
	return p;
}

START_TEST(load_good)
{
	size_t len;
	uint8_t *b = bz_build(&bz_good, &len);
	uint8_t initrd_data[10000];
	struct boot_blob k = {"vmlinuz", b, len}, i = {"initrd", initrd_data, sizeof(initrd_data)};
	struct boot_entry e = {0};
	struct e820_table t;
	struct bzimage bz;
	const uint8_t *p;

	memset(initrd_data, 0x5a, sizeof(initrd_data));
	memset(mem_gpa_to_hva(&mem, BOOT_ZERO_PAGE_ADDR, 4096), 0xcc, 4096); /* must be cleared */
	ck_assert_int_eq(e820_build(&mem, &t), 0);
	ck_assert_int_eq(bzimage_parse("vmlinuz", b, len, &bz), 0);
	ck_assert_int_eq(bzimage_load(&mem, &bz, &k, &i, "console=ttyS0 quiet", &t, &e), 0);

	ck_assert_int_eq(e.mode, BOOT_MODE_LINUX64);
	ck_assert_uint_eq(e.rip, 0x1000200);
	ck_assert_uint_eq(e.rsi, 0x7000);
	/* Kernel bytes at pref_address, from the end of setup. */
	p = mem_gpa_to_hva(&mem, 0x1000000, 64 * 1024);
	ck_assert_mem_eq(p, b + 5 * 512, 64 * 1024);
	/* Initrd at the top of RAM, page-aligned. */
	p = mem_gpa_to_hva(&mem, 64 * MiB - 12288, sizeof(initrd_data));
	ck_assert_mem_eq(p, initrd_data, sizeof(initrd_data));
	/* Zero page, read at the raw boot.rst offsets. */
	p = zp();
	ck_assert_uint_eq(p[0x1f1], 4);
	ck_assert_int_eq(memcmp(p + 0x202, "HdrS", 4), 0);
	ck_assert_uint_eq(p[0x210], 0xff);
	ck_assert_uint_eq(p[0x211] & 1, 1);
	ck_assert_uint_eq(get32(p + 0x214), 0x1000000);
	ck_assert_uint_eq(get32(p + 0x218), 64 * MiB - 12288);
	ck_assert_uint_eq(get32(p + 0x21c), sizeof(initrd_data));
	ck_assert_uint_eq(get32(p + 0x228), 0x20000);
	ck_assert_uint_eq(get32(p + 0x0c0), 0); /* ext_ramdisk_image */
	ck_assert_uint_eq(p[0x1ef], 0);		/* sentinel */
	ck_assert_uint_eq(p[0x000], 0);		/* outside the header: zero */
	ck_assert_uint_eq(p[0xfff], 0);
	ck_assert_uint_eq(p[0x1e8], 3); /* e820 entries */
	ck_assert_uint_eq(get32(p + 0x2d0 + 20 * 2), 0x100000);
	ck_assert_uint_eq(get32(p + 0x2d0 + 20 * 2 + 16), E820_RAM);
	ck_assert_str_eq(mem_gpa_to_hva(&mem, 0x20000, 20), "console=ttyS0 quiet");
	free(b);
}
END_TEST

START_TEST(load_no_initrd_empty_cmdline)
{
	size_t len;
	uint8_t *b = bz_build(&bz_good, &len);
	struct boot_blob k = {"vmlinuz", b, len};
	struct boot_entry e = {0};
	struct e820_table t;
	struct bzimage bz;

	ck_assert_int_eq(e820_build(&mem, &t), 0);
	ck_assert_int_eq(bzimage_parse("vmlinuz", b, len, &bz), 0);
	ck_assert_int_eq(bzimage_load(&mem, &bz, &k, NULL, NULL, &t, &e), 0);
	ck_assert_uint_eq(get32(zp() + 0x218), 0);
	ck_assert_uint_eq(get32(zp() + 0x21c), 0);
	ck_assert_str_eq(mem_gpa_to_hva(&mem, 0x20000, 1), "");
	free(b);
}
END_TEST

START_TEST(load_cmdline_too_long)
{
	struct bz_spec s = bz_good;
	size_t len;
	uint8_t *b;
	struct boot_blob k;
	struct boot_entry e = {0};
	struct e820_table t;
	struct bzimage bz;
	char cmd[40];

	s.cmdline_size = 31;
	b = bz_build(&s, &len);
	k = (struct boot_blob){"vmlinuz", b, len};
	ck_assert_int_eq(e820_build(&mem, &t), 0);
	ck_assert_int_eq(bzimage_parse("vmlinuz", b, len, &bz), 0);
	memset(cmd, 'x', 31);
	cmd[31] = '\0';
	ck_assert_int_eq(bzimage_load(&mem, &bz, &k, NULL, cmd, &t, &e), 0);
	memset(cmd, 'x', 32);
	cmd[32] = '\0';
	ck_assert_int_eq(bzimage_load(&mem, &bz, &k, NULL, cmd, &t, &e), -E2BIG);
	expect_log("command line is 32 bytes");
	free(b);
}
END_TEST

START_TEST(load_initrd_does_not_fit)
{
	size_t len;
	uint8_t *b = bz_build(&bz_good, &len);
	static uint8_t big[48 * MiB];
	struct boot_blob k = {"vmlinuz", b, len}, i = {"initrd.img", big, sizeof(big)};
	struct boot_entry e = {0};
	struct e820_table t;
	struct bzimage bz;

	/* Kernel at 16..20 MiB of 64: 44 MiB free above it. */
	ck_assert_int_eq(e820_build(&mem, &t), 0);
	ck_assert_int_eq(bzimage_parse("vmlinuz", b, len, &bz), 0);
	ck_assert_int_eq(bzimage_load(&mem, &bz, &k, &i, "", &t, &e), -ENOMEM);
	ck_assert(strstr(last_log, "initrd.img: initrd does not fit") != NULL);
	i.size = 44 * MiB;
	ck_assert_int_eq(bzimage_load(&mem, &bz, &k, &i, "", &t, &e), 0);
	ck_assert_uint_eq(get32(zp() + 0x218), 20 * MiB);
	free(b);
}
END_TEST

static Suite *bzimage_suite(void)
{
	Suite *s = suite_create("bzimage");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, log_setup, log_teardown);
	tcase_add_test(tc, parse_good);
	tcase_add_test(tc, parse_setup_sects_zero);
	tcase_add_test(tc, parse_signed_tail);
	tcase_add_test(tc, reject_no_magic);
	tcase_add_test(tc, reject_old_protocol);
	tcase_add_test(tc, reject_not_64bit);
	tcase_add_test(tc, reject_not_loaded_high);
	tcase_add_test(tc, reject_truncated);
	tcase_add_test(tc, reject_zero_sizes);
	tcase_add_test(tc, reject_short_header);
	suite_add_tcase(s, tc);

	tc = tcase_create("place");
	tcase_add_checked_fixture(tc, log_setup, log_teardown);
	tcase_add_test(tc, place_kernel);
	tcase_add_test(tc, place_initrd);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, mem_setup, mem_teardown);
	tcase_add_test(tc, load_good);
	tcase_add_test(tc, load_no_initrd_empty_cmdline);
	tcase_add_test(tc, load_cmdline_too_long);
	tcase_add_test(tc, load_initrd_does_not_fit);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(bzimage_suite)
