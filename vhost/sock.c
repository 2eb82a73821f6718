// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vhost/sock.h"

/* Wait until @sock is readable: 0, -ETIMEDOUT after @timeout_ms (-1: never), or -errno. */
static int wait_readable(int sock, int timeout_ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int rc;

	do
		rc = poll(&p, 1, timeout_ms < 0 ? -1 : timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	return rc == 0 ? -ETIMEDOUT : 0;
}

/* Take the SCM_RIGHTS fds of @mh into @m; refuse (and close) too many. */
static int collect_fds(struct msghdr *mh, struct vu_msg *m)
{
	int rc = (mh->msg_flags & MSG_CTRUNC) ? -EBADF : 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		/*
		 * Every fd the kernel installed, which may be more than the
		 * buffer was sized for (its padding holds one more): each one
		 * not kept must be closed, or a peer sending too many leaks one.
		 */
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (m->nfds < VU_MAX_FDS) {
				m->fds[m->nfds++] = fd;
			} else {
				close(fd);
				rc = -EBADF;
			}
		}
	}
	return rc;
}

/* How read_full() waits before its first read. */
enum first_read {
	WAIT_FIRST, /* poll up to the timeout, then read: the bytes are not there yet (a reply) */
	TRY_FIRST,  /* read at once, poll only if nothing is there: the rest of a message */
	BLOCK,	    /* a blocking read, no timeout: a thread waiting for the next message */
};

/*
 * Read exactly @len bytes (collecting fds on the way). 1 done, 0 EOF at
 * start, -errno. After the first read (see enum first_read), each read is
 * tried at once and only when nothing is there does it wait, up to
 * @timeout_ms (-1: forever), for the next bytes: a message is sent whole, so
 * the rest of one is nearly always there already.
 */
static int read_full(int sock, void *buf, size_t len, struct vu_msg *m, int timeout_ms,
		     enum first_read first)
{
	size_t got = 0;
	int fd_rc = 0, rc;

	if (first == WAIT_FIRST) {
		rc = wait_readable(sock, timeout_ms);
		if (rc)
			return rc;
	}
	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * (VU_MAX_FDS + 1))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = (char *)buf + got, .iov_len = len - got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf) };
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | (first == BLOCK ? 0 : MSG_DONTWAIT));

		if (n < 0) {
			rc = -errno;
			if (rc == -EAGAIN && first != BLOCK)
				rc = wait_readable(sock, timeout_ms);
			if (rc && rc != -EINTR)
				return rc;
			continue;
		}
		first = TRY_FIRST;
		if (mh.msg_controllen && collect_fds(&mh, m))
			fd_rc = -EBADF;
		if (n == 0)
			return got == 0 && m->nfds == 0 ? 0 : -EPIPE;
		got += (size_t)n;
	}
	return fd_rc ? fd_rc : 1;
}

/* vu_msg_recv() and vu_msg_recv_next(): the header, then the payload. */
static int recv_msg(int sock, struct vu_msg *m, int timeout_ms, enum first_read first)
{
	int rc;

	m->nfds = 0;
	rc = read_full(sock, &m->hdr, sizeof(m->hdr), m, timeout_ms, first);
	if (rc <= 0)
		goto err;
	if (m->hdr.size > VU_MAX_PAYLOAD) {
		rc = -EMSGSIZE;
		goto err;
	}
	if (m->hdr.size) {
		rc = read_full(sock, &m->payload, m->hdr.size, m, timeout_ms, TRY_FIRST);
		if (rc == 0)
			rc = -EPIPE;
		if (rc < 0)
			goto err;
	}
	return 1;
err:
	vu_msg_close_fds(m);
	return rc;
}

int vu_msg_recv(int sock, struct vu_msg *m, int timeout_ms)
{
	return recv_msg(sock, m, timeout_ms, WAIT_FIRST);
}

int vu_msg_recv_next(int sock, struct vu_msg *m, int part_timeout_ms)
{
	return recv_msg(sock, m, part_timeout_ms, BLOCK);
}

void vu_msg_close_fds(struct vu_msg *m)
{
	for (size_t i = 0; i < m->nfds; i++)
		close(m->fds[i]);
	m->nfds = 0;
}


void vu_sock_put_fds(struct msghdr *mh, void *ctl, const int *fds, size_t nfds)
{
	struct cmsghdr *c;

	if (!nfds)
		return;
	memset(ctl, 0, CMSG_SPACE(sizeof(int) * nfds));
	mh->msg_control = ctl;
	mh->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	c = CMSG_FIRSTHDR(mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
}

/*
 * Send one whole message. @nowait: one sendmsg(MSG_DONTWAIT) that must take
 * it all; nothing sent is -EAGAIN, a part sent is -EPIPE (framing lost).
 */
static int send_msg(int sock, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		    const int *fds, size_t nfds, bool nowait)
{
	struct vu_hdr hdr = { .request = request, .flags = flags, .size = size };
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	size_t total = sizeof(hdr) + size, sent = 0;

	if (nfds > VU_MAX_FDS || size > VU_MAX_PAYLOAD)
		return -EINVAL;
	vu_sock_put_fds(&mh, ctl.buf, fds, nfds);
	while (sent < total) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | (nowait ? MSG_DONTWAIT : 0));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		sent += (size_t)n;
		if (nowait && sent < total)
			return -EPIPE;
		/* fds went with the first bytes; advance the iovecs past what was sent. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (n > 0 && mh.msg_iovlen) {
			size_t k = MIN((size_t)n, mh.msg_iov->iov_len);

			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + k;
			mh.msg_iov->iov_len -= k;
			n -= (ssize_t)k;
			if (!mh.msg_iov->iov_len) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
	return 0;
}

int vu_msg_send(int sock, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		const int *fds, size_t nfds)
{
	return send_msg(sock, request, flags, payload, size, fds, nfds, false);
}

int vu_msg_send_nowait(int sock, uint32_t request, uint32_t flags, const void *payload,
		       uint32_t size, const int *fds, size_t nfds)
{
	return send_msg(sock, request, flags, payload, size, fds, nfds, true);
}

int vu_msg_reply_u64(int sock, uint32_t request, uint64_t value)
{
	return vu_msg_send(sock, request, VU_VERSION | VU_FLAG_REPLY, &value, sizeof(value), NULL, 0);
}

int vu_sock_check_connected(int fd)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(int), plen = sizeof(peer);
	struct stat st;
	int domain, type;

	if (fd < 0)
		return -EBADF;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))
		return -errno;
	if (domain != AF_UNIX)
		return -EAFNOSUPPORT;
	len = sizeof(int);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len))
		return -errno;
	if (type != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	if (getpeername(fd, (struct sockaddr *)&peer, &plen))
		return -errno;
	return 0;
}

const char *vu_sock_strerror(int rc)
{
	switch (rc) {
	case -EBADF:
		return "not an open file descriptor";
	case -ENOTSOCK:
		return "not a socket";
	case -EAFNOSUPPORT:
		return "not a unix socket";
	case -ESOCKTNOSUPPORT:
		return "not a stream socket";
	case -ENOTCONN:
		return "not connected (a listening or unconnected socket)";
	default:
		return strerror(-rc);
	}
}
