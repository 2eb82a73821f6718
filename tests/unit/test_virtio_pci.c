// SPDX-License-Identifier: GPL-2.0-only
/* A virtio-pci function on a real host bridge and buses, driven like a guest driver. */
#include <check.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/host.h"
#include "pci/virtio_pci.h"

#include "check_main.h"

struct owner {
	int notifies, last_queue, driver_oks, msix_updates, signals;
	uint8_t config[8];
};

static void o_cfg_read(struct virtio_pci *vp, uint32_t off, void *data, uint32_t len)
{
	struct owner *o = vp->opaque;

	memcpy(data, o->config + off, len);
}

static void o_notify(struct virtio_pci *vp, unsigned int q)
{
	struct owner *o = vp->opaque;

	o->notifies++;
	o->last_queue = (int)q;
}

static void o_driver_ok(void *opaque)
{
	((struct owner *)opaque)->driver_oks++;
}

static void o_msix_update(void *opaque, unsigned int v, const struct msix_msg *m, bool masked)
{
	(void)v;
	(void)m;
	(void)masked;
	((struct owner *)opaque)->msix_updates++;
}

static void o_signal(void *opaque, const struct msix_msg *m)
{
	(void)m;
	((struct owner *)opaque)->signals++;
}

static const struct virtio_pci_ops vops = { .config_read = o_cfg_read, .notify = o_notify };
static const struct virtio_common_ops cops = { .driver_ok = o_driver_ok };
static const struct msix_ops mops = { .update = o_msix_update, .signal = o_signal };

static struct bus pio, mmio;
static struct pci_host host;
static struct virtio_pci vp;
static struct owner own;
static unsigned int slot;

static void setup(void)
{
	static const uint16_t sizes[2] = { 128, 128 };
	struct virtio_pci_params p = {
		.name = "vtest", .virtio_id = 26, .pci_class = 0x018000, .device_features = 0,
		.num_queues = 2, .queue_sizes = sizes, .config_size = 8,
		.common_ops = &cops, .msix_ops = &mops, .ops = &vops, .opaque = &own,
	};

	memset(&own, 0, sizeof(own));
	memcpy(own.config, "tagname!", 8);
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	ck_assert_int_eq(pci_host_init(&host, &pio, &mmio, 0x400000000ULL, 1ULL << 34), 0);
	ck_assert_int_eq(virtio_pci_init(&vp, &p), 0);
	ck_assert_int_eq(pci_host_add(&host, &vp.pci, &slot), 0);
}

static void teardown(void)
{
	virtio_pci_destroy(&vp);
	pci_host_destroy(&host);
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

static uint32_t cfg(uint32_t reg, uint32_t len)
{
	uint32_t v = 0;

	pci_config_read(&vp.pci, reg, &v, len);
	return v;
}

static uint64_t bar0(void)
{
	return cfg(0x10, 4) & ~15u;
}

START_TEST(identity_and_caps)
{
	int seen[9] = { 0 }, msix = 0;

	ck_assert_uint_eq(cfg(0, 2), 0x1af4);
	ck_assert_uint_eq(cfg(2, 2), 0x1040 + 26);
	ck_assert_uint_eq(cfg(PCI_SUBSYSTEM_ID, 2), 26);
	ck_assert_uint_eq(cfg(PCI_REVISION_ID, 1), 1);
	ck_assert_uint_eq(cfg(0x08, 4) >> 8, 0x018000);
	for (uint32_t p = cfg(PCI_CAPABILITY_LIST, 1); p; p = cfg(p + 1, 1)) {
		if (cfg(p, 1) == 0x11) {
			msix++;
			ck_assert_uint_eq(cfg(p + 2, 2) & 0x7ff, 2); /* 3 vectors */
			ck_assert_uint_eq(cfg(p + 4, 4), VPCI_MSIX_TABLE_OFF);
			ck_assert_uint_eq(cfg(p + 8, 4), VPCI_MSIX_PBA_OFF);
			continue;
		}
		ck_assert_uint_eq(cfg(p, 1), 0x09);
		uint32_t type = cfg(p + 3, 1);
		ck_assert_uint_lt(type, 9);
		seen[type]++;
		ck_assert_uint_eq(cfg(p + 4, 1), 0); /* BAR 0 */
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			ck_assert_uint_eq(cfg(p + 2, 1), 20);
			ck_assert_uint_eq(cfg(p + 16, 4), VPCI_NOTIFY_MULT);
		} else {
			ck_assert_uint_eq(cfg(p + 2, 1), 16);
		}
		if (type == VIRTIO_PCI_CAP_DEVICE_CFG)
			ck_assert_uint_eq(cfg(p + 12, 4), 8);
	}
	ck_assert_int_eq(seen[VIRTIO_PCI_CAP_COMMON_CFG], 1);
	ck_assert_int_eq(seen[VIRTIO_PCI_CAP_NOTIFY_CFG], 1);
	ck_assert_int_eq(seen[VIRTIO_PCI_CAP_ISR_CFG], 1);
	ck_assert_int_eq(seen[VIRTIO_PCI_CAP_DEVICE_CFG], 1);
	ck_assert_int_eq(msix, 1);
}
END_TEST

