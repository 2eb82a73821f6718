/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket (--api-socket PATH): newline-delimited JSON requests
 * and replies on a unix stream socket, served from the main loop's thread.
 * The protocol is described in docs/api.md.
 *
 * api_handle_line() is pure (one request line in, one reply line out) so
 * it can be tested without KVM or a socket; the rest is socket plumbing.
 */
#ifndef SHMVM_VMM_API_H
#define SHMVM_VMM_API_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/compiler.h"
#include "vmm/exits.h"

struct loop;
struct memslot_table;
struct vhost_user_dev;

#define API_MAX_CLIENTS 16
#define API_MAX_LINE	(64 * 1024) /* bytes of one request, without its newline */
#define API_WRITE_MS	500	    /* how long a reply may wait for a slow reader */

/* What the API reports on; filled by the VMM, read from the loop thread. */
struct api_target {
	unsigned int nr_vcpus;
	uint64_t memory;	     /* guest RAM bytes */
	struct memslot_table *slots; /* may be NULL: memslots reported as 0/0 */
	struct vhost_user_dev *devices;
	unsigned int nr_devices;
	void (*shutdown)(void *opaque); /* ask the VM to stop with exit status 0 (may be NULL) */
	/* vCPU @i's exits by reason; true if KVM's count (every exit). NULL: not reported. */
	bool (*vcpu_exits)(void *opaque, unsigned int i, uint64_t out[NR_EXIT_KINDS]);
	void *opaque;
	/*
	 * /proc/self/fd, opened during set-up, for "open_fds": the seccomp
	 * filter forbids opening it later (vmm/sandbox.c). NULL: opened at
	 * each request.
	 */
	DIR *fd_dir;
};

struct api_client {
	int fd; /* -1: free */
	struct api *api;
	char *buf; /* API_MAX_LINE + 2 bytes: a line, its newline, a NUL */
	size_t len;
};

struct api {
	int listen_fd; /* -1: not listening */
	struct loop *loop;
	const struct api_target *t;
	char *path;
	dev_t sock_dev; /* the socket file we bound, so api_destroy unlinks only it */
	ino_t sock_ino;
	struct api_client clients[API_MAX_CLIENTS];
};

/*
 * Bind and listen on @path and watch it on @l. A socket file left by a dead
 * server is replaced; a live server there gives -EADDRINUSE, and anything
 * that is not a socket -EEXIST. Logs one line naming @path on failure.
 * @t and @l must outlive the api.
 */
int api_init(struct api *a, const char *path, const struct api_target *t,
	     struct loop *l) __must_check;
/* Close every client and the listener, unlink the socket path. Idempotent. */
void api_destroy(struct api *a);

/*
 * One request line (without its newline) to a malloc'd reply line (without
 * its newline). Sets *@shutdown when the request asked the VM to stop: the
 * caller sends the reply, then calls t->shutdown. NULL only on ENOMEM.
 */
char *api_handle_line(const struct api_target *t, const char *line, bool *shutdown);

#endif
