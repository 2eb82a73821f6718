// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "pci/config.h"
#include "util/log.h"

static struct log_ratelimit pci_rl = LOG_RATELIMIT_INIT;

void pci_cfg_set(struct pci_device *d, uint32_t off, uint32_t len, uint32_t val)
{
	for (uint32_t i = 0; i < len && off + i < PCI_CFG_SIZE; i++)
		d->cfg[off + i] = (uint8_t)(val >> (8 * i));
}

void pci_cfg_set_wmask(struct pci_device *d, uint32_t off, uint32_t len, uint32_t mask)
{
	for (uint32_t i = 0; i < len && off + i < PCI_CFG_SIZE; i++)
		d->wmask[off + i] = (uint8_t)(mask >> (8 * i));
}

uint32_t pci_cfg_get(const struct pci_device *d, uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	for (uint32_t i = 0; i < len && off + i < PCI_CFG_SIZE; i++)
		v |= (uint32_t)d->cfg[off + i] << (8 * i);
	return v;
}

void pci_device_init(struct pci_device *d, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_rev, const struct pci_device_ops *ops, void *opaque)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->name = name;
	d->ops = ops;
	d->opaque = opaque;
	pci_cfg_set(d, PCI_VENDOR_ID, 2, vendor);
	pci_cfg_set(d, PCI_DEVICE_ID, 2, device);
	pci_cfg_set(d, PCI_REVISION_ID, 4, class_rev); /* revision, prog-if, subclass, class */
	pci_cfg_set_wmask(d, PCI_COMMAND, 2,
			  PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
				  PCI_COMMAND_INTX_DISABLE);
	/* Error bits of the status register are write-1-to-clear. */
	d->w1cmask[PCI_STATUS + 1] = 0xf9;
	pci_cfg_set_wmask(d, 0x0c, 2, 0xffff); /* cache line size, latency timer */
	pci_cfg_set_wmask(d, PCI_INTERRUPT_LINE, 1, 0xff);
	d->next_cap = 0x40;
	d->last_cap_next = &d->cfg[PCI_CAPABILITY_LIST];
	for (int i = 0; i < PCI_NUM_BARS; i++)
		d->bars[i].mapped = PCI_BAR_UNMAPPED;
}

void pci_device_destroy(struct pci_device *d)
{
	pthread_mutex_destroy(&d->lock);
}

static uint32_t bar_off(int bar)
{
	return PCI_BASE_ADDRESS_0 + 4 * (uint32_t)bar;
}

int pci_bar_declare(struct pci_device *d, int bar, enum pci_bar_kind kind, bool prefetch,
		    uint64_t size, const struct bus_ops *ops, void *opaque)
{
	uint64_t min = kind == PCI_BAR_KIND_IO ? 4 : 16;
	uint64_t mask = ~(size - 1);
	uint32_t type;

	if (bar < 0 || bar >= PCI_NUM_BARS || (kind == PCI_BAR_KIND_MEM64 && bar == PCI_NUM_BARS - 1))
		return -EINVAL;
	if (!IS_POW2(size) || size < min || (kind != PCI_BAR_KIND_MEM64 && size > (1ULL << 31)) ||
	    (kind == PCI_BAR_KIND_IO && size > 256))
		return -EINVAL;
	if (d->bars[bar].kind != PCI_BAR_NONE ||
	    (kind == PCI_BAR_KIND_MEM64 && d->bars[bar + 1].kind != PCI_BAR_NONE))
		return -EBUSY;
	d->bars[bar] = (struct pci_bar){ .kind = kind, .prefetch = prefetch, .size = size,
					 .mapped = PCI_BAR_UNMAPPED, .ops = ops, .opaque = opaque };
	type = kind == PCI_BAR_KIND_IO ? PCI_BAR_IO
	       : (kind == PCI_BAR_KIND_MEM64 ? PCI_BAR_MEM64 : 0) | (prefetch ? PCI_BAR_PREFETCH : 0);
	pci_cfg_set(d, bar_off(bar), 4, type);
	pci_cfg_set_wmask(d, bar_off(bar), 4, (uint32_t)mask & (kind == PCI_BAR_KIND_IO ? ~3u : ~15u));
	if (kind == PCI_BAR_KIND_MEM64) {
		/* The upper half of a 64-bit BAR is its own slot, marked used. */
		d->bars[bar + 1].kind = PCI_BAR_KIND_MEM64;
		d->bars[bar + 1].size = 0;
		d->bars[bar + 1].mapped = PCI_BAR_UNMAPPED;
		pci_cfg_set(d, bar_off(bar + 1), 4, 0);
		pci_cfg_set_wmask(d, bar_off(bar + 1), 4, (uint32_t)(mask >> 32));
	}
	return 0;
}

/* The address BAR @bar holds now (its type bits masked off). Lock held. */
static uint64_t bar_addr(const struct pci_device *d, int bar)
{
	const struct pci_bar *b = &d->bars[bar];
	uint64_t v = pci_cfg_get(d, bar_off(bar), 4);

	if (b->kind == PCI_BAR_KIND_IO)
		return v & ~3ULL;
	if (b->kind == PCI_BAR_KIND_MEM64)
		v |= (uint64_t)pci_cfg_get(d, bar_off(bar + 1), 4) << 32;
	return v & ~15ULL;
}

