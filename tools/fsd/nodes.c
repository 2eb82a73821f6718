// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "tools/fsd/nodes.h"

int nodes_init(struct fsd_nodes *n, uint32_t max_inodes, uint32_t max_handles, int root_fd,
	       const struct stat *root)
{
	n->max_inodes = max_inodes;
	n->max_handles = max_handles;
	n->inodes = calloc(max_inodes, sizeof(*n->inodes));
	n->handles = calloc(max_handles, sizeof(*n->handles));
	if (!n->inodes || !n->handles) {
		nodes_destroy(n);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < max_inodes; i++)
		n->inodes[i].fd = -1;
	for (uint32_t i = 0; i < max_handles; i++)
		n->handles[i].fd = -1;
	n->inodes[0] = (struct inode){ .fd = root_fd, .dev = root->st_dev, .ino = root->st_ino, .nlookup = 1 };
	return 0;
}

void nodes_reset(struct fsd_nodes *n)
{
	for (uint32_t i = 1; i < n->max_inodes; i++) {
		if (n->inodes[i].fd >= 0)
			close(n->inodes[i].fd);
		n->inodes[i].fd = -1;
	}
	for (uint32_t i = 0; i < n->max_handles; i++) {
		if (n->handles[i].fd >= 0)
			close(n->handles[i].fd);
		n->handles[i].fd = -1;
	}
}

void nodes_destroy(struct fsd_nodes *n)
{
	if (n->inodes && n->handles) {
		nodes_reset(n);
		if (n->inodes[0].fd >= 0)
			close(n->inodes[0].fd);
	}
	free(n->inodes);
	free(n->handles);
	n->inodes = NULL;
	n->handles = NULL;
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
	struct inode *free_slot = NULL;

	for (uint32_t i = 0; i < t->max_inodes; i++) {
		struct inode *in = &t->inodes[i];

		if (in->fd < 0) {
			if (!free_slot && i != 0)
				free_slot = in;
			continue;
		}
		if (in->dev == st->st_dev && in->ino == st->st_ino) {
			close(fd);
			in->nlookup++;
			*out = in;
			return 0;
		}
	}
	if (!free_slot) {
		close(fd);
		return -ENFILE;
	}
	free_slot->fd = fd;
	free_slot->dev = st->st_dev;
	free_slot->ino = st->st_ino;
	free_slot->nlookup = 1;
	free_slot->gen++;
	*out = free_slot;
	return 0;
}

void inode_forget(struct fsd_nodes *t, uint64_t nodeid, uint64_t count)
{
	struct inode *in = inode_get(t, nodeid);

	if (!in || in == &t->inodes[0])
		return;
	in->nlookup = count >= in->nlookup ? 0 : in->nlookup - count;
	if (!in->nlookup) {
		close(in->fd);
		in->fd = -1;
	}
}

int handle_add(struct fsd_nodes *t, int fd, bool dir, uint64_t *fh)
{
	for (uint32_t i = 0; i < t->max_handles; i++) {
		struct handle *h = &t->handles[i];

		if (h->fd >= 0)
			continue;
		h->fd = fd;
		h->dir = dir;
		h->gen++;
		*fh = (uint64_t)h->gen << 32 | (i + 1);
		return 0;
	}
	close(fd);
	return -ENFILE;
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

