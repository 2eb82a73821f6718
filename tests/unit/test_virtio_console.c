// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio-console (devices/virtio_console.c) driven from the driver's
 * side: the device on a PCI host and MMIO bus, guest RAM from mm/guest_mem,
 * a fake hypervisor that counts MSIs and records ioeventfds, and rings
 * built in guest RAM the way a driver builds them. The device runs on its
 * own I/O thread; the test waits for used-ring progress, or for the device
 * to go idle (nothing in its epoll set ready while we hold its lock), with
 * a generous deadline that only turns a hang into a failure.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_console.h"
#include "mm/bus.h"
#include "pci/host.h"

#include "check_main.h"

/* Control events (virtio 1.2, 5.3.6.2). */
enum { DEVICE_READY, DEVICE_ADD, DEVICE_REMOVE, PORT_READY, CONSOLE_PORT, RESIZE, PORT_OPEN,
       PORT_NAME };

struct ctrl {
	uint32_t id;
	uint16_t event, value;
} __attribute__((packed));

#define MEM_SIZE (16ULL << 20)
#define QSZ 16               /* every queue, as the driver sets it */
#define RINGS_GPA 0x10000ULL  /* queue q's rings: one page each from here */
#define BUFS_GPA 0x200000ULL  /* buffers and indirect tables, bump-allocated */
#define CTRL_RX 2
#define CTRL_TX 3
#define FAR_GPA (1ULL << 40) /* past RAM */
#define DEADLINE_MS 10000

static unsigned int rxq(unsigned int p)
{
	return p ? 2 * p + 2 : 0;
}

static unsigned int txq(unsigned int p)
{
	return rxq(p) + 1;
}

/* ---- the fake hypervisor ---- */

static int ioev_ok = 1;       /* 0: ioeventfd() fails, kicks go through the notify register */
static int ioev_fd[2 * (VCON_MAX_PORTS + 1)];
static uint64_t bar;          /* BAR 0 as the host assigned it */
static unsigned long msis;    /* signal_msi calls (device thread) */

static int f_route(void *opaque, int *gsi, const struct msix_msg *msg)
{
	(void)opaque, (void)gsi, (void)msg;
	return -ENOSYS;
}

static void f_route_free(void *opaque, int gsi)
{
	(void)opaque, (void)gsi;
}

static int f_irqfd(void *opaque, int fd, int gsi, bool assign)
{
	(void)opaque, (void)fd, (void)gsi, (void)assign;
	return -ENOSYS;
}

static int f_ioeventfd(void *opaque, int fd, uint64_t addr, uint32_t len, bool assign)
{
	uint64_t q = (addr - VPCI_NOTIFY_OFF) % VPCI_BAR_SIZE / VPCI_NOTIFY_MULT;

	(void)opaque;
	ck_assert_uint_eq(len, 2);
	if (!ioev_ok)
		return -ENOSYS;
	ck_assert_uint_lt(q, ARRAY_SIZE(ioev_fd));
	ioev_fd[q] = assign ? fd : -1;
	return 0;
}

