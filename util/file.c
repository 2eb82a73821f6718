// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"

int file_read_text(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto err_close;
	}
	if ((uint64_t)st.st_size > max) {
		rc = -EFBIG;
		goto err_close;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto err_close;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO; /* shrank while read */
			free(buf);
			goto err_close;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(fd);
	*out = buf;
	if (len)
		*len = got;
	return 0;
err_close:
	close(fd);
	return rc;
}
