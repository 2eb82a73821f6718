// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket. Requests are parsed and answered by the pure
 * api_handle_line(); the socket side buffers partial lines per client,
 * bounds line length and client count, and writes each reply whole.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "devices/vhost_user_pci.h"
#include "mm/memslot.h"
#include "mm/shm_window.h"
#include "util/log.h"
#include "util/unix_socket.h"
#include "vmm/api.h"
#include "vmm/loop.h"

/* ---- replies ---- */

static char *reply_take(struct json_object *o)
{
	char *s = NULL;

	if (o) {
		const char *txt = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

		s = txt ? strdup(txt) : NULL;
		json_object_put(o);
	}
	return s;
}

static char *reply_error(const char *fmt, ...) __printf(1, 2);

static char *reply_error(const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!o)
		return NULL;
	if (json_object_object_add(o, "ok", json_object_new_boolean(0)) ||
	    json_object_object_add(o, "error", json_object_new_string(msg))) {
		json_object_put(o);
		return NULL;
	}
	return reply_take(o);
}

/*
 * Building a reply: every add goes through these, which remember an
 * allocation failure instead of checking each call.
 */
struct jb {
	bool oom;
};

static struct json_object *jb_obj(struct jb *b)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		b->oom = true;
	return o;
}

static struct json_object *jb_arr(struct jb *b)
{
	struct json_object *o = json_object_new_array();

	if (!o)
		b->oom = true;
	return o;
}

/* Adds @v (which may be NULL after a failed allocation: then oom) to @o. */
static void jb_add(struct jb *b, struct json_object *o, const char *key, struct json_object *v)
{
	if (!o || !v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		b->oom = true;
	}
}

/* A JSON null: the only value that is legitimately NULL. */
static void jb_add_null(struct jb *b, struct json_object *o, const char *key)
{
	if (!o || json_object_object_add(o, key, NULL))
		b->oom = true;
}

static void jb_push(struct jb *b, struct json_object *arr, struct json_object *v)
{
	if (!arr || !v || json_object_array_add(arr, v)) {
		json_object_put(v);
		b->oom = true;
	}
}

static void jb_u64(struct jb *b, struct json_object *o, const char *key, uint64_t v)
{
	jb_add(b, o, key, json_object_new_uint64(v));
}

static void jb_bool(struct jb *b, struct json_object *o, const char *key, bool v)
{
	jb_add(b, o, key, json_object_new_boolean(v));
}

static void jb_str(struct jb *b, struct json_object *o, const char *key, const char *v)
{
	if (v)
		jb_add(b, o, key, json_object_new_string(v));
	else
		jb_add_null(b, o, key);
}

/* A guest address, or null when the window is not in the guest's address space. */
static void jb_gpa(struct jb *b, struct json_object *o, const char *key, uint64_t base,
		   uint64_t off)
{
	if (base == SHM_GPA_NONE)
		jb_add_null(b, o, key);
	else
		jb_u64(b, o, key, base + off);
}

/* "ok": true plus whatever the command adds; @o is consumed. */
static char *reply_ok(struct jb *b, struct json_object *o)
{
	if (b->oom) {
		json_object_put(o);
		return NULL;
	}
	return reply_take(o);
}

static struct json_object *reply_begin(struct jb *b)
{
	struct json_object *o = jb_obj(b);

	jb_bool(b, o, "ok", true);
	return o;
}

/* ---- commands ---- */

/* Entries of /proc/self/fd, not counting the one used to read it; -1 if unreadable. */
static long count_open_fds(DIR *given)
{
	DIR *dir = given ? given : opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (!dir)
		return -1;
	rewinddir(dir); /* /proc lists the fds open now at each pass */
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	if (!given)
		closedir(dir);
	return n - 1;
}

