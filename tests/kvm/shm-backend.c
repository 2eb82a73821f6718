// SPDX-License-Identifier: GPL-2.0-only
/*
 * shm-backend: a vhost-user backend, built on shmvm's backend library, that
 * drives a real shmvm through SHMEM_MAP/SHMEM_UNMAP while the tiny guest
 * guests/shm.S reads and writes the shared-memory BAR. The mappings
 * themselves are the channel between the two (see the phases below); the
 * control socket is how this program checks shmvm's side.
 *
 *   shm-backend SOCKET API-SOCKET STRATEGY [CYCLES|eof|truncate|flood]
 *
 * With "eof", phase 1 maps two pages of a one-page file instead; with
 * "truncate", two pages of a two-page file, cut to one page once the guest
 * has read the second. Either way the guest's write to the second page has
 * no host page behind it: shmvm must put zeros there and run on, the guest
 * read back its write and a zero, the file keep its size and bytes, and the
 * control socket count the page. With "flood", it sends requests that want
 * replies and never reads them: shmvm must give up on the backend channel
 * (not block on it forever), keep running, and still shut down.
 * With SHM_NO_MEM_SLOTS=1 in the environment it does not offer
 * CONFIGURE_MEM_SLOTS, so shmvm sends no ADD/REM_MEM_REG (to time the cycles
 * both ways). Prints one line per check ("ok ..." / "FAIL ...") and exits 0
 * when all passed. Region 0 is 4 MiB; the guest knows these offsets:
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/test_backend.h"
#include "util/compiler.h"
#include "vhost/backend.h"
#include "vhost/sock.h"

#define PAGE 4096ULL
#define REGION_SIZE (4ULL << 20)
#define OFF_A 0x000000ULL  /* phase 1: RW data, two pages */
#define OFF_C 0x100000ULL  /* mailbox, RW */
#define OFF_B 0x200000ULL  /* phase 2: read-only */
#define OFF_D 0x300000ULL  /* the map/unmap cycles */
#define MAGIC1 0x53484d31ULL
#define MAGIC2 0x53484d32ULL
#define MAGIC6 0x53484d36ULL
#define PAGE2 0x5041474532ULL /* truncate mode: the second page's first word */
#define WAIT_MS 120000

static const char *api_path, *strategy;
static struct vu_backend be;

/* A memfd of @pages pages, mapped here too. */
struct buf {
	int fd;
	volatile uint64_t *p;
	struct stat st;
};

static struct buf buf_new(const char *name, unsigned int pages)
{
	struct buf b;

	b.fd = memfd_create(name, MFD_CLOEXEC);
	if (b.fd < 0 || ftruncate(b.fd, (off_t)(pages * PAGE)) || fstat(b.fd, &b.st))
		tb_die("memfd %s: %s", name, strerror(errno));
	b.p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, b.fd, 0);
	if (b.p == MAP_FAILED)
		tb_die("mmap %s: %s", name, strerror(errno));
	return b;
}

/* Wait until *@p == @v (the guest's doing). */
static void wait_for(volatile uint64_t *p, uint64_t v, const char *what)
{
	uint64_t end = tb_now_ms() + WAIT_MS;

	while (*p != v) {
		if (tb_now_ms() > end)
			tb_die("timed out waiting for %s (value %#llx)", what, (unsigned long long)*p);
		usleep(1000);
	}
}

/* Regions in our memory table (the dispatch thread's; only its size is read here). */
static size_t backend_regions(void)
{
	return __atomic_load_n(&be.nregions, __ATOMIC_RELAXED);
}

/* ---- the control socket ---- */

/* shmvm listens once its devices (us) are set up: wait for it at first. */
static json_object *api(const char *cmd)
{
	return tb_api(api_path, cmd, WAIT_MS);
}

/* The live mappings of region 0 of device 0, as the control socket reports them. */
static json_object *api_mappings(json_object **keep)
{
	json_object *devs, *regs;

	*keep = api("regions");
	if (!json_object_object_get_ex(*keep, "devices", &devs) || json_object_array_length(devs) != 1)
		tb_die("api regions: not one device");
	if (!json_object_object_get_ex(json_object_array_get_idx(devs, 0), "regions", &regs) ||
	    json_object_array_length(regs) != 1)
		tb_die("api regions: not one region");
	return json_object_object_get(json_object_array_get_idx(regs, 0), "mappings");
}

