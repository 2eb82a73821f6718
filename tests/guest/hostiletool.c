// SPDX-License-Identifier: GPL-2.0-only
/*
 * hostiletool: a guest that programs nonsense into shmvm's virtio-pci
 * functions (tests/guest/steps/hostile, judged by tests/boot/hostile-guest.sh).
 * Runs as root and goes around the kernel: config space through
 * /sys/bus/pci/devices/BDF/config, BAR 0 through resource0, addresses the
 * kernel does not know (a BAR it did not place) through /dev/mem.
 *
 *   hostiletool ATTACK A B MNT
 *
 * A is the virtio-fs function the driver drives, with the DAX mount MNT;
 * B is a second virtio-fs function whose driver the step unbound. ATTACK is
 * one of bar-ram, bar-overlap, notify, rings, shm-move, msix-masked, reset,
 * msix-junk. What the
 * guest can see of the result is printed as "SHMVM-HOSTILE-CHECK NAME ok" or
 * "... bad WHY" (the host fails on "bad"), what is only informative as
 * "SHMVM-HOSTILE-NOTE ...". Every access that may fault runs in a child, so a
 * SIGBUS here is a note, not the end of the attack. Exit status 0 unless the
 * tool itself could not do what it was asked (then "SHMVM-HOSTILE-FAIL").
 *
 * The BAR 0 layout is shmvm's (pci/virtio_pci.h); the common configuration
 * offsets are the virtio spec's (4.1.4.3).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* shmvm's BAR 0 (pci/virtio_pci.h). */
#define BAR0_SIZE 0x8000
#define NOTIFY_OFF 0x3000
#define NOTIFY_MULT 4
#define MSIX_TABLE_OFF 0x4000
#define MSIX_PBA_OFF 0x6000

/* virtio_pci_common_cfg. */
#define C_DFSELECT 0x00
#define C_DF 0x04
#define C_GFSELECT 0x08
#define C_GF 0x0c
#define C_MSIX 0x10
#define C_NUMQ 0x12
#define C_STATUS 0x14
#define C_QSELECT 0x16
#define C_QSIZE 0x18
#define C_QMSIX 0x1a
#define C_QENABLE 0x1c
#define C_QDESC 0x20
#define C_QAVAIL 0x28
#define C_QUSED 0x30

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4

static const char *attack;
static int failed;

