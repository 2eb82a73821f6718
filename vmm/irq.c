// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"

/* KVM's in-kernel PIC and IO-APIC. */
#define KVM_IRQCHIP_PIC_MASTER 0
#define KVM_IRQCHIP_PIC_SLAVE 1
#define KVM_IRQCHIP_IOAPIC 2

void vm_irq_init(struct vm_irq *irq, int vm_fd)
{
	memset(irq, 0, sizeof(*irq));
	pthread_mutex_init(&irq->lock, NULL);
	irq->vm_fd = vm_fd;
}

void vm_irq_destroy(struct vm_irq *irq)
{
	pthread_mutex_destroy(&irq->lock);
}

/*
 * KVM_SET_GSI_ROUTING replaces the whole table, so it is rebuilt every
 * time: KVM's default routes (GSI n → IO-APIC pin n, and the PICs for
 * 0-15, pin 2 being the cascade) followed by our MSI routes. Lock held.
 */
static int irq_commit(struct vm_irq *irq)
{
	size_t max = 16 + 24 + IRQ_MAX_GSI;
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + max * sizeof(r->entries[0]));
	uint32_t n = 0;
	long rc;

	if (!r)
		return -ENOMEM;
	for (uint32_t gsi = 0; gsi < 24; gsi++) {
		if (gsi < 16 && gsi != 2) {
			r->entries[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi,
				.type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
					       .pin = gsi % 8 },
			};
		}
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi },
		};
	}
	for (uint32_t gsi = IRQ_FIRST_MSI_GSI; gsi < IRQ_MAX_GSI; gsi++) {
		if (!irq->used[gsi])
			continue;
		r->entries[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi,
			.type = KVM_IRQ_ROUTING_MSI,
			.u.msi = { .address_lo = (uint32_t)irq->msi[gsi].addr,
				   .address_hi = (uint32_t)(irq->msi[gsi].addr >> 32),
				   .data = irq->msi[gsi].data },
		};
	}
	r->nr = n;
	rc = kvm_ioctl_val(irq->vm_fd, KVM_SET_GSI_ROUTING, r);
	free(r);
	return rc < 0 ? (int)rc : 0;
}

static int hv_msi_route(void *opaque, int *gsi, const struct msix_msg *msg)
{
	struct vm_irq *irq = opaque;
	int g = *gsi, rc;

	pthread_mutex_lock(&irq->lock);
	if (g == IRQ_NO_GSI) {
		for (g = IRQ_FIRST_MSI_GSI; g < IRQ_MAX_GSI && irq->used[g]; g++)
			;
		if (g == IRQ_MAX_GSI) {
			pthread_mutex_unlock(&irq->lock);
			return -ENOSPC;
		}
	} else if (g < IRQ_FIRST_MSI_GSI || g >= IRQ_MAX_GSI || !irq->used[g]) {
		pthread_mutex_unlock(&irq->lock);
		return -EINVAL;
	}
	irq->used[g] = true;
	irq->msi[g] = *msg;
	rc = irq_commit(irq);
	if (!rc)
		*gsi = g;
	else if (*gsi == IRQ_NO_GSI)
		irq->used[g] = false;
	pthread_mutex_unlock(&irq->lock);
	return rc;
}

static void hv_msi_route_free(void *opaque, int gsi)
{
	struct vm_irq *irq = opaque;

	if (gsi < IRQ_FIRST_MSI_GSI || gsi >= IRQ_MAX_GSI)
		return;
	pthread_mutex_lock(&irq->lock);
	if (irq->used[gsi]) {
		irq->used[gsi] = false;
		if (irq_commit(irq))
			log_warn("cannot drop MSI route for GSI %d", gsi);
	}
	pthread_mutex_unlock(&irq->lock);
}

static int hv_irqfd(void *opaque, int fd, int gsi, bool assign)
{
	struct vm_irq *irq = opaque;
	struct kvm_irqfd a = { .fd = (uint32_t)fd, .gsi = (uint32_t)gsi,
			       .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
	long rc = kvm_ioctl(irq->vm_fd, KVM_IRQFD, &a);

	return rc < 0 ? (int)rc : 0;
}

static int hv_ioeventfd(void *opaque, int fd, uint64_t addr, uint32_t len, bool assign)
{
	struct vm_irq *irq = opaque;
	struct kvm_ioeventfd a = { .addr = addr, .len = len, .fd = fd,
				   .flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN };
	long rc = kvm_ioctl(irq->vm_fd, KVM_IOEVENTFD, &a);

	return rc < 0 ? (int)rc : 0;
}

static int hv_signal_msi(void *opaque, const struct msix_msg *msg)
{
	struct vm_irq *irq = opaque;
	struct kvm_msi m = { .address_lo = (uint32_t)msg->addr,
			     .address_hi = (uint32_t)(msg->addr >> 32), .data = msg->data };
	long rc = kvm_ioctl(irq->vm_fd, KVM_SIGNAL_MSI, &m);

	return rc < 0 ? (int)rc : 0;
}

struct hv_ops vm_irq_hv_ops(struct vm_irq *irq)
{
	return (struct hv_ops){
		.msi_route = hv_msi_route,
		.msi_route_free = hv_msi_route_free,
		.irqfd = hv_irqfd,
		.ioeventfd = hv_ioeventfd,
		.signal_msi = hv_signal_msi,
		.opaque = irq,
	};
}
