// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "tools/fsd/nodes.h"

static uint32_t bucket_of(const struct fsd_nodes *n, dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)ino ^ ((uint64_t)dev << 32 | (uint64_t)dev >> 32)) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(h >> 32) & (n->nbuckets - 1);
}

static void chain_insert(struct fsd_nodes *n, uint32_t idx)
{
	uint32_t b = bucket_of(n, n->inodes[idx].dev, n->inodes[idx].ino);

	n->inodes[idx].next = n->buckets[b];
	n->buckets[b] = idx;
}

static void chain_remove(struct fsd_nodes *n, uint32_t idx)
{
	uint32_t *link = &n->buckets[bucket_of(n, n->inodes[idx].dev, n->inodes[idx].ino)];

	while (*link != idx)
		link = &n->inodes[*link].next;
	*link = n->inodes[idx].next;
}

/* Close live node @idx (not the root) and put its slot on the free list. */
static void inode_release(struct fsd_nodes *n, uint32_t idx)
{
	struct inode *in = &n->inodes[idx];

	chain_remove(n, idx);
	close(in->fd);
	in->fd = -1;
	in->next = n->free_inode;
	n->free_inode = idx;
}

static void handle_release(struct fsd_nodes *n, uint32_t idx)
{
	struct handle *h = &n->handles[idx];

	close(h->fd);
	h->fd = -1;
	h->next_free = n->free_handle;
	n->free_handle = idx;
}

/* Every slot but the root's free, in index order (the lowest is used first). */
static void free_lists_init(struct fsd_nodes *n)
{
	n->free_inode = NODES_NONE;
	for (uint32_t i = n->max_inodes; i-- > 1;) {
		n->inodes[i].fd = -1;
		n->inodes[i].next = n->free_inode;
		n->free_inode = i;
	}
	n->free_handle = NODES_NONE;
	for (uint32_t i = n->max_handles; i-- > 0;) {
		n->handles[i].fd = -1;
		n->handles[i].next_free = n->free_handle;
		n->free_handle = i;
	}
}

int nodes_init(struct fsd_nodes *n, uint32_t max_inodes, uint32_t max_handles, int root_fd,
	       const struct stat *root)
{
	n->inodes = NULL;
	n->handles = NULL;
	n->buckets = NULL;
	if (!max_inodes || max_inodes >= NODES_NONE / 2 || !max_handles || max_handles >= NODES_NONE)
		return -EINVAL;
	n->max_inodes = max_inodes;
	n->max_handles = max_handles;
	for (n->nbuckets = 1; n->nbuckets < max_inodes; n->nbuckets <<= 1)
		;
	n->inodes = calloc(max_inodes, sizeof(*n->inodes));
	n->handles = calloc(max_handles, sizeof(*n->handles));
	n->buckets = malloc(n->nbuckets * sizeof(*n->buckets));
	if (!n->inodes || !n->handles || !n->buckets) {
		free(n->inodes);
		free(n->handles);
		free(n->buckets);
		n->inodes = NULL;
		n->handles = NULL;
		n->buckets = NULL;
		return -ENOMEM;
	}
	for (uint32_t b = 0; b < n->nbuckets; b++)
		n->buckets[b] = NODES_NONE;
	free_lists_init(n);
	n->inodes[0] = (struct inode){ .fd = root_fd, .dev = root->st_dev, .ino = root->st_ino, .nlookup = 1 };
	chain_insert(n, 0);
	return 0;
}

void nodes_reset(struct fsd_nodes *n)
{
	struct inode root = n->inodes[0];

	for (uint32_t i = 1; i < n->max_inodes; i++)
		if (n->inodes[i].fd >= 0)
			close(n->inodes[i].fd);
	for (uint32_t i = 0; i < n->max_handles; i++)
		if (n->handles[i].fd >= 0)
			close(n->handles[i].fd);
	for (uint32_t b = 0; b < n->nbuckets; b++)
		n->buckets[b] = NODES_NONE;
	free_lists_init(n);
	n->inodes[0] = root;
	chain_insert(n, 0);
}

void nodes_destroy(struct fsd_nodes *n)
{
	if (n->inodes) {
		nodes_reset(n);
		if (n->inodes[0].fd >= 0)
			close(n->inodes[0].fd);
	}
	free(n->inodes);
	free(n->handles);
	free(n->buckets);
	n->inodes = NULL;
	n->handles = NULL;
	n->buckets = NULL;
}

struct inode *inode_get(struct fsd_nodes *t, uint64_t nodeid)
{
	uint32_t idx = (uint32_t)nodeid - 1, gen = (uint32_t)(nodeid >> 32);

	if ((uint32_t)nodeid == 0 || idx >= t->max_inodes)
		return NULL;
	if (t->inodes[idx].fd < 0 || t->inodes[idx].gen != gen)
		return NULL;
	return &t->inodes[idx];
}

uint64_t inode_id(const struct fsd_nodes *t, const struct inode *in)
{
	return (uint64_t)in->gen << 32 | (uint64_t)(in - t->inodes + 1);
}

int inode_add(struct fsd_nodes *t, int fd, const struct stat *st, struct inode **out)
{
	struct inode *in;
	uint32_t idx;

	for (idx = t->buckets[bucket_of(t, st->st_dev, st->st_ino)]; idx != NODES_NONE;
	     idx = t->inodes[idx].next) {
		in = &t->inodes[idx];
		if (in->dev == st->st_dev && in->ino == st->st_ino) {
			close(fd);
			in->nlookup++;
			*out = in;
			return 0;
		}
	}
	idx = t->free_inode;
	if (idx == NODES_NONE) {
		close(fd);
		return -ENFILE;
	}
	in = &t->inodes[idx];
	t->free_inode = in->next;
	in->fd = fd;
	in->dev = st->st_dev;
	in->ino = st->st_ino;
	in->nlookup = 1;
	in->gen++;
	chain_insert(t, idx);
	*out = in;
	return 0;
}

void inode_forget(struct fsd_nodes *t, uint64_t nodeid, uint64_t count)
{
	struct inode *in = inode_get(t, nodeid);

	if (!in || in == &t->inodes[0])
		return;
	in->nlookup = count >= in->nlookup ? 0 : in->nlookup - count;
	if (!in->nlookup)
		inode_release(t, (uint32_t)(in - t->inodes));
}

int handle_add(struct fsd_nodes *t, int fd, bool dir, uint64_t *fh)
{
	uint32_t idx = t->free_handle;
	struct handle *h;

	if (idx == NODES_NONE) {
		close(fd);
		return -ENFILE;
	}
	h = &t->handles[idx];
	t->free_handle = h->next_free;
	h->fd = fd;
	h->dir = dir;
	h->gen++;
	*fh = (uint64_t)h->gen << 32 | (idx + 1);
	return 0;
}

struct handle *handle_get(struct fsd_nodes *t, uint64_t fh, bool dir)
{
	uint32_t idx = (uint32_t)fh - 1;

	if ((uint32_t)fh == 0 || idx >= t->max_handles)
		return NULL;
	if (t->handles[idx].fd < 0 || t->handles[idx].gen != (uint32_t)(fh >> 32) ||
	    t->handles[idx].dir != dir)
		return NULL;
	return &t->handles[idx];
}

int handle_del(struct fsd_nodes *t, uint64_t fh, bool dir)
{
	struct handle *h = handle_get(t, fh, dir);

	if (!h)
		return -EBADF;
	handle_release(t, (uint32_t)(h - t->handles));
	return 0;
}
