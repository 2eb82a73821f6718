// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for shmvm's side of the vhost-user backend channel
 * (devices/vhost_user_pci.c: its thread, backend_request(), handle_shmem()
 * → mm/shm_window.c shm_window_map/unmap, and devices/shm_announce.c): what
 * a hostile backend sends there. A real device is created over a socketpair
 * whose other end answers the handshake with canned replies (SHMEM with
 * regions 0 and 7, BACKEND_REQ, BACKEND_SEND_FD, and REPLY_ACK and
 * CONFIGURE_MEM_SLOTS as the input says); the backend channel it hands over
 * then gets the input's messages (fuzz.h stream records) and is shut for
 * writing, and the harness reads every reply until the device's thread has
 * closed the channel. Memory slots go to a fake KVM that aborts on anything
 * impossible. Checked: every reply is a well-formed ack of 0 or -errno;
 * every ADD_MEM_REG on the main socket lies inside the window, overlaps no
 * announced region, and every REM_MEM_REG names one; once the channel is
 * closed, no mapping, no slot (but the window's own) and no announced region
 * is left; after destroy, no fd.
 * Input: 1 byte of flags (bit 0 window strategy, 1 REPLY_ACK, 2
 * CONFIGURE_MEM_SLOTS, 3 the BAR is placed in the guest), then the stream.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/vhost_user_pci.h"
#include "tests/fuzz/fuzz.h"
#include "vhost/sock.h"

#define NSLOTS	      32
#define BAR_GPA	      (64ULL << 30)
#define MAX_ANNOUNCED 256

static struct fuzz_feed feed;
static struct vhost_user_dev dev;
static struct vu_msg msg;
static bool live[NSLOTS];

static int fake_set(void *opaque, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		    void *hva)
{
	(void)opaque, (void)flags, (void)hva;
	if (slot >= NSLOTS || live[slot] == (size != 0))
		abort();
	if (size && (gpa < BAR_GPA || gpa + size > BAR_GPA + dev.shm.size))
		abort();
	live[slot] = size != 0;
	return 0;
}

static const struct memslot_ops slot_ops = {.set = fake_set};

static int no_route(void *opaque, int *gsi, const struct msix_msg *m)
{
	(void)opaque, (void)gsi, (void)m;
	return -ENOSYS;
}

static void no_free(void *opaque, int gsi)
{
	(void)opaque, (void)gsi;
}

static int no_irqfd(void *opaque, int fd, int gsi, bool assign)
{
	(void)opaque, (void)fd, (void)gsi, (void)assign;
	return -ENOSYS;
}

static int no_ioeventfd(void *opaque, int fd, uint64_t addr, uint32_t len, bool assign)
{
	(void)opaque, (void)fd, (void)addr, (void)len, (void)assign;
	return -ENOSYS;
}

static int no_msi(void *opaque, const struct msix_msg *m)
{
	(void)opaque, (void)m;
	return 0;
}

static const struct hv_ops hv = {.msi_route = no_route,
				 .msi_route_free = no_free,
				 .irqfd = no_irqfd,
				 .ioeventfd = no_ioeventfd,
				 .signal_msi = no_msi};

/* The regions the backend announced on the main socket, still live. */
static struct vu_region announced[MAX_ANNOUNCED];
static unsigned int nr_announced;

static void send_reply(int s, uint32_t req, const void *p, uint32_t size)
{
	if (vu_msg_send(s, req, VU_VERSION | VU_FLAG_REPLY, p, size, NULL, 0))
		abort();
}

/* What the canned backend answers to the handshake, written before it starts. */
static void canned_handshake(int s, uint8_t flags)
{
	uint64_t features = (1ULL << VU_F_PROTOCOL_FEATURES) | (1ULL << 32);
	uint64_t pf = (1ULL << VU_PF_BACKEND_REQ) | (1ULL << VU_PF_BACKEND_SEND_FD) |
		      (1ULL << VU_PF_SHMEM),
		 zero = 0;
	struct vu_shmem_config c = {.nregions = 2};

	if (flags & 2)
		pf |= 1ULL << VU_PF_REPLY_ACK;
	if (flags & 4)
		pf |= 1ULL << VU_PF_CONFIGURE_MEM_SLOTS;
	c.memory_sizes[0] = 8 << 20;
	c.memory_sizes[7] = 2 << 20;
	send_reply(s, VU_GET_FEATURES, &features, sizeof(features));
	send_reply(s, VU_GET_PROTOCOL_FEATURES, &pf, sizeof(pf));
	if (flags & 2)
		send_reply(s, VU_SET_OWNER, &zero, sizeof(zero));
	send_reply(s, VU_GET_SHMEM_CONFIG, &c, sizeof(c));
	if (flags & 2)
		send_reply(s, VU_SET_BACKEND_REQ_FD, &zero, sizeof(zero));
}

static bool overlaps(const struct vu_region *a, const struct vu_region *b)
{
	return a->guest_phys_addr < b->guest_phys_addr + b->memory_size &&
	       b->guest_phys_addr < a->guest_phys_addr + a->memory_size;
}

/* One message shmvm wrote to the main socket after the handshake: ADD/REM_MEM_REG only. */
static void main_message(const struct vu_msg *m)
{
	struct vu_region r = m->payload.mem_reg.region;
	unsigned int i;

	if (m->hdr.size != sizeof(struct vu_mem_reg) || !r.memory_size)
		abort();
	if (m->hdr.request == VU_ADD_MEM_REG) {
		if (m->nfds != 1 || r.guest_phys_addr < BAR_GPA ||
		    r.guest_phys_addr + r.memory_size > BAR_GPA + dev.shm.size ||
		    nr_announced == MAX_ANNOUNCED)
			abort();
		for (i = 0; i < nr_announced; i++)
			if (overlaps(&announced[i], &r))
				abort();
		announced[nr_announced++] = r;
	} else if (m->hdr.request == VU_REM_MEM_REG) {
		for (i = 0; i < nr_announced; i++)
			if (announced[i].guest_phys_addr == r.guest_phys_addr &&
			    announced[i].memory_size == r.memory_size)
				break;
		if (m->nfds || i == nr_announced)
			abort();
		announced[i] = announced[--nr_announced];
	} else {
		abort();
	}
}

/* Every reply on the backend channel: an ack of 0 or -errno (for unknown requests too). */
static void channel_reply(const struct vu_msg *m)
{
	int64_t v = (int64_t)m->payload.u64;

	if (m->nfds || m->hdr.size != 8 || m->hdr.flags != (VU_VERSION | VU_FLAG_REPLY) || v > 0 ||
	    v < -4095)
		abort();
}

/* Read both sockets until the device's thread has closed the channel. */
static void serve(int main_sock, int chan)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = chan, .events = POLLIN},
				      {.fd = main_sock, .events = POLLIN}};
		int rc;

		do
			rc = poll(p, 2, 10000);
		while (rc < 0 && errno == EINTR); /* libFuzzer's timeout alarm */
		if (rc <= 0)
			abort(); /* the thread is stuck */
		if (p[1].revents & POLLIN) {
			if (vu_msg_recv(main_sock, &msg, 1000) != 1)
				abort();
			main_message(&msg);
			vu_msg_close_fds(&msg);
			continue; /* the main socket first: ADD_MEM_REG comes before its answer */
		}
		rc = vu_msg_recv(chan, &msg, 1000);
		if (rc == 0)
			break;
		if (rc != 1)
			abort();
		channel_reply(&msg);
		vu_msg_close_fds(&msg);
	}
	/* The thread drops the mappings after it shut the channel; then its REMs are all sent. */
	for (unsigned int i = 0; shm_window_count(&dev.shm); i++) {
		if (i == 100000)
			abort(); /* mappings outlive their backend channel */
		usleep(50);
	}
	while (vu_msg_recv(main_sock, &msg, 0) == 1) {
		main_message(&msg);
		vu_msg_close_fds(&msg);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	unsigned int base_fds;
	static struct guest_mem mem;
	struct memslot_table slots;
	struct vhost_user_cfg cfg;
	uint8_t flags;
	int sv[2], chan = -1;

	if (!ready) {
		fuzz_quiet();
		fuzz_feed_init(&feed);
		ready = true;
	}
	base_fds = fuzz_open_fds(); /* counted each time: libFuzzer may open its own */
	if (size < 1)
		return 0;
	flags = data[0];
	fuzz_feed_reset(&feed);
	memset(live, 0, sizeof(live));
	nr_announced = 0;
	if (memslot_table_init(&slots, NSLOTS, &slot_ops, NULL))
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	canned_handshake(sv[1], flags);
	cfg = (struct vhost_user_cfg){.socket = "fuzz",
				      .has_socket_fd = true,
				      .socket_fd = sv[0],
				      .virtio_id = 26,
				      .queues = 1,
				      .queue_size = 64,
				      .pci_class = 0x018000,
				      .reply_ms = 1000,
				      .shm_strategy =
					  flags & 1 ? SHM_STRATEGY_WINDOW : SHM_STRATEGY_SLOT,
				      .slots = &slots};
	if (vhost_user_dev_create(&dev, &cfg, &mem, &hv))
		abort();
	/* The handshake's requests; the last hands us the channel. */
	while (chan < 0) {
		if (vu_msg_recv(sv[1], &msg, 1000) != 1)
			abort();
		if (msg.hdr.request == VU_SET_BACKEND_REQ_FD && msg.nfds == 1) {
			chan = msg.fds[0];
			msg.nfds = 0;
		}
		vu_msg_close_fds(&msg);
	}
	if (flags & 8)
		dev.vp.ops->bar_moved(&dev.vp, VPCI_SHM_BAR, PCI_BAR_UNMAPPED, BAR_GPA);
	fuzz_feed(&feed, chan, data + 1, size - 1);
	shutdown(chan, SHUT_WR);
	serve(sv[1], chan);
	if (nr_announced || memslot_count(&slots) !=
				(dev.shm.strategy == SHM_STRATEGY_WINDOW && (flags & 8) ? 1u : 0u))
		abort();
	vhost_user_dev_destroy(&dev);
	memslot_table_destroy(&slots);
	close(chan);
	close(sv[1]);
	fuzz_check_fds(base_fds);
	return 0;
}