START_TEST(bar_regions)
{
	uint64_t b = bar0();
	uint16_t nq = 0;
	uint8_t tag[8], isr;

	ck_assert_uint_ne(b, 0);
	ck_assert(bus_read(&mmio, b + VPCI_COMMON_OFF + VIRTIO_PCI_COMMON_NUMQ, &nq, 2));
	ck_assert_uint_eq(nq, 2);
	ck_assert(bus_read(&mmio, b + VPCI_DEVICE_OFF, tag, 4));
	ck_assert(bus_read(&mmio, b + VPCI_DEVICE_OFF + 4, tag + 4, 4));
	ck_assert(!memcmp(tag, "tagname!", 8));
	/* Past the device config: zeros, no call. */
	uint32_t z = 1;
	ck_assert(bus_read(&mmio, b + VPCI_DEVICE_OFF + 8, &z, 4));
	ck_assert_uint_eq(z, 0);
	/* Notify without an ioeventfd reaches the owner with the queue index. */
	uint16_t q = 1;
	ck_assert(bus_write(&mmio, virtio_pci_notify_addr(b, 1), &q, 2));
	ck_assert_int_eq(own.notifies, 1);
	ck_assert_int_eq(own.last_queue, 1);
	/* ISR: config change sets bit 1, reading clears it. */
	virtio_pci_config_changed(&vp);
	ck_assert(bus_read(&mmio, b + VPCI_ISR_OFF, &isr, 1));
	ck_assert_uint_eq(isr, VIRTIO_PCI_ISR_CONFIG);
	ck_assert(bus_read(&mmio, b + VPCI_ISR_OFF, &isr, 1));
	ck_assert_uint_eq(isr, 0);
}
END_TEST

START_TEST(msix_through_config_and_bar)
{
	uint64_t b = bar0();
	uint32_t cap = 0;

	for (uint32_t p = cfg(PCI_CAPABILITY_LIST, 1); p; p = cfg(p + 1, 1))
		if (cfg(p, 1) == 0x11)
			cap = p;
	ck_assert_uint_ne(cap, 0);
	/* Program vector 0 in the table, enable MSI-X through config space. */
	uint32_t addr = 0xfee00000, data = 0x41, ctrl = 0;
	ck_assert(bus_write(&mmio, b + VPCI_MSIX_TABLE_OFF, &addr, 4));
	ck_assert(bus_write(&mmio, b + VPCI_MSIX_TABLE_OFF + 8, &data, 4));
	ck_assert(bus_write(&mmio, b + VPCI_MSIX_TABLE_OFF + 12, &ctrl, 4));
	uint16_t en = 0x8000;
	pci_config_write(&vp.pci, cap + 2, &en, 2);
	ck_assert_uint_eq(cfg(cap + 2, 2), 0x8002);
	ck_assert(!msix_is_masked(&vp.msix, 0));
	/* Config vector = 0: a config change signals it. */
	uint16_t v0 = 0;
	ck_assert(bus_write(&mmio, b + VPCI_COMMON_OFF + VIRTIO_PCI_COMMON_MSIX, &v0, 2));
	int before = own.signals;
	virtio_pci_config_changed(&vp);
	ck_assert_int_eq(own.signals, before + 1);
	/* A dword config read covering the capability header and control sees both. */
	ck_assert_uint_eq(cfg(cap, 4) >> 16, 0x8002);
	ck_assert_uint_eq(cfg(cap, 4) & 0xff, 0x11);
	/* Disabling through a byte write of the control's high byte. */
	uint8_t hi = 0;
	pci_config_write(&vp.pci, cap + 3, &hi, 1);
	ck_assert(msix_is_masked(&vp.msix, 0));
}
END_TEST

