// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "vmm/x86_boot.h"

uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0xffffu) | ((uint64_t)(limit & 0xf0000u) << 32) |
	       ((uint64_t)(flags & 0xf0ffu) << 40);
}

void gdt_to_segment(uint64_t desc, uint16_t selector, struct kvm_segment *seg)
{
	uint32_t limit = (uint32_t)((desc & 0xffff) | ((desc >> 32) & 0xf0000));

	memset(seg, 0, sizeof(*seg));
	seg->base = ((desc >> 16) & 0xffffff) | ((desc >> 32) & 0xff000000);
	seg->selector = selector;
	seg->type = (desc >> 40) & 0xf;
	seg->s = (desc >> 44) & 1;
	seg->dpl = (desc >> 45) & 3;
	seg->present = (desc >> 47) & 1;
	seg->avl = (desc >> 52) & 1;
	seg->l = (desc >> 53) & 1;
	seg->db = (desc >> 54) & 1;
	seg->g = (desc >> 55) & 1;
	/* KVM takes the limit in bytes. */
	seg->limit = seg->g ? (limit << 12) | 0xfff : limit;
	seg->unusable = !seg->present;
}

static void gdt_fill(uint64_t gdt[BOOT_GDT_ENTRIES], bool code64)
{
	memset(gdt, 0, BOOT_GDT_ENTRIES * sizeof(gdt[0]));
	gdt[BOOT_SEL_CS / 8] = gdt_entry(code64 ? GDT_FLAGS_CODE64 : GDT_FLAGS_CODE32, 0, 0xfffff);
	gdt[BOOT_SEL_DS / 8] = gdt_entry(GDT_FLAGS_DATA, 0, 0xfffff);
	/* Upper half of the 16-byte TSS descriptor (base 63:32) stays zero. */
	gdt[BOOT_SEL_TSS / 8] = gdt_entry(GDT_FLAGS_TSS, 0, 0x67);
}

int x86_gdt_write(struct guest_mem *m, bool code64)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];
	void *p = mem_gpa_to_hva(m, BOOT_GDT_ADDR, sizeof(gdt));

	if (!p)
		return -EFAULT;
	gdt_fill(gdt, code64);
	memcpy(p, gdt, sizeof(gdt));
	return 0;
}

int x86_page_tables_write(struct guest_mem *m)
{
	uint64_t *pml4 = mem_gpa_to_hva(m, BOOT_PML4_ADDR, 4096);
	uint64_t *pdpt = mem_gpa_to_hva(m, BOOT_PDPT_ADDR, 4096);
	uint64_t *pd = mem_gpa_to_hva(m, BOOT_PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_ADDR | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * 4096) | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i * 2 * MiB) | PTE_PRESENT | PTE_RW | PTE_PS;
	return 0;
}

static void sregs_segments(struct kvm_sregs *s, bool code64)
{
	uint64_t gdt[BOOT_GDT_ENTRIES];

	gdt_fill(gdt, code64);
	gdt_to_segment(gdt[BOOT_SEL_CS / 8], BOOT_SEL_CS, &s->cs);
	gdt_to_segment(gdt[BOOT_SEL_DS / 8], BOOT_SEL_DS, &s->ds);
	s->es = s->fs = s->gs = s->ss = s->ds;
	gdt_to_segment(gdt[BOOT_SEL_TSS / 8], BOOT_SEL_TSS, &s->tr);
	s->gdt.base = BOOT_GDT_ADDR;
	s->gdt.limit = BOOT_GDT_LIMIT;
	/* No IDT: an early exception is a triple fault, i.e. a visible shutdown. */
	s->idt.base = 0;
	s->idt.limit = 0;
}

void x86_sregs_long_mode(struct kvm_sregs *s, uint64_t cr3)
{
	sregs_segments(s, true);
	s->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	s->cr3 = cr3;
	s->cr4 = X86_CR4_PAE;
	s->efer = X86_EFER_LME | X86_EFER_LMA;
}

void x86_sregs_protected_mode(struct kvm_sregs *s)
{
	sregs_segments(s, false);
	s->cr0 = X86_CR0_PE | X86_CR0_ET;
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = 0;
}