static char *cmd_status(const struct api_target *t)
{
	struct jb b = {0};
	struct json_object *o = reply_begin(&b);
	struct json_object *ms = jb_obj(&b);
	long fds = count_open_fds(t->fd_dir);

	jb_str(&b, o, "state", "running");
	jb_add(&b, o, "pid", json_object_new_int64(getpid()));
	jb_u64(&b, o, "vcpus", t->nr_vcpus);
	jb_u64(&b, o, "memory", t->memory);
	jb_u64(&b, ms, "used", t->slots ? memslot_count(t->slots) : 0);
	jb_u64(&b, ms, "max", t->slots ? t->slots->nr_slots : 0);
	jb_add(&b, o, "memslots", ms);
	if (fds < 0)
		jb_add_null(&b, o, "open_fds");
	else
		jb_add(&b, o, "open_fds", json_object_new_int64(fds));
	return reply_ok(&b, o);
}

static char *cmd_devices(const struct api_target *t)
{
	struct jb b = {0};
	struct json_object *o = reply_begin(&b);
	struct json_object *arr = jb_arr(&b);

	for (unsigned int i = 0; i < t->nr_devices; i++) {
		const struct vhost_user_dev *d = &t->devices[i];
		struct json_object *e = jb_obj(&b);

		jb_u64(&b, e, "index", i);
		jb_str(&b, e, "name", d->name);
		jb_str(&b, e, "socket", d->cfg.socket);
		jb_u64(&b, e, "virtio_id", d->cfg.virtio_id);
		jb_u64(&b, e, "pci_slot", d->pci_slot);
		jb_bool(&b, e, "broken", vu_frontend_broken(&d->fe));
		jb_bool(&b, e, "shm", d->has_shm);
		jb_push(&b, arr, e);
	}
	jb_add(&b, o, "devices", arr);
	return reply_ok(&b, o);
}

static struct json_object *dev_counters(struct jb *b, struct vhost_user_dev *d)
{
	struct shm_stats s = {0};
	struct json_object *c = jb_obj(b);

	if (d->has_shm)
		s = shm_window_stats(&d->shm);
	jb_u64(b, c, "maps", s.maps);
	jb_u64(b, c, "unmaps", s.unmaps);
	jb_u64(b, c, "refused_maps", s.refused_maps);
	jb_u64(b, c, "refused_unmaps", s.refused_unmaps);
	jb_u64(b, c, "hole_reads", s.hole_reads);
	jb_u64(b, c, "hole_writes", s.hole_writes);
	jb_u64(b, c, "ro_writes", s.ro_writes);
	jb_u64(b, c, "eof_pages", s.eof_pages);
	jb_u64(b, c, "eof_held", s.eof_held);
	jb_u64(b, c, "eof_released", s.eof_released);
	jb_u64(b, c, "refused_messages", __atomic_load_n(&d->refused_msgs, __ATOMIC_RELAXED));
	jb_u64(b, c, "mem_reg_failures", __atomic_load_n(&d->announce.failures, __ATOMIC_RELAXED));
	jb_u64(b, c, "main_channel_errors", __atomic_load_n(&d->fe.errors, __ATOMIC_RELAXED));
	return c;
}

/* Collects one window's mappings under their regions (runs with the window lock held). */
struct region_walk {
	struct jb *b;
	const struct shm_window *w;
	struct json_object *maps[SHM_MAX_REGIONS]; /* "mappings" array of each region */
	unsigned long orphans; /* mappings whose shmid matched no region (never expected) */
};

static void region_walk_one(const struct shm_mapping *m, void *opaque)
{
	struct region_walk *rw = opaque;
	struct jb *b = rw->b;
	struct json_object *e;
	unsigned int r;

	for (r = 0; r < rw->w->nr_regions; r++)
		if (rw->w->regions[r].id == m->shmid)
			break;
	if (r == rw->w->nr_regions) {
		rw->orphans++;
		return;
	}
	e = jb_obj(b);
	jb_u64(b, e, "shm_offset", m->shm_offset);
	jb_u64(b, e, "len", m->len);
	jb_u64(b, e, "fd_offset", m->fd_offset);
	jb_u64(b, e, "flags", m->flags);
	jb_bool(b, e, "writable", m->flags & SHM_MAP_F_RW);
	if (m->slot == SHM_NO_SLOT)
		jb_add_null(b, e, "slot");
	else
		jb_u64(b, e, "slot", m->slot);
	jb_u64(b, e, "dev", m->dev);
	jb_u64(b, e, "ino", m->ino);
	jb_push(b, rw->maps[r], e);
}