static int f_signal_msi(void *opaque, const struct msix_msg *msg)
{
	(void)opaque;
	ck_assert_uint_eq(msg->addr, 0xfee00000);
	__atomic_fetch_add(&msis, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static const struct hv_ops hv = { .msi_route = f_route, .msi_route_free = f_route_free,
				  .irqfd = f_irqfd, .ioeventfd = f_ioeventfd,
				  .signal_msi = f_signal_msi };

static unsigned long msi_count(void)
{
	return __atomic_load_n(&msis, __ATOMIC_SEQ_CST);
}

/* ---- the machine ---- */

static struct guest_mem mem;
static struct bus pio, mmio;
static struct pci_host host;
static struct virtio_console c;
static bool created;
static struct vcon_cfg cfg;
static unsigned int nq;

/* What the output callback saw. */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static char out_buf[4096];
static size_t out_len;
static unsigned int out_port = ~0u, out_calls;

static void output(void *opaque, unsigned int port, const uint8_t *buf, size_t len)
{
	ck_assert_ptr_eq(opaque, &c);
	pthread_mutex_lock(&out_lock);
	if (out_len + len <= sizeof(out_buf)) {
		memcpy(out_buf + out_len, buf, len);
		out_len += len;
	}
	out_port = port;
	out_calls++;
	pthread_mutex_unlock(&out_lock);
}

static void *hva(uint64_t gpa, uint64_t len)
{
	void *p = mem_gpa_to_hva(&mem, gpa, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

static void setup(void)
{
	ck_assert_int_eq(mem_create(&mem, MEM_SIZE), 0);
	bus_init(&pio, "pio");
	bus_init(&mmio, "mmio");
	ck_assert_int_eq(pci_host_init(&host, &pio, &mmio, 0x400000000ULL, 1ULL << 34), 0);
	for (unsigned int q = 0; q < ARRAY_SIZE(ioev_fd); q++)
		ioev_fd[q] = -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.output = output;
	cfg.opaque = &c;
	for (unsigned int i = 0; i < VCON_MAX_PORTS; i++)
		cfg.port[i].in_fd = cfg.port[i].out_fd = -1;
	signal(SIGPIPE, SIG_IGN); /* as shmvm does: a gone reader is EPIPE */
}

static void teardown(void)
{
	if (created)
		vcon_destroy(&c);
	created = false;
	pci_host_destroy(&host);
	bus_destroy(&pio);
	bus_destroy(&mmio);
	mem_destroy(&mem);
}

/* Build the device with @cfg's ports and put it on the host (BAR assigned, decoded). */
static void start(unsigned int nr_ports)
{
	unsigned int slot;
	uint32_t b;

	cfg.nr_ports = nr_ports;
	nq = 2 * (nr_ports + 1);
	ck_assert_int_eq(vcon_create(&c, &cfg, &mem, &hv), 0);
	created = true;
	ck_assert_int_eq(pci_host_add(&host, &c.vp.pci, &slot), 0);
	pci_config_read(&c.vp.pci, 0x10, &b, 4);
	bar = b & ~15u;
	ck_assert_uint_ne(bar, 0);
	for (unsigned int q = 0; q < nq; q++)
		ck_assert_int_eq(ioev_fd[q], ioev_ok ? c.kick[q] : -1);
}

/* ---- the BAR, as a driver sees it ---- */

static void bar_w(uint64_t off, uint32_t len, uint32_t v)
{
	ck_assert(bus_write(&mmio, bar + off, &v, len)); /* little-endian host */
}

static uint32_t bar_r(uint64_t off, uint32_t len)
{
	uint32_t v = 0;

	ck_assert(bus_read(&mmio, bar + off, &v, len));
	return v;
}

static void common_w(uint64_t off, uint32_t len, uint32_t v)
{
	bar_w(VPCI_COMMON_OFF + off, len, v);
}

static uint32_t common_r(uint64_t off, uint32_t len)
{
	return bar_r(VPCI_COMMON_OFF + off, len);
}

static uint8_t status(void)
{
	return (uint8_t)common_r(VIRTIO_PCI_COMMON_STATUS, 1);
}

/* ---- the driver's rings ---- */

struct dq {
	uint64_t desc, avail, used;
	uint16_t next_desc, avail_idx, used_seen;
	uint64_t buf[QSZ]; /* head → the buffer behind it, for reading back */
};

static struct dq dqs[2 * (VCON_MAX_PORTS + 1)];
static uint64_t bump = BUFS_GPA;

static uint64_t alloc(uint64_t len)
{
	uint64_t at = bump;

	bump += (len + 63) & ~63ULL;
	ck_assert_uint_le(bump, MEM_SIZE);
	return at;
}

static struct vring_desc *desc_of(unsigned int q, uint16_t i)
{
	return (struct vring_desc *)hva(dqs[q].desc, 16ULL * QSZ) + i;
}

static struct vring_avail *avail_of(unsigned int q)
{
	return hva(dqs[q].avail, 6 + 2 * QSZ);
}

static struct vring_used *used_of(unsigned int q)
{
	return hva(dqs[q].used, 6 + 8 * QSZ);
}

static uint16_t used_idx(unsigned int q)
{
	return __atomic_load_n(&used_of(q)->idx, __ATOMIC_ACQUIRE);
}

static uint16_t used_flags(unsigned int q)
{
	return __atomic_load_n(&used_of(q)->flags, __ATOMIC_ACQUIRE);
}

/* Make head @head available on @q. */
static void publish(unsigned int q, uint16_t head)
{
	struct vring_avail *a = avail_of(q);

	a->ring[dqs[q].avail_idx % QSZ] = head;
	dqs[q].avail_idx++;
	__atomic_store_n(&a->idx, dqs[q].avail_idx, __ATOMIC_RELEASE);
}

struct seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* A chain of @n descriptors from the queue's table; returns its head (not yet published). */
static uint16_t chain(unsigned int q, const struct seg *s, unsigned int n)
{
	uint16_t head = dqs[q].next_desc % QSZ;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t d = (uint16_t)((head + i) % QSZ);

		*desc_of(q, d) = (struct vring_desc){
			.addr = s[i].gpa, .len = s[i].len,
			.flags = (uint16_t)((s[i].write ? VRING_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			.next = (uint16_t)((d + 1) % QSZ),
		};
	}
	dqs[q].next_desc = (uint16_t)(dqs[q].next_desc + n);
	dqs[q].buf[head] = s[0].gpa;
	return head;
}

static void kick(unsigned int q)
{
	uint64_t one = 1;

	if (ioev_ok)
		ck_assert_int_eq(write(ioev_fd[q], &one, 8), 8);
	else
		bar_w(VPCI_NOTIFY_OFF + q * VPCI_NOTIFY_MULT, 2, q);
}

/* Guest → device: @len bytes of @data in one readable buffer. */
static void post_out(unsigned int q, const void *data, uint32_t len)
{
	struct seg s = { alloc(len), len, false };

	memcpy(hva(s.gpa, len), data, len);
	publish(q, chain(q, &s, 1));
}

/* Device → guest: one writable buffer of @len bytes. */
static void post_in(unsigned int q, uint32_t len)
{
	struct seg s = { alloc(len), len, true };

	memset(hva(s.gpa, len), 0xee, len);
	publish(q, chain(q, &s, 1));
}

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void pause_ms(unsigned int ms)
{
	struct timespec t = { 0, (long)ms * 1000000 };

	nanosleep(&t, NULL);
}

/* Wait until @q's used index reaches @n (a hang becomes a failure). */
static void wait_used(unsigned int q, uint16_t n)
{
	uint64_t end = now_ms() + DEADLINE_MS;

	while ((uint16_t)(used_idx(q) - n) > 0x8000) {
		ck_assert_msg(now_ms() < end, "queue %u: used %u, want %u", q, used_idx(q), n);
		pause_ms(1);
	}
}

/*
 * The device is idle: nothing it watches is ready (no kick, wake, readable
 * input or writable output waiting), looked at with its lock held, so it
 * has finished every round that work could start.
 */
static bool device_idle(void)
{
	struct epoll_event ev;
	int n;

	pthread_mutex_lock(&c.lock);
	n = epoll_wait(c.epfd, &ev, 1, 0);
	pthread_mutex_unlock(&c.lock);
	return n == 0;
}

static void settle(void)
{
	uint64_t end = now_ms() + DEADLINE_MS;

	while (!device_idle()) {
		ck_assert_msg(now_ms() < end, "the device never goes idle");
		pause_ms(1);
	}
}

/* Used element @i (from 0) of @q. */
static struct vring_used_elem used_elem(unsigned int q, uint16_t i)
{
	return used_of(q)->ring[i % QSZ];
}

/* ---- the driver's set-up ---- */

/*
 * Negotiate (MULTIPORT, INDIRECT, VERSION_1), enable MSI-X with every vector
 * unmasked (queue q on vector q, config on the last), set every queue up in
 * RAM, DRIVER_OK. A non-zero @q0_desc puts queue 0's descriptor table there instead.
 */
static void driver_up_at(uint64_t q0_desc)
{
	const uint32_t go = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	uint16_t ctrl = MSIX_CTRL_ENABLE;

	memset(dqs, 0, sizeof(dqs));
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, go);
	common_w(VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	ck_assert_uint_eq(common_r(VIRTIO_PCI_COMMON_DF, 4), (1u << 1) | (1u << 28));
	common_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	common_w(VIRTIO_PCI_COMMON_GF, 4, (1u << 1) | (1u << 28));
	common_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	common_w(VIRTIO_PCI_COMMON_GF, 4, 1);
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, go | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert(status() & VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert_uint_eq(common_r(VIRTIO_PCI_COMMON_NUMQ, 2), nq);
	pci_config_write(&c.vp.pci, c.vp.msix_cap + 2u, &ctrl, 2);
	for (unsigned int v = 0; v <= nq; v++) {
		bar_w(VPCI_MSIX_TABLE_OFF + 16 * v, 4, 0xfee00000);
		bar_w(VPCI_MSIX_TABLE_OFF + 16 * v + 4, 4, 0);
		bar_w(VPCI_MSIX_TABLE_OFF + 16 * v + 8, 4, 0x40 + v);
		bar_w(VPCI_MSIX_TABLE_OFF + 16 * v + 12, 4, 0);
	}
	common_w(VIRTIO_PCI_COMMON_MSIX, 2, nq);
	for (unsigned int q = 0; q < nq; q++) {
		struct dq *d = &dqs[q];
		uint64_t base = RINGS_GPA + 0x1000ULL * q;

		d->desc = q == 0 && q0_desc ? q0_desc : base;
		d->avail = base + 0x400;
		d->used = base + 0x800;
		common_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		ck_assert_uint_eq(common_r(VIRTIO_PCI_COMMON_Q_SIZE, 2),
				  q == CTRL_RX || q == CTRL_TX ? 64 : 256);
		common_w(VIRTIO_PCI_COMMON_Q_SIZE, 2, QSZ);
		common_w(VIRTIO_PCI_COMMON_Q_MSIX, 2, q);
		ck_assert_uint_eq(common_r(VIRTIO_PCI_COMMON_Q_MSIX, 2), q);
		common_w(VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)d->desc);
		common_w(VIRTIO_PCI_COMMON_Q_DESCHI, 4, (uint32_t)(d->desc >> 32));
		common_w(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)d->avail);
		common_w(VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)d->used);
		memset(hva(base, 0x1000), 0, 0x1000);
		common_w(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, go | VIRTIO_CONFIG_S_FEATURES_OK |
					      VIRTIO_CONFIG_S_DRIVER_OK);
}

static void driver_up(void)
{
	driver_up_at(0);
	ck_assert(status() & VIRTIO_CONFIG_S_DRIVER_OK);
	ck_assert(!(status() & VIRTIO_CONFIG_S_NEEDS_RESET));
}

/* ---- the control queues ---- */

static void ctrl_send_raw(const void *m, uint32_t len)
{
	uint16_t before = used_idx(CTRL_TX);

	post_out(CTRL_TX, m, len);
	kick(CTRL_TX);
	wait_used(CTRL_TX, (uint16_t)(before + 1));
}

static void ctrl_send(uint32_t id, uint16_t event, uint16_t value)
{
	struct ctrl m = { id, event, value };

	ctrl_send_raw(&m, sizeof(m));
}

/* Give the device @n control rx buffers. */
static void ctrl_buffers(unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		post_in(CTRL_RX, 64);
	kick(CTRL_RX);
}

/* The next control message from the device; a PORT_NAME's name into @name. */
static struct ctrl ctrl_recv(char name[64])
{
	struct dq *d = &dqs[CTRL_RX];
	struct vring_used_elem u;
	struct ctrl m;
	const uint8_t *b;

	wait_used(CTRL_RX, (uint16_t)(d->used_seen + 1));
	u = used_elem(CTRL_RX, d->used_seen++);
	ck_assert_uint_lt(u.id, QSZ);
	ck_assert_uint_ge(u.len, sizeof(m));
	ck_assert_uint_le(u.len, 64);
	b = hva(d->buf[u.id], 64);
	memcpy(&m, b, sizeof(m));
	if (name) {
		memcpy(name, b + sizeof(m), u.len - sizeof(m));
		name[u.len - sizeof(m)] = 0;
	}
	if (m.event != PORT_NAME)
		ck_assert_uint_eq(u.len, sizeof(m));
	return m;
}

static void expect(uint32_t id, uint16_t event, uint16_t value)
{
	struct ctrl m = ctrl_recv(NULL);

	ck_assert_msg(m.id == id && m.event == event && m.value == value,
		      "control message (%u, %u, %u), want (%u, %u, %u)", m.id, m.event, m.value, id,
		      event, value);
}

/* No control message waiting: the device had its chance (idle) and sent none. */
static void expect_none(void)
{
	settle();
	ck_assert_uint_eq(used_idx(CTRL_RX), dqs[CTRL_RX].used_seen);
}

/* PORT_READY for @p and what must follow: the port announced, open, named (when it has a name). */
static void port_ready(unsigned int p)
{
	char name[64];
	struct ctrl m;

	ctrl_send(p, PORT_READY, 1);
	if (p == 0)
		expect(0, CONSOLE_PORT, 1);
	expect(p, PORT_OPEN, 1);
	if (cfg.port[p].name) {
		m = ctrl_recv(name);
		ck_assert_uint_eq(m.id, p);
		ck_assert_uint_eq(m.event, PORT_NAME);
		ck_assert_str_eq(name, cfg.port[p].name);
	}
}

/* The whole handshake: DEVICE_READY, one DEVICE_ADD per port, PORT_READY for each. */
static void handshake(void)
{
	ctrl_buffers(QSZ - 1);
	ctrl_send(0, DEVICE_READY, 1);
	for (unsigned int p = 0; p < cfg.nr_ports; p++)
		expect(p, DEVICE_ADD, 0);
	for (unsigned int p = 0; p < cfg.nr_ports; p++)
		port_ready(p);
	expect_none();
	/* Every buffer the device took came back with an interrupt on its vector. */
	ck_assert_uint_gt(msi_count(), 0);
}

/* A non-blocking pipe; fd[0] read end, fd[1] write end. */
static void mkpipe(int fd[2])
{
	ck_assert_int_eq(pipe2(fd, O_CLOEXEC | O_NONBLOCK), 0);
}

/* Read exactly @len bytes from non-blocking @fd (bounded wait). */
static void read_all(int fd, void *buf, size_t len)
{
	uint64_t end = now_ms() + DEADLINE_MS;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		ck_assert_msg(n < 0 && errno == EAGAIN, "read: %zd (%s)", n, strerror(errno));
		ck_assert_msg(now_ms() < end, "read %zu of %zu bytes", got, len);
		pause_ms(1);
	}
}

static int pipe_bytes(int fd)
{
	int n = -1;

	ck_assert_int_eq(ioctl(fd, FIONREAD, &n), 0);
	return n;
}

/* ======== 1. the handshake ======== */

START_TEST(handshake_announces_ports)
{
	cfg.port[1].name = "org.shmvm.one";
	cfg.port[2].name = "two";
	start(3);
	/* The device config says how many ports. */
	ck_assert_uint_eq(bar_r(VPCI_DEVICE_OFF + 4, 4), 3);
	driver_up();
	/* Nothing is announced before DEVICE_READY. */
	ctrl_buffers(QSZ - 1);
	expect_none();
	ctrl_send(0, DEVICE_READY, 1);
	expect(0, DEVICE_ADD, 0);
	expect(1, DEVICE_ADD, 0);
	expect(2, DEVICE_ADD, 0);
	expect_none();
	/* The console: CONSOLE_PORT, then open. */
	ctrl_send(0, PORT_READY, 1);
	expect(0, CONSOLE_PORT, 1);
	expect(0, PORT_OPEN, 1);
	expect_none();
	/* Named ports: opened, then named (the guest's init waits for the name). */
	port_ready(2);
	port_ready(1);
	expect_none();
	/* A second PORT_READY for a port is not answered again; a failed one neither. */
	ctrl_send(1, PORT_READY, 1);
	ctrl_send(1, PORT_READY, 0);
	expect_none();
	ck_assert_uint_eq(vcon_counters(&c).bad, 0);
	ck_assert_uint_gt(msi_count(), 0);
	ck_assert_uint_eq(vcon_counters(&c).interrupts, msi_count());
}
END_TEST

/* A driver that does not take MULTIPORT is refused at FEATURES_OK. */
START_TEST(multiport_required)
{
	const uint32_t go = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	start(1);
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, go);
	common_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	common_w(VIRTIO_PCI_COMMON_GF, 4, 1);
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, go | VIRTIO_CONFIG_S_FEATURES_OK);
	ck_assert(!(status() & VIRTIO_CONFIG_S_FEATURES_OK));
}
END_TEST

/* ======== 2-3. guest → host on a descriptor ======== */

/* Bytes in a chain of three buffers, then in an indirect table, reach the pipe in order. */
START_TEST(guest_to_pipe)
{
	static const char want[] = "abcdefghijklmnopqrstuvwxyz";
	int fd[2];
	char got[sizeof(want)] = { 0 };
	struct seg s[3];
	struct vring_desc *ind;
	uint64_t t;
	unsigned long before;

	ioev_ok = _i; /* kicks by ioeventfd, or through the notify register */
	mkpipe(fd);
	cfg.port[1].out_fd = fd[1];
	cfg.port[1].name = "out";
	start(2);
	driver_up();
	handshake();
	before = msi_count();
	/* "abc" "defg" "hij" as one chain. */
	s[0] = (struct seg){ alloc(3), 3, false };
	s[1] = (struct seg){ alloc(4), 4, false };
	s[2] = (struct seg){ alloc(3), 3, false };
	memcpy(hva(s[0].gpa, 3), "abc", 3);
	memcpy(hva(s[1].gpa, 4), "defg", 4);
	memcpy(hva(s[2].gpa, 3), "hij", 3);
	publish(txq(1), chain(txq(1), s, 3));
	/* "klmnopq" "rstuvwxyz" in an indirect table of two. */
	t = alloc(2 * sizeof(*ind));
	ind = hva(t, 2 * sizeof(*ind));
	ind[0] = (struct vring_desc){ alloc(7), 7, VRING_DESC_F_NEXT, 1 };
	ind[1] = (struct vring_desc){ alloc(9), 9, 0, 0 };
	memcpy(hva(ind[0].addr, 7), "klmnopq", 7);
	memcpy(hva(ind[1].addr, 9), "rstuvwxyz", 9);
	s[0] = (struct seg){ t, 2 * sizeof(*ind), false };
	{
		uint16_t h = chain(txq(1), s, 1);

		desc_of(txq(1), h)->flags = VRING_DESC_F_INDIRECT;
		publish(txq(1), h);
	}
	kick(txq(1));
	wait_used(txq(1), 2);
	read_all(fd[0], got, sizeof(want) - 1);
	ck_assert_str_eq(got, want);
	ck_assert_uint_eq(used_elem(txq(1), 0).len, 0);
	ck_assert_uint_eq(used_elem(txq(1), 1).len, 0);
	settle();
	ck_assert_uint_gt(msi_count(), before);
	ck_assert_uint_eq(vcon_counters(&c).bytes_out, sizeof(want) - 1);
	ck_assert_uint_eq(vcon_counters(&c).bad, 0);
	ck_assert_uint_ge(vcon_counters(&c).kicks, 1);
	ck_assert_int_eq(pipe_bytes(fd[0]), 0);
	close(fd[0]);
	close(fd[1]);
}
END_TEST

/*
 * A pipe of one page nobody reads: the device writes what fits, stops
 * asking for kicks (VRING_USED_F_NO_NOTIFY) and holds the rest; reading
 * the pipe lets it finish, every byte in order.
 */
START_TEST(backpressure)
{
	enum { N = 6, LEN = 3000 };
	static uint8_t want[N * LEN], got[N * LEN];
	int fd[2];
	uint64_t end;

	mkpipe(fd);
	ck_assert_int_ge(fcntl(fd[1], F_SETPIPE_SZ, 4096), 4096);
	cfg.port[1].out_fd = fd[1];
	start(2);
	driver_up();
	handshake();
	for (unsigned int i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i * 7 + i / 251);
	for (unsigned int i = 0; i < N; i++)
		post_out(txq(1), want + i * LEN, LEN);
	kick(txq(1));
	end = now_ms() + DEADLINE_MS;
	while (!(used_flags(txq(1)) & VRING_USED_F_NO_NOTIFY)) {
		ck_assert_msg(now_ms() < end, "the device never stops the kicks");
		pause_ms(1);
	}
	settle();
	ck_assert_uint_lt(used_idx(txq(1)), N);
	ck_assert_int_gt(pipe_bytes(fd[0]), 0);
	ck_assert_uint_eq(vcon_counters(&c).bytes_out, (uint64_t)pipe_bytes(fd[0]));
	/* The reader comes back: everything arrives, in order, and kicks are wanted again. */
	read_all(fd[0], got, sizeof(got));
	ck_assert(!memcmp(got, want, sizeof(want)));
	wait_used(txq(1), N);
	settle();
	ck_assert(!(used_flags(txq(1)) & VRING_USED_F_NO_NOTIFY));
	ck_assert_int_eq(pipe_bytes(fd[0]), 0);
	ck_assert_uint_eq(vcon_counters(&c).bytes_out, sizeof(want));
	close(fd[0]);
	close(fd[1]);
}
END_TEST

/*
 * The reader went away (EPIPE): what the guest writes is dropped (its
 * buffers still come back) and the port is closed to the guest, PORT_OPEN
 * 0 (docs/design.md: the init then closes the command's pipe); the other
 * ports go on.
 */
START_TEST(reader_gone)
{
	int fd[2], fd2[2];
	char got[3];

	mkpipe(fd);
	mkpipe(fd2);
	cfg.port[1].out_fd = fd[1];
	cfg.port[2].out_fd = fd2[1];
	start(3);
	driver_up();
	handshake();
	close(fd[0]);
	post_out(txq(1), "lost", 4);
	kick(txq(1));
	wait_used(txq(1), 1);
	expect(1, PORT_OPEN, 0);
	post_out(txq(1), "more", 4);
	kick(txq(1));
	wait_used(txq(1), 2);
	expect_none(); /* said once */
	ck_assert_uint_eq(vcon_counters(&c).bytes_out, 0);
	post_out(txq(2), "yes", 3);
	kick(txq(2));
	wait_used(txq(2), 1);
	read_all(fd2[0], got, 3);
	ck_assert(!memcmp(got, "yes", 3));
	close(fd[1]);
	close(fd2[0]);
	close(fd2[1]);
}
END_TEST

/* ======== 4. guest → host through the callback ======== */

START_TEST(console_to_callback)
{
	struct seg s[2];

	start(3);
	driver_up();
	handshake();
	s[0] = (struct seg){ alloc(6), 6, false };
	s[1] = (struct seg){ alloc(7), 7, false };
	memcpy(hva(s[0].gpa, 6), "hello,", 6);
	memcpy(hva(s[1].gpa, 7), " world\n", 7);
	publish(txq(0), chain(txq(0), s, 2));
	kick(txq(0));
	wait_used(txq(0), 1);
	pthread_mutex_lock(&out_lock);
	ck_assert_uint_eq(out_port, 0);
	ck_assert_uint_eq(out_len, 13);
	ck_assert(!memcmp(out_buf, "hello, world\n", 13));
	out_len = 0;
	pthread_mutex_unlock(&out_lock);
	ck_assert_uint_eq(used_elem(txq(0), 0).len, 0);
	/* A port with no descriptor uses the callback too, with its own number. */
	post_out(txq(2), "two", 3);
	kick(txq(2));
	wait_used(txq(2), 1);
	pthread_mutex_lock(&out_lock);
	ck_assert_uint_eq(out_port, 2);
	ck_assert_uint_eq(out_len, 3);
	ck_assert(!memcmp(out_buf, "two", 3));
	pthread_mutex_unlock(&out_lock);
	ck_assert_uint_eq(vcon_counters(&c).bytes_out, 16);
}
END_TEST

/* ======== 5-6. host → guest ======== */

/* The bytes of used element @i of @q: its length and the buffer's start. */
static const char *rx_data(unsigned int q, uint16_t i, uint32_t *len)
{
	struct vring_used_elem u = used_elem(q, i);

	*len = u.len;
	return hva(dqs[q].buf[u.id], u.len ? u.len : 1);
}

/*
 * Nothing is read while no guest program has the port open; then bytes
 * land in the rx buffers with their used length; at EOF the port closes
 * (PORT_OPEN 0), after the data.
 */
START_TEST(pipe_to_guest)
{
	int fd[2];
	uint32_t len;
	const char *p;

	mkpipe(fd);
	cfg.port[1].in_fd = fd[0];
	cfg.port[1].name = "in";
	start(2);
	driver_up();
	handshake();
	ck_assert_int_eq(write(fd[1], "hello", 5), 5);
	for (int i = 0; i < 4; i++) /* three for the data, one to see the EOF in */
		post_in(rxq(1), 16);
	kick(rxq(1));
	settle();
	ck_assert_uint_eq(used_idx(rxq(1)), 0);
	ck_assert_int_eq(pipe_bytes(fd[0]), 5);
	/* A program opens the port. */
	ctrl_send(1, PORT_OPEN, 1);
	wait_used(rxq(1), 1);
	p = rx_data(rxq(1), 0, &len);
	ck_assert_uint_eq(len, 5);
	ck_assert(!memcmp(p, "hello", 5));
	/* More comes while the device waits on the pipe. */
	settle();
	ck_assert_int_eq(write(fd[1], "world!", 6), 6);
	wait_used(rxq(1), 2);
	p = rx_data(rxq(1), 1, &len);
	ck_assert_uint_eq(len, 6);
	ck_assert(!memcmp(p, "world!", 6));
	expect_none();
	/* The last bytes and EOF: the data first, then the port closes. */
	ck_assert_int_eq(write(fd[1], "end", 3), 3);
	close(fd[1]);
	expect(1, PORT_OPEN, 0);
	ck_assert_uint_eq(used_idx(rxq(1)), 3);
	p = rx_data(rxq(1), 2, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert(!memcmp(p, "end", 3));
	expect_none();
	ck_assert_uint_eq(vcon_counters(&c).bytes_in, 14);
	close(fd[0]);
}
END_TEST

/* One read fills a chain of writable buffers; the used length is what was read. */
START_TEST(pipe_into_a_chain)
{
	int fd[2];
	struct seg s[2];
	uint16_t h;

	mkpipe(fd);
	cfg.port[1].in_fd = fd[0];
	start(2);
	driver_up();
	handshake();
	ctrl_send(1, PORT_OPEN, 1);
	s[0] = (struct seg){ alloc(3), 3, true };
	s[1] = (struct seg){ alloc(10), 10, true };
	h = chain(rxq(1), s, 2);
	publish(rxq(1), h);
	kick(rxq(1));
	ck_assert_int_eq(write(fd[1], "12345678", 8), 8);
	wait_used(rxq(1), 1);
	ck_assert_uint_eq(used_elem(rxq(1), 0).id, h);
	ck_assert_uint_eq(used_elem(rxq(1), 0).len, 8);
	ck_assert(!memcmp(hva(s[0].gpa, 3), "123", 3));
	ck_assert(!memcmp(hva(s[1].gpa, 5), "45678", 5));
	close(fd[0]);
	close(fd[1]);
}
END_TEST

/*
 * A port the guest closed (PORT_OPEN 0) while the device held one of its
 * buffers, waiting on the pipe: bytes that come then must not wake the
 * device again and again (it would spin), and are delivered once the port
 * is opened again.
 */
START_TEST(closed_port_waits_quietly)
{
	int fd[2];
	uint32_t len;

	mkpipe(fd);
	cfg.port[1].in_fd = fd[0];
	start(2);
	driver_up();
	handshake();
	ctrl_send(1, PORT_OPEN, 1);
	post_in(rxq(1), 16);
	kick(rxq(1));
	settle(); /* holds the buffer, waits for the pipe */
	ctrl_send(1, PORT_OPEN, 0);
	settle();
	ck_assert_int_eq(write(fd[1], "later", 5), 5);
	/* Were the pipe still in the device's epoll set, it would be ready now. */
	ck_assert_msg(device_idle(), "the device is woken by a port no program has open");
	ck_assert_uint_eq(used_idx(rxq(1)), 0);
	ctrl_send(1, PORT_OPEN, 1);
	wait_used(rxq(1), 1);
	ck_assert(!memcmp(rx_data(rxq(1), 0, &len), "later", 5));
	ck_assert_uint_eq(len, 5);
	close(fd[0]);
	close(fd[1]);
}
END_TEST

/* A regular file (epoll refuses it) is read as always ready, to its end. */
START_TEST(file_to_guest)
{
	enum { LEN = 10000 };
	static char want[LEN];
	char path[] = "/tmp/test_virtio_console-XXXXXX";
	int fd = mkstemp(path);
	uint32_t total = 0;

	ck_assert_int_ge(fd, 0);
	unlink(path);
	for (int i = 0; i < LEN; i++)
		want[i] = (char)('a' + i % 26);
	ck_assert_int_eq(write(fd, want, LEN), LEN);
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	cfg.port[1].in_fd = fd;
	start(2);
	driver_up();
	handshake();
	for (int i = 0; i < 4; i++)
		post_in(rxq(1), 4096);
	kick(rxq(1));
	ctrl_send(1, PORT_OPEN, 1);
	expect(1, PORT_OPEN, 0);
	wait_used(rxq(1), 3);
	for (uint16_t i = 0; i < 3; i++) {
		uint32_t len;
		const char *p = rx_data(rxq(1), i, &len);

		ck_assert_uint_eq(len, i < 2 ? 4096 : LEN - 8192);
		ck_assert(!memcmp(p, want + total, len));
		total += len;
	}
	ck_assert_uint_eq(total, LEN);
	settle();
	ck_assert_uint_eq(used_idx(rxq(1)), 3); /* the fourth buffer stays with the device */
	close(fd);
}
END_TEST

/* /dev/null: EOF at once, the port closed, no data. */
START_TEST(dev_null_to_guest)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	cfg.port[0].in_fd = fd;
	cfg.port[1].in_fd = fd;
	start(2);
	driver_up();
	ctrl_buffers(QSZ - 1);
	post_in(rxq(0), 16);
	post_in(rxq(1), 16);
	kick(rxq(0));
	kick(rxq(1));
	ctrl_send(0, DEVICE_READY, 1);
	expect(0, DEVICE_ADD, 0);
	expect(1, DEVICE_ADD, 0);
	/* The console is open from the start: its EOF follows its announcement. */
	ctrl_send(0, PORT_READY, 1);
	expect(0, CONSOLE_PORT, 1);
	expect(0, PORT_OPEN, 1);
	expect(0, PORT_OPEN, 0);
	port_ready(1);
	expect_none();
	ctrl_send(1, PORT_OPEN, 1);
	expect(1, PORT_OPEN, 0);
	expect_none();
	ck_assert_uint_eq(used_idx(rxq(0)), 0);
	ck_assert_uint_eq(used_idx(rxq(1)), 0);
	ck_assert_uint_eq(vcon_counters(&c).bytes_in, 0);
	close(fd);
}
END_TEST

/* ======== 7. a hostile driver ======== */

static uint64_t bad(void)
{
	return vcon_counters(&c).bad;
}

/* After whatever a test did, port 2 (the callback) still carries bytes. */
static void port2_still_works(void)
{
	uint16_t n = used_idx(txq(2));

	pthread_mutex_lock(&out_lock);
	out_len = 0;
	pthread_mutex_unlock(&out_lock);
	post_out(txq(2), "alive", 5);
	kick(txq(2));
	wait_used(txq(2), (uint16_t)(n + 1));
	pthread_mutex_lock(&out_lock);
	ck_assert_uint_eq(out_port, 2);
	ck_assert_uint_eq(out_len, 5);
	ck_assert(!memcmp(out_buf, "alive", 5));
	pthread_mutex_unlock(&out_lock);
}

static void hostile_setup(void)
{
	setup();
	start(3);
	driver_up();
	handshake();
}

START_TEST(short_control_message)
{
	struct ctrl m = { 1, PORT_OPEN, 1 };

	ctrl_send_raw(&m, 7);
	ctrl_send_raw(&m, 0 + 1);
	ck_assert_uint_eq(bad(), 2);
	ck_assert_uint_eq(used_elem(CTRL_TX, (uint16_t)(used_idx(CTRL_TX) - 1)).len, 0);
	expect_none();
	port2_still_works();
	/* The control queue still takes whole ones. */
	ctrl_send(1, DEVICE_READY, 1);
	expect(0, DEVICE_ADD, 0);
	expect(1, DEVICE_ADD, 0);
	expect(2, DEVICE_ADD, 0);
}
END_TEST

/* A control message split over two readable buffers is whole. */
START_TEST(control_message_in_two_buffers)
{
	struct ctrl m = { 7, DEVICE_READY, 1 };
	struct seg s[2] = { { alloc(3), 3, false }, { alloc(5), 5, false } };

	memcpy(hva(s[0].gpa, 3), &m, 3);
	memcpy(hva(s[1].gpa, 5), (char *)&m + 3, 5);
	publish(CTRL_TX, chain(CTRL_TX, s, 2));
	kick(CTRL_TX);
	expect(0, DEVICE_ADD, 0);
	expect(1, DEVICE_ADD, 0);
	expect(2, DEVICE_ADD, 0);
	ck_assert_uint_eq(bad(), 0);
}
END_TEST

START_TEST(port_out_of_range)
{
	ctrl_send(3, PORT_READY, 1);
	ctrl_send(VCON_MAX_PORTS, PORT_OPEN, 1);
	ctrl_send(0xffffffff, PORT_OPEN, 1);
	ck_assert_uint_eq(bad(), 3);
	expect_none();
	port2_still_works();
}
END_TEST

START_TEST(unknown_event)
{
	ctrl_send(1, 99, 1);
	ctrl_send(1, DEVICE_ADD, 0); /* the device's to send, not the driver's */
	ctrl_send(1, 0xffff, 0xffff);
	ck_assert_uint_eq(bad(), 3);
	expect_none();
	port2_still_works();
}
END_TEST

/*
 * A descriptor outside RAM breaks its queue only. (bad counts every round
 * that finds a queue broken, not each queue once: only "it grew" is checked.)
 */
START_TEST(descriptor_outside_ram)
{
	struct seg s = { FAR_GPA, 16, false };
	struct seg edge = { MEM_SIZE - 8, 16, false }; /* starts in RAM, ends past it */

	uint64_t before;

	publish(txq(1), chain(txq(1), &s, 1));
	kick(txq(1));
	settle();
	ck_assert_uint_ge(bad(), 1);
	ck_assert_uint_eq(used_idx(txq(1)), 0);
	before = bad();
	publish(txq(0), chain(txq(0), &edge, 1));
	kick(txq(0));
	settle();
	ck_assert_uint_gt(bad(), before);
	ck_assert_uint_eq(used_idx(txq(0)), 0);
	port2_still_works();
	ctrl_send(1, PORT_READY, 1); /* the control queue too (an answer: none, already ready) */
	expect_none();
}
END_TEST

/* An indirect table outside RAM, and a descriptor index past the queue, the same. */
START_TEST(bad_indirect_and_index)
{
	struct seg s = { FAR_GPA, 32, false };
	uint16_t h = chain(txq(1), &s, 1);
	struct vring_avail *a;
	uint64_t before;

	desc_of(txq(1), h)->flags = VRING_DESC_F_INDIRECT;
	publish(txq(1), h);
	kick(txq(1));
	settle();
	ck_assert_uint_ge(bad(), 1);
	before = bad();
	a = avail_of(txq(0));
	a->ring[0] = QSZ + 3;
	__atomic_store_n(&a->idx, 1, __ATOMIC_RELEASE);
	kick(txq(0));
	settle();
	ck_assert_uint_gt(bad(), before);
	ck_assert_uint_eq(used_idx(txq(0)), 0);
	port2_still_works();
}
END_TEST

/* An avail index that jumps by more than the queue size. */
START_TEST(avail_jump)
{
	struct vring_avail *a = avail_of(txq(1));
	uint64_t before;

	__atomic_store_n(&a->idx, QSZ + 1, __ATOMIC_RELEASE);
	kick(txq(1));
	settle();
	ck_assert_uint_ge(bad(), 1);
	ck_assert_uint_eq(used_idx(txq(1)), 0);
	/* On the control tx queue: the driver's control messages are no more heard. */
	before = bad();
	a = avail_of(CTRL_TX);
	__atomic_store_n(&a->idx, (uint16_t)(dqs[CTRL_TX].avail_idx + 2 * QSZ), __ATOMIC_RELEASE);
	kick(CTRL_TX);
	settle();
	ck_assert_uint_gt(bad(), before);
	port2_still_works();
}
END_TEST

/*
 * A driver that never gives control rx buffers: the device's outbox (64
 * messages) fills, the rest is counted and dropped; what was kept comes
 * once buffers do.
 */
START_TEST(control_messages_nobody_takes)
{
	start(3);
	driver_up();
	for (int i = 0; i < 21; i++) /* 63 DEVICE_ADDs */
		ctrl_send(0, DEVICE_READY, 1);
	ck_assert_uint_eq(bad(), 0);
	ctrl_send(0, DEVICE_READY, 1);
	ck_assert_uint_eq(bad(), 2);
	ctrl_buffers(QSZ - 1);
	for (int i = 0; i < QSZ - 1; i++)
		expect((uint32_t)i % 3, DEVICE_ADD, 0);
	port2_still_works();
}
END_TEST

/* Rings outside RAM at DRIVER_OK: DEVICE_NEEDS_RESET; after a reset it sets up again. */
START_TEST(rings_outside_ram)
{
	start(2);
	driver_up_at(FAR_GPA);
	ck_assert(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	driver_up_at(RINGS_GPA + 8); /* in RAM, misaligned */
	ck_assert(status() & VIRTIO_CONFIG_S_NEEDS_RESET);
	driver_up();
	handshake();
}
END_TEST

/* ======== 8. reset ======== */

/*
 * Reset forgets the rings, the driver's readiness, the ports' state and
 * held buffers; the next driver sets up and handshakes from scratch.
 */
START_TEST(reset_forgets_everything)
{
	int fd[2];
	uint32_t len;

	mkpipe(fd);
	cfg.port[1].in_fd = fd[0];
	cfg.port[1].name = "in";
	start(2);
	driver_up();
	handshake();
	ctrl_send(1, PORT_OPEN, 1);
	post_in(rxq(1), 16);
	kick(rxq(1));
	settle(); /* holds the buffer, the pipe armed */
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	ck_assert_uint_eq(status(), 0);
	settle();
	/* A write now finds no ring: nothing happens, nothing is read. */
	ck_assert_int_eq(write(fd[1], "after", 5), 5);
	pause_ms(20);
	ck_assert(device_idle());
	ck_assert_int_eq(pipe_bytes(fd[0]), 5);
	/* A new driver: new rings, nothing announced before DEVICE_READY, a full handshake. */
	driver_up();
	ctrl_buffers(QSZ - 1);
	expect_none();
	ctrl_send(0, DEVICE_READY, 1);
	expect(0, DEVICE_ADD, 0);
	expect(1, DEVICE_ADD, 0);
	port_ready(0);
	port_ready(1);
	/* The port is closed again until the new driver opens it. */
	post_in(rxq(1), 16);
	kick(rxq(1));
	expect_none();
	ck_assert_uint_eq(used_idx(rxq(1)), 0);
	ctrl_send(1, PORT_OPEN, 1);
	wait_used(rxq(1), 1);
	ck_assert(!memcmp(rx_data(rxq(1), 0, &len), "after", 5));
	ck_assert_uint_eq(len, 5);
	ck_assert_uint_eq(vcon_counters(&c).bad, 0);
	close(fd[0]);
	close(fd[1]);
}
END_TEST

/* A port whose input ended before a reset is still closed for the next driver. */
START_TEST(reset_after_eof)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	cfg.port[1].in_fd = fd;
	start(2);
	driver_up();
	handshake();
	post_in(rxq(1), 16); /* EOF is a read of 0 bytes: into a buffer */
	kick(rxq(1));
	ctrl_send(1, PORT_OPEN, 1);
	expect(1, PORT_OPEN, 0);
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	driver_up();
	ctrl_buffers(QSZ - 1);
	ctrl_send(0, DEVICE_READY, 1);
	expect(0, DEVICE_ADD, 0);
	expect(1, DEVICE_ADD, 0);
	port_ready(0);
	port_ready(1);
	expect(1, PORT_OPEN, 0);
	expect_none();
	close(fd);
}
END_TEST

/* A port whose reader went away before a reset is closed again for the next driver. */
START_TEST(reset_after_reader_gone)
{
	int fd[2];

	mkpipe(fd);
	cfg.port[1].out_fd = fd[1];
	cfg.port[1].name = "gone";
	start(2);
	driver_up();
	handshake();
	close(fd[0]);
	post_out(txq(1), "x", 1);
	kick(txq(1));
	expect(1, PORT_OPEN, 0);
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	driver_up();
	ctrl_buffers(QSZ - 1);
	ctrl_send(0, DEVICE_READY, 1);
	expect(0, DEVICE_ADD, 0);
	expect(1, DEVICE_ADD, 0);
	port_ready(0);
	port_ready(1);
	expect(1, PORT_OPEN, 0);
	expect_none();
	close(fd[1]);
}
END_TEST

/* ======== 9. vcon_when_drained ======== */

static int drained_calls;
static uint64_t drained_bytes_out; /* the device's count when it called */

static void on_drained(void *opaque)
{
	ck_assert_ptr_eq(opaque, &c);
	drained_bytes_out = c.count.bytes_out; /* on the device's thread, its lock held */
	__atomic_fetch_add(&drained_calls, 1, __ATOMIC_SEQ_CST);
}

static void wait_drained(int n)
{
	uint64_t end = now_ms() + DEADLINE_MS;

	while (__atomic_load_n(&drained_calls, __ATOMIC_SEQ_CST) < n) {
		ck_assert_msg(now_ms() < end, "never drained");
		pause_ms(1);
	}
}

START_TEST(drained_before_driver_ok)
{
	start(2);
	vcon_when_drained(&c, on_drained, &c);
	wait_drained(1);
	settle();
	ck_assert_int_eq(drained_calls, 1); /* once */
}
END_TEST

START_TEST(drained_with_nothing_pending)
{
	start(2);
	driver_up();
	handshake();
	vcon_when_drained(&c, on_drained, &c);
	wait_drained(1);
}
END_TEST

/* Output held by a full pipe: the call comes only once the pipe has had every byte. */
START_TEST(drained_after_the_pipe_has_all)
{
	enum { N = 4, LEN = 4096 };
	static uint8_t want[N * LEN], got[N * LEN];
	int fd[2];

	mkpipe(fd);
	ck_assert_int_ge(fcntl(fd[1], F_SETPIPE_SZ, 4096), 4096);
	cfg.port[1].out_fd = fd[1];
	start(2);
	driver_up();
	handshake();
	memset(want, 'x', sizeof(want));
	for (unsigned int i = 0; i < N; i++)
		post_out(txq(1), want + i * LEN, LEN);
	/* Not kicked: the call's wake-up alone has the device look at every ring. */
	vcon_when_drained(&c, on_drained, &c);
	settle();
	ck_assert_int_eq(drained_calls, 0);
	kick(txq(1));
	settle();
	ck_assert_int_eq(drained_calls, 0);
	ck_assert_uint_lt(used_idx(txq(1)), N);
	read_all(fd[0], got, sizeof(got));
	wait_drained(1);
	ck_assert_uint_eq(drained_bytes_out, sizeof(want));
	ck_assert(!memcmp(got, want, sizeof(want)));
	settle();
	ck_assert_int_eq(drained_calls, 1);
	close(fd[0]);
	close(fd[1]);
}
END_TEST

/* After a reset the rings are gone: nothing is pending. */
START_TEST(drained_after_reset)
{
	start(2);
	driver_up();
	handshake();
	post_out(txq(0), "never", 5); /* not kicked, then reset */
	common_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	vcon_when_drained(&c, on_drained, &c);
	wait_drained(1);
}
END_TEST

static Suite *virtio_console_suite(void)
{
	Suite *s = suite_create("virtio_console");
	TCase *tc;

	tc = tcase_create("handshake");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, handshake_announces_ports);
	tcase_add_test(tc, multiport_required);
	suite_add_tcase(s, tc);

	tc = tcase_create("output_fd");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, guest_to_pipe, 0, 2);
	tcase_add_test(tc, backpressure);
	tcase_add_test(tc, reader_gone);
	suite_add_tcase(s, tc);

	tc = tcase_create("output_callback");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, console_to_callback);
	suite_add_tcase(s, tc);

	tc = tcase_create("input");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, pipe_to_guest);
	tcase_add_test(tc, pipe_into_a_chain);
	tcase_add_test(tc, closed_port_waits_quietly);
	tcase_add_test(tc, file_to_guest);
	tcase_add_test(tc, dev_null_to_guest);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile_driver");
	tcase_add_checked_fixture(tc, hostile_setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, short_control_message);
	tcase_add_test(tc, control_message_in_two_buffers);
	tcase_add_test(tc, port_out_of_range);
	tcase_add_test(tc, unknown_event);
	tcase_add_test(tc, descriptor_outside_ram);
	tcase_add_test(tc, bad_indirect_and_index);
	tcase_add_test(tc, avail_jump);
	suite_add_tcase(s, tc);

	tc = tcase_create("hostile_setup");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, rings_outside_ram);
	tcase_add_test(tc, control_messages_nobody_takes);
	suite_add_tcase(s, tc);

	tc = tcase_create("reset");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, reset_forgets_everything);
	tcase_add_test(tc, reset_after_eof);
	tcase_add_test(tc, reset_after_reader_gone);
	suite_add_tcase(s, tc);

	tc = tcase_create("when_drained");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, drained_before_driver_ok);
	tcase_add_test(tc, drained_with_nothing_pending);
	tcase_add_test(tc, drained_after_the_pipe_has_all);
	tcase_add_test(tc, drained_after_reset);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(virtio_console_suite)
