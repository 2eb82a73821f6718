// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "util/log.h"
#include "vmm/bzimage.h"
#include "vmm/x86_boot.h"

#define SECTOR 512

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

bool bzimage_detect(const uint8_t *buf, size_t len)
{
	return len >= BZ_MAGIC_OFFSET + 4 && le32(buf + BZ_MAGIC_OFFSET) == BZ_MAGIC;
}

int bzimage_parse(const char *name, const uint8_t *buf, size_t len, struct bzimage *bz)
{
	struct setup_header *h = &bz->hdr;
	uint64_t setup_size;

	memset(bz, 0, sizeof(*bz));
	if (len < BZ_HDR_OFFSET + sizeof(*h)) {
		log_err("%s: truncated: %zu bytes, shorter than a setup header", name, len);
		return -ENOEXEC;
	}
	if (!bzimage_detect(buf, len)) {
		log_err("%s: not a bzImage: no \"HdrS\" magic at 0x%x", name, BZ_MAGIC_OFFSET);
		return -ENOEXEC;
	}
	/* The byte at 0x201 is the jump's offset: the header ends at 0x202 + it. */
	bz->hdr_len = MIN((size_t)(BZ_MAGIC_OFFSET + buf[0x201] - BZ_HDR_OFFSET), sizeof(*h));
	memcpy(h, buf + BZ_HDR_OFFSET, bz->hdr_len);

	if (h->version < BZ_MIN_VERSION) {
		log_err("%s: boot protocol %u.%02u is too old: 64-bit entry needs 2.12 or later",
			name, h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	if (bz->hdr_len < offsetof(struct setup_header, handover_offset)) {
		log_err("%s: setup header is %zu bytes, too short for protocol %u.%02u", name,
			bz->hdr_len, h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	if (!(h->xloadflags & XLF_KERNEL_64)) {
		log_err("%s: kernel has no 64-bit entry point (XLF_KERNEL_64 not set)", name);
		return -ENOEXEC;
	}
	if (!(h->loadflags & LOADED_HIGH)) {
		log_err(
		    "%s: kernel does not load at 1 MiB (LOADED_HIGH not set): zImage unsupported",
		    name);
		return -ENOEXEC;
	}
	setup_size = ((uint64_t)(h->setup_sects ? h->setup_sects : 4) + 1) * SECTOR;
	bz->kernel_off = setup_size;
	bz->kernel_size = (uint64_t)h->syssize * 16;
	if (h->syssize == 0) {
		log_err("%s: setup header says the kernel is empty (syssize 0)", name);
		return -ENOEXEC;
	}
	/* Signed images carry their signature after the kernel: a longer file is fine. */
	if (setup_size > len || bz->kernel_size > len - setup_size) {
		log_err("%s: truncated: %zu bytes, setup (%llu) + kernel (%llu) need more", name,
			len, (unsigned long long)setup_size, (unsigned long long)bz->kernel_size);
		return -ENOEXEC;
	}
	if (h->init_size == 0) {
		log_err("%s: setup header has init_size 0", name);
		return -ENOEXEC;
	}
	bz->mem_size = MAX((uint64_t)h->init_size, bz->kernel_size);
	return 0;
}

static bool range_fits(uint64_t addr, uint64_t size, uint64_t low_end)
{
	return addr <= low_end && size <= low_end - addr;
}

int bzimage_place_kernel(const char *name, const struct bzimage *bz, uint64_t low_end,
			 uint64_t *addr)
{
	uint64_t pref = bz->hdr.pref_address;

	if (bz->hdr.relocatable_kernel && pref >= BOOT_HIGH_ADDR &&
	    range_fits(pref, bz->mem_size, low_end)) {
		*addr = pref;
		return 0;
	}
	if (range_fits(BOOT_HIGH_ADDR, bz->mem_size, low_end)) {
		*addr = BOOT_HIGH_ADDR;
		return 0;
	}
	log_err(
	    "%s: kernel needs %llu MiB (init_size) from 1 MiB, RAM below 4 GiB ends at %llu MiB",
	    name, (unsigned long long)(bz->mem_size + MiB - 1) / MiB,
	    (unsigned long long)low_end / MiB);
	return -ENOMEM;
}

int bzimage_place_initrd(const char *name, const struct bzimage *bz, uint64_t size,
			 uint64_t kernel_end, uint64_t low_end, uint64_t *addr)
{
	uint64_t top = MIN((uint64_t)bz->hdr.initrd_addr_max + 1, low_end);
	uint64_t a;

	if (size > top || (a = ALIGN_DOWN(top - size, 4096ULL)) < kernel_end) {
		log_err("%s: initrd does not fit: %llu bytes between the kernel's end 0x%llx and "
			"0x%llx",
			name, (unsigned long long)size, (unsigned long long)kernel_end,
			(unsigned long long)top);
		return -ENOMEM;
	}
	*addr = a;
	return 0;
}

int bzimage_load(struct guest_mem *m, const struct bzimage *bz, const struct boot_blob *kernel,
		 const struct boot_blob *initrd, const char *cmdline, const struct e820_table *t,
		 struct boot_entry *e)
{
	uint64_t low_end = boot_low_ram_end(m);
	struct boot_params *bp;
	uint64_t load, initrd_addr = 0;
	struct boot_blob payload = {
	    .name = kernel->name,
	    .data = kernel->data + bz->kernel_off,
	    .size = bz->kernel_size,
	};
	int rc;

	rc = bzimage_place_kernel(kernel->name, bz, low_end, &load);
	if (rc)
		return rc;
	if (initrd) {
		rc = bzimage_place_initrd(initrd->name, bz, initrd->size, load + bz->mem_size,
					  low_end, &initrd_addr);
		if (rc)
			return rc;
	}
	rc = boot_cmdline_write(m, kernel->name, cmdline, bz->hdr.cmdline_size);
	if (rc)
		return rc;
	bp = mem_gpa_to_hva(m, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	if (!bp)
		return -EFAULT;
	rc = boot_blob_copy(m, load, &payload);
	if (!rc && initrd)
		rc = boot_blob_copy(m, initrd_addr, initrd);
	if (rc)
		return rc;

	/* A clean zero page with only the setup header copied in, as boot.rst asks. */
	memset(bp, 0, sizeof(*bp));
	memcpy(&bp->hdr, kernel->data + BZ_HDR_OFFSET, bz->hdr_len);
	bp->hdr.type_of_loader = BZ_LOADER_TYPE;
	bp->hdr.loadflags =
	    (uint8_t)((bp->hdr.loadflags | LOADED_HIGH) & ~(KASLR_FLAG | QUIET_FLAG));
	bp->hdr.code32_start = (uint32_t)load;
	bp->hdr.cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	bp->ext_cmd_line_ptr = 0;
	bp->hdr.ramdisk_image = (uint32_t)initrd_addr;
	bp->hdr.ramdisk_size = initrd ? (uint32_t)initrd->size : 0;
	bp->ext_ramdisk_image = (uint32_t)(initrd_addr >> 32);
	bp->ext_ramdisk_size = initrd ? (uint32_t)((uint64_t)initrd->size >> 32) : 0;
	bp->hdr.setup_data = 0;
	if (t->nr > E820_MAX_ENTRIES_ZEROPAGE)
		return -E2BIG;
	bp->e820_entries = (uint8_t)t->nr;
	memcpy(bp->e820_table, t->e, t->nr * sizeof(t->e[0]));

	e->mode = BOOT_MODE_LINUX64;
	e->rip = load + BZ_ENTRY64_OFFSET;
	e->rsi = BOOT_ZERO_PAGE_ADDR;
	e->rsp = BOOT_STACK_TOP;
	return 0;
}
