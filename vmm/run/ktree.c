// SPDX-License-Identifier: GPL-2.0-only
/* A kernel build tree for `shmvm run --kernel DIR`: see ktree.h. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"
#include "vmm/run/ktree.h"

#define KTREE_NAME_MAX 64	   /* Linux's MODULE_NAME_LEN is 56 */
#define KTREE_DEPTH_MAX 32	   /* a chain of dependencies; Debian's longest is under 10 */
#define KTREE_TEXT_MAX (64 << 20)  /* modules.order, modules.builtin, .config */
#define KTREE_KO_MAX (1ULL << 30)  /* a .ko with all its debug info */
#define KTREE_VMLINUX_MAX (4ULL << 30)

/* ---- what shmvm run needs of the kernel: the one table ---- */

enum ktree_when {
	KC_ALWAYS,
	KC_DAX,    /* unless --no-dax */
	KC_SMP,    /* with --cpus above 1 */
	KC_LOADED, /* when the run loads this module (run.c's list) */
	KC_PRINT,  /* only printed: it lets merge_config.sh enable the others */
};

static const struct ktree_kconfig {
	const char *sym;    /* without "CONFIG_" */
	const char *module; /* may be =m, then this module must be in the tree; NULL: =y only */
	enum ktree_when when;
} ktree_kconfig[] = {
	/* The initramfs run.c builds, and the static init in it (guest-init.c). */
	{ "BLK_DEV_INITRD", NULL, KC_ALWAYS },
	{ "BINFMT_ELF", NULL, KC_ALWAYS },
	/*
	 * COM1 is the kernel's console (console=ttyS0, for the panic line),
	 * COM2 the frame channel the init opens before it loads any module.
	 */
	{ "TTY", NULL, KC_PRINT },
	{ "SERIAL_8250", NULL, KC_ALWAYS },
	{ "SERIAL_8250_CONSOLE", NULL, KC_ALWAYS },
	/* The init: devtmpfs at /dev first, then proc, sysfs, devpts, tmpfs; SIGCHLD on a signalfd. */
	{ "DEVTMPFS", NULL, KC_ALWAYS },
	{ "PROC_FS", NULL, KC_ALWAYS },
	{ "SYSFS", NULL, KC_ALWAYS },
	{ "UNIX98_PTYS", NULL, KC_ALWAYS },
	{ "TMPFS", NULL, KC_ALWAYS }, /* the overlay's upper layer, /dev/shm, /run */
	{ "SIGNALFD", NULL, KC_ALWAYS },
	/* The root: virtio-fs over shmvm's virtio-pci devices (MSI-X only), under an overlay. */
	{ "PCI", NULL, KC_PRINT },
	{ "PCI_MSI", NULL, KC_ALWAYS },
	{ "VIRTIO_MENU", NULL, KC_PRINT },
	{ "VIRTIO_PCI", "virtio_pci", KC_ALWAYS },
	{ "FUSE_FS", "fuse", KC_ALWAYS },
	{ "VIRTIO_FS", "virtiofs", KC_ALWAYS },
	{ "OVERLAY_FS", "overlay", KC_ALWAYS },
	{ "VIRTIO_CONSOLE", "virtio_console", KC_LOADED },
	/* The root's DAX window (dax=always). */
	{ "MEMORY_HOTPLUG", NULL, KC_PRINT },
	{ "MEMORY_HOTREMOVE", NULL, KC_PRINT },
	{ "ZONE_DEVICE", NULL, KC_PRINT },
	{ "DAX", "dax", KC_DAX },
	{ "FS_DAX", NULL, KC_DAX },
	{ "FUSE_DAX", NULL, KC_DAX },
	/* --cpus N */
	{ "SMP", NULL, KC_SMP },
};

/* ---- helpers ---- */

static int __printf(3, 4) refuse(struct ktree *t, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
	return rc;
}

/* A module name ('-' as '_') from [s, s + len); false if empty, too long or not [A-Za-z0-9_-]. */
static bool name_norm(const char *s, size_t len, char out[KTREE_NAME_MAX])
{
	if (!len || len >= KTREE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!(c == '_' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		      (c >= 'A' && c <= 'Z')))
			return false;
		out[i] = c == '-' ? '_' : c;
	}
	out[len] = '\0';
	return true;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

