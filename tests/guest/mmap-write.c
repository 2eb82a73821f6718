// SPDX-License-Identifier: GPL-2.0-only
/* mmap-write FILE OFFSET TEXT: write TEXT into FILE at OFFSET through a shared mapping, msync. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;
	size_t off, len;
	char *p;
	int fd;

	if (argc != 4)
		return 2;
	off = strtoul(argv[2], NULL, 0);
	len = strlen(argv[3]);
	fd = open(argv[1], O_RDWR);
	if (fd < 0 || fstat(fd, &st) < 0 || off + len > (size_t)st.st_size) {
		perror(argv[1]);
		return 1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memcpy(p + off, argv[3], len);
	if (msync(p, (size_t)st.st_size, MS_SYNC) < 0) {
		perror("msync");
		return 1;
	}
	munmap(p, (size_t)st.st_size);
	close(fd);
	return 0;
}
