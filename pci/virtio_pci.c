// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <linux/virtio_pci.h>
#include <string.h>

#include "pci/virtio_pci.h"
#include "util/log.h"

#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_MSIX 0x11

static struct virtio_pci *from_pci(struct pci_device *d)
{
	return container_of(d, struct virtio_pci, pci);
}

uint64_t virtio_pci_notify_addr(uint64_t bar_addr, unsigned int q)
{
	return bar_addr + VPCI_NOTIFY_OFF + (uint64_t)q * VPCI_NOTIFY_MULT;
}

/* ---- BAR 0 ---- */

static void bar_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct virtio_pci *vp = opaque;

	memset(data, 0, len);
	if (off < VPCI_COMMON_OFF + VIRTIO_COMMON_CFG_SIZE) {
		virtio_common_read(&vp->common, off - VPCI_COMMON_OFF, data, len);
	} else if (off == VPCI_ISR_OFF && len == 1) {
		/* Reading the ISR acknowledges it. */
		pthread_mutex_lock(&vp->isr_lock);
		*(uint8_t *)data = vp->isr;
		vp->isr = 0;
		pthread_mutex_unlock(&vp->isr_lock);
	} else if (off >= VPCI_DEVICE_OFF && off < VPCI_DEVICE_OFF + vp->config_size) {
		uint32_t o = (uint32_t)(off - VPCI_DEVICE_OFF);

		if (len <= vp->config_size - o && vp->ops && vp->ops->config_read)
			vp->ops->config_read(vp, o, data, len);
	} else if (off >= VPCI_MSIX_TABLE_OFF && off < VPCI_MSIX_PBA_OFF) {
		msix_table_read(&vp->msix, off - VPCI_MSIX_TABLE_OFF, data, len);
	} else if (off >= VPCI_MSIX_PBA_OFF) {
		msix_pba_read(&vp->msix, off - VPCI_MSIX_PBA_OFF, data, len);
	}
}

static void bar_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct virtio_pci *vp = opaque;

	if (off < VPCI_COMMON_OFF + VIRTIO_COMMON_CFG_SIZE) {
		virtio_common_write(&vp->common, off - VPCI_COMMON_OFF, data, len);
	} else if (off >= VPCI_DEVICE_OFF && off < VPCI_DEVICE_OFF + vp->config_size) {
		uint32_t o = (uint32_t)(off - VPCI_DEVICE_OFF);

		if (len <= vp->config_size - o && vp->ops && vp->ops->config_write)
			vp->ops->config_write(vp, o, data, len);
	} else if (off >= VPCI_NOTIFY_OFF && off < VPCI_NOTIFY_OFF + (uint64_t)vp->common.num_queues * VPCI_NOTIFY_MULT) {
		if (vp->ops && vp->ops->notify)
			vp->ops->notify(vp, (unsigned int)((off - VPCI_NOTIFY_OFF) / VPCI_NOTIFY_MULT));
	} else if (off >= VPCI_MSIX_TABLE_OFF && off < VPCI_MSIX_PBA_OFF) {
		msix_table_write(&vp->msix, off - VPCI_MSIX_TABLE_OFF, data, len);
	}
	/* ISR and PBA are read-only. */
}

static const struct bus_ops virtio_bar_ops = { .read = bar_read, .write = bar_write };

/* ---- config space: MSI-X Message Control lives in our state, not in cfg[] ---- */

static bool cfg_read(struct pci_device *d, uint32_t off, void *data, uint32_t len)
{
	struct virtio_pci *vp = from_pci(d);
	uint32_t ctrl = vp->msix_cap + 2;
	uint32_t v;

	if (off + len <= ctrl || off >= ctrl + 2)
		return false;
	pthread_mutex_lock(&d->lock);
	v = pci_cfg_get(d, off, len);
	pthread_mutex_unlock(&d->lock);
	/* Splice the live Message Control word into whatever was read. */
	for (uint32_t i = 0; i < len; i++) {
		if (off + i == ctrl || off + i == ctrl + 1) {
			uint8_t b = (uint8_t)(msix_control_read(&vp->msix) >> (8 * (off + i - ctrl)));

			v = (v & ~(0xffu << (8 * i))) | (uint32_t)b << (8 * i);
		}
	}
	memcpy(data, &v, len);
	return true;
}