/* The module a path [p, p + len) names: its basename without ".ko" or ".o". */
static bool path_mod_name(const char *p, size_t len, char out[KTREE_NAME_MAX])
{
	const char *base = p;
	size_t blen;

	for (size_t i = 0; i < len; i++)
		if (p[i] == '/')
			base = p + i + 1;
	blen = len - (size_t)(base - p);
	if (ends_with(base, blen, ".ko"))
		return name_norm(base, blen - 3, out);
	if (ends_with(base, blen, ".o"))
		return name_norm(base, blen - 2, out);
	return false;
}

/* The next line of @text at *@p, without its newline, '\r' and trailing blanks; false at the end. */
static bool line_next(const char **p, const char **line, size_t *len)
{
	const char *s = *p, *eol;
	size_t n;

	if (!s || !*s)
		return false;
	eol = strchr(s, '\n');
	n = eol ? (size_t)(eol - s) : strlen(s);
	*p = eol ? eol + 1 : s + n;
	while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*line = s;
	*len = n;
	return true;
}

/* The first line of a module list (modules.order, modules.builtin) naming @name. */
static const char *list_find(const char *text, const char *name, size_t *len)
{
	const char *p = text, *l;
	char n[KTREE_NAME_MAX];

	while (line_next(&p, &l, len))
		if (*len && *l != '#' && path_mod_name(l, *len, n) && !strcmp(n, name))
			return l;
	return NULL;
}

/* Relative, and no ".." component: a path from the tree's lists stays in the tree. */
static bool path_inside(const char *p, size_t len)
{
	if (!len || p[0] == '/')
		return false;
	for (size_t i = 0; i < len;) {
		size_t c = 0;

		while (i + c < len && p[i + c] != '/')
			c++;
		if (c == 2 && p[i] == '.' && p[i + 1] == '.')
			return false;
		i += c + 1;
	}
	return true;
}

static bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* ---- ELF ---- */

/* The section headers of a little-endian ELF64: their offset, count and name table index. */
static int elf_sections(const uint8_t *b, size_t size, Elf64_Ehdr *eh, uint64_t *shnum,
			uint64_t *shstrndx, const char **why)
{
	Elf64_Shdr sh0;

	if (size < sizeof(*eh) || memcmp(b, ELFMAG, SELFMAG)) {
		*why = "not an ELF file";
		return -ENOEXEC;
	}
	memcpy(eh, b, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
		*why = "not a little-endian ELF64 file";
		return -ENOEXEC;
	}
	if (!eh->e_shoff || eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !range_ok(eh->e_shoff, sizeof(sh0), size)) {
		*why = "no section header table, or one outside the file";
		return -ENOEXEC;
	}
	/* Section 0 holds the count and the name table's index when they do not fit the header. */
	memcpy(&sh0, b + eh->e_shoff, sizeof(sh0));
	*shnum = eh->e_shnum ? eh->e_shnum : sh0.sh_size;
	*shstrndx = eh->e_shstrndx == SHN_XINDEX ? sh0.sh_link : eh->e_shstrndx;
	if (*shnum > (size - eh->e_shoff) / sizeof(Elf64_Shdr)) {
		*why = "section header table outside the file";
		return -ENOEXEC;
	}
	if (*shstrndx >= *shnum) {
		*why = "section name table index out of range";
		return -ENOEXEC;
	}
	return 0;
}

static void elf_shdr(const uint8_t *b, const Elf64_Ehdr *eh, uint64_t i, Elf64_Shdr *sh)
{
	memcpy(sh, b + eh->e_shoff + i * sizeof(*sh), sizeof(*sh));
}

static bool section_in_file(const Elf64_Shdr *sh, size_t size)
{
	return sh->sh_type != SHT_NOBITS && range_ok(sh->sh_offset, sh->sh_size, size);
}

