// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/loop.h"

int loop_init(struct loop *l)
{
	memset(l, 0, sizeof(*l));
	l->timeout_ms = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
}

void loop_destroy(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}

int loop_add(struct loop *l, int fd, uint32_t events, loop_fn *fn, void *opaque)
{
	struct epoll_event ev = { .events = events };

	for (unsigned int i = 0; i < LOOP_MAX_WATCHES; i++) {
		struct loop_watch *w = &l->watches[i];

		if (w->live)
			continue;
		ev.data.u32 = i;
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			return -errno;
		*w = (struct loop_watch){ .fd = fd, .fn = fn, .opaque = opaque, .live = true };
		return 0;
	}
	return -ENOSPC;
}

void loop_del(struct loop *l, int fd)
{
	for (unsigned int i = 0; i < LOOP_MAX_WATCHES; i++) {
		if (l->watches[i].live && l->watches[i].fd == fd) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
			l->watches[i].live = false;
		}
	}
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

int loop_run(struct loop *l, void (*idle)(struct loop *l, void *opaque), void *opaque)
{
	struct epoll_event evs[16];

	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, (int)ARRAY_SIZE(evs), l->timeout_ms);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_err("epoll_wait: %s", strerror(errno));
			return -errno;
		}
		if (n == 0 && idle)
			idle(l, opaque);
		for (int i = 0; i < n && !l->stop; i++) {
			struct loop_watch *w = &l->watches[evs[i].data.u32];

			/* A callback earlier in this batch may have removed it. */
			if (w->live)
				w->fn(l, w->fd, evs[i].events, w->opaque);
		}
	}
	return 0;
}
