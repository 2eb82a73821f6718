/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Building `shmvm run`'s initramfs in memory: an uncompressed cpio (newc)
 * archive, and the kernel modules it must carry, found through a module
 * tree's modules.dep with their dependencies first.
 */
#ifndef SHMVM_VMM_INITRAMFS_H
#define SHMVM_VMM_INITRAMFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/compiler.h"

/* A growing newc archive. Zero-initialise, add entries, finish, free. */
struct cpio {
	uint8_t *buf;
	size_t len, cap;
	uint32_t next_ino;
};

/* An entry: @mode is the full st_mode (S_IFDIR | 0755, S_IFREG | 0644...). */
int cpio_add(struct cpio *c, const char *name, mode_t mode, const void *data, size_t size) __must_check;
/* A character device node (major, minor). */
int cpio_add_chardev(struct cpio *c, const char *name, mode_t perm, unsigned int major,
		     unsigned int minor) __must_check;
/* The trailer; the archive is complete in c->buf[0..c->len). */
int cpio_finish(struct cpio *c) __must_check;
void cpio_free(struct cpio *c);

#define MODS_MAX 64

/* Module files in load order, paths relative to the tree. */
struct mod_list {
	unsigned int n;
	char *path[MODS_MAX];
};

/*
 * Resolve the modules @names (as modprobe names them: '-' and '_' alike)
 * in @modules_dep (the text of a modules.dep) into @out, dependencies first,
 * each once. A name absent from modules.dep but listed in @builtin (the text
 * of modules.builtin, may be NULL) is skipped; absent from both is -ENOENT,
 * with its name in *@missing.
 */
int mods_resolve(const char *modules_dep, const char *builtin, const char *const *names,
		 unsigned int nr_names, struct mod_list *out, const char **missing) __must_check;
void mods_free(struct mod_list *l);

#endif