static void check(const char *name, int ok, const char *why)
{
	printf("SHMVM-HOSTILE-CHECK %s %s%s%s\n", name, ok ? "ok" : "bad", ok ? "" : " ", ok ? "" : why);
	fflush(stdout);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	printf("SHMVM-HOSTILE-NOTE %s ", attack);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static int fail(const char *what)
{
	printf("SHMVM-HOSTILE-FAIL %s: %s: %s\n", attack, what, strerror(errno));
	fflush(stdout);
	failed = 1;
	return 1;
}

/* ---- a function: its config space and BAR 0 ---- */

struct fn {
	const char *bdf;
	int cfg;               /* /sys/.../config */
	volatile uint8_t *bar; /* resource0: where the kernel placed BAR 0 */
	uint64_t bar0, bar2;   /* as found at start */
	uint8_t msix_cap;
};

static uint32_t cfg_r(struct fn *f, unsigned int off, unsigned int len)
{
	uint32_t v = 0;

	if (pread(f->cfg, &v, len, off) != (ssize_t)len)
		fail("config read");
	return v;
}

static void cfg_w(struct fn *f, unsigned int off, unsigned int len, uint32_t v)
{
	if (pwrite(f->cfg, &v, len, off) != (ssize_t)len)
		fail("config write");
}

static uint64_t bar_get(struct fn *f, int bar)
{
	uint64_t v = cfg_r(f, 0x10 + 4 * bar, 4);

	if ((v & 6) == 4) /* 64-bit */
		v |= (uint64_t)cfg_r(f, 0x14 + 4 * bar, 4) << 32;
	return v & ~15ULL;
}

/* Program BAR @bar with decoding left on: every half-written address is live too. */
static void bar_set(struct fn *f, int bar, uint64_t addr)
{
	uint32_t lo = cfg_r(f, 0x10 + 4 * bar, 4);

	cfg_w(f, 0x10 + 4 * bar, 4, (uint32_t)addr | (lo & 15));
	if ((lo & 6) == 4)
		cfg_w(f, 0x14 + 4 * bar, 4, (uint32_t)(addr >> 32));
}

static int fn_open(struct fn *f, const char *bdf)
{
	char path[128];
	int fd;
	void *p;

	memset(f, 0, sizeof(*f));
	f->bdf = bdf;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	f->cfg = open(path, O_RDWR);
	if (f->cfg < 0)
		return fail(path);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0)
		return fail(path);
	p = mmap(NULL, BAR0_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail("mmap resource0");
	f->bar = p;
	f->bar0 = bar_get(f, 0);
	f->bar2 = bar_get(f, 2);
	/* Walk the capability list for MSI-X (id 0x11). */
	for (unsigned int c = cfg_r(f, 0x34, 1), n = 0; c && n < 48; c = cfg_r(f, c + 1, 1), n++)
		if (cfg_r(f, c, 1) == 0x11)
			f->msix_cap = (uint8_t)c;
	/* Decoding on, whatever the driver (or its unbinding) left. */
	cfg_w(f, PCI_COMMAND, 2, cfg_r(f, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	return failed;
}

static uint32_t r32(volatile uint8_t *b, unsigned int off)
{
	return *(volatile uint32_t *)(b + off);
}

static uint16_t r16(volatile uint8_t *b, unsigned int off)
{
	return *(volatile uint16_t *)(b + off);
}

static void w32(volatile uint8_t *b, unsigned int off, uint32_t v)
{
	*(volatile uint32_t *)(b + off) = v;
}

static void w16(volatile uint8_t *b, unsigned int off, uint16_t v)
{
	*(volatile uint16_t *)(b + off) = v;
}

static void w8(volatile uint8_t *b, unsigned int off, uint8_t v)
{
	*(volatile uint8_t *)(b + off) = v;
}

static void w64(volatile uint8_t *b, unsigned int off, uint64_t v)
{
	w32(b, off, (uint32_t)v);
	w32(b, off + 4, (uint32_t)(v >> 32));
}

/* ---- faulting accesses in a child ---- */

/* Run @fn(@arg) in a child with a 20 s limit; its exit status, or 128 + signal. */
static int in_child(const char *what, int (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return fail("fork");
	if (pid == 0) {
		alarm(20);
		_exit(fn(arg));
	}
	if (waitpid(pid, &st, 0) < 0)
		return fail("waitpid");
	if (WIFSIGNALED(st)) {
		note("%s: the access died of signal %d", what, WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	return WEXITSTATUS(st);
}

/* /dev/mem at @phys for @len bytes (addresses the kernel did not place anything at). */
static volatile uint8_t *devmem(uint64_t phys, size_t len)
{
	int fd = open("/dev/mem", O_RDWR | O_SYNC);
	void *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)phys);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* The guest-physical address behind a mapped user address (root reads PFNs). */
static uint64_t phys_of(const volatile void *p)
{
	uint64_t e = 0, va = (uint64_t)(uintptr_t)p;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (off_t)(va / 4096 * 8)) != 8)
		e = 0;
	close(fd);
	if (!(e >> 63))
		return 0;
	return (e & ((1ULL << 55) - 1)) * 4096 + va % 4096;
}

/* ---- the attacks ---- */

struct rd {
	uint64_t phys;
	unsigned int off;
	uint32_t want;
	int cmp;
};

/* Read one dword at @phys + @off through /dev/mem; 0 if it reads (and matches, if asked). */
static int devmem_read(void *arg)
{
	struct rd *r = arg;
	volatile uint8_t *p = devmem(r->phys, 0x1000);
	uint32_t v;

	if (!p)
		return 2;
	v = r32(p, r->off);
	printf("SHMVM-HOSTILE-NOTE %s read %#x at %#llx\n", attack, v, (unsigned long long)(r->phys + r->off));
	fflush(stdout);
	return r->cmp && v != r->want;
}

/* (a) BAR 0 and BAR 2 of B over guest RAM, decoding on; read there; put them back. */
static int bar_ram(struct fn *a, struct fn *b)
{
	struct rd r = { .phys = 0x80000, .off = C_NUMQ };

	(void)a;
	/* Low RAM below 1 MiB is the one RAM /dev/mem lets us read: it must still be RAM. */
	bar_set(b, 0, 0x80000);
	note("B BAR0 now %#llx", (unsigned long long)bar_get(b, 0));
	in_child("read B's BAR0 over RAM", devmem_read, &r);
	/* Its notify and MSI-X parts are RAM now: KVM never exits there, so no write from here. */
	bar_set(b, 2, 0x1000000); /* 16 MiB, inside RAM: the shared-memory window over RAM */
	note("B BAR2 now %#llx", (unsigned long long)bar_get(b, 2));
	bar_set(b, 2, 0); /* and over page 0 */
	bar_set(b, 0, 0);
	bar_set(b, 2, b->bar2);
	bar_set(b, 0, b->bar0);
	check("bar-ram-restored", bar_get(b, 0) == b->bar0 && bar_get(b, 2) == b->bar2,
	      "B's BARs did not go back");
	/* B answers at its own place again: num_queues is what it was. */
	check("bar-ram-b-answers", r16(b->bar, C_NUMQ) >= 2, "B's common config reads wrong");
	return failed;
}

/* (b) B's BARs over A's (A driven, live) and over each other; A keeps answering. */
static int bar_overlap(struct fn *a, struct fn *b)
{
	uint16_t numq = r16(a->bar, C_NUMQ);
	uint32_t df = r32(a->bar, C_DF);

	bar_set(b, 0, a->bar0);          /* exactly over A's BAR 0 */
	check("overlap-a-bar0", r16(a->bar, C_NUMQ) == numq && r32(a->bar, C_DF) == df,
	      "A's common config changed under B's BAR");
	bar_set(b, 0, a->bar0 + 0x4000); /* over A's MSI-X table */
	bar_set(b, 0, a->bar2);          /* inside A's shared-memory BAR */
	bar_set(b, 0, b->bar2);          /* inside B's own shared-memory BAR */
	bar_set(b, 2, a->bar2);          /* B's window over A's */
	bar_set(b, 2, a->bar0 & ~0xffffffULL); /* B's window over A's and B's BAR 0 */
	check("overlap-a-still", r16(a->bar, C_NUMQ) == numq && r32(a->bar, C_DF) == df,
	      "A's common config changed under B's BARs");
	bar_set(b, 2, b->bar2);
	bar_set(b, 0, b->bar0);
	check("overlap-b-back", r16(b->bar, C_NUMQ) == numq, "B does not answer at its own place");
	return failed;
}

/* Reset @f and take it to FEATURES_OK with VERSION_1 only. */
static void bring_up(struct fn *f)
{
	w8(f->bar, C_STATUS, 0);
	w8(f->bar, C_STATUS, S_ACK | S_DRIVER);
	w32(f->bar, C_GFSELECT, 1);
	w32(f->bar, C_GF, 1); /* VIRTIO_F_VERSION_1 */
	w32(f->bar, C_GFSELECT, 0);
	w32(f->bar, C_GF, 0);
	w8(f->bar, C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
}

/* (f) Notifications of queues never set up, past num_queues, with junk values. */
static int notify(struct fn *a, struct fn *b)
{
	unsigned int numq = r16(b->bar, C_NUMQ), anumq = r16(a->bar, C_NUMQ);

	w8(b->bar, C_STATUS, 0);
	for (unsigned int q = 0; q < (MSIX_TABLE_OFF - NOTIFY_OFF) / NOTIFY_MULT; q++)
		w16(b->bar, NOTIFY_OFF + q * NOTIFY_MULT, (uint16_t)q);
	w16(b->bar, NOTIFY_OFF, 0xffff);
	w32(b->bar, NOTIFY_OFF + 2, 0xffffffff); /* unaligned, across two queues */
	/* Running, but no queue enabled: the notify addresses have no ioeventfd. */
	bring_up(b);
	w8(b->bar, C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	note("B status %#x after DRIVER_OK with no queue", b->bar[C_STATUS]);
	for (unsigned int q = 0; q < numq + 8; q++)
		w16(b->bar, NOTIFY_OFF + q * NOTIFY_MULT, 0xffff);
	w8(b->bar, C_STATUS, 0);
	/* A is live: kicks past its queues, and junk values on its real ones. */
	for (unsigned int q = 0; q < 64; q++)
		w16(a->bar, NOTIFY_OFF + q * NOTIFY_MULT, 0xffff);
	check("notify-a-alive", r16(a->bar, C_NUMQ) == anumq, "A's common config reads wrong");
	return failed;
}

/* Rings of @f's queue @q at @desc/@avail/@used, enabled. */
static void ring_at(struct fn *f, unsigned int q, uint64_t desc, uint64_t avail, uint64_t used)
{
	w16(f->bar, C_QSELECT, (uint16_t)q);
	w64(f->bar, C_QDESC, desc);
	w64(f->bar, C_QAVAIL, avail);
	w64(f->bar, C_QUSED, used);
	w16(f->bar, C_QENABLE, 1);
}

/* (e) Queue addresses outside RAM, at its very end and unaligned; enable, run, notify. */
static int rings(struct fn *a, struct fn *b)
{
	static const struct {
		const char *name;
		uint64_t desc, avail, used;
	} cases[] = {
		{ "in-own-page", 0, 0, 0 }, /* filled in: a real, empty ring in our own page */
		/*
		 * Each refused set-up makes B need a reset (NEEDS_RESET); the next
		 * case's bring_up() resets it and starts again.
		 */
		{ "wrap", -16ULL, 0x1000, 0x2000 },
		{ "1TiB", 1ULL << 40, (1ULL << 40) + 0x1000, (1ULL << 40) + 0x2000 },
		{ "top", -4096ULL, -4096ULL + 0x800, -4096ULL + 0xc00 },
		{ "unaligned", 0x1001, 0x2003, 0x3007 },
		{ "end-of-ram", 0, 0, 0 }, /* filled in: straddling the last byte of RAM */
	};
	void *page = NULL;
	uint64_t own = 0, ram_end = 0;
	unsigned int refused = 0;
	uint8_t st;
	FILE *m = fopen("/proc/iomem", "r");
	char line[256];

	(void)a;
	/* The end of the last "System RAM" range. */
	while (m && fgets(line, sizeof(line), m)) {
		unsigned long long s, e;

		if (strstr(line, "System RAM") && sscanf(line, " %llx-%llx", &s, &e) == 2)
			ram_end = e + 1;
	}
	if (m)
		fclose(m);
	if (posix_memalign(&page, 4096, 4096) == 0) {
		memset(page, 0, 4096);
		mlock(page, 4096);
		own = phys_of(page);
	}
	note("own ring page at %#llx, RAM ends at %#llx", (unsigned long long)own, (unsigned long long)ram_end);
	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t d = cases[i].desc, av = cases[i].avail, u = cases[i].used;

		if (i == 0) {
			if (!own)
				continue;
			/* Queue size 8 fits a page: desc 128 bytes, avail 22, used 70. */
			d = own, av = own + 0x400, u = own + 0x800;
		} else if (i == sizeof(cases) / sizeof(cases[0]) - 1) {
			if (!ram_end)
				continue;
			d = ram_end - 64, av = ram_end - 8, u = ram_end - 2;
		}
		bring_up(b);
		for (unsigned int q = 0; q < 2; q++) {
			w16(b->bar, C_QSELECT, (uint16_t)q);
			w16(b->bar, C_QSIZE, 8);
			w16(b->bar, C_QMSIX, (uint16_t)(0x7ff - q)); /* no such vector */
			ring_at(b, q, d + 0x100 * q * (i == 0), av + 0x100 * q * (i == 0), u + 0x100 * q * (i == 0));
		}
		w16(b->bar, C_MSIX, 0xfffe);
		w8(b->bar, C_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
		for (unsigned int q = 0; q < 3; q++)
			w16(b->bar, NOTIFY_OFF + q * NOTIFY_MULT, (uint16_t)q);
		if (i == 0 && page) {
			/* An avail index far past the ring, published: the backend must refuse it. */
			*(volatile uint16_t *)((uint8_t *)page + 0x400 + 2) = 0x8000;
			w16(b->bar, NOTIFY_OFF, 0);
			usleep(200000);
		}
		st = b->bar[C_STATUS];
		note("%s: B status %#x", cases[i].name, st);
		/*
		 * Past the first case, shmvm refuses every set-up: the device
		 * must say it needs a reset, after its features were accepted
		 * (a device given up for good would refuse FEATURES_OK).
		 */
		if (i > 0)
			refused += (st & (S_FEATURES_OK | S_NEEDS_RESET)) ==
				   (S_FEATURES_OK | S_NEEDS_RESET);
		w8(b->bar, C_STATUS, 0);
	}
	check("rings-refused", refused == sizeof(cases) / sizeof(cases[0]) - 1 - !ram_end,
	      "a bad ring did not leave B needing a reset, or broke it for good");
	/* Reset put everything back: a fresh queue has no address. */
	w16(b->bar, C_QSELECT, 0);
	check("rings-reset", r32(b->bar, C_QDESC) == 0 && b->bar[C_STATUS] == 0,
	      "B kept queue state over a reset");
	return failed;
}

/* ---- DAX mappings held live ---- */

struct held {
	volatile uint8_t *p;
	size_t len;
	uint32_t sum;
};

static uint32_t sum_of(volatile uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i < len; i += 256)
		s = s * 31 + r32(p, (unsigned int)i);
	return s;
}

static int hold(struct held *h, const char *path)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	void *p;

	if (fd < 0 || fstat(fd, &st) < 0)
		return fail(path);
	h->len = (size_t)st.st_size;
	p = mmap(NULL, h->len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail("mmap");
	h->p = p;
	h->sum = sum_of(h->p, h->len);
	return 0;
}

/*
 * Read the first 64 KiB of a held mapping: where nothing backs it each read
 * is an exit to shmvm, so not the whole file.
 */
static int touch_held(void *arg)
{
	struct held *h = arg;
	size_t len = h->len < 65536 ? h->len : 65536;
	uint32_t s = sum_of(h->p, len);

	printf("SHMVM-HOSTILE-NOTE %s the mapping's first %zu bytes read %08x (dword 0: %#x)\n", attack,
	       len, s, r32(h->p, 0));
	fflush(stdout);
	return 0;
}

/* (c) Move A's shared-memory BAR while a DAX mapping is live: elsewhere, over RAM, over B's; and back. */
static int shm_move(struct fn *a, struct fn *b, const char *file)
{
	struct held h;
	uint64_t ph, off, moved = a->bar2 + (1ULL << 30);
	struct rd r;
	int n;

	if (hold(&h, file))
		return 1;
	ph = phys_of(h.p);
	off = ph - a->bar2;
	note("%s held: first page at %#llx, window offset %#llx", file, (unsigned long long)ph,
	     (unsigned long long)off);
	check("shm-move-dax", ph >= a->bar2 && off < (1ULL << 30), "the mapping is not in A's BAR 2");
	/* Elsewhere: the old address is nothing, the new one has the file. */
	r = (struct rd){ .phys = moved + (off & ~0xfffULL), .off = (unsigned int)(off & 0xfff),
			 .want = r32(h.p, 0), .cmp = 1 };
	bar_set(a, 2, moved);
	in_child("touch the old address", touch_held, &h);
	n = in_child("read the new address", devmem_read, &r);
	check("shm-move-new", n == 0, "the new address does not show the file");
	bar_set(a, 2, a->bar2);
	check("shm-move-back", sum_of(h.p, h.len) == h.sum, "the mapping reads wrong after the move back");
	/* Over RAM and back, many times: no log flood, the mapping comes back each time. */
	for (int i = 0; i < 50; i++) {
		bar_set(a, 2, 0x10000000);
		bar_set(a, 2, a->bar2);
	}
	bar_set(a, 2, 0x10000000);
	in_child("touch the old address, window over RAM", touch_held, &h);
	bar_set(a, 2, a->bar2);
	check("shm-move-ram-back", sum_of(h.p, h.len) == h.sum, "the mapping reads wrong after RAM");
	/* Over B's window: refused, so A's is nowhere until it comes back. */
	bar_set(a, 2, b->bar2);
	in_child("touch the old address, window over B's", touch_held, &h);
	bar_set(a, 2, a->bar2);
	check("shm-move-b-back", sum_of(h.p, h.len) == h.sum, "the mapping reads wrong after B");
	/* Decoding off and on with the mapping live. */
	cfg_w(a, PCI_COMMAND, 2, cfg_r(a, PCI_COMMAND, 2) & ~PCI_COMMAND_MEMORY);
	cfg_w(a, PCI_COMMAND, 2, cfg_r(a, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY);
	check("shm-move-decode", sum_of(h.p, h.len) == h.sum, "the mapping reads wrong after decode off/on");
	munmap((void *)h.p, h.len);
	return failed;
}

/* A's MSI-X vectors as the driver programmed them. */
struct msix_saved {
	unsigned int nr;
	uint32_t entry[64][4];
	uint16_t cvec, qvec[2];
};

static int msix_save(struct fn *a, struct msix_saved *sv)
{
	sv->nr = (cfg_r(a, a->msix_cap + 2, 2) & 0x7ff) + 1;
	if (!a->msix_cap || sv->nr > 64) {
		errno = EINVAL;
		return fail("no usable MSI-X capability");
	}
	for (unsigned int v = 0; v < sv->nr; v++)
		for (unsigned int w = 0; w < 4; w++)
			sv->entry[v][w] = r32(a->bar, MSIX_TABLE_OFF + 16 * v + 4 * w);
	sv->cvec = r16(a->bar, C_MSIX);
	for (unsigned int q = 0; q < 2; q++) {
		w16(a->bar, C_QSELECT, (uint16_t)q);
		sv->qvec[q] = r16(a->bar, C_QMSIX);
	}
	note("A has %u vectors (config %u, queues %u %u), entry 1 %08x %08x %08x %08x", sv->nr,
	     sv->cvec, sv->qvec[0], sv->qvec[1], sv->entry[1][0], sv->entry[1][1],
	     sv->entry[1][2], sv->entry[1][3]);
	return 0;
}

/* Put the driver's vectors back, the vector control words (masks) last. */
static void msix_restore(struct fn *a, const struct msix_saved *sv)
{
	for (unsigned int v = 0; v < sv->nr; v++)
		for (unsigned int w = 0; w < 3; w++)
			w32(a->bar, MSIX_TABLE_OFF + 16 * v + 4 * w, sv->entry[v][w]);
	w16(a->bar, C_MSIX, sv->cvec);
	for (unsigned int q = 0; q < 2; q++) {
		w16(a->bar, C_QSELECT, (uint16_t)q);
		w16(a->bar, C_QMSIX, sv->qvec[q]);
	}
	for (unsigned int v = 0; v < sv->nr; v++)
		w32(a->bar, MSIX_TABLE_OFF + 16 * v + 12, sv->entry[v][3]);
}

/*
 * (d1) With A's I/O live: mask every vector, put junk addresses and data in
 * the masked entries, let the I/O run (its interrupts must wait in the PBA),
 * then put the driver's entries back and unmask. What was held back must be
 * delivered then: the step checks that A's I/O goes on.
 */
static int msix_masked(struct fn *a, struct fn *b)
{
	struct msix_saved sv;
	uint32_t pba;

	(void)b;
	if (msix_save(a, &sv))
		return 1;
	for (unsigned int v = 0; v < sv.nr; v++)
		w32(a->bar, MSIX_TABLE_OFF + 16 * v + 12, 1); /* masked */
	for (unsigned int v = 0; v < sv.nr; v++) {
		w32(a->bar, MSIX_TABLE_OFF + 16 * v, 0x12345678);
		w32(a->bar, MSIX_TABLE_OFF + 16 * v + 4, 0xdeadbeef);
		w32(a->bar, MSIX_TABLE_OFF + 16 * v + 8, 0xffffffff);
	}
	usleep(500000); /* the I/O in the background completes requests: pending */
	pba = r32(a->bar, MSIX_PBA_OFF);
	note("PBA with every vector masked: %#x", pba);
	check("msix-masked-pending", (pba & ~((1u << sv.nr) - 1)) == 0,
	      "PBA bits past the table are set");
	msix_restore(a, &sv);
	check("msix-masked-restored",
	      r32(a->bar, MSIX_TABLE_OFF + 16 + 8) == sv.entry[1][2] &&
		      r32(a->bar, MSIX_TABLE_OFF + 16 + 12) == sv.entry[1][3],
	      "A's table did not take");
	return failed;
}

/*
 * (d2) The worst of MSI-X, unmasked, with A's I/O live: junk addresses,
 * an APIC that is not there with vector 0, writes past the table and into
 * the PBA, vectors past the table for the config and the queues, function
 * mask and enable flapping. Interrupts sent meanwhile are lost (as on real
 * hardware, where they would be stray writes), so A's driver may wait
 * forever after: this runs last. shmvm must stay up, nothing else.
 */
static int msix_junk(struct fn *a, struct fn *b)
{
	struct msix_saved sv;
	uint16_t ctrl;

	(void)b;
	if (msix_save(a, &sv))
		return 1;
	for (unsigned int v = 0; v < sv.nr; v++) {
		/* Not 0xfee..., upper half set, data with every bit, unmasked. */
		w32(a->bar, MSIX_TABLE_OFF + 16 * v, 0x12345678);
		w32(a->bar, MSIX_TABLE_OFF + 16 * v + 4, 0xdeadbeef);
		w32(a->bar, MSIX_TABLE_OFF + 16 * v + 8, 0xffffffff);
		w32(a->bar, MSIX_TABLE_OFF + 16 * v + 12, 0);
	}
	usleep(500000);
	for (unsigned int v = 0; v < sv.nr; v++) {
		/*
		 * Physical APIC 0x45 (not there), vector 0 (illegal), level and
		 * assert: never to this guest's one CPU, whose IDT entry 0 is #DE.
		 */
		w32(a->bar, MSIX_TABLE_OFF + 16 * v, 0xfee45000);
		w32(a->bar, MSIX_TABLE_OFF + 16 * v + 4, 0);
		w32(a->bar, MSIX_TABLE_OFF + 16 * v + 8, 0xc000);
	}
	usleep(500000);
	/* Entries past the table, odd sizes, the PBA (read-only). */
	for (unsigned int v = sv.nr; v < 512; v++)
		w32(a->bar, MSIX_TABLE_OFF + 16 * v + 12, 0);
	w16(a->bar, MSIX_TABLE_OFF + 2, 0xffff);
	w8(a->bar, MSIX_TABLE_OFF + 13, 0xff);
	w64(a->bar, MSIX_PBA_OFF, ~0ULL);
	note("PBA reads %#x", r32(a->bar, MSIX_PBA_OFF));
	/* Vectors past the table for the config and for each queue. */
	w16(a->bar, C_MSIX, 0x7ff);
	check("msix-junk-config-vector", r16(a->bar, C_MSIX) == 0xffff,
	      "a config vector past the table reads back as something else than NO_VECTOR");
	for (unsigned int q = 0; q < 2; q++) {
		w16(a->bar, C_QSELECT, (uint16_t)q);
		w16(a->bar, C_QMSIX, 0xfffe);
	}
	ctrl = (uint16_t)cfg_r(a, a->msix_cap + 2, 2);
	/* Function mask and enable flapping. */
	for (int i = 0; i < 20; i++) {
		cfg_w(a, a->msix_cap + 2, 2, ctrl ^ 0x4000);
		cfg_w(a, a->msix_cap + 2, 2, ctrl & ~0x8000);
		cfg_w(a, a->msix_cap + 2, 2, ctrl);
	}
	usleep(300000);
	msix_restore(a, &sv);
	check("msix-junk-restored", r32(a->bar, MSIX_TABLE_OFF + 16 + 8) == sv.entry[1][2],
	      "A's table did not take");
	return failed;
}

/* (g) Reset A while the I/O in the background goes on; touch a DAX mapping after. */
/*
 * In a child: 0 if the held mapping's first 64 KiB read as zeros, 1 if not:
 * a dword every 256 bytes, as touch_held() reads. (Where nothing is mapped,
 * each read is an exit to shmvm, a millisecond nested: all 16,384 dwords took
 * the 20 s the child has under load.) The file is random bytes, so a live
 * mapping shows a non-zero dword among 256 all but surely.
 */
static int held_zero(void *arg)
{
	struct held *h = arg;
	size_t len = h->len < 65536 ? h->len : 65536;

	for (size_t i = 0; i < len; i += 256)
		if (r32(h->p, i))
			return 1;
	return 0;
}

static int reset(struct fn *a, struct fn *b, const char *file)
{
	struct held h;
	bool live;

	(void)b;
	if (hold(&h, file))
		return 1;
	/* The file is random bytes: what a live mapping shows is not zeros. */
	live = in_child("read a mapping before the reset", held_zero, &h) == 1;
	check("reset-live-before", live, "the held mapping read as zeros before the reset");
	w8(a->bar, C_STATUS, 0);
	note("A status %#x after reset", a->bar[C_STATUS]);
	check("reset-status", a->bar[C_STATUS] == 0, "A did not reset");
	/* The mappings went with the reset: the window shows zeros where the file was. */
	in_child("touch a mapping after the reset", touch_held, &h);
	check("reset-dropped", in_child("read a mapping after the reset", held_zero, &h) == 0,
	      "the file's bytes still show through the window after the reset");
	return failed;
}

int main(int argc, char **argv)
{
	struct fn a, b;

	if (argc != 5) {
		fprintf(stderr, "usage: hostiletool ATTACK A B MNT\n");
		return 2;
	}
	attack = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (fn_open(&a, argv[2]) || fn_open(&b, argv[3]))
		return 1;
	if (!strcmp(attack, "bar-ram"))
		return bar_ram(&a, &b);
	if (!strcmp(attack, "bar-overlap"))
		return bar_overlap(&a, &b);
	if (!strcmp(attack, "notify"))
		return notify(&a, &b);
	if (!strcmp(attack, "rings"))
		return rings(&a, &b);
	if (!strcmp(attack, "shm-move"))
		return shm_move(&a, &b, argv[4]);
	if (!strcmp(attack, "msix-masked"))
		return msix_masked(&a, &b);
	if (!strcmp(attack, "msix-junk"))
		return msix_junk(&a, &b);
	if (!strcmp(attack, "reset")) {
		/*
		 * The step does not wait for this process: with A reset under
		 * its DAX mapping, its exit may wait for ever on A. It says it
		 * is done itself, on the console and in a file the step polls.
		 */
		int rc = reset(&a, &b, argv[4]);

		printf("SHMVM-HOSTILE reset done rc=%d\n", rc);
		fflush(stdout);
		close(open("/tmp/hostile-reset.done", O_WRONLY | O_CREAT, 0644));
		return rc;
	}
	errno = EINVAL;
	return fail("no such attack");
}
