// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "devices/vhost_user_pci.h"
#include "mm/memslot.h"
#include "mm/shm_window.h"
#include "util/log.h"
#include "vmm/api.h"
#include "vmm/loop.h"

#include "check_main.h"

/* ---- helpers ---- */

/* Parse a reply line: one JSON object with "ok" of the expected value. */
static struct json_object *parse_reply(const char *line, bool ok)
{
	struct json_object *o, *v;

	ck_assert_ptr_nonnull(line);
	ck_assert_msg(!strchr(line, '\n'), "reply has a newline: %s", line);
	o = json_tokener_parse(line);
	ck_assert_msg(o && json_object_is_type(o, json_type_object), "not an object: %s", line);
	ck_assert_msg(json_object_object_get_ex(o, "ok", &v) &&
			  json_object_is_type(v, json_type_boolean),
		      "no boolean ok: %s", line);
	ck_assert_msg(json_object_get_boolean(v) == ok, "ok != %d: %s", ok, line);
	return o;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s", key,
		      json_object_to_json_string(o));
	return v;
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_int), "\"%s\" is not an integer", key);
	return json_object_get_uint64(v);
}

static bool get_bool(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_boolean), "\"%s\" is not a boolean", key);
	return json_object_get_boolean(v);
}

static const char *get_str(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_string), "\"%s\" is not a string", key);
	return json_object_get_string(v);
}

static bool is_null(struct json_object *o, const char *key)
{
	return get(o, key) == NULL;
}

static struct json_object *get_arr(struct json_object *o, const char *key, size_t len)
{
	struct json_object *v = get(o, key);

	ck_assert_msg(json_object_is_type(v, json_type_array), "\"%s\" is not an array", key);
	ck_assert_uint_eq(json_object_array_length(v), len);
	return v;
}

/* Run @line through api_handle_line, expect "ok" == @ok; caller puts the result. */
static struct json_object *ask(const struct api_target *t, const char *line, bool ok)
{
	bool shutdown = true;
	char *reply = api_handle_line(t, line, &shutdown);
	struct json_object *o = parse_reply(reply, ok);

	ck_assert(!shutdown);
	free(reply);
	return o;
}

static void ask_error(const struct api_target *t, const char *line, const char *needle)
{
	struct json_object *o = ask(t, line, false);
	const char *err = get_str(o, "error");

	ck_assert_msg(strstr(err, needle), "error for '%s' is '%s', wanted '%s'", line, err,
		      needle);
	json_object_put(o);
}

/* ---- a fake VM: a memslot table over a fake KVM and two devices ---- */

static int fake_set(void *opaque, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		    void *hva)
{
	(void)opaque;
	(void)slot;
	(void)flags;
	(void)gpa;
	(void)size;
	(void)hva;
	return 0;
}

static const struct memslot_ops fake_ops = {.set = fake_set};

#define WIN_GPA	  0x100000000ULL
#define BIG_COUNT (UINT64_MAX - 5) /* beyond 2^53: must survive as an exact integer */

static struct memslot_table slots;
static struct vhost_user_dev *devs;
static int memfd = -1;
static struct api_target tgt;

