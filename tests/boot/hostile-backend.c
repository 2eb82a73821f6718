// SPDX-License-Identifier: GPL-2.0-only
/*
 * hostile-backend: the backends of six vhost-user devices of one shmvm that
 * boots Linux with the heartbeat step, each sending what no backend should
 * (docs/security.md, "Hostile backend"). shmvm must refuse each with a log
 * line naming the problem, an error reply where one was asked for, a counter
 * in the control socket, and nothing left behind, while the guest's
 * heartbeat goes on.
 *
 *   hostile-backend DIR API-SOCKET SHMVM-STDERR SERIAL-FILE
 *
 * The devices, in shmvm's --device order (tests/boot/hostile-backend.sh),
 * serve DIR/NAME.sock:
 *   0 main     virtio-id 21: every bad request that leaves the channel usable
 *              (answered with -errno), then a flood of 100,000 SHMEM_MAPs;
 *              shared-memory region 0 of REGION_SIZE
 *   1 short    22: a header cut short, then silence
 *   2 huge     30: a header announcing a payload over shmvm's maximum
 *   3 fds      31: a message with more than 8 fds
 *   4 cut      33: a hang-up in the middle of a message
 *   5 noreply  6:  a backend (no library) that answers the handshake and
 *              never again: the guest's config write (SET_CONFIG) waits
 *              for a reply that does not come
 * 1-4 each end their backend channel: shmvm does not reconnect, so each has
 * a device of its own. Prints "ok ..."/"FAIL ..." lines; exits 0 when all
 * passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/test_backend.h"
#include "vhost/sock.h"

#define PAGE 4096ULL
#define REGION_SIZE (8ULL << 20)
#define REGION_PAGES (REGION_SIZE / PAGE)
#define OFF_C 0x100000ULL /* a live two-page mapping for the overlap and partial-unmap cases */
#define OFF_D 0x300000ULL /* nothing mapped here */
#define FLOOD 100000UL
#define WAIT_MS 120000
/*
 * shmvm's log lines about a backend are rate-limited: 10 per 5 s per kind
 * (util/log.c). One refusal every 600 ms keeps every line of a case.
 */
#define PACE_MS 600
/* vmm/vm.c's VHOST_REPLY_MS: how long a vCPU waits for a main-channel reply. */
#define REPLY_MS 30000

enum { MAIN, SHORT, HUGE, FDS, CUT, NR_LIB, NOREPLY = NR_LIB, NR_DEV };
static const char *const dev_sock[NR_DEV] = { "main", "short", "huge", "fds", "cut", "noreply" };
static const unsigned int dev_id[NR_DEV] = { 21, 22, 30, 31, 33, 6 };

static const char *dir, *api_path, *err_path, *serial_path;
static struct vu_backend be[NR_LIB];

static json_object *api(const char *cmd)
{
	return tb_api(api_path, cmd, WAIT_MS);
}

/* Counter @name ("refused_maps") of device @dev. */
static int64_t counter(int dev, const char *name)
{
	json_object *keep = api("counters");
	json_object *d = json_object_array_get_idx(json_object_object_get(keep, "devices"), dev);
	char path[64];
	int64_t v;

	if (!d)
		tb_die("api counters: no device %d", dev);
	snprintf(path, sizeof(path), "counters.%s", name);
	v = tb_jint(d, path);
	json_object_put(keep);
	return v;
}

/* ---- what shmvm and the guest wrote ---- */

/* The whole of @path, NUL-terminated (the caller frees); *@len its size. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t cap = 1 << 16, n = 0;
	char *b = malloc(cap);

	if (!f || !b)
		tb_die("%s: %s", path, strerror(errno));
	for (size_t got; (got = fread(b + n, 1, cap - n - 1, f)) > 0;) {
		n += got;
		if (n + 1 == cap && !(b = realloc(b, cap *= 2)))
			tb_die("out of memory");
	}
	fclose(f);
	b[n] = 0;
	if (len)
		*len = n;
	return b;
}

static size_t log_size(void)
{
	struct stat st;

	return stat(err_path, &st) ? 0 : (size_t)st.st_size;
}

/* Did shmvm log a line containing @needle after byte @from? Waits up to @wait_ms. */
static bool logged(size_t from, const char *needle, int wait_ms)
{
	uint64_t end = tb_now_ms() + (uint64_t)wait_ms;

	for (;;) {
		size_t n;
		char *b = slurp(err_path, &n);
		bool found = from <= n && strstr(b + from, needle);

		free(b);
		if (found || tb_now_ms() > end)
			return found;
		usleep(20000);
	}
}

static unsigned long count_in(const char *s, const char *needle)
{
	unsigned long n = 0;

	for (; (s = strstr(s, needle)); s += strlen(needle))
		n++;
	return n;
}

