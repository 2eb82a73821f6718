/* SPDX-License-Identifier: GPL-2.0-only */
/* How a device raises a legacy interrupt line without knowing about KVM. */
#ifndef SHMVM_DEVICES_IRQ_H
#define SHMVM_DEVICES_IRQ_H

#include <stdbool.h>
#include <stdint.h>

struct irq_line {
	/* Drive GSI @gsi to @level. Called with the device's lock held. */
	void (*set)(void *opaque, uint32_t gsi, bool level);
	void *opaque;
	uint32_t gsi;
};

static inline void irq_line_set(const struct irq_line *l, bool level)
{
	if (l->set)
		l->set(l->opaque, l->gsi, level);
}

#endif
