// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for shmvm-fsd's FUSE request handler
 * (tools/fsd/fuse_server.c, nodes.c, dax.c): what a hostile guest puts in a
 * virtio-fs request. Each input runs against the process's one server,
 * reset after each input (fsd_reset(), as on a device reset), over a scratch
 * share rebuilt from the same fixtures (a file, a directory, a FIFO and two
 * symbolic links that point out of the share, at a canary directory beside
 * it), with a DAX window whose fake frontend aborts on a map over a live
 * mapping, an unmap of anything but one whole mapping, or a writable map of
 * a file not open for writing.
 *
 * Containment (this runs as whoever runs the fuzzer, often root): the share
 * and the canary live in one mkdtemp directory made per process; the
 * process drops CAP_MKNOD (so no device node can be made and then opened),
 * files are capped at 32 MiB (RLIMIT_FSIZE) and FALLOCATE requests to
 * 1 MiB, and the share is made again before every input that follows one
 * that could have changed it. After every input the canary and the scratch
 * directory must be exactly as made: anything else means the server reached
 * outside its share.
 *
 * Checked on every reply: its length is what was written and fits the
 * buffers, it echoes `unique`, an error is -errno with no payload, FORGETs
 * get none; no request takes seconds (it would hold the server's only
 * thread); the DAX record matches the fake frontend's mappings.
 *
 * Input: records of {control byte, fuse_in_header, argument bytes up to
 * the header's len}. Control bits 0-1: how the request is split into
 * buffers; 2-3: the reply room (all, 8 bytes, 100 in two pieces, 4096);
 * bit 4: one byte short; bit 5: 8 bytes of garbage after it. A nodeid, or
 * an argument's first u64, of 0xfffffffffffffeNN / 0xffffffffffffffNN is
 * replaced by the NNth node id / file handle an earlier reply gave (so
 * inputs can refer to what they created).
 */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "tests/fuzz/fuzz.h"
#include "tools/fsd/fuse_server.h"

#define WINDOW	   (64ULL << 20)
#define CHUNK	   (2ULL << 20)
#define NCHUNKS	   (WINDOW / CHUNK)
#define MAX_REQ	   (64 * 1024)
#define MAX_IDS	   64
#define MAGIC_NODE 0xfffffffffffffe00ULL
#define MAGIC_FH   0xffffffffffffff00ULL

static char base[64], share[96], outside[96], canary[128];
static uint8_t req[MAX_REQ + 64];
static uint8_t reply[(1 << 20) + 8192], gathered[sizeof(reply)];
static uint64_t nodes[MAX_IDS], fhs[MAX_IDS];
static unsigned int nr_nodes, nr_fhs;

/* ---- the fake frontend behind the DAX window ---- */

static uint64_t fake_len[NCHUNKS]; /* length of the mapping starting at each chunk, 0: none */
static unsigned int fake_live;
static bool unmap_refused;

static int fake_map(void *opaque, int fd, uint64_t foffset, uint64_t moffset, uint64_t len,
		    bool writable)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	(void)opaque;
	if (!len || len % 4096 || moffset % CHUNK || moffset >= WINDOW || len > WINDOW - moffset ||
	    foffset % CHUNK || fstat(fd, &st) || !S_ISREG(st.st_mode) || fl < 0 ||
	    (writable && (fl & O_ACCMODE) != O_RDWR))
		abort();
	for (uint64_t c = 0; c < NCHUNKS; c++)
		if (fake_len[c] && c * CHUNK < moffset + len && moffset < c * CHUNK + fake_len[c])
			abort(); /* vhost-user never maps over a live mapping */
	if (foffset & (1ULL << 22))
		return -ENOMEM; /* a frontend may refuse */
	fake_len[moffset / CHUNK] = len;
	fake_live++;
	return 0;
}

static int fake_unmap(void *opaque, uint64_t moffset, uint64_t len)
{
	(void)opaque;
	if (moffset % CHUNK || moffset >= WINDOW || fake_len[moffset / CHUNK] != len)
		abort(); /* only whole mappings */
	if (len & (1ULL << 22)) {
		unmap_refused = true;
		return -EIO;
	}
	fake_len[moffset / CHUNK] = 0;
	fake_live--;
	return 0;
}

static const struct fsd_dax_ops dax_ops = {.map = fake_map, .unmap = fake_unmap};

/* ---- the scratch directory ---- */

