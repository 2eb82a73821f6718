// SPDX-License-Identifier: GPL-2.0-only
/* shmvm-fsd's FUSE handler on a real temporary directory, fed raw FUSE requests. */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/fsd/fuse_server.h"

#include "check_main.h"

static char dir[64];
static struct fsd *fs;
static uint8_t outbuf[1 << 21];
static uint64_t unique;

/* Send opcode @op on @nodeid with @arg (split in odd pieces); returns the reply header. */
static struct fuse_out_header req(uint32_t op, uint64_t nodeid, const void *arg, size_t len)
{
	static uint8_t in[1 << 21];
	struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + len), .opcode = op,
				    .unique = ++unique, .nodeid = nodeid };
	struct iovec iv[3], ov[2];
	struct fuse_out_header oh = { 0 };
	size_t n, total = sizeof(h) + len;

	memcpy(in, &h, sizeof(h));
	if (len)
		memcpy(in + sizeof(h), arg, len);
	/* Split the request at odd places, as Linux's scatter lists may. */
	iv[0] = (struct iovec){ in, 7 < total ? 7 : total };
	iv[1] = (struct iovec){ in + iv[0].iov_len, total > 30 ? 23 : total - iv[0].iov_len };
	iv[2] = (struct iovec){ in + iv[0].iov_len + iv[1].iov_len, total - iv[0].iov_len - iv[1].iov_len };
	ov[0] = (struct iovec){ outbuf, 5 };
	ov[1] = (struct iovec){ outbuf + 5, sizeof(outbuf) - 5 };
	memset(outbuf, 0, 4096);
	n = fsd_handle(fs, iv, 3, ov, 2);
	if (n >= sizeof(oh)) {
		memcpy(&oh, outbuf, sizeof(oh));
		ck_assert_uint_eq(oh.len, n);
		ck_assert_uint_eq(oh.unique, unique);
	}
	return oh;
}

static void *payload(void)
{
	return outbuf + sizeof(struct fuse_out_header);
}

static void init_fs(void)
{
	struct fuse_init_in in = { .major = 7, .minor = 38, .max_readahead = 65536 };
	struct fuse_out_header oh = req(FUSE_INIT, 0, &in, sizeof(in));

	ck_assert_int_eq(oh.error, 0);
}

static uint64_t lookup(uint64_t parent, const char *name, int *err)
{
	struct fuse_out_header oh = req(FUSE_LOOKUP, parent, name, strlen(name) + 1);

	*err = oh.error;
	return oh.error ? 0 : ((struct fuse_entry_out *)payload())->nodeid;
}