static void vm_setup(void)
{
	static const uint8_t ids[] = {0, 2};
	static const uint64_t sizes[] = {1 * MiB, 8 * MiB};
	struct shm_window *w;
	char data[64];

	ck_assert_int_eq(memslot_table_init(&slots, 32, &fake_ops, NULL), 0);
	devs = calloc(2, sizeof(*devs));
	ck_assert_ptr_nonnull(devs);

	/* Device 0: no shared memory, broken. */
	snprintf(devs[0].name, sizeof(devs[0].name), "vhost-blk0");
	devs[0].cfg.socket = "/run/blk.sock";
	devs[0].cfg.virtio_id = 2;
	devs[0].pci_slot = 3;
	devs[0].fe.broken = true;
	devs[0].refused_msgs = 0;

	/* Device 1: virtio-fs with a window of two regions, two mappings. */
	snprintf(devs[1].name, sizeof(devs[1].name), "vhost-fs1");
	devs[1].cfg.socket = "/run/fs.sock";
	devs[1].cfg.virtio_id = 26;
	devs[1].pci_slot = 4;
	devs[1].refused_msgs = BIG_COUNT;
	devs[1].fe.errors = 1;
	devs[1].has_shm = true;
	w = &devs[1].shm;
	ck_assert_int_eq(shm_window_init(w, devs[1].name, SHM_STRATEGY_SLOT, &slots, ids, sizes, 2),
			 0);
	shm_window_set_gpa(w, WIN_GPA);

	memfd = memfd_create("api-test", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, 1 * MiB), 0);
	memset(data, 0x5a, sizeof(data));
	ck_assert_int_eq(pwrite(memfd, data, sizeof(data), 0), (ssize_t)sizeof(data));
	/* Mapped in reverse order of offset: the reply groups and orders them. */
	ck_assert_int_eq(shm_window_map(w, 2, 0x100000, 0x1000, memfd, 0x10000, 0), 0);
	ck_assert_int_eq(shm_window_map(w, 0, 0x2000, 0x10000, memfd, 0, SHM_MAP_F_RW), 0);
	/* One refused map (outside region 0) and one hole read. */
	ck_assert_int_eq(shm_window_map(w, 0, 1 * MiB, 0x1000, memfd, 0, 0), -ERANGE);
	shm_window_access(w, 0x800000, data, 4, false);
	/* Pages past a file's end, as shm_window_repair() counts them (tested on its own). */
	w->stats.eof_pages = 3;

	tgt = (struct api_target){
	    .nr_vcpus = 2,
	    .memory = 512 * MiB,
	    .slots = &slots,
	    .devices = devs,
	    .nr_devices = 2,
	};
}

static void vm_teardown(void)
{
	shm_window_destroy(&devs[1].shm);
	free(devs);
	devs = NULL;
	memslot_table_destroy(&slots);
	if (memfd >= 0)
		close(memfd);
	memfd = -1;
}

/* ---- the pure request handler ---- */

