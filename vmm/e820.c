// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "vmm/e820.h"

static int e820_add(struct e820_table *t, uint64_t addr, uint64_t end, uint32_t type)
{
	if (end <= addr)
		return 0;
	if (t->nr == E820_TABLE_MAX)
		return -ENOSPC;
	t->e[t->nr++] = (struct boot_e820_entry){.addr = addr, .size = end - addr, .type = type};
	return 0;
}

int e820_build(const struct guest_mem *m, struct e820_table *t)
{
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (m->nr_regions == 0 || m->nr_regions > MEM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned int i = 0; i < m->nr_regions && !rc; i++) {
		uint64_t start = m->regions[i].gpa;
		uint64_t end = start + m->regions[i].size;

		if (i > 0 && start < m->regions[i - 1].gpa + m->regions[i - 1].size)
			return -EINVAL; /* regions must be sorted and disjoint */
		/* Split around the reserved low range; the parts outside it stay RAM. */
		rc = e820_add(t, start, MIN(end, E820_LOW_RESERVED_START), E820_RAM);
		if (!rc && start < E820_LOW_RESERVED_END && end > E820_LOW_RESERVED_START)
			rc = e820_add(t, MAX(start, E820_LOW_RESERVED_START),
				      MIN(end, E820_LOW_RESERVED_END), E820_RESERVED);
		if (!rc)
			rc = e820_add(t, MAX(start, E820_LOW_RESERVED_END), end, E820_RAM);
	}
	return rc;
}
