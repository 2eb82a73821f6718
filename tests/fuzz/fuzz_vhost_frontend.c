// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the vhost-user frontend (vhost/frontend.c): the
 * replies of a hostile backend. Everything the backend will ever say is
 * written first (fuzz.h stream records, with fds), then its end is shut
 * for writing, so a missing reply is an end of stream, never a wait. The
 * frontend adopts the other end (the handshake reads the first replies)
 * and runs the operations the input names. Checked: only protocol features
 * shmvm asks for are negotiated, a GET_SHMEM_CONFIG that succeeds gives
 * page multiples, and no fd is left open once the frontend is closed.
 * Input: 1 byte n (mod 16), n operation bytes (low nibble: which, high
 * nibble: its argument), then the backend's stream.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"
#include "vhost/frontend.h"

static struct fuzz_feed feed;

static void run_op(struct vu_frontend *f, uint8_t op)
{
	unsigned int arg = op >> 4;
	struct vu_region r = {.guest_phys_addr = (uint64_t)arg << 20,
			      .memory_size = 1 << 20,
			      .userspace_addr = 0x7f0000000000ULL,
			      .mmap_offset = 0};
	uint64_t sizes[VU_MAX_SHMEM_REGIONS];
	uint8_t cfg[VU_MAX_CONFIG_SIZE] = {0};
	uint32_t base;
	int rc, sv[2];

	switch (op & 15) {
	case 0:
		(void)!vu_frontend_set_features(f, (1ULL << 32) | arg);
		break;
	case 1:
		(void)!vu_frontend_get_config(f, arg * 8, cfg, 16 + arg);
		break;
	case 2:
		(void)!vu_frontend_set_config(f, arg, cfg, 8);
		break;
	case 3:
		(void)!vu_frontend_set_mem_table(f, &r, &feed.memfd, 1);
		break;
	case 4: {
		struct vu_ring_setup s = {.index = arg % 2,
					  .size = 64,
					  .desc = 0x7f0000000000ULL,
					  .avail = 0x7f0000000400ULL,
					  .used = 0x7f0000000600ULL,
					  .kick_fd = eventfd(0, EFD_CLOEXEC),
					  .call_fd = arg & 2 ? -1 : eventfd(0, EFD_CLOEXEC)};

		(void)!vu_frontend_start_ring(f, &s);
		close(s.kick_fd);
		if (s.call_fd >= 0)
			close(s.call_fd);
		break;
	}
	case 5:
		(void)!vu_frontend_stop_ring(f, arg % 2, &base);
		break;
	case 6:
		(void)!vu_frontend_reset_device(f);
		break;
	case 7:
		rc = vu_frontend_get_shmem_config(f, sizes);
		for (unsigned int i = 0; !rc && i < VU_MAX_SHMEM_REGIONS; i++)
			if (sizes[i] % 4096)
				abort();
		break;
	case 8:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			abort();
		(void)!vu_frontend_set_backend_req_fd(f, sv[1]);
		close(sv[0]);
		close(sv[1]);
		break;
	case 9:
		(void)!vu_frontend_add_mem_reg(f, &r, feed.memfd);
		break;
	case 10:
		(void)!vu_frontend_rem_mem_reg(f, &r);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	unsigned int base_fds;
	struct vu_frontend f;
	unsigned int nops;
	int sv[2];

	if (!ready) {
		fuzz_quiet();
		fuzz_feed_init(&feed);
		ready = true;
	}
	base_fds = fuzz_open_fds(); /* counted each time: libFuzzer may open its own */
	if (size < 1)
		return 0;
	nops = data[0] % 16;
	if (size < 1 + nops)
		return 0;
	fuzz_feed_reset(&feed);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	fuzz_feed(&feed, sv[1], data + 1 + nops, size - 1 - nops);
	shutdown(sv[1], SHUT_WR);
	if (!vu_frontend_adopt(&f, sv[0], "fuzz", 100)) {
		if (f.protocol_features & ~VU_FRONTEND_PROTOCOL_FEATURES)
			abort();
		for (unsigned int i = 0; i < nops; i++)
			run_op(&f, data[1 + i]);
		vu_frontend_close(&f); /* closes sv[0] */
	} else {
		close(sv[0]); /* a refused socket stays the caller's */
	}
	close(sv[1]);
	fuzz_check_fds(base_fds);
	return 0;
}
