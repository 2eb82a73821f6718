/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shmvm-fsd's node and handle tables. Ids handed to the guest are
 * (generation << 32 | index + 1), so a stale or forged id never reaches a
 * recycled slot; the root node is index 0, id 1, and is never forgotten.
 */
#ifndef SHMVM_FSD_NODES_H
#define SHMVM_FSD_NODES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "util/compiler.h"

#define NODES_NONE UINT32_MAX

struct inode {
	int fd; /* O_PATH | O_NOFOLLOW, -1 when the slot is free */
	dev_t dev;
	ino_t ino;
	uint64_t nlookup;
	uint32_t gen;
	uint32_t next; /* live: next in its hash chain; free: next free slot */
};

struct handle {
	int fd; /* -1 when free */
	uint32_t gen;
	uint32_t next_free;
	bool dir;
};

/*
 * Nodes are found by (dev, ino) through a chained hash table over their
 * indices, free slots and handles through free lists: every operation is
 * O(1) whatever the size of the shared tree.
 */
struct fsd_nodes {
	struct inode *inodes;
	uint32_t max_inodes;
	uint32_t *buckets; /* first node of each chain, NODES_NONE if empty */
	uint32_t nbuckets; /* a power of two */
	uint32_t free_inode;
	struct handle *handles;
	uint32_t max_handles;
	uint32_t free_handle;
};

/* Allocate the tables; @root_fd (O_PATH) becomes node 1. */
int nodes_init(struct fsd_nodes *n, uint32_t max_inodes, uint32_t max_handles, int root_fd,
	       const struct stat *root) __must_check;
/* Close every node but the root, and every handle. */
void nodes_reset(struct fsd_nodes *n);
void nodes_destroy(struct fsd_nodes *n);

/* The live node @nodeid names, or NULL. */
struct inode *inode_get(struct fsd_nodes *n, uint64_t nodeid);
uint64_t inode_id(const struct fsd_nodes *n, const struct inode *in);
/* The node for @fd (an O_PATH fd now owned by the table); a known (dev, ino) keeps its id. */
int inode_add(struct fsd_nodes *n, int fd, const struct stat *st, struct inode **out) __must_check;
/* Drop @count lookups of @nodeid; at zero the node is closed. Unknown ids are ignored. */
void inode_forget(struct fsd_nodes *n, uint64_t nodeid, uint64_t count);

/* Register an open @fd (owned by the table from now on) as a file or directory handle. */
int handle_add(struct fsd_nodes *n, int fd, bool dir, uint64_t *fh) __must_check;
/* The live handle @fh names, of the right kind, or NULL. */
struct handle *handle_get(struct fsd_nodes *n, uint64_t fh, bool dir);
/* Close handle @fh (of the right kind): 0, or -EBADF if there is none. */
int handle_del(struct fsd_nodes *n, uint64_t fh, bool dir) __must_check;

#endif
