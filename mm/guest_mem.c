// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mm/guest_mem.h"
#include "util/log.h"

int mem_layout(uint64_t size, struct mem_region regions[MEM_MAX_REGIONS], unsigned int *nr)
{
	if (size < MEM_MIN_SIZE || !IS_ALIGNED(size, 4096))
		return -EINVAL;
	if (size > UINT64_MAX - MEM_HOLE_END)
		return -ERANGE;

	regions[0] = (struct mem_region){ .gpa = 0, .size = MIN(size, MEM_HOLE_START), .offset = 0 };
	*nr = 1;
	if (size > MEM_HOLE_START) {
		regions[1] = (struct mem_region){
			.gpa = MEM_HOLE_END,
			.size = size - MEM_HOLE_START,
			.offset = MEM_HOLE_START,
		};
		*nr = 2;
	}
	return 0;
}

int mem_create(struct guest_mem *m, uint64_t size)
{
	int rc;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	rc = mem_layout(size, m->regions, &m->nr_regions);
	if (rc)
		return rc;

	m->fd = memfd_create("shmvm-ram", MFD_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	if (ftruncate(m->fd, (off_t)size) < 0) {
		rc = -errno;
		goto err_close;
	}
	/* MAP_NORESERVE: guest RAM is populated on first touch, like any VMM's. */
	m->hva = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, m->fd, 0);
	if (m->hva == MAP_FAILED) {
		rc = -errno;
		m->hva = NULL;
		goto err_close;
	}
	madvise(m->hva, size, MADV_MERGEABLE);
	m->size = size;
	return 0;

err_close:
	close(m->fd);
	m->fd = -1;
	return rc;
}

void mem_destroy(struct guest_mem *m)
{
	if (m->hva)
		munmap(m->hva, m->size);
	if (m->fd >= 0)
		close(m->fd);
	m->hva = NULL;
	m->fd = -1;
	m->size = 0;
	m->nr_regions = 0;
}

void *mem_gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (len == 0)
		len = 1;
	for (unsigned int i = 0; i < m->nr_regions; i++) {
		const struct mem_region *r = &m->regions[i];

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return m->hva + r->offset + (gpa - r->gpa);
	}
	return NULL;
}

uint64_t mem_end(const struct guest_mem *m)
{
	const struct mem_region *last = &m->regions[m->nr_regions - 1];

	return last->gpa + last->size;
}
