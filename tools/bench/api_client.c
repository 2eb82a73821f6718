// SPDX-License-Identifier: GPL-2.0-only
#include "tools/bench/api_client.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int64_t api_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int api_request(const char *path, const char *cmd, int wait_ms, json_object **reply)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 30};
	int64_t end = api_now_ms() + wait_ms;
	char line[1 << 16];
	size_t len = 0;
	json_object *r;
	int s, rc;

	*reply = NULL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		rc = -errno;
		goto out;
	}
	while (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno != ENOENT && errno != ECONNREFUSED) {
			rc = -errno;
			goto out;
		}
		if (api_now_ms() > end) {
			rc = -ETIMEDOUT;
			goto out;
		}
		usleep(10000);
	}
	if (dprintf(s, "{\"cmd\":\"%s\"}\n", cmd) < 0) {
		rc = -EIO;
		goto out;
	}
	while (len < sizeof(line) - 1) {
		ssize_t n = read(s, line + len, sizeof(line) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = '\0';
	r = json_tokener_parse(line);
	if (!r || !json_object_get_boolean(json_object_object_get(r, "ok"))) {
		json_object_put(r);
		rc = -EPROTO;
		goto out;
	}
	*reply = r;
	rc = 0;
out:
	close(s);
	return rc;
}

/* The member at dotted @key below @o: 0, -ENAMETOOLONG or -ENOENT. */
static int api_get(json_object *o, const char *key, json_object **out)
{
	char copy[128], *save = NULL;

	if (strlen(key) >= sizeof(copy))
		return -ENAMETOOLONG;
	memcpy(copy, key, strlen(key) + 1);
	for (char *k = strtok_r(copy, ".", &save); k; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(o, k, &o))
			return -ENOENT;
	*out = o;
	return 0;
}

int api_get_int(json_object *o, const char *key, int64_t *out)
{
	int rc = api_get(o, key, &o);

	if (rc)
		return rc;
	if (!json_object_is_type(o, json_type_int))
		return -ENODATA;
	*out = json_object_get_int64(o);
	return 0;
}

const char *api_get_str(json_object *o, const char *key)
{
	if (api_get(o, key, &o) || !json_object_is_type(o, json_type_string))
		return NULL;
	return json_object_get_string(o);
}