/* Open descriptors counted another way than the API does. */
static uint64_t count_fds(void)
{
	uint64_t n = 0;

	for (int fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

START_TEST(status_empty_vm)
{
	struct api_target t = {.nr_vcpus = 1, .memory = 64 * MiB};
	struct json_object *o = ask(&t, "{\"cmd\":\"status\"}", true), *ms;
	uint64_t fds;
	int extra[3];

	ck_assert_str_eq(get_str(o, "state"), "running");
	ck_assert_uint_eq(get_u64(o, "pid"), (uint64_t)getpid());
	ck_assert_uint_eq(get_u64(o, "vcpus"), 1);
	ck_assert_uint_eq(get_u64(o, "memory"), 64 * MiB);
	ms = get(o, "memslots");
	ck_assert_uint_eq(get_u64(ms, "used"), 0);
	ck_assert_uint_eq(get_u64(ms, "max"), 0);
	fds = get_u64(o, "open_fds");
	ck_assert_uint_eq(fds, count_fds());
	json_object_put(o);

	/* Three more descriptors are counted as three more. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_ge(extra[i] = open("/dev/null", O_RDONLY | O_CLOEXEC), 0);
	o = ask(&t, "{\"cmd\":\"status\"}", true);
	ck_assert_uint_eq(get_u64(o, "open_fds"), fds + 3);
	json_object_put(o);
	for (int i = 0; i < 3; i++)
		close(extra[i]);
}
END_TEST

START_TEST(lists_empty_vm)
{
	static const char *const cmds[] = {"devices", "regions", "mappings", "counters"};
	struct api_target t = {0};

	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		char req[64];
		struct json_object *o;

		snprintf(req, sizeof(req), "{\"cmd\":\"%s\"}", cmds[i]);
		o = ask(&t, req, true);
		get_arr(o, "devices", 0);
		json_object_put(o);
	}
}
END_TEST

/* vCPU exits, from whatever counts them: three vCPUs, the middle one counted by shmvm. */
static bool fake_exits(void *opaque, unsigned int i, uint64_t out[NR_EXIT_KINDS])
{
	(void)opaque;
	for (int k = 0; k < NR_EXIT_KINDS; k++)
		out[k] = (uint64_t)(i + 1) * 1000 + (uint64_t)k;
	if (i == 2)
		out[EXIT_ALL] = UINT64_MAX; /* exact, as every number */
	return i != 1;
}

START_TEST(vcpus_exits)
{
	struct api_target t = {.nr_vcpus = 3, .vcpu_exits = fake_exits};
	struct api_target none = {.nr_vcpus = 1};
	struct json_object *o = ask(&t, "{\"cmd\":\"vcpus\"}", true), *arr = get_arr(o, "vcpus", 3);

	for (unsigned int i = 0; i < 3; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i), *x = get(v, "exits");

		ck_assert_uint_eq(get_u64(v, "index"), i);
		ck_assert_str_eq(get_str(v, "counted_by"), i == 1 ? "shmvm" : "kvm");
		for (int k = EXIT_IO; k < NR_EXIT_KINDS; k++)
			ck_assert_uint_eq(get_u64(x, exit_kind_name[k]), (i + 1) * 1000 + (unsigned int)k);
		ck_assert_uint_eq(get_u64(x, "exits"), i == 2 ? UINT64_MAX : (i + 1) * 1000);
	}
	json_object_put(o);
	/* Nothing to ask: zeros, said to be shmvm's. */
	o = ask(&none, "{\"cmd\":\"vcpus\"}", true);
	arr = get_arr(o, "vcpus", 1);
	ck_assert_str_eq(get_str(json_object_array_get_idx(arr, 0), "counted_by"), "shmvm");
	ck_assert_uint_eq(get_u64(get(json_object_array_get_idx(arr, 0), "exits"), "halt"), 0);
	json_object_put(o);
}
END_TEST

START_TEST(status_vm)
{
	struct json_object *o = ask(&tgt, " {\"cmd\" : \"status\", \"extra\": [1]}\r", true);
	struct json_object *ms = get(o, "memslots");

	ck_assert_uint_eq(get_u64(o, "vcpus"), 2);
	ck_assert_uint_eq(get_u64(o, "memory"), 512 * MiB);
	/* One slot per mapping (slot strategy, window in the guest). */
	ck_assert_uint_eq(get_u64(ms, "used"), 2);
	ck_assert_uint_eq(get_u64(ms, "max"), 32);
	json_object_put(o);
}
END_TEST

START_TEST(devices_vm)
{
	struct json_object *o = ask(&tgt, "{\"cmd\":\"devices\"}", true);
	struct json_object *arr = get_arr(o, "devices", 2), *d;

	d = json_object_array_get_idx(arr, 0);
	ck_assert_uint_eq(get_u64(d, "index"), 0);
	ck_assert_str_eq(get_str(d, "name"), "vhost-blk0");
	ck_assert_str_eq(get_str(d, "socket"), "/run/blk.sock");
	ck_assert_uint_eq(get_u64(d, "virtio_id"), 2);
	ck_assert_uint_eq(get_u64(d, "pci_slot"), 3);
	ck_assert(get_bool(d, "broken"));
	ck_assert(!get_bool(d, "shm"));
	d = json_object_array_get_idx(arr, 1);
	ck_assert_uint_eq(get_u64(d, "index"), 1);
	ck_assert_str_eq(get_str(d, "name"), "vhost-fs1");
	ck_assert_str_eq(get_str(d, "socket"), "/run/fs.sock");
	ck_assert_uint_eq(get_u64(d, "virtio_id"), 26);
	ck_assert_uint_eq(get_u64(d, "pci_slot"), 4);
	ck_assert(!get_bool(d, "broken"));
	ck_assert(get_bool(d, "shm"));
	json_object_put(o);
}
END_TEST

static void check_fs_counters(struct json_object *c)
{
	ck_assert_uint_eq(get_u64(c, "maps"), 2);
	ck_assert_uint_eq(get_u64(c, "unmaps"), 0);
	ck_assert_uint_eq(get_u64(c, "refused_maps"), 1);
	ck_assert_uint_eq(get_u64(c, "refused_unmaps"), 0);
	ck_assert_uint_eq(get_u64(c, "hole_reads"), 1);
	ck_assert_uint_eq(get_u64(c, "hole_writes"), 0);
	ck_assert_uint_eq(get_u64(c, "ro_writes"), 0);
	ck_assert_uint_eq(get_u64(c, "eof_pages"), 3);
	ck_assert_uint_eq(get_u64(c, "refused_messages"), BIG_COUNT);
	ck_assert_uint_eq(get_u64(c, "main_channel_errors"), 1);
}

static void check_mapping(struct json_object *m, uint64_t shm_offset, uint64_t len,
			  uint64_t fd_offset, bool writable, const struct stat *st)
{
	ck_assert_uint_eq(get_u64(m, "shm_offset"), shm_offset);
	ck_assert_uint_eq(get_u64(m, "len"), len);
	ck_assert_uint_eq(get_u64(m, "fd_offset"), fd_offset);
	ck_assert_uint_eq(get_u64(m, "flags"), writable ? SHM_MAP_F_RW : 0);
	ck_assert(get_bool(m, "writable") == writable);
	ck_assert_uint_eq(get_u64(m, "dev"), (uint64_t)st->st_dev);
	ck_assert_uint_eq(get_u64(m, "ino"), (uint64_t)st->st_ino);
}

START_TEST(regions_vm)
{
	static const char *const cmds[] = {"{\"cmd\":\"regions\"}", "{\"cmd\":\"mappings\"}"};
	struct stat st;

	ck_assert_int_eq(fstat(memfd, &st), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++) {
		struct json_object *o = ask(&tgt, cmds[i], true);
		/* Only the device with a window is listed, under its own index. */
		struct json_object *d = json_object_array_get_idx(get_arr(o, "devices", 1), 0);
		struct json_object *win, *regs, *r, *maps, *m;

		ck_assert_uint_eq(get_u64(d, "index"), 1);
		ck_assert_str_eq(get_str(d, "name"), "vhost-fs1");
		ck_assert_str_eq(get_str(d, "strategy"), "slot");
		win = get(d, "window");
		ck_assert_uint_eq(get_u64(win, "gpa"), WIN_GPA);
		/* 1 MiB at 0, 8 MiB at 2 MiB: 10 MiB, a 16 MiB BAR. */
		ck_assert_uint_eq(get_u64(win, "size"), 16 * MiB);
		regs = get_arr(d, "regions", 2);

		r = json_object_array_get_idx(regs, 0);
		ck_assert_uint_eq(get_u64(r, "shmid"), 0);
		ck_assert_uint_eq(get_u64(r, "offset"), 0);
		ck_assert_uint_eq(get_u64(r, "size"), 1 * MiB);
		ck_assert_uint_eq(get_u64(r, "gpa"), WIN_GPA);
		maps = get_arr(r, "mappings", 1);
		m = json_object_array_get_idx(maps, 0);
		check_mapping(m, 0x2000, 0x10000, 0, true, &st);
		/* Mapped second: the second slot. */
		ck_assert_uint_eq(get_u64(m, "slot"), 1);

		r = json_object_array_get_idx(regs, 1);
		ck_assert_uint_eq(get_u64(r, "shmid"), 2);
		ck_assert_uint_eq(get_u64(r, "offset"), 2 * MiB);
		ck_assert_uint_eq(get_u64(r, "size"), 8 * MiB);
		ck_assert_uint_eq(get_u64(r, "gpa"), WIN_GPA + 2 * MiB);
		maps = get_arr(r, "mappings", 1);
		m = json_object_array_get_idx(maps, 0);
		check_mapping(m, 0x100000, 0x1000, 0x10000, false, &st);
		ck_assert_uint_eq(get_u64(m, "slot"), 0);

		check_fs_counters(get(d, "counters"));
		json_object_put(o);
	}
}
END_TEST

START_TEST(regions_not_in_guest)
{
	struct json_object *o, *d, *r, *m;

	/* Taking the window out of the guest frees the slots: gpa and slot become null. */
	shm_window_set_gpa(&devs[1].shm, SHM_GPA_NONE);
	o = ask(&tgt, "{\"cmd\":\"regions\"}", true);
	d = json_object_array_get_idx(get_arr(o, "devices", 1), 0);
	ck_assert(is_null(get(d, "window"), "gpa"));
	r = json_object_array_get_idx(get_arr(d, "regions", 2), 1);
	ck_assert(is_null(r, "gpa"));
	m = json_object_array_get_idx(get_arr(r, "mappings", 1), 0);
	ck_assert(is_null(m, "slot"));
	json_object_put(o);

	/* And after an unmap the region's list is empty and the counter moved. */
	ck_assert_int_eq(shm_window_unmap(&devs[1].shm, 2, 0x100000, 0x1000), 0);
	o = ask(&tgt, "{\"cmd\":\"regions\"}", true);
	d = json_object_array_get_idx(get_arr(o, "devices", 1), 0);
	r = json_object_array_get_idx(get_arr(d, "regions", 2), 1);
	get_arr(r, "mappings", 0);
	ck_assert_uint_eq(get_u64(get(d, "counters"), "unmaps"), 1);
	json_object_put(o);
}
END_TEST

START_TEST(counters_vm)
{
	struct json_object *o = ask(&tgt, "{\"cmd\":\"counters\"}", true);
	struct json_object *arr = get_arr(o, "devices", 2), *d, *c;

	d = json_object_array_get_idx(arr, 0);
	ck_assert_uint_eq(get_u64(d, "index"), 0);
	ck_assert_str_eq(get_str(d, "name"), "vhost-blk0");
	ck_assert(!get_bool(d, "shm"));
	c = get(d, "counters");
	ck_assert_uint_eq(get_u64(c, "maps"), 0);
	ck_assert_uint_eq(get_u64(c, "eof_pages"), 0);
	ck_assert_uint_eq(get_u64(c, "refused_messages"), 0);
	ck_assert_uint_eq(get_u64(c, "main_channel_errors"), 0);
	d = json_object_array_get_idx(arr, 1);
	ck_assert_uint_eq(get_u64(d, "index"), 1);
	ck_assert(get_bool(d, "shm"));
	check_fs_counters(get(d, "counters"));
	json_object_put(o);
}
END_TEST

START_TEST(big_numbers_exact)
{
	bool shutdown;
	char *reply = api_handle_line(&tgt, "{\"cmd\":\"counters\"}", &shutdown);

	/* Printed as an exact decimal integer, not a double. */
	ck_assert_ptr_nonnull(strstr(reply, "\"refused_messages\":18446744073709551610"));
	free(reply);
}
END_TEST

START_TEST(errors)
{
	struct api_target t = {0};

	ask_error(&t, "{\"cmd\":", "bad JSON");
	ask_error(&t, "{\"cmd\":\"status\"} trailing", "bad JSON");
	ask_error(&t, "{\"cmd\":\"status\"}{\"cmd\":\"status\"}", "bad JSON");
	ask_error(&t, "{\"cmd\":\"status\",}", "bad JSON");
	ask_error(&t, "{\"cmd\":\"\xff\"}", "bad JSON");
	ask_error(&t, "nonsense", "bad JSON");
	ask_error(&t, "", "empty request");
	ask_error(&t, "   ", "empty request");
	ask_error(&t, "[\"status\"]", "array, not an object");
	ask_error(&t, "\"status\"", "string, not an object");
	ask_error(&t, "5", "int, not an object");
	ask_error(&t, "{}", "missing \"cmd\"");
	ask_error(&t, "{\"command\":\"status\"}", "missing \"cmd\"");
	ask_error(&t, "{\"cmd\":5}", "\"cmd\" is a JSON int, not a string");
	ask_error(&t, "{\"cmd\":null}", "not a string");
	ask_error(&t, "{\"cmd\":\"reboot\"}", "unknown command \"reboot\"");
	ask_error(&t, "{\"cmd\":\"Status\"}", "unknown command \"Status\"");
	ask_error(&t, "{\"cmd\":\"\"}", "unknown command \"\"");
	/* A NUL inside the name does not make it a known one. */
	ask_error(&t, "{\"cmd\":\"status\\u0000x\"}", "unknown command");
	ask_error(&t, "{\"cmd\":\"shutdown \"}", "unknown command");
}
END_TEST

START_TEST(error_long_names)
{
	struct api_target t = {0};
	char req[400], *reply;
	bool shutdown;
	size_t n;

	/* 100 two-byte characters: the name is cut, never inside a character. */
	n = (size_t)snprintf(req, sizeof(req), "{\"cmd\":\"");
	for (int i = 0; i < 100; i++) {
		req[n++] = (char)0xc3;
		req[n++] = (char)0xa9;
	}
	snprintf(req + n, sizeof(req) - n, "\"}");
	reply = api_handle_line(&t, req, &shutdown);
	json_object_put(parse_reply(reply, false)); /* parses, so valid UTF-8 */
	ck_assert_ptr_nonnull(strstr(reply, "...\\\" (known"));
	free(reply);

	/* Longer than API_MAX_LINE: refused before parsing. */
	char *big = malloc(API_MAX_LINE + 2);

	memset(big, ' ', API_MAX_LINE + 1);
	memcpy(big, "{\"cmd\":\"status\"}", 16);
	big[API_MAX_LINE + 1] = '\0';
	reply = api_handle_line(&t, big, &shutdown);
	json_object_put(parse_reply(reply, false));
	ck_assert_ptr_nonnull(strstr(reply, "longer than 65536"));
	free(reply);
	/* Exactly API_MAX_LINE is fine. */
	big[API_MAX_LINE] = '\0';
	reply = api_handle_line(&t, big, &shutdown);
	json_object_put(parse_reply(reply, true));
	free(reply);
	free(big);
}
END_TEST

START_TEST(shutdown_flag)
{
	struct api_target t = {0};
	bool shutdown = false;
	char *reply = api_handle_line(&t, "{\"cmd\":\"shutdown\"}", &shutdown);

	ck_assert(shutdown);
	ck_assert_str_eq(reply, "{\"ok\":true}");
	free(reply);
	/* Any other request clears it. */
	reply = api_handle_line(&t, "{\"cmd\":\"status\"}", &shutdown);
	ck_assert(!shutdown);
	free(reply);
	reply = api_handle_line(&t, "{\"cmd\":\"shutdown\"", &shutdown);
	ck_assert(!shutdown);
	free(reply);
}
END_TEST

/* ---- the socket ---- */

static char sock_dir[64];
static char sock_path[100]; /* fits sun_path */
static struct loop lp;
static struct api api;
static pthread_t loop_thread;
static int shutdowns;

static void *loop_main(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)loop_run(&lp, NULL, NULL);
}

/* The VM's shutdown: stop the loop (runs on the loop thread). */
static void fake_shutdown(void *opaque)
{
	struct loop *l = opaque;

	shutdowns++;
	loop_stop(l);
}

static void sock_setup(void)
{
	vm_setup();
	shutdowns = 0;
	tgt.shutdown = fake_shutdown;
	tgt.opaque = &lp;
	snprintf(sock_dir, sizeof(sock_dir), "/tmp/shmvm-api-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sock_dir));
	snprintf(sock_path, sizeof(sock_path), "%s/api.sock", sock_dir);
	ck_assert_int_eq(loop_init(&lp), 0);
	memset(&api, 0, sizeof(api));
	api.listen_fd = -1;
}

static void sock_teardown(void)
{
	api_destroy(&api);
	loop_destroy(&lp);
	unlink(sock_path);
	rmdir(sock_dir);
	vm_teardown();
}

static void start_server(void)
{
	ck_assert_int_eq(api_init(&api, sock_path, &tgt, &lp), 0);
	ck_assert_int_eq(pthread_create(&loop_thread, NULL, loop_main, NULL), 0);
}

static int client_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void send_str(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		ck_assert_int_gt(n, 0);
		s += n;
		len -= (size_t)n;
	}
}

/* One reply line (malloc'd, without its newline), or NULL at EOF or reset. */
static char *recv_line(int fd)
{
	size_t cap = 256, len = 0;
	char *buf = malloc(cap);

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		ck_assert_msg(poll(&p, 1, 5000) == 1, "no reply within 5 s");
		if (len + 1 == cap)
			buf = realloc(buf, cap *= 2);
		n = read(fd, buf + len, 1);
		if (n <= 0) {
			ck_assert_msg(n == 0 || errno == ECONNRESET, "read: %s", strerror(errno));
			ck_assert_msg(len == 0, "EOF inside a line");
			free(buf);
			return NULL;
		}
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return buf;
		}
		len++;
	}
}