static size_t live_mappings(void)
{
	json_object *keep, *maps = api_mappings(&keep);
	size_t n = json_object_array_length(maps);

	json_object_put(keep);
	return n;
}

/* The guest-physical address of device 0's window. */
static uint64_t window_gpa(void)
{
	json_object *keep = api("regions"), *devs = json_object_object_get(keep, "devices");
	uint64_t gpa = (uint64_t)tb_jint(json_object_array_get_idx(devs, 0), "window.gpa");

	json_object_put(keep);
	return gpa;
}

/* The guest's writes to read-only B and to a hole, as shmvm counted them. */
static void check_dropped_writes(bool window)
{
	json_object *keep = api("regions");
	json_object *dev = json_object_array_get_idx(json_object_object_get(keep, "devices"), 0);
	int64_t ro = tb_jint(dev, "counters.ro_writes"), hole = tb_jint(dev, "counters.hole_writes");

	/* Slot: both exited to shmvm, which dropped them; window: KVM took them (private copies). */
	tb_check(window ? ro == 0 && hole == 0 : ro == 1 && hole == 1,
	      "control socket counts %lld dropped read-only writes, %lld dropped hole writes",
	      (long long)ro, (long long)hole);
	json_object_put(keep);
}

/* Wait until @what has dropped every mapping of the window. */
static void wait_no_mappings(const char *what)
{
	uint64_t end = tb_now_ms() + WAIT_MS;

	while (live_mappings()) {
		if (tb_now_ms() > end)
			tb_die("%s did not drop the mappings", what);
		usleep(10000);
	}
}

/* Wait until the guest has put BAR 2 at @gpa (how it signals once nothing is mapped). */
static void wait_window_at(uint64_t gpa, const char *what)
{
	uint64_t end = tb_now_ms() + WAIT_MS;

	while (window_gpa() != gpa) {
		if (tb_now_ms() > end)
			tb_die("timed out waiting for %s", what);
		usleep(10000);
	}
}

/* After the BAR move: the window is at @gpa and every mapping still has its slot. */
static void check_moved(bool window, uint64_t gpa)
{
	json_object *keep, *maps = api_mappings(&keep);
	size_t n = json_object_array_length(maps);
	bool slots = true;

	for (size_t i = 0; i < n; i++) {
		json_object *slot = json_object_object_get(json_object_array_get_idx(maps, i), "slot");

		slots &= window ? slot == NULL : json_object_is_type(slot, json_type_int);
	}
	json_object_put(keep);
	tb_check(window_gpa() == gpa && n == 2 && slots,
	      "window moved with BAR 2 to %#llx, its 2 mappings kept their slots",
	      (unsigned long long)gpa);
}

/* ---- raw backend-channel messages, for the malformed ones ---- */

static int raw(uint32_t req, uint32_t flags, const void *payload, uint32_t size, const int *fds,
	       size_t nfds, uint64_t *reply)
{
	return tb_raw(&be, req, flags, payload, size, fds, nfds, reply);
}

/* Send a bad request (VU_VERSION is added unless @flags has version bits): it must be refused. */
static void expect_refusal(const char *what, uint32_t req, uint32_t flags, const void *payload,
			   uint32_t size, int fd, int want)
{
	uint64_t r = 0;
	int rc;

	if (!(flags & 0x3))
		flags |= VU_VERSION;
	rc = raw(req, flags, payload, size, &fd, fd >= 0, &r);
	if (want)
		tb_check(rc == 0 && (int64_t)r == want, "%s refused with %lld (want %d)", what,
		      (long long)(int64_t)r, want);
	else
		tb_check(rc == 0 && r != 0, "%s refused with %lld", what, (long long)(int64_t)r);
}

