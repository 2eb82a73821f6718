/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vu_backend_run() for a test that also looks into the backend (its memory
 * table, through vu_gpa_to_va() or nregions) from its own thread. The table
 * belongs to the dispatching thread (vhost/backend.h, "Threads"), so here
 * each dispatch runs under @lock and the test takes it for every look.
 * The order of the real loop is kept: one fd a round, the main socket first.
 * (A reply the test waited for does order most looks already, through the
 * kernel; a hang-up does not carry that order to the backend's thread in
 * ThreadSanitizer's model, nor to a look after it in anyone's.)
 */
#ifndef SHMVM_TESTS_BACKEND_LOOP_H
#define SHMVM_TESTS_BACKEND_LOOP_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>

#include "vhost/backend.h"

static inline int backend_loop_run(struct vu_backend *b, pthread_mutex_t *lock)
{
	for (;;) {
		int fds[1 + VU_BACKEND_MAX_QUEUES], rc = 0;
		struct pollfd p[1 + VU_BACKEND_MAX_QUEUES];
		unsigned int n;

		pthread_mutex_lock(lock);
		n = vu_backend_fds(b, fds, 1 + VU_BACKEND_MAX_QUEUES);
		pthread_mutex_unlock(lock);
		if (!n)
			return 0;
		for (unsigned int i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (unsigned int i = 0; i < n; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			pthread_mutex_lock(lock);
			rc = vu_backend_dispatch(b, p[i].fd);
			pthread_mutex_unlock(lock);
			break;
		}
		if (rc)
			return rc;
	}
}

#endif