static struct json_object *dev_regions(struct jb *b, unsigned int index, struct vhost_user_dev *d)
{
	struct shm_window *w = &d->shm;
	struct region_walk rw = {.b = b, .w = w};
	struct json_object *e = jb_obj(b);
	struct json_object *win = jb_obj(b);
	struct json_object *regions = jb_arr(b);
	uint64_t gpa;

	/* The window moves with its BAR, under its lock. */
	pthread_mutex_lock(&w->lock);
	gpa = w->gpa;
	pthread_mutex_unlock(&w->lock);

	jb_u64(b, e, "index", index);
	jb_str(b, e, "name", d->name);
	jb_str(b, e, "strategy", shm_strategy_name(w->strategy));
	jb_gpa(b, win, "gpa", gpa, 0);
	jb_u64(b, win, "size", w->size);
	jb_add(b, e, "window", win);

	for (unsigned int r = 0; r < w->nr_regions && r < SHM_MAX_REGIONS; r++) {
		const struct shm_region *reg = &w->regions[r];
		struct json_object *ro = jb_obj(b);

		jb_u64(b, ro, "shmid", reg->id);
		jb_u64(b, ro, "offset", reg->off);
		jb_u64(b, ro, "size", reg->size);
		jb_gpa(b, ro, "gpa", gpa, reg->off);
		rw.maps[r] = jb_arr(b);
		/* The region keeps a reference: the walk below appends to it. */
		jb_add(b, ro, "mappings", json_object_get(rw.maps[r]));
		jb_push(b, regions, ro);
	}
	shm_window_for_each(w, region_walk_one, &rw);
	for (unsigned int r = 0; r < SHM_MAX_REGIONS; r++)
		json_object_put(rw.maps[r]);
	if (rw.orphans)
		log_warn("api: %s: %lu mappings outside every region", d->name, rw.orphans);
	jb_add(b, e, "regions", regions);
	jb_add(b, e, "counters", dev_counters(b, d));
	return e;
}

static char *cmd_regions(const struct api_target *t)
{
	struct jb b = {0};
	struct json_object *o = reply_begin(&b);
	struct json_object *arr = jb_arr(&b);

	for (unsigned int i = 0; i < t->nr_devices; i++)
		if (t->devices[i].has_shm)
			jb_push(&b, arr, dev_regions(&b, i, &t->devices[i]));
	jb_add(&b, o, "devices", arr);
	return reply_ok(&b, o);
}

static char *cmd_counters(const struct api_target *t)
{
	struct jb b = {0};
	struct json_object *o = reply_begin(&b);
	struct json_object *arr = jb_arr(&b);

	for (unsigned int i = 0; i < t->nr_devices; i++) {
		struct vhost_user_dev *d = &t->devices[i];
		struct json_object *e = jb_obj(&b);

		jb_u64(&b, e, "index", i);
		jb_str(&b, e, "name", d->name);
		jb_bool(&b, e, "shm", d->has_shm);
		jb_add(&b, e, "counters", dev_counters(&b, d));
		jb_push(&b, arr, e);
	}
	jb_add(&b, o, "devices", arr);
	return reply_ok(&b, o);
}

