// SPDX-License-Identifier: GPL-2.0-only
/*
 * shmvm-bench: a vhost-user backend that times SHMEM_MAP and SHMEM_UNMAP
 * through a frontend's backend channel, by mapping size and number of live
 * mappings, against the least any frontend must do, measured in the same run
 * (docs/benchmarks.md).
 *
 * It answers GET_SHMEM_CONFIG with region 0 = the window and waits for a
 * frontend that negotiated SHMEM, BACKEND_REQ, BACKEND_SEND_FD and REPLY_ACK.
 * Layout in the window, for mapping size S: the report page at 0 (first
 * access, below), the timed mapping at S, the live ones at 2S, 3S, ... For
 * each size and live count L it maps L pieces of a memfd (untimed) and then,
 * CYCLES times, interleaved, times each request with its ack:
 *   - map and unmap of the timed piece through the frontend;
 *   - the same through shm-limit (tools/bench/shm-limit.c), a frontend that
 *     does only what none can avoid, holding the same L mappings in a
 *     scratch VM of the same strategy, reached over a socketpair with the
 *     same messages and the same code: the intrinsic limit;
 *   - an unmap of the free timed offset, which the frontend refuses at once
 *     (-ENOENT, checked): the channel's own round trip.
 * Then a burst of back-to-back map+unmap pairs (operations per second), and,
 * with --first-access N, N times: the time from a SHMEM_MAP sent to the guest
 * seeing the mapped page (tests/kvm/guests/poll.S polls the timed offset and
 * writes what it finds into the report page, which this side reads: what a
 * DAX reader waits for). Every mapping made is unmapped before exit, and the
 * socket file is removed on every way out (an error, the end, SIGINT,
 * SIGTERM, SIGHUP).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mm/shm_window.h"
#include "tools/bench/api_client.h"
#include "util/compiler.h"
#include "util/parse.h"
#include "vhost/backend.h"
#include "vhost/sock.h"

#define MAX_LIST 16
#define WAIT_MS	 120000
#define PAGE	 4096ULL

/* The timed requests of one cycle, in the order they are made. */
enum { T_MAP, T_UNMAP, T_LIMIT_MAP, T_LIMIT_UNMAP, T_CHANNEL, T_FIRST, NR_T };

struct stats {
	uint64_t n;
	double min, p50, p90, p99, max; /* µs */
};

struct bench {
	const char *socket, *api, *limit_path, *csv_path, *frontend, *kvm_label, *host_kernel;
	uint64_t window, cycles, burst, first_rounds;
	uint64_t sizes[MAX_LIST], live[MAX_LIST];
	unsigned int nsizes, nlive;
	bool shutdown, print_window, no_limit, mem_slots;
	const char *strategy; /* the frontend's, from its control socket; "?" without --api */
	uint64_t free_slots;  /* KVM slots left for mappings (slot strategy), 0: unknown */
	struct vu_backend be;
	int fd;				  /* the memfd every piece maps, as large as the largest size */
	volatile uint64_t *word;	  /* its first word, for the first-access pattern */
	int report_fd;			  /* the report page's memfd */
	volatile uint64_t *report;	  /* [0] poll (1) or not, [1] the offset, [2] what the guest saw */
	int limit_sock;			  /* shm-limit, -1 without */
	pid_t limit_pid;
	uint64_t live_fe, live_limit;	  /* live pieces mapped now in each */
	uint64_t *t[NR_T];		  /* ns, one per cycle (first access: per round) */
	FILE *csv;
};

