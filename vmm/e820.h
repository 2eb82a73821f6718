/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest's physical memory map (BIOS e820 form), built from guest_mem.
 * Shared by the bzImage path (boot_params.e820_table) and PVH (memmap).
 */
#ifndef SHMVM_VMM_E820_H
#define SHMVM_VMM_E820_H

#include <asm/bootparam.h>
#include <asm/e820.h>

#include "mm/guest_mem.h"
#include "util/compiler.h"

/* [E820_LOW_RESERVED_START, E820_LOW_RESERVED_END): EBDA (MP table), VGA hole, BIOS area. */
#define E820_LOW_RESERVED_START 0x9fc00ULL
#define E820_LOW_RESERVED_END	0x100000ULL

/* Room for RAM below the EBDA, the reserved range, RAM below the hole, RAM above 4 GiB. */
#define E820_TABLE_MAX 8

struct e820_table {
	unsigned int nr;
	struct boot_e820_entry e[E820_TABLE_MAX];
};

/* RAM of @m minus the low reserved range, plus that range as E820_RESERVED; sorted by address. */
int e820_build(const struct guest_mem *m, struct e820_table *t) __must_check;

#endif
