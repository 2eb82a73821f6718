// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/term.h"

/* Saved once; only read afterwards, so restoring from a signal handler is safe. */
static struct termios saved;
static int saved_fd = -1;

void term_restore(void)
{
	if (saved_fd >= 0)
		tcsetattr(saved_fd, TCSANOW, &saved);
}

int term_raw(int fd)
{
	struct termios t;

	if (tcgetattr(fd, &saved) < 0)
		return -errno;
	saved_fd = fd;
	atexit(term_restore);
	t = saved;
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) < 0)
		return -errno;
	return 0;
}