START_TEST(driver_ok_and_needs_reset)
{
	uint64_t b = bar0();
	uint8_t st;
	uint32_t sel, f;

	st = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	ck_assert(bus_write(&mmio, b + VIRTIO_PCI_COMMON_STATUS, &st, 1));
	sel = 1;
	f = 1; /* VERSION_1 is bit 32 */
	ck_assert(bus_write(&mmio, b + VIRTIO_PCI_COMMON_GFSELECT, &sel, 4));
	ck_assert(bus_write(&mmio, b + VIRTIO_PCI_COMMON_GF, &f, 4));
	st |= VIRTIO_CONFIG_S_FEATURES_OK;
	ck_assert(bus_write(&mmio, b + VIRTIO_PCI_COMMON_STATUS, &st, 1));
	st |= VIRTIO_CONFIG_S_DRIVER_OK;
	ck_assert(bus_write(&mmio, b + VIRTIO_PCI_COMMON_STATUS, &st, 1));
	ck_assert_int_eq(own.driver_oks, 1);
	virtio_pci_needs_reset(&vp);
	ck_assert(bus_read(&mmio, b + VIRTIO_PCI_COMMON_STATUS, &st, 1));
	ck_assert(st & VIRTIO_CONFIG_S_NEEDS_RESET);
}
END_TEST

/* ---- a function with a shared-memory BAR ---- */

static int shm_reads, shm_writes, moves;
static uint64_t moved_to;

static void shm_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	memset(data, 0, len);
	shm_reads++;
}

static void shm_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	(void)opaque;
	(void)off;
	(void)data;
	(void)len;
	shm_writes++;
}

static void o_moved(struct virtio_pci *v, int bar, uint64_t old, uint64_t new_addr)
{
	(void)v;
	(void)old;
	if (bar == VPCI_SHM_BAR) {
		moves++;
		moved_to = new_addr;
	}
}

static const struct bus_ops shm_ops = { .read = shm_read, .write = shm_write };
static const struct virtio_pci_ops shm_vops = { .config_read = o_cfg_read, .bar_moved = o_moved };

static void shm_setup(void)
{
	static const uint16_t sizes[2] = { 128, 128 };
	static const struct virtio_pci_shm regions[2] = {
		{ .id = 0, .offset = 0, .length = 6ULL << 20 },
		{ .id = 9, .offset = 1ULL << 33, .length = 1ULL << 33 }, /* needs the high dwords */
	};
	struct virtio_pci_params p = {
		.name = "vshm", .virtio_id = 26, .pci_class = 0x018000, .num_queues = 2,
		.queue_sizes = sizes, .config_size = 8, .common_ops = &cops, .msix_ops = &mops,
		.ops = &shm_vops, .opaque = &own, .shm_bar_size = 1ULL << 34, .nr_shm = 2,
		.shm = regions, .shm_ops = &shm_ops,
	};

	memset(&own, 0, sizeof(own));
	shm_reads = shm_writes = moves = 0;
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	ck_assert_int_eq(pci_host_init(&host, &pio, &mmio, 0x400000000ULL, 1ULL << 36), 0);
	ck_assert_int_eq(virtio_pci_init(&vp, &p), 0);
	ck_assert_int_eq(pci_host_add(&host, &vp.pci, &slot), 0);
}

