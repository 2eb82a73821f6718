// SPDX-License-Identifier: GPL-2.0-only
/*
 * fsperf: file-read workloads timed inside the guest (tools/bench-fs).
 *
 *   fsperf seq FILE       read FILE from start to end in 1 MiB reads
 *   fsperf rand FILE N    N reads of 4 KiB at random page offsets
 *   fsperf mmap FILE N    N reads of one byte from random pages of a shared mapping
 *
 * Prints "SHMVM-PERF op=OP bytes=B ops=N ns=T". The random offsets come from
 * a fixed-seed generator: every run and every mount reads the same pages.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_page(uint64_t pages)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % pages;
}

int main(int argc, char **argv)
{
	static char buf[1 << 20];
	uint64_t t0, bytes = 0, ops = 0, n = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
	volatile unsigned char sink = 0;
	struct stat st;
	int fd;

	if (argc < 3 || (strcmp(argv[1], "seq") && !n)) {
		fprintf(stderr, "usage: fsperf seq FILE | rand FILE N | mmap FILE N\n");
		return 2;
	}
	fd = open(argv[2], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < 4096) {
		perror(argv[2]);
		return 1;
	}
	uint64_t pages = (uint64_t)st.st_size / 4096;

	t0 = now_ns();
	if (!strcmp(argv[1], "seq")) {
		ssize_t r;

		while ((r = read(fd, buf, sizeof(buf))) > 0) {
			bytes += (uint64_t)r;
			ops++;
		}
		if (r < 0) {
			perror("read");
			return 1;
		}
	} else if (!strcmp(argv[1], "rand")) {
		for (ops = 0; ops < n; ops++) {
			if (pread(fd, buf, 4096, (off_t)(next_page(pages) * 4096)) != 4096) {
				perror("pread");
				return 1;
			}
			bytes += 4096;
		}
	} else if (!strcmp(argv[1], "mmap")) {
		const unsigned char *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		t0 = now_ns(); /* the faults, not the mmap call */
		for (ops = 0; ops < n; ops++) {
			sink ^= p[next_page(pages) * 4096];
			bytes += 4096;
		}
	} else {
		fprintf(stderr, "fsperf: unknown workload %s\n", argv[1]);
		return 2;
	}
	printf("SHMVM-PERF op=%s bytes=%llu ops=%llu ns=%llu\n", argv[1], (unsigned long long)bytes,
	       (unsigned long long)ops, (unsigned long long)(now_ns() - t0));
	(void)sink;
	return 0;
}