void pci_bar_set_addr(struct pci_device *d, int bar, uint64_t addr)
{
	pthread_mutex_lock(&d->lock);
	pci_cfg_set(d, bar_off(bar), 4, (uint32_t)addr | (pci_cfg_get(d, bar_off(bar), 4) & 15u));
	if (d->bars[bar].kind == PCI_BAR_KIND_MEM64)
		pci_cfg_set(d, bar_off(bar + 1), 4, (uint32_t)(addr >> 32));
	d->bars[bar].addr = bar_addr(d, bar);
	pthread_mutex_unlock(&d->lock);
}

/* Make BAR @bar's registration match the header. Lock held. */
static void bar_update(struct pci_device *d, int bar)
{
	struct pci_bar *b = &d->bars[bar];
	uint16_t cmd = (uint16_t)pci_cfg_get(d, PCI_COMMAND, 2);
	bool decode = b->kind == PCI_BAR_KIND_IO ? (cmd & PCI_COMMAND_IO) : (cmd & PCI_COMMAND_MEMORY);
	struct bus *bus = b->kind == PCI_BAR_KIND_IO ? d->pio : d->mmio;
	uint64_t addr = bar_addr(d, bar), old = b->mapped, want;

	b->addr = addr;
	/* 0 is "unassigned"; a range that wraps is the sizing pattern or garbage. */
	want = decode && addr && addr + b->size > addr ? addr : PCI_BAR_UNMAPPED;
	if (want == old)
		return;
	if (old != PCI_BAR_UNMAPPED && b->ops && bus && bus_unregister(bus, old, b->opaque))
		log_warn("pci %s: BAR %d was not registered at 0x%llx", d->name, bar,
			 (unsigned long long)old);
	b->mapped = PCI_BAR_UNMAPPED;
	if (want != PCI_BAR_UNMAPPED) {
		if (b->ops && bus && bus_register(bus, want, b->size, b->ops, b->opaque)) {
			log_ratelimited(&pci_rl, LOG_WARN,
					"pci %s: BAR %d at 0x%llx overlaps another range; left unmapped",
					d->name, bar, (unsigned long long)want);
			want = PCI_BAR_UNMAPPED;
		}
		b->mapped = want;
	}
	if (d->ops && d->ops->bar_moved && old != b->mapped)
		d->ops->bar_moved(d, bar, old, b->mapped);
}

static void bars_update(struct pci_device *d)
{
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		if (d->bars[i].kind == PCI_BAR_NONE || d->bars[i].size == 0)
			continue;
		bar_update(d, i);
	}
}

int pci_device_enable(struct pci_device *d)
{
	uint16_t cmd = 0;

	pthread_mutex_lock(&d->lock);
	for (int i = 0; i < PCI_NUM_BARS; i++) {
		if (!d->bars[i].size)
			continue;
		cmd |= d->bars[i].kind == PCI_BAR_KIND_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	}
	pci_cfg_set(d, PCI_COMMAND, 2, pci_cfg_get(d, PCI_COMMAND, 2) | cmd);
	bars_update(d);
	pthread_mutex_unlock(&d->lock);
	return 0;
}

int pci_cap_add(struct pci_device *d, uint8_t id, uint8_t len)
{
	unsigned int off = ALIGN_UP((unsigned int)d->next_cap, 4u);

	if (len < 2 || off < 0x40 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	*d->last_cap_next = (uint8_t)off;
	d->last_cap_next = &d->cfg[off + 1];
	d->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	d->next_cap = (uint8_t)MIN(off + len, 0xffu);
	if (off + len == PCI_CFG_SIZE)
		d->next_cap = 0xff; /* full: the next add fails */
	return (int)off;
}

static bool access_ok(uint32_t off, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4) && off % len == 0 && off + len <= PCI_CFG_SIZE;
}

void pci_config_read(struct pci_device *d, uint32_t off, void *data, uint32_t len)
{
	uint32_t v;

	if (!access_ok(off, len)) {
		memset(data, 0xff, len > 4 ? 4 : len);
		return;
	}
	if (off >= 0x40 && d->ops && d->ops->config_read && d->ops->config_read(d, off, data, len))
		return;
	pthread_mutex_lock(&d->lock);
	v = pci_cfg_get(d, off, len);
	pthread_mutex_unlock(&d->lock);
	memcpy(data, &v, len);
}

void pci_config_write(struct pci_device *d, uint32_t off, const void *data, uint32_t len)
{
	uint32_t v = 0;
	bool bars_touched;

	if (!access_ok(off, len))
		return;
	if (off >= 0x40 && d->ops && d->ops->config_write && d->ops->config_write(d, off, data, len))
		return;
	memcpy(&v, data, len);
	pthread_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint8_t b = (uint8_t)(v >> (8 * i)), w = d->wmask[off + i], c = d->w1cmask[off + i];

		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~w) | (b & w));
		d->cfg[off + i] &= (uint8_t)~(b & c);
	}
	bars_touched = (off < PCI_COMMAND + 2 && off + len > PCI_COMMAND) ||
		       (off < bar_off(PCI_NUM_BARS) && off + len > PCI_BASE_ADDRESS_0);
	if (bars_touched)
		bars_update(d);
	pthread_mutex_unlock(&d->lock);
}