static int modinfo_parse(const void *elf, size_t size, struct ktree_modinfo *mi, const char **why)
{
	static const char want[] = ".modinfo";
	const uint8_t *b = elf;
	const char *p, *end;
	Elf64_Ehdr eh;
	Elf64_Shdr strtab, sh, modinfo = { 0 };
	uint64_t shnum, shstrndx;
	bool found = false;
	int rc;

	*mi = (struct ktree_modinfo){ 0 };
	rc = elf_sections(b, size, &eh, &shnum, &shstrndx, why);
	if (rc)
		return rc;
	if (eh.e_type != ET_REL) {
		*why = "not a relocatable object (a .ko is one)";
		return -ENOEXEC;
	}
	elf_shdr(b, &eh, shstrndx, &strtab);
	if (!section_in_file(&strtab, size)) {
		*why = "section name table outside the file";
		return -ENOEXEC;
	}
	for (uint64_t i = 0; i < shnum; i++) {
		elf_shdr(b, &eh, i, &sh);
		/* The name, with its NUL, inside the name table. */
		if (sh.sh_name >= strtab.sh_size || strtab.sh_size - sh.sh_name < sizeof(want) ||
		    memcmp(b + strtab.sh_offset + sh.sh_name, want, sizeof(want)))
			continue;
		if (found) {
			*why = "two .modinfo sections";
			return -ENOEXEC;
		}
		found = true;
		modinfo = sh;
	}
	if (!found) {
		*why = "no .modinfo section (not a kernel module?)";
		return -ENOEXEC;
	}
	if (!section_in_file(&modinfo, size)) {
		*why = ".modinfo section outside the file";
		return -ENOEXEC;
	}
	/* "key=value" strings, each ended by a NUL (the last may not be), with NUL padding between. */
	p = (const char *)b + modinfo.sh_offset;
	end = p + modinfo.sh_size;
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);

		if (len > 5 && !memcmp(p, "name=", 5)) {
			if (mi->name) {
				*why = "two name= entries in .modinfo";
				return -ENOEXEC;
			}
			mi->name = p + 5;
			mi->name_len = len - 5;
		} else if (len >= 8 && !memcmp(p, "depends=", 8)) {
			if (mi->depends) {
				*why = "two depends= entries in .modinfo";
				return -ENOEXEC;
			}
			mi->depends = p + 8;
			mi->depends_len = len - 8;
		}
		p += len + 1;
	}
	if (!mi->depends) {
		*why = "no depends= entry in .modinfo (not built by the kernel's modpost?)";
		return -ENOEXEC;
	}
	return 0;
}

int ktree_modinfo_parse(const void *elf, size_t size, struct ktree_modinfo *mi, const char **why)
{
	int rc = modinfo_parse(elf, size, mi, why);

	if (rc)
		*mi = (struct ktree_modinfo){ 0 }; /* nothing half-parsed */
	return rc;
}

bool ktree_elf_has_pvh_note(const void *elf, size_t size)
{
	const uint8_t *b = elf;
	Elf64_Ehdr eh;

	if (size < sizeof(eh) || memcmp(b, ELFMAG, SELFMAG))
		return false;
	memcpy(&eh, b, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    !range_ok(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), size))
		return false;
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t off, end;

		memcpy(&ph, b + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE || !range_ok(ph.p_offset, ph.p_filesz, size))
			continue;
		/* Notes in vmlinux are 4-byte aligned, ELF64 or not. */
		for (off = ph.p_offset, end = ph.p_offset + ph.p_filesz; end - off >= sizeof(Elf64_Nhdr);) {
			Elf64_Nhdr nh;
			uint64_t name, desc;

			memcpy(&nh, b + off, sizeof(nh));
			name = off + sizeof(nh);
			desc = name + ALIGN_UP((uint64_t)nh.n_namesz, 4ULL);
			if (desc > end || ALIGN_UP((uint64_t)nh.n_descsz, 4ULL) > end - desc)
				break;
			if (nh.n_type == 18 /* XEN_ELFNOTE_PHYS32_ENTRY */ && nh.n_namesz == 4 &&
			    !memcmp(b + name, "Xen", 4) && nh.n_descsz >= 4)
				return true;
			off = desc + ALIGN_UP((uint64_t)nh.n_descsz, 4ULL);
		}
	}
	return false;
}

/* ---- the tree's text files ---- */

int ktree_order_find(const char *order, const char *name, char *path, size_t size)
{
	char want[KTREE_NAME_MAX];
	const char *l;
	size_t len, n;

	if (!order || !name_norm(name, strlen(name), want))
		return -ENOENT;
	l = list_find(order, want, &len);
	if (!l)
		return -ENOENT;
	if (!path_inside(l, len))
		return -EINVAL;
	n = ends_with(l, len, ".ko") ? len - 3 : len - 2; /* the stem: "x.o" becomes "x.ko" */
	if (n + 4 > size)
		return -ENAMETOOLONG;
	memcpy(path, l, n);
	memcpy(path + n, ".ko", 4);
	return 0;
}