static bool cfg_write(struct pci_device *d, uint32_t off, const void *data, uint32_t len)
{
	struct virtio_pci *vp = from_pci(d);
	uint32_t ctrl = vp->msix_cap + 2, v = 0;
	uint16_t cur;

	if (off + len <= ctrl || off >= ctrl + 2)
		return false;
	memcpy(&v, data, len);
	cur = msix_control_read(&vp->msix);
	for (uint32_t i = 0; i < len; i++) {
		if (off + i == ctrl || off + i == ctrl + 1) {
			unsigned int sh = 8 * (off + i - ctrl);

			cur = (uint16_t)((cur & ~(0xffu << sh)) | ((v >> (8 * i)) & 0xff) << sh);
		}
	}
	msix_control_write(&vp->msix, cur);
	return true; /* the rest of the capability is read-only */
}

static void pci_bar_moved(struct pci_device *d, int bar, uint64_t old, uint64_t new_addr)
{
	struct virtio_pci *vp = from_pci(d);

	if (vp->ops && vp->ops->bar_moved)
		vp->ops->bar_moved(vp, bar, old, new_addr);
}

static const struct pci_device_ops virtio_pci_dev_ops = {
	.config_read = cfg_read,
	.config_write = cfg_write,
	.bar_moved = pci_bar_moved,
};

/* A struct virtio_pci_cap (16 bytes) of @type over [off, off + len) of BAR 0. */
static int add_virtio_cap(struct pci_device *d, uint8_t type, uint32_t off, uint32_t len,
			  uint8_t cap_len)
{
	int c = pci_cap_add(d, PCI_CAP_ID_VNDR, cap_len);

	if (c < 0)
		return c;
	pci_cfg_set(d, (uint32_t)c + 2, 1, cap_len);
	pci_cfg_set(d, (uint32_t)c + 3, 1, type);
	pci_cfg_set(d, (uint32_t)c + 4, 1, VPCI_BAR);
	pci_cfg_set(d, (uint32_t)c + 8, 4, off);
	pci_cfg_set(d, (uint32_t)c + 12, 4, len);
	return c;
}

/* The shared-memory BAR and a struct virtio_pci_cap64 (24 bytes) per region. */
static int add_shm(struct pci_device *d, const struct virtio_pci_params *p)
{
	int rc;

	if (!p->shm_bar_size)
		return p->nr_shm ? -EINVAL : 0;
	if (!p->nr_shm || p->nr_shm > VPCI_MAX_SHM)
		return -EINVAL;
	rc = pci_bar_declare(d, VPCI_SHM_BAR, PCI_BAR_KIND_MEM64, true, p->shm_bar_size, p->shm_ops,
			     p->shm_opaque);
	if (rc)
		return rc;
	for (unsigned int i = 0; i < p->nr_shm; i++) {
		const struct virtio_pci_shm *r = &p->shm[i];
		int c;

		if (r->offset > p->shm_bar_size || r->length > p->shm_bar_size - r->offset)
			return -EINVAL;
		c = pci_cap_add(d, PCI_CAP_ID_VNDR, 24);
		if (c < 0)
			return c;
		pci_cfg_set(d, (uint32_t)c + 2, 1, 24);
		pci_cfg_set(d, (uint32_t)c + 3, 1, VIRTIO_PCI_CAP_SHARED_MEMORY_CFG);
		pci_cfg_set(d, (uint32_t)c + 4, 1, VPCI_SHM_BAR);
		pci_cfg_set(d, (uint32_t)c + 5, 1, r->id);
		pci_cfg_set(d, (uint32_t)c + 8, 4, (uint32_t)r->offset);
		pci_cfg_set(d, (uint32_t)c + 12, 4, (uint32_t)r->length);
		pci_cfg_set(d, (uint32_t)c + 16, 4, (uint32_t)(r->offset >> 32));
		pci_cfg_set(d, (uint32_t)c + 20, 4, (uint32_t)(r->length >> 32));
	}
	return 0;
}

