/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Intel MultiProcessor Specification 1.4 tables: how a guest without ACPI
 * finds its CPUs, the IO-APIC and the ISA interrupt routing. The floating
 * pointer sits at the start of the last KiB of base memory (0x9fc00), where
 * Linux scans; the configuration table follows it.
 */
#ifndef SHMVM_VMM_MPTABLE_H
#define SHMVM_VMM_MPTABLE_H

#include <stdint.h>

#include "mm/guest_mem.h"
#include "util/compiler.h"

#define MPTABLE_ADDR 0x9fc00ULL
#define MPTABLE_END  0x100000ULL /* the table stays inside the e820-reserved low range */
/* xAPIC ids are 8 bits, 0xff is broadcast, and the IO-APIC takes id ncpus. */
#define MPTABLE_MAX_CPUS 254

#define MP_IOAPIC_ADDR	  0xfec00000u
#define MP_LAPIC_ADDR	  0xfee00000u
#define MP_IOAPIC_VERSION 0x11
#define MP_LAPIC_VERSION  0x14
#define MP_SPEC_REV	  4

enum mp_entry_type {
	MP_PROCESSOR = 0,
	MP_BUS = 1,
	MP_IOAPIC = 2,
	MP_INTSRC = 3,
	MP_LINTSRC = 4,
};

enum mp_irq_type {
	MP_INT = 0,
	MP_NMI = 1,
	MP_SMI = 2,
	MP_EXTINT = 3,
};

#define MP_CPU_ENABLED	  0x01
#define MP_CPU_BSP	  0x02
#define MP_IOAPIC_ENABLED 0x01

struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;  /* configuration table */
	uint8_t length;	   /* in 16-byte units: 1 */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature1; /* 0: a configuration table is present */
	uint8_t feature2;
	uint8_t feature3, feature4, feature5;
} __packed;
_Static_assert(sizeof(struct mpf_intel) == 16, "MP floating pointer");

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;   /* base table incl. entries */
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount; /* number of entries */
	uint32_t lapic;
	uint16_t extended_table_length;
	uint8_t extended_table_checksum;
	uint8_t reserved;
} __packed;
_Static_assert(sizeof(struct mpc_table) == 44, "MP configuration table header");

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature; /* family/model/stepping signature */
	uint32_t featureflag;
	uint32_t reserved[2];
} __packed;
_Static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry");

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __packed;
_Static_assert(sizeof(struct mpc_bus) == 8, "MP bus entry");

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __packed;
_Static_assert(sizeof(struct mpc_ioapic) == 8, "MP IO-APIC entry");

/* Shared layout of the I/O (type 3) and local (type 4) interrupt entries. */
struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __packed;
_Static_assert(sizeof(struct mpc_intsrc) == 8, "MP interrupt entry");

/* Bytes the tables take for @ncpus processors. */
uint64_t mptable_size(unsigned int ncpus);
/* Write both tables for @ncpus (1..MPTABLE_MAX_CPUS) vCPUs at MPTABLE_ADDR. */
int mptable_write(struct guest_mem *m, unsigned int ncpus) __must_check;

#endif
