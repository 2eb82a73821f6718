// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the virtio-console (devices/virtio_console.c) as a
 * hostile driver sees it: its control messages, descriptor tables, indirect
 * tables and avail rings, the queue sizes and ring addresses it programs,
 * resets at any time. A real device with two ports is created per input,
 * each port's input a pipe the harness writes, port 1's output a pipe the
 * harness reads, port 0's output a pipe or the callback; its I/O thread
 * does the work. The harness never calls into the device's internals: it
 * writes guest RAM, programs the BAR (common config, MSI-X table, notify
 * register: the fake hypervisor refuses ioeventfds), and "settles": waits
 * until nothing the device watches is ready while the harness holds its
 * lock (so every round that work could start has run), reading the output
 * pipes meanwhile. No test hook in the device was needed.
 *
 * Checked after each settle: the device went idle (a device that keeps
 * waking itself is a finding: abort after 5 s); every byte it counted out
 * reached a pipe or the callback; every byte it counted in left an input
 * pipe; a vcon_when_drained() call has been answered, once. After destroy:
 * no fd left.
 *
 * Input: 1 byte of flags (bit 0: port 0's output to the callback; bit 1:
 * INDIRECT_DESC negotiated; bit 2: MULTIPORT left out, refused), then per
 * queue (6) 8 bytes: log2 of its size, flags (bit 0 enabled, bit 1
 * descriptors past RAM, bit 2 no MSI-X vector), and u16 desc/avail/used
 * addresses in units of 16 bytes (the first MiB of RAM). Then records, one
 * op byte each (op % 8):
 *   0 RAM write: u16 offset / 8, u8 length, the bytes (offsets < 512 KiB)
 *   1 kick: u8 queue (% 8: 6 and 7 do not exist)
 *   2 settle
 *   3 input: u8 port (bit 0), u8 length, the bytes, written to its pipe
 *   4 end of input for port (op >> 3) & 1: its pipe's writer closed
 *   5 reset (status 0), then set up again as above
 *   6 common config write: u8 offset, u8 width (1, 2 or 4), u32 value
 *   7 vcon_when_drained()
 * at most 256 of them, then a last settle.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_console.h"
#include "tests/fuzz/fuzz.h"

#define NR_PORTS 2
#define NR_QUEUES (2 * (NR_PORTS + 1))
#define RAM_SIZE (16ULL << 20)
#define RAM_USED (1ULL << 20) /* what the input can name: cleared per input */
#define FAR (1ULL << 40)
#define MAX_RECORDS 256
#define IDLE_DEADLINE_MS 5000

struct qsetup {
	uint8_t log2, flags;
	uint16_t desc, avail, used;
};

static struct guest_mem mem;
static struct virtio_console c;
static uint8_t flags;
static struct qsetup qs[NR_QUEUES];
static int in_r[NR_PORTS], in_w[NR_PORTS], out_r[NR_PORTS], out_w[NR_PORTS];
static uint64_t written_in, read_out, callback_out; /* callback_out: on the device's thread */
static int drained_calls, drained_asked;

static void output(void *opaque, unsigned int port, const uint8_t *buf, size_t len)
{
	(void)opaque, (void)buf;
	if (port != 0) /* only port 0 has no descriptor */
		abort();
	callback_out += len;
}

static void on_drained(void *opaque)
{
	if (opaque != &c)
		abort();
	__atomic_fetch_add(&drained_calls, 1, __ATOMIC_SEQ_CST);
}

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

static int count_msi(void *opaque, const struct msix_msg *m)
{
	(void)opaque, (void)m;
	return 0;
}

static const struct hv_ops hv = { .msi_route = no_route, .msi_route_free = no_free,
				  .irqfd = no_irqfd, .ioeventfd = no_ioeventfd,
				  .signal_msi = count_msi };

/* ---- the BAR, as the guest writes it (no bus: the device's own handlers) ---- */

static void bar_w(uint64_t off, uint32_t len, uint32_t v)
{
	const struct pci_bar *b = &c.vp.pci.bars[VPCI_BAR];

	b->ops->write(b->opaque, off, &v, len);
}

static void common_w(uint64_t off, uint32_t len, uint32_t v)
{
	bar_w(VPCI_COMMON_OFF + off, len, v);
}

