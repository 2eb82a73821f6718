/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tells a vhost-user backend about its own shared-memory window: each
 * mapping becomes a region of the backend's memory table (ADD_MEM_REG on
 * map, REM_MEM_REG on unmap, CONFIGURE_MEM_SLOTS), so a descriptor the guest
 * points into the window (a write() from a DAX mmap) translates there.
 *
 * The ops run under the window's lock, on whichever thread maps or unmaps:
 * for a map, the backend-channel thread while it has not yet answered the
 * SHMEM_MAP. The backend may be blocked until it gets that answer, so
 * nothing here waits: the message is written to the main socket at once or
 * not at all (vu_frontend_add_mem_reg()). Written before the answer, it is
 * in the backend's main socket before any request that can use the mapping
 * (vhost/backend.h, "Ordering"). What could not be sent is counted and
 * logged with a rate limit; the backend then refuses requests that use that
 * mapping, as it did before it could see windows at all.
 */
#ifndef SHMVM_DEVICES_SHM_ANNOUNCE_H
#define SHMVM_DEVICES_SHM_ANNOUNCE_H

#include <stdint.h>

#include "mm/shm_window.h"
#include "vhost/frontend.h"

struct shm_announce {
	const char *name;	/* for log lines */
	struct vu_frontend *fe; /* the window's own backend (and no other) */
	uint64_t failures;	/* messages not sent (atomic) */
};

/* Install with shm_window_set_ops(w, &shm_announce_ops, a) when @a->fe negotiated
 * CONFIGURE_MEM_SLOTS. */
extern const struct shm_window_ops shm_announce_ops;

#endif