/* Read a reply, check ok and that it has @key; returns it. */
static struct json_object *recv_reply(int fd, bool ok, const char *key)
{
	char *line = recv_line(fd);
	struct json_object *o;

	ck_assert_msg(line, "connection closed instead of a reply");
	o = parse_reply(line, ok);
	free(line);
	if (key)
		get(o, key);
	return o;
}

static void stop_server(int fd)
{
	void *rc;

	send_str(fd, "{\"cmd\":\"shutdown\"}\n");
	json_object_put(recv_reply(fd, true, NULL));
	ck_assert_int_eq(pthread_join(loop_thread, &rc), 0);
	ck_assert_ptr_eq(rc, NULL);
	ck_assert_int_eq(shutdowns, 1);
}

START_TEST(socket_requests)
{
	struct json_object *o;
	int fd;

	start_server();
	fd = client_connect();

	/* Two requests in one write: two replies, in order. */
	send_str(fd, "{\"cmd\":\"status\"}\n{\"cmd\":\"devices\"}\n");
	o = recv_reply(fd, true, "state");
	ck_assert_uint_eq(get_u64(o, "vcpus"), 2);
	json_object_put(o);
	o = recv_reply(fd, true, "devices");
	get_arr(o, "devices", 2);
	json_object_put(o);

	/* One request split across two writes: buffered until its newline. */
	send_str(fd, "{\"cmd\":\"coun");
	usleep(100 * 1000);
	send_str(fd, "ters\"}\r\n{\"cmd\":\"nope\"}\n");
	o = recv_reply(fd, true, "devices");
	check_fs_counters(get(json_object_array_get_idx(get_arr(o, "devices", 2), 1), "counters"));
	json_object_put(o);
	json_object_put(recv_reply(fd, false, "error"));

	/* A NUL byte in a line is refused, the connection survives. */
	ck_assert_int_eq(send(fd, "{\"cmd\":\"status\"}\0x\n", 19, MSG_NOSIGNAL), 19);
	o = recv_reply(fd, false, "error");
	ck_assert_str_eq(get_str(o, "error"), "request contains a NUL byte");
	json_object_put(o);

	ck_assert_int_eq(shutdowns, 0);
	stop_server(fd);
	close(fd);
}
END_TEST