/* The guest's latest heartbeat number (0: none yet). */
static long heartbeat(void)
{
	char *b = slurp(serial_path, NULL), *p = b, *last = NULL;
	long n = 0;

	while ((p = strstr(p, "SHMVM-HB "))) {
		last = p;
		p++;
	}
	if (last)
		n = strtol(last + 9, NULL, 10);
	free(b);
	return n;
}

/* Wait up to @wait_ms for a heartbeat after @hb; the new one (0: none came). */
static long beat_after(long hb, int wait_ms)
{
	uint64_t end = tb_now_ms() + (uint64_t)wait_ms;
	long n;

	while ((n = heartbeat()) <= hb) {
		if (tb_now_ms() > end)
			return 0;
		usleep(20000);
	}
	return n;
}

static bool serial_has(const char *needle, int wait_ms)
{
	uint64_t end = tb_now_ms() + (uint64_t)wait_ms;

	for (;;) {
		char *b = slurp(serial_path, NULL);
		bool found = strstr(b, needle);

		free(b);
		if (found || tb_now_ms() > end)
			return found;
		usleep(50000);
	}
}

/* ---- the cases that leave the channel usable (device 0) ---- */

static int memfd_pages(const char *name, unsigned int pages)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, (off_t)(pages * PAGE)))
		tb_die("memfd %s: %s", name, strerror(errno));
	return fd;
}

/*
 * Send one bad request on device 0's backend channel with NEED_REPLY and
 * check the four things: the reply is @want, shmvm logged @log, @ctr went
 * up by one, and a heartbeat came after.
 */
static void bad(const char *what, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
		const int *fds, size_t nfds, int want, const char *log, const char *ctr)
{
	static uint64_t last;
	uint64_t r = 0;
	size_t from;
	int64_t c0, c1;
	long hb0, hb1;
	bool saw;
	int rc;

	while (tb_now_ms() < last + PACE_MS)
		usleep(10000);
	last = tb_now_ms();
	from = log_size();
	c0 = counter(MAIN, ctr);
	hb0 = heartbeat();
	rc = tb_raw(&be[MAIN], req, flags | VU_FLAG_NEED_REPLY, payload, size, fds, nfds, &r);
	saw = logged(from, log, 3000);
	c1 = counter(MAIN, ctr);
	hb1 = beat_after(hb0, 10000);
	tb_check(!rc && (int64_t)r == want && saw && c1 == c0 + 1 && hb1,
		 "%s: reply %s%lld (want %d), %s \"%s\", %s %lld -> %lld, heartbeat %ld -> %ld", what,
		 rc ? strerror(-rc) : "", rc ? 0LL : (long long)(int64_t)r, want,
		 saw ? "logged" : "NOT logged", log, ctr, (long long)c0, (long long)c1, hb0, hb1);
}

static void bad_map(const char *what, uint8_t shmid, uint64_t fd_off, uint64_t off, uint64_t len,
		    uint64_t flags, int fd, int want, const char *why)
{
	struct vu_mmap mm = { .shmid = shmid, .fd_offset = fd_off, .shm_offset = off, .len = len,
			      .flags = flags };
	char log[96], w[96];

	snprintf(log, sizeof(log), "vhost-user-21: SHMEM_MAP refused (%s)", why);
	snprintf(w, sizeof(w), "SHMEM_MAP %s", what);
	bad(w, VU_BACKEND_SHMEM_MAP, VU_VERSION, &mm, sizeof(mm), &fd, 1, want, log, "refused_maps");
}

static void bad_unmap(const char *what, uint8_t shmid, uint64_t off, uint64_t len, int want,
		      const char *why)
{
	struct vu_mmap mm = { .shmid = shmid, .shm_offset = off, .len = len };
	char log[96], w[96];

	snprintf(log, sizeof(log), "vhost-user-21: SHMEM_UNMAP refused (%s)", why);
	snprintf(w, sizeof(w), "SHMEM_UNMAP %s", what);
	bad(w, VU_BACKEND_SHMEM_UNMAP, VU_VERSION, &mm, sizeof(mm), NULL, 0, want, log,
	    "refused_unmaps");
}

/* A malformed message: refused before its fields are read, counted as a refused message. */
static void bad_msg(const char *what, uint32_t req, uint32_t flags, uint32_t size, const int *fds,
		    size_t nfds, int want, const char *why)
{
	static uint8_t payload[VU_MAX_PAYLOAD];
	struct vu_mmap mm = { .shmid = 0, .shm_offset = OFF_D, .len = PAGE, .flags = 1 };
	char log[128];

	memcpy(payload, &mm, sizeof(mm));
	snprintf(log, sizeof(log), "vhost-user-21: %s", why);
	bad(what, req, flags, payload, size, fds, nfds, want, log, "refused_messages");
}

