/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The file-system half of shmvm-fsd: a FUSE passthrough of one host
 * directory, independent of vhost-user. Requests come as the device-readable
 * and device-writable buffers of one virtqueue element. The guest is
 * hostile: every name is checked, every node and handle is a validated table
 * entry, every path operation is an *at() call relative to an O_PATH fd of
 * a directory inside the shared tree, and nothing is ever followed through
 * a symbolic link.
 */
#ifndef SHMVM_FSD_FUSE_SERVER_H
#define SHMVM_FSD_FUSE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "tools/fsd/dax.h"
#include "util/compiler.h"

struct fsd_opts {
	const char *shared_dir;
	bool read_only;
	/*
	 * The guest's root is this process's user: files of its uid (gid) are
	 * shown as 0's, and uid (gid) 0 in requests means its own. For a server
	 * without CAP_CHOWN, which cannot give files to anyone else, serving a
	 * guest that works as root (`shmvm run`); a no-op when it runs as root.
	 */
	bool map_root;
	uint32_t max_inodes;  /* table bound; 0: default */
	uint32_t max_handles; /* likewise */
	/* DAX: the window's size (0: no DAX) and how mappings are made there. */
	uint64_t dax_window;
	const struct fsd_dax_ops *dax_ops;
	void *dax_opaque;
};

/* The node and handle tables' sizes where fsd_opts leave them 0. */
#define FSD_DEFAULT_INODES 65536
#define FSD_DEFAULT_HANDLES 4096

struct fsd;

/* Whether FUSE @opcode changes the share (a read-only share refuses it with EROFS). */
bool fsd_is_write_op(uint32_t opcode);

/*
 * A server for @o->shared_dir. Installs the process's SIGBUS handler
 * (util/guarded_copy.h): guest buffers are copied in and out with
 * guarded_copy(), and one in a truncated file's mapping gets -EFAULT.
 */
int fsd_create(const struct fsd_opts *o, struct fsd **out) __must_check;
void fsd_destroy(struct fsd *fs);

/*
 * Handle one request: @in = device-readable buffers (fuse_in_header and its
 * arguments, split anywhere), @out = device-writable buffers. Returns the
 * number of bytes written to @out (0 for requests without a reply).
 */
size_t fsd_handle(struct fsd *fs, const struct iovec *in, unsigned int nin, const struct iovec *out,
		  unsigned int nout);

/*
 * Device reset or disconnect: forget every node and handle but the root,
 * and every DAX mapping (the frontend has dropped them already).
 */
void fsd_reset(struct fsd *fs);
/* What the DAX window holds now (all zero without DAX). */
struct dax_stats fsd_dax_stats(const struct fsd *fs);

#endif