static void setup(void)
{
	char p[128];

	snprintf(dir, sizeof(dir), "/tmp/shmvm-fsd-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/hello.txt", dir);
	FILE *f = fopen(p, "w");
	fputs("hello, guest\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/sub", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/escape", dir);
	ck_assert_int_eq(symlink("/etc", p), 0);
	ck_assert_int_eq(fsd_create(&(struct fsd_opts){ .shared_dir = dir }, &fs), 0);
}

static void teardown(void)
{
	char cmd[128];

	fsd_destroy(fs);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(before_init)
{
	int err;

	lookup(FUSE_ROOT_ID, "hello.txt", &err);
	ck_assert_int_eq(err, -EIO);
}
END_TEST

START_TEST(lookup_getattr_read)
{
	int err;
	struct stat st;
	char p[128];

	init_fs();
	uint64_t n = lookup(FUSE_ROOT_ID, "hello.txt", &err);
	ck_assert_int_eq(err, 0);
	snprintf(p, sizeof(p), "%s/hello.txt", dir);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(((struct fuse_entry_out *)payload())->attr.ino, st.st_ino);
	ck_assert_uint_eq(((struct fuse_entry_out *)payload())->attr.size, 13);
	/* A second lookup gives the same node. */
	ck_assert_uint_eq(lookup(FUSE_ROOT_ID, "hello.txt", &err), n);

	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fuse_out_header oh = req(FUSE_OPEN, n, &oi, sizeof(oi));
	ck_assert_int_eq(oh.error, 0);
	uint64_t fh = ((struct fuse_open_out *)payload())->fh;
	struct fuse_read_in ri = { .fh = fh, .offset = 7, .size = 100 };
	oh = req(FUSE_READ, n, &ri, sizeof(ri));
	ck_assert_int_eq(oh.error, 0);
	ck_assert_uint_eq(oh.len - sizeof(oh), 6);
	ck_assert(!memcmp(payload(), "guest\n", 6));
	struct fuse_release_in rel = { .fh = fh };
	ck_assert_int_eq(req(FUSE_RELEASE, n, &rel, sizeof(rel)).error, 0);
	ck_assert_int_eq(req(FUSE_RELEASE, n, &rel, sizeof(rel)).error, -EBADF); /* twice */
	ck_assert_int_eq(req(FUSE_READ, n, &ri, sizeof(ri)).error, -EBADF);
	/* FORGET gets no reply; the node then is stale. */
	struct fuse_forget_in fg = { .nlookup = 2 };
	ck_assert_uint_eq(req(FUSE_FORGET, n, &fg, sizeof(fg)).len, 0);
	ck_assert_int_eq(req(FUSE_GETATTR, n, &(struct fuse_getattr_in){ 0 }, sizeof(struct fuse_getattr_in)).error, -ESTALE);
}
END_TEST

START_TEST(create_write_rename_unlink)
{
	int err;
	char p[160], buf[64];
	struct {
		struct fuse_create_in in;
		char name[8];
	} cr = { { .flags = O_RDWR, .mode = S_IFREG | 0644 }, "new.txt" };

	init_fs();
	struct fuse_out_header oh = req(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr.in) + 8);
	ck_assert_int_eq(oh.error, 0);
	uint64_t fh = ((struct fuse_open_out *)((uint8_t *)payload() + sizeof(struct fuse_entry_out)))->fh;
	struct {
		struct fuse_write_in in;
		char data[5];
	} wr = { { .fh = fh, .offset = 0, .size = 5 }, "abcde" };
	oh = req(FUSE_WRITE, 0, &wr, sizeof(wr));
	ck_assert_int_eq(oh.error, 0);
	ck_assert_uint_eq(((struct fuse_write_out *)payload())->size, 5);
	snprintf(p, sizeof(p), "%s/new.txt", dir);
	int fd = open(p, O_RDONLY);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), 5);
	close(fd);
	/* Truncate through SETATTR. */
	uint64_t n = lookup(FUSE_ROOT_ID, "new.txt", &err);
	struct fuse_setattr_in sa = { .valid = FATTR_SIZE, .size = 2 };
	ck_assert_int_eq(req(FUSE_SETATTR, n, &sa, sizeof(sa)).error, 0);
	struct stat st;
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_size, 2);
	/* Rename into sub/, then unlink. */
	uint64_t sub = lookup(FUSE_ROOT_ID, "sub", &err);
	struct {
		struct fuse_rename_in in;
		char names[16];
	} rn = { { .newdir = sub }, "new.txt\0moved" };
	ck_assert_int_eq(req(FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn.in) + 14).error, 0);
	snprintf(p, sizeof(p), "%s/sub/moved", dir);
	ck_assert_int_eq(access(p, F_OK), 0);
	ck_assert_int_eq(req(FUSE_UNLINK, sub, "moved", 6).error, 0);
	ck_assert_int_ne(access(p, F_OK), 0);
	/* mkdir and rmdir. */
	struct {
		struct fuse_mkdir_in in;
		char name[4];
	} mk = { { .mode = 0755 }, "dd" };
	ck_assert_int_eq(req(FUSE_MKDIR, FUSE_ROOT_ID, &mk, sizeof(mk.in) + 3).error, 0);
	snprintf(p, sizeof(p), "%s/dd", dir);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(req(FUSE_RMDIR, FUSE_ROOT_ID, "dd", 3).error, 0);
}
END_TEST

