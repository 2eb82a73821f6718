// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "vhost/msg.h"

#define U64 sizeof(uint64_t)
#define MEMTAB_MIN (8 + sizeof(struct vu_region))
#define MEMTAB_MAX sizeof(struct vu_memory)
#define CFG_MIN sizeof(struct vu_config_hdr)
#define CFG_MAX (sizeof(struct vu_config_hdr) + VU_MAX_CONFIG_SIZE)

/* R(name, min, max, min_fds, max_fds, always-has-reply) */
#define R(n, lo, hi, flo, fhi, rep) { #n, (lo), (hi), (flo), (fhi), (rep) }

static const struct vu_msg_rule frontend_req[VU_REQUEST_MAX + 1] = {
	[VU_GET_FEATURES] = R(GET_FEATURES, 0, 0, 0, 0, true),
	[VU_SET_FEATURES] = R(SET_FEATURES, U64, U64, 0, 0, false),
	[VU_SET_OWNER] = R(SET_OWNER, 0, 0, 0, 0, false),
	[VU_RESET_OWNER] = R(RESET_OWNER, 0, 0, 0, 0, false),
	[VU_SET_MEM_TABLE] = R(SET_MEM_TABLE, MEMTAB_MIN, MEMTAB_MAX, 1, VU_MAX_MEM_REGIONS, false),
	[VU_SET_LOG_BASE] = R(SET_LOG_BASE, sizeof(struct vu_log), sizeof(struct vu_log), 0, 1, false),
	[VU_SET_LOG_FD] = R(SET_LOG_FD, 0, U64, 1, 1, false),
	[VU_SET_VRING_NUM] = R(SET_VRING_NUM, 8, 8, 0, 0, false),
	[VU_SET_VRING_ADDR] = R(SET_VRING_ADDR, 40, 40, 0, 0, false),
	[VU_SET_VRING_BASE] = R(SET_VRING_BASE, 8, 8, 0, 0, false),
	[VU_GET_VRING_BASE] = R(GET_VRING_BASE, 8, 8, 0, 0, true),
	[VU_SET_VRING_KICK] = R(SET_VRING_KICK, U64, U64, 0, 1, false),
	[VU_SET_VRING_CALL] = R(SET_VRING_CALL, U64, U64, 0, 1, false),
	[VU_SET_VRING_ERR] = R(SET_VRING_ERR, U64, U64, 0, 1, false),
	[VU_GET_PROTOCOL_FEATURES] = R(GET_PROTOCOL_FEATURES, 0, 0, 0, 0, true),
	[VU_SET_PROTOCOL_FEATURES] = R(SET_PROTOCOL_FEATURES, U64, U64, 0, 0, false),
	[VU_GET_QUEUE_NUM] = R(GET_QUEUE_NUM, 0, 0, 0, 0, true),
	[VU_SET_VRING_ENABLE] = R(SET_VRING_ENABLE, 8, 8, 0, 0, false),
	[VU_SEND_RARP] = R(SEND_RARP, U64, U64, 0, 0, false),
	[VU_NET_SET_MTU] = R(NET_SET_MTU, U64, U64, 0, 0, false),
	[VU_SET_BACKEND_REQ_FD] = R(SET_BACKEND_REQ_FD, 0, 0, 1, 1, false),
	[VU_IOTLB_MSG] = R(IOTLB_MSG, sizeof(struct vu_iotlb), sizeof(struct vu_iotlb), 0, 0, true),
	[VU_SET_VRING_ENDIAN] = R(SET_VRING_ENDIAN, 8, 8, 0, 0, false),
	[VU_GET_CONFIG] = R(GET_CONFIG, CFG_MIN, CFG_MAX, 0, 0, true),
	[VU_SET_CONFIG] = R(SET_CONFIG, CFG_MIN + 1, CFG_MAX, 0, 0, false),
	[VU_CREATE_CRYPTO_SESSION] = R(CREATE_CRYPTO_SESSION, 0, VU_MAX_PAYLOAD, 0, 0, true),
	[VU_CLOSE_CRYPTO_SESSION] = R(CLOSE_CRYPTO_SESSION, U64, U64, 0, 0, false),
	[VU_POSTCOPY_ADVISE] = R(POSTCOPY_ADVISE, 0, 0, 0, 0, true),
	[VU_POSTCOPY_LISTEN] = R(POSTCOPY_LISTEN, 0, 0, 0, 0, false),
	[VU_POSTCOPY_END] = R(POSTCOPY_END, 0, 0, 0, 0, true),
	[VU_GET_INFLIGHT_FD] = R(GET_INFLIGHT_FD, sizeof(struct vu_inflight), sizeof(struct vu_inflight), 0, 0, true),
	[VU_SET_INFLIGHT_FD] = R(SET_INFLIGHT_FD, sizeof(struct vu_inflight), sizeof(struct vu_inflight), 1, 1, false),
	[VU_GPU_SET_SOCKET] = R(GPU_SET_SOCKET, 0, 0, 1, 1, false),
	[VU_RESET_DEVICE] = R(RESET_DEVICE, 0, 0, 0, 0, false),
	[VU_VRING_KICK] = R(VRING_KICK, 8, 8, 0, 0, false),
	[VU_GET_MAX_MEM_SLOTS] = R(GET_MAX_MEM_SLOTS, 0, 0, 0, 0, true),
	[VU_ADD_MEM_REG] = R(ADD_MEM_REG, sizeof(struct vu_mem_reg), sizeof(struct vu_mem_reg), 1, 1, false),
	[VU_REM_MEM_REG] = R(REM_MEM_REG, sizeof(struct vu_mem_reg), sizeof(struct vu_mem_reg), 0, 1, false),
	[VU_SET_STATUS] = R(SET_STATUS, U64, U64, 0, 0, false),
	[VU_GET_STATUS] = R(GET_STATUS, 0, 0, 0, 0, true),
	[VU_GET_SHARED_OBJECT] = R(GET_SHARED_OBJECT, 16, 16, 0, 0, true),
	[VU_SET_DEVICE_STATE_FD] = R(SET_DEVICE_STATE_FD, sizeof(struct vu_device_state), sizeof(struct vu_device_state), 1, 1, true),
	[VU_CHECK_DEVICE_STATE] = R(CHECK_DEVICE_STATE, 0, 0, 0, 0, true),
	[VU_GET_SHMEM_CONFIG] = R(GET_SHMEM_CONFIG, 0, 0, 0, 0, true),
};