static void usable_channel_cases(void)
{
	int data = memfd_pages("data", 2), ro = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	int dirfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), pipefd[2], sv[2];
	int two[2] = { data, data };

	if (ro < 0 || dirfd < 0 || pipe2(pipefd, O_CLOEXEC) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		tb_die("fds for the cases: %s", strerror(errno));
	/* Headers: wrong version bits, a reply flag on a request. */
	bad_msg("version 0", VU_BACKEND_SHMEM_MAP, 0, 40, &data, 1, -EINVAL,
		"backend sent a bad BACKEND_SHMEM_MAP (40 bytes, 1 fds): wrong version bits");
	bad_msg("version 2", VU_BACKEND_SHMEM_MAP, 2, 40, &data, 1, -EINVAL,
		"backend sent a bad BACKEND_SHMEM_MAP (40 bytes, 1 fds): wrong version bits");
	bad_msg("version 3", VU_BACKEND_SHMEM_MAP, 3, 40, &data, 1, -EINVAL,
		"backend sent a bad BACKEND_SHMEM_MAP (40 bytes, 1 fds): wrong version bits");
	bad_msg("REPLY flag on a request", VU_BACKEND_SHMEM_MAP, VU_VERSION | VU_FLAG_REPLY, 40,
		&data, 1, -EINVAL, "backend sent a bad BACKEND_SHMEM_MAP (40 bytes, 1 fds): unknown or misplaced flag bits");
	/* Sizes the request does not have (within what shmvm reads at all). */
	bad_msg("SHMEM_MAP of 39 bytes", VU_BACKEND_SHMEM_MAP, VU_VERSION, 39, &data, 1, -EMSGSIZE,
		"backend sent a bad BACKEND_SHMEM_MAP (39 bytes, 1 fds): payload size");
	bad_msg("SHMEM_MAP of 41 bytes", VU_BACKEND_SHMEM_MAP, VU_VERSION, 41, &data, 1, -EMSGSIZE,
		"backend sent a bad BACKEND_SHMEM_MAP (41 bytes, 1 fds): payload size");
	bad_msg("SHMEM_MAP of 4096 bytes", VU_BACKEND_SHMEM_MAP, VU_VERSION, VU_MAX_PAYLOAD, &data, 1,
		-EMSGSIZE, "backend sent a bad BACKEND_SHMEM_MAP (4096 bytes, 1 fds): payload size");
	/* fds where none belong, none where one does, too many. */
	bad_msg("SHMEM_MAP without an fd", VU_BACKEND_SHMEM_MAP, VU_VERSION, 40, NULL, 0, -EBADF,
		"backend sent a bad BACKEND_SHMEM_MAP (40 bytes, 0 fds): wrong number of file descriptors");
	bad_msg("SHMEM_MAP with two fds", VU_BACKEND_SHMEM_MAP, VU_VERSION, 40, two, 2, -EBADF,
		"backend sent a bad BACKEND_SHMEM_MAP (40 bytes, 2 fds): wrong number of file descriptors");
	bad_msg("SHMEM_UNMAP with an fd", VU_BACKEND_SHMEM_UNMAP, VU_VERSION, 40, &data, 1, -EBADF,
		"backend sent a bad BACKEND_SHMEM_UNMAP (40 bytes, 1 fds): wrong number of file descriptors");
	bad_msg("CONFIG_CHANGE_MSG with 8 fds", VU_BACKEND_CONFIG_CHANGE_MSG, VU_VERSION, 0,
		(int[8]){ data, data, data, data, data, data, data, data }, 8, -EBADF,
		"backend sent a bad BACKEND_CONFIG_CHANGE_MSG (0 bytes, 8 fds): wrong number of file descriptors");
	/* Unknown request codes, and a known one shmvm does not serve. */
	bad_msg("unknown request 0", 0, VU_VERSION, 0, NULL, 0, -EOPNOTSUPP,
		"backend sent a bad unknown (0 bytes, 0 fds): unknown request");
	bad_msg("unknown request 99", 99, VU_VERSION, 0, NULL, 0, -EOPNOTSUPP,
		"backend sent a bad unknown (0 bytes, 0 fds): unknown request");
	bad_msg("unknown request 0xffffffff with an fd", 0xffffffffu, VU_VERSION, 8, &data, 1,
		-EOPNOTSUPP, "backend sent a bad unknown (8 bytes, 1 fds): unknown request");
	bad_msg("BACKEND_VRING_CALL", VU_BACKEND_VRING_CALL, VU_VERSION, 8, NULL, 0, -EOPNOTSUPP,
		"backend request BACKEND_VRING_CALL is not supported");

	/* SHMEM_MAP fields: each is checked by the window. */
	tb_check(!vu_backend_shmem_map(&be[MAIN], 0, 0, OFF_C, 2 * PAGE, true, data),
		 "a good two-page map at %#llx (for the overlap cases)", OFF_C);
	bad_map("with unknown shmid 5", 5, 0, OFF_D, PAGE, 1, data, -EINVAL, "no such region");
	bad_map("of length 0", 0, 0, OFF_D, 0, 1, data, -EINVAL, "zero or unaligned");
	bad_map("at unaligned shm_offset", 0, 0, OFF_D + 512, PAGE, 1, data, -EINVAL, "zero or unaligned");
	bad_map("from unaligned fd_offset", 0, 100, OFF_D, PAGE, 1, data, -EINVAL, "zero or unaligned");
	bad_map("of unaligned length", 0, 0, OFF_D, PAGE + 1, 1, data, -EINVAL, "zero or unaligned");
	bad_map("whose shm_offset + len overflows", 0, 0, UINT64_MAX - PAGE + 1, 2 * PAGE, 1, data,
		-EOVERFLOW, "overflow");
	bad_map("whose fd_offset + len overflows", 0, UINT64_MAX - PAGE + 1, OFF_D, 2 * PAGE, 1, data,
		-EOVERFLOW, "overflow");
	bad_map("whose fd_offset + len passes 2^63", 0, 1ULL << 63, OFF_D, PAGE, 1, data, -EOVERFLOW,
		"overflow");
	bad_map("past the region's end", 0, 0, REGION_SIZE - PAGE, 2 * PAGE, 1, data, -ERANGE,
		"outside the region");
	bad_map("at the region's end", 0, 0, REGION_SIZE, PAGE, 1, data, -ERANGE, "outside the region");
	bad_map("overlapping a mapping by a page", 0, 0, OFF_C - PAGE, 2 * PAGE, 1, data, -EEXIST,
		"overlaps a mapping");
	bad_map("overlapping a mapping exactly", 0, 0, OFF_C, 2 * PAGE, 1, data, -EEXIST,
		"overlaps a mapping");
	bad_map("inside a mapping", 0, 0, OFF_C + PAGE, PAGE, 0, data, -EEXIST, "overlaps a mapping");
	bad_map("with unknown flag bits", 0, 0, OFF_D, PAGE, 0x100000001ULL, data, -EINVAL,
		"unknown flags");
	bad_map("read-write of a read-only file", 0, 0, OFF_D, PAGE, 1, ro, -EACCES,
		"Permission denied");
	bad_map("of a pipe", 0, 0, OFF_D, PAGE, 0, pipefd[0], -ENODEV, "No such device");
	bad_map("of a socket", 0, 0, OFF_D, PAGE, 0, sv[0], -ENODEV, "No such device");
	bad_map("of a directory", 0, 0, OFF_D, PAGE, 0, dirfd, -ENODEV, "No such device");
	/* UNMAP must name one whole live mapping. */
	bad_unmap("of part of a mapping", 0, OFF_C, PAGE, -ENOENT, "not one whole mapping");
	bad_unmap("of its second half", 0, OFF_C + PAGE, PAGE, -ENOENT, "not one whole mapping");
	bad_unmap("of more than a mapping", 0, OFF_C, 3 * PAGE, -ENOENT, "not one whole mapping");
	bad_unmap("of nothing", 0, OFF_D, PAGE, -ENOENT, "not one whole mapping");
	bad_unmap("of unknown shmid 9", 9, OFF_D, PAGE, -EINVAL, "bad range");
	bad_unmap("of length 0", 0, OFF_C, 0, -EINVAL, "bad range");
	/* The refusals left the channel and the mapping as they were. */
	tb_check(!vu_backend_shmem_unmap(&be[MAIN], 0, OFF_C, 2 * PAGE) &&
		 !vu_backend_shmem_map(&be[MAIN], 0, 0, OFF_D, PAGE, true, data) &&
		 !vu_backend_shmem_unmap(&be[MAIN], 0, OFF_D, PAGE),
		 "after them: the good mapping unmaps whole, a good map and unmap work");
	close(data);
	close(ro);
	close(dirfd);
	close(pipefd[0]);
	close(pipefd[1]);
	close(sv[0]);
	close(sv[1]);
}