static void driver_up(void)
{
	const uint32_t go = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	uint16_t ctrl = MSIX_CTRL_ENABLE;
	uint32_t f = (flags & 4 ? 0 : 1u << 1) | (flags & 2 ? 1u << 28 : 0);

	common_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, go);
	common_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	common_w(VIRTIO_PCI_COMMON_GF, 4, f);
	common_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	common_w(VIRTIO_PCI_COMMON_GF, 4, 1);
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, go | VIRTIO_CONFIG_S_FEATURES_OK);
	pci_config_write(&c.vp.pci, c.vp.msix_cap + 2u, &ctrl, 2);
	for (unsigned int v = 0; v <= NR_QUEUES; v++) {
		bar_w(VPCI_MSIX_TABLE_OFF + 16 * v, 4, 0xfee00000);
		bar_w(VPCI_MSIX_TABLE_OFF + 16 * v + 8, 4, 0x40 + v);
		bar_w(VPCI_MSIX_TABLE_OFF + 16 * v + 12, 4, 0);
	}
	common_w(VIRTIO_PCI_COMMON_MSIX, 2, NR_QUEUES);
	for (unsigned int q = 0; q < NR_QUEUES; q++) {
		const struct qsetup *s = &qs[q];
		uint64_t desc = s->desc * 16ULL + (s->flags & 2 ? FAR : 0);

		common_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		common_w(VIRTIO_PCI_COMMON_Q_SIZE, 2, 1u << (s->log2 & 15));
		common_w(VIRTIO_PCI_COMMON_Q_MSIX, 2, s->flags & 4 ? VIRTIO_NO_VECTOR : q);
		common_w(VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)desc);
		common_w(VIRTIO_PCI_COMMON_Q_DESCHI, 4, (uint32_t)(desc >> 32));
		common_w(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, s->avail * 16u);
		common_w(VIRTIO_PCI_COMMON_Q_USEDLO, 4, s->used * 16u);
		if (s->flags & 1)
			common_w(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	common_w(VIRTIO_PCI_COMMON_STATUS, 1,
		 go | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

/* ---- settling ---- */

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void drain_outputs(void)
{
	static uint8_t buf[65536];

	for (unsigned int p = 0; p < NR_PORTS; p++) {
		ssize_t n;

		while (out_r[p] >= 0 && (n = read(out_r[p], buf, sizeof(buf))) > 0)
			read_out += (uint64_t)n;
	}
}

static unsigned int pipe_bytes(int fd)
{
	int n = 0;

	if (ioctl(fd, FIONREAD, &n) || n < 0)
		abort();
	return (unsigned int)n;
}

/*
 * Wait until nothing the device watches is ready while we hold its lock:
 * every round that could run has run. Then check what it counted.
 */
static void settle(void)
{
	uint64_t end = now_ms() + IDLE_DEADLINE_MS;
	struct vcon_counters n;
	uint64_t left_in = 0;
	unsigned int spins = 0;
	bool pending;

	for (;;) {
		struct epoll_event ev;
		unsigned int unread = 0;
		int ready;

		drain_outputs();
		pthread_mutex_lock(&c.lock);
		ready = epoll_wait(c.epfd, &ev, 1, 0);
		/* A pipe it filled again since: it may be waiting for room, not idle. */
		for (unsigned int p = 0; p < NR_PORTS; p++)
			unread += out_r[p] >= 0 ? pipe_bytes(out_r[p]) : 0;
		pending = c.drained != NULL;
		pthread_mutex_unlock(&c.lock);
		if (ready == 0 && !unread)
			break;
		if (now_ms() > end) {
			fprintf(stderr, "fuzz_virtio_console: the device never goes idle\n");
			abort();
		}
		if (++spins > 200)
			usleep(50);
		else
			sched_yield();
	}
	drain_outputs();
	n = vcon_counters(&c);
	for (unsigned int p = 0; p < NR_PORTS; p++)
		left_in += pipe_bytes(in_r[p]);
	/* callback_out is the device thread's, and it is idle: its lock orders it. */
	pthread_mutex_lock(&c.lock);
	if (n.bytes_out != read_out + callback_out || n.bytes_in + left_in != written_in) {
		fprintf(stderr, "fuzz_virtio_console: out %llu, seen %llu + %llu; in %llu + %llu, written %llu\n",
			(unsigned long long)n.bytes_out, (unsigned long long)read_out,
			(unsigned long long)callback_out, (unsigned long long)n.bytes_in,
			(unsigned long long)left_in, (unsigned long long)written_in);
		abort();
	}
	pthread_mutex_unlock(&c.lock);
	/* Idle with output ring empty or written: an asked drained call has come, once. */
	if (pending || __atomic_load_n(&drained_calls, __ATOMIC_SEQ_CST) != drained_asked) {
		fprintf(stderr, "fuzz_virtio_console: when_drained asked %d, called %d%s\n", drained_asked,
			drained_calls, pending ? ", still pending" : "");
		abort();
	}
}

/* ---- one input ---- */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static bool take(struct cursor *cu, void *out, size_t n)
{
	if (cu->left < n)
		return false;
	memcpy(out, cu->p, n);
	cu->p += n;
	cu->left -= n;
	return true;
}

static int mkpipe(int *r, int *w)
{
	int fd[2];

	if (pipe2(fd, O_CLOEXEC | O_NONBLOCK))
		return -1;
	*r = fd[0];
	*w = fd[1];
	return 0;
}

static void closefd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void run(struct cursor *cu)
{
	for (unsigned int r = 0; r < MAX_RECORDS; r++) {
		uint8_t op, b[2], len, buf[256];
		uint16_t off;
		uint32_t v;

		if (!take(cu, &op, 1))
			break;
		switch (op % 8) {
		case 0:
			if (!take(cu, &off, 2) || !take(cu, &len, 1) || !take(cu, buf, len))
				return;
			memcpy(mem.hva + off * 8ULL, buf, len); /* RAM at gpa 0 is at hva 0 */
			break;
		case 1:
			if (!take(cu, b, 1))
				return;
			bar_w(virtio_pci_notify_addr(0, b[0] % 8), 2, b[0] % 8);
			break;
		case 2:
			settle();
			break;
		case 3:
			if (!take(cu, b, 2) || !take(cu, buf, b[1]))
				return;
			if (in_w[b[0] & 1] >= 0) {
				ssize_t n = write(in_w[b[0] & 1], buf, b[1]);

				written_in += n > 0 ? (uint64_t)n : 0;
			}
			break;
		case 4:
			closefd(&in_w[(op >> 3) & 1]);
			break;
		case 5:
			driver_up();
			break;
		case 6:
			if (!take(cu, b, 2) || !take(cu, &v, 4))
				return;
			if (b[1] == 1 || b[1] == 2 || b[1] == 4)
				common_w(b[0] % VIRTIO_COMMON_CFG_SIZE, b[1], v);
			break;
		case 7:
			/* One at a time: the device keeps one. */
			if (__atomic_load_n(&drained_calls, __ATOMIC_SEQ_CST) == drained_asked) {
				drained_asked++;
				vcon_when_drained(&c, on_drained, &c);
			}
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor cu = { data, size };
	struct vcon_cfg cfg = { .nr_ports = NR_PORTS, .output = output, .opaque = &c };
	unsigned int base_fds;

	if (!mem.hva) {
		fuzz_quiet();
		if (mem_create(&mem, RAM_SIZE) || mem.regions[0].gpa || mem.regions[0].offset)
			abort();
	}
	if (!take(&cu, &flags, 1) || !take(&cu, qs, sizeof(qs)))
		return 0;
	base_fds = fuzz_open_fds(); /* counted each time: libFuzzer may open its own */
	memset(mem.hva, 0, RAM_USED);
	written_in = read_out = callback_out = 0;
	drained_calls = drained_asked = 0;
	for (unsigned int p = 0; p < NR_PORTS; p++) {
		if (mkpipe(&in_r[p], &in_w[p]) || mkpipe(&out_r[p], &out_w[p]))
			abort();
		cfg.port[p] = (struct vcon_port_cfg){ .name = p ? "fuzz" : NULL, .in_fd = in_r[p],
						      .out_fd = out_w[p] };
	}
	if (flags & 1)
		cfg.port[0].out_fd = -1;
	if (vcon_create(&c, &cfg, &mem, &hv))
		abort();
	driver_up();
	run(&cu);
	settle();
	if (getenv("FUZZ_VERBOSE")) {
		struct vcon_counters n = vcon_counters(&c);

		fprintf(stderr, "status %#x, kicks %llu, interrupts %llu, out %llu, in %llu, bad %llu\n",
			c.vp.common.status, (unsigned long long)n.kicks,
			(unsigned long long)n.interrupts, (unsigned long long)n.bytes_out,
			(unsigned long long)n.bytes_in, (unsigned long long)n.bad);
	}
	vcon_destroy(&c);
	for (unsigned int p = 0; p < NR_PORTS; p++) {
		closefd(&in_r[p]);
		closefd(&in_w[p]);
		closefd(&out_r[p]);
		closefd(&out_w[p]);
	}
	fuzz_check_fds(base_fds);
	return 0;
}