/* Replies whose payload is not the REPLY_ACK u64. */
static const struct vu_msg_rule frontend_reply[VU_REQUEST_MAX + 1] = {
	[VU_GET_FEATURES] = R(GET_FEATURES, U64, U64, 0, 0, false),
	[VU_GET_VRING_BASE] = R(GET_VRING_BASE, 8, 8, 0, 0, false),
	[VU_GET_PROTOCOL_FEATURES] = R(GET_PROTOCOL_FEATURES, U64, U64, 0, 0, false),
	[VU_GET_QUEUE_NUM] = R(GET_QUEUE_NUM, U64, U64, 0, 0, false),
	[VU_GET_CONFIG] = R(GET_CONFIG, CFG_MIN, CFG_MAX, 0, 0, false),
	[VU_POSTCOPY_ADVISE] = R(POSTCOPY_ADVISE, 0, U64, 1, 1, false),
	[VU_GET_INFLIGHT_FD] = R(GET_INFLIGHT_FD, sizeof(struct vu_inflight), sizeof(struct vu_inflight), 1, 1, false),
	[VU_GET_MAX_MEM_SLOTS] = R(GET_MAX_MEM_SLOTS, U64, U64, 0, 0, false),
	[VU_GET_STATUS] = R(GET_STATUS, U64, U64, 0, 0, false),
	[VU_GET_SHARED_OBJECT] = R(GET_SHARED_OBJECT, 0, U64, 1, 1, false),
	[VU_SET_DEVICE_STATE_FD] = R(SET_DEVICE_STATE_FD, U64, U64, 0, 1, false),
	[VU_CHECK_DEVICE_STATE] = R(CHECK_DEVICE_STATE, U64, U64, 0, 0, false),
	[VU_GET_SHMEM_CONFIG] = R(GET_SHMEM_CONFIG, sizeof(struct vu_shmem_config), sizeof(struct vu_shmem_config), 0, 0, false),
};

