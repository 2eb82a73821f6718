// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mm/guest_mem.h"
#include "util/log.h"
#include "vmm/mptable.h"

#include "check_main.h"

static struct guest_mem mem;

static void mem_setup(void)
{
	log_set_level(LOG_ERR);
	ck_assert_int_eq(mem_create(&mem, 16 * MiB), 0);
}

static void mem_teardown(void)
{
	mem_destroy(&mem);
}

static const uint8_t *gpa(uint64_t a, uint64_t len)
{
	const uint8_t *p = mem_gpa_to_hva(&mem, a, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

static unsigned int byte_sum(const uint8_t *p, size_t n)
{
	unsigned int s = 0;

	while (n--)
		s += *p++;
	return s & 0xff;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Parse the tables the way a guest does (raw offsets from the MP spec, not our structs). */
static void check_tables(unsigned int ncpus)
{
	const uint8_t *mpf = gpa(0x9fc00, 16), *mpc, *p;
	unsigned int count[5] = {0}, len, nent;
	uint32_t physptr;
	int irq_seen[16] = {0};

	ck_assert_int_eq(memcmp(mpf, "_MP_", 4), 0);
	ck_assert_uint_eq(mpf[8], 1);  /* length in paragraphs */
	ck_assert_uint_eq(mpf[9], 4);  /* spec 1.4 */
	ck_assert_uint_eq(mpf[11], 0); /* feature1: table present */
	ck_assert_uint_eq(byte_sum(mpf, 16), 0);
	physptr = le32(mpf + 4);
	ck_assert_uint_ge(physptr, 0x9fc00);
	mpc = gpa(physptr, 44);
	ck_assert_int_eq(memcmp(mpc, "PCMP", 4), 0);
	len = le16(mpc + 4);
	nent = le16(mpc + 34);
	ck_assert_uint_le(physptr + len, 0x100000);
	mpc = gpa(physptr, len);
	ck_assert_uint_eq(byte_sum(mpc, len), 0);
	ck_assert_uint_eq(le32(mpc + 36), 0xfee00000);

	p = mpc + 44;
	for (unsigned int i = 0; i < nent; i++) {
		ck_assert_uint_lt(p[0], 5);
		count[p[0]]++;
		switch (p[0]) {
		case 0:							/* processor */
			ck_assert_uint_eq(p[1], count[0] - 1);		/* APIC id = index */
			ck_assert_uint_eq(p[3], count[0] == 1 ? 3 : 1); /* enabled, BSP on 0 */
			p += 20;
			break;
		case 1:
			ck_assert_int_eq(memcmp(p + 2, "ISA   ", 6), 0);
			p += 8;
			break;
		case 2:
			ck_assert_uint_eq(p[1], ncpus);
			ck_assert_uint_eq(p[2], 0x11);
			ck_assert_uint_eq(p[3] & 1, 1);
			ck_assert_uint_eq(le32(p + 4), 0xfec00000);
			p += 8;
			break;
		case 3:
			ck_assert_uint_eq(p[1], 0); /* INT */
			ck_assert_uint_eq(p[6], ncpus);
			ck_assert_uint_lt(p[5], 16);
			ck_assert_uint_eq(p[7], p[5]); /* ISA IRQ n on IO-APIC pin n */
			irq_seen[p[5]]++;
			p += 8;
			break;
		case 4:
			ck_assert_uint_eq(p[6], 0xff);
			ck_assert_uint_eq(p[1],
					  p[7] == 0 ? 3 : 1); /* ExtINT on LINT0, NMI on LINT1 */
			p += 8;
			break;
		}
	}
	ck_assert_uint_eq((unsigned int)(p - mpc), len);
	ck_assert_uint_eq(count[0], ncpus);
	ck_assert_uint_eq(count[1], 1);
	ck_assert_uint_eq(count[2], 1);
	ck_assert_uint_eq(count[3], 15);
	ck_assert_uint_eq(count[4], 2);
	for (unsigned int irq = 0; irq < 16; irq++)
		ck_assert_int_eq(irq_seen[irq], irq == 2 ? 0 : 1);
}

START_TEST(mptable_one_cpu)
{
	ck_assert_int_eq(mptable_write(&mem, 1), 0);
	check_tables(1);
}
END_TEST

START_TEST(mptable_many_cpus)
{
	ck_assert_int_eq(mptable_write(&mem, 8), 0);
	check_tables(8);
	ck_assert_int_eq(mptable_write(&mem, MPTABLE_MAX_CPUS), 0);
	check_tables(MPTABLE_MAX_CPUS);
}
END_TEST

START_TEST(mptable_rejects)
{
	ck_assert_int_eq(mptable_write(&mem, 0), -EINVAL);
	ck_assert_int_eq(mptable_write(&mem, 255), -EINVAL);
}
END_TEST

static Suite *mptable_suite(void)
{
	Suite *s = suite_create("mptable");
	TCase *tc = tcase_create("write");

	tcase_add_checked_fixture(tc, mem_setup, mem_teardown);
	tcase_add_test(tc, mptable_one_cpu);
	tcase_add_test(tc, mptable_many_cpus);
	tcase_add_test(tc, mptable_rejects);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(mptable_suite)
