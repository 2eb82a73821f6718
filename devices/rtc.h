/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MC146818 CMOS real-time clock at ports 0x70/0x71: the host's UTC time in
 * BCD, 24-hour mode, never "update in progress", plus 128 bytes of CMOS RAM.
 * No alarm or periodic interrupts.
 */
#ifndef SHMVM_DEVICES_RTC_H
#define SHMVM_DEVICES_RTC_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "mm/bus.h"

#define RTC_PORT 0x70

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[128];
	time_t (*now)(time_t *); /* time(2) unless a test replaces it */
};

void rtc_init(struct rtc *r);
void rtc_destroy(struct rtc *r);

/* Registered as [0x70, 0x72). */
extern const struct bus_ops rtc_bus_ops;

#endif
