// SPDX-License-Identifier: GPL-2.0-only
/* shmvm-fsd's FUSE handler on a real temporary directory, fed raw FUSE requests. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/fsd/fuse_server.h"

#include "check_main.h"

static char dir[64];
static struct fsd *fs;
static uint8_t outbuf[1 << 21];
static uint64_t unique;
static char token[64]; /* the escape tests' secret outside the share: in no reply, ever */

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
	ck_assert_msg(!token[0] || !memmem(outbuf, n, token, strlen(token)),
		      "the reply to opcode %u carries data from outside the share", op);
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
	/* Read-only but truncating: Linux truncates on O_RDONLY | O_TRUNC when it may write. */
	oi.flags = O_RDONLY | O_TRUNC;
	ck_assert_int_eq(req(FUSE_OPEN, n, &oi, sizeof(oi)).error, -EROFS);
	char p[128];
	struct stat st;
	snprintf(p, sizeof(p), "%s/hello.txt", dir);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(st.st_size, 13);
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

/* ---- confinement: a hostile guest kernel tries to leave the shared directory ---- */

/*
 * TOP/share is the shared directory; beside it, the sentinel: TOP/secret.txt
 * and TOP/outside/ hold the token no reply may carry (req() checks every
 * reply), and a snapshot of everything under TOP but the share (names,
 * types, modes, owners, sizes, m/ctimes, link targets, contents) must be the
 * same after each test. Inside the share, symlinks point out every way.
 */
static char top[48], outside[64];
static char *sentinel;
static size_t sentinel_len;
static uint64_t link_src; /* what named() links */

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(s, f);
	fclose(f);
}

/* "@base/@name", in one of four static buffers (so that one call may use several). */
static const char *AT(const char *base, const char *name)
{
	static char bufs[4][256];
	static unsigned int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", base, name);
	return b;
}

