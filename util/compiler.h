/* SPDX-License-Identifier: GPL-2.0-only */
/* Small compiler helpers shared by every layer. */
#ifndef SHMVM_UTIL_COMPILER_H
#define SHMVM_UTIL_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Functions that return 0 or -errno carry this: ignoring the result is a bug. */
#define __must_check __attribute__((warn_unused_result))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define __unused __attribute__((unused))
#define __packed __attribute__((packed))
#define __noreturn __attribute__((noreturn))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Power-of-two alignment; @a must be a power of two. */
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define IS_POW2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Retry a system call interrupted by a signal. */
#define TEMP_FAILURE_RETRY_INT(expr)                                                               \
	__extension__({                                                                            \
		long _rc;                                                                          \
		do                                                                                 \
			_rc = (long)(expr);                                                        \
		while (_rc == -1 && errno == EINTR);                                               \
		_rc;                                                                               \
	})

#endif