static const char usage[] =
    "usage: shmvm-bench --socket PATH [--sizes LIST] [--live LIST] [--cycles N] [--burst N]\n"
    "                   [--first-access N] [--api PATH] [--shutdown] [--limit PATH | --no-limit]\n"
    "                   [--mem-slots]\n"
    "                   [--csv FILE] [--frontend NAME] [--kvm TEXT] [--host-kernel TEXT]\n"
    "                   [--window SIZE] [--help]\n"
    "       shmvm-bench --print-window [--sizes LIST] [--live LIST] [--window SIZE]\n"
    "\n"
    "A vhost-user backend that times SHMEM_MAP/SHMEM_UNMAP through the frontend's\n"
    "backend channel by mapping size and number of live mappings, beside the least\n"
    "a frontend must do (shm-limit, same place, same run, interleaved) and the\n"
    "channel's own round trip (a request the frontend refuses at once).\n"
    "\n"
    "  --socket PATH      listen here for the frontend (shmvm --device vhost-user,...)\n"
    "  --sizes LIST       bytes per mapping, page multiples (default 4K,64K,2M,64M);\n"
    "                     --map-size SIZE is one size\n"
    "  --live LIST        live mappings beside the timed one (default 0,100,1000,8000);\n"
    "                     each is capped, saying why, where the window or KVM's\n"
    "                     memory slots hold fewer\n"
    "  --cycles N         timed cycles per size and live count (default 1000)\n"
    "  --burst N          back-to-back map+unmap pairs for operations per second\n"
    "                     (default: as many as --cycles)\n"
    "  --first-access N   N times, the time from SHMEM_MAP to the guest seeing the page\n"
    "                     (needs the guest tests/kvm/guests/poll.S; default 0: not)\n"
    "  --api PATH         the frontend's control socket (shmvm --api-socket): wait for\n"
    "                     the window in the guest, learn the strategy and free slots\n"
    "  --shutdown         ask the frontend to stop through --api at the end\n"
    "  --limit PATH       the shm-limit program (default: beside this one)\n"
    "  --no-limit         measure no limit (its columns stay empty)\n"
    "  --mem-slots        offer CONFIGURE_MEM_SLOTS, as shmvm-fsd does: the frontend then\n"
    "                     also announces each mapping to this backend (ADD/REM_MEM_REG),\n"
    "                     which maps it too; without it, the map path alone\n"
    "  --csv FILE         append a row per size, live count and operation (the header\n"
    "                     first if FILE is empty)\n"
    "  --frontend NAME    the frontend's name in the CSV (default shmvm)\n"
    "  --kvm TEXT         what KVM this is, for the CSV (default: native)\n"
    "  --host-kernel TEXT the host's kernel, for the CSV (default: uname -r here)\n"
    "  --window SIZE      shared-memory region 0, at most 32G (default: the smallest\n"
    "                     power of two that holds every size's mappings)\n"
    "  --print-window     check the options, print the window size in bytes, exit\n";

static void fail(const char *fmt, ...) __printf(1, 2);

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "shmvm-bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* ---- options ---- */

/* A comma-separated list of @size values (parse_size) or counts into @out[MAX_LIST]. */
static int parse_list(const char *s, bool size, uint64_t *out, unsigned int *n)
{
	char copy[512], *save = NULL;

	if (strlen(s) >= sizeof(copy) || !*s)
		return -EINVAL;
	memcpy(copy, s, strlen(s) + 1);
	*n = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n == MAX_LIST)
			return -E2BIG;
		if (size ? parse_size(tok, &out[*n]) || !out[*n] || out[*n] % PAGE ||
				   out[*n] > SHM_WINDOW_MAX / 2
			 : parse_u64(tok, 0, UINT32_MAX, &out[*n]))
			return -EINVAL;
		(*n)++;
	}
	return *n ? 0 : -EINVAL;
}

/* The most live pieces of @size a window of @window holds beside the report page and the timed one. */
static uint64_t live_cap(uint64_t window, uint64_t size)
{
	return window / size >= 2 ? window / size - 2 : 0;
}

static uint64_t max_live(const struct bench *b)
{
	uint64_t m = 0;

	for (unsigned int i = 0; i < b->nlive; i++)
		m = MAX(m, b->live[i]);
	return m;
}

