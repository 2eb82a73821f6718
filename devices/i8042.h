/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The PS/2 controller, reduced to what a Linux guest needs: a controller
 * that answers Linux's probe quickly (command byte, self tests), a keyboard
 * that acknowledges commands, and the reset line (command 0xFE, used by
 * `reboot=k`), which is how a guest asks shmvm to end.
 */
#ifndef SHMVM_DEVICES_I8042_H
#define SHMVM_DEVICES_I8042_H

#include <pthread.h>
#include <stdint.h>

#include "devices/irq.h"
#include "mm/bus.h"

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_KBD_IRQ 1

struct i8042 {
	pthread_mutex_t lock;
	struct irq_line kbd_irq;
	void (*reset)(void *opaque); /* the guest pulsed the reset line */
	void *reset_opaque;

	uint8_t status, ctr, outport;
	uint8_t pending; /* controller command waiting for its data byte, 0 if none */
	uint8_t out[16];
	unsigned int out_head, out_count;
};

void i8042_init(struct i8042 *k, const struct irq_line *kbd_irq, void (*reset)(void *opaque),
		void *opaque);
void i8042_destroy(struct i8042 *k);

/* Register each on one byte: data at 0x60, status/command at 0x64 (0x61 is the PIT's). */
extern const struct bus_ops i8042_data_ops;
extern const struct bus_ops i8042_cmd_ops;

#endif