START_TEST(readdir_lists)
{
	int found = 0;

	init_fs();
	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fuse_out_header oh = req(FUSE_OPENDIR, FUSE_ROOT_ID, &oi, sizeof(oi));
	ck_assert_int_eq(oh.error, 0);
	uint64_t fh = ((struct fuse_open_out *)payload())->fh;
	struct fuse_read_in ri = { .fh = fh, .size = 4096 };
	oh = req(FUSE_READDIR, FUSE_ROOT_ID, &ri, sizeof(ri));
	ck_assert_int_eq(oh.error, 0);
	for (size_t pos = 0; pos < oh.len - sizeof(oh);) {
		struct fuse_dirent *d = (struct fuse_dirent *)((uint8_t *)payload() + pos);

		if (d->namelen == 9 && !memcmp(d->name, "hello.txt", 9))
			found++;
		if (d->namelen == 3 && !memcmp(d->name, "sub", 3))
			found++;
		pos += FUSE_DIRENT_SIZE(d);
	}
	ck_assert_int_eq(found, 2);
	/* A directory handle is not a file handle. */
	ck_assert_int_eq(req(FUSE_READ, FUSE_ROOT_ID, &ri, sizeof(ri)).error, -EBADF);
}
END_TEST

START_TEST(escapes_refused)
{
	int err;

	init_fs();
	lookup(FUSE_ROOT_ID, "..", &err);
	ck_assert_int_ne(err, 0);
	lookup(FUSE_ROOT_ID, "sub/../..", &err);
	ck_assert_int_ne(err, 0);
	lookup(FUSE_ROOT_ID, "", &err);
	ck_assert_int_ne(err, 0);
	/* A symlink to /etc can be looked up (it is a file here) but not entered or opened. */
	uint64_t esc = lookup(FUSE_ROOT_ID, "escape", &err);
	ck_assert_int_eq(err, 0);
	lookup(esc, "passwd", &err);
	ck_assert_int_ne(err, 0);
	struct fuse_open_in oi = { .flags = O_RDONLY };
	ck_assert_int_ne(req(FUSE_OPEN, esc, &oi, sizeof(oi)).error, 0);
	ck_assert_int_ne(req(FUSE_OPENDIR, esc, &oi, sizeof(oi)).error, 0);
	/* Truncating or chmod'ing it would follow it: refused. */
	struct fuse_setattr_in sa = { .valid = FATTR_SIZE, .size = 0 };
	ck_assert_int_ne(req(FUSE_SETATTR, esc, &sa, sizeof(sa)).error, 0);
	/* Renaming with a slash in the new name is refused. */
	struct {
		struct fuse_rename_in in;
		char names[24];
	} rn = { { .newdir = FUSE_ROOT_ID }, "hello.txt\0../../x" };
	ck_assert_int_eq(req(FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn.in) + 18).error, -EINVAL);
	/* A name without its NUL is refused. */
	ck_assert_int_ne(req(FUSE_LOOKUP, FUSE_ROOT_ID, "hello.txt", 9).error, 0);
	/* Bogus nodes and handles. */
	ck_assert_int_eq(req(FUSE_GETATTR, 12345, &(struct fuse_getattr_in){ 0 }, sizeof(struct fuse_getattr_in)).error, -ESTALE);
	ck_assert_int_eq(req(FUSE_GETATTR, (7ULL << 32) | 1, &(struct fuse_getattr_in){ 0 }, sizeof(struct fuse_getattr_in)).error, -ESTALE);
	struct fuse_read_in ri = { .fh = 999, .size = 10 };
	ck_assert_int_eq(req(FUSE_READ, FUSE_ROOT_ID, &ri, sizeof(ri)).error, -EBADF);
	/* Truncated arguments and unknown opcodes. */
	ck_assert_int_eq(req(FUSE_READ, FUSE_ROOT_ID, &ri, 4).error, -EINVAL);
	ck_assert_int_eq(req(9999, FUSE_ROOT_ID, NULL, 0).error, -ENOSYS);
	/* A link of the escaping symlink stays a symlink inside the tree. */
	struct {
		struct fuse_link_in in;
		char name[8];
	} ln = { { .oldnodeid = esc }, "esc2" };
	ck_assert_int_eq(req(FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln.in) + 5).error, 0);
	char p[128], t[64];
	snprintf(p, sizeof(p), "%s/esc2", dir);
	ssize_t n = readlink(p, t, sizeof(t));
	ck_assert_int_eq(n, 4);
}
END_TEST

