/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KVM interrupt plumbing for devices: the GSI routing table (the default
 * PIC/IO-APIC routes plus one MSI route per allocated GSI), irqfds and
 * ioeventfds. Implements struct hv_ops for device models.
 */
#ifndef SHMVM_VMM_IRQ_H
#define SHMVM_VMM_IRQ_H

#include <pthread.h>
#include <stdint.h>

#include "devices/kvm_ops.h"
#include "util/compiler.h"

#define IRQ_MAX_GSI 1024
#define IRQ_FIRST_MSI_GSI 24 /* after the IO-APIC's pins */

struct vm_irq {
	pthread_mutex_t lock;
	int vm_fd;
	uint32_t nr_msi;
	bool used[IRQ_MAX_GSI];
	struct msix_msg msi[IRQ_MAX_GSI];
};

void vm_irq_init(struct vm_irq *irq, int vm_fd);
void vm_irq_destroy(struct vm_irq *irq);
/* The hv_ops for device models, bound to @irq. */
struct hv_ops vm_irq_hv_ops(struct vm_irq *irq);

#endif