static void bad_requests(const struct buf *a, const struct buf *ro_file)
{
	int pipefd[2];
	struct {
		const char *what;
		uint8_t shmid;
		uint64_t fd_off, off, len, flags;
		int fd;
		int want; /* 0: any refusal */
	} cases[] = {
		{ "unknown shmid", 5, 0, 0, PAGE, 1, a->fd, -EINVAL },
		{ "zero length", 0, 0, OFF_D, 0, 1, a->fd, -EINVAL },
		{ "unaligned shm_offset", 0, 0, OFF_D + 512, PAGE, 1, a->fd, -EINVAL },
		{ "unaligned fd_offset", 0, 100, OFF_D, PAGE, 1, a->fd, -EINVAL },
		{ "unaligned length", 0, 0, OFF_D, PAGE + 1, 1, a->fd, -EINVAL },
		{ "past the region's end", 0, 0, REGION_SIZE - PAGE, 2 * PAGE, 1, a->fd, -ERANGE },
		{ "at the region's end", 0, 0, REGION_SIZE, PAGE, 1, a->fd, -ERANGE },
		{ "shm_offset + len overflow", 0, 0, UINT64_MAX - PAGE + 1, 2 * PAGE, 1, a->fd, -EOVERFLOW },
		{ "fd_offset + len overflow", 0, UINT64_MAX - PAGE + 1, OFF_D, 2 * PAGE, 1, a->fd, -EOVERFLOW },
		{ "overlap by one page", 0, 0, OFF_C - PAGE, 2 * PAGE, 1, a->fd, -EEXIST },
		{ "overlap exactly", 0, 0, OFF_C, PAGE, 1, a->fd, -EEXIST },
		{ "unknown flag bits", 0, 0, OFF_D, PAGE, 0x100000001ULL, a->fd, -EINVAL },
		{ "read-write map of a read-only file", 0, 0, OFF_D, PAGE, 1, ro_file->fd, -EACCES },
		{ "pipe", 0, 0, OFF_D, PAGE, 0, -2, -ENODEV },
	};
	struct vu_mmap mm;

	if (pipe(pipefd))
		tb_die("pipe: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[96];

		mm = (struct vu_mmap){ .shmid = cases[i].shmid, .fd_offset = cases[i].fd_off,
				       .shm_offset = cases[i].off, .len = cases[i].len,
				       .flags = cases[i].flags };
		snprintf(what, sizeof(what), "SHMEM_MAP %s", cases[i].what);
		expect_refusal(what, VU_BACKEND_SHMEM_MAP, VU_FLAG_NEED_REPLY, &mm, sizeof(mm),
			       cases[i].fd == -2 ? pipefd[0] : cases[i].fd, cases[i].want);
	}
	/* UNMAP must match a whole mapping. */
	mm = (struct vu_mmap){ .shmid = 0, .shm_offset = OFF_C, .len = 2 * PAGE };
	expect_refusal("SHMEM_UNMAP of more than a mapping", VU_BACKEND_SHMEM_UNMAP, VU_FLAG_NEED_REPLY,
		       &mm, sizeof(mm), -1, -ENOENT);
	mm.shm_offset = OFF_D;
	mm.len = PAGE;
	expect_refusal("SHMEM_UNMAP of nothing", VU_BACKEND_SHMEM_UNMAP, VU_FLAG_NEED_REPLY, &mm,
		       sizeof(mm), -1, -ENOENT);
	mm.shmid = 9;
	expect_refusal("SHMEM_UNMAP of an unknown shmid", VU_BACKEND_SHMEM_UNMAP, VU_FLAG_NEED_REPLY,
		       &mm, sizeof(mm), -1, -EINVAL);
	/* Malformed messages: refused by the codec, the channel goes on. */
	mm = (struct vu_mmap){ .shmid = 0, .shm_offset = OFF_D, .len = PAGE, .flags = 1 };
	expect_refusal("SHMEM_MAP without an fd", VU_BACKEND_SHMEM_MAP, VU_FLAG_NEED_REPLY, &mm,
		       sizeof(mm), -1, -EBADF);
	{
		int two[2] = { a->fd, a->fd };
		uint64_t r = 0;

		tb_check(!raw(VU_BACKEND_SHMEM_MAP, VU_VERSION | VU_FLAG_NEED_REPLY, &mm, sizeof(mm), two, 2, &r) &&
		      (int64_t)r == -EBADF, "SHMEM_MAP with two fds refused with %lld", (long long)(int64_t)r);
	}
	expect_refusal("SHMEM_UNMAP with an fd", VU_BACKEND_SHMEM_UNMAP, VU_FLAG_NEED_REPLY, &mm,
		       sizeof(mm), a->fd, -EBADF);
	expect_refusal("SHMEM_MAP of 39 bytes", VU_BACKEND_SHMEM_MAP, VU_FLAG_NEED_REPLY, &mm,
		       sizeof(mm) - 1, a->fd, -EMSGSIZE);
	expect_refusal("unknown request 99", 99, VU_FLAG_NEED_REPLY, NULL, 0, -1, -EOPNOTSUPP);
	expect_refusal("unsupported BACKEND_VRING_CALL", VU_BACKEND_VRING_CALL, VU_FLAG_NEED_REPLY,
		       &(uint64_t){ 0 }, 8, -1, -EOPNOTSUPP);
	expect_refusal("SHMEM_MAP with a bad version", VU_BACKEND_SHMEM_MAP, 0x3 | VU_FLAG_NEED_REPLY,
		       &mm, sizeof(mm), a->fd, 0);
	/* The refusals left nothing behind, and a good request still works. */
	tb_check(!vu_backend_shmem_map(&be, 0, 0, OFF_D, PAGE, true, a->fd) &&
	      !vu_backend_shmem_unmap(&be, 0, OFF_D, PAGE), "a good map and unmap after the bad ones");
	close(pipefd[0]);
	close(pipefd[1]);
}

