// SPDX-License-Identifier: GPL-2.0-only
/*
 * window-bench: the shared-memory window's own part of a map and an unmap
 * (mm/shm_window.c: its table and index, the host mmap, the file's watch and
 * fstat), without KVM and without a channel, against the number of live
 * mappings. KVM's slot ioctl is a no-op here (a fake memory-slot table), so
 * it runs natively on any machine, nested or not, and shows how the
 * window's data structures scale (docs/benchmarks.md).
 *
 *   window-bench [--size SIZE] [--live LIST] [--cycles N] [--strategy slot|window]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "mm/shm_window.h"
#include "util/log.h"
#include "util/parse.h"

static int no_kvm(void *opaque, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, void *hva)
{
	(void)opaque, (void)slot, (void)flags, (void)gpa, (void)size, (void)hva;
	return 0;
}

static void quiet(enum log_level level, const char *msg, void *opaque)
{
	(void)level, (void)msg, (void)opaque;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_us(uint64_t *v, uint64_t n)
{
	qsort(v, n, sizeof(*v), cmp);
	return (double)v[n / 2] / 1000.0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "live", required_argument, NULL, 'l' },
		{ "cycles", required_argument, NULL, 'c' },
		{ "strategy", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct memslot_ops ops = { .set = no_kvm };
	const char *live_list = "0,100,1000,8000";
	enum shm_strategy strategy = SHM_STRATEGY_SLOT;
	uint64_t size = 2 << 20, cycles = 2000, window = SHM_WINDOW_MAX, have = 0, *tm, *tu;
	struct memslot_table slots;
	struct shm_window w;
	char copy[256], *save = NULL;
	uint8_t id = 0;
	int c, fd;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if ((c == 's' && (parse_size(optarg, &size) || !size || size % 4096)) ||
		    (c == 'c' && parse_u64(optarg, 1, 10000000, &cycles)) ||
		    (c == 'S' && shm_strategy_parse(optarg, &strategy)) || c == '?')
			goto usage;
		if (c == 'l')
			live_list = optarg;
	}
	if (optind != argc || strlen(live_list) >= sizeof(copy))
		goto usage;
	log_set_sink(quiet, NULL);
	fd = memfd_create("window-bench", MFD_CLOEXEC);
	tm = calloc(cycles, sizeof(*tm));
	tu = calloc(cycles, sizeof(*tu));
	if (fd < 0 || ftruncate(fd, (off_t)size) || !tm || !tu ||
	    memslot_table_init(&slots, 32764, &ops, NULL) ||
	    shm_window_init(&w, "bench", strategy, &slots, &id, &window, 1)) {
		fprintf(stderr, "window-bench: set-up failed: %s\n", strerror(errno));
		return 1;
	}
	shm_window_set_gpa(&w, 1ULL << 40);
	printf("# window-bench: %s strategy, %llu KiB mappings, %llu cycles; median us, no KVM\n",
	       shm_strategy_name(strategy), (unsigned long long)(size / 1024), (unsigned long long)cycles);
	printf("%6s %9s %9s\n", "live", "map", "unmap");
	strcpy(copy, live_list);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t live;

		if (parse_u64(tok, 0, window / size - 2, &live))
			goto usage;
		/* Live pieces at 2S, 3S, ...; the timed one at S, before them all. */
		for (; have < live; have++)
			if (shm_window_map(&w, 0, (have + 2) * size, size, fd, 0, SHM_MAP_F_RW))
				goto failed;
		for (; have > live; have--)
			if (shm_window_unmap(&w, 0, (have + 1) * size, size))
				goto failed;
		for (uint64_t i = 0; i < cycles; i++) {
			uint64_t t0 = now_ns(), t1;

			if (shm_window_map(&w, 0, size, size, fd, 0, SHM_MAP_F_RW))
				goto failed;
			t1 = now_ns();
			if (shm_window_unmap(&w, 0, size, size))
				goto failed;
			tm[i] = t1 - t0;
			tu[i] = now_ns() - t1;
		}
		printf("%6llu %9.2f %9.2f\n", (unsigned long long)live, median_us(tm, cycles),
		       median_us(tu, cycles));
	}
	shm_window_destroy(&w);
	return 0;
failed:
	fprintf(stderr, "window-bench: a map or unmap failed\n");
	return 1;
usage:
	fprintf(stderr, "usage: window-bench [--size SIZE] [--live LIST] [--cycles N] "
			"[--strategy slot|window]\n");
	return 2;
}
