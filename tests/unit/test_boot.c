// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mm/guest_mem.h"
#include "util/log.h"
#include "vmm/boot.h"
#include "vmm/x86_boot.h"
#include "tests/unit/boot_images.h"

#include "check_main.h"

static struct guest_mem mem;
static char last_log[512];

static void capture(enum log_level level, const char *msg, void *opaque)
{
	(void)opaque;
	if (level == LOG_ERR)
		snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void setup(void)
{
	last_log[0] = '\0';
	log_set_sink(capture, NULL);
	ck_assert_int_eq(mem_create(&mem, 64 * MiB), 0);
}

static void teardown(void)
{
	mem_destroy(&mem);
	log_set_sink(NULL, NULL);
}

static uint64_t rd64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem_gpa_to_hva(&mem, gpa, 8), 8);
	return v;
}

/* The structures every mode shares are in place. */
static void expect_common(bool code64)
{
	ck_assert_int_eq(memcmp(mem_gpa_to_hva(&mem, 0x9fc00, 4), "_MP_", 4), 0);
	ck_assert_uint_eq(rd64(BOOT_PML4_ADDR), BOOT_PDPT_ADDR | 3);
	ck_assert_uint_eq(rd64(BOOT_GDT_ADDR + BOOT_SEL_CS),
			  code64 ? 0x00af9b000000ffffULL : 0x00cf9b000000ffffULL);
}

START_TEST(dispatch_bzimage)
{
	size_t len;
	uint8_t *b = bz_build(&bz_good, &len);
	struct boot_blob k = {"vmlinuz", b, len};
	struct boot_entry e;

	ck_assert_int_eq(boot_load_blobs(&mem, &k, NULL, "x", 2, false, &e), 0);
	ck_assert_int_eq(e.mode, BOOT_MODE_LINUX64);
	ck_assert_uint_eq(e.rip, 0x1000200);
	ck_assert_uint_eq(e.rsi, BOOT_ZERO_PAGE_ADDR);
	ck_assert_uint_eq(e.cr3, BOOT_PML4_ADDR);
	ck_assert_uint_eq(e.gdt_base, BOOT_GDT_ADDR);
	ck_assert_uint_eq(e.gdt_limit, BOOT_GDT_LIMIT);
	expect_common(true);
	free(b);
}
END_TEST

START_TEST(dispatch_elf)
{
	size_t len;
	uint8_t *b = elf_build(&elf_good, &len);
	struct boot_blob k = {"vmlinux", b, len};
	struct boot_entry e;

	ck_assert_int_eq(boot_load_blobs(&mem, &k, NULL, NULL, 1, false, &e), 0);
	ck_assert_int_eq(e.mode, BOOT_MODE_PVH32);
	ck_assert_uint_eq(e.rip, ENTRY);
	ck_assert_uint_eq(e.rbx, BOOT_START_INFO_ADDR);
	ck_assert_uint_eq(e.cr3, 0);
	expect_common(false);
	free(b);
}
END_TEST

START_TEST(flat_binary)
{
	uint8_t code[] = {0xf4, 0xeb, 0xfd}; /* hlt; jmp . */
	struct boot_blob k = {"guest.bin", code, sizeof(code)};
	struct boot_entry e;

	ck_assert_int_eq(boot_load_blobs(&mem, &k, NULL, NULL, 1, true, &e), 0);
	ck_assert_int_eq(e.mode, BOOT_MODE_FLAT64);
	ck_assert_uint_eq(e.rip, 0x100000);
	ck_assert_uint_eq(e.rsp, 0x8ff0);
	ck_assert_uint_eq(e.cr3, BOOT_PML4_ADDR);
	ck_assert_mem_eq(mem_gpa_to_hva(&mem, 0x100000, sizeof(code)), code, sizeof(code));
	expect_common(true);
	/* Even an ELF or a bzImage is raw bytes when asked for flat. */
	code[0] = 0x7f;
	ck_assert_int_eq(boot_load_blobs(&mem, &k, NULL, NULL, 1, true, &e), 0);
	ck_assert_int_eq(e.mode, BOOT_MODE_FLAT64);
}
END_TEST

START_TEST(flat_too_big)
{
	static uint8_t big[BOOT_FLAT_MAX + 1];
	struct boot_blob k = {"guest.bin", big, sizeof(big)};
	struct boot_entry e;

	ck_assert_int_eq(boot_load_blobs(&mem, &k, NULL, NULL, 1, true, &e), -EFBIG);
	ck_assert_ptr_eq(strstr(last_log, "guest.bin:"), last_log);
}
END_TEST

