// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mm/guest_mem.h"
#include "util/log.h"
#include "vmm/e820.h"
#include "vmm/pvh.h"
#include "vmm/x86_boot.h"

#include "tests/unit/boot_images.h"

#include "check_main.h"

/* ---- fixtures: guest RAM and log capture ---- */

static struct guest_mem mem;
static char last_log[512];

static void capture(enum log_level level, const char *msg, void *opaque)
{
	(void)level;
	(void)opaque;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

static void setup(void)
{
	last_log[0] = '\0';
	log_set_sink(capture, NULL);
	ck_assert_int_eq(mem_create(&mem, 32 * MiB), 0);
}

static void teardown(void)
{
	mem_destroy(&mem);
	log_set_sink(NULL, NULL);
}

static void expect_log(const char *what)
{
	ck_assert_msg(strstr(last_log, "vmlinux:") == last_log, "log does not name the file: %s",
		      last_log);
	ck_assert_msg(strstr(last_log, what) != NULL, "log lacks \"%s\": %s", what, last_log);
}

static int parse_spec(const struct elf_spec *s, struct pvh_image *img)
{
	size_t len;
	uint8_t *b = elf_build(s, &len);
	int rc = pvh_parse("vmlinux", b, len, &mem, img);

	free(b);
	return rc;
}

START_TEST(parse_note_32)
{
	struct pvh_image img;

	ck_assert_int_eq(parse_spec(&elf_good, &img), 0);
	ck_assert_uint_eq(img.entry, ENTRY);
	ck_assert_uint_eq(img.load_end, SEG_PADDR + SEG_MEMSZ);
}
END_TEST

START_TEST(parse_note_64)
{
	struct elf_spec s = elf_good;
	struct pvh_image img;

	s.descsz = 8;
	ck_assert_int_eq(parse_spec(&s, &img), 0);
	ck_assert_uint_eq(img.entry, ENTRY);
}
END_TEST

START_TEST(reject_missing_note)
{
	struct elf_spec s = elf_good;
	struct pvh_image img;

	s.note = false;
	ck_assert_int_eq(parse_spec(&s, &img), -ENOEXEC);
	expect_log("PHYS32_ENTRY");
}
END_TEST

START_TEST(reject_segment_outside_file)
{
	struct elf_spec s = elf_good;
	struct pvh_image img;

	s.filesz = SEG_FILESZ + 1;
	ck_assert_int_eq(parse_spec(&s, &img), -ENOEXEC);
	expect_log("outside the file");
	s = elf_good;
	s.offset = UINT64_MAX - 8; /* offset + size overflows */
	ck_assert_int_eq(parse_spec(&s, &img), -ENOEXEC);
	expect_log("outside the file");
}
END_TEST

START_TEST(reject_segment_outside_ram)
{
	struct elf_spec s = elf_good;
	struct pvh_image img;

	s.paddr = 32 * MiB - 0x2000; /* memsz 0x3000 runs past the end */
	ck_assert_int_eq(parse_spec(&s, &img), -ENOEXEC);
	expect_log("outside guest RAM");
	s.paddr = 0x8000; /* over the boot structures */
	ck_assert_int_eq(parse_spec(&s, &img), -ENOEXEC);
	expect_log("outside guest RAM");
	s.paddr = 0xfffffffffffff000ULL;
	ck_assert_int_eq(parse_spec(&s, &img), -ENOEXEC);
}
END_TEST

START_TEST(reject_bad_headers)
{
	size_t len;
	uint8_t *b = elf_build(&elf_good, &len);
	struct pvh_image img;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;

	ck_assert_int_eq(pvh_parse("vmlinux", b, 40, &mem, &img), -ENOEXEC);
	expect_log("not an ELF");
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	ck_assert_int_eq(pvh_parse("vmlinux", b, len, &mem, &img), -ENOEXEC);
	expect_log("ELF64");
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_machine = EM_386;
	ck_assert_int_eq(pvh_parse("vmlinux", b, len, &mem, &img), -ENOEXEC);
	eh->e_machine = EM_X86_64;
	eh->e_phnum = 1000; /* table runs past the file */
	ck_assert_int_eq(pvh_parse("vmlinux", b, len, &mem, &img), -ENOEXEC);
	expect_log("program header");
	eh->e_phnum = 2;
	ck_assert_int_eq(pvh_parse("vmlinux", b, len, &mem, &img), 0);
	free(b);
}
END_TEST

START_TEST(reject_bad_note)
{
	size_t len;
	uint8_t *b = elf_build(&elf_good, &len);
	struct pvh_image img;
	Elf64_Nhdr nh;

	/* First note claims a descriptor bigger than the segment. */
	memcpy(&nh, b + NOTE_OFF, sizeof(nh));
	nh.n_descsz = 0xfffffff0u;
	memcpy(b + NOTE_OFF, &nh, sizeof(nh));
	ck_assert_int_eq(pvh_parse("vmlinux", b, len, &mem, &img), -ENOEXEC);
	expect_log("malformed ELF note");
	free(b);
}
END_TEST

static uint64_t rd64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem_gpa_to_hva(&mem, gpa, 8), 8);
	return v;
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, mem_gpa_to_hva(&mem, gpa, 4), 4);
	return v;
}

