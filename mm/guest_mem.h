/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest RAM: one memfd (so vhost-user backends can map it too), mapped once
 * into the VMM and split into at most two guest-physical regions around the
 * 32-bit PCI hole.
 */
#ifndef SHMVM_MM_GUEST_MEM_H
#define SHMVM_MM_GUEST_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

/* The 32-bit PCI MMIO hole: RAM never lives in [3 GiB, 4 GiB). */
#define MEM_HOLE_START 0xC0000000ULL
#define MEM_HOLE_END 0x100000000ULL

#define MEM_MIN_SIZE (16ULL * MiB)
#define MEM_MAX_REGIONS 2

struct mem_region {
	uint64_t gpa;    /* guest-physical start */
	uint64_t size;   /* bytes */
	uint64_t offset; /* offset in the memfd and in the host mapping */
};

struct guest_mem {
	int fd;        /* memfd backing all of RAM */
	uint8_t *hva;  /* host mapping of the whole memfd */
	uint64_t size; /* total RAM in bytes */
	unsigned int nr_regions;
	struct mem_region regions[MEM_MAX_REGIONS];
};

/*
 * Lay out @size bytes of RAM (page multiple, >= MEM_MIN_SIZE) without
 * allocating it: below the hole first, the rest from 4 GiB up. Pure; used
 * by mem_create() and by tests.
 */
int mem_layout(uint64_t size, struct mem_region regions[MEM_MAX_REGIONS],
	       unsigned int *nr_regions) __must_check;

/* Create the memfd, size it, map it, lay it out. @m is zeroed first. */
int mem_create(struct guest_mem *m, uint64_t size) __must_check;
/* Unmap and close; safe on a zeroed or already-destroyed @m. */
void mem_destroy(struct guest_mem *m);

/*
 * The one way to turn a guest-physical range into a host pointer: NULL
 * unless all of [gpa, gpa + len) lies inside one RAM region (overflow
 * checked). len 0 is treated as 1.
 */
void *mem_gpa_to_hva(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* First guest-physical address above all RAM. */
uint64_t mem_end(const struct guest_mem *m);

#endif