START_TEST(unknown_format)
{
	static const uint8_t junk[4096] = "MZ this is not a kernel";
	struct boot_blob k = {"kernel.bin", junk, sizeof(junk)};
	struct boot_entry e;

	ck_assert_int_eq(boot_load_blobs(&mem, &k, NULL, NULL, 1, false, &e), -ENOEXEC);
	ck_assert_ptr_eq(strstr(last_log, "kernel.bin: unknown kernel format"), last_log);
	k.size = 3;
	ck_assert_int_eq(boot_load_blobs(&mem, &k, NULL, NULL, 1, false, &e), -ENOEXEC);
}
END_TEST

START_TEST(bad_ncpus)
{
	uint8_t code[1] = {0xf4};
	struct boot_blob k = {"guest.bin", code, 1};
	struct boot_entry e;

	ck_assert_int_eq(boot_load_blobs(&mem, &k, NULL, NULL, 0, true, &e), -EINVAL);
	ck_assert_int_eq(boot_load_blobs(&mem, &k, NULL, NULL, 255, true, &e), -EINVAL);
	ck_assert_int_eq(boot_load_blobs(&mem, &k, NULL, NULL, 254, true, &e), 0);
}
END_TEST

START_TEST(files_missing_and_empty)
{
	char path[] = "/tmp/shmvm-boot-XXXXXX";
	int fd = mkstemp(path);
	struct boot_cfg cfg = {.kernel = "/nonexistent/vmlinuz", .ncpus = 1};
	struct boot_entry e;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(boot_load(&mem, &cfg, &e), -ENOENT);
	ck_assert_ptr_eq(strstr(last_log, "/nonexistent/vmlinuz: cannot open kernel"), last_log);
	cfg.kernel = path;
	ck_assert_int_eq(boot_load(&mem, &cfg, &e), -EINVAL);
	ck_assert(strstr(last_log, "kernel is empty") != NULL);
	ck_assert_int_eq(write(fd, "\xf4", 1), 1);
	cfg.flat = true;
	cfg.initrd = "/nonexistent/initrd";
	ck_assert_int_eq(boot_load(&mem, &cfg, &e), -ENOENT);
	ck_assert_ptr_eq(strstr(last_log, "/nonexistent/initrd: cannot open initrd"), last_log);
	cfg.initrd = NULL;
	ck_assert_int_eq(boot_load(&mem, &cfg, &e), 0);
	ck_assert_int_eq(e.mode, BOOT_MODE_FLAT64);
	close(fd);
	unlink(path);
}
END_TEST

/* ---- corrupt images: refused or loaded, never a crash (run under ASan in CI) ---- */

static uint64_t rng_next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void mutate_and_load(const uint8_t *img, size_t len, size_t hot, uint64_t seed)
{
	uint8_t *b = malloc(len);
	uint64_t x = seed;
	unsigned int loaded = 0;

	ck_assert_ptr_nonnull(b);
	for (unsigned int round = 0; round < 1500; round++) {
		struct boot_blob k = {"fuzz", b, len};
		struct boot_entry e;
		unsigned int flips = 1 + rng_next(&x) % 8;

		memcpy(b, img, len);
		for (unsigned int i = 0; i < flips; i++)
			b[rng_next(&x) % hot] = (uint8_t)rng_next(&x);
		if (rng_next(&x) % 4 == 0)
			k.size = rng_next(&x) % len;
		int rc = boot_load_blobs(&mem, &k, NULL, "console=ttyS0", 1, false, &e);

		ck_assert_msg(rc == 0 || rc == -ENOEXEC || rc == -ENOMEM || rc == -E2BIG,
			      "rc %d: %s", rc, last_log);
		loaded += rc == 0;
	}
	/* Both outcomes happen, or the mutations are not reaching the checks. */
	ck_assert_uint_gt(loaded, 0);
	ck_assert_uint_lt(loaded, 1500);
	free(b);
}

START_TEST(corrupt_bzimage)
{
	size_t len;
	uint8_t *b = bz_build(&bz_good, &len);

	mutate_and_load(b, len, 0x280, 0x1234567);
	free(b);
}
END_TEST

START_TEST(corrupt_elf)
{
	size_t len;
	uint8_t *b = elf_build(&elf_good, &len);

	mutate_and_load(b, len, 0x500, 0x7654321);
	free(b);
}
END_TEST

/* ---- real kernels, when the environment names them ---- */

