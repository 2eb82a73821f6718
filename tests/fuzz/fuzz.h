/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the libFuzzer harnesses share:
 *  - silence: refusals are the point, and their log lines would drown the
 *    fuzzer's own output (FUZZ_VERBOSE=1 in the environment shows them);
 *  - a count of open file descriptors: a leak is a bug (a peer that can
 *    leak one fd per message can exhaust them);
 *  - a feeder that turns the input into vhost-user messages written to a
 *    socket, each with the file descriptors its control byte asks for.
 *
 * A stream record is one control byte, a 12-byte vhost-user header, then
 * the payload: hdr.size bytes (at most VU_MAX_PAYLOAD, fewer if the input
 * ends first) or, with FUZZ_REC_RAW, as many as the next byte says, whatever
 * the header claims (to break the framing). Control bits 0-2: how many fds
 * go with it; bits 3-4: their kind (enum fuzz_fd_kind); bit 5: written in
 * two pieces. With FUZZ_REC_MEM (bit 6) the record is not sent: it is
 * {control, u16 offset / 8, u8 length, bytes} for the harness's mem_write.
 */
#ifndef SHMVM_TESTS_FUZZ_FUZZ_H
#define SHMVM_TESTS_FUZZ_FUZZ_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/log.h"
#include "vhost/msg.h"
#include "vhost/sock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fuzz_quiet_sink(enum log_level level, const char *msg, void *opaque)
{
	(void)level, (void)msg, (void)opaque;
}

/* Silence the logs, unless FUZZ_VERBOSE is set (to see why a seed is refused). */
static inline void fuzz_quiet(void)
{
	if (!getenv("FUZZ_VERBOSE"))
		log_set_sink(fuzz_quiet_sink, NULL);
	else
		log_set_level(LOG_DEBUG);
}

/* Open file descriptors of this process (abort if they cannot be counted). */
static inline unsigned int fuzz_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;
	struct dirent *e;

	if (!d)
		abort();
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own */
}

/* Abort, naming what is open, unless exactly @base fds are. */
static inline void fuzz_check_fds(unsigned int base)
{
	DIR *d;
	struct dirent *e;

	if (fuzz_open_fds() == base)
		return;
	d = opendir("/proc/self/fd");
	while (d && (e = readdir(d))) {
		char path[300], target[256];
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			fprintf(stderr, "open fd %s: %s\n", e->d_name, target);
		}
	}
	fprintf(stderr, "%u fds open, %u expected: a leak\n", fuzz_open_fds(), base);
	abort();
}

enum fuzz_fd_kind {
	FUZZ_FD_MEMFD,	     /* a 1 MiB memfd */
	FUZZ_FD_MEMFD_SMALL, /* a memfd of 4196 bytes: its end is not page-aligned */
	FUZZ_FD_EVENTFD,     /* a fresh eventfd */
	FUZZ_FD_SOCKET,	     /* one end of a fresh socketpair (the other is closed) */
};

#define FUZZ_REC_TWO_PIECES   0x20
#define FUZZ_REC_MEM	      0x40
#define FUZZ_REC_RAW	      0x80
#define FUZZ_MEMFD_SIZE	      (1 << 20)
#define FUZZ_MEMFD_SMALL_SIZE 4196
#define FUZZ_MAX_SENDS	      64 /* separate writes; later records go with the one before */

struct fuzz_feed {
	int memfd, memfd_small; /* made once; zeroed by fuzz_feed_reset() */
	int peer; /* with keep_peer: the other end of the last FUZZ_FD_SOCKET sent, or -1 */
	bool keep_peer;
	void (*mem_write)(void *opaque, uint64_t off, const uint8_t *buf, size_t len);
	void *opaque;
};

static inline void fuzz_feed_init(struct fuzz_feed *f)
{
	f->memfd = memfd_create("fuzz-mem", MFD_CLOEXEC);
	f->memfd_small = memfd_create("fuzz-small", MFD_CLOEXEC);
	if (f->memfd < 0 || f->memfd_small < 0)
		abort();
	f->peer = -1;
}

/* Both memfds back to zeros of their size, no peer. */
static inline void fuzz_feed_reset(struct fuzz_feed *f)
{
	if (f->peer >= 0)
		close(f->peer);
	f->peer = -1;
	if (ftruncate(f->memfd, 0) || ftruncate(f->memfd, FUZZ_MEMFD_SIZE) ||
	    ftruncate(f->memfd_small, 0) || ftruncate(f->memfd_small, FUZZ_MEMFD_SMALL_SIZE))
		abort();
}

