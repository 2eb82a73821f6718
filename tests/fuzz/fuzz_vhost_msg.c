// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for everything that parses vhost-user bytes from a peer:
 * vu_msg_check() and the decoders. Input: 1 byte direction, 1 byte fd count,
 * a 12-byte header, then the payload.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vhost/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t payload[VU_MAX_PAYLOAD];
	struct vu_hdr hdr;
	enum vu_dir dir;
	size_t nfds, len;
	union {
		struct vu_memory mem;
		struct vu_vring_addr addr;
		struct vu_config_hdr cfg;
		struct vu_mmap mmap;
		struct vu_shmem_config shm;
	} out;

	if (size < 2 + sizeof(hdr))
		return 0;
	dir = (enum vu_dir)(data[0] % 4);
	nfds = data[1] % (VU_MAX_FDS + 2);
	memcpy(&hdr, data + 2, sizeof(hdr));
	len = size - 2 - sizeof(hdr);
	if (len > sizeof(payload))
		len = sizeof(payload);
	/* The payload buffer is what a receive would leave: hdr.size bytes, the rest stale. */
	memcpy(payload, data + 2 + sizeof(hdr), len);

	if (vu_msg_check(dir, &hdr, nfds))
		return 0;
	(void)vu_msg_name(dir, hdr.request);
	if (hdr.size > len)
		return 0;
	if (dir == VU_DIR_FRONTEND_REQ) {
		switch (hdr.request) {
		case VU_SET_MEM_TABLE:
			(void)!vu_decode_mem_table(payload, hdr.size, nfds, &out.mem);
			break;
		case VU_SET_VRING_ADDR:
			(void)!vu_decode_vring_addr(payload, hdr.size, &out.addr);
			break;
		case VU_GET_CONFIG:
		case VU_SET_CONFIG:
			(void)!vu_decode_config(payload, hdr.size, &out.cfg);
			break;
		}
	} else if (dir == VU_DIR_FRONTEND_REPLY) {
		if (hdr.request == VU_GET_SHMEM_CONFIG)
			(void)!vu_decode_shmem_config(payload, hdr.size, &out.shm);
		else if (hdr.request == VU_GET_CONFIG)
			(void)!vu_decode_config(payload, hdr.size, &out.cfg);
	} else if (dir == VU_DIR_BACKEND_REQ) {
		if (hdr.request == VU_BACKEND_SHMEM_MAP || hdr.request == VU_BACKEND_SHMEM_UNMAP)
			(void)!vu_decode_mmap(payload, hdr.size, &out.mmap);
	}
	return 0;
}