/* ---- the phases ---- */

static bool flood_mode;
static int eof_mode; /* 1: eof, 2: truncate (the guest's EOF_MODE) */

static void script_flood(void)
{
	struct vu_mmap mm = { .shmid = 0, .shm_offset = OFF_D, .len = PAGE };
	unsigned long sent = 0;
	json_object *keep, *dev;
	char buf[4096];
	ssize_t n;
	int fl = fcntl(be.req_fd, F_GETFL);
	uint64_t end = tb_now_ms() + WAIT_MS;

	/* The library's backend channel, used behind its back: under its lock, as a request is. */
	pthread_mutex_lock(&be.req_lock);

	json_object_put(api("status"));
	if (fl < 0 || fcntl(be.req_fd, F_SETFL, fl | O_NONBLOCK))
		tb_die("fcntl: %s", strerror(errno));
	/*
	 * Send until shmvm hangs up: once our receive buffer is full of replies
	 * we never read, shmvm cannot send, must give up and close its end.
	 */
	for (;;) {
		int rc = vu_msg_send(be.req_fd, VU_BACKEND_SHMEM_UNMAP, VU_VERSION | VU_FLAG_NEED_REPLY,
				     &mm, sizeof(mm), NULL, 0);

		if (rc == 0) {
			sent++;
			continue;
		}
		if (rc != -EAGAIN)
			break;
		if (tb_now_ms() > end)
			tb_die("shmvm kept the backend channel open after %lu unread replies", sent);
		usleep(1000);
	}
	tb_check(sent > 100, "sent %lu requests without reading a reply, then shmvm hung up", sent);
	/* shmvm must close its end: we read the replies it did send, then end of stream. */
	if (fcntl(be.req_fd, F_SETFL, fl))
		tb_die("fcntl: %s", strerror(errno));
	while ((n = read(be.req_fd, buf, sizeof(buf))) > 0)
		if (tb_now_ms() > end)
			tb_die("shmvm never closed the backend channel");
	pthread_mutex_unlock(&be.req_lock);
	tb_check(n == 0 || errno == ECONNRESET,
	      "shmvm closed the backend channel of a backend that does not read (%s)",
	      n == 0 ? "end of stream" : strerror(errno));
	keep = api("counters");
	dev = json_object_array_get_idx(json_object_object_get(keep, "devices"), 0);
	tb_check(tb_jint(dev, "counters.refused_messages") >= 1, "and counted it (%lld)",
	      (long long)tb_jint(dev, "counters.refused_messages"));
	json_object_put(keep);
	json_object_put(api("shutdown"));
	printf("%s\n", tb_failed ? "shm-backend: FAILED" : "shm-backend: all checks passed");
	fflush(stdout);
	exit(tb_failed);
}

/* Like wait_for(), but give up at once if shmvm has gone (its control socket with it). */
static void wait_for_live(volatile uint64_t *p, uint64_t v, const char *what)
{
	uint64_t end = tb_now_ms() + WAIT_MS;

	while (*p != v) {
		if (access(api_path, F_OK))
			tb_die("shmvm has gone while waiting for %s", what);
		if (tb_now_ms() > end)
			tb_die("timed out waiting for %s (value %#llx)", what, (unsigned long long)*p);
		usleep(1000);
	}
}

/*
 * Phase 1 with the second page past the file's end (see the top of the file);
 * the guest's words in A: [2] 0xC0FFEE, [3] 1 once it read page 2 (truncate),
 * 2 when done. shmvm must run on; then the file is checked and the VM ended.
 */
