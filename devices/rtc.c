// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "devices/rtc.h"

enum {
	RTC_SECONDS = 0x00,
	RTC_MINUTES = 0x02,
	RTC_HOURS = 0x04,
	RTC_DAY_OF_WEEK = 0x06,
	RTC_DAY_OF_MONTH = 0x07,
	RTC_MONTH = 0x08,
	RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a,
	RTC_REG_B = 0x0b,
	RTC_REG_C = 0x0c,
	RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32,
};

#define REG_B_24H 0x02
#define REG_B_BINARY 0x04
#define REG_D_VRT 0x80 /* valid RAM and time */

static uint8_t to_bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t rtc_time_reg(struct rtc *r, uint8_t reg)
{
	time_t t = r->now(NULL);
	struct tm tm;
	int v;

	gmtime_r(&t, &tm);
	switch (reg) {
	case RTC_SECONDS:
		v = tm.tm_sec;
		break;
	case RTC_MINUTES:
		v = tm.tm_min;
		break;
	case RTC_HOURS:
		v = tm.tm_hour;
		break;
	case RTC_DAY_OF_WEEK:
		v = tm.tm_wday + 1;
		break;
	case RTC_DAY_OF_MONTH:
		v = tm.tm_mday;
		break;
	case RTC_MONTH:
		v = tm.tm_mon + 1;
		break;
	case RTC_YEAR:
		v = tm.tm_year % 100;
		break;
	default: /* RTC_CENTURY */
		v = (tm.tm_year + 1900) / 100;
		break;
	}
	return (r->cmos[RTC_REG_B] & REG_B_BINARY) ? (uint8_t)v : to_bcd(v);
}

static void rtc_read(void *dev, uint64_t off, void *data, uint32_t len)
{
	struct rtc *r = dev;
	uint8_t v = 0xff;

	if (len == 1 && off == 1) {
		pthread_mutex_lock(&r->lock);
		switch (r->index) {
		case RTC_SECONDS:
		case RTC_MINUTES:
		case RTC_HOURS:
		case RTC_DAY_OF_WEEK:
		case RTC_DAY_OF_MONTH:
		case RTC_MONTH:
		case RTC_YEAR:
		case RTC_CENTURY:
			v = rtc_time_reg(r, r->index);
			break;
		case RTC_REG_A:
			v = r->cmos[RTC_REG_A] & 0x7f; /* never "update in progress" */
			break;
		case RTC_REG_C:
			v = 0; /* no interrupt flags; reading clears them */
			break;
		case RTC_REG_D:
			v = REG_D_VRT;
			break;
		default:
			v = r->cmos[r->index];
			break;
		}
		pthread_mutex_unlock(&r->lock);
	}
	memset(data, v, len);
}

static void rtc_write(void *dev, uint64_t off, const void *data, uint32_t len)
{
	struct rtc *r = dev;
	uint8_t v = *(const uint8_t *)data;

	if (len != 1)
		return;
	pthread_mutex_lock(&r->lock);
	if (off == 0) {
		r->index = v & 0x7f; /* bit 7 is the NMI mask */
	} else if (r->index == RTC_REG_A || r->index == RTC_REG_B ||
		   r->index >= 0x0e) {
		/* Time registers stay the host's; the guest may change format and RAM. */
		r->cmos[r->index] = v;
	}
	pthread_mutex_unlock(&r->lock);
}

const struct bus_ops rtc_bus_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

void rtc_init(struct rtc *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->now = time;
	r->cmos[RTC_REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz rate */
	r->cmos[RTC_REG_B] = REG_B_24H;
}

void rtc_destroy(struct rtc *r)
{
	pthread_mutex_destroy(&r->lock);
}