START_TEST(socket_long_line)
{
	size_t len = 70 * 1024;
	char *big = malloc(len + 2);
	struct json_object *o;
	int fd, fd2;

	start_server();
	fd = client_connect();
	fd2 = client_connect();
	memset(big, 'x', len);
	big[len] = '\n';
	big[len + 1] = '\0';
	send_str(fd, big);
	o = recv_reply(fd, false, "error");
	ck_assert_ptr_nonnull(strstr(get_str(o, "error"), "longer than 65536"));
	json_object_put(o);
	/* Then the connection is closed. */
	ck_assert_ptr_null(recv_line(fd));
	close(fd);

	/* Without a newline at all, the same. */
	fd = client_connect();
	big[len] = '\0';
	send_str(fd, big);
	json_object_put(recv_reply(fd, false, "error"));
	ck_assert_ptr_null(recv_line(fd));
	close(fd);
	free(big);

	/* The other client is unaffected. */
	send_str(fd2, "{\"cmd\":\"status\"}\n");
	json_object_put(recv_reply(fd2, true, "state"));
	stop_server(fd2);
	close(fd2);
}
END_TEST

START_TEST(socket_last_line_at_eof)
{
	int fd;

	start_server();
	fd = client_connect();
	/* A request without a newline, then end of input: still answered. */
	send_str(fd, "{\"cmd\":\"status\"}");
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	json_object_put(recv_reply(fd, true, "state"));
	ck_assert_ptr_null(recv_line(fd));
	close(fd);

	fd = client_connect();
	stop_server(fd);
	close(fd);
}
END_TEST