static void script_eof(void)
{
	bool cut = eof_mode == 2;
	struct buf a = buf_new("A", cut ? 2 : 1);
	/* The file's one page at the end: our words, the guest's page-0 writes, zeros. */
	uint64_t want[PAGE / 8] = {MAGIC1, 0x1122334455667788ULL, 0xC0FFEE, 2};
	uint64_t got[2 * PAGE / 8];
	json_object *keep, *dev, *maps;

	a.p[0] = MAGIC1;
	a.p[1] = 0x1122334455667788ULL;
	a.p[4] = want[4] = (uint64_t)eof_mode;
	want[5] = cut ? 2 : 0;
	if (cut) {
		a.p[PAGE / 8] = PAGE2;
		a.p[PAGE / 8 + 1] = 0x2222;
	}
	tb_check(!vu_backend_shmem_map(&be, 0, 0, OFF_A, 2 * PAGE, true, a.fd),
	      "map two pages of a %s-page file", cut ? "two" : "one");
	/* The control socket comes up after the devices, and goes when shmvm exits. */
	json_object_put(api("status"));
	if (cut) {
		wait_for_live(&a.p[3], 1, "the guest's read of the second page");
		tb_check(!ftruncate(a.fd, (off_t)PAGE),
		      "cut the file to one page under the live mapping");
		a.p[5] = 2;
	}
	wait_for_live(&a.p[3], 2, "the guest's write past the file's end");
	if (fstat(a.fd, &a.st))
		tb_die("fstat: %s", strerror(errno));
	tb_check(a.st.st_size == (off_t)PAGE, "the file is still one page (%lld bytes)",
	      (long long)a.st.st_size);
	tb_check(pread(a.fd, got, sizeof(got), 0) == (ssize_t)PAGE && !memcmp(got, want, PAGE),
	      "its bytes are ours and the guest's page-0 writes, nothing of the page past its end");
	keep = api("regions");
	dev = json_object_array_get_idx(json_object_object_get(keep, "devices"), 0);
	tb_check(tb_jint(dev, "counters.eof_pages") == 1,
	      "control socket counts %lld page past a file's end",
	      (long long)tb_jint(dev, "counters.eof_pages"));
	json_object_put(keep);
	maps = api_mappings(&keep);
	tb_check(json_object_array_length(maps) == 1 &&
		  tb_jint(json_object_array_get_idx(maps, 0), "len") == (int64_t)(2 * PAGE),
	      "the repaired mapping is still listed, two pages long");
	json_object_put(keep);
	keep = api("status");
	tb_check(!strcmp(json_object_get_string(json_object_object_get(keep, "state")), "running"),
	      "shmvm still running");
	json_object_put(keep);
	json_object_put(api("shutdown"));
	printf("%s\n", tb_failed ? "shm-backend: FAILED" : "shm-backend: all checks passed");
	fflush(stdout);
	exit(tb_failed);
}

