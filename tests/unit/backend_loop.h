/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * For a test that serves a backend on a thread of its own with
 * vu_backend_run_locked(b, lock) and looks into it (its memory table, through
 * vu_gpa_to_va() or nregions) from the test's thread: the table belongs to
 * the dispatching thread (vhost/backend.h, "Threads"), so every look takes
 * the lock the dispatches run under. (A reply the test waited for orders
 * most looks already, through the kernel; a hang-up does not carry that order
 * to the backend's thread in ThreadSanitizer's model, nor to a look after it
 * in anyone's.)
 */
#ifndef SHMVM_TESTS_BACKEND_LOOP_H
#define SHMVM_TESTS_BACKEND_LOOP_H

#include <pthread.h>
#include <stddef.h>

#include "vhost/backend.h"

/* The backend's region count, from the test's thread. */
static inline size_t backend_loop_nregions(struct vu_backend *b, pthread_mutex_t *lock)
{
	size_t n;

	pthread_mutex_lock(lock);
	n = b->nregions;
	pthread_mutex_unlock(lock);
	return n;
}

#endif