START_TEST(socket_client_limit)
{
	int fds[API_MAX_CLIENTS], extra;
	struct json_object *o;

	start_server();
	for (int i = 0; i < API_MAX_CLIENTS; i++) {
		fds[i] = client_connect();
		/* A round trip: accepted and served. */
		send_str(fds[i], "{\"cmd\":\"status\"}\n");
		json_object_put(recv_reply(fds[i], true, "state"));
	}
	extra = client_connect();
	o = recv_reply(extra, false, "error");
	ck_assert_ptr_nonnull(strstr(get_str(o, "error"), "too many clients"));
	json_object_put(o);
	ck_assert_ptr_null(recv_line(extra));
	close(extra);

	/* A client leaving makes room for another. */
	close(fds[0]);
	for (int tries = 0;; tries++) {
		char *line;

		fds[0] = client_connect();
		send_str(fds[0], "{\"cmd\":\"status\"}\n");
		line = recv_line(fds[0]);
		ck_assert_ptr_nonnull(line);
		o = parse_reply(line, strstr(line, "\"ok\":true") != NULL);
		free(line);
		if (json_object_get_boolean(get(o, "ok"))) {
			json_object_put(o);
			break;
		}
		/* The close may not have been seen yet. */
		json_object_put(o);
		close(fds[0]);
		ck_assert_int_lt(tries, 50);
		usleep(20 * 1000);
	}
	stop_server(fds[0]);
	for (int i = 0; i < API_MAX_CLIENTS; i++)
		close(fds[i]);
}
END_TEST

