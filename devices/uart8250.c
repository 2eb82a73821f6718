// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "devices/uart8250.h"

/* Register offsets (DLAB selects the divisor latch at 0 and 1). */
enum {
	UART_RBR_THR = 0,
	UART_IER = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define IER_RDI 0x01  /* receive data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */

#define IIR_NO_INT 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO_ENABLED 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_ERRORS (LSR_OE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_DELTAS 0x0f
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

static uint8_t uart_iir(const struct uart8250 *u)
{
	uint8_t fifo = (u->fcr & FCR_ENABLE) ? IIR_FIFO_ENABLED : 0;

	/* Priority order of the 16550: line status, data, THR empty, modem status. */
	if ((u->ier & IER_RLSI) && (u->lsr & LSR_ERRORS))
		return fifo | IIR_RLSI;
	if ((u->ier & IER_RDI) && (u->lsr & LSR_DR))
		return fifo | IIR_RDI;
	if ((u->ier & IER_THRI) && u->thr_ipending)
		return fifo | IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr & MSR_DELTAS))
		return fifo | IIR_MSI;
	return fifo | IIR_NO_INT;
}

/*
 * The line follows IIR. (A PC gates it with MCR.OUT2; Linux always sets
 * OUT2 on ports it drives by interrupt, and QEMU does not model the gate
 * either, so neither do we.)
 */
static void uart_update_irq(struct uart8250 *u)
{
	bool level = !(uart_iir(u) & IIR_NO_INT);

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

static void uart_rx_push(struct uart8250 *u, uint8_t c)
{
	if (u->rx_count == UART_RX_FIFO) {
		u->lsr |= LSR_OE;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_RX_FIFO] = c;
	u->rx_count++;
	u->lsr |= LSR_DR;
}

static uint8_t uart_rx_pop(struct uart8250 *u)
{
	uint8_t c;

	if (!u->rx_count)
		return 0;
	c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART_RX_FIFO;
	if (--u->rx_count == 0)
		u->lsr &= (uint8_t)~LSR_DR;
	return c;
}

static void uart_transmit(struct uart8250 *u, uint8_t c)
{
	if (u->mcr & MCR_LOOP)
		uart_rx_push(u, c);
	else if (u->output)
		u->output(u->output_opaque, &c, 1);
	/* The byte left at once: THR empty again. */
	u->lsr |= LSR_THRE | LSR_TEMT;
	u->thr_ipending = true;
}

/* In loopback the modem inputs follow the modem control outputs. */
static uint8_t uart_loop_msr(const struct uart8250 *u)
{
	uint8_t m = 0;

	if (u->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (u->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (u->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static void uart_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	struct uart8250 *u = dev;
	uint8_t v = 0;

	if (len != 1) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&u->lock);
	switch (off) {
	case UART_RBR_THR:
		v = (u->lcr & LCR_DLAB) ? u->dll : uart_rx_pop(u);
		break;
	case UART_IER:
		v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case UART_IIR_FCR:
		v = uart_iir(u);
		/* Reading IIR acknowledges a THR-empty interrupt it reports. */
		if ((v & 0x0f) == IIR_THRI)
			u->thr_ipending = false;
		break;
	case UART_LCR:
		v = u->lcr;
		break;
	case UART_MCR:
		v = u->mcr;
		break;
	case UART_LSR:
		v = u->lsr;
		u->lsr &= (uint8_t)~LSR_ERRORS;
		break;
	case UART_MSR:
		if (u->mcr & MCR_LOOP)
			v = (uint8_t)(uart_loop_msr(u) | (u->msr & MSR_DELTAS));
		else
			v = u->msr;
		u->msr &= (uint8_t)~MSR_DELTAS;
		break;
	case UART_SCR:
		v = u->scr;
		break;
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	*(uint8_t *)data = v;
}

static void uart_write(void *dev, uint64_t off, const void *data, uint32_t len)
{
	struct uart8250 *u = dev;
	uint8_t v;

	if (len != 1)
		return;
	v = *(const uint8_t *)data;
	pthread_mutex_lock(&u->lock);
	switch (off) {
	case UART_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			break;
		}
		u->thr_ipending = false;
		uart_update_irq(u);
		uart_transmit(u, v);
		break;
	case UART_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			break;
		}
		/* Enabling THRI with THR empty raises the interrupt at once (16550). */
		if (!(u->ier & IER_THRI) && (v & IER_THRI) && (u->lsr & LSR_THRE))
			u->thr_ipending = true;
		u->ier = v & 0x0f;
		break;
	case UART_IIR_FCR:
		u->fcr = v & 0xc9;
		if (v & FCR_CLEAR_RX) {
			u->rx_head = u->rx_count = 0;
			u->lsr &= (uint8_t)~LSR_DR;
		}
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		u->mcr = v & 0x1f;
		break;
	case UART_LSR:
	case UART_MSR:
		break; /* read-only */
	case UART_SCR:
		u->scr = v;
		break;
	}
	uart_update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

const struct bus_ops uart8250_bus_ops = {
	.read = uart_read,
	.write = uart_write,
};

void uart8250_init(struct uart8250 *u, const struct irq_line *irq, uart_output_fn *output,
		   void *opaque)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	if (irq)
		u->irq = *irq;
	u->output = output;
	u->output_opaque = opaque;
	u->lsr = LSR_THRE | LSR_TEMT;
	u->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	u->dll = 12; /* 9600 baud, as after a BIOS */
}

void uart8250_destroy(struct uart8250 *u)
{
	pthread_mutex_destroy(&u->lock);
}

size_t uart8250_rx_room(struct uart8250 *u)
{
	size_t room;

	pthread_mutex_lock(&u->lock);
	room = UART_RX_FIFO - u->rx_count;
	pthread_mutex_unlock(&u->lock);
	return room;
}

size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	/* Input is dropped while in loopback, like a real UART's RX pin. */
	if (!(u->mcr & MCR_LOOP)) {
		while (n < len && u->rx_count < UART_RX_FIFO)
			uart_rx_push(u, buf[n++]);
		uart_update_irq(u);
	} else {
		n = len;
	}
	pthread_mutex_unlock(&u->lock);
	return n;
}