/* VM exits per vCPU, by reason (vmm/exits.h). */
static char *cmd_vcpus(const struct api_target *t)
{
	struct jb b = {0};
	struct json_object *o = reply_begin(&b);
	struct json_object *arr = jb_arr(&b);

	for (unsigned int i = 0; i < t->nr_vcpus; i++) {
		struct json_object *e = jb_obj(&b), *x = jb_obj(&b);
		uint64_t n[NR_EXIT_KINDS] = { 0 };
		bool kvm = t->vcpu_exits && t->vcpu_exits(t->opaque, i, n);

		jb_u64(&b, e, "index", i);
		for (int k = 0; k < NR_EXIT_KINDS; k++)
			jb_u64(&b, x, exit_kind_name[k], n[k]);
		jb_add(&b, e, "exits", x);
		/* "kvm": every exit, KVM's statistics; "shmvm": only those that reached shmvm. */
		jb_str(&b, e, "counted_by", kvm ? "kvm" : "shmvm");
		jb_push(&b, arr, e);
	}
	jb_add(&b, o, "vcpus", arr);
	return reply_ok(&b, o);
}

static char *cmd_shutdown(const struct api_target *t, bool *shutdown)
{
	struct jb b = {0};

	(void)t;
	*shutdown = true;
	return reply_ok(&b, reply_begin(&b));
}

/* Bytes of @s to print at most @max of them without splitting a UTF-8 sequence. */
static int utf8_prefix(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return (int)n;
	n = max;
	while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (int)n;
}

struct api_cmd {
	const char *name;
	char *(*fn)(const struct api_target *t);
};

static const struct api_cmd api_cmds[] = {
	{ .name = "status", .fn = cmd_status },
	{ .name = "devices", .fn = cmd_devices },
	{ .name = "regions", .fn = cmd_regions },
	{ .name = "mappings", .fn = cmd_regions },
	{ .name = "counters", .fn = cmd_counters },
	{ .name = "vcpus", .fn = cmd_vcpus },
};

char *api_handle_line(const struct api_target *t, const char *line, bool *shutdown)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *req, *cmd;
	enum json_tokener_error err;
	const char *name;
	size_t len;
	char *reply;

	*shutdown = false;
	if (!tok)
		return NULL;
	len = strlen(line);
	if (len > API_MAX_LINE) {
		json_tokener_free(tok);
		return reply_error("request longer than %d bytes", API_MAX_LINE);
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	/* The NUL is passed too: it ends a bare number and rejects a truncated request. */
	req = json_tokener_parse_ex(tok, line, (int)len + 1);
	err = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (!req || err != json_tokener_success) {
		json_object_put(req);
		if (strspn(line, " \t\r\n") == strlen(line))
			return reply_error("empty request: expected a JSON object");
		return reply_error("bad JSON: %s", json_tokener_error_desc(err));
	}
	if (!json_object_is_type(req, json_type_object)) {
		reply = reply_error("request is a JSON %s, not an object",
				    json_type_to_name(json_object_get_type(req)));
		goto out;
	}
	if (!json_object_object_get_ex(req, "cmd", &cmd)) {
		reply = reply_error("missing \"cmd\"");
		goto out;
	}
	if (!json_object_is_type(cmd, json_type_string)) {
		reply = reply_error("\"cmd\" is a JSON %s, not a string",
				    json_type_to_name(json_object_get_type(cmd)));
		goto out;
	}
	name = json_object_get_string(cmd);
	len = (size_t)json_object_get_string_len(cmd);
	if (len == strlen("shutdown") && !strcmp(name, "shutdown")) {
		reply = cmd_shutdown(t, shutdown);
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(api_cmds); i++) {
		if (len == strlen(api_cmds[i].name) && !strcmp(name, api_cmds[i].name)) {
			reply = api_cmds[i].fn(t);
			goto out;
		}
	}
	/* json-c escapes the name on output; a NUL inside it shortens it here. */
	reply = reply_error("unknown command \"%.*s%s\" (known: status, devices, regions, "
			    "mappings, counters, vcpus, shutdown)",
			    utf8_prefix(name, 64), name, strlen(name) > 64 ? "..." : "");
out:
	json_object_put(req);
	return reply;
}