static void snap_dir(FILE *m, const char *path, const char *skip)
{
	struct dirent **ents;
	int n = scandir(path, &ents, NULL, alphasort);

	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++) {
		char p[512], t[512];
		struct stat st;
		const char *name = ents[i]->d_name;

		snprintf(p, sizeof(p), "%s/%s", path, name);
		if (strcmp(name, ".") && strcmp(name, "..") && skip && !strcmp(p, skip)) {
			fprintf(m, "%s (the share)\n", p);
		} else if (strcmp(name, ".") && strcmp(name, "..")) {
			ck_assert_int_eq(lstat(p, &st), 0);
			fprintf(m,
				"%s ino=%lu mode=%o uid=%u gid=%u nlink=%lu size=%lld "
				"mtime=%lld.%09ld ctime=%lld.%09ld\n",
				p, (unsigned long)st.st_ino, st.st_mode, st.st_uid, st.st_gid,
				(unsigned long)st.st_nlink, (long long)st.st_size,
				(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
				(long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
			if (S_ISLNK(st.st_mode)) {
				ssize_t k = readlink(p, t, sizeof(t) - 1);

				ck_assert_int_ge(k, 0);
				fprintf(m, "  -> %.*s\n", (int)k, t);
			} else if (S_ISREG(st.st_mode)) {
				FILE *f = fopen(p, "r");
				size_t k;

				ck_assert_ptr_nonnull(f);
				while ((k = fread(t, 1, sizeof(t), f)) > 0)
					fwrite(t, 1, k, m);
				fclose(f);
			} else if (S_ISDIR(st.st_mode)) {
				snap_dir(m, p, skip);
			}
		}
		free(ents[i]);
	}
	free(ents);
}

/* Everything under @path but @skip (and atimes), as text. */
static char *snapshot(const char *path, const char *skip, size_t *len)
{
	char *buf = NULL;
	FILE *m = open_memstream(&buf, len);
	struct stat st;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(lstat(path, &st), 0);
	fprintf(m, "%s mode=%o mtime=%lld.%09ld ctime=%lld.%09ld\n", path, st.st_mode,
		(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec,
		st.st_ctim.tv_nsec);
	snap_dir(m, path, skip);
	fclose(m);
	return buf;
}

static bool sentinel_same(char **now)
{
	size_t len;

	*now = snapshot(top, dir, &len);
	return len == sentinel_len && !memcmp(*now, sentinel, len);
}

/* Nothing outside the share changed, not even a timestamp. */
static void sentinel_unchanged(void)
{
	char *now;
	bool same = sentinel_same(&now);

	ck_assert_msg(same, "outside the share changed:\n--- before\n%s--- after\n%s", sentinel,
		      now);
	free(now);
}

static void setup_escape(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(top, sizeof(top), "/tmp/shmvm-fsd-esc.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(dir, sizeof(dir), "%s/share", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	snprintf(token, sizeof(token), "SHMVM-SECRET-%d-%ld", getpid(), ts.tv_nsec);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	ck_assert_int_eq(mkdir(outside, 0755), 0);
	write_file(AT(top, "secret.txt"), token);
	write_file(AT(outside, "secret.txt"), token);
	ck_assert_int_eq(mkdir(AT(outside, "dir"), 0755), 0);
	write_file(AT(outside, "dir/deep.txt"), token);
	ck_assert_int_eq(symlink("secret.txt", AT(outside, "link")), 0);

	write_file(AT(dir, "hello.txt"), "hello, guest\n");
	ck_assert_int_eq(mkdir(AT(dir, "sub"), 0755), 0);
	write_file(AT(dir, "sub/inner.txt"), "inner\n");
	write_file(AT(dir, "sub/secret.txt"), "inside-sub\n");
	ck_assert_int_eq(symlink(outside, AT(dir, "abs")), 0);
	ck_assert_int_eq(symlink("../outside", AT(dir, "rel")), 0);
	ck_assert_int_eq(symlink("..", AT(dir, "dotdot")), 0);
	ck_assert_int_eq(symlink("../secret.txt", AT(dir, "parent")), 0);
	char t[128];
	snprintf(t, sizeof(t), "%s/secret.txt", outside);
	ck_assert_int_eq(symlink(t, AT(dir, "file-abs")), 0);
	ck_assert_int_eq(symlink("../outside/secret.txt", AT(dir, "file-rel")), 0);
	snprintf(t, sizeof(t), "%s/new", outside);
	ck_assert_int_eq(symlink(t, AT(dir, "dangling")), 0);

	sentinel = snapshot(top, dir, &sentinel_len);
	ck_assert_int_eq(fsd_create(&(struct fsd_opts){.shared_dir = dir}, &fs), 0);
	init_fs();
	int err;
	link_src = lookup(FUSE_ROOT_ID, "hello.txt", &err);
	ck_assert_int_eq(err, 0);
}

static void teardown_escape(void)
{
	char cmd[128], *now;
	bool same;

	fsd_destroy(fs);
	fs = NULL;
	same = sentinel_same(&now);
	token[0] = 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(same, "outside the share changed:\n--- before\n%s--- after\n%s", sentinel,
		      now);
	free(now);
	free(sentinel);
}

/* A request with arguments @head, then the raw bytes @a and @b (names with or without NULs). */
static int req3(uint32_t op, uint64_t node, const void *head, size_t hlen, const void *a,
		size_t alen, const void *b, size_t blen)
{
	static uint8_t buf[16384];

	ck_assert_uint_le(hlen + alen + blen, sizeof(buf));
	if (hlen)
		memcpy(buf, head, hlen);
	if (alen)
		memcpy(buf + hlen, a, alen);
	if (blen)
		memcpy(buf + hlen + alen, b, blen);
	return req(op, node, buf, hlen + alen + blen).error;
}

/* @op under @parent naming the raw @len bytes at @name, with ordinary arguments around them. */
static int named(uint32_t op, uint64_t parent, const char *name, size_t len)
{
	union {
		struct fuse_mkdir_in mkdir;
		struct fuse_mknod_in mknod;
		struct fuse_create_in create;
		struct fuse_link_in link;
		struct fuse_rename_in rename;
		struct fuse_rename2_in rename2;
	} in;

	memset(&in, 0, sizeof(in));
	switch (op) {
	case FUSE_MKDIR:
		in.mkdir.mode = 0755;
		return req3(op, parent, &in, sizeof(in.mkdir), name, len, NULL, 0);
	case FUSE_MKNOD:
		in.mknod.mode = S_IFIFO | 0644;
		return req3(op, parent, &in, sizeof(in.mknod), name, len, NULL, 0);
	case FUSE_CREATE:
		in.create =
		    (struct fuse_create_in){.flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0644};
		return req3(op, parent, &in, sizeof(in.create), name, len, NULL, 0);
	case FUSE_SYMLINK: /* the name, then the target */
		return req3(op, parent, NULL, 0, name, len, "/etc/passwd", 12);
	case FUSE_LINK:
		in.link.oldnodeid = link_src;
		return req3(op, parent, &in, sizeof(in.link), name, len, NULL, 0);
	case FUSE_RENAME: /* the old name, then a new one */
		in.rename.newdir = parent;
		return req3(op, parent, &in, sizeof(in.rename), name, len, "renamed", 8);
	case FUSE_RENAME2:
		in.rename2.newdir = parent;
		return req3(op, parent, &in, sizeof(in.rename2), name, len, "renamed", 8);
	default: /* LOOKUP, UNLINK, RMDIR: the name alone */
		return req3(op, parent, NULL, 0, name, len, NULL, 0);
	}
}

static const uint32_t named_ops[] = {FUSE_LOOKUP, FUSE_MKDIR,  FUSE_MKNOD,   FUSE_SYMLINK,
				     FUSE_LINK,	  FUSE_RENAME, FUSE_RENAME2, FUSE_CREATE,
				     FUSE_UNLINK, FUSE_RMDIR};
#define N_NAMED_OPS (sizeof(named_ops) / sizeof(named_ops[0]))

static uint64_t must_lookup(uint64_t parent, const char *name)
{
	int err;
	uint64_t n = lookup(parent, name, &err);

	ck_assert_msg(err == 0, "lookup %s: %d", name, err);
	return n;
}

static uint32_t reply_entry_mode(void)
{
	return ((struct fuse_entry_out *)payload())->attr.mode;
}

static uint64_t open_fh(uint32_t op, uint64_t node, uint32_t flags, int *err)
{
	struct fuse_open_in oi = {.flags = flags};
	struct fuse_out_header oh = req(op, node, &oi, sizeof(oi));

	*err = oh.error;
	return oh.error ? 0 : ((struct fuse_open_out *)payload())->fh;
}

static void slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
}

/*
 * Guest buffers in a mapping of a file the guest has since cut short (a DAX
 * window page): no page behind them. A WRITE from there is refused with
 * -EFAULT and writes nothing; a READ into there has its reply cut short;
 * shmvm-fsd lives on and serves the next request.
 */
START_TEST(buffers_past_a_files_end)
{
	int mfd = memfd_create("window", MFD_CLOEXEC), err;
	uint8_t *win, in[sizeof(struct fuse_in_header) + sizeof(struct fuse_write_in)];
	char p[128], host[32];
	struct iovec iv[2], ov[2];
	struct fuse_out_header oh;
	size_t n;

	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, 2 * 4096), 0);
	win = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ck_assert_ptr_ne(win, MAP_FAILED);
	memset(win, 'W', 2 * 4096);
	ck_assert_int_eq(ftruncate(mfd, 4096), 0); /* the second page has gone */

	init_fs();
	uint64_t node = lookup(FUSE_ROOT_ID, "hello.txt", &err);
	ck_assert_int_eq(err, 0);
	struct fuse_open_in oi = { .flags = O_RDWR };
	ck_assert_int_eq(req(FUSE_OPEN, node, &oi, sizeof(oi)).error, 0);
	uint64_t fh = ((struct fuse_open_out *)payload())->fh;

	/* WRITE of 100 bytes whose data is in the missing page. */
	struct fuse_in_header h = { .len = sizeof(in) + 100, .opcode = FUSE_WRITE,
				    .unique = ++unique, .nodeid = node };
	struct fuse_write_in wi = { .fh = fh, .offset = 0, .size = 100 };

	memcpy(in, &h, sizeof(h));
	memcpy(in + sizeof(h), &wi, sizeof(wi));
	iv[0] = (struct iovec){ in, sizeof(in) };
	iv[1] = (struct iovec){ win + 4096, 100 };
	ov[0] = (struct iovec){ outbuf, sizeof(outbuf) };
	n = fsd_handle(fs, iv, 2, ov, 1);
	ck_assert_uint_eq(n, sizeof(oh));
	memcpy(&oh, outbuf, sizeof(oh));
	ck_assert_int_eq(oh.error, -EFAULT);
	ck_assert_uint_eq(oh.unique, unique);
	snprintf(p, sizeof(p), "%s/hello.txt", dir);
	slurp(p, host, sizeof(host));
	ck_assert_str_eq(host, "hello, guest\n");

	/* READ whose reply lands in the missing page after its header. */
	struct fuse_read_in ri = { .fh = fh, .offset = 0, .size = 13 };

	h = (struct fuse_in_header){ .len = sizeof(h) + sizeof(ri), .opcode = FUSE_READ,
				     .unique = ++unique, .nodeid = node };
	memcpy(in, &h, sizeof(h));
	memcpy(in + sizeof(h), &ri, sizeof(ri));
	iv[0] = (struct iovec){ in, sizeof(h) + sizeof(ri) };
	ov[0] = (struct iovec){ outbuf, sizeof(oh) };
	ov[1] = (struct iovec){ win + 4096, 4096 };
	ck_assert_uint_eq(fsd_handle(fs, iv, 1, ov, 2), sizeof(oh));

	/* Both ways round once more, then a plain request: the server is fine. */
	iv[0] = (struct iovec){ win + 4096, sizeof(h) };
	ck_assert_uint_eq(fsd_handle(fs, iv, 1, ov, 1), 0); /* not even a header */
	struct fuse_read_in ok = { .fh = fh, .offset = 7, .size = 100 };

	oh = req(FUSE_READ, node, &ok, sizeof(ok));
	ck_assert_int_eq(oh.error, 0);
	ck_assert(!memcmp(payload(), "guest\n", 6));
	munmap(win, 2 * 4096);
	close(mfd);
}
END_TEST

START_TEST(bad_names_every_op)
{
	static char long256[257], long300[300], long4k[4097];
	struct {
		const char *s;
		size_t len;
	} bad[] = {
	    {"..", 3},
	    {".", 2},
	    {"", 1},
	    {"", 0},
	    {"a/b", 4},
	    {"/etc", 5},
	    {"/", 2},
	    {"../outside", 11},
	    {"../secret.txt", 14},
	    {"sub/../..", 10},
	    {"abs/secret.txt", 15},
	    {"..\0hello.txt", 13},
	    {".\0sub", 6},
	    {"hello.txt", 9} /* no NUL in the length */,
	    {long256, 257},
	    {long300, 300} /* no NUL */,
	    {long4k, 4097},
	};
	size_t share_len, len;
	char *share_before, *now;
	uint64_t sub = must_lookup(FUSE_ROOT_ID, "sub");

	memset(long256, 'a', 256);
	memset(long300, 'b', 300);
	memset(long4k, 'c', 4096);
	share_before = snapshot(dir, NULL, &share_len);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (size_t o = 0; o < N_NAMED_OPS; o++) {
			ck_assert_msg(named(named_ops[o], FUSE_ROOT_ID, bad[i].s, bad[i].len) < 0,
				      "opcode %u took the name #%zu", named_ops[o], i);
			ck_assert_msg(named(named_ops[o], sub, bad[i].s, bad[i].len) < 0,
				      "opcode %u took the name #%zu under sub/", named_ops[o], i);
		}
		/* The new name of a rename, and a symlink's name with a fine target. */
		struct fuse_rename_in rn = {.newdir = FUSE_ROOT_ID};
		struct fuse_rename2_in rn2 = {.newdir = FUSE_ROOT_ID};
		ck_assert_int_lt(req3(FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn), "hello.txt", 10,
				      bad[i].s, bad[i].len),
				 0);
		ck_assert_int_lt(req3(FUSE_RENAME2, FUSE_ROOT_ID, &rn2, sizeof(rn2), "hello.txt",
				      10, bad[i].s, bad[i].len),
				 0);
		rn2.flags = RENAME_EXCHANGE;
		ck_assert_int_lt(req3(FUSE_RENAME2, FUSE_ROOT_ID, &rn2, sizeof(rn2), "sub", 4,
				      bad[i].s, bad[i].len),
				 0);
	}
	/* A symlink target is data: any text, but it must end inside the request. */
	ck_assert_int_eq(req3(FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0, "t", 2, "/etc/passwd", 11),
			 -EINVAL);
	ck_assert_int_eq(req3(FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0, "t", 2, NULL, 0), -EINVAL);
	now = snapshot(dir, NULL, &len);
	ck_assert_msg(len == share_len && !memcmp(now, share_before, len),
		      "the share changed:\n--- before\n%s--- after\n%s", share_before, now);
	free(now);
	free(share_before);
	sentinel_unchanged();
}
END_TEST