static const struct vu_msg_rule backend_req[VU_BACKEND_REQUEST_MAX + 1] = {
	[VU_BACKEND_IOTLB_MSG] = R(BACKEND_IOTLB_MSG, sizeof(struct vu_iotlb), sizeof(struct vu_iotlb), 0, 0, false),
	[VU_BACKEND_CONFIG_CHANGE_MSG] = R(BACKEND_CONFIG_CHANGE_MSG, 0, 0, 0, 0, false),
	[VU_BACKEND_VRING_HOST_NOTIFIER_MSG] = R(BACKEND_VRING_HOST_NOTIFIER_MSG, sizeof(struct vu_vring_area), sizeof(struct vu_vring_area), 0, 1, false),
	[VU_BACKEND_VRING_CALL] = R(BACKEND_VRING_CALL, 8, 8, 0, 0, false),
	[VU_BACKEND_VRING_ERR] = R(BACKEND_VRING_ERR, 8, 8, 0, 0, false),
	[VU_BACKEND_SHARED_OBJECT_ADD] = R(BACKEND_SHARED_OBJECT_ADD, 16, 16, 0, 0, false),
	[VU_BACKEND_SHARED_OBJECT_REMOVE] = R(BACKEND_SHARED_OBJECT_REMOVE, 16, 16, 0, 0, false),
	[VU_BACKEND_SHARED_OBJECT_LOOKUP] = R(BACKEND_SHARED_OBJECT_LOOKUP, 16, 16, 0, 0, true),
	[VU_BACKEND_SHMEM_MAP] = R(BACKEND_SHMEM_MAP, sizeof(struct vu_mmap), sizeof(struct vu_mmap), 1, 1, false),
	[VU_BACKEND_SHMEM_UNMAP] = R(BACKEND_SHMEM_UNMAP, sizeof(struct vu_mmap), sizeof(struct vu_mmap), 0, 0, false),
};

static const struct vu_msg_rule ack_reply = R(REPLY_ACK, U64, U64, 0, 0, false);
static const struct vu_msg_rule lookup_reply = R(BACKEND_SHARED_OBJECT_LOOKUP, U64, U64, 0, 1, false);

#undef R

const struct vu_msg_rule *vu_msg_rule(enum vu_dir dir, uint32_t request)
{
	switch (dir) {
	case VU_DIR_FRONTEND_REQ:
		if (request <= VU_REQUEST_MAX && frontend_req[request].name)
			return &frontend_req[request];
		return NULL;
	case VU_DIR_FRONTEND_REPLY:
		if (request > VU_REQUEST_MAX || !frontend_req[request].name)
			return NULL;
		return frontend_reply[request].name ? &frontend_reply[request] : &ack_reply;
	case VU_DIR_BACKEND_REQ:
		if (request <= VU_BACKEND_REQUEST_MAX && backend_req[request].name)
			return &backend_req[request];
		return NULL;
	case VU_DIR_BACKEND_REPLY:
		if (request > VU_BACKEND_REQUEST_MAX || !backend_req[request].name)
			return NULL;
		return request == VU_BACKEND_SHARED_OBJECT_LOOKUP ? &lookup_reply : &ack_reply;
	}
	return NULL;
}

const char *vu_msg_name(enum vu_dir dir, uint32_t request)
{
	enum vu_dir req_dir = dir == VU_DIR_FRONTEND_REPLY ? VU_DIR_FRONTEND_REQ
			      : dir == VU_DIR_BACKEND_REPLY ? VU_DIR_BACKEND_REQ
							     : dir;
	const struct vu_msg_rule *r = vu_msg_rule(req_dir, request);

	return r ? r->name : "unknown";
}

