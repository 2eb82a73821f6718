/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a device model may ask of the hypervisor, without knowing it is KVM:
 * MSI routes, irqfds (an eventfd that interrupts the guest) and ioeventfds
 * (a guest write that signals an eventfd). vmm/ implements it with KVM;
 * tests can implement it with fakes.
 */
#ifndef SHMVM_DEVICES_KVM_OPS_H
#define SHMVM_DEVICES_KVM_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "pci/msix.h"

#define IRQ_NO_GSI (-1)

struct hv_ops {
	/* Point GSI *@gsi at @msg (allocating one if *@gsi == IRQ_NO_GSI); 0 or -errno. */
	int (*msi_route)(void *opaque, int *gsi, const struct msix_msg *msg);
	/* Forget GSI @gsi. */
	void (*msi_route_free)(void *opaque, int gsi);
	/* Bind (@assign) or unbind eventfd @fd to GSI @gsi. */
	int (*irqfd)(void *opaque, int fd, int gsi, bool assign);
	/* Bind or unbind eventfd @fd to guest writes of @len bytes at MMIO address @addr. */
	int (*ioeventfd)(void *opaque, int fd, uint64_t addr, uint32_t len, bool assign);
	/* Inject @msg once. */
	int (*signal_msi)(void *opaque, const struct msix_msg *msg);
	void *opaque;
};

#endif
