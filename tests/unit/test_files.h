/* SPDX-License-Identifier: GPL-2.0-only */
/* For unit tests: a temporary directory per test, and a whole file in memory. */
#ifndef SHMVM_TESTS_UNIT_TEST_FILES_H
#define SHMVM_TESTS_UNIT_TEST_FILES_H

#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* The test's directory, made by tmpdir_make(), gone with tmpdir_remove(). */
static char tmpdir[64];

static int tmpdir_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* /tmp/shmvm-test-@name-XXXXXX, fresh. */
static void tmpdir_make(const char *name)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/shmvm-test-%s-XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void tmpdir_remove(void)
{
	nftw(tmpdir, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

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
