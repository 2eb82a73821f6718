/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * PCI root bus 0: a host bridge at 00:00.0, configuration mechanism #1
 * (address at port 0xCF8, data at 0xCFC-0xCFF), up to 32 single-function
 * devices, and the BAR allocator that places their BARs like firmware would.
 */
#ifndef SHMVM_PCI_HOST_H
#define SHMVM_PCI_HOST_H

#include <pthread.h>
#include <stdint.h>

#include "mm/bus.h"
#include "pci/config.h"
#include "util/compiler.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_MAX_SLOTS 32

/* BAR windows (docs/design.md memory map). */
#define PCI_MMIO32_START 0xc0000000ULL
#define PCI_MMIO32_END 0xfec00000ULL /* the IO-APIC is next */
#define PCI_IO_START 0xc000ULL
#define PCI_IO_END 0x10000ULL

struct pci_window {
	uint64_t next, end;
};

struct pci_host {
	pthread_mutex_t lock;
	uint32_t address; /* last value written to CONFIG_ADDRESS */
	struct pci_device bridge;
	struct pci_device *slots[PCI_MAX_SLOTS];
	struct bus *pio, *mmio;
	struct pci_window io, mmio32, mmio64;
};

/* Register the config ports on @pio; the 64-bit window is [@mmio64_base, +@mmio64_size). */
int pci_host_init(struct pci_host *h, struct bus *pio, struct bus *mmio, uint64_t mmio64_base,
		  uint64_t mmio64_size) __must_check;
void pci_host_destroy(struct pci_host *h);

/* Put @d in the next free slot, assign its BARs and enable decoding. */
int pci_host_add(struct pci_host *h, struct pci_device *d, unsigned int *slot) __must_check;

/* Allocate @size (power of two) naturally aligned from @w; 0 or -ENOSPC. Pure. */
int pci_window_alloc(struct pci_window *w, uint64_t size, uint64_t *addr) __must_check;

extern const struct bus_ops pci_host_addr_ops;
extern const struct bus_ops pci_host_data_ops;

#endif
