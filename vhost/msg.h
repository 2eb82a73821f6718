/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vhost-user wire format (shared by the frontend in shmvm and the backend
 * library): the 12-byte header, every payload, and a per-request table of
 * what a well-formed message looks like. Pure: no I/O (see vhost/sock.h).
 * Facts from QEMU's docs/interop/vhost-user.rst and the SHMEM series; see
 * ../shared/docs/protocol-notes.md §1.
 */
#ifndef SHMVM_VHOST_MSG_H
#define SHMVM_VHOST_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

/* Header flags. */
#define VU_VERSION 0x1u
#define VU_VERSION_MASK 0x3u
#define VU_FLAG_REPLY 0x4u
#define VU_FLAG_NEED_REPLY 0x8u
#define VU_FLAGS_KNOWN (VU_VERSION_MASK | VU_FLAG_REPLY | VU_FLAG_NEED_REPLY)

#define VU_MAX_PAYLOAD 4096 /* larger than any payload we accept */
#define VU_MAX_FDS 8        /* per message, both directions */
#define VU_MAX_MEM_REGIONS 8
#define VU_MAX_SHMEM_REGIONS 256
#define VU_MAX_CONFIG_SIZE 256

/* Virtio feature bit 30: GET/SET_PROTOCOL_FEATURES are available. */
#define VU_F_PROTOCOL_FEATURES 30

/* Protocol feature bits (§1.6). */
enum vu_protocol_feature {
	VU_PF_MQ = 0,
	VU_PF_LOG_SHMFD = 1,
	VU_PF_RARP = 2,
	VU_PF_REPLY_ACK = 3,
	VU_PF_NET_MTU = 4,
	VU_PF_BACKEND_REQ = 5,
	VU_PF_CROSS_ENDIAN = 6,
	VU_PF_CRYPTO_SESSION = 7,
	VU_PF_PAGEFAULT = 8,
	VU_PF_CONFIG = 9,
	VU_PF_BACKEND_SEND_FD = 10,
	VU_PF_HOST_NOTIFIER = 11,
	VU_PF_INFLIGHT_SHMFD = 12,
	VU_PF_RESET_DEVICE = 13,
	VU_PF_INBAND_NOTIFICATIONS = 14,
	VU_PF_CONFIGURE_MEM_SLOTS = 15,
	VU_PF_STATUS = 16,
	VU_PF_XEN_MMAP = 17,
	VU_PF_SHARED_OBJECT = 18,
	VU_PF_DEVICE_STATE = 19,
	VU_PF_GET_VRING_BASE_INFLIGHT = 20,
	VU_PF_GPA_ADDRESSES = 21,
	VU_PF_SHMEM = 22, /* spec text also names it SHMEM_MAP */
};

/* Front-end → back-end requests (§1.4). */
enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SEND_RARP = 19,
	VU_NET_SET_MTU = 20,
	VU_SET_BACKEND_REQ_FD = 21,
	VU_IOTLB_MSG = 22,
	VU_SET_VRING_ENDIAN = 23,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_CREATE_CRYPTO_SESSION = 26,
	VU_CLOSE_CRYPTO_SESSION = 27,
	VU_POSTCOPY_ADVISE = 28,
	VU_POSTCOPY_LISTEN = 29,
	VU_POSTCOPY_END = 30,
	VU_GET_INFLIGHT_FD = 31,
	VU_SET_INFLIGHT_FD = 32,
	VU_GPU_SET_SOCKET = 33,
	VU_RESET_DEVICE = 34,
	VU_VRING_KICK = 35,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_REM_MEM_REG = 38,
	VU_SET_STATUS = 39,
	VU_GET_STATUS = 40,
	VU_GET_SHARED_OBJECT = 41,
	VU_SET_DEVICE_STATE_FD = 42,
	VU_CHECK_DEVICE_STATE = 43,
	VU_GET_SHMEM_CONFIG = 44,
	VU_REQUEST_MAX = 44,
};

/* Back-end → front-end requests on the backend channel (§1.5). */
enum vu_backend_request {
	VU_BACKEND_IOTLB_MSG = 1,
	VU_BACKEND_CONFIG_CHANGE_MSG = 2,
	VU_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
	VU_BACKEND_VRING_CALL = 4,
	VU_BACKEND_VRING_ERR = 5,
	VU_BACKEND_SHARED_OBJECT_ADD = 6,
	VU_BACKEND_SHARED_OBJECT_REMOVE = 7,
	VU_BACKEND_SHARED_OBJECT_LOOKUP = 8,
	VU_BACKEND_SHMEM_MAP = 9,
	VU_BACKEND_SHMEM_UNMAP = 10,
	VU_BACKEND_REQUEST_MAX = 10,
};

/* Which channel a message travels on, and in which direction. */
enum vu_dir {
	VU_DIR_FRONTEND_REQ,  /* request on the main socket (frontend → backend) */
	VU_DIR_FRONTEND_REPLY, /* its reply (backend → frontend) */
	VU_DIR_BACKEND_REQ,   /* request on the backend channel (backend → frontend) */
	VU_DIR_BACKEND_REPLY, /* its reply (frontend → backend) */
};

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
} __packed;
_Static_assert(sizeof(struct vu_hdr) == 12, "vhost-user header");