/* A NUL inside the length ends the name: what follows is ignored, and stays inside. */
START_TEST(names_with_nul_inside)
{
	struct stat st;
	char t[64];

	ck_assert_int_eq(named(FUSE_MKDIR, FUSE_ROOT_ID, "n1\0../../outside/pwn", 21), 0);
	ck_assert_int_eq(named(FUSE_CREATE, FUSE_ROOT_ID, "n2\0/../../secret.txt", 21), 0);
	ck_assert_int_eq(named(FUSE_MKNOD, FUSE_ROOT_ID, "n3\0../outside/fifo", 19), 0);
	ck_assert_int_eq(named(FUSE_LINK, FUSE_ROOT_ID, "n4\0../secret.txt", 17), 0);
	/* A symlink's second string is its target: stored as text. */
	ck_assert_int_eq(
	    req3(FUSE_SYMLINK, FUSE_ROOT_ID, NULL, 0, "n5", 3, "../secret.txt\0/etc", 19), 0);
	ck_assert(lstat(AT(dir, "n1"), &st) == 0 && S_ISDIR(st.st_mode));
	ck_assert(lstat(AT(dir, "n2"), &st) == 0 && S_ISREG(st.st_mode));
	ck_assert(lstat(AT(dir, "n3"), &st) == 0 && S_ISFIFO(st.st_mode));
	ck_assert(lstat(AT(dir, "n4"), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 2);
	ck_assert_int_eq(readlink(AT(dir, "n5"), t, sizeof(t)), 13);
	/* LOOKUP "sub\0/../.." is sub's node. */
	uint64_t sub = must_lookup(FUSE_ROOT_ID, "sub");
	ck_assert_int_eq(req3(FUSE_LOOKUP, FUSE_ROOT_ID, NULL, 0, "sub\0/../..", 11, NULL, 0), 0);
	ck_assert_uint_eq(((struct fuse_entry_out *)payload())->nodeid, sub);
	/* UNLINK and RMDIR remove only what the name before the NUL names. */
	ck_assert_int_eq(named(FUSE_UNLINK, FUSE_ROOT_ID, "n2\0../secret.txt", 17), 0);
	ck_assert_int_eq(named(FUSE_RMDIR, FUSE_ROOT_ID, "n1\0../outside/dir", 18), 0);
	ck_assert_int_ne(lstat(AT(dir, "n2"), &st), 0);
	ck_assert_int_ne(lstat(AT(dir, "n1"), &st), 0);
	sentinel_unchanged();
}
END_TEST

/* Symlinks (out, or dangling), "..", a regular file: none is a directory to work in. */
START_TEST(parent_not_a_directory)
{
	const char *parents[] = {"abs",	     "rel",	 "dotdot",   "parent",
				 "file-abs", "file-rel", "dangling", "hello.txt"};

	for (size_t p = 0; p < sizeof(parents) / sizeof(parents[0]); p++) {
		uint64_t par = must_lookup(FUSE_ROOT_ID, parents[p]);
		const char *names[] = {"secret.txt", "dir", "link", "pwn"};

		for (size_t o = 0; o < N_NAMED_OPS; o++)
			for (size_t n = 0; n < 4; n++)
				ck_assert_msg(
				    named(named_ops[o], par, names[n], strlen(names[n]) + 1) ==
					-ENOTDIR,
				    "opcode %u under %s/ gave %d", named_ops[o], parents[p],
				    named(named_ops[o], par, names[n], strlen(names[n]) + 1));
		/* Into it from a real directory: RENAME's newdir, LINK's new parent. */
		struct fuse_rename_in rn = {.newdir = par};
		struct fuse_rename2_in rn2 = {.newdir = par, .flags = RENAME_EXCHANGE};
		ck_assert_int_eq(req3(FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn), "hello.txt", 10,
				      "secret.txt", 11),
				 -ENOTDIR);
		ck_assert_int_eq(req3(FUSE_RENAME2, FUSE_ROOT_ID, &rn2, sizeof(rn2), "hello.txt",
				      10, "secret.txt", 11),
				 -ENOTDIR);
		rn2.flags = RENAME_NOREPLACE;
		ck_assert_int_eq(
		    req3(FUSE_RENAME2, FUSE_ROOT_ID, &rn2, sizeof(rn2), "sub", 4, "pwn", 4),
		    -ENOTDIR);
		struct fuse_link_in ln = {.oldnodeid = link_src};
		ck_assert_int_eq(req3(FUSE_LINK, par, &ln, sizeof(ln), "pwn", 4, NULL, 0),
				 -ENOTDIR);
		/* Nor can it be opened or listed as one. */
		int err;
		open_fh(FUSE_OPENDIR, par, O_RDONLY, &err);
		ck_assert_int_eq(err, -ENOTDIR);
	}
	sentinel_unchanged();
}
END_TEST

/* A name that is a symlink out: replaced or removed as a link, never written through. */
START_TEST(symlink_names_not_followed)
{
	struct {
		struct fuse_create_in in;
		char name[16];
	} cr = {{.flags = O_WRONLY | O_TRUNC, .mode = S_IFREG | 0644}, "file-abs"};
	struct stat st;
	char t[128];

	/* CREATE over a symlink to a file outside, or a dangling one: no file made or truncated. */
	ck_assert_int_eq(req(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr.in) + 9).error, -ELOOP);
	strcpy(cr.name, "dangling");
	ck_assert_int_eq(req(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr.in) + 9).error, -ELOOP);
	cr.in.flags |= O_EXCL;
	ck_assert_int_eq(req(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr.in) + 9).error, -EEXIST);
	for (size_t o = 0; o < N_NAMED_OPS; o++) /* MKDIR, MKNOD, SYMLINK, LINK onto it: EEXIST */
		if (named_ops[o] == FUSE_MKDIR || named_ops[o] == FUSE_MKNOD ||
		    named_ops[o] == FUSE_SYMLINK || named_ops[o] == FUSE_LINK)
			ck_assert_int_eq(named(named_ops[o], FUSE_ROOT_ID, "dangling", 9), -EEXIST);
	ck_assert_int_eq(lstat(AT(outside, "new"), &st), -1);
	/* RMDIR of a symlink to a directory: not a directory. */
	ck_assert_int_eq(named(FUSE_RMDIR, FUSE_ROOT_ID, "abs", 4), -ENOTDIR);
	/* RENAME over a symlink replaces the link; RENAME_EXCHANGE swaps two names here. */
	struct fuse_rename_in rn = {.newdir = FUSE_ROOT_ID};
	ck_assert_int_eq(
	    req3(FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn), "hello.txt", 10, "file-abs", 9), 0);
	ck_assert(lstat(AT(dir, "file-abs"), &st) == 0 && S_ISREG(st.st_mode));
	ck_assert_int_eq(req3(FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn), "sub", 4, "abs", 4),
			 -ENOTDIR);
	struct fuse_rename2_in rn2 = {.newdir = FUSE_ROOT_ID, .flags = RENAME_EXCHANGE};
	ck_assert_int_eq(req3(FUSE_RENAME2, FUSE_ROOT_ID, &rn2, sizeof(rn2), "sub", 4, "rel", 4),
			 0);
	ck_assert_int_eq(readlink(AT(dir, "sub"), t, sizeof(t)), 10);
	ck_assert(lstat(AT(dir, "rel/inner.txt"), &st) == 0 && S_ISREG(st.st_mode));
	rn2.flags = RENAME_WHITEOUT;
	ck_assert_int_eq(req3(FUSE_RENAME2, FUSE_ROOT_ID, &rn2, sizeof(rn2), "rel", 4, "white", 6),
			 -EINVAL);
	/* LINK of a symlink node: another name for the link, not for its target. */
	struct fuse_link_in ln = {.oldnodeid = must_lookup(FUSE_ROOT_ID, "abs")};
	ck_assert_int_eq(req3(FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln), "abs2", 5, NULL, 0), 0);
	ck_assert(lstat(AT(dir, "abs2"), &st) == 0 && S_ISLNK(st.st_mode));
	/* LINK of a directory (the root) or of a stale node. */
	ln.oldnodeid = FUSE_ROOT_ID;
	ck_assert_int_lt(req3(FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln), "root2", 6, NULL, 0), 0);
	ln.oldnodeid = 4242;
	ck_assert_int_eq(req3(FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln), "x", 2, NULL, 0), -ESTALE);
	/* UNLINK of a symlink removes the link only. */
	ck_assert_int_eq(named(FUSE_UNLINK, FUSE_ROOT_ID, "abs", 4), 0);
	ck_assert_int_eq(named(FUSE_UNLINK, FUSE_ROOT_ID, "file-rel", 9), 0);
	sentinel_unchanged();
}
END_TEST