int ktree_config_value(const char *config, const char *sym)
{
	size_t sl = strlen(sym), len;
	const char *p = config, *l;
	int v = 0;

	/* The last assignment wins, as in a fragment merged onto a config. */
	while (config && line_next(&p, &l, &len)) {
		if (len > 7 + sl && !memcmp(l, "CONFIG_", 7) && !memcmp(l + 7, sym, sl) &&
		    l[7 + sl] == '=') {
			const char *val = l + 8 + sl;
			size_t vl = len - 8 - sl;

			v = vl == 1 && (*val == 'y' || *val == 'm') ? *val : '?';
		} else if (len == 9 + sl + 11 && !memcmp(l, "# CONFIG_", 9) &&
			   !memcmp(l + 9, sym, sl) && !memcmp(l + 9 + sl, " is not set", 11)) {
			v = 0;
		}
	}
	return v;
}

/* A regular, non-empty file of at most @max bytes, mapped read-only. */
static int map_file(const char *path, uint64_t max, void **p, size_t *size)
{
	struct stat st;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto out;
	}
	if (!st.st_size || (uint64_t)st.st_size > max) {
		rc = st.st_size ? -EFBIG : -ENODATA;
		goto out;
	}
	*p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*p == MAP_FAILED) {
		rc = -errno;
		goto out;
	}
	*size = (size_t)st.st_size;
out:
	close(fd);
	return rc;
}

static bool is_file(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* ---- the tree ---- */

bool ktree_is_tree(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int find_image(struct ktree *t, const char *given)
{
	char path[PATH_MAX + 32];
	size_t size;
	void *p;
	bool pvh;
	int rc;

	snprintf(path, sizeof(path), "%s/arch/x86/boot/bzImage", t->dir);
	if (is_file(path))
		goto found;
	snprintf(path, sizeof(path), "%s/vmlinux", t->dir);
	if (is_file(path)) {
		rc = map_file(path, KTREE_VMLINUX_MAX, &p, &size);
		if (rc)
			return refuse(t, rc, "%s: %s", path, strerror(-rc));
		pvh = ktree_elf_has_pvh_note(p, size);
		munmap(p, size);
		if (pvh)
			goto found;
		return refuse(t, -ENOEXEC,
			      "--kernel %s: vmlinux has no PVH entry note and there is no "
			      "arch/x86/boot/bzImage (make bzImage, or build with CONFIG_PVH=y)",
			      given);
	}
	snprintf(path, sizeof(path), "%s/Makefile", t->dir);
	if (is_file(path)) {
		snprintf(path, sizeof(path), "%s/Kconfig", t->dir);
		if (is_file(path))
			return refuse(t, -ENOENT,
				      "--kernel %s: a kernel source tree, but not built: no "
				      "arch/x86/boot/bzImage, no vmlinux (make bzImage modules?)",
				      given);
	}
	return refuse(t, -ENOENT,
		      "--kernel %s: not a kernel build tree (no arch/x86/boot/bzImage, no vmlinux)",
		      given);
found:
	if (strlen(path) >= sizeof(t->image))
		return refuse(t, -ENAMETOOLONG, "--kernel %s: path too long", given);
	memcpy(t->image, path, strlen(path) + 1);
	return 0;
}

/* Read @name of the tree into *@out; a missing file is NULL when @optional. */
static int tree_text(struct ktree *t, const char *name, bool optional, char **out)
{
	char path[PATH_MAX + 32];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	rc = file_read_text(path, KTREE_TEXT_MAX, out, NULL);
	if (rc == -ENOENT && optional)
		return 0;
	if (rc)
		return refuse(t, rc, "cannot read %s: %s", path, strerror(-rc));
	return 0;
}

static void ktree_free(struct ktree *t)
{
	free(t->order);
	free(t->builtin);
	free(t->config);
	t->order = t->builtin = t->config = NULL;
}

int ktree_open(struct ktree *t, const char *dir)
{
	struct stat st;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!realpath(dir, t->dir))
		return refuse(t, -errno, "--kernel %s: %s", dir, strerror(errno));
	if (stat(t->dir, &st) || !S_ISDIR(st.st_mode))
		return refuse(t, -ENOTDIR, "--kernel %s: not a directory", dir);
	rc = find_image(t, dir);
	if (rc)
		return rc;
	rc = tree_text(t, ".config", true, &t->config);
	if (rc)
		goto err_free;
	rc = tree_text(t, "modules.order", true, &t->order);
	if (rc)
		goto err_free;
	/* Without modules.order, the kernel must be one without modules, and say so. */
	if (!t->order && !(t->config && ktree_config_value(t->config, "MODULES") == 0)) {
		rc = refuse(t, -ENOENT, "cannot read %s/modules.order: %s (make modules?)", t->dir,
			    strerror(ENOENT));
		goto err_free;
	}
	rc = tree_text(t, "modules.builtin", true, &t->builtin);
	if (rc)
		goto err_free;
	return 0;
err_free:
	ktree_free(t);
	return rc;
}

void ktree_close(struct ktree *t)
{
	ktree_free(t);
	memset(t, 0, sizeof(*t));
}

void ktree_kconfig_print(FILE *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(ktree_kconfig); i++)
		fprintf(f, "CONFIG_%s=y\n", ktree_kconfig[i].sym);
}