/*
 * Call @fn for each entry of directory @dfd but "." and "..", from a buffer
 * on the stack (opendir() would allocate one per call, which costs more than
 * an input here).
 */
static void for_each_entry(int dfd, void (*fn)(int dfd, const char *name, void *opaque),
			   void *opaque)
{
	char buf[4096];
	long n;

	if (lseek(dfd, 0, SEEK_SET) < 0)
		abort();
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long pos = 0; pos < n;) {
			struct {
				uint64_t d_ino;
				int64_t d_off;
				uint16_t d_reclen;
				uint8_t d_type;
				char d_name[];
			} *d = (void *)(buf + pos);

			if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
				fn(dfd, d->d_name, opaque);
			pos += d->d_reclen;
		}
	}
	if (n < 0)
		abort();
}

static void count_entry(int dfd, const char *name, void *opaque)
{
	(void)dfd, (void)name;
	++*(unsigned int *)opaque;
}

static void empty_dir(int dfd);

/* Remove @name from @dfd, never following a link. */
static void remove_entry(int dfd, const char *name, void *opaque)
{
	struct stat st;

	(void)opaque;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW))
		abort();
	if (S_ISDIR(st.st_mode)) {
		int sub;

		if (fchmodat(dfd, name, 0700, 0))
			abort();
		sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			abort();
		empty_dir(sub);
		if (unlinkat(dfd, name, AT_REMOVEDIR))
			abort();
	} else if (unlinkat(dfd, name, 0)) {
		abort();
	}
}

/* Empty the directory @dfd (closed here). */
static void empty_dir(int dfd)
{
	unsigned int n = 0;

	for_each_entry(dfd, remove_entry, NULL);
	for_each_entry(dfd, count_entry, &n);
	if (n)
		abort();
	close(dfd);
}

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

/* The share as every input finds it. */
static void make_share(void)
{
	char p[160];
	int fd;

	if (chmod(share, 0755))
		abort();
	fd = open(share, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		abort();
	empty_dir(fd);
	snprintf(p, sizeof(p), "%s/hello.txt", share);
	put_file(p, "hello, guest\n");
	snprintf(p, sizeof(p), "%s/sub", share);
	if (mkdir(p, 0755))
		abort();
	snprintf(p, sizeof(p), "%s/sub/inner.txt", share);
	put_file(p, "inner\n");
	snprintf(p, sizeof(p), "%s/pipe", share);
	if (mkfifo(p, 0644))
		abort();
	snprintf(p, sizeof(p), "%s/escape", share);
	if (symlink("../outside", p))
		abort();
	snprintf(p, sizeof(p), "%s/abs", share);
	if (symlink(canary, p))
		abort();
}

/* What must not change: the scratch directory, the canary's directory and the canary. */
static struct stat canary_st[3];

static void canary_stat(struct stat st[3])
{
	if (lstat(base, &st[0]) || lstat(outside, &st[1]) || lstat(canary, &st[2]))
		abort();
}

/*
 * The scratch directory holds the share and the canary's directory, the
 * canary is as made. An entry made or removed in a directory changes its
 * times, a write or a chmod the file's: a stat of each tells.
 */
static void check_canary(void)
{
	struct stat now[3];

	canary_stat(now);
	for (int i = 0; i < 3; i++)
		if (now[i].st_ino != canary_st[i].st_ino ||
		    now[i].st_mode != canary_st[i].st_mode ||
		    now[i].st_nlink != canary_st[i].st_nlink ||
		    now[i].st_size != canary_st[i].st_size ||
		    now[i].st_uid != canary_st[i].st_uid || now[i].st_gid != canary_st[i].st_gid ||
		    memcmp(&now[i].st_mtim, &canary_st[i].st_mtim, sizeof(now[i].st_mtim)) ||
		    memcmp(&now[i].st_ctim, &canary_st[i].st_ctim, sizeof(now[i].st_ctim)))
			abort(); /* the server reached outside its share */
}

static void setup_once(void)
{
	struct rlimit fsize = {32 << 20, 32 << 20};
	char probe[96];

	fuzz_quiet();
	if (geteuid() == 0) {
		/* Root may make device nodes; the server would then serve them. Not here. */
		capng_get_caps_process();
		if (capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
				 CAP_MKNOD) ||
		    capng_apply(CAPNG_SELECT_BOTH))
			abort();
	}
	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &fsize))
		abort();
	snprintf(base, sizeof(base), "%s/shmvm-fuzz-fsd.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(base))
		abort();
	snprintf(share, sizeof(share), "%s/share", base);
	snprintf(outside, sizeof(outside), "%s/outside", base);
	snprintf(canary, sizeof(canary), "%s/canary.txt", outside);
	if (mkdir(share, 0755) || mkdir(outside, 0755))
		abort();
	put_file(canary, "canary\n");
	if (chmod(outside, 0755) || chmod(canary, 0644))
		abort();
	snprintf(probe, sizeof(probe), "%s/probe", base);
	if (mknod(probe, S_IFCHR | 0600, makedev(1, 3)) == 0) {
		unlink(probe);
		abort(); /* a device node could be made: CAP_MKNOD is still there */
	}
	canary_stat(canary_st);
	fprintf(stderr,
		"fuzz_fsd: scratch directory %s (not removed at exit: libFuzzer exits directly)\n",
		base);
}