START_TEST(read_only_mode)
{
	struct fsd *ro;

	ck_assert_int_eq(fsd_create(&(struct fsd_opts){ .shared_dir = dir, .read_only = true }, &ro), 0);
	fsd_destroy(fs);
	fs = ro;
	init_fs();
	ck_assert_int_eq(req(FUSE_UNLINK, FUSE_ROOT_ID, "hello.txt", 10).error, -EROFS);
	int err;
	uint64_t n = lookup(FUSE_ROOT_ID, "hello.txt", &err);
	struct fuse_open_in oi = { .flags = O_RDWR };
	ck_assert_int_eq(req(FUSE_OPEN, n, &oi, sizeof(oi)).error, -EROFS);
	char p[128];
	snprintf(p, sizeof(p), "%s/hello.txt", dir);
	ck_assert_int_eq(access(p, F_OK), 0);
}
END_TEST

START_TEST(short_and_lying_requests)
{
	uint8_t junk[8] = { 0 };
	struct iovec iv = { junk, sizeof(junk) }, ov = { outbuf, sizeof(outbuf) };

	ck_assert_uint_eq(fsd_handle(fs, &iv, 1, &ov, 1), 0); /* shorter than a header */
	init_fs();
	/* A header whose len claims more than was sent: arguments are cut at what arrived. */
	struct fuse_in_header h = { .len = 4000, .opcode = FUSE_LOOKUP, .unique = 1, .nodeid = 1 };
	iv = (struct iovec){ &h, sizeof(h) };
	ck_assert_uint_ge(fsd_handle(fs, &iv, 1, &ov, 1), sizeof(struct fuse_out_header));
	ck_assert_int_ne(((struct fuse_out_header *)outbuf)->error, 0);
	/* No room for a reply: nothing written, no crash. */
	ov.iov_len = 4;
	ck_assert_uint_eq(fsd_handle(fs, &iv, 1, &ov, 1), 0);
}
END_TEST

START_TEST(readdirplus_looks_up)
{
	int found = 0, err;

	init_fs();
	struct fuse_open_in oi = { .flags = O_RDONLY };
	struct fuse_out_header oh = req(FUSE_OPENDIR, FUSE_ROOT_ID, &oi, sizeof(oi));
	uint64_t fh = ((struct fuse_open_out *)payload())->fh;
	struct fuse_read_in ri = { .fh = fh, .size = 8192 };
	oh = req(FUSE_READDIRPLUS, FUSE_ROOT_ID, &ri, sizeof(ri));
	ck_assert_int_eq(oh.error, 0);
	uint64_t hello = 0;
	for (size_t pos = 0; pos < oh.len - sizeof(oh);) {
		struct fuse_direntplus *d = (struct fuse_direntplus *)((uint8_t *)payload() + pos);

		if (d->dirent.namelen == 9 && !memcmp(d->dirent.name, "hello.txt", 9)) {
			hello = d->entry_out.nodeid;
			ck_assert_uint_eq(d->entry_out.attr.size, 13);
			found++;
		}
		if (d->dirent.namelen <= 2 && d->dirent.name[0] == '.')
			ck_assert_uint_eq(d->entry_out.nodeid, 0); /* no node for . and .. */
		pos += FUSE_DIRENTPLUS_SIZE(d);
	}
	ck_assert_int_eq(found, 1);
	/* The entry was a lookup: the same node as an explicit LOOKUP. */
	ck_assert_uint_eq(lookup(FUSE_ROOT_ID, "hello.txt", &err), hello);
	/* A tiny buffer returns what fits (nothing), not an error. */
	ri.size = 8;
	ri.offset = 0;
	oh = req(FUSE_READDIRPLUS, FUSE_ROOT_ID, &ri, sizeof(ri));
	ck_assert_int_eq(oh.error, 0);
	ck_assert_uint_eq(oh.len, sizeof(oh));
}
END_TEST

