/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A kernel build tree as `shmvm run --kernel DIR` takes it (~/src/linux
 * after `make`): the image the build left, the modules it built, and the
 * options its .config sets. Nothing is installed and nothing is written
 * into the tree.
 *
 * The image is arch/x86/boot/bzImage, else a vmlinux with a PVH entry note
 * (vmm/boot.c boots both; bzImage is preferred). The modules are where the
 * build left them: modules.order lists them (paths relative to the tree,
 * "fs/fuse/fuse.ko" up to Linux 6.2, "fs/fuse/fuse.o" since, "kernel/..."
 * in old trees), modules.builtin the ones built in. There is no
 * modules.dep, so dependencies are resolved as depmod would from each
 * module's own ELF .modinfo section: "name=" and "depends=a,b", module
 * names mapped to files through modules.order ('-' and '_' alike), loaded
 * dependencies first.
 *
 * Every file of the tree is untrusted input: the ELF parser checks every
 * offset and size against the file, paths may not leave the tree, and a
 * refusal is -errno with one line in ktree.why naming the file. Not
 * thread-safe (the caller's struct ktree), no globals.
 *
 * What shmvm run needs from the kernel is one table in ktree.c; the
 * .config check and `--print-kconfig` both read it.
 */
#ifndef SHMVM_VMM_RUN_KTREE_H
#define SHMVM_VMM_RUN_KTREE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/compiler.h"
#include "vmm/run/initramfs.h"

#define KTREE_WHY_MAX (2 * PATH_MAX + 256)

struct ktree {
	char dir[PATH_MAX];   /* resolved */
	char image[PATH_MAX]; /* the image to boot */
	char *order;          /* modules.order; NULL: the kernel has no modules */
	char *builtin;        /* modules.builtin; NULL: none */
	char *config;         /* .config; NULL: none, nothing to check */
	char why[KTREE_WHY_MAX]; /* the last refusal, one line without "shmvm run: " */
};

/* What this run needs of the kernel, for the .config check. */
struct ktree_need {
	bool dax;
	unsigned int cpus;
	const char *const *mods; /* the modules the run loads (run.c's list) */
	unsigned int nr_mods;
};

/* A module's .modinfo, as pointers into the file it was parsed from. */
struct ktree_modinfo {
	const char *name; /* NULL: no "name=" (kernels before 5.4 have none) */
	size_t name_len;
	const char *depends; /* never NULL after a successful parse; may be empty */
	size_t depends_len;
};

/* @path names a directory: --kernel means a build tree, not an image. */
bool ktree_is_tree(const char *path);

/*
 * @t is anything (it is overwritten); @dir is the tree. Finds the image,
 * reads modules.order, modules.builtin and .config. -ENOENT (not a built
 * tree, no image, no modules.order), -ENOEXEC (vmlinux without PVH note),
 * or another -errno, each with t->why; on failure nothing is held.
 */
int ktree_open(struct ktree *t, const char *dir) __must_check;

/*
 * @t is open. Every option of the table that @need asks for is =y, or =m
 * with its module in the tree; 0 when the tree has no .config. -ENOENT
 * with t->why ("CONFIG_X is not set in DIR/.config") otherwise.
 */
int ktree_check_config(struct ktree *t, const struct ktree_need *need) __must_check;

/*
 * @t is open. The modules @names (as modprobe names them) and what they
 * depend on, into @out in load order: paths relative to t->dir, each a
 * ".ko" file that exists. Built-ins are skipped. -ENOENT (a module the
 * tree neither builds nor builds in), -ENOEXEC (a malformed .ko), -ELOOP
 * (a dependency cycle), -E2BIG (more than MODS_MAX), each with t->why;
 * on failure @out is empty.
 */
int ktree_mods_resolve(struct ktree *t, const char *const *names, unsigned int nr_names,
		       struct mod_list *out) __must_check;

/* @t is open or zeroed; it is zeroed after. */
void ktree_close(struct ktree *t);

/* The table as a fragment for scripts/kconfig/merge_config.sh: "CONFIG_X=y" lines. */
void ktree_kconfig_print(FILE *f);

/* ---- the parsers underneath, pure, for the tests and the fuzzer ---- */

/*
 * @elf[0..@size) is a whole .ko file. Fills @mi from its .modinfo section.
 * -ENOEXEC with a static reason in *@why when the file is not a
 * little-endian ELF64 relocatable object, a header or the section lies
 * outside the file, there is no .modinfo or no "depends=", or an entry is
 * given twice; @mi is then zeroed.
 */
int ktree_modinfo_parse(const void *elf, size_t size, struct ktree_modinfo *mi,
			const char **why) __must_check;

/*
 * @elf[0..@size) is a whole file. True when it is an ELF64 with Xen's
 * PHYS32_ENTRY note in a PT_NOTE segment (a vmlinux built with CONFIG_PVH).
 */
bool ktree_elf_has_pvh_note(const void *elf, size_t size);

/*
 * @order is modules.order's text. The path of module @name ('-' and '_'
 * alike) as the tree has it, with ".o" made ".ko", into @path. -ENOENT if
 * no line names it, -EINVAL if that line's path is absolute or has a ".."
 * component, -ENAMETOOLONG if @size is too small.
 */
int ktree_order_find(const char *order, const char *name, char *path, size_t size) __must_check;

/*
 * @config is a .config's text, @sym a symbol without "CONFIG_". Its value:
 * 'y', 'm', 0 when it is not set (or absent), '?' for any other value.
 */
int ktree_config_value(const char *config, const char *sym);

#endif