/* ---- the socket ---- */

static struct log_ratelimit api_rl = LOG_RATELIMIT_INIT;

/*
 * Write all of @buf. The socket is non-blocking: a reader that does not
 * drain it within API_WRITE_MS loses its connection. 0 or -errno.
 */
static int write_all(int fd, const char *buf, size_t len)
{
	int waited_ms = 0;

	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			if (waited_ms >= API_WRITE_MS)
				return -EAGAIN;
			if (poll(&p, 1, 50) < 0 && errno != EINTR)
				return -errno;
			waited_ms += 50;
			continue;
		}
		return n < 0 ? -errno : -EPIPE;
	}
	return 0;
}

/* Send @reply and its newline; frees @reply. */
static int send_line(int fd, char *reply)
{
	size_t len;
	int ret;

	if (!reply)
		return -ENOMEM;
	len = strlen(reply);
	reply[len] = '\n'; /* strdup left room: the NUL becomes the newline */
	ret = write_all(fd, reply, len + 1);
	free(reply);
	return ret;
}

/* An error line to a client we are about to drop; failures do not matter. */
static void send_error(int fd, const char *msg)
{
	int ret = send_line(fd, reply_error("%s", msg));

	(void)ret;
}

static void client_close(struct api_client *c, const char *why)
{
	if (c->fd < 0)
		return;
	if (why)
		log_ratelimited(&api_rl, LOG_WARN, "api: client %d: %s", c->fd, why);
	loop_del(c->api->loop, c->fd);
	close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
	c->len = 0;
}

/* Answer one complete line; false if the client is gone. */
static bool client_line(struct api_client *c, char *line, size_t len)
{
	const struct api_target *t = c->api->t;
	bool shutdown = false;
	char *reply;
	int ret;

	line[len] = '\0'; /* a CR before the newline is JSON whitespace */
	if (memchr(line, '\0', len))
		reply = reply_error("request contains a NUL byte");
	else
		reply = api_handle_line(t, line, &shutdown);
	ret = send_line(c->fd, reply);
	if (ret < 0) {
		client_close(c, ret == -EAGAIN	 ? "not reading its replies, dropped"
				: ret == -ENOMEM ? "out of memory building a reply"
						 : "reply not delivered, dropped");
	}
	/* The reply went first (if it could); the VM stops whatever the client does. */
	if (shutdown) {
		log_info("api: shutdown requested");
		if (t->shutdown)
			t->shutdown(t->opaque);
	}
	return ret == 0;
}

/* Answer every complete line in the buffer, keep the partial one. */
static bool client_drain(struct api_client *c)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(c->buf + start, '\n', c->len - start))) {
		size_t len = (size_t)(nl - (c->buf + start));

		if (len > API_MAX_LINE)
			break;
		if (!client_line(c, c->buf + start, len))
			return false;
		start += len + 1;
	}
	if (c->len - start > API_MAX_LINE) {
		char msg[64];

		snprintf(msg, sizeof(msg), "request line longer than %d bytes", API_MAX_LINE);
		send_error(c->fd, msg);
		client_close(c, "request line too long, dropped");
		return false;
	}
	memmove(c->buf, c->buf + start, c->len - start);
	c->len -= start;
	return true;
}

static void client_event(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct api_client *c = opaque;
	ssize_t n;

	(void)l;
	(void)fd;
	if (events & EPOLLIN) {
		/* Room for the longest line, its newline and a NUL. */
		n = read(c->fd, c->buf + c->len, API_MAX_LINE + 1 - c->len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0) {
			client_close(c, strerror(errno));
			return;
		}
		if (n > 0) {
			c->len += (size_t)n;
			client_drain(c);
			return; /* level-triggered: called again while there is more */
		}
		/* EOF: a last request without its newline is still answered. */
		if (c->len && !client_line(c, c->buf, c->len))
			return;
		client_close(c, NULL);
		return;
	}
	/* Hung up or failed with nothing left to read. */
	if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
		client_close(c, NULL);
}

