/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A client of shmvm's control socket (docs/api.md) for programs that drive
 * shmvm from the backend's side: shmvm-bench, and the KVM test backend.
 * One request per connection: connect, send {"cmd":CMD}, read one reply
 * line, parse it with json-c. Not thread-safe per path, and need not be.
 */
#ifndef SHMVM_TOOLS_BENCH_API_CLIENT_H
#define SHMVM_TOOLS_BENCH_API_CLIENT_H

#include <json-c/json.h>
#include <stdint.h>

#include "util/compiler.h"

/*
 * Send @cmd to the control socket at @path and parse the reply into *@reply
 * (the caller puts it). Waits up to @wait_ms for the socket to appear (shmvm
 * listens once its devices are set up). 0; -ETIMEDOUT if it never answered;
 * -EPROTO if the reply is not JSON or has "ok" false; other -errno of
 * socket/connect/read.
 */
int api_request(const char *path, const char *cmd, int wait_ms, json_object **reply) __must_check;

/* The integer at dotted @key below @o ("window.gpa"): 0; -ENOENT if a member is absent, -ENODATA if
 * it is null or not an integer. */
int api_get_int(json_object *o, const char *key, int64_t *out) __must_check;

/* The string at dotted @key below @o: it, or NULL if absent or not a string (owned by @o). */
const char *api_get_str(json_object *o, const char *key);

#endif
