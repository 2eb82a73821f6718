// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "devices/shm_announce.h"
#include "util/log.h"

static struct log_ratelimit announce_rl = LOG_RATELIMIT_INIT;

static void sent(struct shm_announce *a, const char *what, const struct vu_region *r, int rc)
{
	/* A broken or closed connection: the device is being dropped, its mappings with it. */
	if (!rc || rc == -EIO)
		return;
	__atomic_add_fetch(&a->failures, 1, __ATOMIC_RELAXED);
	log_ratelimited(
	    &announce_rl, LOG_WARN,
	    "%s: %s of the window mapping at %#llx (%#llx bytes) not sent to the backend: %s",
	    a->name, what, (unsigned long long)r->guest_phys_addr,
	    (unsigned long long)r->memory_size, strerror(-rc));
}

static void announce_mapped(void *opaque, const struct shm_mapping *m, uint64_t gpa, void *hva,
			    int fd)
{
	struct shm_announce *a = opaque;
	struct vu_region r = {.guest_phys_addr = gpa + m->off,
			      .memory_size = m->len,
			      .userspace_addr = (uint64_t)(uintptr_t)hva,
			      .mmap_offset = m->fd_offset};

	sent(a, "ADD_MEM_REG", &r, vu_frontend_add_mem_reg(a->fe, &r, fd));
}

static void announce_unmapped(void *opaque, const struct shm_mapping *m, uint64_t gpa)
{
	struct shm_announce *a = opaque;
	struct vu_region r = {.guest_phys_addr = gpa + m->off, .memory_size = m->len};

	sent(a, "REM_MEM_REG", &r, vu_frontend_rem_mem_reg(a->fe, &r));
}

const struct shm_window_ops shm_announce_ops = {
    .mapped = announce_mapped,
    .unmapped = announce_unmapped,
};