/* The host-side fd of the file at @path, opened by shmvm-fsd: its open flags (fdinfo), or -1. */
static long host_open_flags(const char *path)
{
	char link[64], target[256], line[128];
	long flags = -1;

	for (int fd = 3; fd < 1024 && flags < 0; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, target, sizeof(target) - 1);

		if (n <= 0)
			continue;
		target[n] = 0;
		if (strcmp(target, path))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fdinfo/%d", fd);
		FILE *f = fopen(link, "r");
		while (f && fgets(line, sizeof(line), f))
			if (!strncmp(line, "flags:", 6) && (strtol(line + 6, NULL, 8) & O_PATH) == 0)
				flags = strtol(line + 6, NULL, 8);
		if (f)
			fclose(f);
	}
	return flags;
}

START_TEST(guest_o_direct_stays_in_the_guest)
{
	struct {
		struct fuse_create_in in;
		char name[8];
	} cr = { { .flags = O_WRONLY | O_DIRECT, .mode = S_IFREG | 0644 }, "dio.bin" };
	char p[160];

	init_fs();
	ck_assert_int_eq(req(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr.in) + 8).error, 0);
	snprintf(p, sizeof(p), "%s/dio.bin", dir);
	long flags = host_open_flags(p);
	ck_assert_int_ge(flags, 0);
	ck_assert_int_eq(flags & O_DIRECT, 0); /* tmpfs before 6.6 refuses O_DIRECT */
	ck_assert_int_eq(flags & O_ACCMODE, O_WRONLY);
}
END_TEST

/* ---- DAX: SETUPMAPPING / REMOVEMAPPING against a fake frontend ---- */

/*
 * The frontend as vhost-user defines it: a map over a live mapping fails,
 * an unmap must name exactly one whole mapping. Each mapping remembers the
 * file it was given and how that fd was opened.
 */
#define FAKE_MAX 64
static struct fake_map {
	uint64_t moffset, len, foffset;
	ino_t ino;
	int accmode;
	bool writable;
} fake[FAKE_MAX];
static unsigned int nfake, fake_maps, fake_unmaps;
static int fake_refuse; /* the next map's answer, when non-zero */

static int fake_map(void *opaque, int fd, uint64_t foffset, uint64_t moffset, uint64_t len,
		    bool writable)
{
	struct stat st;

	(void)opaque;
	fake_maps++;
	if (fake_refuse) {
		int rc = fake_refuse;

		fake_refuse = 0;
		return rc;
	}
	for (unsigned int i = 0; i < nfake; i++)
		if (moffset < fake[i].moffset + fake[i].len && fake[i].moffset < moffset + len)
			return -EEXIST;
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_lt(nfake, FAKE_MAX);
	fake[nfake++] = (struct fake_map){ moffset, len, foffset, st.st_ino,
					   fcntl(fd, F_GETFL) & O_ACCMODE, writable };
	return 0;
}

static int fake_unmap(void *opaque, uint64_t moffset, uint64_t len)
{
	(void)opaque;
	fake_unmaps++;
	for (unsigned int i = 0; i < nfake; i++) {
		if (fake[i].moffset == moffset && fake[i].len == len) {
			fake[i] = fake[--nfake];
			return 0;
		}
	}
	return -ENOENT;
}

static const struct fsd_dax_ops fake_ops = { .map = fake_map, .unmap = fake_unmap };
static const struct fake_map *fake_at(uint64_t moffset)
{
	for (unsigned int i = 0; i < nfake; i++)
		if (fake[i].moffset == moffset)
			return &fake[i];
	return NULL;
}

