// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "tools/fsd/fuse_server.h"
#include "tools/fsd/nodes.h"
#include "util/guarded_copy.h"
#include "util/log.h"

#define FSD_MAX_WRITE (1u << 20)
#define FSD_MAX_REQUEST (FSD_MAX_WRITE + 4096)
#define FSD_NAME_MAX 255

struct fsd {
	bool read_only;
	bool map_root;
	uid_t uid; /* this process's, for map_root */
	gid_t gid;
	bool initialised;
	bool has_dax;
	struct fsd_nodes nodes;
	struct fsd_dax dax;
	uint8_t *req;   /* the request, copied out of guest memory */
	uint8_t *reply; /* the reply, built here then scattered */
};

static struct log_ratelimit fsd_rl = LOG_RATELIMIT_INIT;

/* ---- setup ---- */

int fsd_create(const struct fsd_opts *o, struct fsd **out)
{
	struct fsd *fs = calloc(1, sizeof(*fs));
	struct stat st;
	int fd, rc;

	if (!fs)
		return -ENOMEM;
	/* A guest buffer in a truncated file's mapping must not end the server. */
	rc = guarded_copy_init();
	if (rc) {
		free(fs);
		return rc;
	}
	fs->read_only = o->read_only;
	fs->map_root = o->map_root;
	fs->uid = geteuid();
	fs->gid = getegid();
	fs->req = malloc(FSD_MAX_REQUEST);
	fs->reply = malloc(FSD_MAX_WRITE + 4096);
	if (!fs->req || !fs->reply) {
		rc = -ENOMEM;
		goto err;
	}
	fd = open(o->shared_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		goto err;
	}
	rc = nodes_init(&fs->nodes, o->max_inodes ? o->max_inodes : FSD_DEFAULT_INODES,
			o->max_handles ? o->max_handles : FSD_DEFAULT_HANDLES, fd, &st);
	if (rc) {
		close(fd);
		goto err;
	}
	if (o->dax_window) {
		rc = dax_init(&fs->dax, o->dax_window, o->dax_ops, o->dax_opaque);
		if (rc)
			goto err;
		fs->has_dax = true;
	}
	*out = fs;
	return 0;
err:
	fsd_destroy(fs);
	return rc;
}

void fsd_reset(struct fsd *fs)
{
	nodes_reset(&fs->nodes);
	if (fs->has_dax)
		dax_forget_all(&fs->dax);
	fs->initialised = false;
}

struct dax_stats fsd_dax_stats(const struct fsd *fs)
{
	return fs->has_dax ? fs->dax.stats : (struct dax_stats){ 0 };
}

/* End of a session (DESTROY, or a new INIT): nothing stays mapped, then a clean slate. */
static void end_session(struct fsd *fs)
{
	if (fs->has_dax && dax_unmap_all(&fs->dax))
		log_ratelimited(&fsd_rl, LOG_WARN, "dax: some mappings could not be unmapped");
	fsd_reset(fs);
}

void fsd_destroy(struct fsd *fs)
{
	if (!fs)
		return;
	if (fs->has_dax)
		dax_destroy(&fs->dax);
	nodes_destroy(&fs->nodes);
	free(fs->req);
	free(fs->reply);
	free(fs);
}

/* ---- helpers ---- */

/* A name the guest may create or look up: non-empty, no '/', not "." or "..", NUL within @len. */
static const char *take_name(const uint8_t **p, size_t *left)
{
	const char *s = (const char *)*p;
	size_t n = strnlen(s, MIN(*left, (size_t)FSD_NAME_MAX + 1));

	if (n == *left || n > FSD_NAME_MAX || n == 0)
		return NULL;
	*p += n + 1;
	*left -= n + 1;
	if (strchr(s, '/') || !strcmp(s, ".") || !strcmp(s, ".."))
		return NULL;
	return s;
}

/*
 * With DAX, Linux writes a mapped file back only when its block size is the
 * page size (fs/dax.c warns and fails with EIO otherwise, so every close()
 * of such a file fails); hosts report other sizes (9p: its msize).
 */
static void fill_attr(const struct fsd *fs, struct fuse_attr *a, const struct stat *st)
{
	*a = (struct fuse_attr){
		.ino = st->st_ino,
		.size = (uint64_t)st->st_size,
		.blocks = (uint64_t)st->st_blocks,
		.atime = (uint64_t)st->st_atim.tv_sec,
		.mtime = (uint64_t)st->st_mtim.tv_sec,
		.ctime = (uint64_t)st->st_ctim.tv_sec,
		.atimensec = (uint32_t)st->st_atim.tv_nsec,
		.mtimensec = (uint32_t)st->st_mtim.tv_nsec,
		.ctimensec = (uint32_t)st->st_ctim.tv_nsec,
		.mode = st->st_mode,
		.nlink = (uint32_t)st->st_nlink,
		.uid = fs->map_root && st->st_uid == fs->uid ? 0 : st->st_uid,
		.gid = fs->map_root && st->st_gid == fs->gid ? 0 : st->st_gid,
		.rdev = (uint32_t)st->st_rdev,
		.blksize = fs->has_dax ? (uint32_t)sysconf(_SC_PAGESIZE) : (uint32_t)st->st_blksize,
	};
}

