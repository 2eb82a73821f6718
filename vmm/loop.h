/* SPDX-License-Identifier: GPL-2.0-only */
/* The main event loop: epoll over file descriptors, one callback each. */
#ifndef SHMVM_VMM_LOOP_H
#define SHMVM_VMM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

struct loop;

/* Called on the loop thread with the epoll events that fired. */
typedef void loop_fn(struct loop *l, int fd, uint32_t events, void *opaque);

struct loop_watch {
	int fd;
	loop_fn *fn;
	void *opaque;
	bool live;
};

#define LOOP_MAX_WATCHES 64

struct loop {
	int epfd;
	bool stop;
	int timeout_ms; /* -1: wait forever; set by callbacks that need a retry */
	struct loop_watch watches[LOOP_MAX_WATCHES];
};

int loop_init(struct loop *l) __must_check;
void loop_destroy(struct loop *l);
/* Watch @fd for @events (EPOLLIN...). */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fn *fn, void *opaque) __must_check;
void loop_del(struct loop *l, int fd);
/* Run until loop_stop(); @idle is called when a wait times out (may be NULL). */
int loop_run(struct loop *l, void (*idle)(struct loop *l, void *opaque), void *opaque);
void loop_stop(struct loop *l);

#endif