static void *script(void *opaque)
{
	unsigned long cycles = *(unsigned long *)opaque;
	struct buf a = buf_new("A", 2), b = buf_new("B", 1), c = buf_new("C", 1), d = buf_new("D", 1);
	struct buf ro = { .fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC) };
	uint64_t end = tb_now_ms() + WAIT_MS;
	json_object *st, *keep, *maps;
	int fds_before, fds_after, slots_before, api_fds_before, pid;
	size_t regions_before;
	uint64_t t0, gpa_before;
	bool window = !strcmp(strategy, "window");

	/* The dispatch thread sets both (vhost/backend.h, "Threads"); the script reads them after. */
	while (__atomic_load_n(&be.req_fd, __ATOMIC_ACQUIRE) < 0 ||
	       !(__atomic_load_n(&be.protocol_features, __ATOMIC_ACQUIRE) & (1ULL << VU_PF_SHMEM))) {
		if (tb_now_ms() > end)
			tb_die("shmvm never set up the backend channel with SHMEM");
		usleep(1000);
	}
	tb_check(true, "SHMEM negotiated, backend channel up");
	if (eof_mode)
		script_eof();
	if (flood_mode)
		script_flood();

	/* Phase 1: the guest reads what we put in A and writes into it. */
	a.p[0] = MAGIC1;
	a.p[1] = 0x1122334455667788ULL;
	tb_check(!vu_backend_shmem_map(&be, 0, 0, OFF_A, 2 * PAGE, true, a.fd), "map A read-write");
	wait_for(&a.p[3], 1, "the guest's phase 1");
	tb_check(a.p[2] == 0xC0FFEE && a.p[PAGE / 8] == 0xDEAD, "the guest's writes landed in the memfd");

	/* Phase 2: a mailbox C, a read-only B, and A unmapped. */
	b.p[0] = MAGIC2;
	b.p[1] = 0x55;
	tb_check(!vu_backend_shmem_map(&be, 0, 0, OFF_C, PAGE, true, c.fd), "map C (mailbox)");
	tb_check(!vu_backend_shmem_map(&be, 0, 0, OFF_B, PAGE, false, b.fd), "map B read-only");
	tb_check(!vu_backend_shmem_unmap(&be, 0, OFF_A, 2 * PAGE), "unmap A");
	wait_for(&c.p[0], 2, "the guest's phase 2");
	tb_check(b.p[1] == 0x55, "the guest's write to read-only B did not reach the file");
	check_dropped_writes(window);

	/* Phase 3: every bad request is refused and the VM goes on. */
	bad_requests(&a, &ro);
	st = api("status");
	tb_check(!strcmp(json_object_get_string(json_object_object_get(st, "state")), "running"),
	      "shmvm still running after the bad requests");
	json_object_put(st);
	c.p[1] = 3;

	/* Phase 4: the control socket's view, then map/unmap cycles leave nothing behind. */
	maps = api_mappings(&keep);
	tb_check(json_object_array_length(maps) == 2, "control socket lists 2 live mappings (%zu)",
	      json_object_array_length(maps));
	for (size_t i = 0; i < json_object_array_length(maps); i++) {
		json_object *m = json_object_array_get_idx(maps, i);
		bool rw = tb_jint(m, "shm_offset") == (int64_t)OFF_C;
		const struct buf *f = rw ? &c : &b;
		json_object *slot = json_object_object_get(m, "slot");

		tb_check(tb_jint(m, "len") == (int64_t)PAGE && tb_jint(m, "shm_offset") == (int64_t)(rw ? OFF_C : OFF_B) &&
		      json_object_get_boolean(json_object_object_get(m, "writable")) == rw &&
		      (uint64_t)tb_jint(m, "ino") == f->st.st_ino && (uint64_t)tb_jint(m, "dev") == f->st.st_dev &&
		      (window ? slot == NULL : json_object_is_type(slot, json_type_int)),
		      "mapping at %#llx: length, protection, slot and backing inode as mapped",
		      (unsigned long long)tb_jint(m, "shm_offset"));
	}
	json_object_put(keep);
	gpa_before = window_gpa();
	st = api("status");
	pid = (int)tb_jint(st, "pid");
	slots_before = (int)tb_jint(st, "memslots.used");
	api_fds_before = (int)tb_jint(st, "open_fds");
	json_object_put(st);
	fds_before = tb_settled_fds(pid, -1);
	regions_before = backend_regions();
	t0 = tb_now_ms();
	for (unsigned long i = 0; i < cycles; i++) {
		int rc = vu_backend_shmem_map(&be, 0, 0, OFF_D + (i % 4) * PAGE, PAGE, i & 1, d.fd);

		if (!rc)
			rc = vu_backend_shmem_unmap(&be, 0, OFF_D + (i % 4) * PAGE, PAGE);
		if (rc)
			tb_die("cycle %lu: %s", i, strerror(-rc));
	}
	t0 = tb_now_ms() - t0;
	st = api("status");
	fds_after = tb_settled_fds(pid, fds_before);
	tb_check(tb_jint(st, "memslots.used") == slots_before && tb_jint(st, "open_fds") == api_fds_before &&
	      fds_after == fds_before,
	      "%lu map/unmap cycles: memory slots %lld (before %d), fds %d (before %d, /proc), "
	      "%llu ms", cycles, (long long)tb_jint(st, "memslots.used"), slots_before, fds_after,
	      fds_before, (unsigned long long)t0);
	json_object_put(st);
	if (be.protocol_features & (1ULL << VU_PF_CONFIGURE_MEM_SLOTS)) {
		uint64_t end_ms = tb_now_ms() + 10000;
		size_t n;
		int64_t lost;

		/* Each cycle's ADD_MEM_REG and REM_MEM_REG reached our table, in order. */
		while ((n = backend_regions()) != regions_before && tb_now_ms() < end_ms)
			usleep(1000);
		st = api("counters");
		lost = tb_jint(json_object_array_get_idx(json_object_object_get(st, "devices"), 0),
			    "counters.mem_reg_failures");
		json_object_put(st);
		tb_check(n == regions_before && lost == 0,
		      "memory table after the cycles: %zu regions (before %zu), %lld not sent",
		      n, regions_before, (long long)lost);
	}
	c.p[1] = 4;

	/* Phase 4b: the guest moves BAR 2 by 4 GiB; the window and its slots follow. */
	wait_for(&c.p[3], 0x4d4f5645, "the guest's BAR move");
	check_moved(window, gpa_before + (4ULL << 30));
	c.p[1] = 5;

	/* Phase 5: the guest resets the device; every mapping goes. */
	wait_no_mappings("the device reset");
	tb_check(true, "device reset dropped every mapping");
	/*
	 * The slots once the guest has moved BAR 2 back, as it does right after
	 * the reset: counted during the move, the window's own slot (window
	 * strategy) may be between its removal and its return.
	 */
	wait_window_at(gpa_before, "the guest's move of BAR 2 back");
	st = api("status");
	tb_check(tb_jint(st, "memslots.used") == slots_before - (window ? 0 : 2),
	      "memory slots after the reset: %lld", (long long)tb_jint(st, "memslots.used"));
	json_object_put(st);

	/* Phase 6: map again, then disconnect. */
	c.p[0] = MAGIC6;
	/*
	 * The dispatch thread's conn_fd, read before the map: the map's req_lock,
	 * which disconnect() takes before it clears conn_fd, orders the two (the
	 * hang-up below does too, but only through the kernel).
	 */
	int conn = be.conn_fd;
	tb_check(!vu_backend_shmem_map(&be, 0, 0, OFF_C, PAGE, true, c.fd), "map C again after the reset");
	wait_for(&c.p[2], 6, "the guest's phase 6");
	shutdown(conn, SHUT_RDWR);
	wait_no_mappings("the disconnect");
	wait_window_at(gpa_before + (4ULL << 30), "the guest's word that it saw the disconnect");
	st = api("status");
	tb_check(tb_jint(st, "memslots.used") == slots_before - (window ? 0 : 2),
	      "disconnect dropped every mapping; memory slots %lld", (long long)tb_jint(st, "memslots.used"));
	json_object_put(st);
	json_object_put(api("shutdown"));
	printf("%s\n", tb_failed ? "shm-backend: FAILED" : "shm-backend: all checks passed");
	fflush(stdout);
	exit(tb_failed);
}