START_TEST(load_start_info)
{
	size_t len;
	uint8_t *b = elf_build(&elf_good, &len);
	uint8_t rd[5000];
	struct boot_blob k = {"vmlinux", b, len}, i = {"initrd", rd, sizeof(rd)};
	struct boot_entry e = {0};
	struct pvh_image img;
	struct e820_table t;
	const uint8_t *p;
	uint64_t memmap, mod;

	memset(rd, 0x77, sizeof(rd));
	memset(mem_gpa_to_hva(&mem, SEG_PADDR, SEG_MEMSZ), 0xcc, SEG_MEMSZ);
	ck_assert_int_eq(e820_build(&mem, &t), 0);
	ck_assert_int_eq(pvh_parse("vmlinux", b, len, &mem, &img), 0);
	ck_assert_int_eq(pvh_load(&mem, &img, &k, &i, "console=hvc0", &t, &e), 0);

	ck_assert_int_eq(e.mode, BOOT_MODE_PVH32);
	ck_assert_uint_eq(e.rip, ENTRY);
	ck_assert_uint_eq(e.rbx, 0x6000);
	/* Segment: file bytes, then zeroes up to p_memsz. */
	p = mem_gpa_to_hva(&mem, SEG_PADDR, SEG_MEMSZ);
	ck_assert_mem_eq(p, b + SEG_OFF, SEG_FILESZ);
	for (size_t j = SEG_FILESZ; j < SEG_MEMSZ; j++)
		ck_assert_uint_eq(p[j], 0);
	/* start_info at the raw offsets of Xen's start_info.h. */
	ck_assert_uint_eq(rd32(0x6000), 0x336ec578);
	ck_assert_uint_eq(rd32(0x6004), 1);
	ck_assert_uint_eq(rd32(0x600c), 1); /* nr_modules */
	mod = rd64(0x6010);
	ck_assert_uint_eq(rd64(0x6018), 0x20000); /* cmdline */
	ck_assert_uint_eq(rd64(0x6020), 0);	  /* rsdp */
	memmap = rd64(0x6028);
	ck_assert_uint_eq(rd32(0x6030), 3); /* memmap entries */
	ck_assert_str_eq(mem_gpa_to_hva(&mem, 0x20000, 13), "console=hvc0");
	/* Module 0: the initrd at the top of RAM. */
	ck_assert_uint_eq(rd64(mod), 32 * MiB - 8192);
	ck_assert_uint_eq(rd64(mod + 8), sizeof(rd));
	ck_assert_mem_eq(mem_gpa_to_hva(&mem, 32 * MiB - 8192, sizeof(rd)), rd, sizeof(rd));
	/* Memmap entries are 24 bytes: addr, size, type. */
	ck_assert_uint_eq(rd64(memmap + 24), 0x9fc00);
	ck_assert_uint_eq(rd32(memmap + 24 + 16), E820_RESERVED);
	ck_assert_uint_eq(rd64(memmap + 48), 0x100000);
	ck_assert_uint_eq(rd64(memmap + 48 + 8), 31 * MiB);
	ck_assert_uint_eq(rd32(memmap + 48 + 16), E820_RAM);
	free(b);
}
END_TEST

START_TEST(load_initrd_does_not_fit)
{
	size_t len;
	uint8_t *b = elf_build(&elf_good, &len);
	static uint8_t rd[16 * MiB];
	struct boot_blob k = {"vmlinux", b, len}, i = {"initrd.img", rd, sizeof(rd)};
	struct boot_entry e = {0};
	struct pvh_image img;
	struct e820_table t;

	ck_assert_int_eq(e820_build(&mem, &t), 0);
	ck_assert_int_eq(pvh_parse("vmlinux", b, len, &mem, &img), 0);
	ck_assert_int_eq(pvh_load(&mem, &img, &k, &i, NULL, &t, &e), -ENOMEM);
	ck_assert(strstr(last_log, "initrd.img: initrd does not fit") != NULL);
	i.size = 16 * MiB - 0x3000; /* exactly the room above the segment */
	ck_assert_int_eq(pvh_load(&mem, &img, &k, &i, NULL, &t, &e), 0);
	ck_assert_uint_eq(rd64(rd64(0x6010)), SEG_PADDR + SEG_MEMSZ);
	free(b);
}
END_TEST

static Suite *pvh_suite(void)
{
	Suite *s = suite_create("pvh");
	TCase *tc;

	tc = tcase_create("parse");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse_note_32);
	tcase_add_test(tc, parse_note_64);
	tcase_add_test(tc, reject_missing_note);
	tcase_add_test(tc, reject_segment_outside_file);
	tcase_add_test(tc, reject_segment_outside_ram);
	tcase_add_test(tc, reject_bad_headers);
	tcase_add_test(tc, reject_bad_note);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, load_start_info);
	tcase_add_test(tc, load_initrd_does_not_fit);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(pvh_suite)
