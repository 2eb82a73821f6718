/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One PCI function's configuration space (type 0 header): 256 bytes with
 * per-byte write masks, a capability list, and BARs that size and decode
 * as the PCI spec says. When the guest enables decoding or moves a BAR, the
 * BAR's range is (re)registered on the PIO or MMIO bus and the device is told.
 */
#ifndef SHMVM_PCI_CONFIG_H
#define SHMVM_PCI_CONFIG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "mm/bus.h"
#include "util/compiler.h"

#define PCI_CFG_SIZE 256
#define PCI_NUM_BARS 6
#define PCI_BAR_UNMAPPED UINT64_MAX

/* Standard header offsets and bits (PCI Local Bus 3.0, 6.2). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS_CAP_LIST 0x10

#define PCI_BAR_IO 0x1
#define PCI_BAR_MEM64 0x4
#define PCI_BAR_PREFETCH 0x8

struct pci_device;

enum pci_bar_kind {
	PCI_BAR_NONE = 0,
	PCI_BAR_KIND_IO,
	PCI_BAR_KIND_MEM32,
	PCI_BAR_KIND_MEM64, /* takes this BAR slot and the next */
};

struct pci_bar {
	enum pci_bar_kind kind;
	bool prefetch;
	uint64_t size; /* power of two */
	uint64_t addr; /* as programmed (guest view) */
	uint64_t mapped; /* where it is registered now, PCI_BAR_UNMAPPED if not */
	const struct bus_ops *ops; /* NULL: not on a bus (e.g. RAM-backed) */
	void *opaque;
};

struct pci_device_ops {
	/*
	 * Config accesses at @off >= 0x40 (capabilities and device-specific):
	 * return true if handled. Unhandled ones use the generic bytes/masks.
	 */
	bool (*config_read)(struct pci_device *d, uint32_t off, void *data, uint32_t len);
	bool (*config_write)(struct pci_device *d, uint32_t off, const void *data, uint32_t len);
	/* BAR @bar moved from @old to @new (PCI_BAR_UNMAPPED when not decoded). */
	void (*bar_moved)(struct pci_device *d, int bar, uint64_t old, uint64_t new_addr);
};

struct pci_device {
	pthread_mutex_t lock;
	const char *name;
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	uint8_t w1cmask[PCI_CFG_SIZE];
	struct pci_bar bars[PCI_NUM_BARS];
	const struct pci_device_ops *ops;
	void *opaque;
	struct bus *pio, *mmio; /* set when added to a host */
	uint8_t next_cap;       /* where the next capability goes */
	uint8_t *last_cap_next; /* the "next" byte of the last capability */
};

/* Zeroed header with identity and standard masks (command, latency, interrupt line). */
void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_rev, const struct pci_device_ops *ops, void *opaque);
void pci_device_destroy(struct pci_device *d);

/* Declare BAR @bar (MEM64 uses @bar and @bar+1). size: power of two, >= 16 (4 for IO). */
int pci_bar_declare(struct pci_device *d, int bar, enum pci_bar_kind kind, bool prefetch,
		    uint64_t size, const struct bus_ops *ops, void *opaque) __must_check;
/* Program BAR @bar's address as firmware would (before the guest runs). */
void pci_bar_set_addr(struct pci_device *d, int bar, uint64_t addr);

/*
 * Reserve @len bytes (>= 2) for a capability with ID @id and link it into
 * the list; returns its config offset, or -ENOSPC. The caller fills bytes
 * from offset + 2 on with pci_cfg_set*().
 */
int pci_cap_add(struct pci_device *d, uint8_t id, uint8_t len) __must_check;

/* Set config bytes (little-endian) and, optionally, which bits the guest may write. */
void pci_cfg_set(struct pci_device *d, uint32_t off, uint32_t len, uint32_t val);
void pci_cfg_set_wmask(struct pci_device *d, uint32_t off, uint32_t len, uint32_t mask);
uint32_t pci_cfg_get(const struct pci_device *d, uint32_t off, uint32_t len);

/* Guest config accesses (1, 2 or 4 bytes, naturally aligned). */
void pci_config_read(struct pci_device *d, uint32_t off, void *data, uint32_t len);
void pci_config_write(struct pci_device *d, uint32_t off, const void *data, uint32_t len);

/* Turn decoding on as firmware would, registering BARs; 0 or -errno. */
int pci_device_enable(struct pci_device *d) __must_check;

#endif