#define WIN (16ULL << 20) /* 8 chunks */
#define CH (2ULL << 20)
static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static void setup_dax_with(bool read_only)
{
	fsd_destroy(fs);
	nfake = fake_maps = fake_unmaps = 0;
	fake_refuse = 0;
	ck_assert_int_eq(fsd_create(&(struct fsd_opts){ .shared_dir = dir, .read_only = read_only,
							.dax_window = WIN, .dax_ops = &fake_ops },
				    &fs),
			 0);
}

static void setup_dax(void)
{
	setup(); /* the shared tree and a plain fs, replaced here */
	setup_dax_with(false);
}

/* INIT as a driver with a DAX window sends it; returns the reply. */
static struct fuse_init_out init_dax(uint32_t flags)
{
	struct fuse_init_in in = { .major = 7, .minor = 38, .max_readahead = 65536, .flags = flags };

	ck_assert_int_eq(req(FUSE_INIT, 0, &in, sizeof(in)).error, 0);
	return *(struct fuse_init_out *)payload();
}

static int setupmapping(uint64_t node, uint64_t foffset, uint64_t moffset, uint64_t len,
			uint64_t flags)
{
	struct fuse_setupmapping_in in = { .fh = (uint64_t)-1, .foffset = foffset, .len = len,
					   .flags = flags, .moffset = moffset };

	return req(FUSE_SETUPMAPPING, node, &in, sizeof(in)).error;
}

/* REMOVEMAPPING of @n (moffset, len) pairs, packed as Linux does (entries at byte 4). */
static int removemapping(uint64_t node, const uint64_t *pairs, uint32_t n)
{
	uint8_t buf[4 + 16 * 8];

	ck_assert_uint_le(n, 8);
	memcpy(buf, &n, 4);
	memcpy(buf + 4, pairs, 16 * n);
	return req(FUSE_REMOVEMAPPING, node, buf, 4 + 16 * n).error;
}

static uint64_t make_file(const char *name, size_t size)
{
	char p[128];
	int err, fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	close(fd);
	uint64_t n = lookup(FUSE_ROOT_ID, name, &err);
	ck_assert_int_eq(err, 0);
	return n;
}

#define RD FUSE_SETUPMAPPING_FLAG_READ
#define WR (FUSE_SETUPMAPPING_FLAG_READ | FUSE_SETUPMAPPING_FLAG_WRITE)

START_TEST(dax_init_announces_alignment)
{
	struct fuse_init_out o = init_dax(FUSE_MAP_ALIGNMENT);

	ck_assert(o.flags & FUSE_MAP_ALIGNMENT);
	ck_assert_uint_eq(o.map_alignment, 21); /* Linux refuses more than its 2 MiB ranges */
	/* A driver without a window does not ask, and is not told. */
	o = init_dax(0);
	ck_assert(!(o.flags & FUSE_MAP_ALIGNMENT));
}
END_TEST

