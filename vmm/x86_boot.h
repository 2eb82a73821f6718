/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fixed low-memory layout every boot path shares, and the x86 state it
 * implies: a GDT, identity page tables for the first 4 GiB, and the segment
 * and control registers for 64-bit (long mode) or 32-bit protected-mode entry.
 */
#ifndef SHMVM_VMM_X86_BOOT_H
#define SHMVM_VMM_X86_BOOT_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "mm/guest_mem.h"
#include "util/compiler.h"

/* Guest-physical layout below 1 MiB (all inside RAM: MEM_MIN_SIZE is 16 MiB). */
#define BOOT_GDT_ADDR	     0x500ULL
#define BOOT_START_INFO_ADDR 0x6000ULL /* PVH hvm_start_info, modlist, memmap */
#define BOOT_ZERO_PAGE_ADDR  0x7000ULL /* Linux boot_params */
#define BOOT_STACK_TOP	     0x8ff0ULL
#define BOOT_PML4_ADDR	     0x9000ULL
#define BOOT_PDPT_ADDR	     0xa000ULL
#define BOOT_PD_ADDR	     0xb000ULL /* four page directories, 0xb000..0xefff */
#define BOOT_PT_END	     0xf000ULL
#define BOOT_CMDLINE_ADDR    0x20000ULL
#define BOOT_CMDLINE_MAX     0x10000ULL	 /* bytes available at BOOT_CMDLINE_ADDR */
#define BOOT_HIGH_ADDR	     0x100000ULL /* first byte a kernel may occupy */

/* GDT selectors (Linux's __BOOT_CS / __BOOT_DS) and the TSS KVM needs in TR. */
#define BOOT_SEL_CS	 0x10
#define BOOT_SEL_DS	 0x18
#define BOOT_SEL_TSS	 0x20 /* 16-byte system descriptor: entries 4 and 5 */
#define BOOT_GDT_ENTRIES 6
#define BOOT_GDT_LIMIT	 (BOOT_GDT_ENTRIES * 8 - 1)

/* Descriptor flags, kernel GDT_ENTRY() encoding: G D/B L AVL in 15..12, P DPL S type in 7..0. */
#define GDT_FLAGS_CODE64 0xa09b
#define GDT_FLAGS_CODE32 0xc09b
#define GDT_FLAGS_DATA	 0xc093
#define GDT_FLAGS_TSS	 0x008b

#define X86_CR0_PE   (1ULL << 0)
#define X86_CR0_MP   (1ULL << 1)
#define X86_CR0_ET   (1ULL << 4)
#define X86_CR0_NE   (1ULL << 5)
#define X86_CR0_WP   (1ULL << 16)
#define X86_CR0_PG   (1ULL << 31)
#define X86_CR4_PAE  (1ULL << 5)
#define X86_EFER_LME (1ULL << 8)
#define X86_EFER_LMA (1ULL << 10)

#define PTE_PRESENT (1ULL << 0)
#define PTE_RW	    (1ULL << 1)
#define PTE_PS	    (1ULL << 7)

/* One 8-byte segment descriptor. */
uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);
/* The kvm_segment a descriptor describes once loaded with @selector. */
void gdt_to_segment(uint64_t desc, uint16_t selector, struct kvm_segment *seg);

/* Write the GDT at BOOT_GDT_ADDR; @code64 picks a 64-bit or 32-bit __BOOT_CS. */
int x86_gdt_write(struct guest_mem *m, bool code64) __must_check;
/* Identity-map [0, 4 GiB) with 2 MiB pages: PML4 at BOOT_PML4_ADDR. */
int x86_page_tables_write(struct guest_mem *m) __must_check;

/* Long-mode entry: segments from the 64-bit GDT, CR0/CR3/CR4/EFER; @s starts as KVM_GET_SREGS. */
void x86_sregs_long_mode(struct kvm_sregs *s, uint64_t cr3);
/* 32-bit protected mode, paging off (PVH). */
void x86_sregs_protected_mode(struct kvm_sregs *s);

#endif