/* ---- 100,000 SHMEM_MAPs ---- */

/*
 * Pipelined: up to BATCH requests in flight, then their replies. shmvm
 * answers in order; it gives up on a backend whose replies pile up unread
 * for 1 s, which BATCH small replies never do.
 */
#define BATCH 64

static int64_t flood_batch(uint32_t req, const struct vu_mmap *mm, size_t n, int fd, int64_t *replies)
{
	int sock = be[MAIN].req_fd;

	for (size_t i = 0; i < n; i++)
		if (vu_msg_send(sock, req, VU_VERSION | VU_FLAG_NEED_REPLY, &mm[i], sizeof(mm[i]),
				fd >= 0 ? &fd : NULL, fd >= 0))
			tb_die("flood: send: %s", strerror(errno));
	for (size_t i = 0; i < n; i++) {
		struct vu_msg m;

		if (vu_msg_recv(sock, &m, 10000) <= 0 || m.hdr.request != req || m.hdr.size != 8)
			tb_die("flood: no reply to request %zu of a batch", i);
		replies[i] = (int64_t)m.payload.u64;
	}
	return 0;
}

static void flood(int slots0)
{
	int fd = memfd_pages("flood", 1);
	struct vu_mmap mm[BATCH];
	int64_t rep[BATCH], maps0 = counter(MAIN, "maps"), refused0 = counter(MAIN, "refused_maps");
	unsigned long ok = 0, exist = 0, other = 0, unmapped = 0;
	size_t from = log_size();
	uint64_t t0 = tb_now_ms();
	long hb0 = heartbeat(), hb1;
	json_object *st;
	int64_t slots;
	char *log;

	pthread_mutex_lock(&be[MAIN].req_lock);
	/* Page i % REGION_PAGES of region 0: the region fills, then every map overlaps. */
	for (unsigned long i = 0; i < FLOOD; i += BATCH) {
		size_t n = FLOOD - i < BATCH ? FLOOD - i : BATCH;

		for (size_t j = 0; j < n; j++)
			mm[j] = (struct vu_mmap){ .shm_offset = ((i + j) % REGION_PAGES) * PAGE,
						  .len = PAGE, .flags = 1 };
		flood_batch(VU_BACKEND_SHMEM_MAP, mm, n, fd, rep);
		for (size_t j = 0; j < n; j++) {
			if (rep[j] == 0)
				ok++;
			else if (rep[j] == -EEXIST)
				exist++;
			else
				other++;
		}
	}
	st = api("status");
	slots = tb_jint(st, "memslots.used");
	json_object_put(st);
	for (unsigned long i = 0; i < REGION_PAGES; i += BATCH) {
		for (size_t j = 0; j < BATCH; j++)
			mm[j] = (struct vu_mmap){ .shm_offset = (i + j) * PAGE, .len = PAGE };
		flood_batch(VU_BACKEND_SHMEM_UNMAP, mm, BATCH, -1, rep);
		for (size_t j = 0; j < BATCH; j++)
			unmapped += rep[j] == 0;
	}
	pthread_mutex_unlock(&be[MAIN].req_lock);
	close(fd);
	tb_check(ok == REGION_PAGES && exist == FLOOD - REGION_PAGES && !other,
		 "%lu SHMEM_MAPs in %llu ms: %lu mapped (the region's %llu pages), %lu refused "
		 "as overlapping, %lu otherwise", FLOOD, (unsigned long long)(tb_now_ms() - t0), ok,
		 REGION_PAGES, exist, other);
	tb_check(slots == slots0 + (int64_t)REGION_PAGES,
		 "with the region full, %lld memory slots in use (%d before: one per mapping)",
		 (long long)slots, slots0);
	tb_check(counter(MAIN, "maps") == maps0 + (int64_t)ok &&
		 counter(MAIN, "refused_maps") == refused0 + (int64_t)exist,
		 "control socket counts the %lu maps and %lu refusals", ok, exist);
	tb_check(unmapped == REGION_PAGES, "all %lu mappings unmapped again", unmapped);
	log = slurp(err_path, NULL);
	tb_check(count_in(log + from, "SHMEM_MAP refused") < 200 &&
		 strstr(log + from, "similar messages suppressed"),
		 "the refusals' log lines were rate-limited (%lu lines, then \"similar messages "
		 "suppressed\")", count_in(log + from, "SHMEM_MAP refused"));
	free(log);
	hb1 = beat_after(hb0, 10000);
	tb_check(hb1, "heartbeat after the flood (%ld -> %ld)", hb0, hb1);
}

