// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/cpuid.h"

#include "check_main.h"

/* A cut-down KVM_GET_SUPPORTED_CPUID result of an Intel host with 2 threads per core. */
static const struct kvm_cpuid_entry2 intel[] = {
    {.function = 0, .eax = 0x1f, .ebx = 0x756e6547, .edx = 0x49656e69, .ecx = 0x6c65746e},
    {.function = 1, .eax = 0x906ea, .ebx = 0x00100800, .ecx = 0x7ffafbff, .edx = 0x0fabfbff},
    {.function = 4, .index = 0, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x1c004121},
    {.function = 4, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x1c004143},
    {.function = 4, .index = 3, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x1c03c163},
    {.function = 4, .index = 4, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0},
    {.function = 0xb,
     .index = 0,
     .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
     .eax = 1,
     .ebx = 2,
     .ecx = 0x100,
     .edx = 7},
    {.function = 0xb,
     .index = 1,
     .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
     .eax = 4,
     .ebx = 12,
     .ecx = 0x201,
     .edx = 7},
    {.function = 0xb, .index = 2, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ecx = 2, .edx = 7},
    {.function = 0x80000008, .eax = 0x3027, .ecx = 0x1234},
    {.function = 0x0d, .eax = 0x2ff, .ebx = 0x1234, .ecx = 0x5678},
};

static const struct kvm_cpuid_entry2 amd[] = {
    {.function = 0, .eax = 0x10, .ebx = 0x68747541, .edx = 0x69746e65, .ecx = 0x444d4163},
    {.function = 1, .eax = 0xa20f12, .ebx = 0x00020800, .ecx = 0x7ef8320b, .edx = 0x178bfbff},
    {.function = 0x80000008, .eax = 0x3030, .ecx = 0x700f},
    {.function = 0x8000001e, .eax = 0x1f, .ebx = 0x010f, .ecx = 0x300},
};

#define N(a) (uint32_t)(sizeof(a) / sizeof((a)[0]))

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid_entry2 *e, uint32_t n,
					   uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == idx)
			return &e[i];
	ck_abort_msg("leaf 0x%x.%u missing", fn, idx);
	return NULL;
}

START_TEST(core_bits)
{
	ck_assert_uint_eq(cpuid_core_bits(1), 0);
	ck_assert_uint_eq(cpuid_core_bits(2), 1);
	ck_assert_uint_eq(cpuid_core_bits(3), 2);
	ck_assert_uint_eq(cpuid_core_bits(4), 2);
	ck_assert_uint_eq(cpuid_core_bits(5), 3);
	ck_assert_uint_eq(cpuid_core_bits(255), 8);
}
END_TEST

START_TEST(intel_topology)
{
	struct kvm_cpuid_entry2 out[N(intel)];
	const struct kvm_cpuid_entry2 *e;

	ck_assert_int_eq(cpuid_vcpu_entries(intel, N(intel), 5, 6, out), 0);
	e = find(out, N(intel), 1, 0);
	ck_assert_uint_eq(e->ebx >> 24, 5);	     /* initial APIC id */
	ck_assert_uint_eq((e->ebx >> 16) & 0xff, 6); /* logical processors */
	ck_assert_uint_eq(e->ebx & 0xffff, 0x0800);  /* CLFLUSH size kept */
	ck_assert_uint_eq(e->edx, 0x0fabfbff | (1u << 28));
	ck_assert_uint_eq(e->ecx, 0x7ffafbff | (1u << 31));
	ck_assert_uint_eq(e->eax, 0x906ea);

	e = find(out, N(intel), 4, 0); /* L1d */
	ck_assert_uint_eq(e->eax >> 26, 5);
	ck_assert_uint_eq((e->eax >> 14) & 0xfff, 0);
	ck_assert_uint_eq(e->eax & 0x3fff, 0x0121);
	e = find(out, N(intel), 4, 3); /* L3 shared by all */
	ck_assert_uint_eq(e->eax >> 26, 5);
	ck_assert_uint_eq((e->eax >> 14) & 0xfff, 5);
	ck_assert_uint_eq(e->eax & 0x3fff, 0x0163);
	ck_assert_uint_eq(find(out, N(intel), 4, 4)->eax, 0); /* no cache stays empty */

	e = find(out, N(intel), 0xb, 0);
	ck_assert_uint_eq(e->eax, 0);
	ck_assert_uint_eq(e->ebx, 1);
	ck_assert_uint_eq(e->ecx, 0x100);
	ck_assert_uint_eq(e->edx, 5);
	e = find(out, N(intel), 0xb, 1);
	ck_assert_uint_eq(e->eax, 3); /* 6 cores: 3 bits */
	ck_assert_uint_eq(e->ebx, 6);
	ck_assert_uint_eq(e->ecx, 0x201);
	ck_assert_uint_eq(e->edx, 5);
	e = find(out, N(intel), 0xb, 2);
	ck_assert_uint_eq(e->ebx, 0);
	ck_assert_uint_eq(e->ecx, 2);
	ck_assert_uint_eq(e->edx, 5);

	/* Intel: 0x80000008 ECX is not touched; unrelated leaves untouched. */
	ck_assert_uint_eq(find(out, N(intel), 0x80000008, 0)->ecx, 0x1234);
	ck_assert_mem_eq(find(out, N(intel), 0xd, 0), &intel[10], sizeof(intel[10]));
}
END_TEST

