/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging: one process-wide sink and level (the only globals shmvm has
 * besides signal flags). Libraries log through the same functions; a
 * program may redirect the sink with log_set_sink().
 */
#ifndef SHMVM_UTIL_LOG_H
#define SHMVM_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"

enum log_level {
	LOG_ERR = 0,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

typedef void log_sink_fn(enum log_level level, const char *msg, void *opaque);

/* Set the threshold; messages above it are dropped. Default LOG_WARN. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Prefix of every line written by the default sink (e.g. program name). */
void log_set_prefix(const char *prefix);
/* Replace the sink; NULL restores the default (stderr, one line per message). */
void log_set_sink(log_sink_fn *fn, void *opaque);

void log_msg(enum log_level level, const char *fmt, ...) __printf(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap) __printf(2, 0);

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(fmt, ...) log_msg(LOG_DEBUG, "%s:%d: " fmt, __func__, __LINE__, ##__VA_ARGS__)

/*
 * Rate limiting for anything a guest or a peer can trigger: at most
 * @burst messages per @interval_ms, then one summary of what was dropped.
 */
struct log_ratelimit {
	uint64_t window_start_ms;
	unsigned int interval_ms;
	unsigned int burst;
	unsigned int printed;
	unsigned long missed;
};

#define LOG_RATELIMIT_INIT { .interval_ms = 5000, .burst = 10 }

/* True if a message may be printed now; thread-compatible (caller serialises). */
bool log_ratelimit_ok(struct log_ratelimit *rl);

#define log_ratelimited(rl, level, ...)                                                            \
	do {                                                                                       \
		if (log_ratelimit_ok(rl))                                                          \
			log_msg(level, __VA_ARGS__);                                               \
	} while (0)

#endif
