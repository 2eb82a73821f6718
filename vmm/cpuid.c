// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/cpuid.h"

#define CPUID_1_EDX_HTT	       (1u << 28)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)

/* Leaf 0xB / 0x1F level types (ECX[15:8]). */
#define TOPO_LEVEL_INVALID 0
#define TOPO_LEVEL_SMT	   1
#define TOPO_LEVEL_CORE	   2

unsigned int cpuid_core_bits(unsigned int ncpus)
{
	unsigned int bits = 0;

	while (bits < 32 && (1u << bits) < ncpus)
		bits++;
	return bits;
}

static bool cpuid_is_amd(const struct kvm_cpuid_entry2 *e, uint32_t nent)
{
	for (uint32_t i = 0; i < nent; i++) {
		if (e[i].function != 0)
			continue;
		/* "AuthenticAMD" / "HygonGenuine": EBX "Auth" / "Hygo". */
		return e[i].ebx == 0x68747541 || e[i].ebx == 0x6f677948;
	}
	return false;
}

/* x2APIC topology: level 0 = SMT (one thread per core), level 1 = cores, then invalid. */
static void cpuid_fix_ext_topology(struct kvm_cpuid_entry2 *e, unsigned int vcpu,
				   unsigned int ncpus)
{
	uint32_t level = e->index;

	e->edx = vcpu;
	if (level == 0) {
		e->eax = 0;
		e->ebx = 1;
		e->ecx = level | (TOPO_LEVEL_SMT << 8);
	} else if (level == 1) {
		e->eax = cpuid_core_bits(ncpus);
		e->ebx = ncpus;
		e->ecx = level | (TOPO_LEVEL_CORE << 8);
	} else {
		e->eax = 0;
		e->ebx = 0;
		e->ecx = level | (TOPO_LEVEL_INVALID << 8);
	}
}

int cpuid_vcpu_entries(const struct kvm_cpuid_entry2 *supported, uint32_t nent, unsigned int vcpu,
		       unsigned int ncpus, struct kvm_cpuid_entry2 *out)
{
	bool amd = cpuid_is_amd(supported, nent);

	if (ncpus == 0 || ncpus > CPUID_MAX_CPUS || vcpu >= ncpus)
		return -EINVAL;
	memcpy(out, supported, nent * sizeof(*out));

	for (uint32_t i = 0; i < nent; i++) {
		struct kvm_cpuid_entry2 *e = &out[i];

		switch (e->function) {
		case 1:
			e->ebx = (e->ebx & 0x0000ffffu) | (vcpu << 24) | (ncpus << 16);
			if (ncpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			break;
		case 4: {
			uint32_t level = (e->eax >> 5) & 7;
			uint32_t sharing = level >= 3 ? ncpus - 1 : 0;

			if ((e->eax & 0x1f) == 0) /* no cache at this index */
				break;
			e->eax &= 0x3fff; /* keep type, level, self-init, fully assoc. */
			e->eax |= ((ncpus - 1) & 0x3f) << 26;
			e->eax |= (sharing & 0xfff) << 14;
			break;
		}
		case 0xb:
		case 0x1f:
			cpuid_fix_ext_topology(e, vcpu, ncpus);
			break;
		case 0x80000008:
			if (amd)
				e->ecx = (e->ecx & ~0xf0ffu) | (cpuid_core_bits(ncpus) << 12) |
					 (ncpus - 1);
			break;
		case 0x8000001e:
			if (amd) {
				e->eax = vcpu;	      /* extended APIC id */
				e->ebx = vcpu & 0xff; /* core id; one thread per core */
				e->ecx = 0;	      /* node 0, one node */
			}
			break;
		default:
			break;
		}
	}
	return 0;
}