static uint32_t rd32(const struct guest_mem *m, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, mem_gpa_to_hva(m, gpa, 4), 4);
	return v;
}

START_TEST(real_bzimage)
{
	const char *path = getenv("SHMVM_TEST_KERNEL");
	char initrd[] = "/tmp/shmvm-initrd-XXXXXX";
	struct boot_cfg cfg = {.cmdline = "console=ttyS0 panic=-1", .ncpus = 2};
	struct guest_mem m;
	struct boot_entry e;
	uint8_t buf[4096] = {0x30, 0x37, 0x30, 0x37};
	int fd;

	if (!path) {
		printf("test_boot: real_bzimage SKIPPED: set SHMVM_TEST_KERNEL to a bzImage\n");
		return;
	}
	fd = mkstemp(initrd);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 256; i++) /* 1 MiB */
		ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);

	ck_assert_int_eq(mem_create(&m, 1 * GiB), 0);
	cfg.kernel = path;
	cfg.initrd = initrd;
	ck_assert_msg(boot_load(&m, &cfg, &e) == 0, "%s", last_log);
	printf("test_boot: %s: protocol %x, entry 0x%llx, initrd at 0x%x\n", path,
	       *(uint16_t *)mem_gpa_to_hva(&m, BOOT_ZERO_PAGE_ADDR + 0x206, 2),
	       (unsigned long long)e.rip, rd32(&m, BOOT_ZERO_PAGE_ADDR + 0x218));
	ck_assert_int_eq(e.mode, BOOT_MODE_LINUX64);
	ck_assert_uint_eq((e.rip - 0x200) % (2 * MiB), 0); /* pref_address or 1 MiB */
	ck_assert_uint_eq(rd32(&m, BOOT_ZERO_PAGE_ADDR + 0x202), 0x53726448);
	ck_assert_uint_eq(rd32(&m, BOOT_ZERO_PAGE_ADDR + 0x21c), 1 * MiB);
	ck_assert_uint_eq(rd32(&m, BOOT_ZERO_PAGE_ADDR + 0x218), 1 * GiB - 1 * MiB);
	ck_assert_str_eq(mem_gpa_to_hva(&m, BOOT_CMDLINE_ADDR, 1), "console=ttyS0 panic=-1");
	/* Too little RAM for its init_size: a clear refusal. */
	mem_destroy(&m);
	ck_assert_int_eq(mem_create(&m, 16 * MiB), 0);
	ck_assert_int_eq(boot_load(&m, &cfg, &e), -ENOMEM);
	ck_assert(strstr(last_log, "init_size") != NULL);
	mem_destroy(&m);
	unlink(initrd);
}
END_TEST

START_TEST(real_vmlinux)
{
	const char *path = getenv("SHMVM_TEST_VMLINUX");
	struct boot_cfg cfg = {.ncpus = 1};
	struct guest_mem m;
	struct boot_entry e;

	if (!path) {
		printf(
		    "test_boot: real_vmlinux SKIPPED: set SHMVM_TEST_VMLINUX to an ELF vmlinux\n");
		return;
	}
	ck_assert_int_eq(mem_create(&m, 512 * MiB), 0);
	cfg.kernel = path;
	ck_assert_msg(boot_load(&m, &cfg, &e) == 0, "%s", last_log);
	printf("test_boot: %s: PVH entry 0x%llx\n", path, (unsigned long long)e.rip);
	ck_assert_int_eq(e.mode, BOOT_MODE_PVH32);
	ck_assert_uint_ge(e.rip, BOOT_HIGH_ADDR);
	ck_assert_uint_eq(rd32(&m, BOOT_START_INFO_ADDR), 0x336ec578);
	mem_destroy(&m);
}
END_TEST

static Suite *boot_suite(void)
{
	Suite *s = suite_create("boot");
	TCase *tc;

	tc = tcase_create("dispatch");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, dispatch_bzimage);
	tcase_add_test(tc, dispatch_elf);
	tcase_add_test(tc, flat_binary);
	tcase_add_test(tc, flat_too_big);
	tcase_add_test(tc, unknown_format);
	tcase_add_test(tc, bad_ncpus);
	tcase_add_test(tc, files_missing_and_empty);
	suite_add_tcase(s, tc);

	tc = tcase_create("corrupt");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, corrupt_bzimage);
	tcase_add_test(tc, corrupt_elf);
	suite_add_tcase(s, tc);

	tc = tcase_create("real_kernels");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, real_bzimage);
	tcase_add_test(tc, real_vmlinux);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(boot_suite)