/* ---- the cases that end a backend channel (devices 1-4) ---- */

/* Write @len bytes of @buf with @nfds fds in one sendmsg (as many fds as we like). */
static void send_raw(int sock, const void *buf, size_t len, const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 32)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (nfds > 32)
		tb_die("send_raw: %zu fds, at most 32", nfds);
	vu_sock_put_fds(&mh, ctl.buf, fds, nfds);
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)len)
		tb_die("sendmsg: %s", strerror(errno));
}

/*
 * After a channel-ending message on device @dev: shmvm logs @log, closes the
 * channel without a reply (no whole request came, so none is due: we read
 * the end of the stream and nothing before it), counts a refused message,
 * and the guest's heartbeat goes on.
 */
static void channel_ends(int dev, const char *what, const char *log, size_t from, int64_t c0, long hb0)
{
	char buf[64];
	ssize_t n;
	int64_t c1;
	long hb1;
	bool saw = logged(from, log, 5000);

	n = recv(be[dev].req_fd, buf, sizeof(buf), 0); /* blocks until shmvm closes */
	c1 = counter(dev, "refused_messages");
	hb1 = beat_after(hb0, 10000);
	tb_check(saw && n == 0 && c1 == c0 + 1 && hb1,
		 "%s: %s \"%s\", channel closed %s, refused_messages %lld -> %lld, heartbeat %ld -> %ld",
		 what, saw ? "logged" : "NOT logged", log,
		 n == 0 ? "without a reply" : n > 0 ? "AFTER SENDING BYTES" : strerror(errno),
		 (long long)c0, (long long)c1, hb0, hb1);
}