struct vu_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
} __packed;
_Static_assert(sizeof(struct vu_region) == 32, "memory region");

struct vu_memory {
	uint32_t nregions;
	uint32_t padding;
	struct vu_region regions[VU_MAX_MEM_REGIONS];
} __packed;
_Static_assert(sizeof(struct vu_memory) == 8 + 32 * 8, "memory table");

struct vu_mem_reg {
	uint64_t padding;
	struct vu_region region;
} __packed;
_Static_assert(sizeof(struct vu_mem_reg) == 40, "single memory region");

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
} __packed;
_Static_assert(sizeof(struct vu_vring_state) == 8, "vring state");

#define VU_VRING_F_LOG 0x1u
struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
} __packed;
_Static_assert(sizeof(struct vu_vring_addr) == 40, "vring addr");

/* SET_VRING_KICK/CALL/ERR payload: bits 0-7 ring index, bit 8 "no fd". */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD 0x100u

struct vu_config_hdr {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
} __packed;
_Static_assert(sizeof(struct vu_config_hdr) == 12, "config header");

struct vu_log {
	uint64_t mmap_size;
	uint64_t mmap_offset;
} __packed;
_Static_assert(sizeof(struct vu_log) == 16, "log");

/* struct vhost_iotlb_msg as QEMU sends it: natural alignment, 32 bytes. */
struct vu_iotlb {
	uint64_t iova;
	uint64_t size;
	uint64_t uaddr;
	uint8_t perm;
	uint8_t type;
	uint8_t padding[6];
} __packed;
_Static_assert(sizeof(struct vu_iotlb) == 32, "iotlb message");

struct vu_vring_area {
	uint64_t u64; /* index | flags */
	uint64_t size;
	uint64_t offset;
} __packed;
_Static_assert(sizeof(struct vu_vring_area) == 24, "vring area");

#define VU_SHMEM_MAP_F_RW 0x1ull
struct vu_mmap {
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags;
} __packed;
_Static_assert(sizeof(struct vu_mmap) == 40, "VhostUserMMap");

struct vu_shmem_config {
	uint32_t nregions;
	uint32_t padding;
	uint64_t memory_sizes[VU_MAX_SHMEM_REGIONS];
} __packed;
_Static_assert(sizeof(struct vu_shmem_config) == 2056, "VhostUserShMemConfig");

struct vu_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
} __packed;
_Static_assert(sizeof(struct vu_inflight) == 20, "inflight description");

struct vu_device_state {
	uint32_t direction;
	uint32_t phase;
} __packed;
_Static_assert(sizeof(struct vu_device_state) == 8, "device state transfer");

/* What a well-formed message of one request type looks like. */
struct vu_msg_rule {
	const char *name;
	uint32_t min_size, max_size; /* payload bytes */
	uint8_t min_fds, max_fds;
	bool has_reply;              /* always answered (not only with NEED_REPLY) */
};

/* The rule for @request in @dir, or NULL for an unknown request. */
const struct vu_msg_rule *vu_msg_rule(enum vu_dir dir, uint32_t request);
/* Name for log lines ("SET_MEM_TABLE", "BACKEND_SHMEM_MAP", "unknown(99)" → static text). */
const char *vu_msg_name(enum vu_dir dir, uint32_t request);

/*
 * Syntax check of one received message: version 1, no unknown flag bits,
 * REPLY set exactly on replies, a known request, payload size and fd count
 * within the request's rule. 0 or -EINVAL / -EOPNOTSUPP / -EMSGSIZE / -EBADF.
 * Meaning (ranges, state) is checked by the handlers.
 */
int vu_msg_check(enum vu_dir dir, const struct vu_hdr *hdr, size_t nfds) __must_check;

/*
 * Meaning checks that need no state. Each copies the payload into @out
 * first, so the checks run on our copy, never on the peer's buffer.
 */
/* SET_MEM_TABLE: 1..8 regions, size exactly 8 + 32n, one fd per region, no empty or wrapping region. */
int vu_decode_mem_table(const void *payload, uint32_t size, size_t nfds,
			struct vu_memory *out) __must_check;
/* SET_VRING_ADDR: desc 16-, avail 2-, used 4-byte aligned; only the LOG flag. */
int vu_decode_vring_addr(const void *payload, uint32_t size, struct vu_vring_addr *out) __must_check;
/* GET/SET_CONFIG: offset + size <= VU_MAX_CONFIG_SIZE, size > 0, payload = header + size. */
int vu_decode_config(const void *payload, uint32_t size, struct vu_config_hdr *out) __must_check;
/* SHMEM_MAP/UNMAP: len > 0, page-aligned offsets and length, no overflow, known flag bits. */
int vu_decode_mmap(const void *payload, uint32_t size, struct vu_mmap *out) __must_check;
/* GET_SHMEM_CONFIG reply: nregions = number of non-zero sizes, each a page multiple. */
int vu_decode_shmem_config(const void *payload, uint32_t size,
			   struct vu_shmem_config *out) __must_check;

#endif
