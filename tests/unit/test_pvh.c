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

/* ---- a synthetic vmlinux: one PT_LOAD at 16 MiB, one PT_NOTE ---- */

#define SEG_OFF 0x1000
#define SEG_FILESZ 0x2000
#define SEG_MEMSZ 0x3000
#define SEG_PADDR 0x1000000ULL
#define NOTE_OFF 0x400
#define ENTRY 0x1000123ULL

struct elf_spec {
	bool note;          /* include the PHYS32_ENTRY note */
	unsigned int descsz; /* 4 or 8 */
	uint64_t paddr;
	uint64_t filesz;
	uint64_t offset;
};

static const struct elf_spec good = {
	.note = true, .descsz = 4, .paddr = SEG_PADDR, .filesz = SEG_FILESZ, .offset = SEG_OFF,
};

static size_t note_put(uint8_t *p, const char *name, uint32_t type, const void *desc, uint32_t dsz)
{
	Elf64_Nhdr nh = { .n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = dsz, .n_type = type };
	size_t off = sizeof(nh);

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + off, name, nh.n_namesz);
	off += (nh.n_namesz + 3) & ~3u;
	memcpy(p + off, desc, dsz);
	off += (dsz + 3) & ~3u;
	return off;
}

static uint8_t *elf_build(const struct elf_spec *s, size_t *len)
{
	uint8_t *b;
	Elf64_Ehdr eh = {
		.e_type = ET_EXEC,
		.e_machine = EM_X86_64,
		.e_version = EV_CURRENT,
		.e_entry = 0xffffffff81000000ULL,
		.e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr),
		.e_phnum = 2,
	};
	Elf64_Phdr ph[2] = {
		{
			.p_type = PT_LOAD,
			.p_offset = s->offset,
			.p_vaddr = 0xffffffff81000000ULL,
			.p_paddr = s->paddr,
			.p_filesz = s->filesz,
			.p_memsz = SEG_MEMSZ,
		},
		{ .p_type = PT_NOTE, .p_offset = NOTE_OFF },
	};
	uint32_t fn = 0x1234, e32 = (uint32_t)ENTRY;
	uint64_t e64 = ENTRY;
	size_t n = 0;

	*len = SEG_OFF + SEG_FILESZ;
	b = calloc(1, *len);
	ck_assert_ptr_nonnull(b);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;

	/* Notes Linux also carries, before the one that matters. */
	n += note_put(b + NOTE_OFF + n, "Xen", 6, "linux", 6);
	n += note_put(b + NOTE_OFF + n, "Linux", 0x100, &fn, 4);
	n += note_put(b + NOTE_OFF + n, "Xen", 17, &fn, 4);
	if (s->note)
		n += note_put(b + NOTE_OFF + n, "Xen", XEN_ELFNOTE_PHYS32_ENTRY,
			      s->descsz == 8 ? (const void *)&e64 : (const void *)&e32, s->descsz);
	ph[1].p_filesz = ph[1].p_memsz = n;

	memcpy(b, &eh, sizeof(eh));
	memcpy(b + sizeof(eh), ph, sizeof(ph));
	for (size_t i = 0; i < SEG_FILESZ; i++)
		b[SEG_OFF + i] = (uint8_t)(i * 13 + 5);
	return b;
}

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

	ck_assert_int_eq(parse_spec(&good, &img), 0);
	ck_assert_uint_eq(img.entry, ENTRY);
	ck_assert_uint_eq(img.load_end, SEG_PADDR + SEG_MEMSZ);
}
END_TEST

START_TEST(parse_note_64)
{
	struct elf_spec s = good;
	struct pvh_image img;

	s.descsz = 8;
	ck_assert_int_eq(parse_spec(&s, &img), 0);
	ck_assert_uint_eq(img.entry, ENTRY);
}
END_TEST

START_TEST(reject_missing_note)
{
	struct elf_spec s = good;
	struct pvh_image img;

	s.note = false;
	ck_assert_int_eq(parse_spec(&s, &img), -ENOEXEC);
	expect_log("PHYS32_ENTRY");
}
END_TEST

START_TEST(reject_segment_outside_file)
{
	struct elf_spec s = good;
	struct pvh_image img;

	s.filesz = SEG_FILESZ + 1;
	ck_assert_int_eq(parse_spec(&s, &img), -ENOEXEC);
	expect_log("outside the file");
	s = good;
	s.offset = UINT64_MAX - 8; /* offset + size overflows */
	ck_assert_int_eq(parse_spec(&s, &img), -ENOEXEC);
	expect_log("outside the file");
}
END_TEST

START_TEST(reject_segment_outside_ram)
{
	struct elf_spec s = good;
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
	uint8_t *b = elf_build(&good, &len);
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
	uint8_t *b = elf_build(&good, &len);
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
	uint8_t *b = elf_build(&good, &len);
	uint8_t rd[5000];
	struct boot_blob k = { "vmlinux", b, len }, i = { "initrd", rd, sizeof(rd) };
	struct boot_entry e = { 0 };
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
	ck_assert_uint_eq(rd32(0x600c), 1);            /* nr_modules */
	mod = rd64(0x6010);
	ck_assert_uint_eq(rd64(0x6018), 0x20000);      /* cmdline */
	ck_assert_uint_eq(rd64(0x6020), 0);            /* rsdp */
	memmap = rd64(0x6028);
	ck_assert_uint_eq(rd32(0x6030), 3);            /* memmap entries */
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
	uint8_t *b = elf_build(&good, &len);
	static uint8_t rd[16 * MiB];
	struct boot_blob k = { "vmlinux", b, len }, i = { "initrd.img", rd, sizeof(rd) };
	struct boot_entry e = { 0 };
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

int main(void)
{
	SRunner *sr = srunner_create(pvh_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