/* On a symlink's node: its own attributes and text, never its target's. */
START_TEST(symlink_nodes_not_followed)
{
	const char *links[] = {"abs",	   "rel",      "dotdot",  "parent",
			       "file-abs", "file-rel", "dangling"};
	struct stat st;
	char t[128];
	int err;

	uint64_t sub = must_lookup(FUSE_ROOT_ID, "sub");
	uint64_t subfh = open_fh(FUSE_OPENDIR, sub, O_RDONLY, &err);
	ck_assert_int_eq(err, 0);
	uint64_t hello_fh = open_fh(FUSE_OPEN, link_src, O_RDWR, &err);
	ck_assert_int_eq(err, 0);
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		uint64_t l = must_lookup(FUSE_ROOT_ID, links[i]);
		ssize_t tl = readlink(AT(dir, links[i]), t, sizeof(t));

		ck_assert(S_ISLNK(reply_entry_mode()));
		/* GETATTR: the link's own. */
		struct fuse_out_header oh = req(FUSE_GETATTR, l, &(struct fuse_getattr_in){0},
						sizeof(struct fuse_getattr_in));
		ck_assert_int_eq(oh.error, 0);
		ck_assert(S_ISLNK(((struct fuse_attr_out *)payload())->attr.mode));
		ck_assert_uint_eq(((struct fuse_attr_out *)payload())->attr.size, (uint64_t)tl);
		/* READLINK: the text, exactly. */
		oh = req(FUSE_READLINK, l, NULL, 0);
		ck_assert_int_eq(oh.error, 0);
		ck_assert_uint_eq(oh.len - sizeof(oh), (size_t)tl);
		ck_assert(!memcmp(payload(), t, (size_t)tl));
		/* SETATTR of anything reached through the target: refused (with a file's handle
		 * too). */
		uint32_t through[] = {FATTR_MODE,
				      FATTR_SIZE,
				      FATTR_ATIME,
				      FATTR_MTIME,
				      FATTR_ATIME | FATTR_ATIME_NOW,
				      FATTR_MTIME | FATTR_MTIME_NOW,
				      FATTR_SIZE | FATTR_FH};
		for (size_t k = 0; k < sizeof(through) / sizeof(through[0]); k++) {
			struct fuse_setattr_in sa = {
			    .valid = through[k], .mode = 0777, .size = 0, .fh = hello_fh};
			ck_assert_int_eq(req(FUSE_SETATTR, l, &sa, sizeof(sa)).error, -EOPNOTSUPP);
		}
		/* UID/GID: the link's owner (lchown), not the target's; the sentinel says so. */
		struct fuse_setattr_in own = {
		    .valid = FATTR_UID | FATTR_GID, .uid = getuid(), .gid = getgid()};
		ck_assert_int_eq(req(FUSE_SETATTR, l, &own, sizeof(own)).error, 0);
		/* OPEN with any flags: not a regular file. OPENDIR: not a directory. */
		uint32_t flags[] = {O_RDONLY,
				    O_RDWR,
				    O_WRONLY | O_TRUNC,
				    O_RDONLY | O_PATH,
				    O_RDONLY | O_DIRECTORY,
				    O_RDWR | O_CREAT | O_APPEND};
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
			open_fh(FUSE_OPEN, l, flags[k], &err);
			ck_assert_int_eq(err, -EACCES);
		}
		open_fh(FUSE_OPENDIR, l, O_RDONLY, &err);
		ck_assert_int_eq(err, -ENOTDIR);
		/* READDIRPLUS on the link with sub/'s handle: sub/'s names, and no node for any. */
		struct fuse_read_in ri = {.fh = subfh, .size = 8192};
		oh = req(FUSE_READDIRPLUS, l, &ri, sizeof(ri));
		ck_assert_int_eq(oh.error, 0);
		for (size_t pos = 0; pos < oh.len - sizeof(oh);) {
			struct fuse_direntplus *d =
			    (struct fuse_direntplus *)((uint8_t *)payload() + pos);

			ck_assert_uint_eq(d->entry_out.nodeid, 0);
			ck_assert(!memcmp(d->dirent.name, ".", 1) ||
				  !memcmp(d->dirent.name, "inner.txt", 9) ||
				  !memcmp(d->dirent.name, "secret.txt", 10));
			pos += FUSE_DIRENTPLUS_SIZE(d);
		}
		/* No extended attributes, no ioctls, no copy_file_range, no tmpfile. */
		uint32_t unsupported[] = {FUSE_SETXATTR,    FUSE_GETXATTR, FUSE_LISTXATTR,
					  FUSE_REMOVEXATTR, FUSE_IOCTL,	   FUSE_COPY_FILE_RANGE,
					  FUSE_TMPFILE,	    FUSE_BMAP,	   FUSE_GETLK,
					  FUSE_SETLK,	    FUSE_SYNCFS};
		uint8_t arg[256];
		memset(arg, 0, sizeof(arg));
		memcpy(arg + 16, "user.x\0", 7);
		for (size_t k = 0; k < sizeof(unsupported) / sizeof(unsupported[0]); k++)
			ck_assert_int_eq(req(unsupported[k], l, arg, sizeof(arg)).error, -ENOSYS);
	}
	/* READLINK of what is not a symlink. */
	ck_assert_int_lt(req(FUSE_READLINK, link_src, NULL, 0).error, 0);
	ck_assert_int_lt(req(FUSE_READLINK, FUSE_ROOT_ID, NULL, 0).error, 0);
	/* hello.txt was never truncated through a link. */
	ck_assert(stat(AT(dir, "hello.txt"), &st) == 0 && st.st_size == 13);
	sentinel_unchanged();
}
END_TEST