/* Write @len bytes at @p with @nfds fds of @kind; false if the socket is full. */
static inline bool fuzz_send(struct fuzz_feed *f, int sock, const uint8_t *p, size_t len,
			     unsigned int nfds, enum fuzz_fd_kind kind)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} ctl;
	int fds[8], own[16];
	unsigned int nown = 0;
	struct iovec iov = {.iov_base = (void *)p, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	for (unsigned int i = 0; i < nfds; i++) {
		int sv[2];

		switch (kind) {
		case FUZZ_FD_MEMFD:
			fds[i] = f->memfd;
			break;
		case FUZZ_FD_MEMFD_SMALL:
			fds[i] = f->memfd_small;
			break;
		case FUZZ_FD_EVENTFD:
			fds[i] = own[nown++] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (fds[i] < 0)
				abort();
			break;
		case FUZZ_FD_SOCKET:
			if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
				abort();
			fds[i] = own[nown++] = sv[0];
			if (f->keep_peer) {
				if (f->peer >= 0)
					close(f->peer);
				f->peer = sv[1];
			} else {
				own[nown++] = sv[1];
			}
			break;
		}
	}
	vu_sock_put_fds(&mh, ctl.buf, fds, nfds);
	n = len ? sendmsg(sock, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) : 0;
	for (unsigned int i = 0; i < nown; i++)
		close(own[i]);
	return n == (ssize_t)len;
}

/*
 * Send the records of @data on @sock (see above). A record without fds
 * goes out in one write with the ones before it, so a long input needs few
 * writes; a full socket ends the stream there.
 */
static inline void fuzz_feed(struct fuzz_feed *f, int sock, const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size + 1);
	size_t at = 0, len = 0; /* bytes pending in buf */
	unsigned int sends = 0, pend_fds = 0;
	enum fuzz_fd_kind pend_kind = FUZZ_FD_MEMFD;

	if (!buf)
		abort();
	while (at < size) {
		uint8_t c = data[at++];
		size_t hdr_at = at, plen;
		struct vu_hdr h;

		if (c & FUZZ_REC_MEM) {
			uint16_t off;
			size_t n;

			if (size - at < 3)
				break;
			memcpy(&off, data + at, 2);
			n = MIN((size_t)data[at + 2], size - at - 3);
			if (f->mem_write)
				f->mem_write(f->opaque, (uint64_t)off * 8, data + at + 3, n);
			at += 3 + n;
			continue;
		}
		if (size - at < sizeof(h)) {
			/* A truncated header: the stream ends mid-message. */
			memcpy(buf + len, data + at, size - at);
			len += size - at;
			break;
		}
		memcpy(&h, data + at, sizeof(h));
		at += sizeof(h);
		if (c & FUZZ_REC_RAW)
			plen = at < size ? data[at++] : 0;
		else
			plen = MIN((size_t)h.size, (size_t)VU_MAX_PAYLOAD);
		plen = MIN(plen, size - at);
		if (((c & 7) || (c & FUZZ_REC_TWO_PIECES)) && sends < FUZZ_MAX_SENDS) {
			/* This record starts a write of its own, with its fds. */
			if (len && !fuzz_send(f, sock, buf, len, pend_fds, pend_kind))
				goto out;
			sends += len != 0;
			len = 0;
			pend_fds = c & 7;
			pend_kind = (enum fuzz_fd_kind)((c >> 3) & 3);
		}
		memcpy(buf + len, data + hdr_at, sizeof(h));
		len += sizeof(h);
		memcpy(buf + len, data + at, plen);
		len += plen;
		at += plen;
		if ((c & FUZZ_REC_TWO_PIECES) && sends < FUZZ_MAX_SENDS) {
			/* The first bytes alone, the rest with what follows. */
			size_t head = MIN(len, (size_t)5);

			if (!fuzz_send(f, sock, buf, head, pend_fds, pend_kind))
				goto out;
			memmove(buf, buf + head, len - head);
			len -= head;
			pend_fds = 0;
			sends++;
		}
	}
	if (len)
		(void)fuzz_send(f, sock, buf, len, pend_fds, pend_kind);
out:
	free(buf);
}

#endif
