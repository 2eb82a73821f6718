/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-vCPU CPUID: the KVM_GET_SUPPORTED_CPUID table with the topology
 * leaves describing vCPU @vcpu of a one-socket, one-thread-per-core guest of
 * @ncpus cores (APIC id = vCPU index), and the hypervisor bit set.
 */
#ifndef SHMVM_VMM_CPUID_H
#define SHMVM_VMM_CPUID_H

#include <stdint.h>

#include <linux/kvm.h>

#include "util/compiler.h"

#define CPUID_MAX_CPUS 255 /* leaf 1 EBX[23:16] and the xAPIC id are 8 bits */

/* Bits of the APIC id needed to number @ncpus cores: ceil(log2(ncpus)). */
unsigned int cpuid_core_bits(unsigned int ncpus);

/*
 * Copy the @nent entries of @supported to @out (room for @nent) and rewrite
 * leaves 1, 4, 0xB, 0x1F, and on AMD/Hygon 0x80000008 and 0x8000001E, for
 * vCPU @vcpu < @ncpus <= CPUID_MAX_CPUS. Other leaves are left as KVM gave them.
 */
int cpuid_vcpu_entries(const struct kvm_cpuid_entry2 *supported, uint32_t nent, unsigned int vcpu,
		       unsigned int ncpus, struct kvm_cpuid_entry2 *out) __must_check;

#endif
