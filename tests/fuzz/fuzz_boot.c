// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the kernel loaders (vmm/boot.c boot_load_blobs(),
 * vmm/bzimage.c, vmm/pvh.c): a kernel file, an initrd size and a command
 * line, loaded into a small fake guest RAM (no KVM: the loaders only write
 * memory). After a successful load: the entry point is in RAM; a bzImage's
 * protected-mode kernel is in RAM byte for byte where boot_params says,
 * above 1 MiB, with the initrd above it and below the end of low RAM and its
 * initrd_addr_max; the command line is where it should be; a flat binary is
 * at 1 MiB.
 * Input: 1 byte of flags (bits 0-1: RAM layout, 16 MiB / 16 MiB + 2 MiB at
 * 4 GiB / 12 MiB / 18 MiB; bit 2: an initrd; bit 3: flat), 1 byte vCPUs,
 * u16 command-line length, u32 initrd size (mod 24 MiB), the command line,
 * then the kernel.
 */
#include <asm/bootparam.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/boot.h"
#include "vmm/pvh.h"
#include "vmm/x86_boot.h"

#define RAM	   (18 * MiB)
#define INITRD_MAX (24 * MiB)
#define HDR	   8

static uint8_t *ram;
static const uint8_t *initrd_bytes;

static void layout(struct guest_mem *m, unsigned int which)
{
	static const struct mem_region layouts[4][2] = {
	    {{0, 16 * MiB, 0}},
	    {{0, 16 * MiB, 0}, {4 * GiB, 2 * MiB, 16 * MiB}},
	    {{0, 12 * MiB, 0}},
	    {{0, 18 * MiB, 0}},
	};

	*m = (struct guest_mem){.fd = -1, .hva = ram, .nr_regions = which == 1 ? 2 : 1};
	for (unsigned int i = 0; i < m->nr_regions; i++) {
		m->regions[i] = layouts[which][i];
		m->size += m->regions[i].size;
	}
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A loaded bzImage, checked against the file without the loader's own parser. */
static void check_bzimage(struct guest_mem *m, const struct boot_blob *k,
			  const struct boot_blob *initrd, const struct boot_entry *e)
{
	const struct boot_params *bp = mem_gpa_to_hva(m, BOOT_ZERO_PAGE_ADDR, sizeof(*bp));
	uint64_t setup = ((uint64_t)(k->data[0x1f1] ? k->data[0x1f1] : 4) + 1) * 512;
	uint64_t ksize = (uint64_t)le32(k->data + 0x1f4) * 16;
	uint64_t init_size = le32(k->data + 0x260), need = MAX(init_size, ksize);
	uint64_t load, low_end = boot_low_ram_end(m);
	const uint8_t *dst;

	if (!bp)
		abort();
	load = bp->hdr.code32_start;
	if (e->mode != BOOT_MODE_LINUX64 || e->rip != load + 0x200 ||
	    e->rsi != BOOT_ZERO_PAGE_ADDR || load < BOOT_HIGH_ADDR || load + need > low_end ||
	    setup + ksize > k->size)
		abort();
	dst = mem_gpa_to_hva(m, load, ksize);
	if (!dst || memcmp(dst, k->data + setup, ksize))
		abort();
	if (initrd) {
		uint64_t at = bp->hdr.ramdisk_image | (uint64_t)bp->ext_ramdisk_image << 32;

		if (bp->hdr.ramdisk_size != initrd->size || at < load + need || at % 4096 ||
		    at + initrd->size > low_end ||
		    at + initrd->size > (uint64_t)bp->hdr.initrd_addr_max + 1)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char cmdline[65536 + 1];
	struct guest_mem m;
	struct boot_blob kernel, initrd;
	struct boot_entry e;
	uint16_t cmd_len;
	uint32_t initrd_len;
	bool flat;
	int rc;

	if (!ram) {
		fuzz_quiet();
		ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		initrd_bytes = mmap(NULL, INITRD_MAX, PROT_READ,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (ram == MAP_FAILED || initrd_bytes == MAP_FAILED)
			abort();
	}
	if (size < HDR)
		return 0;
	layout(&m, data[0] & 3);
	flat = data[0] & 8;
	memcpy(&cmd_len, data + 2, 2);
	memcpy(&initrd_len, data + 4, 4);
	cmd_len = (uint16_t)MIN((size_t)cmd_len, size - HDR);
	memcpy(cmdline, data + HDR, cmd_len);
	cmdline[cmd_len] = '\0';
	/* The kernel is a copy of its own: ASan then sees a read past its end. */
	kernel = (struct boot_blob){.name = "kernel", .size = size - HDR - cmd_len};
	kernel.data = malloc(kernel.size + 1);
	if (!kernel.data)
		abort();
	memcpy((uint8_t *)kernel.data, data + HDR + cmd_len, kernel.size);
	initrd = (struct boot_blob){
	    .name = "initrd", .data = initrd_bytes, .size = initrd_len % INITRD_MAX};

	rc = boot_load_blobs(&m, &kernel, data[0] & 4 ? &initrd : NULL, cmdline, data[1], flat, &e);
	if (!rc) {
		const char *c = mem_gpa_to_hva(&m, BOOT_CMDLINE_ADDR, cmd_len + 1);

		/* (A bzImage's entry is checked against its header below.) */
		if (e.mode != BOOT_MODE_LINUX64 &&
		    (!mem_gpa_to_hva(&m, e.rip, 1) || e.rip >= MEM_HOLE_START))
			abort();
		if (flat) {
			const uint8_t *dst = mem_gpa_to_hva(&m, BOOT_HIGH_ADDR, kernel.size);

			if (e.mode != BOOT_MODE_FLAT64 || e.rip != BOOT_HIGH_ADDR ||
			    (kernel.size && (!dst || memcmp(dst, kernel.data, kernel.size))))
				abort();
		} else {
			if (!c || strcmp(c, cmdline))
				abort();
			if (e.mode == BOOT_MODE_PVH32) {
				const struct hvm_start_info *si =
				    mem_gpa_to_hva(&m, e.rbx, sizeof(*si));

				if (!si || si->magic != XEN_HVM_START_MAGIC_VALUE ||
				    si->cmdline_paddr != BOOT_CMDLINE_ADDR ||
				    si->nr_modules != (data[0] & 4 ? 1u : 0u))
					abort();
			} else {
				check_bzimage(&m, &kernel, data[0] & 4 ? &initrd : NULL, &e);
			}
		}
	}
	free((void *)kernel.data);
	return 0;
}
