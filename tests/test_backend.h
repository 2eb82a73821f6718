/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the test backends that attack or drive a live shmvm
 * (tests/kvm/shm-backend.c, tests/boot/hostile-backend.c): "ok"/"FAIL"
 * lines, the clock, shmvm's fd count from /proc, the control socket, and
 * one raw request on a backend channel (for the malformed ones the backend
 * library would never send).
 */
#ifndef SHMVM_TESTS_TEST_BACKEND_H
#define SHMVM_TESTS_TEST_BACKEND_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"
#include "vhost/backend.h"

/* Set once any check() failed. */
extern int tb_failed;

/* Print "ok   ..." or "FAIL ..." (one line, flushed); a failure sets tb_failed. */
void tb_check(bool ok, const char *fmt, ...) __printf(2, 3);
/* Print "FAIL ..." and exit 1. */
void tb_die(const char *fmt, ...) __printf(1, 2) __noreturn;
uint64_t tb_now_ms(void);

/* Entries of /proc/@pid/fd. */
int tb_count_fds(int pid);
/*
 * shmvm's fd count once our last control-socket connection is gone from it
 * (it closes that fd when its loop sees the hang-up): up to 5 s for @want
 * (-1: just settle a moment and count).
 */
int tb_settled_fds(int pid, int want);

/* One control-socket command; dies unless shmvm answers ok within @wait_ms. */
json_object *tb_api(const char *path, const char *cmd, int wait_ms);
/* The integer at dotted @path below @o (0 if null); dies if it is absent. */
int64_t tb_jint(json_object *o, const char *path);

/*
 * Send one message on @be's backend channel as given (header flags as they
 * are, fds as they are) and wait up to 10 s for a u64 reply to @req, read
 * into *@reply. 0, -EPROTO (a reply to something else, or not 8 bytes),
 * -ECONNRESET (shmvm closed the channel) or the -errno of send/receive.
 */
int tb_raw(struct vu_backend *be, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
	   const int *fds, size_t nfds, uint64_t *reply) __must_check;

#endif