static void channel_ending_cases(void)
{
	struct vu_hdr h = { .request = VU_BACKEND_SHMEM_MAP, .flags = VU_VERSION | VU_FLAG_NEED_REPLY,
			    .size = 40 };
	struct {
		struct vu_hdr h;
		uint8_t payload[40];
	} __packed msg = { .h = h };
	int fds[12];
	size_t from;
	int64_t c0;
	long hb0;
	char log[128];

	/* A header cut short (6 of 12 bytes), then nothing: shmvm waits 1 s for the rest. */
	from = log_size();
	c0 = counter(SHORT, "refused_messages");
	hb0 = heartbeat();
	send_raw(be[SHORT].req_fd, &h, 6, NULL, 0);
	snprintf(log, sizeof(log), "vhost-user-%u: backend channel: a message left incomplete", dev_id[SHORT]);
	channel_ends(SHORT, "a 6-byte header", log, from, c0, hb0);

	/* A header announcing 2 GiB: shmvm cannot skip it, the framing is lost. */
	from = log_size();
	c0 = counter(HUGE, "refused_messages");
	hb0 = heartbeat();
	h.size = 0x7fffffff;
	send_raw(be[HUGE].req_fd, &h, sizeof(h), NULL, 0);
	snprintf(log, sizeof(log), "vhost-user-%u: backend channel: a header announcing a payload over 4096",
		 dev_id[HUGE]);
	channel_ends(HUGE, "a header announcing a 2 GiB payload", log, from, c0, hb0);

	/* 12 fds with one SHMEM_MAP (the kernel passes up to 253): shmvm closes them all. */
	for (int i = 0; i < 12; i++)
		fds[i] = memfd_pages("fds", 1);
	from = log_size();
	c0 = counter(FDS, "refused_messages");
	hb0 = heartbeat();
	send_raw(be[FDS].req_fd, &msg, sizeof(msg), fds, 12);
	for (int i = 0; i < 12; i++)
		close(fds[i]);
	snprintf(log, sizeof(log), "vhost-user-%u: backend channel: more file descriptors", dev_id[FDS]);
	channel_ends(FDS, "a SHMEM_MAP with 12 fds", log, from, c0, hb0);

	/* A hang-up after the header and 16 of the 40 payload bytes. */
	from = log_size();
	c0 = counter(CUT, "refused_messages");
	hb0 = heartbeat();
	send_raw(be[CUT].req_fd, &msg, sizeof(msg.h) + 16, NULL, 0);
	shutdown(be[CUT].req_fd, SHUT_WR);
	snprintf(log, sizeof(log), "vhost-user-%u: backend channel: the backend hung up in the middle",
		 dev_id[CUT]);
	channel_ends(CUT, "a hang-up in the middle of a SHMEM_MAP", log, from, c0, hb0);
}

/* ---- a backend that never replies (device 5, no library) ---- */

static volatile uint32_t noreply_req; /* the request left unanswered, 0 until then */
static volatile uint64_t noreply_at;  /* when it came */

static void *noreply_thread(void *opaque)
{
	int lfd = *(int *)opaque, s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	struct vu_msg m;

	if (s < 0)
		tb_die("noreply: accept: %s", strerror(errno));
	/* Answer the handshake like any backend (REPLY_ACK and CONFIG), and nothing after it. */
	while (vu_msg_recv(s, &m, -1) > 0) {
		const struct vu_msg_rule *r = vu_msg_rule(VU_DIR_FRONTEND_REQ, m.hdr.request);
		uint64_t v = 0;

		vu_msg_close_fds(&m);
		if (m.hdr.request == VU_GET_CONFIG || m.hdr.request == VU_SET_CONFIG) {
			if (!noreply_req) {
				noreply_at = tb_now_ms();
				noreply_req = m.hdr.request;
			}
			continue;
		}
		if (m.hdr.request == VU_GET_FEATURES)
			v = (1ULL << VU_F_PROTOCOL_FEATURES) | (1ULL << 32 /* VERSION_1 */);
		else if (m.hdr.request == VU_GET_PROTOCOL_FEATURES)
			v = (1ULL << VU_PF_REPLY_ACK) | (1ULL << VU_PF_CONFIG);
		if (((r && r->has_reply) || (m.hdr.flags & VU_FLAG_NEED_REPLY)) &&
		    vu_msg_reply_u64(s, m.hdr.request, v))
			break;
	}
	return NULL;
}