START_TEST(dax_map_upgrade_replace_remove)
{
	struct stat st;
	char p[128];

	init_dax(FUSE_MAP_ALIGNMENT);
	uint64_t a = make_file("a", 3 * CH), b = make_file("b", CH);
	int fds = count_fds();

	/* A read mapping is made read-write when the file can be opened so. */
	ck_assert_int_eq(setupmapping(a, 0, 0, CH, RD), 0);
	ck_assert_uint_eq(nfake, 1);
	snprintf(p, sizeof(p), "%s/a", dir);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_uint_eq(fake_at(0)->ino, st.st_ino);
	ck_assert(fake_at(0)->writable);
	ck_assert_int_eq(fake_at(0)->accmode, O_RDWR);
	/* Linux's upgrade: the same range again, writable. Nothing to do, no hole. */
	ck_assert_int_eq(setupmapping(a, 0, 0, CH, WR), 0);
	ck_assert_uint_eq(fake_maps, 1);
	ck_assert_uint_eq(fake_unmaps, 0);
	ck_assert_uint_eq(fsd_dax_stats(fs).reused, 1);
	/* Another file over it: unmapped first, then mapped (the fake refuses overlaps). */
	ck_assert_int_eq(setupmapping(b, 0, 0, CH, RD), 0);
	ck_assert_uint_eq(fake_unmaps, 1);
	ck_assert_uint_eq(nfake, 1);
	ck_assert_uint_ne(fake_at(0)->ino, st.st_ino);
	/* The same file at another offset of the file is another mapping too. */
	ck_assert_int_eq(setupmapping(a, 2 * CH, CH, CH, RD), 0);
	ck_assert_int_eq(setupmapping(a, 0, CH, CH, RD), 0);
	ck_assert_uint_eq(fake_at(CH)->foffset, 0);
	ck_assert_uint_eq(fsd_dax_stats(fs).live, 2);
	/* A 4 MiB mapping over chunks 2-3, then a 2 MiB one in chunk 3: the big one goes. */
	ck_assert_int_eq(setupmapping(a, 0, 2 * CH, 2 * CH, RD), 0);
	ck_assert_int_eq(setupmapping(b, 0, 3 * CH, CH, RD), 0);
	ck_assert_ptr_null(fake_at(2 * CH));
	ck_assert_ptr_nonnull(fake_at(3 * CH));
	/* REMOVEMAPPING: several entries, unaligned in the request; a free range is fine. */
	uint64_t rm[] = { 0, CH, CH, CH, 5 * CH, CH };
	ck_assert_int_eq(removemapping(a, rm, 3), 0);
	ck_assert_uint_eq(nfake, 1);
	ck_assert_uint_eq(fsd_dax_stats(fs).live, 1);
	ck_assert_int_eq(count_fds(), fds); /* every fd opened for a map was closed */
	/* Unmount: DESTROY leaves nothing mapped. */
	ck_assert_int_eq(req(FUSE_DESTROY, 0, NULL, 0).error, 0);
	ck_assert_uint_eq(nfake, 0);
	ck_assert_uint_eq(fsd_dax_stats(fs).live, 0);
}
END_TEST

