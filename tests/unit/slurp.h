/* SPDX-License-Identifier: GPL-2.0-only */
/* For unit tests: a whole file in memory. */
#ifndef SHMVM_TESTS_UNIT_SLURP_H
#define SHMVM_TESTS_UNIT_SLURP_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole of a file, NUL-terminated; NULL if it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, r;

	if (!f)
		return NULL;
	do {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			ck_assert_ptr_nonnull(buf);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

#endif
