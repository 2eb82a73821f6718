/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-user socket I/O: one message (header, payload, file descriptors
 * over SCM_RIGHTS) at a time on an AF_UNIX stream socket. Kept apart from
 * the pure checks in vhost/msg.h.
 */
#ifndef SHMVM_VHOST_SOCK_H
#define SHMVM_VHOST_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/compiler.h"
#include "vhost/msg.h"

struct vu_msg {
	struct vu_hdr hdr;
	union {
		uint64_t u64;
		struct vu_vring_state state;
		struct vu_vring_addr addr;
		struct vu_memory memory;
		struct vu_mem_reg mem_reg;
		struct vu_mmap mmap;
		struct vu_shmem_config shmem;
		uint8_t bytes[VU_MAX_PAYLOAD];
	} payload;
	int fds[VU_MAX_FDS];
	size_t nfds;
};

/*
 * Receive one message into @m, waiting at most @timeout_ms for each part
 * (-1: forever). Returns 1 for a message, 0 for a clean end of stream before
 * its first byte, -ETIMEDOUT, -EPIPE (stream ended mid-message), -EMSGSIZE
 * (payload larger than VU_MAX_PAYLOAD: the stream cannot be resynchronised),
 * -EBADF (more fds than VU_MAX_FDS; all closed) or another -errno. On
 * success the caller owns m->fds[0..nfds).
 */
int vu_msg_recv(int sock, struct vu_msg *m, int timeout_ms) __must_check;
/*
 * The same for a reader that waits for the next message for as long as it
 * takes (a blocking socket; a thread of its own): the first read blocks, and
 * only the rest of a begun message must come within @part_timeout_ms. In the
 * usual case, two recvmsg calls and no poll.
 */
int vu_msg_recv_next(int sock, struct vu_msg *m, int part_timeout_ms) __must_check;

/* Send header, @size bytes of @payload and @nfds fds. 0 or -errno. */
int vu_msg_send(int sock, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		const int *fds, size_t nfds) __must_check;
/*
 * The same without waiting: one sendmsg(MSG_DONTWAIT). On an AF_UNIX stream
 * a message of up to VU_MAX_PAYLOAD bytes goes in one piece, so it is
 * written whole or not at all: 0, -EAGAIN (the socket buffer is full,
 * nothing was sent: the stream is intact), -EPIPE if only part of it went
 * (only with a send buffer shrunk below one message: the framing is lost,
 * the connection must be dropped), or another -errno.
 */
int vu_msg_send_nowait(int sock, uint32_t request, uint32_t flags, const void *payload,
		       uint32_t size, const int *fds, size_t nfds) __must_check;

/* Reply to @request with a u64 (flags exactly VERSION|REPLY). */
int vu_msg_reply_u64(int sock, uint32_t request, uint64_t value) __must_check;

/* Close every fd a received message carries. */
void vu_msg_close_fds(struct vu_msg *m);

/*
 * Attach @nfds descriptors to @mh as one SCM_RIGHTS message built in @ctl,
 * which must hold CMSG_SPACE(sizeof(int) * @nfds) bytes, aligned for a
 * struct cmsghdr. No limit on the count here: tests and fuzzers send
 * malformed messages through it too. Nothing is attached when @nfds is 0.
 */
void vu_sock_put_fds(struct msghdr *mh, void *ctl, const int *fds, size_t nfds);

/*
 * Is @fd a connected AF_UNIX stream socket, one a vhost-user peer can be at
 * the other end of (an inherited socketpair end)? 0, or -EBADF (not open),
 * -ENOTSOCK, -EAFNOSUPPORT (not AF_UNIX), -ESOCKTNOSUPPORT (not
 * SOCK_STREAM), -ENOTCONN (listening, or never connected), or another
 * -errno. vu_sock_strerror() words the refusal for a log line.
 */
int vu_sock_check_connected(int fd) __must_check;
/* vu_sock_check_connected()'s @rc in a few words ("not a unix socket"); strerror() for others. */
const char *vu_sock_strerror(int rc);

#endif