/* Device nodes and FIFOs the guest made: never opened on the host, by OPEN or CREATE. */
START_TEST(special_files_never_opened)
{
	struct fuse_mknod_in mk = {.mode = S_IFCHR | 0666, .rdev = makedev(1, 5)}; /* /dev/zero's */
	bool dev = req3(FUSE_MKNOD, FUSE_ROOT_ID, &mk, sizeof(mk), "zero", 5, NULL, 0) == 0;
	struct fuse_create_in cr = {.flags = O_RDWR, .mode = S_IFREG | 0644};
	int err;

	mk.mode = S_IFIFO | 0666;
	ck_assert_int_eq(req3(FUSE_MKNOD, FUSE_ROOT_ID, &mk, sizeof(mk), "fifo", 5, NULL, 0), 0);
	/* A blocking open of a FIFO would hang shmvm-fsd: CREATE without O_EXCL is an open. */
	cr.flags = O_RDONLY;
	ck_assert_int_eq(req3(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr), "fifo", 5, NULL, 0),
			 -EACCES);
	open_fh(FUSE_OPEN, must_lookup(FUSE_ROOT_ID, "fifo"), O_RDONLY, &err);
	ck_assert_int_eq(err, -EACCES);
	if (dev) {
		/* A device node would be the host's device: read or written raw. */
		cr.flags = O_RDWR;
		ck_assert_int_eq(
		    req3(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr), "zero", 5, NULL, 0), -EACCES);
		open_fh(FUSE_OPEN, must_lookup(FUSE_ROOT_ID, "zero"), O_RDWR, &err);
		ck_assert_int_eq(err, -EACCES);
		struct fuse_setattr_in sa = {.valid = FATTR_SIZE};
		ck_assert_int_eq(
		    req(FUSE_SETATTR, must_lookup(FUSE_ROOT_ID, "zero"), &sa, sizeof(sa)).error,
		    -EINVAL);
	}
	/* A directory: CREATE without O_EXCL does not open it either. */
	ck_assert_int_eq(req3(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr), "sub", 4, NULL, 0),
			 -EISDIR);
	/* An existing regular file: CREATE opens it (O_TRUNC honoured), and does not chown it. */
	struct stat before, after;
	ck_assert_int_eq(stat(AT(dir, "hello.txt"), &before), 0);
	cr = (struct fuse_create_in){.flags = O_RDWR | O_TRUNC, .mode = S_IFREG | 0600};
	ck_assert_int_eq(req3(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr), "hello.txt", 10, NULL, 0),
			 0);
	ck_assert_uint_eq(((struct fuse_entry_out *)payload())->nodeid, link_src);
	ck_assert_uint_eq(((struct fuse_entry_out *)payload())->attr.size, 0);
	ck_assert_int_eq(stat(AT(dir, "hello.txt"), &after), 0);
	ck_assert_int_eq(after.st_size, 0);
	ck_assert_uint_eq(after.st_mode, before.st_mode);
	ck_assert_uint_eq(after.st_ino, before.st_ino);
	sentinel_unchanged();
}
END_TEST

/* Ids the guest made up, forgot, or kept across a new session: nothing behind them. */
START_TEST(stale_and_garbage_ids)
{
	int err;
	uint64_t sub = must_lookup(FUSE_ROOT_ID, "sub");
	uint64_t inner = must_lookup(sub, "inner.txt");
	uint64_t fh = open_fh(FUSE_OPEN, inner, O_RDWR, &err), dfh;

	ck_assert_int_eq(err, 0);
	dfh = open_fh(FUSE_OPENDIR, sub, O_RDONLY, &err);
	ck_assert_int_eq(err, 0);
	/* Forget inner.txt; its slot goes to the next node, under a new generation. */
	struct fuse_forget_in fg = {.nlookup = 1};
	ck_assert_uint_eq(req(FUSE_FORGET, inner, &fg, sizeof(fg)).len, 0);
	uint64_t reused = must_lookup(FUSE_ROOT_ID, "abs");
	ck_assert_uint_eq((uint32_t)reused, (uint32_t)inner);
	ck_assert_uint_ne(reused, inner);

	uint64_t ids[] = {0,
			  inner,
			  2,
			  3,
			  1ULL << 32 | 1,
			  ~0ULL,
			  0xffffffffULL,
			  65537,
			  1ULL << 32 | 65536,
			  (uint64_t)(uint32_t)reused,
			  reused + (1ULL << 32)};
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		uint64_t id = ids[i];
		struct fuse_setattr_in sa = {.valid = FATTR_SIZE, .size = 0};
		struct fuse_open_in oi = {.flags = O_RDWR};
		uint8_t getattr[sizeof(struct fuse_getattr_in)] = {0};

		for (size_t o = 0; o < N_NAMED_OPS; o++)
			ck_assert_int_eq(named(named_ops[o], id, "hello.txt", 10), -ESTALE);
		ck_assert_int_eq(req(FUSE_GETATTR, id, getattr, sizeof(getattr)).error, -ESTALE);
		ck_assert_int_eq(req(FUSE_SETATTR, id, &sa, sizeof(sa)).error, -ESTALE);
		ck_assert_int_eq(req(FUSE_OPEN, id, &oi, sizeof(oi)).error, -ESTALE);
		ck_assert_int_eq(req(FUSE_OPENDIR, id, &oi, sizeof(oi)).error, -ESTALE);
		ck_assert_int_eq(req(FUSE_READLINK, id, NULL, 0).error, -ESTALE);
		ck_assert_int_eq(req(FUSE_STATFS, id, NULL, 0).error, -ESTALE);
		struct fuse_read_in ri = {.fh = dfh, .size = 4096};
		ck_assert_int_eq(req(FUSE_READDIRPLUS, id, &ri, sizeof(ri)).error, -ESTALE);
		/* As the other node of LINK and RENAME. */
		struct fuse_link_in ln = {.oldnodeid = id};
		ck_assert_int_eq(req3(FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln), "x", 2, NULL, 0),
				 -ESTALE);
		struct fuse_rename_in rn = {.newdir = id};
		ck_assert_int_eq(
		    req3(FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn), "hello.txt", 10, "x", 2),
		    -ESTALE);
		struct fuse_rename2_in rn2 = {.newdir = id};
		ck_assert_int_eq(
		    req3(FUSE_RENAME2, FUSE_ROOT_ID, &rn2, sizeof(rn2), "hello.txt", 10, "x", 2),
		    -ESTALE);
		/* FORGET of nonsense: no reply, no effect. */
		struct fuse_forget_in f = {.nlookup = ~0ULL};
		ck_assert_uint_eq(req(FUSE_FORGET, id, &f, sizeof(f)).len, 0);
	}
	/* The root survives any FORGET. */
	struct fuse_forget_in f = {.nlookup = ~0ULL};
	ck_assert_uint_eq(req(FUSE_FORGET, FUSE_ROOT_ID, &f, sizeof(f)).len, 0);
	ck_assert_uint_eq(must_lookup(FUSE_ROOT_ID, "sub"), sub);

	/* Handles: made up, of the wrong kind, released, or from the last session. */
	uint64_t gone = open_fh(FUSE_OPEN, sub, O_RDONLY, &err);
	ck_assert_int_eq(err, -EISDIR);
	gone = open_fh(FUSE_OPEN, must_lookup(FUSE_ROOT_ID, "hello.txt"), O_RDONLY, &err);
	ck_assert_int_eq(req(FUSE_RELEASE, 0, &(struct fuse_release_in){.fh = gone},
			     sizeof(struct fuse_release_in))
			     .error,
			 0);
	uint64_t fhs[] = {0, 999, ~0ULL, fh + (1ULL << 32), (uint32_t)fh, dfh, gone};
	for (size_t i = 0; i < sizeof(fhs) / sizeof(fhs[0]); i++) {
		struct fuse_read_in ri = {.fh = fhs[i], .size = 100};
		struct {
			struct fuse_write_in in;
			char data[4];
		} wr = {{.fh = fhs[i], .size = 4}, "pwn"};
		struct fuse_fsync_in fs_in = {.fh = fhs[i]};
		struct fuse_flush_in fl = {.fh = fhs[i]};
		struct fuse_fallocate_in fa = {.fh = fhs[i], .length = 4096};
		struct fuse_lseek_in ls = {.fh = fhs[i], .whence = SEEK_END};
		struct fuse_release_in rel = {.fh = fhs[i]};

		ck_assert_int_eq(req(FUSE_READ, inner, &ri, sizeof(ri)).error, -EBADF);
		ck_assert_int_eq(req(FUSE_WRITE, inner, &wr, sizeof(wr)).error, -EBADF);
		ck_assert_int_eq(req(FUSE_FSYNC, inner, &fs_in, sizeof(fs_in)).error, -EBADF);
		ck_assert_int_eq(req(FUSE_FLUSH, inner, &fl, sizeof(fl)).error, -EBADF);
		ck_assert_int_eq(req(FUSE_FALLOCATE, inner, &fa, sizeof(fa)).error, -EBADF);
		ck_assert_int_eq(req(FUSE_LSEEK, inner, &ls, sizeof(ls)).error, -EBADF);
		ck_assert_int_eq(req(FUSE_RELEASE, inner, &rel, sizeof(rel)).error, -EBADF);
	}
	/* A file handle is no directory handle. */
	struct fuse_read_in ri = {.fh = fh, .size = 4096};
	ck_assert_int_eq(req(FUSE_READDIR, sub, &ri, sizeof(ri)).error, -EBADF);
	ck_assert_int_eq(req(FUSE_RELEASEDIR, sub, &(struct fuse_release_in){.fh = fh},
			     sizeof(struct fuse_release_in))
			     .error,
			 -EBADF);
	/* A new session: every node and handle of the last one is stale. */
	init_fs();
	ck_assert_int_eq(req(FUSE_READ, 0, &ri, sizeof(ri)).error, -EBADF);
	ri.fh = dfh;
	ck_assert_int_eq(req(FUSE_READDIR, FUSE_ROOT_ID, &ri, sizeof(ri)).error, -EBADF);
	ck_assert_int_eq(named(FUSE_LOOKUP, sub, "inner.txt", 10), -ESTALE);
	ck_assert_int_eq(named(FUSE_LOOKUP, reused, "inner.txt", 10), -ESTALE);
	/* BATCH_FORGET that claims more entries than it carries. */
	struct {
		struct fuse_batch_forget_in in;
		struct fuse_forget_one one;
	} bf = {{.count = 1000}, {.nodeid = FUSE_ROOT_ID, .nlookup = 1}};
	ck_assert_uint_eq(req(FUSE_BATCH_FORGET, 0, &bf, sizeof(bf)).len, 0);
	ck_assert_int_eq(named(FUSE_LOOKUP, FUSE_ROOT_ID, "sub", 4), 0);
	sentinel_unchanged();
}
END_TEST