START_TEST(shm_bar_and_caps)
{
	uint64_t bar, lo = cfg(0x18, 4), hi = cfg(0x1c, 4);
	unsigned int found = 0;
	uint32_t v = 0;

	/* 64-bit prefetchable memory BAR, naturally aligned in the 64-bit window. */
	ck_assert_uint_eq(lo & 0xf, PCI_BAR_MEM64 | PCI_BAR_PREFETCH);
	bar = (hi << 32) | (lo & ~0xfULL);
	ck_assert_uint_ge(bar, 0x400000000ULL);
	ck_assert_uint_eq(bar % (1ULL << 34), 0);
	for (uint32_t p = cfg(PCI_CAPABILITY_LIST, 1); p; p = cfg(p + 1, 1)) {
		uint64_t off, len;

		if (cfg(p, 1) != 0x09 || cfg(p + 3, 1) != VIRTIO_PCI_CAP_SHARED_MEMORY_CFG)
			continue;
		ck_assert_uint_eq(cfg(p + 2, 1), 24); /* Linux insists on struct virtio_pci_cap64 */
		ck_assert_uint_eq(cfg(p + 4, 1), VPCI_SHM_BAR);
		off = cfg(p + 8, 4) | (uint64_t)cfg(p + 16, 4) << 32;
		len = cfg(p + 12, 4) | (uint64_t)cfg(p + 20, 4) << 32;
		if (cfg(p + 5, 1) == 0) {
			ck_assert_uint_eq(off, 0);
			ck_assert_uint_eq(len, 6ULL << 20);
		} else {
			ck_assert_uint_eq(cfg(p + 5, 1), 9);
			ck_assert_uint_eq(off, 1ULL << 33);
			ck_assert_uint_eq(len, 1ULL << 33);
		}
		found++;
	}
	ck_assert_uint_eq(found, 2);
	/* Accesses no slot takes reach the owner's bus ops. */
	ck_assert(bus_read(&mmio, bar + 4096, &v, 4));
	ck_assert(bus_write(&mmio, bar + 8, &v, 4));
	ck_assert_int_eq(shm_reads, 1);
	ck_assert_int_eq(shm_writes, 1);
	/* Sizing the BAR and moving it is reported. */
	ck_assert_int_eq(moves, 1);
	ck_assert_uint_eq(moved_to, bar);
	pci_config_write(&vp.pci, PCI_COMMAND, &(uint16_t){ 0 }, 2);
	ck_assert_int_eq(moves, 2);
	ck_assert_uint_eq(moved_to, PCI_BAR_UNMAPPED);
	pci_config_write(&vp.pci, 0x1c, &(uint32_t){ (uint32_t)(bar >> 32) + 4 }, 4);
	pci_config_write(&vp.pci, PCI_COMMAND, &(uint16_t){ PCI_COMMAND_MEMORY }, 2);
	ck_assert_int_eq(moves, 3);
	ck_assert_uint_eq(moved_to, bar + (4ULL << 32));
	/* Moved with decoding on, by its high dword alone, as a guest may. */
	pci_config_write(&vp.pci, 0x1c, &(uint32_t){ (uint32_t)(bar >> 32) + 8 }, 4);
	ck_assert_int_eq(moves, 4);
	ck_assert_uint_eq(moved_to, bar + (8ULL << 32));
	ck_assert(!bus_read(&mmio, bar + (4ULL << 32) + 4096, &v, 4));
	ck_assert(bus_read(&mmio, bar + (8ULL << 32) + 4096, &v, 4));
	ck_assert_int_eq(shm_reads, 2);
}
END_TEST

START_TEST(shm_refused_layouts)
{
	struct virtio_pci v2;
	static const uint16_t sizes[1] = { 128 };
	struct virtio_pci_shm r[5] = { { .id = 0, .offset = 0, .length = 1 << 21 } };
	struct virtio_pci_params p = {
		.name = "bad", .virtio_id = 26, .num_queues = 1, .queue_sizes = sizes,
		.common_ops = &cops, .msix_ops = &mops, .ops = &shm_vops, .opaque = &own,
		.shm_bar_size = 1 << 21, .nr_shm = 1, .shm = r, .shm_ops = &shm_ops,
	};

	r[0].length = (1 << 21) + 4096; /* longer than the BAR */
	ck_assert_int_eq(virtio_pci_init(&v2, &p), -EINVAL);
	r[0].length = 1 << 21;
	p.shm_bar_size = 3 << 20; /* not a power of two */
	ck_assert_int_lt(virtio_pci_init(&v2, &p), 0);
	p.shm_bar_size = 1 << 21;
	p.nr_shm = 5;
	ck_assert_int_eq(virtio_pci_init(&v2, &p), -EINVAL);
	p.nr_shm = 0;
	ck_assert_int_eq(virtio_pci_init(&v2, &p), -EINVAL);
}
END_TEST

static Suite *virtio_pci_suite(void)
{
	Suite *s = suite_create("virtio_pci");
	TCase *tc = tcase_create("function");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identity_and_caps);
	tcase_add_test(tc, bar_regions);
	tcase_add_test(tc, msix_through_config_and_bar);
	tcase_add_test(tc, driver_ok_and_needs_reset);
	suite_add_tcase(s, tc);

	tc = tcase_create("shared memory");
	tcase_add_checked_fixture(tc, shm_setup, teardown);
	tcase_add_test(tc, shm_bar_and_caps);
	tcase_add_test(tc, shm_refused_layouts);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(virtio_pci_suite)
