// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm/guest_mem.h"
#include "vmm/boot.h"
#include "vmm/x86_boot.h"

#include "check_main.h"

static struct guest_mem mem;

static void mem_setup(void)
{
	ck_assert_int_eq(mem_create(&mem, 32 * MiB), 0);
}

static void mem_teardown(void)
{
	mem_destroy(&mem);
}

static uint64_t rd64(uint64_t gpa)
{
	uint64_t v;
	void *p = mem_gpa_to_hva(&mem, gpa, 8);

	ck_assert_ptr_nonnull(p);
	memcpy(&v, p, 8);
	return v;
}

/* Walk 4-level paging from @cr3 like the MMU; returns the physical address or ~0 on a fault. */
static uint64_t walk(uint64_t cr3, uint64_t va)
{
	const uint64_t addr_mask = 0x000ffffffffff000ULL;
	uint64_t e;

	e = rd64((cr3 & addr_mask) + ((va >> 39) & 511) * 8);
	if (!(e & PTE_PRESENT))
		return ~0ULL;
	e = rd64((e & addr_mask) + ((va >> 30) & 511) * 8);
	if (!(e & PTE_PRESENT))
		return ~0ULL;
	if (e & PTE_PS)
		return (e & 0x000fffffc0000000ULL) | (va & (GiB - 1));
	e = rd64((e & addr_mask) + ((va >> 21) & 511) * 8);
	if (!(e & PTE_PRESENT))
		return ~0ULL;
	if (e & PTE_PS)
		return (e & 0x000fffffffe00000ULL) | (va & (2 * MiB - 1));
	e = rd64((e & addr_mask) + ((va >> 12) & 511) * 8);
	if (!(e & PTE_PRESENT))
		return ~0ULL;
	return (e & addr_mask) | (va & 4095);
}

START_TEST(page_tables_identity)
{
	static const uint64_t va[] = {
	    0,		0x1234,	    0x100000,	0x1fffff,   0x200000,	0x3fe00123,
	    0x40000000, 0x9abcdef0, 0xbfffffff, 0xfec00000, 0xfee00020, 0xffffffff,
	};

	ck_assert_int_eq(x86_page_tables_write(&mem), 0);
	for (unsigned int i = 0; i < sizeof(va) / sizeof(va[0]); i++)
		ck_assert_uint_eq(walk(BOOT_PML4_ADDR, va[i]), va[i]);
	ck_assert_uint_eq(walk(BOOT_PML4_ADDR, 0x100000000ULL), ~0ULL); /* only 4 GiB mapped */
	ck_assert_uint_eq(walk(BOOT_PML4_ADDR, 0xffffffff81000000ULL), ~0ULL);
	/* Writable everywhere, 2 MiB pages. */
	ck_assert_uint_eq(rd64(BOOT_PD_ADDR + 8 * 3), 0x600000 | 0x83);
	ck_assert_uint_eq(rd64(BOOT_PML4_ADDR), BOOT_PDPT_ADDR | 3);
}
END_TEST

START_TEST(gdt_descriptors)
{
	struct kvm_segment s;

	/* Known encodings (Linux's boot GDT and kvmtool's). */
	ck_assert_uint_eq(gdt_entry(GDT_FLAGS_CODE64, 0, 0xfffff), 0x00af9b000000ffffULL);
	ck_assert_uint_eq(gdt_entry(GDT_FLAGS_CODE32, 0, 0xfffff), 0x00cf9b000000ffffULL);
	ck_assert_uint_eq(gdt_entry(GDT_FLAGS_DATA, 0, 0xfffff), 0x00cf93000000ffffULL);
	ck_assert_uint_eq(gdt_entry(0x0093, 0x12345678, 0xabcde), 0x120a93345678bcdeULL);

	gdt_to_segment(0x00af9b000000ffffULL, 0x10, &s);
	ck_assert_uint_eq(s.type, 11);
	ck_assert_uint_eq(s.l, 1);
	ck_assert_uint_eq(s.db, 0);
	ck_assert_uint_eq(s.s, 1);
	ck_assert_uint_eq(s.present, 1);
	ck_assert_uint_eq(s.limit, 0xffffffff);
	ck_assert_uint_eq(s.selector, 0x10);
	gdt_to_segment(gdt_entry(0x0093, 0x12345678, 0xabcde), 0x18, &s);
	ck_assert_uint_eq(s.base, 0x12345678);
	ck_assert_uint_eq(s.limit, 0xabcde);
	ck_assert_uint_eq(s.g, 0);

	ck_assert_int_eq(x86_gdt_write(&mem, true), 0);
	ck_assert_uint_eq(rd64(BOOT_GDT_ADDR), 0);
	ck_assert_uint_eq(rd64(BOOT_GDT_ADDR + 0x10), 0x00af9b000000ffffULL);
	ck_assert_uint_eq(rd64(BOOT_GDT_ADDR + 0x18), 0x00cf93000000ffffULL);
	ck_assert_uint_eq(rd64(BOOT_GDT_ADDR + 0x20), 0x00008b0000000067ULL);
	ck_assert_uint_eq(rd64(BOOT_GDT_ADDR + 0x28), 0);
	ck_assert_int_eq(x86_gdt_write(&mem, false), 0);
	ck_assert_uint_eq(rd64(BOOT_GDT_ADDR + 0x10), 0x00cf9b000000ffffULL);
}
END_TEST