/*
 * What INIT offers: no open-by-handle on the host (shmvm-fsd never calls
 * open_by_handle_at), and FUSE_EXPORT_SUPPORT only promises LOOKUP of "."
 * and "..", which shmvm-fsd refuses: a guest's handle for an inode it no
 * longer caches fails (ESTALE), and ".." of the root names nothing.
 */
START_TEST(init_offers_no_way_out)
{
	const uint32_t offered = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_PARALLEL_DIROPS |
				 FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT | FUSE_AUTO_INVAL_DATA |
				 FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_MAX_PAGES;
	struct fuse_init_in in = {
	    .major = 7, .minor = 38, .max_readahead = 65536, .flags = ~0u, .flags2 = ~0u};
	struct fuse_out_header oh = req(FUSE_INIT, 0, &in, sizeof(in));
	struct fuse_init_out o;

	ck_assert_int_eq(oh.error, 0);
	memcpy(&o, payload(), sizeof(o));
	ck_assert_uint_eq(o.flags & ~offered, 0);
	ck_assert_uint_eq(o.flags2, 0); /* no FUSE_SECURITY_CTX, FUSE_HAS_INODE_DAX, ... */
	ck_assert(!(o.flags &
		    (FUSE_POSIX_ACL | FUSE_DONT_MASK | FUSE_HANDLE_KILLPRIV | FUSE_WRITEBACK_CACHE |
		     FUSE_SUBMOUNTS | FUSE_SETXATTR_EXT | FUSE_INIT_EXT)));
	/* (A new session: every node is looked up again.) */
	uint64_t nodes[] = {FUSE_ROOT_ID, must_lookup(FUSE_ROOT_ID, "sub"),
			    must_lookup(FUSE_ROOT_ID, "hello.txt"),
			    must_lookup(FUSE_ROOT_ID, "abs")};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		oh = req(FUSE_LOOKUP, nodes[i], "..", 3);
		ck_assert_int_eq(oh.error, -ENOENT);
		ck_assert_uint_eq(oh.len, sizeof(oh));
		oh = req(FUSE_LOOKUP, nodes[i], ".", 2);
		ck_assert_int_eq(oh.error, -ENOENT);
	}
	sentinel_unchanged();
}
END_TEST

/* Between two requests the host puts a symlink out where a directory was. */
START_TEST(host_swaps_dir_for_symlink)
{
	char buf[64], old[128];
	struct stat st;
	int err;
	uint64_t sub = must_lookup(FUSE_ROOT_ID, "sub");

	must_lookup(sub, "inner.txt");
	snprintf(old, sizeof(old), "%s/sub.old", dir);
	ck_assert_int_eq(rename(AT(dir, "sub"), old), 0);
	ck_assert_int_eq(symlink(outside, AT(dir, "sub")), 0);

	/* The old node is the old directory (renamed, still in the share). */
	uint64_t s = must_lookup(sub, "secret.txt");
	uint64_t fh = open_fh(FUSE_OPEN, s, O_RDONLY, &err);
	ck_assert_int_eq(err, 0);
	struct fuse_read_in ri = {.fh = fh, .size = 100};
	struct fuse_out_header oh = req(FUSE_READ, s, &ri, sizeof(ri));
	ck_assert_int_eq(oh.error, 0);
	ck_assert(oh.len - sizeof(oh) == 11 && !memcmp(payload(), "inside-sub\n", 11));
	for (size_t o = 0; o < N_NAMED_OPS; o++) {
		if (named_ops[o] == FUSE_LOOKUP || named_ops[o] == FUSE_UNLINK ||
		    named_ops[o] == FUSE_RMDIR || named_ops[o] == FUSE_RENAME ||
		    named_ops[o] == FUSE_RENAME2)
			continue; /* those need a name that exists: RENAME below */
		snprintf(buf, sizeof(buf), "made%u", named_ops[o]);
		ck_assert_int_eq(named(named_ops[o], sub, buf, strlen(buf) + 1), 0);
		ck_assert_int_eq(lstat(AT(old, buf), &st), 0);
	}
	struct fuse_rename_in rn = {.newdir = sub};
	ck_assert_int_eq(
	    req3(FUSE_RENAME, FUSE_ROOT_ID, &rn, sizeof(rn), "hello.txt", 10, "moved", 6), 0);
	ck_assert_int_eq(lstat(AT(old, "moved"), &st), 0);
	/* By name: the symlink, a dead end. */
	uint64_t l = must_lookup(FUSE_ROOT_ID, "sub");
	ck_assert(S_ISLNK(reply_entry_mode()));
	for (size_t o = 0; o < N_NAMED_OPS; o++)
		ck_assert_int_eq(named(named_ops[o], l, "secret.txt", 11), -ENOTDIR);
	open_fh(FUSE_OPENDIR, l, O_RDONLY, &err);
	ck_assert_int_eq(err, -ENOTDIR);
	/* The host deletes the old directory: the old node creates nothing anywhere. */
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", old);
	ck_assert_int_eq(system(cmd), 0);
	for (size_t o = 0; o < N_NAMED_OPS; o++)
		ck_assert_int_lt(named(named_ops[o], sub, "again", 6), 0);
	ck_assert_int_lt(named(FUSE_LOOKUP, sub, "secret.txt", 11), 0);
	sentinel_unchanged();
}
END_TEST