/* The last log line, to check that failures name the path. */
static char last_log[512];

static void capture_log(enum log_level level, const char *msg, void *opaque)
{
	(void)level;
	(void)opaque;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

START_TEST(socket_path_checks)
{
	struct api second;
	int fd;

	log_set_sink(capture_log, NULL);

	/* A stale socket file (its server died) is replaced. */
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int s = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
		ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(s);
		ck_assert_int_eq(access(sock_path, F_OK), 0);
	}
	start_server();

	/* A live server there is not disturbed. */
	last_log[0] = '\0';
	ck_assert_int_eq(api_init(&second, sock_path, &tgt, &lp), -EADDRINUSE);
	ck_assert_ptr_nonnull(strstr(last_log, sock_path));
	fd = client_connect();
	send_str(fd, "{\"cmd\":\"status\"}\n");
	json_object_put(recv_reply(fd, true, "state"));
	stop_server(fd);
	close(fd);

	/* Destroy removes the socket file. */
	api_destroy(&api);
	ck_assert_int_eq(access(sock_path, F_OK), -1);
	api_destroy(&api); /* idempotent */

	/* Something that is not a socket is never removed. */
	fd = open(sock_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	last_log[0] = '\0';
	ck_assert_int_eq(api_init(&second, sock_path, &tgt, &lp), -EEXIST);
	ck_assert_ptr_nonnull(strstr(last_log, sock_path));
	ck_assert_int_eq(access(sock_path, F_OK), 0);

	/* Nor a directory that does not exist. */
	last_log[0] = '\0';
	ck_assert_int_eq(api_init(&second, "/nonexistent-dir/api.sock", &tgt, &lp), -ENOENT);
	ck_assert_ptr_nonnull(strstr(last_log, "/nonexistent-dir/api.sock"));
	log_set_sink(NULL, NULL);
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("empty_vm");

	tcase_add_test(tc, status_empty_vm);
	tcase_add_test(tc, lists_empty_vm);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, error_long_names);
	tcase_add_test(tc, shutdown_flag);
	suite_add_tcase(s, tc);

	tc = tcase_create("vm");
	tcase_add_checked_fixture(tc, vm_setup, vm_teardown);
	tcase_add_test(tc, status_vm);
	tcase_add_test(tc, vcpus_exits);
	tcase_add_test(tc, devices_vm);
	tcase_add_test(tc, regions_vm);
	tcase_add_test(tc, regions_not_in_guest);
	tcase_add_test(tc, counters_vm);
	tcase_add_test(tc, big_numbers_exact);
	suite_add_tcase(s, tc);

	tc = tcase_create("socket");
	tcase_add_checked_fixture(tc, sock_setup, sock_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, socket_requests);
	tcase_add_test(tc, socket_long_line);
	tcase_add_test(tc, socket_last_line_at_eof);
	tcase_add_test(tc, socket_client_limit);
	tcase_add_test(tc, socket_path_checks);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(api_suite)