START_TEST(regs_long_mode)
{
	struct boot_entry e = {
	    .mode = BOOT_MODE_LINUX64,
	    .rip = 0x1000200,
	    .rsp = BOOT_STACK_TOP,
	    .rsi = BOOT_ZERO_PAGE_ADDR,
	    .cr3 = BOOT_PML4_ADDR,
	    .gdt_base = BOOT_GDT_ADDR,
	    .gdt_limit = BOOT_GDT_LIMIT,
	};
	struct kvm_sregs s;
	struct kvm_regs r;

	memset(&s, 0xa5, sizeof(s));
	s.apic_base = 0xfee00900;
	memset(&r, 0xa5, sizeof(r));
	boot_entry_regs(&e, &s, &r);
	ck_assert_uint_eq(s.cr0 & 0x80000001, 0x80000001);
	ck_assert_uint_eq(s.cr0, 0x80010033);
	ck_assert_uint_eq(s.cr3, BOOT_PML4_ADDR);
	ck_assert_uint_eq(s.cr4, 0x20);
	ck_assert_uint_eq(s.efer, 0x500);
	ck_assert_uint_eq(s.cs.selector, 0x10);
	ck_assert_uint_eq(s.cs.l, 1);
	ck_assert_uint_eq(s.cs.db, 0);
	ck_assert_uint_eq(s.cs.type, 11);
	ck_assert_uint_eq(s.cs.dpl, 0);
	ck_assert_uint_eq(s.cs.present, 1);
	ck_assert_uint_eq(s.cs.unusable, 0);
	ck_assert_uint_eq(s.ds.selector, 0x18);
	ck_assert_uint_eq(s.ds.type, 3);
	ck_assert_uint_eq(s.ds.db, 1);
	ck_assert_uint_eq(s.ss.selector, 0x18);
	ck_assert_uint_eq(s.gs.type, 3);
	ck_assert_uint_eq(s.tr.type, 11);
	ck_assert_uint_eq(s.tr.s, 0);
	ck_assert_uint_eq(s.tr.base, 0);
	ck_assert_uint_eq(s.tr.limit, 0x67);
	ck_assert_uint_eq(s.tr.present, 1);
	ck_assert_uint_eq(s.gdt.base, BOOT_GDT_ADDR);
	ck_assert_uint_eq(s.gdt.limit, 47);
	ck_assert_uint_eq(s.apic_base, 0xfee00900); /* untouched */
	ck_assert_uint_eq(r.rflags, 2);
	ck_assert_uint_eq(r.rip, 0x1000200);
	ck_assert_uint_eq(r.rsi, BOOT_ZERO_PAGE_ADDR);
	ck_assert_uint_eq(r.rsp, 0x8ff0);
	ck_assert_uint_eq(r.rax, 0);
	ck_assert_uint_eq(r.rbx, 0);
}
END_TEST

START_TEST(regs_protected_mode)
{
	struct boot_entry e = {
	    .mode = BOOT_MODE_PVH32,
	    .rip = 0x1000850,
	    .rbx = BOOT_START_INFO_ADDR,
	    .gdt_base = BOOT_GDT_ADDR,
	    .gdt_limit = BOOT_GDT_LIMIT,
	};
	struct kvm_sregs s;
	struct kvm_regs r;

	memset(&s, 0, sizeof(s));
	s.cr0 = 0x60000010;
	boot_entry_regs(&e, &s, &r);
	ck_assert_uint_eq(s.cr0, 0x11);
	ck_assert_uint_eq(s.cr4, 0);
	ck_assert_uint_eq(s.efer, 0);
	ck_assert_uint_eq(s.cs.l, 0);
	ck_assert_uint_eq(s.cs.db, 1);
	ck_assert_uint_eq(s.cs.g, 1);
	ck_assert_uint_eq(s.cs.base, 0);
	ck_assert_uint_eq(s.cs.limit, 0xffffffff);
	ck_assert_uint_eq(s.ds.db, 1);
	ck_assert_uint_eq(s.ds.limit, 0xffffffff);
	ck_assert_uint_eq(r.rbx, 0x6000);
	ck_assert_uint_eq(r.rip, 0x1000850);
	ck_assert_uint_eq(r.rflags, 2);
}
END_TEST

static Suite *x86_boot_suite(void)
{
	Suite *s = suite_create("x86_boot");
	TCase *tc;

	tc = tcase_create("page_tables");
	tcase_add_checked_fixture(tc, mem_setup, mem_teardown);
	tcase_add_test(tc, page_tables_identity);
	suite_add_tcase(s, tc);

	tc = tcase_create("gdt");
	tcase_add_checked_fixture(tc, mem_setup, mem_teardown);
	tcase_add_test(tc, gdt_descriptors);
	suite_add_tcase(s, tc);

	tc = tcase_create("regs");
	tcase_add_test(tc, regs_long_mode);
	tcase_add_test(tc, regs_protected_mode);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(x86_boot_suite)