/* Between two requests the host puts a symlink to a file outside where a file was. */
START_TEST(host_swaps_file_for_symlink)
{
	char old[128];
	struct stat st;
	int err;
	uint64_t h = link_src;
	uint64_t fh = open_fh(FUSE_OPEN, h, O_RDWR, &err);

	ck_assert_int_eq(err, 0);
	snprintf(old, sizeof(old), "%s/hello.old", dir);
	ck_assert_int_eq(rename(AT(dir, "hello.txt"), old), 0);
	ck_assert_int_eq(symlink(AT(outside, "secret.txt"), AT(dir, "hello.txt")), 0);

	/* Through the open handle and the old node: the old file, nothing else. */
	struct fuse_read_in ri = {.fh = fh, .size = 100};
	struct fuse_out_header oh = req(FUSE_READ, h, &ri, sizeof(ri));
	ck_assert_int_eq(oh.error, 0);
	ck_assert_uint_eq(oh.len - sizeof(oh), 13);
	struct {
		struct fuse_write_in in;
		char data[4];
	} wr = {{.fh = fh, .offset = 0, .size = 4}, "HELL"};
	ck_assert_int_eq(req(FUSE_WRITE, h, &wr, sizeof(wr)).error, 0);
	uint64_t fh2 = open_fh(FUSE_OPEN, h, O_RDWR | O_APPEND, &err);
	ck_assert_int_eq(err, 0);
	wr.in.fh = fh2;
	ck_assert_int_eq(req(FUSE_WRITE, h, &wr, sizeof(wr)).error, 0);
	struct fuse_setattr_in sa = {.valid = FATTR_SIZE | FATTR_MODE | FATTR_MTIME |
					      FATTR_ATIME_NOW | FATTR_ATIME,
				     .size = 9,
				     .mode = 0600,
				     .mtime = 12345};
	ck_assert_int_eq(req(FUSE_SETATTR, h, &sa, sizeof(sa)).error, 0);
	char buf[64];
	slurp(old, buf, sizeof(buf));
	ck_assert_str_eq(buf, "HELLo, gu");
	ck_assert(stat(old, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_mtime == 12345);
	oh = req(FUSE_OPEN, h, &(struct fuse_open_in){.flags = O_RDWR | O_TRUNC},
		 sizeof(struct fuse_open_in));
	ck_assert_int_eq(oh.error, 0);
	ck_assert(stat(old, &st) == 0 && st.st_size == 0);
	/* By name: a symlink, which neither OPEN, SETATTR nor CREATE goes through. */
	uint64_t l = must_lookup(FUSE_ROOT_ID, "hello.txt");
	ck_assert(S_ISLNK(reply_entry_mode()));
	open_fh(FUSE_OPEN, l, O_RDWR, &err);
	ck_assert_int_eq(err, -EACCES);
	sa = (struct fuse_setattr_in){.valid = FATTR_SIZE, .size = 0};
	ck_assert_int_eq(req(FUSE_SETATTR, l, &sa, sizeof(sa)).error, -EOPNOTSUPP);
	struct fuse_create_in cr = {.flags = O_WRONLY | O_TRUNC, .mode = S_IFREG | 0644};
	ck_assert_int_eq(req3(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr), "hello.txt", 10, NULL, 0),
			 -ELOOP);
	/* Deleted on the host: the old node still names only that file. */
	ck_assert_int_eq(unlink(old), 0);
	uint64_t fh3 = open_fh(FUSE_OPEN, h, O_RDONLY, &err);
	ck_assert_int_eq(err, 0);
	ri.fh = fh3;
	ck_assert_int_eq(req(FUSE_READ, h, &ri, sizeof(ri)).error, 0);
	sentinel_unchanged();
}
END_TEST

/* The host flips names between a directory (or file) and a symlink out while the guest works. */
/*
 * CREATE @name (@len bytes with its NUL) in @parent for appending, and if
 * that worked, RELEASE and FORGET what it gave: the race's writer side.
 */
static void create_and_drop(uint64_t parent, const char *name, size_t len)
{
	struct fuse_create_in cr = {.flags = O_WRONLY | O_APPEND, .mode = S_IFREG | 0644};
	struct fuse_forget_in one = {.nlookup = 1};

	if (req3(FUSE_CREATE, parent, &cr, sizeof(cr), name, len, NULL, 0) == 0) {
		struct fuse_entry_out *e = payload();
		uint64_t nn = e->nodeid, fh = ((struct fuse_open_out *)(e + 1))->fh;

		req(FUSE_RELEASE, nn, &(struct fuse_release_in){.fh = fh},
		    sizeof(struct fuse_release_in));
		req(FUSE_FORGET, nn, &one, sizeof(one));
	}
}

START_TEST(host_races_symlinks)
{
	char d[128], dswap[128], f[128], fswap[128];
	struct timespec t0, t;
	unsigned long rounds = 0, inside_reads = 0, refused = 0;
	pid_t flipper;

	snprintf(d, sizeof(d), "%s/d", dir);
	snprintf(dswap, sizeof(dswap), "%s/d.swap", dir);
	snprintf(f, sizeof(f), "%s/f", dir);
	snprintf(fswap, sizeof(fswap), "%s/f.swap", dir);
	ck_assert_int_eq(mkdir(d, 0755), 0);
	write_file(AT(d, "secret.txt"), "inside-d\n");
	ck_assert_int_eq(symlink(outside, dswap), 0);
	write_file(f, "inside-f\n");
	ck_assert_int_eq(symlink(AT(outside, "secret.txt"), fswap), 0);
	flipper = fork();
	ck_assert_int_ge(flipper, 0);
	if (flipper == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;) {
			syscall(SYS_renameat2, AT_FDCWD, d, AT_FDCWD, dswap, RENAME_EXCHANGE);
			syscall(SYS_renameat2, AT_FDCWD, f, AT_FDCWD, fswap, RENAME_EXCHANGE);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int err;
		uint64_t dn = lookup(FUSE_ROOT_ID, "d", &err), fn, sn, fh;
		struct fuse_forget_in one = {.nlookup = 1};
		struct fuse_read_in ri = {.size = 100};
		struct fuse_out_header oh;

		if (dn) {
			sn = lookup(dn, "secret.txt", &err);
			if (sn) {
				ri.fh = open_fh(FUSE_OPEN, sn, O_RDONLY, &err);
				if (!err) {
					oh = req(FUSE_READ, sn, &ri, sizeof(ri));
					ck_assert(oh.error ||
						  (oh.len - sizeof(oh) == 9 &&
						   !memcmp(payload(), "inside-d\n", 9)));
					inside_reads++;
					req(FUSE_RELEASE, sn,
					    &(struct fuse_release_in){.fh = ri.fh},
					    sizeof(struct fuse_release_in));
				}
				req(FUSE_FORGET, sn, &one, sizeof(one));
			} else {
				refused++;
			}
			create_and_drop(dn, "new", 4);
			if (named(FUSE_MKDIR, dn, "m", 2) == 0)
				named(FUSE_RMDIR, dn, "m", 2);
			req(FUSE_FORGET, dn, &one, sizeof(one));
		}
		fn = lookup(FUSE_ROOT_ID, "f", &err);
		if (fn) {
			fh = open_fh(FUSE_OPEN, fn, O_RDWR, &err);
			if (!err) {
				ri.fh = fh;
				oh = req(FUSE_READ, fn, &ri, sizeof(ri));
				ck_assert(oh.error || (oh.len - sizeof(oh) >= 9 &&
						       !memcmp(payload(), "inside-f\n", 9)));
				struct {
					struct fuse_write_in in;
					char data[2];
				} wr = {{.fh = fh, .offset = 9, .size = 1}, "w"};
				req(FUSE_WRITE, fn, &wr, sizeof(wr));
				req(FUSE_RELEASE, fn, &(struct fuse_release_in){.fh = fh},
				    sizeof(struct fuse_release_in));
			}
			struct fuse_setattr_in sa = {.valid = FATTR_MODE | FATTR_SIZE | FATTR_MTIME,
						     .mode = 0644,
						     .size = 9};
			req(FUSE_SETATTR, fn, &sa, sizeof(sa));
			req(FUSE_FORGET, fn, &one, sizeof(one));
		}
		create_and_drop(FUSE_ROOT_ID, "f", 2);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 1000000000L);
	kill(flipper, SIGKILL);
	waitpid(flipper, NULL, 0);
	/* Both sides of the race were seen, and nothing got out. */
	ck_assert_uint_gt(inside_reads, 0);
	ck_assert_uint_gt(refused, 0);
	ck_assert_int_gt(rounds, 100);
	sentinel_unchanged();
}
END_TEST

