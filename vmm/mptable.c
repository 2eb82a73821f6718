// SPDX-License-Identifier: GPL-2.0-only
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "util/log.h"
#include "vmm/mptable.h"

#define MP_ISA_BUS     0
#define MP_NR_ISA_IRQS 16
/*
 * ISA IRQ n is IO-APIC pin n, as in KVM's default GSI routing (the in-kernel
 * PIT raises GSI 0, which KVM routes to pin 0). IRQ 2 is the PIC cascade and
 * gets no entry.
 */
#define MP_NR_INTSRC (MP_NR_ISA_IRQS - 1)
#define MP_NR_LINTSRC 2

/* CPU signature of family 6 and FPU|APIC feature flags: informational only for Linux. */
#define MP_CPU_SIGNATURE 0x600
#define MP_CPU_FEATURES	 ((1u << 0) | (1u << 9))

static uint8_t mp_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return (uint8_t)-sum;
}

uint64_t mptable_size(unsigned int ncpus)
{
	return sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
	       (uint64_t)ncpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) +
	       (MP_NR_INTSRC + MP_NR_LINTSRC) * sizeof(struct mpc_intsrc);
}

int mptable_write(struct guest_mem *m, unsigned int ncpus)
{
	uint64_t size = mptable_size(ncpus);
	uint8_t *base, *p;
	struct mpf_intel *mpf;
	struct mpc_table *mpc;
	uint8_t ioapic_id = (uint8_t)ncpus;

	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS) {
		log_err("mptable: %u vCPUs: between 1 and %u supported", ncpus, MPTABLE_MAX_CPUS);
		return -EINVAL;
	}
	if (MPTABLE_ADDR + size > MPTABLE_END)
		return -ENOSPC;
	base = mem_gpa_to_hva(m, MPTABLE_ADDR, size);
	if (!base)
		return -EFAULT;
	memset(base, 0, size);

	mpf = (struct mpf_intel *)base;
	mpc = (struct mpc_table *)(base + sizeof(*mpf));
	p = (uint8_t *)(mpc + 1);

	for (unsigned int i = 0; i < ncpus; i++) {
		struct mpc_cpu cpu = {
		    .type = MP_PROCESSOR,
		    .apicid = (uint8_t)i,
		    .apicver = MP_LAPIC_VERSION,
		    .cpuflag = MP_CPU_ENABLED | (i == 0 ? MP_CPU_BSP : 0),
		    .cpufeature = MP_CPU_SIGNATURE,
		    .featureflag = MP_CPU_FEATURES,
		};
		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
	}

	struct mpc_bus bus = {.type = MP_BUS, .busid = MP_ISA_BUS};
	memcpy(bus.bustype, "ISA   ", sizeof(bus.bustype));
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);

	struct mpc_ioapic ioapic = {
	    .type = MP_IOAPIC,
	    .apicid = ioapic_id,
	    .apicver = MP_IOAPIC_VERSION,
	    .flags = MP_IOAPIC_ENABLED,
	    .apicaddr = MP_IOAPIC_ADDR,
	};
	memcpy(p, &ioapic, sizeof(ioapic));
	p += sizeof(ioapic);

	for (unsigned int irq = 0; irq < MP_NR_ISA_IRQS; irq++) {
		struct mpc_intsrc src = {
			.type = MP_INTSRC,
			.irqtype = MP_INT,
			.irqflag = 0, /* conforming polarity and trigger: ISA edge/high */
			.srcbus = MP_ISA_BUS,
			.srcbusirq = (uint8_t)irq,
			.dstapic = ioapic_id,
			.dstirq = (uint8_t)irq,
		};
		if (irq == 2)
			continue;
		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
	}

	for (unsigned int lint = 0; lint < MP_NR_LINTSRC; lint++) {
		struct mpc_intsrc src = {
		    .type = MP_LINTSRC,
		    .irqtype = lint == 0 ? MP_EXTINT : MP_NMI,
		    .srcbus = MP_ISA_BUS,
		    .srcbusirq = 0,
		    .dstapic = 0xff, /* all local APICs */
		    .dstirq = (uint8_t)lint,
		};
		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
	}
	assert((uint64_t)(p - base) == size);

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(size - sizeof(*mpf));
	mpc->spec = MP_SPEC_REV;
	memcpy(mpc->oem, "SHMVM   ", sizeof(mpc->oem));
	memcpy(mpc->productid, "SHMVM 0.1   ", sizeof(mpc->productid));
	mpc->oemcount = (uint16_t)(ncpus + 2 + MP_NR_INTSRC + MP_NR_LINTSRC);
	mpc->lapic = MP_LAPIC_ADDR;
	mpc->checksum = mp_checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(MPTABLE_ADDR + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = mp_checksum(mpf, sizeof(*mpf));
	return 0;
}