/* The line of modules.order naming @name, as a path into @rel; -ENOENT if none, without t->why. */
static int mod_listed(struct ktree *t, const char *name, char rel[PATH_MAX])
{
	int rc = ktree_order_find(t->order, name, rel, PATH_MAX);

	if (rc && rc != -ENOENT)
		return refuse(t, rc, "%s/modules.order: the line of module %s is %s", t->dir, name,
			      rc == -EINVAL ? "not a path inside the tree" : "too long");
	return rc;
}

/*
 * The file of module @name, which modules.order lists as @rel: as the tree
 * has it, relative, in @rel. Old trees list "kernel/fs/..." for "fs/...".
 */
static int mod_file(struct ktree *t, const char *name, char rel[PATH_MAX])
{
	char path[2 * PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	if (is_file(path))
		return 0;
	if (!strncmp(rel, "kernel/", 7)) {
		snprintf(path, sizeof(path), "%s/%s", t->dir, rel + 7);
		if (is_file(path)) {
			memmove(rel, rel + 7, strlen(rel + 7) + 1);
			return 0;
		}
	}
	return refuse(t, -ENOENT, "module %s: %s/modules.order lists %s, but %s/%s is missing "
		      "(make modules?)", name, t->dir, rel, t->dir, rel);
}

int ktree_check_config(struct ktree *t, const struct ktree_need *need)
{
	char rel[PATH_MAX], mod[KTREE_NAME_MAX];

	if (!t->config)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(ktree_kconfig); i++) {
		const struct ktree_kconfig *k = &ktree_kconfig[i];
		bool needed = false;
		int v, rc;

		switch (k->when) {
		case KC_ALWAYS:
			needed = true;
			break;
		case KC_DAX:
			needed = need->dax;
			break;
		case KC_SMP:
			needed = need->cpus > 1;
			break;
		case KC_LOADED:
			for (unsigned int m = 0; m < need->nr_mods && !needed; m++)
				needed = name_norm(need->mods[m], strlen(need->mods[m]), mod) &&
					 !strcmp(mod, k->module);
			break;
		case KC_PRINT:
			break;
		}
		if (!needed)
			continue;
		v = ktree_config_value(t->config, k->sym);
		if (v == 'y')
			continue;
		if (!v)
			return refuse(t, -ENOENT, "CONFIG_%s is not set in %s/.config", k->sym, t->dir);
		if (v != 'm')
			return refuse(t, -EINVAL, "CONFIG_%s in %s/.config is neither y nor m", k->sym,
				      t->dir);
		if (!k->module)
			return refuse(t, -EINVAL, "CONFIG_%s=m in %s/.config: shmvm run needs it =y",
				      k->sym, t->dir);
		rc = mod_listed(t, k->module, rel);
		if (rc == -ENOENT)
			return refuse(t, rc, "CONFIG_%s=m in %s/.config, but %s/modules.order does "
				      "not list module %s (make modules?)",
				      k->sym, t->dir, t->dir, k->module);
		if (!rc)
			rc = mod_file(t, k->module, rel);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- resolution, as depmod would, from each module's .modinfo ---- */

struct resolve {
	struct ktree *t;
	struct mod_list *out;
	char stack[KTREE_DEPTH_MAX][KTREE_NAME_MAX]; /* the chain being resolved */
	unsigned int depth;
};

static bool resolved(const struct mod_list *l, const char *name)
{
	char n[KTREE_NAME_MAX];

	for (unsigned int i = 0; i < l->n; i++)
		if (path_mod_name(l->path[i], strlen(l->path[i]), n) && !strcmp(n, name))
			return true;
	return false;
}

/* .modinfo's depends= of @rel, a malloc'd copy, checked against its name. */
static int mod_depends(struct ktree *t, const char *name, const char *rel, char **deps)
{
	struct ktree_modinfo mi;
	char path[2 * PATH_MAX], n[KTREE_NAME_MAX];
	const char *why = NULL;
	size_t size;
	void *p;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", t->dir, rel);
	rc = map_file(path, KTREE_KO_MAX, &p, &size);
	if (rc)
		return refuse(t, rc, "module %s: %s", path, strerror(-rc));
	rc = ktree_modinfo_parse(p, size, &mi, &why);
	if (rc) {
		rc = refuse(t, rc, "module %s: %s", path, why);
		goto out;
	}
	if (mi.name && (!name_norm(mi.name, mi.name_len, n) || strcmp(n, name))) {
		rc = refuse(t, -ENOEXEC, "module %s: its .modinfo names another module (name=%.*s)",
			    path, (int)MIN(mi.name_len, (size_t)KTREE_NAME_MAX), mi.name);
		goto out;
	}
	*deps = strndup(mi.depends, mi.depends_len);
	if (!*deps)
		rc = -ENOMEM;
out:
	munmap(p, size);
	return rc;
}

static int visit(struct resolve *r, const char *name, const char *user)
{
	struct ktree *t = r->t;
	char rel[PATH_MAX], dep[KTREE_NAME_MAX], *deps = NULL;
	size_t len;
	int rc;

	if (resolved(r->out, name))
		return 0;
	for (unsigned int i = 0; i < r->depth; i++) {
		char chain[KTREE_DEPTH_MAX * (KTREE_NAME_MAX + 4)];
		size_t n = 0;

		if (strcmp(r->stack[i], name))
			continue;
		for (unsigned int j = i; j < r->depth; j++)
			n += (size_t)snprintf(chain + n, sizeof(chain) - n, "%s -> ", r->stack[j]);
		return refuse(t, -ELOOP, "modules of %s depend on each other: %s%s", t->dir, chain,
			      name);
	}
	if (r->depth == KTREE_DEPTH_MAX)
		return refuse(t, -ELOOP, "modules of %s: dependencies nested deeper than %d at %s",
			      t->dir, KTREE_DEPTH_MAX, name);
	rc = mod_listed(t, name, rel);
	if (rc == -ENOENT) {
		if (t->builtin && list_find(t->builtin, name, &len))
			return 0;
		if (user)
			return refuse(t, -ENOENT, "module %s/%s depends on %s, which %s/modules.order "
				      "does not list", t->dir, user, name, t->dir);
		return refuse(t, -ENOENT, "module %s is neither in %s/modules.order nor in "
			      "modules.builtin (is its CONFIG_ option set?)", name, t->dir);
	}
	if (!rc)
		rc = mod_file(t, name, rel);
	if (rc)
		return rc;
	rc = mod_depends(t, name, rel, &deps);
	if (rc)
		return rc;
	memcpy(r->stack[r->depth++], name, strlen(name) + 1);
	for (const char *p = deps; *p && !rc;) {
		size_t n = strcspn(p, ",");

		if (n && !name_norm(p, n, dep))
			rc = refuse(t, -ENOEXEC, "module %s/%s: a bad name in depends=%s", t->dir, rel,
				    deps);
		else if (n)
			rc = visit(r, dep, rel);
		p += n + (p[n] == ',');
	}
	r->depth--;
	free(deps);
	if (rc)
		return rc;
	if (r->out->n == MODS_MAX)
		return refuse(t, -E2BIG, "modules of %s: more than %d needed", t->dir, MODS_MAX);
	r->out->path[r->out->n] = strdup(rel);
	if (!r->out->path[r->out->n])
		return -ENOMEM;
	r->out->n++;
	return 0;
}

int ktree_mods_resolve(struct ktree *t, const char *const *names, unsigned int nr_names,
		       struct mod_list *out)
{
	struct resolve *r;
	char want[KTREE_NAME_MAX];
	int rc = 0;

	*out = (struct mod_list){ 0 };
	/* No modules.order: a kernel without modules (ktree_open made sure), all built in. */
	if (!t->order)
		return 0;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->t = t;
	r->out = out;
	for (unsigned int i = 0; i < nr_names && !rc; i++) {
		if (!name_norm(names[i], strlen(names[i]), want))
			rc = refuse(t, -EINVAL, "'%s' is not a module name", names[i]);
		else
			rc = visit(r, want, NULL);
	}
	free(r);
	if (rc)
		mods_free(out);
	return rc;
}