int vu_msg_check(enum vu_dir dir, const struct vu_hdr *hdr, size_t nfds)
{
	bool is_reply = dir == VU_DIR_FRONTEND_REPLY || dir == VU_DIR_BACKEND_REPLY;
	const struct vu_msg_rule *r;

	if ((hdr->flags & VU_VERSION_MASK) != VU_VERSION || (hdr->flags & ~VU_FLAGS_KNOWN))
		return -EINVAL;
	if (!!(hdr->flags & VU_FLAG_REPLY) != is_reply)
		return -EINVAL;
	if (hdr->size > VU_MAX_PAYLOAD)
		return -EMSGSIZE;
	r = vu_msg_rule(dir, hdr->request);
	if (!r)
		return -EOPNOTSUPP;
	if (hdr->size < r->min_size || hdr->size > r->max_size)
		return -EMSGSIZE;
	if (nfds < r->min_fds || nfds > r->max_fds)
		return -EBADF;
	return 0;
}

int vu_decode_mem_table(const void *payload, uint32_t size, size_t nfds, struct vu_memory *out)
{
	if (size < 8 || size > sizeof(*out))
		return -EMSGSIZE;
	memset(out, 0, sizeof(*out));
	memcpy(out, payload, size);
	if (out->nregions == 0 || out->nregions > VU_MAX_MEM_REGIONS)
		return -EINVAL;
	if (size != 8 + out->nregions * sizeof(struct vu_region))
		return -EMSGSIZE;
	if (nfds != out->nregions)
		return -EBADF;
	for (uint32_t i = 0; i < out->nregions; i++) {
		const struct vu_region *r = &out->regions[i];

		if (r->memory_size == 0 || r->guest_phys_addr + r->memory_size < r->guest_phys_addr ||
		    r->userspace_addr + r->memory_size < r->userspace_addr ||
		    r->mmap_offset + r->memory_size < r->mmap_offset)
			return -EINVAL;
	}
	return 0;
}

int vu_decode_vring_addr(const void *payload, uint32_t size, struct vu_vring_addr *out)
{
	if (size != sizeof(*out))
		return -EMSGSIZE;
	memcpy(out, payload, sizeof(*out));
	if (out->flags & ~VU_VRING_F_LOG)
		return -EINVAL;
	if (out->desc % 16 || out->avail % 2 || out->used % 4)
		return -EINVAL;
	return 0;
}

int vu_decode_config(const void *payload, uint32_t size, struct vu_config_hdr *out)
{
	if (size < sizeof(*out))
		return -EMSGSIZE;
	memcpy(out, payload, sizeof(*out));
	if (out->size == 0 || out->size > VU_MAX_CONFIG_SIZE || out->offset > VU_MAX_CONFIG_SIZE ||
	    out->offset + out->size > VU_MAX_CONFIG_SIZE)
		return -EINVAL;
	if (size != sizeof(*out) + out->size)
		return -EMSGSIZE;
	return 0;
}

int vu_decode_mmap(const void *payload, uint32_t size, struct vu_mmap *out)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	if (size != sizeof(*out))
		return -EMSGSIZE;
	memcpy(out, payload, sizeof(*out));
	if (out->len == 0 || out->flags & ~VU_SHMEM_MAP_F_RW)
		return -EINVAL;
	if (out->fd_offset % page || out->shm_offset % page || out->len % page)
		return -EINVAL;
	if (out->fd_offset + out->len < out->fd_offset || out->shm_offset + out->len < out->shm_offset)
		return -EOVERFLOW;
	return 0;
}

int vu_decode_shmem_config(const void *payload, uint32_t size, struct vu_shmem_config *out)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint32_t n = 0;

	if (size != sizeof(*out))
		return -EMSGSIZE;
	memcpy(out, payload, sizeof(*out));
	for (unsigned int i = 0; i < VU_MAX_SHMEM_REGIONS; i++) {
		if (!out->memory_sizes[i])
			continue;
		if (out->memory_sizes[i] % page)
			return -EINVAL;
		n++;
	}
	return n == out->nregions ? 0 : -EINVAL;
}