static int stat_fd(int fd, struct stat *st)
{
	return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* The magic-link path that reopens an O_PATH fd (only for non-symlinks). */
static void proc_path(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

/* A guest's uid or gid as the host's: with map_root, 0 is this process's. */
static uid_t host_uid(const struct fsd *fs, uid_t uid)
{
	return fs->map_root && uid == 0 ? fs->uid : uid;
}

static gid_t host_gid(const struct fsd *fs, gid_t gid)
{
	return fs->map_root && gid == 0 ? fs->gid : gid;
}

/*
 * Reopen the file behind a node's O_PATH @fd with @flags. O_NOATIME (which
 * Linux's overlayfs sets on every file it opens in a lower layer) is only
 * for the file's owner or CAP_FOWNER: without, it is EPERM, so a server run
 * by an ordinary user opens the files of others without it.
 */
static int reopen(int fd, int flags)
{
	char path[64];
	int r;

	proc_path(path, sizeof(path), fd);
	r = open(path, flags);
	if (r < 0 && errno == EPERM && (flags & O_NOATIME))
		r = open(path, flags & ~O_NOATIME);
	return r;
}

/* Look @name up under @parent and fill @e; takes a lookup reference. */
static int do_lookup(struct fsd *fs, struct inode *parent, const char *name, struct fuse_entry_out *e)
{
	struct inode *in;
	struct stat st;
	int fd = openat(parent->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = stat_fd(fd, &st);
	if (rc) {
		close(fd);
		return rc;
	}
	rc = inode_add(&fs->nodes, fd, &st, &in);
	if (rc)
		return rc;
	memset(e, 0, sizeof(*e));
	e->nodeid = inode_id(&fs->nodes, in);
	e->generation = in->gen;
	e->entry_valid = e->attr_valid = 1;
	fill_attr(fs, &e->attr, &st);
	return 0;
}

/* ---- request dispatch ---- */

struct req {
	struct fuse_in_header h;
	const uint8_t *arg; /* after the header */
	size_t arg_len;
	uint8_t *out;       /* reply payload (after the out header) */
	size_t out_len;     /* bytes of reply payload produced */
	size_t out_cap;     /* room for reply payload */
};

#define ARG(r, type)                                                                               \
	__extension__({                                                                            \
		if ((r)->arg_len < sizeof(type))                                                  \
			return -EINVAL;                                                           \
		const type *_p = (const type *)(const void *)(r)->arg;                             \
		(r)->arg += sizeof(type);                                                          \
		(r)->arg_len -= sizeof(type);                                                      \
		*_p;                                                                               \
	})

static int put(struct req *r, const void *p, size_t len)
{
	if (len > r->out_cap - r->out_len)
		return -ERANGE;
	memcpy(r->out + r->out_len, p, len);
	r->out_len += len;
	return 0;
}

bool fsd_is_write_op(uint32_t op)
{
	switch (op) {
	case FUSE_SETATTR:
	case FUSE_WRITE:
	case FUSE_CREATE:
	case FUSE_MKDIR:
	case FUSE_MKNOD:
	case FUSE_UNLINK:
	case FUSE_RMDIR:
	case FUSE_RENAME:
	case FUSE_RENAME2:
	case FUSE_LINK:
	case FUSE_SYMLINK:
	case FUSE_FALLOCATE:
		return true;
	default:
		return false;
	}
}

static int op_init(struct fsd *fs, struct req *r)
{
	struct fuse_init_in in = ARG(r, struct fuse_init_in);
	struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION };

	if (in.major != FUSE_KERNEL_VERSION)
		return -EPROTO;
	o.minor = MIN(in.minor, (uint32_t)FUSE_KERNEL_MINOR_VERSION);
	o.max_readahead = in.max_readahead;
	o.flags = in.flags & (FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_PARALLEL_DIROPS |
			      FUSE_ATOMIC_O_TRUNC | FUSE_EXPORT_SUPPORT | FUSE_AUTO_INVAL_DATA |
			      FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO);
	o.max_background = 64;
	o.congestion_threshold = 48;
	o.max_write = FSD_MAX_WRITE;
	o.time_gran = 1;
	o.max_pages = FSD_MAX_WRITE / 4096;
	if (in.flags & FUSE_MAX_PAGES)
		o.flags |= FUSE_MAX_PAGES;
	/* The driver asks for an alignment only when it found a DAX window. */
	if (fs->has_dax && (in.flags & FUSE_MAP_ALIGNMENT)) {
		o.flags |= FUSE_MAP_ALIGNMENT;
		o.map_alignment = DAX_CHUNK_SHIFT;
	}
	end_session(fs);
	fs->initialised = true;
	return put(r, &o, sizeof(o));
}

static int op_lookup(struct fsd *fs, struct inode *node, struct req *r)
{
	struct fuse_entry_out e;
	const char *name = take_name(&r->arg, &r->arg_len);
	int rc;

	if (!name)
		return -ENOENT;
	rc = do_lookup(fs, node, name, &e);
	return rc ? rc : put(r, &e, sizeof(e));
}

static int op_getattr(struct fsd *fs, struct inode *node, struct req *r)
{
	struct fuse_attr_out o = { .attr_valid = 1 };
	struct stat st;
	int rc = stat_fd(node->fd, &st);

	if (rc)
		return rc;
	fill_attr(fs, &o.attr, &st);
	return put(r, &o, sizeof(o));
}

static int op_setattr(struct fsd *fs, struct inode *node, struct req *r)
{
	struct fuse_setattr_in in = ARG(r, struct fuse_setattr_in);
	char path[64];
	struct stat st;
	int rc = stat_fd(node->fd, &st);

	if (rc)
		return rc;
	proc_path(path, sizeof(path), node->fd);
	if (S_ISLNK(st.st_mode) && (in.valid & (FATTR_MODE | FATTR_SIZE | FATTR_ATIME | FATTR_MTIME)))
		return -EOPNOTSUPP; /* reaching a symlink through /proc would follow it */
	if ((in.valid & FATTR_MODE) && chmod(path, in.mode & 07777) < 0)
		return -errno;
	if ((in.valid & (FATTR_UID | FATTR_GID)) &&
	    fchownat(node->fd, "", (in.valid & FATTR_UID) ? host_uid(fs, in.uid) : (uid_t)-1,
		     (in.valid & FATTR_GID) ? host_gid(fs, in.gid) : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (in.valid & FATTR_SIZE) {
		struct handle *h = (in.valid & FATTR_FH) ? handle_get(&fs->nodes, in.fh, false) : NULL;

		if (h) {
			if (ftruncate(h->fd, (off_t)in.size) < 0)
				return -errno;
		} else {
			if (!S_ISREG(st.st_mode))
				return -EINVAL;
			if (truncate(path, (off_t)in.size) < 0)
				return -errno;
		}
	}
	if (in.valid & (FATTR_ATIME | FATTR_MTIME)) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_nsec = UTIME_OMIT } };

		if (in.valid & FATTR_ATIME)
			ts[0] = (in.valid & FATTR_ATIME_NOW) ? (struct timespec){ .tv_nsec = UTIME_NOW }
			      : (struct timespec){ (time_t)in.atime, in.atimensec };
		if (in.valid & FATTR_MTIME)
			ts[1] = (in.valid & FATTR_MTIME_NOW) ? (struct timespec){ .tv_nsec = UTIME_NOW }
			      : (struct timespec){ (time_t)in.mtime, in.mtimensec };
		if (utimensat(AT_FDCWD, path, ts, 0) < 0)
			return -errno;
	}
	return op_getattr(fs, node, r);
}

/*
 * The guest's open flags as shmvm-fsd opens the host file. O_DIRECT is the
 * guest's business (its own page cache); the host's cache is ours, and not
 * every host file system takes O_DIRECT (tmpfs before Linux 6.6).
 */
static int open_flags(uint32_t flags)
{
	return (int)(flags & ~(uint32_t)(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_DIRECT)) | O_CLOEXEC;
}

static int op_open(struct fsd *fs, struct inode *node, struct req *r, bool dir)
{
	struct fuse_open_in in = ARG(r, struct fuse_open_in);
	struct fuse_open_out o = { 0 };
	struct stat st;
	int fd, rc = stat_fd(node->fd, &st);

	if (rc)
		return rc;
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return dir ? -ENOTDIR : (S_ISDIR(st.st_mode) ? -EISDIR : -EACCES);
	/* O_TRUNC writes too: Linux truncates on O_RDONLY | O_TRUNC when the file is writable. */
	if (fs->read_only && ((in.flags & O_ACCMODE) != O_RDONLY || (in.flags & O_TRUNC)))
		return -EROFS;
	if (dir) {
		fd = openat(node->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		fd = reopen(node->fd, open_flags(in.flags));
	}
	if (fd < 0)
		return -errno;
	rc = handle_add(&fs->nodes, fd, dir, &o.fh);
	return rc ? rc : put(r, &o, sizeof(o));
}

/*
 * CREATE of a name that exists, without O_EXCL: open what is there as OPEN
 * would, a regular file only (a FIFO would block shmvm-fsd, a device node
 * would be the host's device), never through a symlink. Takes a lookup
 * reference, fills @e and *@fd.
 */
static int create_existing(struct fsd *fs, struct inode *parent, const char *name, uint32_t flags,
			   struct fuse_entry_out *e, int *fd)
{
	struct stat st;
	int rc = do_lookup(fs, parent, name, e);

	if (rc)
		return rc;
	if (!S_ISREG(e->attr.mode)) {
		rc = S_ISDIR(e->attr.mode) ? -EISDIR : S_ISLNK(e->attr.mode) ? -ELOOP : -EACCES;
		goto err;
	}
	*fd = reopen(inode_get(&fs->nodes, e->nodeid)->fd, open_flags(flags));
	if (*fd < 0) {
		rc = -errno;
		goto err;
	}
	if (fstat(*fd, &st) == 0)
		fill_attr(fs, &e->attr, &st); /* as O_TRUNC left it */
	return 0;
err:
	inode_forget(&fs->nodes, e->nodeid, 1);
	return rc;
}

static int op_create(struct fsd *fs, struct inode *parent, struct req *r)
{
	struct fuse_create_in in = ARG(r, struct fuse_create_in);
	const char *name = take_name(&r->arg, &r->arg_len);
	struct fuse_entry_out e;
	struct fuse_open_out o = { 0 };
	int fd, rc;

	if (!name)
		return -EINVAL;
	/* Always O_EXCL: what openat() opens here is a regular file it made. */
	fd = openat(parent->fd, name, open_flags(in.flags) | O_CREAT | O_EXCL | O_NOFOLLOW,
		    in.mode & ~in.umask & 07777);
	if (fd < 0 && errno == EEXIST && !(in.flags & O_EXCL)) {
		rc = create_existing(fs, parent, name, in.flags, &e, &fd);
		if (rc)
			return rc;
	} else if (fd < 0) {
		return -errno;
	} else {
		if (fchown(fd, host_uid(fs, r->h.uid), host_gid(fs, r->h.gid)) < 0)
			log_ratelimited(&fsd_rl, LOG_DEBUG, "create: chown: %s", strerror(errno));
		rc = do_lookup(fs, parent, name, &e);
		if (rc) {
			close(fd);
			return rc;
		}
	}
	rc = handle_add(&fs->nodes, fd, false, &o.fh);
	if (rc) {
		inode_forget(&fs->nodes, e.nodeid, 1);
		return rc;
	}
	rc = put(r, &e, sizeof(e));
	return rc ? rc : put(r, &o, sizeof(o));
}

/* After making @name under @parent: chown it to the caller, look it up, reply. */
static int made(struct fsd *fs, struct inode *parent, const char *name, struct req *r)
{
	struct fuse_entry_out e;
	int rc;

	if (fchownat(parent->fd, name, host_uid(fs, r->h.uid), host_gid(fs, r->h.gid),
		     AT_SYMLINK_NOFOLLOW) < 0)
		log_ratelimited(&fsd_rl, LOG_DEBUG, "chown %s: %s", name, strerror(errno));
	rc = do_lookup(fs, parent, name, &e);
	return rc ? rc : put(r, &e, sizeof(e));
}

static int op_mkdir(struct fsd *fs, struct inode *parent, struct req *r)
{
	struct fuse_mkdir_in in = ARG(r, struct fuse_mkdir_in);
	const char *name = take_name(&r->arg, &r->arg_len);

	if (!name)
		return -EINVAL;
	if (mkdirat(parent->fd, name, in.mode & ~in.umask & 07777) < 0)
		return -errno;
	return made(fs, parent, name, r);
}

static int op_mknod(struct fsd *fs, struct inode *parent, struct req *r)
{
	struct fuse_mknod_in in = ARG(r, struct fuse_mknod_in);
	const char *name = take_name(&r->arg, &r->arg_len);

	if (!name)
		return -EINVAL;
	if (mknodat(parent->fd, name, (in.mode & S_IFMT) | (in.mode & ~in.umask & 07777), in.rdev) < 0)
		return -errno;
	return made(fs, parent, name, r);
}

static int op_symlink(struct fsd *fs, struct inode *parent, struct req *r)
{
	const char *name = take_name(&r->arg, &r->arg_len);
	const char *target = (const char *)r->arg;

	/* The target is data: it is stored, never followed. */
	if (!name || !r->arg_len || strnlen(target, r->arg_len) == r->arg_len)
		return -EINVAL;
	if (symlinkat(target, parent->fd, name) < 0)
		return -errno;
	return made(fs, parent, name, r);
}

static int op_link(struct fsd *fs, struct inode *parent, struct req *r)
{
	struct fuse_link_in in = ARG(r, struct fuse_link_in);
	const char *name = take_name(&r->arg, &r->arg_len);
	struct inode *old = inode_get(&fs->nodes, in.oldnodeid);

	char path[64];

	if (!name || !old)
		return name ? -ESTALE : -EINVAL;
	/*
	 * AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH (ENOENT without); the node's
	 * magic link does not, and links what it names, a symlink included.
	 */
	if (linkat(old->fd, "", parent->fd, name, AT_EMPTY_PATH) < 0) {
		if (errno != ENOENT)
			return -errno;
		proc_path(path, sizeof(path), old->fd);
		if (linkat(AT_FDCWD, path, parent->fd, name, AT_SYMLINK_FOLLOW) < 0)
			return -errno;
	}
	return made(fs, parent, name, r);
}

static int op_unlink(struct inode *parent, struct req *r, int flags)
{
	const char *name = take_name(&r->arg, &r->arg_len);

	if (!name)
		return -EINVAL;
	return unlinkat(parent->fd, name, flags) < 0 ? -errno : 0;
}

static int op_rename(struct fsd *fs, struct inode *parent, struct req *r, bool two)
{
	uint64_t newdir;
	uint32_t flags = 0;
	const char *old, *new_name;
	struct inode *nd;

	if (two) {
		struct fuse_rename2_in in = ARG(r, struct fuse_rename2_in);

		newdir = in.newdir;
		flags = in.flags;
	} else {
		struct fuse_rename_in in = ARG(r, struct fuse_rename_in);

		newdir = in.newdir;
	}
	old = take_name(&r->arg, &r->arg_len);
	new_name = take_name(&r->arg, &r->arg_len);
	nd = inode_get(&fs->nodes, newdir);
	if (!old || !new_name)
		return -EINVAL;
	if (!nd)
		return -ESTALE;
	if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	return syscall(SYS_renameat2, parent->fd, old, nd->fd, new_name, flags) < 0 ? -errno : 0;
}

static int op_readlink(struct inode *node, struct req *r)
{
	ssize_t n = readlinkat(node->fd, "", (char *)r->out, r->out_cap);

	if (n < 0)
		return -errno;
	r->out_len = (size_t)n;
	return 0;
}

static int op_read(struct fsd *fs, struct req *r)
{
	struct fuse_read_in in = ARG(r, struct fuse_read_in);
	struct handle *h = handle_get(&fs->nodes, in.fh, false);
	ssize_t n;

	if (!h)
		return -EBADF;
	n = pread(h->fd, r->out, MIN((size_t)in.size, r->out_cap), (off_t)in.offset);
	if (n < 0)
		return -errno;
	r->out_len = (size_t)n;
	return 0;
}

static int op_write(struct fsd *fs, struct req *r)
{
	struct fuse_write_in in = ARG(r, struct fuse_write_in);
	struct handle *h = handle_get(&fs->nodes, in.fh, false);
	struct fuse_write_out o = { 0 };
	ssize_t n;

	if (!h)
		return -EBADF;
	if (in.size > r->arg_len)
		return -EINVAL;
	n = pwrite(h->fd, r->arg, in.size, (off_t)in.offset);
	if (n < 0)
		return -errno;
	o.size = (uint32_t)n;
	return put(r, &o, sizeof(o));
}

/*
 * READDIR and READDIRPLUS: entries from getdents64 at the handle's offset
 * until the reply is full. PLUS also looks each entry up (but "." and "..",
 * which get no node), as if the guest had sent LOOKUP for it.
 */
static int op_readdir(struct fsd *fs, struct inode *node, struct req *r, bool plus)
{
	struct fuse_read_in in = ARG(r, struct fuse_read_in);
	struct handle *h = handle_get(&fs->nodes, in.fh, true);
	char buf[8192];
	size_t cap = MIN((size_t)in.size, r->out_cap);

	if (!h)
		return -EBADF;
	if (lseek(h->fd, (off_t)in.offset, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		long n = syscall(SYS_getdents64, h->fd, buf, sizeof(buf));

		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		for (long pos = 0; pos < n;) {
			struct {
				uint64_t d_ino;
				int64_t d_off;
				uint16_t d_reclen;
				uint8_t d_type;
				char d_name[];
			} *d = (void *)(buf + pos);
			size_t namelen = strlen(d->d_name);
			size_t head = plus ? sizeof(struct fuse_entry_out) : 0;
			size_t rec = FUSE_DIRENT_ALIGN(head + FUSE_NAME_OFFSET + namelen);
			struct fuse_dirent de = { .ino = d->d_ino, .off = (uint64_t)d->d_off,
						  .namelen = (uint32_t)namelen, .type = d->d_type };
			struct fuse_entry_out e = { 0 };
			bool dots = !strcmp(d->d_name, ".") || !strcmp(d->d_name, "..");

			if (rec > cap - r->out_len)
				return 0; /* full: the next request resumes at de.off */
			if (plus && !dots && do_lookup(fs, node, d->d_name, &e))
				memset(&e, 0, sizeof(e)); /* vanished meanwhile: a plain entry */
			memset(r->out + r->out_len, 0, rec);
			memcpy(r->out + r->out_len, &e, head);
			memcpy(r->out + r->out_len + head, &de, FUSE_NAME_OFFSET);
			memcpy(r->out + r->out_len + head + FUSE_NAME_OFFSET, d->d_name, namelen);
			r->out_len += rec;
			pos += d->d_reclen;
			if (lseek(h->fd, d->d_off, SEEK_SET) < 0)
				return -errno;
		}
	}
}

static int op_release(struct fsd *fs, struct req *r, bool dir)
{
	struct fuse_release_in in = ARG(r, struct fuse_release_in);
	return handle_del(&fs->nodes, in.fh, dir);
}

static int op_statfs(struct inode *node, struct req *r)
{
	struct fuse_statfs_out o = { 0 };
	struct statvfs sv;

	if (fstatvfs(node->fd, &sv) < 0)
		return -errno;
	o.st = (struct fuse_kstatfs){ .blocks = sv.f_blocks, .bfree = sv.f_bfree, .bavail = sv.f_bavail,
				      .files = sv.f_files, .ffree = sv.f_ffree, .bsize = (uint32_t)sv.f_bsize,
				      .namelen = (uint32_t)sv.f_namemax, .frsize = (uint32_t)sv.f_frsize };
	return put(r, &o, sizeof(o));
}

static int op_fsync(struct fsd *fs, struct req *r, bool dir)
{
	struct fuse_fsync_in in = ARG(r, struct fuse_fsync_in);
	struct handle *h = handle_get(&fs->nodes, in.fh, dir);

	if (!h)
		return -EBADF;
	return ((in.fsync_flags & 1) ? fdatasync(h->fd) : fsync(h->fd)) < 0 ? -errno : 0;
}

static int op_fallocate(struct fsd *fs, struct req *r)
{
	struct fuse_fallocate_in in = ARG(r, struct fuse_fallocate_in);
	struct handle *h = handle_get(&fs->nodes, in.fh, false);

	if (!h)
		return -EBADF;
	return fallocate(h->fd, (int)in.mode, (off_t)in.offset, (off_t)in.length) < 0 ? -errno : 0;
}

static int op_lseek(struct fsd *fs, struct req *r)
{
	struct fuse_lseek_in in = ARG(r, struct fuse_lseek_in);
	struct handle *h = handle_get(&fs->nodes, in.fh, false);
	struct fuse_lseek_out o;
	off_t off;

	if (!h)
		return -EBADF;
	if (in.whence != SEEK_DATA && in.whence != SEEK_HOLE && in.whence != SEEK_SET &&
	    in.whence != SEEK_CUR && in.whence != SEEK_END)
		return -EINVAL;
	off = lseek(h->fd, (off_t)in.offset, (int)in.whence);
	if (off < 0)
		return -errno;
	o.offset = (uint64_t)off;
	return put(r, &o, sizeof(o));
}

static int op_flush(struct fsd *fs, struct req *r)
{
	struct fuse_flush_in in = ARG(r, struct fuse_flush_in);
	struct handle *h = handle_get(&fs->nodes, in.fh, false);
	int fd;

	if (!h)
		return -EBADF;
	/* Like close(2) of one descriptor: errors of delayed writes show here. */
	fd = dup(h->fd);
	if (fd < 0)
		return -errno;
	return close(fd) < 0 ? -errno : 0;
}

static int op_forget(struct fsd *fs, struct req *r)
{
	struct fuse_forget_in in = ARG(r, struct fuse_forget_in);

	inode_forget(&fs->nodes, r->h.nodeid, in.nlookup);
	return 0;
}

static int op_batch_forget(struct fsd *fs, struct req *r)
{
	struct fuse_batch_forget_in in = ARG(r, struct fuse_batch_forget_in);

	for (uint32_t i = 0; i < in.count; i++) {
		struct fuse_forget_one one = ARG(r, struct fuse_forget_one);

		inode_forget(&fs->nodes, one.nodeid, one.nlookup);
	}
	return 0;
}

/* ---- DAX ---- */

/*
 * The file @node names, opened for a mapping: read-write whenever it can be
 * (see tools/fsd/dax.h), read-only if it must and @write was not asked for.
 * Sets *@writable to what was opened.
 */
static int open_for_mapping(struct fsd *fs, struct inode *node, bool write, bool *writable)
{
	char path[64];
	int fd = -1;

	proc_path(path, sizeof(path), node->fd);
	if (!fs->read_only)
		fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && write)
		return fs->read_only ? -EROFS : -errno;
	*writable = fd >= 0;
	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int op_setupmapping(struct fsd *fs, struct inode *node, struct req *r)
{
	struct fuse_setupmapping_in in = ARG(r, struct fuse_setupmapping_in);
	bool write = in.flags & FUSE_SETUPMAPPING_FLAG_WRITE, writable;
	struct stat st;
	int fd, rc;

	if (!fs->has_dax)
		return -ENOSYS;
	if (in.flags & ~(uint64_t)(FUSE_SETUPMAPPING_FLAG_WRITE | FUSE_SETUPMAPPING_FLAG_READ))
		return -EINVAL;
	if (write && fs->read_only)
		return -EROFS;
	rc = stat_fd(node->fd, &st);
	if (rc)
		return rc;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* Linux sends no handle (fh = -1) and the file's node: open it by node. */
	fd = open_for_mapping(fs, node, write, &writable);
	if (fd < 0)
		return fd;
	rc = dax_setup(&fs->dax, fd, &st, in.foffset, in.moffset, in.len, writable);
	close(fd); /* the frontend's mapping holds the file */
	return rc;
}

static int op_removemapping(struct fsd *fs, struct req *r)
{
	struct fuse_removemapping_in in = ARG(r, struct fuse_removemapping_in);
	int rc = 0;

	if (!fs->has_dax)
		return -ENOSYS;
	/* Entries follow the 4-byte count unaligned: copy each out. */
	if (in.count > r->arg_len / sizeof(struct fuse_removemapping_one))
		return -EINVAL;
	for (uint32_t i = 0; i < in.count; i++) {
		struct fuse_removemapping_one one;
		int err;

		memcpy(&one, r->arg + i * sizeof(one), sizeof(one));
		err = dax_remove(&fs->dax, one.moffset, one.len);
		if (err && !rc)
			rc = err;
	}
	return rc;
}

/* Run one request; returns 0 or -errno for the reply header. */
static int dispatch(struct fsd *fs, struct req *r)
{
	uint32_t op = r->h.opcode;
	struct inode *node;

	if (op == FUSE_INIT)
		return op_init(fs, r);
	if (!fs->initialised)
		return -EIO;
	if (fs->read_only && fsd_is_write_op(op))
		return -EROFS;
	switch (op) {
	case FUSE_FORGET:
		return op_forget(fs, r);
	case FUSE_BATCH_FORGET:
		return op_batch_forget(fs, r);
	case FUSE_READ:
		return op_read(fs, r);
	case FUSE_WRITE:
		return op_write(fs, r);
	case FUSE_RELEASE:
		return op_release(fs, r, false);
	case FUSE_RELEASEDIR:
		return op_release(fs, r, true);
	case FUSE_FSYNC:
		return op_fsync(fs, r, false);
	case FUSE_FSYNCDIR:
		return op_fsync(fs, r, true);
	case FUSE_FLUSH:
		return op_flush(fs, r);
	case FUSE_FALLOCATE:
		return op_fallocate(fs, r);
	case FUSE_LSEEK:
		return op_lseek(fs, r);
	case FUSE_DESTROY:
		end_session(fs);
		return 0;
	case FUSE_REMOVEMAPPING:
		return op_removemapping(fs, r);
	default:
		break;
	}
	node = inode_get(&fs->nodes, r->h.nodeid);
	if (!node)
		return -ESTALE;
	switch (op) {
	case FUSE_LOOKUP:
		return op_lookup(fs, node, r);
	case FUSE_GETATTR:
		return op_getattr(fs, node, r);
	case FUSE_SETATTR:
		return op_setattr(fs, node, r);
	case FUSE_OPEN:
		return op_open(fs, node, r, false);
	case FUSE_OPENDIR:
		return op_open(fs, node, r, true);
	case FUSE_CREATE:
		return op_create(fs, node, r);
	case FUSE_MKDIR:
		return op_mkdir(fs, node, r);
	case FUSE_MKNOD:
		return op_mknod(fs, node, r);
	case FUSE_SYMLINK:
		return op_symlink(fs, node, r);
	case FUSE_LINK:
		return op_link(fs, node, r);
	case FUSE_UNLINK:
		return op_unlink(node, r, 0);
	case FUSE_RMDIR:
		return op_unlink(node, r, AT_REMOVEDIR);
	case FUSE_RENAME:
		return op_rename(fs, node, r, false);
	case FUSE_RENAME2:
		return op_rename(fs, node, r, true);
	case FUSE_READDIR:
		return op_readdir(fs, node, r, false);
	case FUSE_READDIRPLUS:
		return op_readdir(fs, node, r, true);
	case FUSE_READLINK:
		return op_readlink(node, r);
	case FUSE_STATFS:
		return op_statfs(node, r);
	case FUSE_ACCESS:
		return 0; /* the guest mounts with default_permissions */
	case FUSE_SETUPMAPPING:
		return op_setupmapping(fs, node, r);
	default:
		return -ENOSYS;
	}
}

/*
 * Guest buffers may lie in a DAX mapping whose file the guest has cut short
 * since (util/guarded_copy.h): no page there, and a plain memcpy() would
 * end shmvm-fsd with SIGBUS. Both directions copy with guarded_copy() and
 * stop at the first buffer that faults, with *@faulted set.
 */

/* Copy up to @cap bytes out of @iov into @dst; returns bytes copied. */
static size_t gather(uint8_t *dst, size_t cap, const struct iovec *iov, unsigned int n, bool *faulted)
{
	size_t got = 0;

	for (unsigned int i = 0; i < n && got < cap; i++) {
		size_t k = MIN(iov[i].iov_len, cap - got);

		if (!guarded_copy(dst + got, iov[i].iov_base, k)) {
			*faulted = true;
			break;
		}
		got += k;
	}
	return got;
}

static size_t scatter(const struct iovec *iov, unsigned int n, const uint8_t *src, size_t len,
		      bool *faulted)
{
	size_t put_len = 0;

	for (unsigned int i = 0; i < n && put_len < len; i++) {
		size_t k = MIN(iov[i].iov_len, len - put_len);

		if (!guarded_copy(iov[i].iov_base, src + put_len, k)) {
			*faulted = true;
			break;
		}
		put_len += k;
	}
	return put_len;
}

size_t fsd_handle(struct fsd *fs, const struct iovec *in, unsigned int nin, const struct iovec *out,
		  unsigned int nout)
{
	bool faulted = false;
	size_t len = gather(fs->req, FSD_MAX_REQUEST, in, nin, &faulted), room = 0, put;
	struct fuse_out_header oh = { 0 };
	struct req r;
	int rc;

	for (unsigned int i = 0; i < nout; i++)
		room += out[i].iov_len;
	if (len < sizeof(r.h)) {
		log_ratelimited(&fsd_rl, LOG_WARN, "fuse: request shorter than its header%s",
				faulted ? " (its buffer has no page behind it)" : "");
		return 0;
	}
	/* Our copy: the guest cannot change it while we look. */
	memcpy(&r.h, fs->req, sizeof(r.h));
	if (faulted) {
		/* The header came through, the rest did not: refuse it, whatever it was. */
		log_ratelimited(&fsd_rl, LOG_WARN,
				"fuse: opcode %u: a request buffer has no page behind it "
				"(a mapping past its file's end?); refused", r.h.opcode);
		r.out_len = 0;
		rc = -EFAULT;
		goto reply;
	}
	r.arg = fs->req + sizeof(r.h);
	r.arg_len = MIN(len, (size_t)r.h.len) - sizeof(r.h);
	if (r.h.len < sizeof(r.h))
		r.arg_len = 0;
	r.out = fs->reply + sizeof(oh);
	r.out_len = 0;
	r.out_cap = room > sizeof(oh) ? MIN(room - sizeof(oh), (size_t)FSD_MAX_WRITE + 4096 - sizeof(oh)) : 0;

	rc = dispatch(fs, &r);
reply:
	if (r.h.opcode == FUSE_FORGET || r.h.opcode == FUSE_BATCH_FORGET)
		return 0; /* no reply, ever */
	if (room < sizeof(oh)) {
		log_ratelimited(&fsd_rl, LOG_WARN, "fuse: no room for the reply to opcode %u", r.h.opcode);
		return 0;
	}
	if (rc)
		r.out_len = 0;
	oh.len = (uint32_t)(sizeof(oh) + r.out_len);
	oh.error = rc;
	oh.unique = r.h.unique;
	memcpy(fs->reply, &oh, sizeof(oh));
	put = scatter(out, nout, fs->reply, oh.len, &faulted);
	if (faulted)
		log_ratelimited(&fsd_rl, LOG_WARN,
				"fuse: opcode %u: a reply buffer has no page behind it "
				"(a mapping past its file's end?); reply cut at %zu bytes",
				r.h.opcode, put);
	return put;
}
