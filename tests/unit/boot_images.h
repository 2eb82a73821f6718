/* SPDX-License-Identifier: GPL-2.0-only */
/* Synthetic kernels for the boot tests: a bzImage and an ELF vmlinux, built from raw offsets. */
#ifndef SHMVM_TESTS_BOOT_IMAGES_H
#define SHMVM_TESTS_BOOT_IMAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* bzImage, fields at the offsets of Documentation/arch/x86/boot.rst. */
struct bz_spec {
	uint8_t setup_sects;
	uint16_t version;
	uint16_t xloadflags;
	uint8_t loadflags;
	uint8_t relocatable;
	uint32_t syssize_bytes; /* protected-mode kernel bytes in the file */
	uint32_t init_size;
	uint64_t pref_address;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	size_t extra; /* bytes appended after the kernel (a signature) */
};

/* Protocol 2.15, 64 KiB kernel, init_size 4 MiB, pref_address 16 MiB. */
extern const struct bz_spec bz_good;
/* calloc()ed image; the kernel bytes are a known pattern. */
uint8_t *bz_build(const struct bz_spec *s, size_t *len);

/* vmlinux: one PT_LOAD at 16 MiB, one PT_NOTE with Linux and Xen notes. */
#define SEG_OFF	   0x1000
#define SEG_FILESZ 0x2000
#define SEG_MEMSZ  0x3000
#define SEG_PADDR  0x1000000ULL
#define NOTE_OFF   0x400
#define ENTRY	   0x1000123ULL

struct elf_spec {
	bool note;	     /* include the PHYS32_ENTRY note */
	unsigned int descsz; /* 4 or 8 */
	uint64_t paddr;
	uint64_t filesz;
	uint64_t offset;
};

extern const struct elf_spec elf_good;
uint8_t *elf_build(const struct elf_spec *s, size_t *len);

uint32_t get32(const uint8_t *p);

#endif
