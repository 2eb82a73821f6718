// SPDX-License-Identifier: GPL-2.0-only
/*
 * shmvm-bench: a vhost-user backend that times SHMEM_MAP and SHMEM_UNMAP
 * through a frontend's backend channel, and how they scale with the number
 * of live mappings in the window (docs/benchmarks.md).
 *
 * It answers GET_SHMEM_CONFIG with region 0 = the window, waits for a
 * frontend that negotiated SHMEM, BACKEND_REQ, BACKEND_SEND_FD and REPLY_ACK,
 * then for each live count L: maps L pieces of a memfd at distinct offsets
 * (untimed), and times CYCLES iterations of a SHMEM_MAP and a SHMEM_UNMAP of
 * one more piece at a free offset. The limit, interleaved with the cycles: a
 * SHMEM_UNMAP of that free offset while nothing is mapped there, which the
 * frontend refuses at once (-ENOENT) without touching KVM or mmap: the
 * round trip of the channel itself. Every mapping made is unmapped before
 * exit, and the socket file is removed on every way out (an error, the end,
 * SIGINT, SIGTERM, SIGHUP).
 *
 * The window holds the largest live count and the timed mapping: by default
 * the smallest power of two that does; a --window too small for them, or a
 * need beyond SHM_WINDOW_MAX, is refused before anything starts.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mm/shm_window.h"
#include "tools/bench/api_client.h"
#include "util/compiler.h"
#include "util/parse.h"
#include "vhost/backend.h"

#define MAX_LIVE_COUNTS 32
#define WAIT_MS		120000
#define PAGE		4096ULL

struct bench {
	const char *socket, *api;
	uint64_t window, map_size, cycles; /* window 0: the smallest that fits */
	uint64_t live[MAX_LIVE_COUNTS];
	unsigned int nlive;
	bool json, shutdown, print_window;
	struct vu_backend be;
	int fd;				     /* the memfd every mapping maps */
	bool *mapped;			     /* by slot (window offset / map_size) */
	uint64_t nslots;		     /* window / map_size */
	uint64_t *t_map, *t_unmap, *t_limit; /* ns, one per cycle */
};

static const char usage[] =
    "usage: shmvm-bench --socket PATH [--window SIZE] [--map-size SIZE] [--live LIST]\n"
    "                   [--cycles N] [--api PATH] [--shutdown] [--json] [--help]\n"
    "       shmvm-bench --print-window [--window SIZE] [--map-size SIZE] [--live LIST]\n"
    "\n"
    "A vhost-user backend that times SHMEM_MAP/SHMEM_UNMAP through the frontend's\n"
    "backend channel for each number of live mappings, against the round trip of a\n"
    "request the frontend refuses at once (SHMEM_UNMAP of nothing: the limit).\n"
    "\n"
    "  --socket PATH    listen here for the frontend (shmvm --device vhost-user,...)\n"
    "  --window SIZE    shared-memory region 0, at most 32G; it must hold the largest\n"
    "                   live count and the timed mapping (default: the smallest power\n"
    "                   of two that does)\n"
    "  --map-size SIZE  bytes per mapping, a page multiple (default 2M)\n"
    "  --live LIST      live mappings beside the timed one, comma-separated\n"
    "                   (default 0,16,256,4096)\n"
    "  --cycles N       timed map+unmap pairs per live count (default 1000)\n"
    "  --api PATH       shmvm's control socket: wait until the window is in the\n"
    "                   guest's address space before measuring\n"
    "  --shutdown       ask shmvm to stop through --api at the end\n"
    "  --json           one JSON object per live count per line instead of a table\n"
    "  --print-window   check the options, print the window size in bytes, exit\n";

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

static int parse_live(struct bench *b, const char *s)
{
	char copy[512], *save = NULL;
	int rc;

	if (strlen(s) >= sizeof(copy) || !*s)
		return -EINVAL;
	memcpy(copy, s, strlen(s) + 1);
	b->nlive = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (b->nlive == MAX_LIVE_COUNTS)
			return -E2BIG;
		rc = parse_u64(tok, 0, UINT32_MAX, &b->live[b->nlive]);
		if (rc)
			return rc;
		b->nlive++;
	}
	return b->nlive ? 0 : -EINVAL;
}