static void noreply_case(void)
{
	uint64_t end = tb_now_ms() + WAIT_MS, waited;
	json_object *st, *devs;
	size_t from = log_size();
	long hb0, hb1;
	long long errors;
	bool saw, broken;
	char log[128];

	while (!noreply_req) {
		if (tb_now_ms() > end || serial_has("SHMVM-HB-NOREPLY done", 0))
			tb_die("the guest's config write never reached the backend");
		usleep(20000);
	}
	hb0 = heartbeat();
	/* shmvm's loop is not the vCPU: the control socket answers while it waits. */
	st = api("status");
	tb_check(!strcmp(json_object_get_string(json_object_object_get(st, "state")), "running"),
		 "while a vCPU waits for the backend's %s reply, the control socket answers",
		 vu_msg_name(VU_DIR_FRONTEND_REQ, noreply_req));
	json_object_put(st);
	snprintf(log, sizeof(log), "vhost-user %s/%s.sock: %s reply: Connection timed out", dir,
		 dev_sock[NOREPLY], vu_msg_name(VU_DIR_FRONTEND_REQ, noreply_req));
	/* Not before its timeout; how long after it depends on the (nested) machine's load. */
	saw = logged(from, log, REPLY_MS + 120000);
	waited = tb_now_ms() - noreply_at;
	tb_check(saw && waited >= REPLY_MS - 2000,
		 "shmvm gave up on the reply after %llu ms: %s \"%s\"", (unsigned long long)waited,
		 saw ? "logged" : "NOT logged", log);
	snprintf(log, sizeof(log), "vhost-user-%u: vhost-user backend %s/%s.sock: %s failed on the main "
		 "channel; the device needs a reset", dev_id[NOREPLY], dir, dev_sock[NOREPLY],
		 vu_msg_name(VU_DIR_FRONTEND_REQ, noreply_req));
	saw = logged(from, log, 5000);
	st = api("devices");
	devs = json_object_object_get(st, "devices");
	broken = json_object_get_boolean(json_object_object_get(
		json_object_array_get_idx(devs, NOREPLY), "broken"));
	json_object_put(st);
	st = api("counters");
	errors = tb_jint(json_object_array_get_idx(json_object_object_get(st, "devices"), NOREPLY),
			 "counters.main_channel_errors");
	json_object_put(st);
	tb_check(errors == 1, "the control socket counts %lld main-channel error", (long long)errors);
	hb1 = beat_after(heartbeat(), 10000);
	tb_check(saw && broken && hb1 && serial_has("SHMVM-HB-NOREPLY done rc=0", 10000),
		 "device marked broken (%s, control socket broken=%s), the guest's write returned, "
		 "heartbeat %ld -> %ld", saw ? "logged" : "NOT logged", broken ? "true" : "false", hb0,
		 hb1);
}

/* ---- the script ---- */

/* shmvm's fds as "N -> target" lines (the caller frees), to name any left behind. */
static char *fd_list(int pid)
{
	char path[64], target[256], *out = calloc(1, 1 << 16);
	size_t len = 0;

	for (int fd = 0; fd < 1024 && out; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		len += (size_t)snprintf(out + len, (1 << 16) - len, "%d -> %s\n", fd, target);
	}
	return out;
}

static void print_new_fds(const char *before, const char *after)
{
	for (const char *l = after; *l;) {
		const char *e = strchr(l, '\n');
		char line[300];

		snprintf(line, sizeof(line), "%.*s\n", (int)(e - l), l);
		if (!strstr(before, line))
			printf("  new fd in shmvm: %s", line);
		l = e + 1;
	}
}

