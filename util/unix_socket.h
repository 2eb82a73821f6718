/* SPDX-License-Identifier: GPL-2.0-only */
/* Unix-socket paths shared by every server here (vhost-user backends, the control socket). */
#ifndef SHMVM_UTIL_UNIX_SOCKET_H
#define SHMVM_UTIL_UNIX_SOCKET_H

#include <sys/un.h>

#include "util/compiler.h"

/*
 * Make @sa's path free to bind: nothing there, or a dead server's socket
 * file, which is removed. -EADDRINUSE if a server answers there (a full
 * backlog counts: the probe does not block), -EEXIST if the path is not a
 * socket (never removed), another -errno on failure.
 */
int unix_socket_claim(const struct sockaddr_un *sa) __must_check;

#endif
