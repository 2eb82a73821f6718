/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Copies that survive a mapping with no page behind it.
 *
 * A vhost-user backend sees guest memory through the file descriptors its
 * frontend sent, and a guest buffer may lie in a file mapping whose file
 * was cut short since (a DAX window mapping: the guest itself can truncate
 * the file through the file system it is served). Touching such a page
 * raises SIGBUS, which would end the process for one hostile request.
 * guarded_copy() is memcpy() that instead reports the fault: the request is
 * refused and the process runs on.
 *
 * guarded_copy_init() installs a SIGBUS handler for the whole process. A
 * SIGBUS outside a guarded copy, or at an address outside the copy's two
 * ranges, is not ours: the handler restores the default action, the faulting
 * instruction runs again and the process ends as it would have without it.
 */
#ifndef SHMVM_UTIL_GUARDED_COPY_H
#define SHMVM_UTIL_GUARDED_COPY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/compiler.h"

/* Install the handler (idempotent, thread-safe). 0 or -errno. */
int guarded_copy_init(void) __must_check;

/*
 * memcpy(@dst, @src, @n), except that a SIGBUS on either range ends the
 * copy early: false then, and @dst holds an unspecified prefix. Without
 * guarded_copy_init() it is plain memcpy().
 */
bool guarded_copy(void *dst, const void *src, size_t n) __must_check;

#endif
