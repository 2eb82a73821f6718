// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/host.h"

#include "check_main.h"

struct tdev {
	struct pci_device pci;
	int hits;
	uint64_t last_off;
	int moves;
	uint64_t moved_old, moved_new;
};

static void t_read(void *o, uint64_t off, void *data, uint32_t len)
{
	struct tdev *t = o;

	t->hits++;
	t->last_off = off;
	memset(data, 0xab, len);
}

static void t_write(void *o, uint64_t off, const void *data, uint32_t len)
{
	(void)data;
	(void)len;
	t_read(o, off, &(uint64_t){ 0 }, 1);
}

static const struct bus_ops t_ops = { .read = t_read, .write = t_write };

static void t_moved(struct pci_device *d, int bar, uint64_t old, uint64_t new_addr)
{
	struct tdev *t = container_of(d, struct tdev, pci);

	(void)bar;
	t->moves++;
	t->moved_old = old;
	t->moved_new = new_addr;
}

static const struct pci_device_ops t_dev_ops = { .bar_moved = t_moved };

static struct bus pio, mmio;
static struct pci_host host;

static void setup(void)
{
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	ck_assert_int_eq(pci_host_init(&host, &pio, &mmio, 0x400000000ULL, 0x400000000ULL), 0);
}

static void teardown(void)
{
	pci_host_destroy(&host);
	bus_destroy(&pio);
	bus_destroy(&mmio);
}

/* Config access through mechanism #1, as the guest does it. */
static uint32_t cfg_read(unsigned int slot, uint32_t reg, uint32_t len)
{
	uint32_t a = 0x80000000u | slot << 11 | (reg & 0xfc), v = 0;

	ck_assert(bus_write(&pio, PCI_CONFIG_ADDRESS, &a, 4));
	ck_assert(bus_read(&pio, PCI_CONFIG_DATA + (reg & 3), &v, len));
	return v;
}

static void cfg_write(unsigned int slot, uint32_t reg, uint32_t len, uint32_t v)
{
	uint32_t a = 0x80000000u | slot << 11 | (reg & 0xfc);

	ck_assert(bus_write(&pio, PCI_CONFIG_ADDRESS, &a, 4));
	ck_assert(bus_write(&pio, PCI_CONFIG_DATA + (reg & 3), &v, len));
}

START_TEST(host_bridge_enumerates)
{
	ck_assert_uint_eq(cfg_read(0, PCI_VENDOR_ID, 2), 0x8086);
	ck_assert_uint_eq(cfg_read(0, 0x08, 4) >> 8, 0x060000);
	ck_assert_uint_eq(cfg_read(0, PCI_DEVICE_ID, 2), 0x29c0);
	/* Byte lanes of the data port. */
	ck_assert_uint_eq(cfg_read(0, PCI_VENDOR_ID + 1, 1), 0x80);
	/* An empty slot and other buses read all-ones. */
	ck_assert_uint_eq(cfg_read(5, PCI_VENDOR_ID, 4), 0xffffffff);
	uint32_t a = 0x80010000u, v;
	ck_assert(bus_write(&pio, PCI_CONFIG_ADDRESS, &a, 4));
	ck_assert(bus_read(&pio, PCI_CONFIG_DATA, &v, 4));
	ck_assert_uint_eq(v, 0xffffffff);
	/* Without the enable bit nothing is selected. */
	a = 0;
	ck_assert(bus_write(&pio, PCI_CONFIG_ADDRESS, &a, 4));
	ck_assert(bus_read(&pio, PCI_CONFIG_DATA, &v, 4));
	ck_assert_uint_eq(v, 0xffffffff);
	/* The address register reads back; byte writes to it are ignored (Linux's type-1 probe). */
	a = 0x80000000u;
	ck_assert(bus_write(&pio, PCI_CONFIG_ADDRESS, &a, 4));
	uint8_t b = 1;
	ck_assert(bus_write(&pio, PCI_CONFIG_ADDRESS + 3, &b, 1));
	ck_assert(bus_read(&pio, PCI_CONFIG_ADDRESS, &v, 4));
	ck_assert_uint_eq(v, 0x80000000u);
}
END_TEST

START_TEST(header_masks)
{
	cfg_write(0, PCI_VENDOR_ID, 4, 0x12345678); /* read-only */
	ck_assert_uint_eq(cfg_read(0, PCI_VENDOR_ID, 2), 0x8086);
	cfg_write(0, PCI_COMMAND, 2, 0xffff);
	ck_assert_uint_eq(cfg_read(0, PCI_COMMAND, 2), 0x0407);
	cfg_write(0, PCI_INTERRUPT_LINE, 1, 0x0b);
	ck_assert_uint_eq(cfg_read(0, PCI_INTERRUPT_LINE, 1), 0x0b);
	/* Write-1-to-clear status bits. */
	host.bridge.cfg[PCI_STATUS + 1] = 0x80; /* detected parity error */
	cfg_write(0, PCI_STATUS, 2, 0x0000);
	ck_assert_uint_eq(cfg_read(0, PCI_STATUS, 2) & 0x8000, 0x8000);
	cfg_write(0, PCI_STATUS, 2, 0x8000);
	ck_assert_uint_eq(cfg_read(0, PCI_STATUS, 2) & 0x8000, 0);
}
END_TEST

