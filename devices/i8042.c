// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "devices/i8042.h"

#define ST_OBF 0x01  /* output buffer full */
#define ST_SYS 0x04  /* system flag: self test passed */
#define ST_CMD 0x08  /* last write was to the command port */
#define ST_AUX 0x20  /* output byte came from the aux port */

#define CTR_KBD_INT 0x01
#define CTR_SYS 0x04
#define CTR_XLATE 0x40

enum {
	CMD_READ_CTR = 0x20,
	CMD_WRITE_CTR = 0x60,
	CMD_AUX_DISABLE = 0xa7,
	CMD_AUX_ENABLE = 0xa8,
	CMD_AUX_TEST = 0xa9,
	CMD_SELF_TEST = 0xaa,
	CMD_KBD_TEST = 0xab,
	CMD_KBD_DISABLE = 0xad,
	CMD_KBD_ENABLE = 0xae,
	CMD_READ_OUTPORT = 0xd0,
	CMD_WRITE_OUTPORT = 0xd1,
	CMD_WRITE_KBD_OUT = 0xd2,
	CMD_WRITE_AUX_OUT = 0xd3,
	CMD_WRITE_AUX = 0xd4,
	CMD_PULSE_RESET = 0xfe,
};

/* Keyboard commands and replies (PS/2). */
#define KBD_ACK 0xfa
#define KBD_CMD_GETID 0xf2
#define KBD_CMD_RESET 0xff
#define KBD_BAT_OK 0xaa

static void i8042_push(struct i8042 *k, uint8_t v, bool from_kbd)
{
	if (k->out_count == sizeof(k->out))
		return;
	k->out[(k->out_head + k->out_count) % sizeof(k->out)] = v;
	k->out_count++;
	k->status |= ST_OBF;
	k->status &= (uint8_t)~ST_AUX;
	/* Keyboard bytes interrupt on IRQ 1 (an edge) when the command byte allows. */
	if (from_kbd && (k->ctr & CTR_KBD_INT)) {
		irq_line_set(&k->kbd_irq, true);
		irq_line_set(&k->kbd_irq, false);
	}
}

static uint8_t i8042_pop(struct i8042 *k)
{
	uint8_t v;

	if (!k->out_count)
		return 0;
	v = k->out[k->out_head];
	k->out_head = (k->out_head + 1) % sizeof(k->out);
	if (--k->out_count == 0)
		k->status &= (uint8_t)~ST_OBF;
	return v;
}

static void i8042_reset_line(struct i8042 *k)
{
	if (k->reset)
		k->reset(k->reset_opaque);
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CTR:
		i8042_push(k, k->ctr, false);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPORT:
	case CMD_WRITE_KBD_OUT:
	case CMD_WRITE_AUX_OUT:
	case CMD_WRITE_AUX:
		k->pending = cmd;
		break;
	case CMD_AUX_TEST:
		i8042_push(k, 0x01, false); /* "clock line stuck low": there is no mouse */
		break;
	case CMD_SELF_TEST:
		i8042_push(k, 0x55, false);
		break;
	case CMD_KBD_TEST:
		i8042_push(k, 0x00, false);
		break;
	case CMD_READ_OUTPORT:
		i8042_push(k, k->outport, false);
		break;
	case CMD_AUX_DISABLE:
	case CMD_AUX_ENABLE:
	case CMD_KBD_DISABLE:
	case CMD_KBD_ENABLE:
		break;
	default:
		/* 0xf0-0xff pulse output lines; bit 0 clear pulses the CPU reset line. */
		if (cmd >= 0xf0 && !(cmd & 1))
			i8042_reset_line(k);
		break;
	}
}

static void i8042_data(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending;

	k->pending = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		k->ctr = v;
		return;
	case CMD_WRITE_OUTPORT:
		k->outport = v;
		if (!(v & 1))
			i8042_reset_line(k);
		return;
	case CMD_WRITE_KBD_OUT:
		i8042_push(k, v, true);
		return;
	case CMD_WRITE_AUX_OUT:
	case CMD_WRITE_AUX:
		return; /* no mouse */
	default:
		break;
	}
	/* A byte for the keyboard itself. */
	i8042_push(k, KBD_ACK, true);
	if (v == KBD_CMD_GETID) {
		i8042_push(k, 0xab, true);
		i8042_push(k, (k->ctr & CTR_XLATE) ? 0x41 : 0x83, true);
	} else if (v == KBD_CMD_RESET) {
		i8042_push(k, KBD_BAT_OK, true);
	}
}

static void i8042_data_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	struct i8042 *k = dev;
	uint8_t v;

	(void)off;
	pthread_mutex_lock(&k->lock);
	v = i8042_pop(k);
	pthread_mutex_unlock(&k->lock);
	memset(data, v, len);
}

static void i8042_data_write(void *dev, uint64_t off, const void *data, uint32_t len)
{
	struct i8042 *k = dev;

	(void)off;
	(void)len;
	pthread_mutex_lock(&k->lock);
	k->status &= (uint8_t)~ST_CMD;
	i8042_data(k, *(const uint8_t *)data);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_status_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	struct i8042 *k = dev;
	uint8_t v;

	(void)off;
	pthread_mutex_lock(&k->lock);
	v = k->status;
	pthread_mutex_unlock(&k->lock);
	memset(data, v, len);
}

static void i8042_cmd_write(void *dev, uint64_t off, const void *data, uint32_t len)
{
	struct i8042 *k = dev;

	(void)off;
	(void)len;
	pthread_mutex_lock(&k->lock);
	k->status |= ST_CMD;
	i8042_command(k, *(const uint8_t *)data);
	pthread_mutex_unlock(&k->lock);
}

const struct bus_ops i8042_data_ops = {
	.read = i8042_data_read,
	.write = i8042_data_write,
};

const struct bus_ops i8042_cmd_ops = {
	.read = i8042_status_read,
	.write = i8042_cmd_write,
};

void i8042_init(struct i8042 *k, const struct irq_line *kbd_irq, void (*reset)(void *opaque),
		void *opaque)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	if (kbd_irq)
		k->kbd_irq = *kbd_irq;
	k->reset = reset;
	k->reset_opaque = opaque;
	k->status = ST_SYS;
	k->ctr = CTR_KBD_INT | CTR_SYS | CTR_XLATE;
	k->outport = 0x03; /* A20 on, not in reset */
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}
