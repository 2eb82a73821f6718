/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Linux x86 boot protocol (Documentation/arch/x86/boot.rst) for a bzImage
 * entered at its 64-bit entry point: parse and check the setup header,
 * place the kernel and the initrd, build boot_params ("zero page").
 */
#ifndef SHMVM_VMM_BZIMAGE_H
#define SHMVM_VMM_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "mm/guest_mem.h"
#include "util/compiler.h"
#include "vmm/boot.h"
#include "vmm/e820.h"

#define BZ_HDR_OFFSET	  0x1f1	      /* struct setup_header in the file and in boot_params */
#define BZ_MAGIC_OFFSET	  0x202	      /* "HdrS" */
#define BZ_MAGIC	  0x53726448u /* "HdrS" little-endian */
#define BZ_MIN_VERSION	  0x020c      /* 2.12: xloadflags, 64-bit entry */
#define BZ_ENTRY64_OFFSET 0x200
#define BZ_LOADER_TYPE	  0xff /* "undefined" boot loader */

struct bzimage {
	struct setup_header hdr; /* as found in the file, zero beyond its end */
	size_t hdr_len;		 /* bytes of setup header the file declares (from 0x1f1) */
	uint64_t kernel_off;	 /* file offset of the protected-mode kernel */
	uint64_t kernel_size;	 /* bytes of it to load: syssize * 16 */
	uint64_t mem_size;	 /* bytes it needs where loaded: max(init_size, kernel_size) */
};

/* True if @buf looks like a bzImage ("HdrS" at 0x202); no other check. */
bool bzimage_detect(const uint8_t *buf, size_t len);

/* Check the setup header of @buf (the whole file); logs "@name: ..." on a rejection. */
int bzimage_parse(const char *name, const uint8_t *buf, size_t len,
		  struct bzimage *bz) __must_check;

/*
 * Load address: pref_address if the kernel is relocatable and
 * [pref_address, +mem_size) fits below @low_end, else BOOT_HIGH_ADDR if that fits.
 */
int bzimage_place_kernel(const char *name, const struct bzimage *bz, uint64_t low_end,
			 uint64_t *addr) __must_check;

/*
 * Initrd address: page-aligned, as high as possible with the whole initrd at
 * or below initrd_addr_max and below @low_end, not below @kernel_end.
 */
int bzimage_place_initrd(const char *name, const struct bzimage *bz, uint64_t size,
			 uint64_t kernel_end, uint64_t low_end, uint64_t *addr) __must_check;

/*
 * Load @kernel (parsed into @bz), @initrd (may be NULL) and @cmdline, and
 * write boot_params with @t at BOOT_ZERO_PAGE_ADDR. Fills rip/rsi/rsp of @e.
 */
int bzimage_load(struct guest_mem *m, const struct bzimage *bz, const struct boot_blob *kernel,
		 const struct boot_blob *initrd, const char *cmdline, const struct e820_table *t,
		 struct boot_entry *e) __must_check;

#endif