int virtio_pci_init(struct virtio_pci *vp, const struct virtio_pci_params *p)
{
	uint16_t nvec;
	int rc, c;

	memset(vp, 0, sizeof(*vp));
	if (p->config_size > VPCI_DEVICE_MAX || !p->num_queues || p->num_queues > VIRTIO_MAX_QUEUES)
		return -EINVAL;
	vp->ops = p->ops;
	vp->opaque = p->opaque;
	vp->config_size = p->config_size;
	pthread_mutex_init(&vp->isr_lock, NULL);
	rc = virtio_common_init(&vp->common, p->device_features, p->num_queues, p->queue_sizes,
				p->common_ops, p->opaque);
	if (rc)
		return rc;
	nvec = (uint16_t)(p->num_queues + 1);
	vp->common.nr_vectors = nvec;
	rc = msix_init(&vp->msix, nvec, p->msix_ops, p->opaque);
	if (rc)
		goto err_common;

	pci_device_init(&vp->pci, p->name, VIRTIO_PCI_VENDOR,
			(uint16_t)(VIRTIO_PCI_DEVICE_BASE + p->virtio_id), p->pci_class << 8 | 1,
			&virtio_pci_dev_ops, vp);
	pci_cfg_set(&vp->pci, PCI_SUBSYSTEM_VENDOR_ID, 2, VIRTIO_PCI_VENDOR);
	pci_cfg_set(&vp->pci, PCI_SUBSYSTEM_ID, 2, p->virtio_id);
	rc = pci_bar_declare(&vp->pci, VPCI_BAR, PCI_BAR_KIND_MEM32, false, VPCI_BAR_SIZE,
			     &virtio_bar_ops, vp);
	if (rc)
		goto err_msix;

	if ((c = add_virtio_cap(&vp->pci, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF,
				VIRTIO_COMMON_CFG_SIZE, 16)) < 0 ||
	    (c = add_virtio_cap(&vp->pci, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, 1, 16)) < 0 ||
	    (p->config_size &&
	     (c = add_virtio_cap(&vp->pci, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE_OFF, p->config_size, 16)) < 0) ||
	    (c = add_virtio_cap(&vp->pci, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF,
				(uint32_t)p->num_queues * VPCI_NOTIFY_MULT, 20)) < 0) {
		rc = c;
		goto err_pci;
	}
	pci_cfg_set(&vp->pci, (uint32_t)c + 16, 4, VPCI_NOTIFY_MULT); /* notify_off_multiplier */

	c = pci_cap_add(&vp->pci, PCI_CAP_ID_MSIX, MSIX_CAP_SIZE);
	if (c < 0) {
		rc = c;
		goto err_pci;
	}
	vp->msix_cap = (uint8_t)c;
	pci_cfg_set(&vp->pci, (uint32_t)c + 4, 4, VPCI_MSIX_TABLE_OFF | VPCI_BAR);
	pci_cfg_set(&vp->pci, (uint32_t)c + 8, 4, VPCI_MSIX_PBA_OFF | VPCI_BAR);
	rc = add_shm(&vp->pci, p);
	if (rc)
		goto err_pci;
	_Static_assert(VPCI_MSIX_TABLE_OFF + MSIX_ENTRY_SIZE * (VIRTIO_MAX_QUEUES + 1) <= VPCI_MSIX_PBA_OFF,
		       "MSI-X table fits before the PBA");
	return 0;

err_pci:
	pci_device_destroy(&vp->pci);
err_msix:
	msix_destroy(&vp->msix);
err_common:
	virtio_common_destroy(&vp->common);
	return rc;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	pci_device_destroy(&vp->pci);
	msix_destroy(&vp->msix);
	virtio_common_destroy(&vp->common);
	pthread_mutex_destroy(&vp->isr_lock);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	uint16_t vec;

	virtio_common_config_changed(&vp->common);
	pthread_mutex_lock(&vp->isr_lock);
	vp->isr |= VIRTIO_PCI_ISR_CONFIG;
	pthread_mutex_unlock(&vp->isr_lock);
	pthread_mutex_lock(&vp->common.lock);
	vec = vp->common.msix_config;
	pthread_mutex_unlock(&vp->common.lock);
	if (vec != VIRTIO_NO_VECTOR)
		msix_notify(&vp->msix, vec);
}

void virtio_pci_needs_reset(struct virtio_pci *vp)
{
	virtio_common_set_needs_reset(&vp->common);
	virtio_pci_config_changed(vp);
}