static void listen_event(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct api *a = opaque;
	struct api_client *c = NULL;
	int cfd, ret;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_ratelimited(&api_rl, LOG_WARN, "api: accept on %s: %s", a->path,
					strerror(errno));
		return;
	}
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++) {
		if (a->clients[i].fd < 0) {
			c = &a->clients[i];
			break;
		}
	}
	if (!c) {
		send_error(cfd, "too many clients (at most 16)");
		log_ratelimited(&api_rl, LOG_WARN, "api: %s: too many clients, one refused",
				a->path);
		close(cfd);
		return;
	}
	c->buf = malloc(API_MAX_LINE + 2);
	if (!c->buf) {
		send_error(cfd, "out of memory");
		close(cfd);
		return;
	}
	c->fd = cfd;
	c->len = 0;
	ret = loop_add(l, cfd, EPOLLIN | EPOLLRDHUP, client_event, c);
	if (ret < 0) {
		send_error(cfd, "server busy: no room in the event loop");
		log_ratelimited(&api_rl, LOG_WARN, "api: %s: cannot watch a client: %s", a->path,
				strerror(-ret));
		c->fd = -1;
		free(c->buf);
		c->buf = NULL;
		close(cfd);
	}
}

int api_init(struct api *a, const char *path, const struct api_target *t, struct loop *l)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	const char *what;
	int ret;

	memset(a, 0, sizeof(*a));
	a->listen_fd = -1;
	a->loop = l;
	a->t = t;
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++) {
		a->clients[i].fd = -1;
		a->clients[i].api = a;
	}
	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path)) {
		log_err("api socket %s: path empty or longer than %zu bytes",
			path ? path : "(null)", sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	a->path = strdup(path);
	if (!a->path)
		return -ENOMEM;

	what = "checking for a server already there";
	ret = unix_socket_claim(&sa);
	if (ret < 0)
		goto err;
	what = "socket";
	a->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->listen_fd < 0)
		goto err_errno;
	what = "bind";
	if (bind(a->listen_fd, (const struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto err_errno;
	if (stat(path, &st) == 0) {
		a->sock_dev = st.st_dev;
		a->sock_ino = st.st_ino;
	}
	what = "listen";
	if (listen(a->listen_fd, API_MAX_CLIENTS) < 0)
		goto err_unlink;
	what = "watching it";
	ret = loop_add(l, a->listen_fd, EPOLLIN, listen_event, a);
	if (ret < 0) {
		errno = -ret;
		goto err_unlink;
	}
	log_info("api: listening on %s", path);
	return 0;

err_unlink:
	ret = -errno;
	unlink(path);
	goto err;
err_errno:
	ret = -errno;
err:
	if (ret == -EADDRINUSE)
		log_err("api socket %s: another server is listening there", path);
	else if (ret == -EEXIST)
		log_err("api socket %s: exists and is not a socket", path);
	else
		log_err("api socket %s: %s: %s", path, what, strerror(-ret));
	if (a->listen_fd >= 0)
		close(a->listen_fd);
	a->listen_fd = -1;
	free(a->path);
	a->path = NULL;
	return ret;
}

void api_destroy(struct api *a)
{
	struct stat st;

	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		if (a->clients[i].api == a)
			client_close(&a->clients[i], NULL);
	if (a->listen_fd >= 0) {
		loop_del(a->loop, a->listen_fd);
		close(a->listen_fd);
		a->listen_fd = -1;
	}
	/* Only our own socket file: a later server may have replaced it. */
	if (a->path && stat(a->path, &st) == 0 && st.st_dev == a->sock_dev &&
	    st.st_ino == a->sock_ino)
		unlink(a->path);
	free(a->path);
	a->path = NULL;
}
