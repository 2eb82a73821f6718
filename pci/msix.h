/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MSI-X: the vector table and pending-bit array a device exposes in a BAR,
 * and the capability's Message Control word. The owner of the interrupt
 * plumbing (KVM GSI routes and irqfds, in vmm/) is told through msix_ops
 * whenever the effective state of a vector changes, so that an unmasked
 * vector can be delivered straight from an eventfd without shmvm.
 */
#ifndef SHMVM_PCI_MSIX_H
#define SHMVM_PCI_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

#define MSIX_MAX_VECTORS 2048
#define MSIX_ENTRY_SIZE 16
#define MSIX_CAP_SIZE 12

/* Message Control bits (PCI Local Bus 3.0, 6.8.2.3). */
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_FUNC_MASK 0x4000
#define MSIX_ENTRY_CTRL_MASKED 0x1

struct msix_msg {
	uint64_t addr;
	uint32_t data;
};

struct msix_ops {
	/*
	 * Vector @vector is now routed to @msg and is @masked or not. Called
	 * when either changes (with the msix lock held; do not call back).
	 */
	void (*update)(void *opaque, unsigned int vector, const struct msix_msg *msg, bool masked);
	/* Is an interrupt waiting on (masked) @vector? For the PBA. May be NULL. */
	bool (*pending)(void *opaque, unsigned int vector);
	/* Deliver @msg now (a VMM-originated interrupt on an unmasked vector). */
	void (*signal)(void *opaque, const struct msix_msg *msg);
};

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
	bool pending; /* VMM-originated interrupt held back by a mask */
	/* What the owner was last told, so unchanged state is not pushed again. */
	struct msix_msg told;
	bool told_masked, told_valid;
};

struct msix {
	pthread_mutex_t lock;
	unsigned int nr;
	struct msix_entry *table;
	bool enabled, func_masked;
	const struct msix_ops *ops;
	void *opaque;
};

/* @nr vectors, 1..MSIX_MAX_VECTORS; all start masked, MSI-X disabled. */
int msix_init(struct msix *m, unsigned int nr, const struct msix_ops *ops, void *opaque) __must_check;
void msix_destroy(struct msix *m);

/* Bytes of BAR space the table and the PBA need. */
uint64_t msix_table_size(unsigned int nr);
uint64_t msix_pba_size(unsigned int nr);

/* MMIO handlers for the table and the PBA (offsets relative to each). */
void msix_table_read(struct msix *m, uint64_t off, void *data, uint32_t len);
void msix_table_write(struct msix *m, uint64_t off, const void *data, uint32_t len);
void msix_pba_read(struct msix *m, uint64_t off, void *data, uint32_t len);

/* The Message Control word: read composes table size and state; write takes enable/mask. */
uint16_t msix_control_read(struct msix *m);
void msix_control_write(struct msix *m, uint16_t v);

/* Raise @vector from the VMM: delivered if unmasked, else its pending bit is set. */
void msix_notify(struct msix *m, unsigned int vector);
/* Back to power-on state (device reset): everything masked, disabled, nothing pending. */
void msix_reset(struct msix *m);
/* Is @vector masked right now (disabled, function-masked or entry-masked)? */
bool msix_is_masked(struct msix *m, unsigned int vector);

#endif