/* SETUPMAPPING maps only regular files: not a symlink, directory, device or FIFO node. */
START_TEST(dax_maps_no_way_out)
{
	struct stat st;
	char old[128];

	fsd_destroy(fs);
	nfake = fake_maps = fake_unmaps = 0;
	fake_refuse = 0;
	ck_assert_int_eq(
	    fsd_create(
		&(struct fsd_opts){.shared_dir = dir, .dax_window = WIN, .dax_ops = &fake_ops},
		&fs),
	    0);
	init_dax(FUSE_MAP_ALIGNMENT);
	const char *nodes[] = {"abs", "rel", "file-abs", "file-rel", "dotdot", "dangling", "sub"};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		uint64_t n = must_lookup(FUSE_ROOT_ID, nodes[i]);

		ck_assert_int_eq(setupmapping(n, 0, 0, CH, RD), -EINVAL);
		ck_assert_int_eq(setupmapping(n, 0, 0, CH, WR), -EINVAL);
	}
	ck_assert_int_eq(setupmapping(FUSE_ROOT_ID, 0, 0, CH, RD), -EINVAL);
	struct fuse_mknod_in mk = {.mode = S_IFIFO | 0644};
	ck_assert_int_eq(req3(FUSE_MKNOD, FUSE_ROOT_ID, &mk, sizeof(mk), "fifo", 5, NULL, 0), 0);
	ck_assert_int_eq(setupmapping(must_lookup(FUSE_ROOT_ID, "fifo"), 0, 0, CH, RD), -EINVAL);
	ck_assert_uint_eq(fake_maps, 0);
	/* A node whose name the host then points out: the mapping is of the node's own file. */
	uint64_t h = must_lookup(FUSE_ROOT_ID, "hello.txt");
	ck_assert_int_eq(stat(AT(dir, "hello.txt"), &st), 0);
	snprintf(old, sizeof(old), "%s/hello.old", dir);
	ck_assert_int_eq(rename(AT(dir, "hello.txt"), old), 0);
	ck_assert_int_eq(symlink(AT(outside, "secret.txt"), AT(dir, "hello.txt")), 0);
	ck_assert_int_eq(setupmapping(h, 0, 0, CH, WR), 0);
	ck_assert_uint_eq(fake_at(0)->ino, st.st_ino);
	ck_assert_int_eq(setupmapping(must_lookup(FUSE_ROOT_ID, "hello.txt"), 0, CH, CH, RD),
			 -EINVAL);
	ck_assert_uint_eq(nfake, 1);
	sentinel_unchanged();
}
END_TEST

/*
 * shmvm-fsd run by an ordinary user (`shmvm run` without root), as the
 * guest's root sees it with map_root: the files of others open although
 * overlayfs asks for O_NOATIME, LINK works without CAP_DAC_READ_SEARCH,
 * what the guest creates belongs to the user on the host and to root in
 * the guest. Set up as root (the fixture), served as nobody.
 */
#define NOBODY 65534

static void setup_user(void)
{
	char p[128];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/shmvm-fsd-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/roots", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	fs = NULL;
	if (geteuid() == 0) {
		/* The share is the user's; "roots" stays root's. */
		ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
		ck_assert_int_eq(setgroups(0, NULL), 0);
		ck_assert_int_eq(setresgid(NOBODY, NOBODY, NOBODY), 0);
		ck_assert_int_eq(setresuid(NOBODY, NOBODY, NOBODY), 0);
	}
	ck_assert_int_eq(fsd_create(&(struct fsd_opts){ .shared_dir = dir, .map_root = true }, &fs), 0);
}

START_TEST(ordinary_user_map_root)
{
	struct {
		struct fuse_create_in in;
		char name[8];
	} cr = { { .flags = O_RDWR, .mode = S_IFREG | 0644 }, "mine" };
	struct fuse_setattr_in sa = { .valid = FATTR_UID | FATTR_GID };
	struct fuse_getattr_in ga = { 0 };
	struct fuse_out_header oh;
	struct stat st;
	char p[160], t[16];
	int err;

	init_fs();
	/* Overlayfs opens lower files with O_NOATIME: only for their owner. */
	uint64_t roots = must_lookup(FUSE_ROOT_ID, "roots");
	open_fh(FUSE_OPEN, roots, O_RDONLY | O_NOATIME, &err);
	ck_assert_int_eq(err, 0);
	/* Created by the guest's root: the user's on the host, root's in the guest. */
	oh = req(FUSE_CREATE, FUSE_ROOT_ID, &cr, sizeof(cr.in) + 5);
	ck_assert_int_eq(oh.error, 0);
	ck_assert_uint_eq(((struct fuse_entry_out *)payload())->attr.uid, 0);
	ck_assert_uint_eq(((struct fuse_entry_out *)payload())->attr.gid, 0);
	ck_assert_int_eq(stat(AT(dir, "mine"), &st), 0);
	ck_assert_uint_eq(st.st_uid, geteuid());
	ck_assert_uint_eq(st.st_gid, getegid());
	uint64_t mine = must_lookup(FUSE_ROOT_ID, "mine");
	/* chown to the guest's root is to the user; to anyone else, refused. */
	ck_assert_int_eq(req(FUSE_SETATTR, mine, &sa, sizeof(sa)).error, 0);
	oh = req(FUSE_GETATTR, mine, &ga, sizeof(ga));
	ck_assert_int_eq(oh.error, 0);
	ck_assert_uint_eq(((struct fuse_attr_out *)payload())->attr.uid, 0);
	if (geteuid() != 0) {
		sa.uid = 1234;
		ck_assert_int_eq(req(FUSE_SETATTR, mine, &sa, sizeof(sa)).error, -EPERM);
	}
	/* LINK of a file and of a symlink, without CAP_DAC_READ_SEARCH. */
	struct {
		struct fuse_link_in in;
		char name[8];
	} ln = { { .oldnodeid = mine }, "mine2" };
	ck_assert_int_eq(req(FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln.in) + 6).error, 0);
	ck_assert_int_eq(stat(AT(dir, "mine"), &st), 0);
	ck_assert_uint_eq(st.st_nlink, 2);
	ck_assert_int_eq(symlinkat("nowhere", AT_FDCWD, AT(dir, "sl")), 0);
	ln.in.oldnodeid = must_lookup(FUSE_ROOT_ID, "sl");
	memcpy(ln.name, "sl2", 4);
	ck_assert_int_eq(req(FUSE_LINK, FUSE_ROOT_ID, &ln, sizeof(ln.in) + 4).error, 0);
	ck_assert_int_eq(readlink(AT(dir, "sl2"), t, sizeof(t)), 7);
	snprintf(p, sizeof(p), "%s", AT(dir, "sl2"));
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
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
	tcase_add_test(tc, buffers_past_a_files_end);
	suite_add_tcase(s, tc);

	tc = tcase_create("dax");
	tcase_add_checked_fixture(tc, setup_dax, teardown);
	tcase_add_test(tc, dax_init_announces_alignment);
	tcase_add_test(tc, dax_map_upgrade_replace_remove);
	tcase_add_test(tc, dax_bad_requests);
	tcase_add_test(tc, dax_reset_forgets_read_only_maps_read_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("escape");
	tcase_add_checked_fixture(tc, setup_escape, teardown_escape);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, bad_names_every_op);
	tcase_add_test(tc, names_with_nul_inside);
	tcase_add_test(tc, parent_not_a_directory);
	tcase_add_test(tc, symlink_names_not_followed);
	tcase_add_test(tc, symlink_nodes_not_followed);
	tcase_add_test(tc, special_files_never_opened);
	tcase_add_test(tc, stale_and_garbage_ids);
	tcase_add_test(tc, init_offers_no_way_out);
	tcase_add_test(tc, host_swaps_dir_for_symlink);
	tcase_add_test(tc, host_swaps_file_for_symlink);
	tcase_add_test(tc, host_races_symlinks);
	tcase_add_test(tc, dax_maps_no_way_out);
	suite_add_tcase(s, tc);

	tc = tcase_create("ordinary_user");
	tcase_add_checked_fixture(tc, setup_user, teardown);
	tcase_add_test(tc, ordinary_user_map_root);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(fsd_suite)