/* 0, 1 (--help printed), or -EINVAL after saying which option is wrong. */
static int parse_args(struct bench *b, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"window", required_argument, NULL, 'w'},
	    {"sizes", required_argument, NULL, 'z'},
	    {"map-size", required_argument, NULL, 'm'},
	    {"live", required_argument, NULL, 'l'},
	    {"cycles", required_argument, NULL, 'c'},
	    {"burst", required_argument, NULL, 'b'},
	    {"first-access", required_argument, NULL, 'F'},
	    {"api", required_argument, NULL, 'a'},
	    {"shutdown", no_argument, NULL, 'S'},
	    {"limit", required_argument, NULL, 'L'},
	    {"no-limit", no_argument, NULL, 'N'},
	    {"mem-slots", no_argument, NULL, 'M'},
	    {"csv", required_argument, NULL, 'C'},
	    {"frontend", required_argument, NULL, 'f'},
	    {"kvm", required_argument, NULL, 'k'},
	    {"host-kernel", required_argument, NULL, 'K'},
	    {"print-window", no_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t burst = 0, need = 0;
	int c;

	b->cycles = 1000;
	b->frontend = "shmvm";
	b->kvm_label = "native";
	if (parse_list("4K,64K,2M,64M", true, b->sizes, &b->nsizes) ||
	    parse_list("0,100,1000,8000", false, b->live, &b->nlive))
		return -EINVAL;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			b->socket = optarg;
			break;
		case 'w':
			if (parse_size(optarg, &b->window) || !b->window || b->window % PAGE ||
			    b->window > SHM_WINDOW_MAX) {
				fail("--window '%s': want a non-zero page multiple up to %lluG",
				     optarg, (unsigned long long)(SHM_WINDOW_MAX / GiB));
				return -EINVAL;
			}
			break;
		case 'z':
		case 'm':
			if ((c == 'm' && strchr(optarg, ',')) ||
			    parse_list(optarg, true, b->sizes, &b->nsizes)) {
				fail("--%s '%s': want %s page multiple%s up to %lluG",
				     c == 'm' ? "map-size" : "sizes", optarg,
				     c == 'm' ? "a" : "a comma-separated list of at most 16",
				     c == 'm' ? "" : "s", (unsigned long long)(SHM_WINDOW_MAX / 2 / GiB));
				return -EINVAL;
			}
			break;
		case 'l':
			if (parse_list(optarg, false, b->live, &b->nlive)) {
				fail("--live '%s': want a comma-separated list of at most %d counts",
				     optarg, MAX_LIST);
				return -EINVAL;
			}
			break;
		case 'c':
		case 'b':
		case 'F':
			if (parse_u64(optarg, c == 'F' ? 0 : 1, 10000000,
				      c == 'c' ? &b->cycles : c == 'b' ? &burst : &b->first_rounds)) {
				fail("--%s '%s': want a number from %d to 10000000",
				     c == 'c' ? "cycles" : c == 'b' ? "burst" : "first-access", optarg,
				     c == 'F' ? 0 : 1);
				return -EINVAL;
			}
			break;
		case 'a':
			b->api = optarg;
			break;
		case 'S':
			b->shutdown = true;
			break;
		case 'L':
			b->limit_path = optarg;
			break;
		case 'N':
			b->no_limit = true;
			break;
		case 'M':
			b->mem_slots = true;
			break;
		case 'C':
			b->csv_path = optarg;
			break;
		case 'f':
			b->frontend = optarg;
			break;
		case 'k':
			b->kvm_label = optarg;
			break;
		case 'K':
			b->host_kernel = optarg;
			break;
		case 'P':
			b->print_window = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			fail("option '%s' is unknown or needs a value (see --help)",
			     argv[optind - 1]);
			return -EINVAL;
		}
	}
	b->burst = burst ? burst : b->cycles;
	if (optind < argc) {
		fail("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!b->socket && !b->print_window) {
		fail("--socket PATH is required");
		return -EINVAL;
	}
	if (b->shutdown && !b->api) {
		fail("--shutdown needs --api PATH");
		return -EINVAL;
	}
	if (b->first_rounds && !b->api && !b->print_window) {
		fail("--first-access needs --api PATH (to know the window is in the guest)");
		return -EINVAL;
	}
	/* Each size's pieces: the report page, the timed one, the live ones (capped later). */
	for (unsigned int i = 0; i < b->nsizes; i++)
		need = MAX(need, (MIN(max_live(b), live_cap(SHM_WINDOW_MAX, b->sizes[i])) + 2) *
				     b->sizes[i]);
	if (!b->window) {
		for (b->window = 2 * MiB; b->window < need;)
			b->window *= 2;
	}
	for (unsigned int i = 0; i < b->nsizes; i++) {
		if (b->window < 2 * b->sizes[i]) {
			fail("--window %llu MiB cannot hold a mapping of %llu MiB beside the report "
			     "page: give a larger --window or leave it out",
			     (unsigned long long)(b->window / MiB),
			     (unsigned long long)(b->sizes[i] / MiB));
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- statistics ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile @p of sorted @v[@n], in µs. */
static double pct_us(const uint64_t *v, uint64_t n, unsigned int p)
{
	uint64_t rank = (n * p + 99) / 100;

	return (double)v[rank ? rank - 1 : 0] / 1000.0;
}

static struct stats stats_of(uint64_t *v, uint64_t n)
{
	struct stats s = {.n = n, .min = NAN, .p50 = NAN, .p90 = NAN, .p99 = NAN, .max = NAN};

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), cmp_u64);
	s.min = (double)v[0] / 1000.0;
	s.p50 = pct_us(v, n, 50);
	s.p90 = pct_us(v, n, 90);
	s.p99 = pct_us(v, n, 99);
	s.max = (double)v[n - 1] / 1000.0;
	return s;
}

/* ---- the frontend ---- */

static void shmem_config(void *opaque, uint64_t sizes[VU_MAX_SHMEM_REGIONS])
{
	struct bench *b = opaque;

	sizes[0] = b->window;
}

/* Not const: --mem-slots decides whether CONFIGURE_MEM_SLOTS is offered. */
static struct vu_backend_ops bench_ops = {
    .num_queues = 2, /* virtio-id 26 (fs) wants hiprio + requests */
    .get_shmem_config = shmem_config,
};

/* Wait for the frontend's protocol features and the backend channel. */
static int wait_frontend(struct bench *b)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} need[] = {
	    {VU_PF_SHMEM, "SHMEM"},
	    {VU_PF_BACKEND_REQ, "BACKEND_REQ"},
	    {VU_PF_BACKEND_SEND_FD, "BACKEND_SEND_FD"},
	    {VU_PF_REPLY_ACK, "REPLY_ACK"},
	};
	uint64_t end = now_ns() + WAIT_MS * 1000000ULL, pf;
	char missing[128] = "";

	/* SET_PROTOCOL_FEATURES comes at connect; SET_FEATURES only once a guest driver runs. */
	while (!(pf = __atomic_load_n(&b->be.protocol_features, __ATOMIC_ACQUIRE))) {
		if (now_ns() > end) {
			fail("no frontend negotiated protocol features on %s within %d s",
			     b->socket, WAIT_MS / 1000);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
	for (size_t i = 0; i < ARRAY_SIZE(need); i++)
		if (!(pf & (1ULL << need[i].bit))) {
			strcat(missing, " ");
			strcat(missing, need[i].name);
		}
	if (*missing) {
		fail("the frontend did not negotiate%s (protocol features %#llx): it cannot map "
		     "into a shared-memory window (QEMU 7.2 cannot)",
		     missing, (unsigned long long)pf);
		return -EOPNOTSUPP;
	}
	while (__atomic_load_n(&b->be.req_fd, __ATOMIC_ACQUIRE) < 0) {
		if (now_ns() > end) {
			fail("the frontend never sent its backend channel (SET_BACKEND_REQ_FD)");
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
	return 0;
}

/*
 * With --api: wait until the control socket shows our window at a guest
 * address; learn the strategy and, for the slot strategy, the slots left.
 */
static int wait_window(struct bench *b)
{
	uint64_t end = now_ns() + WAIT_MS * 1000000ULL;
	json_object *r, *dev;
	int64_t gpa = -1, max, used;
	const char *s;
	int rc;

	for (;;) {
		rc = api_request(b->api, "regions", WAIT_MS, &r);
		if (rc) {
			fail("--api %s: regions: %s", b->api,
			     rc == -EPROTO ? "not an ok JSON reply" : strerror(-rc));
			return rc;
		}
		dev = json_object_object_get(r, "devices");
		dev = dev && json_object_array_length(dev) >= 1 ? json_object_array_get_idx(dev, 0) : NULL;
		if (dev && !api_get_int(dev, "window.gpa", &gpa))
			break;
		json_object_put(r);
		if (now_ns() > end) {
			fail("--api %s: the window never appeared in the guest's address space",
			     b->api);
			return -ETIMEDOUT;
		}
		usleep(10000);
	}
	s = api_get_str(dev, "strategy");
	b->strategy = s && (!strcmp(s, "slot") || !strcmp(s, "window")) ? strdup(s) : "?";
	json_object_put(r);
	if (!strcmp(b->strategy, "slot")) {
		rc = api_request(b->api, "status", WAIT_MS, &r);
		if (!rc && !api_get_int(r, "memslots.max", &max) &&
		    !api_get_int(r, "memslots.used", &used) && max > used + 2)
			b->free_slots = (uint64_t)(max - used - 2); /* the timed piece, the report page */
		if (!rc)
			json_object_put(r);
	}
	return 0;
}

/* ---- shm-limit, the least a frontend does ---- */

static int limit_start(struct bench *b, char *argv0)
{
	char path[4096], fdarg[16], window[32];
	int sv[2];

	b->limit_sock = -1;
	if (b->no_limit)
		return 0;
	if (!strcmp(b->strategy, "?")) {
		fail("the limit needs the frontend's strategy: give --api, or --no-limit");
		return -EINVAL;
	}
	if (b->limit_path)
		snprintf(path, sizeof(path), "%s", b->limit_path);
	else
		snprintf(path, sizeof(path), "%s/shm-limit", dirname(argv0));
	if (access(path, X_OK)) {
		fail("%s: %s (--limit PATH, or --no-limit)", path, strerror(errno));
		return -errno;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	b->limit_pid = fork();
	if (b->limit_pid < 0)
		return -errno;
	if (b->limit_pid == 0) {
		/* Its end survives the exec; ours does not. */
		if (fcntl(sv[1], F_SETFD, 0))
			_exit(127);
		snprintf(fdarg, sizeof(fdarg), "%d", sv[1]);
		snprintf(window, sizeof(window), "%llu", (unsigned long long)b->window);
		execl(path, path, "--socket-fd", fdarg, "--strategy", b->strategy, "--window", window,
		      (char *)NULL);
		fprintf(stderr, "shmvm-bench: %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(sv[1]);
	b->limit_sock = sv[0];
	return 0;
}

static int limit_stop(struct bench *b)
{
	int st;

	if (b->limit_sock < 0)
		return 0;
	close(b->limit_sock); /* it ends at the end of its socket */
	b->limit_sock = -1;
	if (waitpid(b->limit_pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fail("shm-limit did not end cleanly (status %#x)", st);
		return -EIO;
	}
	return 0;
}

/* A request to shm-limit, sent and answered by the same code as backend_request(). */
static int limit_request(struct bench *b, uint32_t req, const struct vu_mmap *mm, int fd)
{
	struct vu_msg m;
	int rc = vu_msg_send(b->limit_sock, req, VU_VERSION | VU_FLAG_NEED_REPLY, mm, sizeof(*mm),
			     fd >= 0 ? &fd : NULL, fd >= 0);

	if (rc)
		return rc;
	rc = vu_msg_recv(b->limit_sock, &m, 30000);
	if (rc <= 0)
		return rc ? rc : -ECONNRESET;
	rc = vu_msg_check(VU_DIR_BACKEND_REPLY, &m.hdr, m.nfds);
	vu_msg_close_fds(&m);
	if (!rc && m.hdr.request != req)
		rc = -EPROTO;
	if (!rc && m.payload.u64)
		rc = (int64_t)m.payload.u64 < 0 && (int64_t)m.payload.u64 > -4096 ?
			     (int)(int64_t)m.payload.u64 : -EIO;
	return rc;
}

/* ---- mappings ---- */

/* Map or unmap @len bytes at window offset @off, through the frontend or the limit. */
static int request(struct bench *b, bool limit, bool map, uint64_t off, uint64_t len, int fd)
{
	struct vu_mmap mm = {.shm_offset = off, .len = len, .flags = VU_SHMEM_MAP_F_RW};
	const char *who = limit ? "shm-limit" : b->frontend;
	int rc;

	if (limit)
		rc = limit_request(b, map ? VU_BACKEND_SHMEM_MAP : VU_BACKEND_SHMEM_UNMAP, &mm,
				   map ? fd : -1);
	else if (map)
		rc = vu_backend_shmem_map(&b->be, 0, 0, off, len, true, fd);
	else
		rc = vu_backend_shmem_unmap(&b->be, 0, off, len);
	if (rc)
		fail("%s: SHMEM_%s of %llu KiB at %#llx: %s", who, map ? "MAP" : "UNMAP",
		     (unsigned long long)(len / KiB), (unsigned long long)off, strerror(-rc));
	return rc;
}

/* Exactly @want live pieces of @size (at 2S, 3S, ...) in the frontend and in the limit. */
static int set_live(struct bench *b, uint64_t size, uint64_t want)
{
	for (int limit = 0; limit < 2; limit++) {
		uint64_t *have = limit ? &b->live_limit : &b->live_fe;

		if (limit && b->limit_sock < 0)
			continue;
		for (; *have < want; (*have)++)
			if (request(b, limit, true, (*have + 2) * size, size, b->fd))
				return -EIO;
		for (; *have > want; (*have)--)
			if (request(b, limit, false, (*have + 1) * size, size, -1))
				return -EIO;
	}
	return 0;
}

/* ---- the measurement ---- */

/* One SHMEM_MAP until the guest reports the page's new first word; ns in *@t. */
static int first_access(struct bench *b, uint64_t size, uint64_t *t)
{
	static uint64_t round;
	uint64_t pattern = 0x5eed000000000000ULL | ++round, t0, end;

	/* In the file before the map is asked for: the guest can only see it mapped. */
	__atomic_store_n(b->word, pattern, __ATOMIC_SEQ_CST);
	t0 = now_ns();
	if (request(b, false, true, size, size, b->fd))
		return -EIO;
	for (end = t0 + 10000000000ULL; __atomic_load_n(&b->report[2], __ATOMIC_ACQUIRE) != pattern;) {
		if (now_ns() > end) {
			fail("the guest never saw the page mapped at %#llx (10 s): first access needs "
			     "the guest tests/kvm/guests/poll.S", (unsigned long long)size);
			return -ETIMEDOUT;
		}
		sched_yield(); /* where the guest's vCPU shares our CPU (nested: one), let it run */
	}
	*t = now_ns() - t0;
	return request(b, false, false, size, size, -1) ? -EIO : 0;
}

static void csv_row(struct bench *b, const char *op, uint64_t size, uint64_t live,
		    const struct stats *s, double limit, double channel, double ops)
{
	if (!b->csv)
		return;
	fprintf(b->csv, "%s,%s,%s,%llu,%llu,%llu,%.1f,%.1f,%.1f,%.1f,%.1f,", b->frontend,
		b->strategy, op, (unsigned long long)size, (unsigned long long)live,
		(unsigned long long)s->n, s->min, s->p50, s->p90, s->p99, s->max);
	if (isnan(limit))
		fputc(',', b->csv);
	else
		fprintf(b->csv, "%.1f,", limit);
	fprintf(b->csv, "%.1f,%.0f,\"%s\",%s\n", channel, ops, b->kvm_label, b->host_kernel);
}

static int run_one(struct bench *b, uint64_t size, uint64_t live)
{
	struct stats st[NR_T];
	uint64_t n = b->cycles, t0, t;
	double ops, lim_map, lim_unmap;
	bool limit = b->limit_sock >= 0;
	int rc;

	if (set_live(b, size, live))
		return -EIO;
	for (uint64_t i = 0; i < n; i++) {
		for (int k = T_MAP; k <= T_CHANNEL; k++) {
			bool map = k == T_MAP || k == T_LIMIT_MAP;

			if (!limit && (k == T_LIMIT_MAP || k == T_LIMIT_UNMAP))
				continue;
			t0 = now_ns();
			if (k == T_CHANNEL)
				rc = vu_backend_shmem_unmap(&b->be, 0, size, size);
			else
				rc = request(b, k == T_LIMIT_MAP || k == T_LIMIT_UNMAP, map, size, size,
					     map ? b->fd : -1);
			b->t[k][i] = now_ns() - t0;
			if (k == T_CHANNEL && rc != -ENOENT) {
				fail("channel: SHMEM_UNMAP of nothing at %#llx answered %s, not "
				     "-ENOENT: it would not be the refusal it should be",
				     (unsigned long long)size, rc ? strerror(-rc) : "0 (success)");
				return rc ? rc : -EPROTO;
			}
			if (rc && k != T_CHANNEL)
				return rc;
		}
	}
	/* Sustained: pairs back to back, no clock between them. */
	t0 = now_ns();
	for (uint64_t i = 0; i < b->burst; i++)
		if (request(b, false, true, size, size, b->fd) ||
		    request(b, false, false, size, size, -1))
			return -EIO;
	t = now_ns() - t0;
	ops = 2.0 * (double)b->burst * 1e9 / (double)(t ? t : 1);
	if (b->first_rounds) {
		b->report[1] = size; /* the offset the guest polls */
		b->report[0] = 1;
		for (uint64_t i = 0; i < b->first_rounds; i++)
			if (first_access(b, size, &b->t[T_FIRST][i])) {
				b->report[0] = 0;
				return -EIO;
			}
		b->report[0] = 0;
	}
	for (int k = 0; k < NR_T; k++)
		st[k] = stats_of(b->t[k], k == T_FIRST ? b->first_rounds :
					  !limit && (k == T_LIMIT_MAP || k == T_LIMIT_UNMAP) ? 0 : n);
	lim_map = st[T_LIMIT_MAP].p50;
	lim_unmap = st[T_LIMIT_UNMAP].p50;
	printf("%8llu %6llu %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %8.1f %7.2fx %7.2fx %9.1f %9.0f\n",
	       (unsigned long long)(size / KiB), (unsigned long long)live, st[T_MAP].p50,
	       st[T_MAP].p99, st[T_UNMAP].p50, st[T_UNMAP].p99, lim_map, lim_unmap,
	       st[T_CHANNEL].p50, st[T_MAP].p50 / lim_map, st[T_UNMAP].p50 / lim_unmap,
	       st[T_FIRST].p50, ops);
	fflush(stdout);
	csv_row(b, "map", size, live, &st[T_MAP], lim_map, st[T_CHANNEL].p50, ops);
	csv_row(b, "unmap", size, live, &st[T_UNMAP], lim_unmap, st[T_CHANNEL].p50, ops);
	if (b->first_rounds)
		csv_row(b, "first_access", size, live, &st[T_FIRST], lim_map, st[T_CHANNEL].p50, ops);
	return 0;
}

/* The live counts to run for @size: as asked, each capped where it cannot fit, saying why. */
static unsigned int lives_for(const struct bench *b, uint64_t size, uint64_t *out)
{
	uint64_t cap = live_cap(b->window, size);
	char why[96];
	unsigned int n = 0;

	snprintf(why, sizeof(why), "a window of %llu MiB", (unsigned long long)(b->window / MiB));
	if (b->free_slots && b->free_slots < cap) {
		cap = b->free_slots;
		snprintf(why, sizeof(why), "KVM's memory slots left (the control socket)");
	}
	for (unsigned int i = 0; i < b->nlive; i++) {
		uint64_t l = MIN(b->live[i], cap);
		bool dup = false;

		if (l < b->live[i])
			printf("# live %llu capped at %llu for %llu KiB mappings: %s hold%s no more\n",
			       (unsigned long long)b->live[i], (unsigned long long)l,
			       (unsigned long long)(size / KiB), why, why[0] == 'a' ? "s" : "");
		for (unsigned int j = 0; j < n; j++)
			dup |= out[j] == l;
		if (!dup)
			out[n++] = l;
	}
	return n;
}

static int bench_run(struct bench *b, char *argv0)
{
	struct utsname u;
	json_object *r;
	int rc, rc2;

	b->strategy = "?";
	rc = wait_frontend(b);
	if (!rc && b->api)
		rc = wait_window(b);
	if (!rc)
		rc = limit_start(b, argv0);
	if (rc)
		return rc;
	if (!b->host_kernel)
		b->host_kernel = uname(&u) ? "?" : strdup(u.release);
	if (b->csv_path) {
		struct stat st;

		b->csv = fopen(b->csv_path, "a");
		if (!b->csv || fstat(fileno(b->csv), &st)) {
			fail("--csv %s: %s", b->csv_path, strerror(errno));
			return -errno;
		}
		if (!st.st_size)
			fprintf(b->csv, "frontend,strategy,op,size,live,n,min_us,median_us,p90_us,"
					"p99_us,max_us,limit_median_us,channel_median_us,ops_per_s,"
					"kvm,host_kernel\n");
	}
	if (b->first_rounds && request(b, false, true, 0, PAGE, b->report_fd))
		return -EIO;
	printf("# shmvm-bench: %s, %s strategy, window %llu MiB, %llu cycles per size and live count, "
	       "%s; times in us, medians unless p99, ratios to the limit in the same run\n",
	       b->frontend, b->strategy, (unsigned long long)(b->window / MiB),
	       (unsigned long long)b->cycles,
	       b->limit_sock >= 0 ? "limit: shm-limit" : "no limit (--no-limit)");
	printf("%8s %6s %9s %9s %9s %9s %9s %9s %8s %8s %8s %9s %9s\n", "size KiB", "live",
	       "map", "map p99", "unmap", "unmap p99", "lim map", "lim unmap", "channel",
	       "map/lim", "unm/lim", "1st acc", "ops/s");
	for (unsigned int i = 0; i < b->nsizes && !rc; i++) {
		uint64_t lives[MAX_LIST];
		unsigned int n = lives_for(b, b->sizes[i], lives);

		for (unsigned int j = 0; j < n && !rc; j++)
			rc = run_one(b, b->sizes[i], lives[j]);
		if (!rc)
			rc = set_live(b, b->sizes[i], 0);
	}
	if (b->first_rounds) {
		rc2 = request(b, false, false, 0, PAGE, -1);
		if (!rc)
			rc = rc2;
	}
	if (b->csv && fclose(b->csv) && !rc) {
		fail("--csv %s: %s", b->csv_path, strerror(errno));
		rc = -EIO;
	}
	rc2 = limit_stop(b);
	if (!rc)
		rc = rc2;
	if (b->shutdown) {
		rc2 = api_request(b->api, "shutdown", 5000, &r);
		if (rc2)
			fail("--api %s: shutdown: %s", b->api, strerror(-rc2));
		else
			json_object_put(r);
		if (!rc)
			rc = rc2;
	}
	return rc;
}

/* ---- the socket file ---- */

/*
 * The listening socket's path and identity, so that it is removed on every
 * way out: exit() (atexit) and a fatal signal, whose handler may only make
 * async-signal-safe calls (stat, unlink, raise). A file at that path that is
 * no longer our socket (replaced meanwhile) stays. Set once, by listen_socket().
 */
static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP};
static dev_t sock_dev;
static ino_t sock_ino;
static const char *volatile sock_path;

static void remove_socket(void)
{
	const char *path = sock_path;
	struct stat st;

	if (path && !stat(path, &st) && st.st_dev == sock_dev && st.st_ino == sock_ino)
		unlink(path);
}

/* SA_RESETHAND: raise() then ends the process as the signal would have (status 128+N). */
static void on_fatal_signal(int sig)
{
	int saved = errno;

	remove_socket();
	raise(sig);
	errno = saved;
}

/* Listen on --socket, the socket file removed on every way out. 0 or -errno. */
static int listen_socket(struct bench *b)
{
	struct sigaction sa = {.sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND};
	sigset_t fatal, old;
	struct stat st;
	int rc;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&fatal);
	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++) {
		sigaddset(&fatal, fatal_signals[i]);
		if (sigaction(fatal_signals[i], &sa, NULL))
			return -errno;
	}
	if (atexit(remove_socket))
		return -ENOMEM;
	/* No signal between the socket's creation and our record of it. */
	pthread_sigmask(SIG_BLOCK, &fatal, &old);
	rc = vu_backend_listen(&b->be, b->socket, &bench_ops, b);
	if (!rc && stat(b->socket, &st))
		rc = -errno;
	if (!rc) {
		sock_dev = st.st_dev;
		sock_ino = st.st_ino;
		sock_path = b->socket;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static struct bench bench = {.fd = -1, .report_fd = -1, .limit_sock = -1};
static char *self;

static void *bench_thread(void *opaque)
{
	struct bench *b = opaque;

	exit(bench_run(b, self) ? 1 : 0);
}

/* A memfd of @size bytes mapped here: its fd, *@p its mapping, or -1 after saying why. */
static int memfd(const char *name, uint64_t size, volatile uint64_t **p)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	void *m;

	if (fd < 0 || ftruncate(fd, (off_t)size)) {
		fail("memfd of %llu bytes: %s", (unsigned long long)size, strerror(errno));
		return -1;
	}
	m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fail("mmap of the memfd: %s", strerror(errno));
		return -1;
	}
	*p = m;
	return fd;
}

int main(int argc, char **argv)
{
	struct bench *b = &bench;
	uint64_t largest = 0;
	pthread_t t;
	int rc;

	rc = parse_args(b, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (b->print_window) {
		printf("%llu\n", (unsigned long long)b->window);
		return 0;
	}
	self = strdup(argv[0]);
	for (int k = 0; k < NR_T; k++) {
		b->t[k] = calloc(MAX(b->cycles, b->first_rounds), sizeof(uint64_t));
		if (!b->t[k] || !self) {
			fail("out of memory");
			return 1;
		}
	}
	for (unsigned int i = 0; i < b->nsizes; i++)
		largest = MAX(largest, b->sizes[i]);
	b->fd = memfd("shmvm-bench", largest, &b->word);
	if (b->fd < 0)
		return 1;
	if (b->first_rounds) {
		b->report_fd = memfd("shmvm-bench-report", PAGE, &b->report);
		if (b->report_fd < 0)
			return 1;
	}
	if (!b->mem_slots)
		bench_ops.withheld_protocol_features = 1ULL << VU_PF_CONFIGURE_MEM_SLOTS;
	rc = listen_socket(b);
	if (rc) {
		fail("--socket %s: listen: %s", b->socket, strerror(-rc));
		return 1;
	}
	/* A limit that dies must not kill us with SIGPIPE: its requests fail instead. */
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&t, NULL, bench_thread, b)) {
		fail("pthread_create failed");
		return 1;
	}
	rc = vu_backend_run(&b->be);
	/* The loop only ends on a fatal error; the bench thread ends the process otherwise. */
	fail("vhost-user loop on %s stopped: %s", b->socket, strerror(-rc));
	exit(1);
}