START_TEST(dax_bad_requests)
{
	init_dax(FUSE_MAP_ALIGNMENT);
	uint64_t a = make_file("a", CH);
	int err;
	uint64_t l = lookup(FUSE_ROOT_ID, "escape", &err); /* a symlink */
	int fds = count_fds();

	ck_assert_int_eq(setupmapping(a, 0, 4096, CH, RD), -EINVAL);          /* moffset unaligned */
	ck_assert_int_eq(setupmapping(a, 4096, 0, CH, RD), -EINVAL);          /* foffset unaligned */
	ck_assert_int_eq(setupmapping(a, 0, 0, 0, RD), -EINVAL);              /* empty */
	ck_assert_int_eq(setupmapping(a, 0, 0, 100, RD), -EINVAL);            /* not pages */
	ck_assert_int_eq(setupmapping(a, 0, WIN - CH, 2 * CH, RD), -EINVAL);  /* past the window */
	ck_assert_int_eq(setupmapping(a, 0, WIN, CH, RD), -EINVAL);           /* at its end */
	ck_assert_int_eq(setupmapping(a, 0, ~0ULL - CH + 1, CH, RD), -EINVAL); /* wraps */
	ck_assert_int_eq(setupmapping(a, ~0ULL - CH + 1, 0, CH, RD), -EINVAL); /* file offset wraps */
	ck_assert_int_eq(setupmapping(a, 0, 0, CH, RD | 0x100), -EINVAL);     /* unknown flag */
	ck_assert_int_eq(setupmapping(FUSE_ROOT_ID, 0, 0, CH, RD), -EINVAL);  /* a directory */
	ck_assert_int_eq(setupmapping(12345, 0, 0, CH, RD), -ESTALE);         /* no such node */
	ck_assert_int_eq(setupmapping(l, 0, 0, CH, RD), -EINVAL);
	struct fuse_setupmapping_in in = { .len = CH };
	ck_assert_int_ne(req(FUSE_SETUPMAPPING, a, &in, sizeof(in) - 1).error, 0); /* short */
	ck_assert_uint_eq(fake_maps, 0);

	/* REMOVEMAPPING: a count beyond the entries sent, a cut mapping, bad ranges. */
	uint8_t lie[4 + 16] = { 2 };
	ck_assert_int_eq(req(FUSE_REMOVEMAPPING, a, lie, sizeof(lie)).error, -EINVAL);
	ck_assert_int_eq(setupmapping(a, 0, 2 * CH, 2 * CH, RD), 0);
	uint64_t cut1[] = { 2 * CH, CH }, cut2[] = { 3 * CH, CH }, bad[] = { 4096, CH };
	ck_assert_int_eq(removemapping(a, cut1, 1), -EINVAL);
	ck_assert_int_eq(removemapping(a, cut2, 1), -EINVAL);
	ck_assert_int_eq(removemapping(a, bad, 1), -EINVAL);
	ck_assert_uint_eq(nfake, 1);
	ck_assert_uint_eq(fake_unmaps, 0);

	/* The frontend's refusal is the FUSE error, and the range is free afterwards. */
	fake_refuse = -ENOSPC;
	ck_assert_int_eq(setupmapping(a, 0, 0, CH, RD), -ENOSPC);
	ck_assert_ptr_null(fake_at(0));
	ck_assert_int_eq(setupmapping(a, 0, 0, CH, RD), 0);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(dax_reset_forgets_read_only_maps_read_only)
{
	init_dax(FUSE_MAP_ALIGNMENT);
	uint64_t a = make_file("a", CH);

	ck_assert_int_eq(setupmapping(a, 0, 0, CH, RD), 0);
	/* A device reset: the frontend dropped everything itself; no message may go out. */
	fsd_reset(fs);
	ck_assert_uint_eq(fsd_dax_stats(fs).live, 0);
	ck_assert_uint_eq(fake_unmaps, 0);
	nfake = 0; /* as the frontend did */

	/* A read-only server maps read-only and refuses writable mappings. */
	setup_dax_with(true);
	init_dax(FUSE_MAP_ALIGNMENT);
	int err;
	a = lookup(FUSE_ROOT_ID, "a", &err);
	ck_assert_int_eq(setupmapping(a, 0, 0, CH, WR), -EROFS);
	ck_assert_int_eq(setupmapping(a, 0, 0, CH, RD), 0);
	ck_assert(!fake_at(0)->writable);
	ck_assert_int_eq(fake_at(0)->accmode, O_RDONLY);
	/* A new session (INIT again) unmaps what the last one left. */
	init_dax(FUSE_MAP_ALIGNMENT);
	ck_assert_uint_eq(nfake, 0);
}
END_TEST

START_TEST(dax_off_without_window)
{
	init_fs();
	ck_assert_int_eq(setupmapping(FUSE_ROOT_ID, 0, 0, CH, RD), -ENOSYS);
	uint64_t rm[] = { 0, CH };
	ck_assert_int_eq(removemapping(FUSE_ROOT_ID, rm, 1), -ENOSYS);
	ck_assert(!(init_dax(FUSE_MAP_ALIGNMENT).flags & FUSE_MAP_ALIGNMENT));
}
END_TEST

static Suite *fsd_suite(void)
{
	Suite *s = suite_create("fsd");
	TCase *tc = tcase_create("fuse");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, before_init);
	tcase_add_test(tc, lookup_getattr_read);
	tcase_add_test(tc, create_write_rename_unlink);
	tcase_add_test(tc, readdir_lists);
	tcase_add_test(tc, readdirplus_looks_up);
	tcase_add_test(tc, escapes_refused);
	tcase_add_test(tc, read_only_mode);
	tcase_add_test(tc, short_and_lying_requests);
	tcase_add_test(tc, dax_off_without_window);
	tcase_add_test(tc, guest_o_direct_stays_in_the_guest);
	suite_add_tcase(s, tc);

	tc = tcase_create("dax");
	tcase_add_checked_fixture(tc, setup_dax, teardown);
	tcase_add_test(tc, dax_init_announces_alignment);
	tcase_add_test(tc, dax_map_upgrade_replace_remove);
	tcase_add_test(tc, dax_bad_requests);
	tcase_add_test(tc, dax_reset_forgets_read_only_maps_read_only);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(fsd_suite)