START_TEST(single_cpu_no_htt)
{
	struct kvm_cpuid_entry2 out[N(intel)];
	const struct kvm_cpuid_entry2 *e;

	ck_assert_int_eq(cpuid_vcpu_entries(intel, N(intel), 0, 1, out), 0);
	e = find(out, N(intel), 1, 0);
	ck_assert_uint_eq(e->ebx >> 16, 1);
	ck_assert_uint_eq(e->edx & (1u << 28), 0);
	ck_assert_uint_eq(find(out, N(intel), 0xb, 1)->eax, 0);
	ck_assert_uint_eq(find(out, N(intel), 4, 3)->eax >> 14, 0);
}
END_TEST

START_TEST(amd_topology)
{
	struct kvm_cpuid_entry2 out[N(amd)];
	const struct kvm_cpuid_entry2 *e;

	ck_assert_int_eq(cpuid_vcpu_entries(amd, N(amd), 3, 4, out), 0);
	e = find(out, N(amd), 0x80000008, 0);
	ck_assert_uint_eq(e->ecx & 0xff, 3);	    /* NC = cores - 1 */
	ck_assert_uint_eq((e->ecx >> 12) & 0xf, 2); /* ApicIdCoreIdSize */
	ck_assert_uint_eq(e->eax, 0x3030);
	e = find(out, N(amd), 0x8000001e, 0);
	ck_assert_uint_eq(e->eax, 3);
	ck_assert_uint_eq(e->ebx & 0xff, 3);
	ck_assert_uint_eq((e->ebx >> 8) & 0xff, 0); /* one thread per core */
	ck_assert_uint_eq(e->ecx, 0);
	e = find(out, N(amd), 1, 0);
	ck_assert_uint_eq(e->ebx >> 24, 3);
}
END_TEST

START_TEST(rejects)
{
	struct kvm_cpuid_entry2 out[N(intel)];

	ck_assert_int_eq(cpuid_vcpu_entries(intel, N(intel), 0, 0, out), -EINVAL);
	ck_assert_int_eq(cpuid_vcpu_entries(intel, N(intel), 4, 4, out), -EINVAL);
	ck_assert_int_eq(cpuid_vcpu_entries(intel, N(intel), 0, 256, out), -EINVAL);
}
END_TEST

static Suite *cpuid_suite(void)
{
	Suite *s = suite_create("cpuid");
	TCase *tc = tcase_create("topology");

	tcase_add_test(tc, core_bits);
	tcase_add_test(tc, intel_topology);
	tcase_add_test(tc, single_cpu_no_htt);
	tcase_add_test(tc, amd_topology);
	tcase_add_test(tc, rejects);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(cpuid_suite)
