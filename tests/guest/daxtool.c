// SPDX-License-Identifier: GPL-2.0-only
/*
 * daxtool: the guest's side of the DAX checks (tests/guest/steps/dax).
 *
 *   daxtool hold FILE FLAG        map FILE, read every page, print
 *                                 "SHMVM-DAX-HOLD ino=N sum=X", keep it mapped until FLAG exists
 *   daxtool trunc FILE FLAG OFF   map FILE read-write, read every page, print
 *                                 SHMVM-DAX-TRUNC-READY, wait for FLAG (the host has truncated
 *                                 FILE), then read and write the byte at OFF, past the new end
 *   daxtool trunc-cold FILE FLAG OFF   the same without reading first: the DAX range is
 *                                 mapped only after the truncation, with the size the guest
 *                                 saw before it (SHMVM-DAX-TRUNC-COLD-...)
 *   daxtool odirect SRC DST       write SRC's DAX mapping to a new file DST with O_DIRECT, so
 *                                 the write's data buffers lie in the DAX window
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int die(const char *what)
{
	printf("SHMVM-DAX-FAIL %s: %s\n", what, strerror(errno));
	return 1;
}

/* Map @path whole; *@len gets its size. */
static unsigned char *map_file(const char *path, int flags, size_t *len, struct stat *st)
{
	int prot = PROT_READ | ((flags & O_ACCMODE) == O_RDWR ? PROT_WRITE : 0);
	int fd = open(path, flags);
	void *p;

	if (fd < 0 || fstat(fd, st) < 0 || st->st_size == 0)
		return NULL;
	*len = (size_t)st->st_size;
	p = mmap(NULL, *len, prot, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* Touch every page of [@p, +@len); a checksum so the reads are not optimised away. */
static uint32_t touch(const volatile unsigned char *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < len; i += 512)
		sum = sum * 31 + p[i];
	return sum;
}

/* Wait up to 300 s for @flag to exist (the host makes it in the shared directory). */
static int wait_flag(const char *flag)
{
	for (int i = 0; i < 3000; i++) {
		if (access(flag, F_OK) == 0)
			return 0;
		usleep(100000);
	}
	errno = ETIMEDOUT;
	return -1;
}

static int hold(const char *file, const char *flag)
{
	struct stat st;
	size_t len;
	unsigned char *p = map_file(file, O_RDONLY, &len, &st);

	if (!p)
		return die(file);
	printf("SHMVM-DAX-HOLD ino=%lu sum=%08x\n", (unsigned long)st.st_ino, touch(p, len));
	fflush(stdout);
	if (wait_flag(flag))
		return die(flag);
	munmap(p, len);
	return 0;
}

/* trunc and trunc-cold: @warm says whether every page is read before the host cuts FILE. */
static int trunc_test(const char *file, const char *flag, size_t off, bool warm)
{
	const char *tag = warm ? "TRUNC" : "TRUNC-COLD";
	struct stat st;
	size_t len;
	volatile unsigned char *p = map_file(file, O_RDWR, &len, &st);
	unsigned char before = 0;

	if (!p)
		return die(file);
	if (off >= len) {
		errno = EINVAL;
		return die("offset");
	}
	if (warm) {
		touch(p, len);
		before = p[off];
	}
	printf("SHMVM-DAX-%s-READY before=%02x\n", tag, before);
	fflush(stdout);
	if (wait_flag(flag))
		return die(flag);
	/* Past the file's new end: the host has no page here any more. */
	printf("SHMVM-DAX-%s-READ %02x\n", tag, p[off]);
	fflush(stdout);
	p[off] = 0x5a;
	printf("SHMVM-DAX-%s-WROTE %02x\n", tag, p[off]);
	fflush(stdout);
	munmap((void *)p, len);
	return 0;
}

static int odirect(const char *src, const char *dst)
{
	struct stat st;
	size_t len, done = 0;
	unsigned char *p = map_file(src, O_RDONLY, &len, &st);
	int fd;

	if (!p)
		return die(src);
	if (len % 4096) {
		errno = EINVAL;
		return die("source size is not a multiple of 4096");
	}
	fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	if (fd < 0)
		return die(dst);
	/* 1 MiB at a time: each write's pages are the source's DAX pages. */
	while (done < len) {
		size_t n = len - done < (1u << 20) ? len - done : (1u << 20);
		ssize_t w = write(fd, p + done, n);

		if (w <= 0)
			return die("write");
		done += (size_t)w;
	}
	if (close(fd) < 0)
		return die("close");
	printf("SHMVM-DAX-ODIRECT %zu\n", done);
	munmap(p, len);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return hold(argv[2], argv[3]);
	if (argc == 5 && !strcmp(argv[1], "trunc"))
		return trunc_test(argv[2], argv[3], strtoul(argv[4], NULL, 0), true);
	if (argc == 5 && !strcmp(argv[1], "trunc-cold"))
		return trunc_test(argv[2], argv[3], strtoul(argv[4], NULL, 0), false);
	if (argc == 4 && !strcmp(argv[1], "odirect"))
		return odirect(argv[2], argv[3]);
	fprintf(stderr, "usage: daxtool hold FILE FLAG | trunc[-cold] FILE FLAG OFF | odirect SRC DST\n");
	return 2;
}
