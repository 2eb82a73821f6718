/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A 16550A-compatible UART (8250 family) as Linux's serial8250 driver
 * expects it: divisor latch, FIFO with 16-byte receive buffer, THRE and
 * receive-data interrupts with IIR priorities, loopback, scratch register.
 * Transmission is instantaneous: every byte written to THR goes straight to
 * the output callback.
 */
#ifndef SHMVM_DEVICES_UART8250_H
#define SHMVM_DEVICES_UART8250_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/irq.h"
#include "mm/bus.h"
#include "util/compiler.h"

#define UART_COM1_BASE 0x3f8
#define UART_COM1_IRQ 4
#define UART_COM2_BASE 0x2f8
#define UART_COM2_IRQ 3
#define UART_NR_PORTS 8
#define UART_RX_FIFO 64

/* Where transmitted bytes go; called with the UART lock held. */
typedef void uart_output_fn(void *opaque, const uint8_t *buf, size_t len);

struct uart8250 {
	pthread_mutex_t lock;
	struct irq_line irq;
	uart_output_fn *output;
	void *output_opaque;

	uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
	uint8_t dll, dlm;
	bool thr_ipending; /* THR-empty interrupt latched (cleared by IIR read / THR write) */
	bool irq_level;

	uint8_t rx[UART_RX_FIFO];
	unsigned int rx_head, rx_count;
};

void uart8250_init(struct uart8250 *u, const struct irq_line *irq, uart_output_fn *output,
		   void *opaque);
void uart8250_destroy(struct uart8250 *u);

/* Queue input bytes; returns how many fit (the rest is for the caller to retry). */
size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t len);
/* Free space in the receive FIFO. */
size_t uart8250_rx_room(struct uart8250 *u);

extern const struct bus_ops uart8250_bus_ops;

#endif