/* 0, 1 (--help printed), or -EINVAL after saying which option is wrong. */
static int parse_args(struct bench *b, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"window", required_argument, NULL, 'w'},
	    {"map-size", required_argument, NULL, 'm'},
	    {"live", required_argument, NULL, 'l'},
	    {"cycles", required_argument, NULL, 'c'},
	    {"api", required_argument, NULL, 'a'},
	    {"shutdown", no_argument, NULL, 'S'},
	    {"json", no_argument, NULL, 'j'},
	    {"print-window", no_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t max_live = 0, need;
	int c;

	b->window = 0;
	b->map_size = 2 * MiB;
	b->cycles = 1000;
	if (parse_live(b, "0,16,256,4096"))
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
		case 'm':
			if (parse_size(optarg, &b->map_size) || !b->map_size ||
			    b->map_size % PAGE || b->map_size > SHM_WINDOW_MAX) {
				fail("--map-size '%s': want a non-zero multiple of 4K up to %lluG",
				     optarg, (unsigned long long)(SHM_WINDOW_MAX / GiB));
				return -EINVAL;
			}
			break;
		case 'l':
			if (parse_live(b, optarg)) {
				fail(
				    "--live '%s': want a comma-separated list of at most %d counts",
				    optarg, MAX_LIVE_COUNTS);
				return -EINVAL;
			}
			break;
		case 'c':
			if (parse_u64(optarg, 1, 10000000, &b->cycles)) {
				fail("--cycles '%s': want a number from 1 to 10000000", optarg);
				return -EINVAL;
			}
			break;
		case 'a':
			b->api = optarg;
			break;
		case 'S':
			b->shutdown = true;
			break;
		case 'j':
			b->json = true;
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
	/* The largest live count and the timed mapping beside it, at distinct offsets. */
	for (unsigned int i = 0; i < b->nlive; i++)
		max_live = MAX(max_live, b->live[i]);
	if (max_live + 1 > SHM_WINDOW_MAX / b->map_size) {
		fail("--live %llu with --map-size %llu KiB needs a window of %llu MiB (the live "
		     "mappings and the timed one); a shared-memory window is at most %llu GiB: "
		     "lower --live or --map-size",
		     (unsigned long long)max_live, (unsigned long long)(b->map_size / KiB),
		     (unsigned long long)((max_live + 1) * (b->map_size / KiB) / KiB),
		     (unsigned long long)(SHM_WINDOW_MAX / GiB));
		return -EINVAL;
	}
	need = (max_live + 1) * b->map_size;
	if (!b->window) {
		for (b->window = PAGE; b->window < need;)
			b->window *= 2;
	} else if (b->window < need) {
		fail("--window %llu MiB holds %llu mappings of %llu KiB, but --live %llu needs "
		     "%llu (the live ones and the timed one): give --window %lluM or more, or "
		     "leave it out",
		     (unsigned long long)(b->window / MiB),
		     (unsigned long long)(b->window / b->map_size),
		     (unsigned long long)(b->map_size / KiB), (unsigned long long)max_live,
		     (unsigned long long)(max_live + 1),
		     (unsigned long long)((need + MiB - 1) / MiB));
		return -EINVAL;
	}
	b->nslots = b->window / b->map_size;
	return 0;
}

/* ---- the frontend ---- */

static void shmem_config(void *opaque, uint64_t sizes[VU_MAX_SHMEM_REGIONS])
{
	struct bench *b = opaque;

	sizes[0] = b->window;
}

static const struct vu_backend_ops bench_ops = {
    .num_queues = 2, /* virtio-id 26 (fs) wants hiprio + requests */
    .get_shmem_config = shmem_config,
};

