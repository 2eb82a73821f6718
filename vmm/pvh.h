/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * PVH boot of an ELF64 vmlinux: PT_LOAD segments at their physical
 * addresses, entry from the XEN_ELFNOTE_PHYS32_ENTRY note, and an
 * hvm_start_info (Xen public/arch-x86/hvm/start_info.h layout) in EBX.
 */
#ifndef SHMVM_VMM_PVH_H
#define SHMVM_VMM_PVH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm/guest_mem.h"
#include "util/compiler.h"
#include "vmm/boot.h"
#include "vmm/e820.h"
#include "vmm/x86_boot.h"

#define XEN_HVM_START_MAGIC_VALUE 0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY  18

struct hvm_start_info {
	uint32_t magic;	  /* XEN_HVM_START_MAGIC_VALUE */
	uint32_t version; /* 1: memmap fields valid */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr; /* array of hvm_modlist_entry */
	uint64_t cmdline_paddr; /* NUL-terminated */
	uint64_t rsdp_paddr;	/* 0: no ACPI */
	uint64_t memmap_paddr;	/* array of hvm_memmap_table_entry */
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info");

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry");

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type; /* E820 types */
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry");

/* Where the pieces go inside the start_info page. */
#define PVH_MODLIST_ADDR (BOOT_START_INFO_ADDR + 0x40)
#define PVH_MEMMAP_ADDR	 (BOOT_START_INFO_ADDR + 0x80)

struct pvh_image {
	uint64_t entry;	   /* 32-bit physical entry point */
	uint64_t load_end; /* first byte above every PT_LOAD segment */
};

/* True if @buf starts with the ELF magic. */
bool pvh_detect(const uint8_t *buf, size_t len);

/*
 * Check the ELF64 x86-64 headers of @buf, every PT_LOAD segment against the
 * file and against the RAM of @m (at or above 1 MiB), and find the PHYS32
 * entry note. Logs "@name: ..." on a rejection.
 */
int pvh_parse(const char *name, const uint8_t *buf, size_t len, const struct guest_mem *m,
	      struct pvh_image *img) __must_check;

/*
 * Copy the segments (zeroing p_memsz beyond p_filesz), the initrd (may be
 * NULL; placed page-aligned as high as fits in low RAM, above the kernel),
 * the command line and start_info. Fills rip/rbx of @e.
 */
int pvh_load(struct guest_mem *m, const struct pvh_image *img, const struct boot_blob *kernel,
	     const struct boot_blob *initrd, const char *cmdline, const struct e820_table *t,
	     struct boot_entry *e) __must_check;

#endif