static void *script(void *opaque)
{
	uint64_t end = tb_now_ms() + WAIT_MS, t0;
	json_object *st;
	int pid, fds0, api_fds0, slots0, fds1;
	char want[64], *fdl0;

	(void)opaque;
	for (int i = 0; i < NR_LIB; i++)
		while (be[i].req_fd < 0 || (i == MAIN && !(be[i].protocol_features & (1ULL << VU_PF_SHMEM)))) {
			if (tb_now_ms() > end)
				tb_die("shmvm never set up device %d's backend channel", i);
			usleep(10000);
		}
	t0 = tb_now_ms();
	if (!beat_after(0, WAIT_MS))
		tb_die("no heartbeat from the guest");
	printf("(first heartbeat %llu ms after the backend channels were up)\n",
	       (unsigned long long)(tb_now_ms() - t0));
	for (int i = 0; i < NR_DEV; i++) {
		snprintf(want, sizeof(want), "device=0x%04x driver=none", dev_id[i]);
		tb_check(serial_has(want, 0), "the guest sees virtio device %u and no driver takes it",
			 dev_id[i]);
	}
	st = api("status");
	pid = (int)tb_jint(st, "pid");
	api_fds0 = (int)tb_jint(st, "open_fds");
	slots0 = (int)tb_jint(st, "memslots.used");
	json_object_put(st);
	fds0 = tb_settled_fds(pid, -1);
	fdl0 = fd_list(pid);
	printf("baseline: %d fds (/proc), %d (open_fds), %d memory slots\n", fds0, api_fds0, slots0);

	t0 = tb_now_ms();
	noreply_case();
	printf("(never-replies case: %llu ms; shmvm has %d fds)\n", (unsigned long long)(tb_now_ms() - t0),
	       tb_settled_fds(pid, fds0));
	t0 = tb_now_ms();
	usable_channel_cases();
	printf("(usable-channel cases: %llu ms; shmvm has %d fds)\n", (unsigned long long)(tb_now_ms() - t0),
	       tb_settled_fds(pid, fds0));
	t0 = tb_now_ms();
	flood(slots0);
	printf("(flood: %llu ms; shmvm has %d fds)\n", (unsigned long long)(tb_now_ms() - t0),
	       tb_settled_fds(pid, fds0));
	t0 = tb_now_ms();
	channel_ending_cases();
	printf("(channel-ending cases: %llu ms; shmvm has %d fds)\n", (unsigned long long)(tb_now_ms() - t0),
	       tb_settled_fds(pid, fds0));

	st = api("status");
	fds1 = tb_settled_fds(pid, fds0);
	tb_check(!strcmp(json_object_get_string(json_object_object_get(st, "state")), "running") &&
		 tb_jint(st, "open_fds") == api_fds0 && tb_jint(st, "memslots.used") == slots0 &&
		 fds1 == fds0,
		 "after all of it shmvm runs with %d fds (/proc; %d before), open_fds %lld (%d), "
		 "memory slots %lld (%d)", fds1, fds0, (long long)tb_jint(st, "open_fds"), api_fds0,
		 (long long)tb_jint(st, "memslots.used"), slots0);
	json_object_put(st);
	if (fds1 != fds0) {
		char *fdl1 = fd_list(pid);

		print_new_fds(fdl0, fdl1);
		free(fdl1);
	}
	free(fdl0);
	json_object_put(api("shutdown"));
	printf("hostile-backend: %s\n", tb_failed ? "FAILED" : "all checks passed");
	fflush(stdout);
	exit(tb_failed);
}

static void shmem_config(void *opaque, uint64_t sizes[VU_MAX_SHMEM_REGIONS])
{
	(void)opaque;
	sizes[0] = REGION_SIZE;
}

/* Device 0 has a region; CONFIGURE_MEM_SLOTS is withheld (its ADD_MEM_REGs would only slow the flood). */
static const struct vu_backend_ops main_ops = {
	.num_queues = 1,
	.get_shmem_config = shmem_config,
	.withheld_protocol_features = 1ULL << VU_PF_CONFIGURE_MEM_SLOTS,
};
static const struct vu_backend_ops plain_ops = { .num_queues = 1 };

static void *serve(void *opaque)
{
	struct vu_backend *b = opaque;

	/* Ends when shmvm goes; the script thread ends the process. */
	(void)!vu_backend_run(b);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	pthread_t t;
	char path[256];
	static int lfd;

	if (argc != 5) {
		fprintf(stderr, "usage: hostile-backend DIR API-SOCKET SHMVM-STDERR SERIAL-FILE\n");
		return 2;
	}
	dir = argv[1];
	api_path = argv[2];
	err_path = argv[3];
	serial_path = argv[4];
	for (int i = 0; i < NR_LIB; i++) {
		int rc;

		snprintf(path, sizeof(path), "%s/%s.sock", dir, dev_sock[i]);
		rc = vu_backend_listen(&be[i], path, i == MAIN ? &main_ops : &plain_ops, NULL);
		if (rc)
			tb_die("listen on %s: %s", path, strerror(-rc));
		if (pthread_create(&t, NULL, serve, &be[i]))
			tb_die("pthread_create");
	}
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/%s.sock", dir, dev_sock[NOREPLY]);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1))
		tb_die("listen on %s: %s", a.sun_path, strerror(errno));
	if (pthread_create(&t, NULL, noreply_thread, &lfd) || pthread_create(&t, NULL, script, NULL))
		tb_die("pthread_create");
	pause();
	return 0;
}