static void shmem_config(void *opaque, uint64_t sizes[VU_MAX_SHMEM_REGIONS])
{
	(void)opaque;
	sizes[0] = REGION_SIZE;
}

static struct vu_backend_ops ops = {
	.num_queues = 2,
	.get_shmem_config = shmem_config,
};

int main(int argc, char **argv)
{
	static unsigned long cycles = 10000;
	pthread_t t;
	int rc;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: shm-backend SOCKET API-SOCKET slot|window "
				"[CYCLES|eof|truncate|flood]\n");
		return 2;
	}
	api_path = argv[2];
	strategy = argv[3];
	if (argc == 5 && !strcmp(argv[4], "eof"))
		eof_mode = 1;
	else if (argc == 5 && !strcmp(argv[4], "truncate"))
		eof_mode = 2;
	else if (argc == 5 && !strcmp(argv[4], "flood"))
		flood_mode = true;
	else if (argc == 5)
		cycles = strtoul(argv[4], NULL, 0);
	if (getenv("SHM_NO_MEM_SLOTS") && !strcmp(getenv("SHM_NO_MEM_SLOTS"), "1"))
		ops.withheld_protocol_features = 1ULL << VU_PF_CONFIGURE_MEM_SLOTS;
	printf("shm-backend: CONFIGURE_MEM_SLOTS %s\n",
	       ops.withheld_protocol_features ? "withheld" : "offered");
	rc = vu_backend_listen(&be, argv[1], &ops, NULL);
	if (rc)
		tb_die("listen on %s: %s", argv[1], strerror(-rc));
	if (pthread_create(&t, NULL, script, &cycles))
		tb_die("pthread_create");
	rc = vu_backend_run(&be);
	/* The frontend going away is phase 6; the script thread ends the process. */
	pause();
	return 0;
}
