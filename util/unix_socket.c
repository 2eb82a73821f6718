// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/unix_socket.h"

int unix_socket_claim(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, ret;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* Non-blocking: a live server with a full backlog answers EAGAIN, not a hang. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (ret == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	ret = errno;
	close(fd);
	/* EAGAIN: a live server with a full backlog. */
	if (ret != ECONNREFUSED)
		return ret == EAGAIN ? -EADDRINUSE : -ret;
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}
