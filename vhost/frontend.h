/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The vhost-user frontend: shmvm's side of the main channel to one backend.
 * Requests are serialised; every wait for a reply has a timeout, and any
 * protocol error marks the connection broken (the caller then tells the
 * guest DEVICE_NEEDS_RESET). Knows nothing of KVM or PCI: addresses are the
 * frontend's virtual addresses, as the protocol wants.
 *
 * Two locks: @lock serialises request/reply pairs (a request holds it while
 * it waits for its reply); @send_lock is held only while one whole message
 * is written, never while waiting. vu_frontend_add_mem_reg() and
 * vu_frontend_rem_mem_reg() take only @send_lock, so another thread
 * (shmvm's backend-channel thread, in the middle of answering a SHMEM_MAP)
 * may call them while a request is waiting for its reply.
 */
#ifndef SHMVM_VHOST_FRONTEND_H
#define SHMVM_VHOST_FRONTEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"
#include "vhost/msg.h"

/* Protocol features shmvm asks for when the backend offers them (never GPA_ADDRESSES). */
#define VU_FRONTEND_PROTOCOL_FEATURES                                                              \
	((1ULL << VU_PF_MQ) | (1ULL << VU_PF_REPLY_ACK) | (1ULL << VU_PF_CONFIG) |                   \
	 (1ULL << VU_PF_BACKEND_REQ) | (1ULL << VU_PF_BACKEND_SEND_FD) |                               \
	 (1ULL << VU_PF_RESET_DEVICE) | (1ULL << VU_PF_SHMEM) | (1ULL << VU_PF_CONFIGURE_MEM_SLOTS))

struct vu_frontend {
	pthread_mutex_t lock;      /* one request/reply pair at a time */
	pthread_mutex_t send_lock; /* one whole message at a time; never held while waiting */
	int sock;
	const char *path;  /* the socket's path, or an adopted socket's name (may be NULL) */
	char fd_name[16];  /* "fd N": an adopted socket without a name */
	int timeout_ms;
	uint64_t features;          /* what the backend offers (GET_FEATURES) */
	uint64_t protocol_features; /* negotiated */
	uint64_t queue_num;         /* GET_QUEUE_NUM, when MQ was negotiated */
	/*
	 * Set by whichever thread meets the error, under either lock or none:
	 * only ever accessed with __atomic (relaxed: a flag, it publishes no
	 * other data); read it with vu_frontend_broken().
	 */
	bool broken;
	/* Requests that broke the channel (timeouts, bad replies, send errors): __atomic, any thread. */
	unsigned long errors;
};

struct vu_ring_setup {
	unsigned int index;
	uint16_t size;
	uint16_t base; /* next avail index */
	uint64_t desc, avail, used; /* frontend virtual addresses */
	int kick_fd, call_fd;       /* -1: none */
};

/*
 * Connect to @path, retrying for up to @retry_ms while it is absent or
 * refusing; then GET_FEATURES, protocol features, GET_QUEUE_NUM, SET_OWNER.
 * Logs a line naming the socket on failure.
 */
int vu_frontend_connect(struct vu_frontend *f, const char *path, int retry_ms,
			int timeout_ms) __must_check;
/*
 * The same handshake on @fd, a socket already connected to the backend (a
 * socketpair end), refused unless it is a connected unix stream socket
 * (vu_sock_check_connected()). @name (kept, may be NULL: "fd N") names it
 * in log lines. 0: @fd is @f's (vu_frontend_close() closes it); on failure
 * (one line logged) it is left open, the caller's.
 */
int vu_frontend_adopt(struct vu_frontend *f, int fd, const char *name, int timeout_ms) __must_check;
void vu_frontend_close(struct vu_frontend *f);
/* The socket's path, the adopted socket's name, or "fd N": for log lines. */
const char *vu_frontend_name(const struct vu_frontend *f);
bool vu_frontend_has(const struct vu_frontend *f, enum vu_protocol_feature pf);
/*
 * A protocol error or a hang-up happened: every request fails with -EIO.
 * Any thread (broken is written under @lock (fail()), @send_lock (close) or
 * neither (the device's backend channel)); inline, so that code reading a
 * device's state (the control socket) needs no more of the frontend.
 */
static inline bool vu_frontend_broken(const struct vu_frontend *f)
{
	return __atomic_load_n(&f->broken, __ATOMIC_RELAXED);
}

int vu_frontend_set_features(struct vu_frontend *f, uint64_t features) __must_check;
int vu_frontend_get_config(struct vu_frontend *f, uint32_t off, void *buf, uint32_t len) __must_check;
int vu_frontend_set_config(struct vu_frontend *f, uint32_t off, const void *buf, uint32_t len) __must_check;
/* The whole memory table; @fds[i] backs @regions[i]. */
int vu_frontend_set_mem_table(struct vu_frontend *f, const struct vu_region *regions,
			      const int *fds, unsigned int n) __must_check;
/* NUM, ADDR, BASE, KICK, CALL, ERR(none) and ENABLE for one ring. */
int vu_frontend_start_ring(struct vu_frontend *f, const struct vu_ring_setup *r) __must_check;
/* Stop ring @index; its next avail index goes to *@base. */
int vu_frontend_stop_ring(struct vu_frontend *f, unsigned int index, uint32_t *base) __must_check;
/* RESET_DEVICE if negotiated (0), else -EOPNOTSUPP. */
int vu_frontend_reset_device(struct vu_frontend *f) __must_check;
/*
 * GET_SHMEM_CONFIG: the backend's shared-memory region sizes by shmid (0 =
 * unused), each checked to be a page multiple; -EOPNOTSUPP without SHMEM.
 */
int vu_frontend_get_shmem_config(struct vu_frontend *f,
				 uint64_t sizes[VU_MAX_SHMEM_REGIONS]) __must_check;
/* Hand the backend its end of the backend channel (SET_BACKEND_REQ_FD). */
int vu_frontend_set_backend_req_fd(struct vu_frontend *f, int fd) __must_check;

/*
 * ADD_MEM_REG / REM_MEM_REG (CONFIGURE_MEM_SLOTS): one message, without
 * NEED_REPLY; any thread, even while another holds the request lock waiting
 * for a reply. A full socket buffer (a backend behind in reading its main
 * socket) is waited for, with no lock held, at most VU_MEM_REG_WAIT_MS: a
 * backend that is only slow catches up, one that waits for the caller (a
 * single-threaded backend blocked on its SHMEM_MAP's answer) costs at most
 * that. ADD carries @fd (the caller keeps it), REM carries none. 0 (queued
 * on the socket, not yet seen by the backend), -EOPNOTSUPP (not
 * negotiated), -EIO (connection broken or closed), -EAGAIN (still full
 * after the wait: nothing was sent, the connection stays usable; the caller
 * counts it), -EPIPE (only part of the message went: the socket is shut
 * down, so the hang-up path drops the backend), or another -errno from
 * sendmsg. Nothing is logged here.
 */
#define VU_MEM_REG_WAIT_MS 1000
int vu_frontend_add_mem_reg(struct vu_frontend *f, const struct vu_region *r, int fd) __must_check;
int vu_frontend_rem_mem_reg(struct vu_frontend *f, const struct vu_region *r) __must_check;

#endif
