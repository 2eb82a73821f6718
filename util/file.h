/* SPDX-License-Identifier: GPL-2.0-only */
/* Whole small files, read at once. */
#ifndef SHMVM_UTIL_FILE_H
#define SHMVM_UTIL_FILE_H

#include <stddef.h>

#include "util/compiler.h"

/*
 * The regular file @path, at most @max bytes, in a malloc'd buffer with a
 * NUL after its end (*@len bytes, if @len). -EISDIR or -EINVAL for what is
 * not a regular file, -EFBIG past @max, -EIO if it shrank while read.
 */
int file_read_text(const char *path, size_t max, char **out, size_t *len) __must_check;

#endif
