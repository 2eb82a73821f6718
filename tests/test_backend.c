// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/test_backend.h"
#include "tools/bench/api_client.h"
#include "vhost/sock.h"

int tb_failed;

void tb_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	tb_failed |= !ok;
}

void tb_die(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(1);
}

uint64_t tb_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int tb_count_fds(int pid)
{
	char path[64];
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		tb_die("%s: %s", path, strerror(errno));
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2;
}

int tb_settled_fds(int pid, int want)
{
	uint64_t end = tb_now_ms() + 5000;
	int n;

	usleep(50000);
	while ((n = tb_count_fds(pid)) != want && want >= 0 && tb_now_ms() < end)
		usleep(10000);
	return n;
}

json_object *tb_api(const char *path, const char *cmd, int wait_ms)
{
	json_object *reply;
	int rc = api_request(path, cmd, wait_ms, &reply);

	if (rc)
		tb_die("api %s on %s: %s", cmd, path,
		       rc == -EPROTO ? "not an ok JSON reply" : strerror(-rc));
	return reply;
}

int64_t tb_jint(json_object *o, const char *path)
{
	int64_t v = 0;

	if (api_get_int(o, path, &v) == -ENOENT)
		tb_die("api: no %s", path);
	return v;
}

int tb_raw(struct vu_backend *be, uint32_t req, uint32_t flags, const void *payload, uint32_t size,
	   const int *fds, size_t nfds, uint64_t *reply)
{
	struct vu_msg m;
	int rc;

	/* The library's own requests take this lock too: one request at a time. */
	pthread_mutex_lock(&be->req_lock);
	rc = vu_msg_send(be->req_fd, req, flags, payload, size, fds, nfds);
	if (!rc) {
		rc = vu_msg_recv(be->req_fd, &m, 10000);
		if (rc > 0) {
			vu_msg_close_fds(&m);
			rc = m.hdr.request == req && m.hdr.size == 8 ? 0 : -EPROTO;
			*reply = m.payload.u64;
		} else if (rc == 0) {
			rc = -ECONNRESET;
		}
	}
	pthread_mutex_unlock(&be->req_lock);
	return rc;
}