START_TEST(capabilities)
{
	struct pci_device d;

	pci_device_init(&d, "t", 1, 2, 0, NULL, NULL);
	int a = pci_cap_add(&d, 0x09, 20), b = pci_cap_add(&d, 0x11, 12);
	ck_assert_int_eq(a, 0x40);
	ck_assert_int_eq(b, 0x54);
	ck_assert_uint_eq(pci_cfg_get(&d, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
	/* Walk the chain. */
	unsigned int ids[4], n = 0;
	for (uint8_t p = d.cfg[PCI_CAPABILITY_LIST]; p && n < 4; p = d.cfg[p + 1])
		ids[n++] = d.cfg[p];
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(ids[0], 0x09);
	ck_assert_uint_eq(ids[1], 0x11);
	ck_assert_int_eq(pci_cap_add(&d, 0x09, 200), -ENOSPC);
	ck_assert_int_eq(pci_cap_add(&d, 0x09, 1), -ENOSPC);
	pci_device_destroy(&d);
}
END_TEST

static struct tdev *tdev_new(void)
{
	struct tdev *t = calloc(1, sizeof(*t));

	pci_device_init(&t->pci, "tdev", 0x1af4, 0x1040, 0xff0000, &t_dev_ops, NULL);
	ck_assert_int_eq(pci_bar_declare(&t->pci, 0, PCI_BAR_KIND_MEM32, false, 0x1000, &t_ops, t), 0);
	ck_assert_int_eq(pci_bar_declare(&t->pci, 1, PCI_BAR_KIND_IO, false, 32, &t_ops, t), 0);
	ck_assert_int_eq(pci_bar_declare(&t->pci, 2, PCI_BAR_KIND_MEM64, true, 0x200000, NULL, NULL), 0);
	return t;
}

START_TEST(bar_sizing_and_assignment)
{
	struct tdev *t = tdev_new();
	unsigned int slot;

	ck_assert_int_eq(pci_bar_declare(&t->pci, 3, PCI_BAR_KIND_MEM32, false, 100, &t_ops, t), -EINVAL);
	ck_assert_int_eq(pci_bar_declare(&t->pci, 2, PCI_BAR_KIND_MEM32, false, 0x1000, &t_ops, t), -EBUSY);
	ck_assert_int_eq(pci_bar_declare(&t->pci, 5, PCI_BAR_KIND_MEM64, false, 0x1000, &t_ops, t), -EINVAL);
	ck_assert_int_eq(pci_host_add(&host, &t->pci, &slot), 0);
	ck_assert_uint_eq(slot, 1);
	/* Firmware-like placement, decode on. */
	ck_assert_uint_eq(cfg_read(slot, 0x10, 4), 0xc0000000);
	ck_assert_uint_eq(cfg_read(slot, 0x14, 4), 0xc001);
	ck_assert_uint_eq(cfg_read(slot, 0x18, 4), 0x0000000c);
	ck_assert_uint_eq(cfg_read(slot, 0x1c, 4), 0x4);
	ck_assert_uint_eq(cfg_read(slot, PCI_COMMAND, 2) & 3, 3);
	ck_assert_int_eq(t->moves, 3); /* every BAR; the 64-bit one last, at 16 GiB */
	ck_assert_uint_eq(t->moved_new, 0x400000000ULL);
	/* MMIO and PIO reach the device at BAR-relative offsets. */
	uint32_t v;
	ck_assert(bus_read(&mmio, 0xc0000010, &v, 4));
	ck_assert_uint_eq(t->last_off, 0x10);
	ck_assert(bus_read(&pio, 0xc004, &v, 2));
	ck_assert_uint_eq(t->last_off, 4);

	/* Sizing with decode off: all-ones reads back the size mask and type bits. */
	cfg_write(slot, PCI_COMMAND, 2, 0);
	ck_assert(!bus_read(&mmio, 0xc0000010, &v, 4));
	ck_assert_uint_eq(t->moves, 6);
	ck_assert_uint_eq(t->moved_new, PCI_BAR_UNMAPPED);
	cfg_write(slot, 0x10, 4, 0xffffffff);
	ck_assert_uint_eq(cfg_read(slot, 0x10, 4), 0xfffff000);
	cfg_write(slot, 0x14, 4, 0xffffffff);
	ck_assert_uint_eq(cfg_read(slot, 0x14, 4), 0xffffffe1);
	cfg_write(slot, 0x18, 4, 0xffffffff);
	cfg_write(slot, 0x1c, 4, 0xffffffff);
	ck_assert_uint_eq(cfg_read(slot, 0x18, 4), 0xffe0000c);
	ck_assert_uint_eq(cfg_read(slot, 0x1c, 4), 0xffffffff);

	/* Move BAR 0, turn decode on: the device answers only at the new address. */
	cfg_write(slot, 0x10, 4, 0xd0000000);
	cfg_write(slot, 0x14, 4, 0xd000);
	cfg_write(slot, 0x18, 4, 0x00000000);
	cfg_write(slot, 0x1c, 4, 0x8);
	cfg_write(slot, PCI_COMMAND, 2, 3);
	ck_assert(bus_read(&mmio, 0xd0000004, &v, 4));
	ck_assert_uint_eq(t->last_off, 4);
	ck_assert(!bus_read(&mmio, 0xc0000004, &v, 4));
	ck_assert(bus_read(&pio, 0xd000, &v, 1));
	ck_assert_uint_eq(t->moved_new, 0x800000000ULL);
	/* Sub-dword write to a BAR moves it too. */
	cfg_write(slot, 0x12, 2, 0xd010);
	ck_assert(bus_read(&mmio, 0xd0100000, &v, 4));
	ck_assert(!bus_read(&mmio, 0xd0000000, &v, 4));
	/* A BAR on top of another device's range stays unmapped. */
	cfg_write(slot, 0x14, 4, PCI_CONFIG_ADDRESS & ~31u); /* 0xce0: covers 0xcf8 */
	ck_assert(bus_read(&pio, PCI_CONFIG_ADDRESS, &v, 4)); /* still the host's */
	pci_device_destroy(&t->pci);
	free(t);
}
END_TEST

/* Two 8 GiB shared-memory BARs fit the 16 GiB 64-bit window; a third is refused. */
START_TEST(bar_does_not_fit)
{
	struct pci_device d[3];
	unsigned int slot;

	for (int i = 0; i < 3; i++) {
		pci_device_init(&d[i], "big", 0x1af4, 0x105a, 0x018000, NULL, NULL);
		ck_assert_int_eq(pci_bar_declare(&d[i], 2, PCI_BAR_KIND_MEM64, true, 8ULL << 30, NULL, NULL), 0);
	}
	ck_assert_int_eq(pci_host_add(&host, &d[0], &slot), 0);
	ck_assert_int_eq(pci_host_add(&host, &d[1], &slot), 0);
	ck_assert_int_eq(pci_host_add(&host, &d[2], &slot), -ENOSPC);
	for (int i = 0; i < 3; i++)
		pci_device_destroy(&d[i]);
}
END_TEST

START_TEST(window_alloc)
{
	struct pci_window w = { 0x1000, 0x10000 };
	uint64_t a;

	ck_assert_int_eq(pci_window_alloc(&w, 0x100, &a), 0);
	ck_assert_uint_eq(a, 0x1000);
	ck_assert_int_eq(pci_window_alloc(&w, 0x4000, &a), 0);
	ck_assert_uint_eq(a, 0x4000); /* natural alignment */
	ck_assert_int_eq(pci_window_alloc(&w, 0x8000, &a), 0);
	ck_assert_uint_eq(a, 0x8000);
	ck_assert_int_eq(pci_window_alloc(&w, 0x10, &a), -ENOSPC);
	ck_assert_int_eq(pci_window_alloc(&w, 0x30, &a), -EINVAL);
	struct pci_window top = { UINT64_MAX - 0xfff, UINT64_MAX };
	ck_assert_int_eq(pci_window_alloc(&top, 0x2000, &a), -ENOSPC);
}
END_TEST

START_TEST(bad_config_accesses)
{
	struct pci_device d;
	uint32_t v = 0;

	pci_device_init(&d, "t", 1, 2, 0, NULL, NULL);
	pci_config_read(&d, 2, &v, 4); /* misaligned */
	ck_assert_uint_eq(v, 0xffffffff);
	pci_config_read(&d, 255, &v, 2);
	pci_config_write(&d, 254, &v, 4);
	pci_config_write(&d, 1000, &v, 4);
	pci_device_destroy(&d);
}
END_TEST

static Suite *pci_suite(void)
{
	Suite *s = suite_create("pci");
	TCase *tc = tcase_create("host");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, host_bridge_enumerates);
	tcase_add_test(tc, header_masks);
	tcase_add_test(tc, bar_sizing_and_assignment);
	tcase_add_test(tc, bar_does_not_fit);
	suite_add_tcase(s, tc);
	tc = tcase_create("config");
	tcase_add_test(tc, capabilities);
	tcase_add_test(tc, bad_config_accesses);
	tcase_add_test(tc, window_alloc);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(pci_suite)
