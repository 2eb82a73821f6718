/* SPDX-License-Identifier: GPL-2.0-only */
/* Parsing of command-line numbers: strict, overflow-checked, no locale. */
#ifndef SHMVM_UTIL_PARSE_H
#define SHMVM_UTIL_PARSE_H

#include <stdint.h>

#include "util/compiler.h"

/*
 * "512M", "2G", "4096", "64K", "1T": a decimal number with an optional
 * binary suffix (K, M, G, T; case-insensitive; an optional trailing "iB"
 * or "B" is accepted). Returns 0, -EINVAL for bad syntax or -ERANGE on
 * overflow of 64 bits.
 */
int parse_size(const char *s, uint64_t *out) __must_check;

/* Decimal (or 0x-prefixed hex) unsigned integer in [min, max]; -EINVAL / -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) __must_check;

#endif
