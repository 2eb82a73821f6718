// SPDX-License-Identifier: GPL-2.0-only
/* The legacy devices, driven through their bus callbacks as a guest would. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "devices/i8042.h"
#include "devices/rtc.h"
#include "devices/uart8250.h"

#include "check_main.h"

struct irq_log {
	int raises, lowers;
	bool level;
};

static void irq_set(void *opaque, uint32_t gsi, bool level)
{
	struct irq_log *l = opaque;

	(void)gsi;
	if (level)
		l->raises++;
	else
		l->lowers++;
	l->level = level;
}

struct out_log {
	char buf[256];
	size_t len;
};

static void out_fn(void *opaque, const uint8_t *buf, size_t len)
{
	struct out_log *o = opaque;

	memcpy(o->buf + o->len, buf, len);
	o->len += len;
}

static uint8_t rd(struct uart8250 *u, unsigned int reg)
{
	uint8_t v;

	uart8250_bus_ops.read(u, reg, &v, 1);
	return v;
}

static void wr(struct uart8250 *u, unsigned int reg, uint8_t v)
{
	uart8250_bus_ops.write(u, reg, &v, 1);
}

static struct uart8250 uart;
static struct irq_log ilog;
static struct out_log olog;

static void uart_setup(void)
{
	struct irq_line irq = { .set = irq_set, .opaque = &ilog, .gsi = 4 };

	memset(&ilog, 0, sizeof(ilog));
	memset(&olog, 0, sizeof(olog));
	uart8250_init(&uart, &irq, out_fn, &olog);
}

static void uart_teardown(void)
{
	uart8250_destroy(&uart);
}

START_TEST(uart_transmit)
{
	ck_assert_uint_eq(rd(&uart, 5) & 0x60, 0x60); /* THRE|TEMT at reset */
	wr(&uart, 0, 'h');
	wr(&uart, 0, 'i');
	ck_assert_uint_eq(olog.len, 2);
	ck_assert(!memcmp(olog.buf, "hi", 2));
	ck_assert_int_eq(ilog.raises, 0); /* no interrupts enabled */
}
END_TEST

START_TEST(uart_divisor_latch)
{
	wr(&uart, 3, 0x83); /* DLAB, 8N1 */
	wr(&uart, 0, 0x01);
	wr(&uart, 1, 0x00);
	ck_assert_uint_eq(rd(&uart, 0), 0x01);
	ck_assert_uint_eq(rd(&uart, 1), 0x00);
	wr(&uart, 3, 0x03);
	ck_assert_uint_eq(olog.len, 0); /* the divisor write did not transmit */
	ck_assert_uint_eq(rd(&uart, 3), 0x03);
}
END_TEST

START_TEST(uart_thre_interrupt)
{
	wr(&uart, 1, 0x02); /* IER: THRI; THR is empty → interrupt */
	ck_assert(ilog.level);
	ck_assert_uint_eq(rd(&uart, 2) & 0x0f, 0x02); /* IIR: THRI, and reading acks it */
	ck_assert(!ilog.level);
	ck_assert_uint_eq(rd(&uart, 2) & 0x0f, 0x01); /* no interrupt pending */
	int before = ilog.raises;
	wr(&uart, 0, 'x'); /* transmit completes at once → a new edge */
	ck_assert_int_eq(ilog.raises, before + 1);
	ck_assert(ilog.level);
}
END_TEST

START_TEST(uart_receive)
{
	uint8_t in[UART_RX_FIFO + 10];

	memset(in, 'a', sizeof(in));
	wr(&uart, 1, 0x01); /* IER: RDI */
	ck_assert_uint_eq(uart8250_receive(&uart, (const uint8_t *)"ok", 2), 2);
	ck_assert(ilog.level);
	ck_assert_uint_eq(rd(&uart, 2) & 0x0f, 0x04);
	ck_assert_uint_eq(rd(&uart, 5) & 1, 1);
	ck_assert_uint_eq(rd(&uart, 0), 'o');
	ck_assert_uint_eq(rd(&uart, 0), 'k');
	ck_assert_uint_eq(rd(&uart, 5) & 1, 0);
	ck_assert(!ilog.level);
	/* A full FIFO takes what fits and reports the rest back. */
	ck_assert_uint_eq(uart8250_receive(&uart, in, sizeof(in)), UART_RX_FIFO);
	ck_assert_uint_eq(uart8250_rx_room(&uart), 0);
}
END_TEST

START_TEST(uart_loopback_and_scratch)
{
	wr(&uart, 7, 0x5a);
	ck_assert_uint_eq(rd(&uart, 7), 0x5a);
	wr(&uart, 4, 0x10 | 0x0a); /* LOOP with RTS and OUT2 */
	ck_assert_uint_eq(rd(&uart, 6) & 0xf0, 0x90); /* CTS, DCD follow RTS, OUT2 */
	wr(&uart, 0, 'L');
	ck_assert_uint_eq(olog.len, 0);
	ck_assert_uint_eq(rd(&uart, 0), 'L');
	/* Wide or unknown accesses do not crash and read as all-ones. */
	uint32_t w = 0;
	uart8250_bus_ops.read(&uart, 0, &w, 4);
	ck_assert_uint_eq(w, 0xffffffff);
	uart8250_bus_ops.write(&uart, 0, &w, 4);
}
END_TEST

