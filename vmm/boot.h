/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Putting a kernel into guest memory and describing how to enter it. Pure
 * over struct guest_mem and the <linux/kvm.h> register structs: nothing here
 * issues an ioctl, so all of it runs in unit tests without /dev/kvm.
 *
 * Three ways in:
 *  - LINUX64: a bzImage (boot protocol >= 2.12), entered at its 64-bit entry
 *    point in long mode with RSI = boot_params;
 *  - PVH32:   an ELF vmlinux with a XEN_ELFNOTE_PHYS32_ENTRY note, entered in
 *    32-bit protected mode with EBX = hvm_start_info;
 *  - FLAT64:  raw bytes at 1 MiB entered in long mode (tiny test guests).
 * All three share the low-memory layout of vmm/x86_boot.h, the identity page
 * tables, the GDT, the e820 map and the MP table.
 */
#ifndef SHMVM_VMM_BOOT_H
#define SHMVM_VMM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "mm/guest_mem.h"
#include "util/compiler.h"

enum boot_mode {
	BOOT_MODE_LINUX64,
	BOOT_MODE_PVH32,
	BOOT_MODE_FLAT64,
};

struct boot_cfg {
	const char *kernel;  /* path */
	const char *initrd;  /* path or NULL */
	const char *cmdline; /* NULL means empty */
	unsigned int ncpus;  /* 1..MPTABLE_MAX_CPUS */
	bool flat;	     /* load @kernel as a raw flat binary */
};

struct boot_entry {
	enum boot_mode mode;
	uint64_t rip, rsp;
	uint64_t rsi; /* LINUX64: boot_params GPA */
	uint64_t rbx; /* PVH32: hvm_start_info GPA */
	uint64_t cr3; /* LINUX64/FLAT64: identity page tables */
	uint64_t gdt_base;
	uint16_t gdt_limit;
};

/* A file's bytes as the loaders see them (a read-only mapping, or a test buffer). */
struct boot_blob {
	const char *name; /* for error messages */
	const uint8_t *data;
	size_t size;
};

/* Largest flat binary accepted. */
#define BOOT_FLAT_MAX (8 * MiB)

/*
 * Detect the format (bzImage by "HdrS" at 0x202, ELF by \x7fELF; flat only
 * when cfg->flat), load kernel, initrd, command line and the boot structures
 * (e820, MP table, page tables, GDT) into @m. On a bad input: one log_err()
 * line naming the file and what is wrong, and -errno.
 */
int boot_load(struct guest_mem *m, const struct boot_cfg *cfg, struct boot_entry *e) __must_check;

/* Same, from buffers already in memory (@initrd may be NULL); what boot_load() calls. */
int boot_load_blobs(struct guest_mem *m, const struct boot_blob *kernel,
		    const struct boot_blob *initrd, const char *cmdline, unsigned int ncpus,
		    bool flat, struct boot_entry *e) __must_check;

/*
 * Fill the register state for @e: @s starts as KVM_GET_SREGS returned it;
 * segments, CR0/CR3/CR4/EFER, GDT and IDT are set. @r is overwritten. Pure.
 */
void boot_entry_regs(const struct boot_entry *e, struct kvm_sregs *s, struct kvm_regs *r);

/* End of the RAM region that starts at GPA 0 (0 if none). */
uint64_t boot_low_ram_end(const struct guest_mem *m);
/* Copy @b to guest-physical @gpa; -EFAULT if any byte falls outside RAM. */
int boot_blob_copy(struct guest_mem *m, uint64_t gpa, const struct boot_blob *b) __must_check;
/*
 * Write @cmdline (NULL = "") NUL-terminated at BOOT_CMDLINE_ADDR if its length
 * is at most @max_len (and fits BOOT_CMDLINE_MAX); logs against @kname otherwise.
 */
int boot_cmdline_write(struct guest_mem *m, const char *kname, const char *cmdline,
		       uint64_t max_len) __must_check;

#endif
