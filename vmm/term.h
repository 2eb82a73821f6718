/* SPDX-License-Identifier: GPL-2.0-only */
/* The host terminal as a serial console: raw mode, restored on every exit path. */
#ifndef SHMVM_VMM_TERM_H
#define SHMVM_VMM_TERM_H

#include <stdbool.h>

/* Put @fd (a terminal) in raw mode; the original settings come back at exit(). */
int term_raw(int fd);
/* Restore now (idempotent; also async-signal-safe). */
void term_restore(void);

#endif