/* ---- i8042 ---- */

static int resets;

static void on_reset(void *opaque)
{
	(void)opaque;
	resets++;
}

static uint8_t k_rd(struct i8042 *k, bool cmd)
{
	uint8_t v;

	(cmd ? &i8042_cmd_ops : &i8042_data_ops)->read(k, 0, &v, 1);
	return v;
}

static void k_wr(struct i8042 *k, bool cmd, uint8_t v)
{
	(cmd ? &i8042_cmd_ops : &i8042_data_ops)->write(k, 0, &v, 1);
}

START_TEST(i8042_probe_and_reset)
{
	struct i8042 k;

	resets = 0;
	i8042_init(&k, NULL, on_reset, NULL);
	ck_assert_uint_eq(k_rd(&k, true) & 1, 0); /* output buffer empty */
	k_wr(&k, true, 0xaa);                      /* self test */
	ck_assert_uint_eq(k_rd(&k, true) & 1, 1);
	ck_assert_uint_eq(k_rd(&k, false), 0x55);
	k_wr(&k, true, 0x20); /* read command byte */
	uint8_t ctr = k_rd(&k, false);
	k_wr(&k, true, 0x60); /* write command byte */
	k_wr(&k, false, (uint8_t)(ctr & ~1));
	k_wr(&k, true, 0x20);
	ck_assert_uint_eq(k_rd(&k, false), ctr & ~1);
	k_wr(&k, false, 0xf2); /* keyboard: get id */
	ck_assert_uint_eq(k_rd(&k, false), 0xfa);
	ck_assert_uint_eq(k_rd(&k, false), 0xab);
	ck_assert_int_eq(resets, 0);
	k_wr(&k, true, 0xfe);
	ck_assert_int_eq(resets, 1);
	k_wr(&k, true, 0xd1); /* output port with the reset bit clear */
	k_wr(&k, false, 0x00);
	ck_assert_int_eq(resets, 2);
	k_wr(&k, true, 0xff); /* pulse nothing: bit 0 set */
	ck_assert_int_eq(resets, 2);
	i8042_destroy(&k);
}
END_TEST

/* ---- RTC ---- */

static time_t fixed_time(time_t *t)
{
	time_t v = 1700000000; /* 2023-11-14 22:13:20 UTC, a Tuesday */

	if (t)
		*t = v;
	return v;
}

static uint8_t cmos(struct rtc *r, uint8_t idx)
{
	uint8_t v;

	rtc_bus_ops.write(r, 0, &idx, 1);
	rtc_bus_ops.read(r, 1, &v, 1);
	return v;
}

START_TEST(rtc_time_bcd)
{
	struct rtc r;

	rtc_init(&r);
	r.now = fixed_time;
	ck_assert_uint_eq(cmos(&r, 0x00), 0x20);
	ck_assert_uint_eq(cmos(&r, 0x02), 0x13);
	ck_assert_uint_eq(cmos(&r, 0x04), 0x22);
	ck_assert_uint_eq(cmos(&r, 0x06), 0x03);
	ck_assert_uint_eq(cmos(&r, 0x07), 0x14);
	ck_assert_uint_eq(cmos(&r, 0x08), 0x11);
	ck_assert_uint_eq(cmos(&r, 0x09), 0x23);
	ck_assert_uint_eq(cmos(&r, 0x32), 0x20);
	ck_assert_uint_eq(cmos(&r, 0x0a) & 0x80, 0); /* never update-in-progress */
	ck_assert_uint_eq(cmos(&r, 0x0d), 0x80);
	ck_assert_uint_eq(cmos(&r, 0x80 | 0x04), 0x22); /* NMI-mask bit ignored */
	/* Binary mode when the guest asks for it. */
	uint8_t idx = 0x0b, v = 0x06;
	rtc_bus_ops.write(&r, 0, &idx, 1);
	rtc_bus_ops.write(&r, 1, &v, 1);
	ck_assert_uint_eq(cmos(&r, 0x04), 22);
	/* CMOS RAM keeps what is written; time registers do not. */
	idx = 0x40;
	v = 0x99;
	rtc_bus_ops.write(&r, 0, &idx, 1);
	rtc_bus_ops.write(&r, 1, &v, 1);
	ck_assert_uint_eq(cmos(&r, 0x40), 0x99);
	idx = 0x00;
	rtc_bus_ops.write(&r, 0, &idx, 1);
	rtc_bus_ops.write(&r, 1, &v, 1);
	ck_assert_uint_eq(cmos(&r, 0x00), 20);
	rtc_destroy(&r);
}
END_TEST

static Suite *devices_suite(void)
{
	Suite *s = suite_create("devices");
	TCase *tc = tcase_create("uart8250");

	tcase_add_checked_fixture(tc, uart_setup, uart_teardown);
	tcase_add_test(tc, uart_transmit);
	tcase_add_test(tc, uart_divisor_latch);
	tcase_add_test(tc, uart_thre_interrupt);
	tcase_add_test(tc, uart_receive);
	tcase_add_test(tc, uart_loopback_and_scratch);
	suite_add_tcase(s, tc);
	tc = tcase_create("i8042");
	tcase_add_test(tc, i8042_probe_and_reset);
	suite_add_tcase(s, tc);
	tc = tcase_create("rtc");
	tcase_add_test(tc, rtc_time_bcd);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(devices_suite)
