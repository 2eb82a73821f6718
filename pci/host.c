// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "pci/host.h"
#include "util/log.h"

/* Intel's Q35 host bridge IDs are what Linux expects of a host bridge at 00:00.0. */
#define HOST_BRIDGE_VENDOR 0x8086
#define HOST_BRIDGE_DEVICE 0x29c0
#define PCI_CLASS_BRIDGE_HOST 0x060000

#define CFG_ENABLE 0x80000000u

int pci_window_alloc(struct pci_window *w, uint64_t size, uint64_t *addr)
{
	uint64_t a;

	if (!IS_POW2(size))
		return -EINVAL;
	a = ALIGN_UP(w->next, size);
	if (a < w->next || a > w->end || size > w->end - a)
		return -ENOSPC;
	w->next = a + size;
	*addr = a;
	return 0;
}

static void addr_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	struct pci_host *h = dev;
	uint32_t v;

	pthread_mutex_lock(&h->lock);
	v = h->address;
	pthread_mutex_unlock(&h->lock);
	if (off == 0 && len == 4)
		memcpy(data, &v, 4);
	else
		memset(data, 0xff, len); /* only dword accesses reach the address register */
}

static void addr_write(void *dev, uint64_t off, const void *data, uint32_t len)
{
	struct pci_host *h = dev;

	if (off != 0 || len != 4)
		return;
	pthread_mutex_lock(&h->lock);
	memcpy(&h->address, data, 4);
	h->address &= 0x80fffffcu; /* reserved bits read as zero */
	pthread_mutex_unlock(&h->lock);
}

/* The device CONFIG_ADDRESS selects, or NULL; *reg gets the register offset. */
static struct pci_device *selected(struct pci_host *h, uint32_t *reg)
{
	uint32_t a;

	pthread_mutex_lock(&h->lock);
	a = h->address;
	pthread_mutex_unlock(&h->lock);
	if (!(a & CFG_ENABLE))
		return NULL;
	/* bus [23:16] must be 0; function [10:8] must be 0 (single-function devices). */
	if ((a >> 16) & 0xff || (a >> 8) & 7)
		return NULL;
	*reg = a & 0xfc;
	return h->slots[(a >> 11) & 0x1f];
}

static void data_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	uint32_t reg;
	struct pci_device *d = selected(dev, &reg);

	if (!d || off + len > 4) {
		memset(data, 0xff, len);
		return;
	}
	pci_config_read(d, reg + (uint32_t)off, data, len);
}

static void data_write(void *dev, uint64_t off, const void *data, uint32_t len)
{
	uint32_t reg;
	struct pci_device *d = selected(dev, &reg);

	if (d && off + len <= 4)
		pci_config_write(d, reg + (uint32_t)off, data, len);
}

const struct bus_ops pci_host_addr_ops = { .read = addr_read, .write = addr_write };
const struct bus_ops pci_host_data_ops = { .read = data_read, .write = data_write };

int pci_host_init(struct pci_host *h, struct bus *pio, struct bus *mmio, uint64_t mmio64_base,
		  uint64_t mmio64_size)
{
	unsigned int slot;
	int rc;

	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	h->pio = pio;
	h->mmio = mmio;
	h->io = (struct pci_window){ PCI_IO_START, PCI_IO_END };
	h->mmio32 = (struct pci_window){ PCI_MMIO32_START, PCI_MMIO32_END };
	h->mmio64 = (struct pci_window){ mmio64_base, mmio64_base + mmio64_size };
	pci_device_init(&h->bridge, "host-bridge", HOST_BRIDGE_VENDOR, HOST_BRIDGE_DEVICE,
			PCI_CLASS_BRIDGE_HOST << 8, NULL, NULL);
	rc = bus_register(pio, PCI_CONFIG_ADDRESS, 4, &pci_host_addr_ops, h);
	if (!rc)
		rc = bus_register(pio, PCI_CONFIG_DATA, 4, &pci_host_data_ops, h);
	if (!rc)
		rc = pci_host_add(h, &h->bridge, &slot);
	return rc;
}

void pci_host_destroy(struct pci_host *h)
{
	if (!h->pio)
		return;
	pci_device_destroy(&h->bridge);
	pthread_mutex_destroy(&h->lock);
	h->pio = NULL;
}

int pci_host_add(struct pci_host *h, struct pci_device *d, unsigned int *slot)
{
	unsigned int s;

	for (s = 0; s < PCI_MAX_SLOTS && h->slots[s]; s++)
		;
	if (s == PCI_MAX_SLOTS)
		return -ENOSPC;
	d->pio = h->pio;
	d->mmio = h->mmio;
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		struct pci_bar *b = &d->bars[i];
		struct pci_window *w;
		uint64_t addr;

		if (!b->size)
			continue;
		if (b->kind == PCI_BAR_KIND_IO)
			w = &h->io;
		else if (b->kind == PCI_BAR_KIND_MEM64 && b->prefetch)
			w = &h->mmio64;
		else
			w = &h->mmio32;
		if (pci_window_alloc(w, b->size, &addr)) {
			log_err("pci %s: no room for BAR %d (%#llx bytes) in the %s window "
				"(%#llx bytes left)", d->name, i, (unsigned long long)b->size,
				w == &h->io ? "I/O" : w == &h->mmio64 ? "64-bit memory" : "32-bit memory",
				(unsigned long long)(w->end - w->next));
			return -ENOSPC;
		}
		pci_bar_set_addr(d, i, addr);
	}
	h->slots[s] = d;
	*slot = s;
	return pci_device_enable(d);
}