/* ---- requests ---- */

static void substitute(uint64_t *v)
{
	if ((*v & ~0xffULL) == MAGIC_NODE && nr_nodes)
		*v = nodes[(*v & 0xff) % nr_nodes];
	else if ((*v & ~0xffULL) == MAGIC_FH && nr_fhs)
		*v = fhs[(*v & 0xff) % nr_fhs];
}

static void remember(uint64_t *ids, unsigned int *n, uint64_t id)
{
	if (*n < MAX_IDS)
		ids[(*n)++] = id;
}

/* Check the reply of @n bytes to @h, and remember the ids it hands out. */
static void check_reply(const struct fuse_in_header *h, size_t n, size_t room,
			const struct iovec *out, unsigned int nout)
{
	struct fuse_out_header oh;
	size_t got = 0;

	if (h->opcode == FUSE_FORGET || h->opcode == FUSE_BATCH_FORGET) {
		if (n)
			abort();
		return;
	}
	if (n > room || (n && n < sizeof(oh)))
		abort();
	for (unsigned int i = 0; i < nout && got < n; i++) {
		size_t k = MIN(out[i].iov_len, n - got);

		memcpy(gathered + got, out[i].iov_base, k);
		got += k;
	}
	if (!n)
		return;
	memcpy(&oh, gathered, sizeof(oh));
	if (oh.unique != h->unique || (oh.error && (oh.error > 0 || oh.error < -4095)))
		abort();
	if (oh.error && oh.len != sizeof(oh))
		abort();
	/* The reply may have been cut to the room; its header still says the whole length. */
	if (oh.len < n || (oh.len != n && n != room))
		abort();
	if (oh.error || n != oh.len)
		return;
	switch (h->opcode) {
	case FUSE_LOOKUP:
	case FUSE_MKDIR:
	case FUSE_MKNOD:
	case FUSE_SYMLINK:
	case FUSE_LINK:
	case FUSE_CREATE:
		if (n >= sizeof(oh) + sizeof(struct fuse_entry_out)) {
			struct fuse_entry_out e;

			memcpy(&e, gathered + sizeof(oh), sizeof(e));
			remember(nodes, &nr_nodes, e.nodeid);
		}
		if (h->opcode == FUSE_CREATE && n >= sizeof(oh) + sizeof(struct fuse_entry_out) +
							 sizeof(struct fuse_open_out)) {
			struct fuse_open_out o;

			memcpy(&o, gathered + sizeof(oh) + sizeof(struct fuse_entry_out),
			       sizeof(o));
			remember(fhs, &nr_fhs, o.fh);
		}
		break;
	case FUSE_OPEN:
	case FUSE_OPENDIR:
		if (n >= sizeof(oh) + sizeof(struct fuse_open_out)) {
			struct fuse_open_out o;

			memcpy(&o, gathered + sizeof(oh), sizeof(o));
			remember(fhs, &nr_fhs, o.fh);
		}
		break;
	default:
		break;
	}
}