/* Wait for the frontend's protocol features and the backend channel. */
static int wait_frontend(struct bench *b)
{
	static const struct {
		int bit;
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

/* With --api: wait until the control socket shows our window at a guest address. */
static int wait_window(struct bench *b)
{
	uint64_t end = now_ns() + WAIT_MS * 1000000ULL;
	json_object *r, *devs;
	int64_t gpa = -1;
	int rc;

	for (;;) {
		rc = api_request(b->api, "regions", WAIT_MS, &r);
		if (rc) {
			fail("--api %s: regions: %s", b->api,
			     rc == -EPROTO ? "not an ok JSON reply" : strerror(-rc));
			return rc;
		}
		if (json_object_object_get_ex(r, "devices", &devs) &&
		    json_object_array_length(devs) >= 1 &&
		    !api_get_int(json_object_array_get_idx(devs, 0), "window.gpa", &gpa)) {
			json_object_put(r);
			return 0;
		}
		json_object_put(r);
		if (now_ns() > end) {
			fail("--api %s: the window never appeared in the guest's address space",
			     b->api);
			return -ETIMEDOUT;
		}
		usleep(10000);
	}
}

/* ---- mappings ---- */

static int map_slot(struct bench *b, uint64_t slot)
{
	int rc = vu_backend_shmem_map(&b->be, 0, 0, slot * b->map_size, b->map_size, true, b->fd);

	if (rc) {
		fail("SHMEM_MAP of %llu bytes at %#llx: %s", (unsigned long long)b->map_size,
		     (unsigned long long)(slot * b->map_size), strerror(-rc));
		return rc;
	}
	b->mapped[slot] = true;
	return 0;
}

static int unmap_slot(struct bench *b, uint64_t slot)
{
	int rc = vu_backend_shmem_unmap(&b->be, 0, slot * b->map_size, b->map_size);

	if (rc) {
		fail("SHMEM_UNMAP of %llu bytes at %#llx: %s", (unsigned long long)b->map_size,
		     (unsigned long long)(slot * b->map_size), strerror(-rc));
		return rc;
	}
	b->mapped[slot] = false;
	return 0;
}

/* Unmap everything we mapped; the first error, after trying all. */
static int unmap_all(struct bench *b)
{
	int ret = 0;

	for (uint64_t s = 0; s < b->nslots; s++)
		if (b->mapped[s]) {
			int rc = unmap_slot(b, s);

			if (rc && !ret)
				ret = rc;
		}
	return ret;
}

/* Exactly @want live mappings, at slots 0 .. @want - 1. */
static int set_live(struct bench *b, uint64_t want)
{
	int rc;

	for (uint64_t s = 0; s < b->nslots; s++) {
		if (s < want && !b->mapped[s])
			rc = map_slot(b, s);
		else if (s >= want && b->mapped[s])
			rc = unmap_slot(b, s);
		else
			continue;
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- the measurement ---- */

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

static int run_live(struct bench *b, uint64_t live)
{
	uint64_t free_slot = live, n = b->cycles, t0;
	double map50, lim50;
	int rc;

	rc = set_live(b, live);
	if (rc)
		return rc;
	for (uint64_t i = 0; i < n; i++) {
		t0 = now_ns();
		rc = map_slot(b, free_slot);
		b->t_map[i] = now_ns() - t0;
		if (rc)
			return rc;
		t0 = now_ns();
		rc = unmap_slot(b, free_slot);
		b->t_unmap[i] = now_ns() - t0;
		if (rc)
			return rc;
		t0 = now_ns();
		rc = vu_backend_shmem_unmap(&b->be, 0, free_slot * b->map_size, b->map_size);
		b->t_limit[i] = now_ns() - t0;
		if (rc != -ENOENT) {
			fail("limit: SHMEM_UNMAP of nothing at %#llx answered %s, not -ENOENT: the "
			     "limit would not be the refusal it should be",
			     (unsigned long long)(free_slot * b->map_size),
			     rc ? strerror(-rc) : "0 (success)");
			return rc ? rc : -EPROTO;
		}
	}
	qsort(b->t_map, n, sizeof(uint64_t), cmp_u64);
	qsort(b->t_unmap, n, sizeof(uint64_t), cmp_u64);
	qsort(b->t_limit, n, sizeof(uint64_t), cmp_u64);
	map50 = pct_us(b->t_map, n, 50);
	lim50 = pct_us(b->t_limit, n, 50);
	if (b->json)
		printf("{\"live\":%llu,\"cycles\":%llu,\"map_size\":%llu,\"window\":%llu,"
		       "\"map_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f},"
		       "\"unmap_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f},"
		       "\"limit_us\":{\"p50\":%.1f},\"map_limit_ratio\":%.2f}\n",
		       (unsigned long long)live, (unsigned long long)n,
		       (unsigned long long)b->map_size, (unsigned long long)b->window, map50,
		       pct_us(b->t_map, n, 90), pct_us(b->t_map, n, 99), pct_us(b->t_map, n, 100),
		       pct_us(b->t_unmap, n, 50), pct_us(b->t_unmap, n, 90),
		       pct_us(b->t_unmap, n, 99), lim50, map50 / lim50);
	else
		printf("%6llu %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f %8.2fx\n",
		       (unsigned long long)live, map50, pct_us(b->t_map, n, 90),
		       pct_us(b->t_map, n, 99), pct_us(b->t_map, n, 100), pct_us(b->t_unmap, n, 50),
		       pct_us(b->t_unmap, n, 90), pct_us(b->t_unmap, n, 99), lim50, map50 / lim50);
	fflush(stdout);
	return 0;
}

static int bench_run(struct bench *b)
{
	json_object *r;
	int rc, rc2;

	rc = wait_frontend(b);
	if (rc)
		return rc;
	if (b->api) {
		rc = wait_window(b);
		if (rc)
			return rc;
	}
	if (!b->json) {
		printf("# shmvm-bench: window %llu MiB, map size %llu KiB, %llu cycles per live "
		       "count; "
		       "times in us (CLOCK_MONOTONIC around each request and its ack)\n",
		       (unsigned long long)(b->window / MiB),
		       (unsigned long long)(b->map_size / KiB), (unsigned long long)b->cycles);
		printf("%6s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "live", "map p50", "map p90",
		       "map p99", "map max", "unmap p50", "unmap p90", "unmap p99", "limit p50",
		       "map/limit");
	}
	for (unsigned int i = 0; i < b->nlive && !rc; i++)
		rc = run_live(b, b->live[i]);
	rc2 = unmap_all(b);
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

static void *bench_thread(void *opaque)
{
	struct bench *b = opaque;

	exit(bench_run(b) ? 1 : 0);
}

int main(int argc, char **argv)
{
	static struct bench b = {.fd = -1};
	pthread_t t;
	int rc;

	rc = parse_args(&b, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (b.print_window) {
		printf("%llu\n", (unsigned long long)b.window);
		return 0;
	}
	b.mapped = calloc(b.nslots, sizeof(*b.mapped));
	b.t_map = calloc(b.cycles, sizeof(uint64_t));
	b.t_unmap = calloc(b.cycles, sizeof(uint64_t));
	b.t_limit = calloc(b.cycles, sizeof(uint64_t));
	if (!b.mapped || !b.t_map || !b.t_unmap || !b.t_limit) {
		fail("out of memory");
		return 1;
	}
	b.fd = memfd_create("shmvm-bench", MFD_CLOEXEC);
	if (b.fd < 0 || ftruncate(b.fd, (off_t)b.map_size)) {
		fail("memfd of %llu bytes: %s", (unsigned long long)b.map_size, strerror(errno));
		return 1;
	}
	rc = listen_socket(&b);
	if (rc) {
		fail("--socket %s: listen: %s", b.socket, strerror(-rc));
		return 1;
	}
	if (pthread_create(&t, NULL, bench_thread, &b)) {
		fail("pthread_create failed");
		return 1;
	}
	rc = vu_backend_run(&b.be);
	/* The loop only ends on a fatal error; the bench thread ends the process otherwise. */
	fail("vhost-user loop on %s stopped: %s", b.socket, strerror(-rc));
	exit(1);
}