/* Run one request of @len bytes in req[] as control byte @c says. */
static void run(struct fsd *fs, uint8_t c, size_t len)
{
	struct fuse_in_header h;
	struct iovec in[3], out[2];
	unsigned int nin, nout;
	struct timespec t0, t1;
	size_t room, n;

	if (c & 0x10)
		len--;
	if (c & 0x20) {
		memset(req + len, 0xaa, 8);
		len += 8;
	}
	memcpy(&h, req, sizeof(h));
	switch (c & 3) {
	case 0:
		in[0] = (struct iovec){req, len};
		nin = 1;
		break;
	case 1:
		in[0] = (struct iovec){req, MIN(len, (size_t)7)};
		in[1] = (struct iovec){req + in[0].iov_len, MIN(len - in[0].iov_len, (size_t)23)};
		in[2] = (struct iovec){req + in[0].iov_len + in[1].iov_len,
				       len - in[0].iov_len - in[1].iov_len};
		nin = 3;
		break;
	case 2:
		in[0] = (struct iovec){req, 0};
		in[1] = (struct iovec){req, MIN(len, (size_t)41)};
		in[2] = (struct iovec){req + in[1].iov_len, len - in[1].iov_len};
		nin = 3;
		break;
	default:
		in[0] = (struct iovec){req, len / 2};
		in[1] = (struct iovec){req + len / 2, len - len / 2};
		nin = 2;
		break;
	}
	switch ((c >> 2) & 3) {
	case 0:
		out[0] = (struct iovec){reply, sizeof(reply)};
		nout = 1;
		break;
	case 1:
		out[0] = (struct iovec){reply, 8};
		nout = 1;
		break;
	case 2:
		out[0] = (struct iovec){reply, 5};
		out[1] = (struct iovec){reply + 5, 95};
		nout = 2;
		break;
	default:
		out[0] = (struct iovec){reply, 4096};
		nout = 1;
		break;
	}
	room = 0;
	for (unsigned int i = 0; i < nout; i++)
		room += out[i].iov_len;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = fsd_handle(fs, in, nin, out, nout);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/*
	 * One thread serves the whole device: a request that blocks (an open of a
	 * FIFO waits for its other end) hangs the guest's file system. libFuzzer's
	 * timeout alarm interrupts such a wait, so it shows as a slow request.
	 */
	if (t1.tv_sec - t0.tv_sec > 3)
		abort();
	if (len >= sizeof(h))
		check_reply(&h, n, room, out, nout);
	else if (n)
		abort(); /* no header, no reply */
}

/* Could @opcode change the share? Then it is made again before the next input. */
static bool changes(uint32_t opcode)
{
	return fsd_is_write_op(opcode) || opcode == FUSE_OPEN; /* OPEN: O_TRUNC */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool dirty = true;
	static struct fsd *fs;
	size_t at = 0;

	if (!fs) {
		struct fsd_opts o = {.max_inodes = 256,
				     .max_handles = 32,
				     .dax_window = WINDOW,
				     .dax_ops = &dax_ops};

		setup_once();
		o.shared_dir = share;
		/* One server for the process (a new one per input costs more than the input). */
		if (fsd_create(&o, &fs))
			abort();
	}
	if (dirty)
		make_share();
	dirty = false;
	memset(fake_len, 0, sizeof(fake_len));
	fake_live = 0;
	unmap_refused = false;
	nr_nodes = nr_fhs = 0;
	while (at < size) {
		uint8_t c = data[at++];
		struct fuse_in_header h = {0};
		size_t len = MIN(size - at, sizeof(h)), arg;

		memcpy(&h, data + at, len);
		arg = h.len > sizeof(h)
			  ? MIN((size_t)h.len - sizeof(h), (size_t)MAX_REQ - sizeof(h))
			  : 0;
		arg = MIN(arg, size - at - len);
		memcpy(req, data + at, len + arg);
		at += len + arg;
		len += arg;
		if (len >= sizeof(h)) {
			uint64_t first;

			substitute(&h.nodeid);
			if (arg >= 8) {
				memcpy(&first, req + sizeof(h), 8);
				substitute(&first);
				memcpy(req + sizeof(h), &first, 8);
			}
			if (h.opcode == FUSE_FALLOCATE && arg >= sizeof(struct fuse_fallocate_in)) {
				struct fuse_fallocate_in fa;

				/* Space for real: keep it small. */
				memcpy(&fa, req + sizeof(h), sizeof(fa));
				fa.offset %= 16 << 20;
				fa.length = MIN(fa.length, (uint64_t)1 << 20);
				memcpy(req + sizeof(h), &fa, sizeof(fa));
			}
			memcpy(req, &h, sizeof(h));
			dirty |= changes(h.opcode);
		}
		if (!len)
			break;
		run(fs, c, len);
		if (fsd_dax_stats(fs).live > fake_live ||
		    (!unmap_refused && fsd_dax_stats(fs).live != fake_live))
			abort();
	}
	/* As after a device reset: every node but the root and every handle closed, DAX forgotten.
	 */
	fsd_reset(fs);
	check_canary();
	return 0;
}
