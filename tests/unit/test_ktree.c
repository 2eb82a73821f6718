// SPDX-License-Identifier: GPL-2.0-only
/*
 * `shmvm run --kernel DIR` (vmm/run/ktree.c): the .modinfo parser on tiny
 * ELF files built here and on Debian's real modules, modules.order,
 * dependency resolution in small trees made in a temporary directory and
 * in Debian's module tree laid out as a build tree (checked against
 * modules.dep and mods_resolve()), the .config check and --print-kconfig.
 * Debian's files come from the package tools/mkguest caches; without it
 * those tests say SKIPPED and pass.
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/compiler.h"
#include "vmm/run/initramfs.h"
#include "vmm/run/ktree.h"
#include "vmm/run/run.h"

#include "check_main.h"
#include "test_files.h"

/* ---- helpers: a temporary directory, files, ELF files, a PRNG ---- */

static void tmp_setup(void)
{
	tmpdir_make("ktree");
}

static void tmp_teardown(void)
{
	tmpdir_remove();
}

static int run_sh(const char *fmt, ...) __printf(1, 2);
static int run_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

/* Write @len bytes to @tmpdir/@rel, making its directories. */
static void put(const char *rel, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	ck_assert_int_eq(run_sh("mkdir -p \"$(dirname '%s')\"", path), 0);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void put_str(const char *rel, const char *s)
{
	put(rel, s, strlen(s));
}


static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64*: fixed seed, same stream on every run */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

struct sec {
	const char *name;
	uint32_t type;
	const void *data;
	size_t len;
};

/*
 * A little-endian ELF64 of @type: the header, the section name table, the
 * sections' data, then the section headers (null, .shstrtab, @s...).
 * Malloc'd, its size in *@size; the offsets of the headers in *@shoff.
 */
static uint8_t *elf_make(uint16_t type, const struct sec *s, unsigned int n, size_t *size,
			 size_t *shoff)
{
	char names[256] = "\0.shstrtab";
	size_t nlen = 11, off, data_off[8], name_off[8];
	Elf64_Ehdr eh = { .e_type = type, .e_machine = EM_X86_64, .e_version = EV_CURRENT };
	Elf64_Shdr sh;
	uint8_t *b;

	ck_assert_uint_le(n, 8);
	for (unsigned int i = 0; i < n; i++) {
		name_off[i] = nlen;
		memcpy(names + nlen, s[i].name, strlen(s[i].name) + 1);
		nlen += strlen(s[i].name) + 1;
	}
	off = sizeof(eh) + nlen;
	for (unsigned int i = 0; i < n; i++) {
		data_off[i] = off;
		off += s[i].len;
	}
	off = ALIGN_UP(off, (size_t)8);
	*shoff = off;
	*size = off + (n + 2) * sizeof(sh);
	b = calloc(1, *size);
	ck_assert_ptr_nonnull(b);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shoff = off;
	eh.e_shentsize = sizeof(sh);
	eh.e_shnum = (uint16_t)(n + 2);
	eh.e_shstrndx = 1;
	memcpy(b, &eh, sizeof(eh));
	memcpy(b + sizeof(eh), names, nlen);
	sh = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_STRTAB, .sh_offset = sizeof(eh),
			   .sh_size = nlen };
	memcpy(b + off + sizeof(sh), &sh, sizeof(sh));
	for (unsigned int i = 0; i < n; i++) {
		memcpy(b + data_off[i], s[i].data, s[i].len);
		sh = (Elf64_Shdr){ .sh_name = (uint32_t)name_off[i], .sh_type = s[i].type,
				   .sh_offset = data_off[i], .sh_size = s[i].len };
		memcpy(b + off + (i + 2) * sizeof(sh), &sh, sizeof(sh));
	}
	return b;
}

/* A .ko with a .text and a .modinfo of @len bytes at @mi. */
static uint8_t *ko_make(const char *mi, size_t len, size_t *size, size_t *shoff)
{
	const struct sec s[] = {
		{ ".text", SHT_PROGBITS, "\xc3", 1 },
		{ ".modinfo", SHT_PROGBITS, mi, len },
	};

	return elf_make(ET_REL, s, 2, size, shoff);
}

/* A module @name (NULL: no name=) needing @depends at @rel in the temporary tree. */
static void ko_put(const char *rel, const char *name, const char *depends)
{
	char mi[512];
	size_t len = 0, size, shoff;
	uint8_t *b;

	len += (size_t)snprintf(mi + len, sizeof(mi) - len, "license=GPL") + 1;
	if (name)
		len += (size_t)snprintf(mi + len, sizeof(mi) - len, "name=%s", name) + 1;
	len += (size_t)snprintf(mi + len, sizeof(mi) - len, "depends=%s", depends) + 1;
	len += (size_t)snprintf(mi + len, sizeof(mi) - len, "vermagic=6.1.0 SMP mod_unload") + 1;
	b = ko_make(mi, len, &size, &shoff);
	put(rel, b, size);
	free(b);
}

/* A tree in @tmpdir: an image and @order as modules.order. */
static void tree_put(const char *order)
{
	put_str("arch/x86/boot/bzImage", "not really a kernel");
	if (order)
		put_str("modules.order", order);
}

/* The .config that sets every option of the table: --print-kconfig's output. */
static char *all_y_config(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	ktree_kconfig_print(f);
	ck_assert_int_eq(fclose(f), 0);
	return buf;
}

/* @config without the line of CONFIG_@sym, with @repl instead (NULL: none). */
static char *config_edit(const char *config, const char *sym, const char *repl)
{
	char key[64], *out = malloc(strlen(config) + 128), *o = out;
	const char *p = config;

	ck_assert_ptr_nonnull(out);
	snprintf(key, sizeof(key), "CONFIG_%s=", sym);
	while (*p) {
		size_t n = strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');

		if (!strncmp(p, key, strlen(key))) {
			if (repl)
				o += sprintf(o, "%s\n", repl);
		} else {
			memcpy(o, p, n);
			o += n;
		}
		p += n;
	}
	*o = '\0';
	return out;
}

static int index_of(const struct mod_list *l, const char *base)
{
	for (unsigned int i = 0; i < l->n; i++) {
		const char *b = strrchr(l->path[i], '/');

		if (!strcmp(b ? b + 1 : l->path[i], base))
			return (int)i;
	}
	return -1;
}

/* Debian's installed module tree tools/mkguest caches, or NULL (then SKIPPED is printed). */
static char *debian_tree(const char *test)
{
	char pattern[512], *tree = NULL;
	const char *home = getenv("HOME");
	glob_t g;

	snprintf(pattern, sizeof(pattern), "%s/.cache/shmvm/linux-image-*/lib/modules/*",
		 home ? home : "/root");
	if (!glob(pattern, GLOB_ONLYDIR, NULL, &g) && g.gl_pathc)
		tree = strdup(g.gl_pathv[g.gl_pathc - 1]);
	else
		printf("test_ktree: %s SKIPPED: no %s (tools/mkguest fetches it)\n", test, pattern);
	globfree(&g);
	return tree;
}

/* ---- .modinfo ---- */

static const char good_mi[] = "alias=fs-virtiofs\0license=GPL\0depends=fuse,virtio,virtio_ring\0"
			      "retpoline=Y\0intree=Y\0name=virtiofs\0vermagic=6.1.0-57-amd64 SMP";

START_TEST(modinfo_fields)
{
	struct ktree_modinfo mi;
	const char *why = NULL;
	size_t size, shoff;
	uint8_t *b = ko_make(good_mi, sizeof(good_mi), &size, &shoff);

	ck_assert_int_eq(ktree_modinfo_parse(b, size, &mi, &why), 0);
	ck_assert_uint_eq(mi.name_len, 8);
	ck_assert_int_eq(memcmp(mi.name, "virtiofs", 8), 0);
	ck_assert_uint_eq(mi.depends_len, strlen("fuse,virtio,virtio_ring"));
	ck_assert_int_eq(memcmp(mi.depends, "fuse,virtio,virtio_ring", mi.depends_len), 0);
	free(b);

	/* no name= (before Linux 5.4), an empty depends=, no NUL after the last entry */
	b = ko_make("license=GPL\0\0\0depends=", 22, &size, &shoff);
	ck_assert_int_eq(ktree_modinfo_parse(b, size, &mi, &why), 0);
	ck_assert_ptr_null(mi.name);
	ck_assert_ptr_nonnull(mi.depends);
	ck_assert_uint_eq(mi.depends_len, 0);
	free(b);
}
END_TEST

/* @b with the bytes at @off replaced by @len bytes of @v: refused, with a reason. */
static void refused(const uint8_t *b, size_t size, size_t off, const void *v, size_t len,
		    const char *want)
{
	uint8_t *c = malloc(size);
	struct ktree_modinfo mi;
	const char *why = NULL;

	ck_assert_ptr_nonnull(c);
	memcpy(c, b, size);
	if (v)
		memcpy(c + off, v, len);
	ck_assert_int_eq(ktree_modinfo_parse(c, size, &mi, &why), -ENOEXEC);
	ck_assert_ptr_nonnull(why);
	ck_assert(!mi.name && !mi.depends); /* nothing half-parsed */
	ck_assert_msg(strstr(why, want), "reason '%s', not '%s'", why, want);
	free(c);
}

START_TEST(modinfo_refusals)
{
	size_t size, shoff, sh_modinfo, sh_str;
	uint8_t *b = ko_make(good_mi, sizeof(good_mi), &size, &shoff);
	uint64_t big = 1ULL << 40;
	uint16_t u16;
	uint32_t u32;
	const uint8_t two = 2, one = 1;

	sh_str = shoff + 1 * sizeof(Elf64_Shdr);
	sh_modinfo = shoff + 3 * sizeof(Elf64_Shdr);
	refused(b, size, 0, "\x7f" "ELG", 4, "not an ELF file");
	refused(b, size, EI_CLASS, &one, 1, "ELF64");		   /* ELFCLASS32 */
	refused(b, size, EI_DATA, &two, 1, "little-endian");	   /* ELFDATA2MSB */
	u16 = ET_EXEC;
	refused(b, size, offsetof(Elf64_Ehdr, e_type), &u16, 2, "relocatable");
	refused(b, size, offsetof(Elf64_Ehdr, e_shoff), &big, 8, "section header table");
	refused(b, size, offsetof(Elf64_Ehdr, e_shoff), &(uint64_t){ 0 }, 8, "section header table");
	u16 = 40;
	refused(b, size, offsetof(Elf64_Ehdr, e_shentsize), &u16, 2, "section header table");
	u16 = 500;
	refused(b, size, offsetof(Elf64_Ehdr, e_shnum), &u16, 2, "outside the file");
	u16 = 4;
	refused(b, size, offsetof(Elf64_Ehdr, e_shstrndx), &u16, 2, "index out of range");
	refused(b, size, sh_str + offsetof(Elf64_Shdr, sh_offset), &big, 8, "name table");
	refused(b, size, sh_str + offsetof(Elf64_Shdr, sh_size), &big, 8, "name table");
	u32 = SHT_NOBITS;
	refused(b, size, sh_str + offsetof(Elf64_Shdr, sh_type), &u32, 4, "name table");
	refused(b, size, sh_modinfo + offsetof(Elf64_Shdr, sh_offset), &big, 8, ".modinfo section outside");
	big = size; /* one byte too many, from offset 1 */
	refused(b, size, sh_modinfo + offsetof(Elf64_Shdr, sh_size), &big, 8, ".modinfo section outside");
	refused(b, size, sh_modinfo + offsetof(Elf64_Shdr, sh_type), &u32, 4, ".modinfo section outside");
	/* .modinfo's name pointing at ".text": no .modinfo; at ".modinfo" twice: two */
	u32 = 11;
	refused(b, size, sh_modinfo + offsetof(Elf64_Shdr, sh_name), &u32, 4, "no .modinfo");
	u32 = 1000;
	refused(b, size, sh_modinfo + offsetof(Elf64_Shdr, sh_name), &u32, 4, "no .modinfo");
	memcpy(&u32, b + sh_modinfo + offsetof(Elf64_Shdr, sh_name), 4);
	refused(b, size, shoff + 2 * sizeof(Elf64_Shdr) + offsetof(Elf64_Shdr, sh_name), &u32, 4,
		"two .modinfo");
	free(b);

	b = ko_make("license=GPL\0name=x", 19, &size, &shoff);
	refused(b, size, 0, NULL, 0, "no depends=");
	free(b);
	b = ko_make("depends=\0name=x\0depends=a", 26, &size, &shoff);
	refused(b, size, 0, NULL, 0, "two depends=");
	free(b);
	b = ko_make("depends=\0name=x\0name=y", 23, &size, &shoff);
	refused(b, size, 0, NULL, 0, "two name=");
	free(b);
	/* too short for a header */
	refused((const uint8_t *)"\x7f" "ELF", 4, 0, NULL, 0, "not an ELF file");
}
END_TEST

START_TEST(modinfo_extended_numbering)
{
	/* e_shnum 0 and e_shstrndx SHN_XINDEX: section 0 holds both */
	size_t size, shoff;
	uint8_t *b = ko_make(good_mi, sizeof(good_mi), &size, &shoff);
	uint16_t zero = 0, xindex = SHN_XINDEX;
	uint64_t n = 4;
	uint32_t one = 1;
	struct ktree_modinfo mi;
	const char *why = NULL;

	memcpy(b + offsetof(Elf64_Ehdr, e_shnum), &zero, 2);
	memcpy(b + offsetof(Elf64_Ehdr, e_shstrndx), &xindex, 2);
	memcpy(b + shoff + offsetof(Elf64_Shdr, sh_size), &n, 8);
	memcpy(b + shoff + offsetof(Elf64_Shdr, sh_link), &one, 4);
	ck_assert_int_eq(ktree_modinfo_parse(b, size, &mi, &why), 0);
	ck_assert_int_eq(memcmp(mi.name, "virtiofs", 8), 0);
	/* a count beyond the file through section 0 */
	n = 1ULL << 60;
	memcpy(b + shoff + offsetof(Elf64_Shdr, sh_size), &n, 8);
	ck_assert_int_eq(ktree_modinfo_parse(b, size, &mi, &why), -ENOEXEC);
	free(b);
}
END_TEST

/* Every truncation and many corruptions of a good file: refused or parsed inside the buffer. */
START_TEST(modinfo_truncated_and_corrupt)
{
	size_t size, shoff;
	uint8_t *b = ko_make(good_mi, sizeof(good_mi), &size, &shoff);

	for (size_t n = 0; n < size; n++) {
		uint8_t *c = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
		struct ktree_modinfo mi;
		const char *why = NULL;
		int rc;

		ck_assert_ptr_nonnull(c);
		memcpy(c, b, n);
		rc = ktree_modinfo_parse(c, n, &mi, &why);
		ck_assert_msg(rc == -ENOEXEC && why, "%zu of %zu bytes: %d", n, size, rc);
		free(c);
	}
	rng_state = 0x6b747265;
	for (unsigned int i = 0; i < 20000; i++) {
		uint8_t *c = malloc(size);
		struct ktree_modinfo mi;
		const char *why = NULL;
		int rc;

		ck_assert_ptr_nonnull(c);
		memcpy(c, b, size);
		for (unsigned int k = 0, nk = 1 + rng() % 4; k < nk; k++)
			c[rng() % size] = (uint8_t)rng();
		rc = ktree_modinfo_parse(c, size, &mi, &why);
		ck_assert(rc == 0 || (rc == -ENOEXEC && why));
		if (!rc) {
			ck_assert(mi.depends >= (char *)c && mi.depends + mi.depends_len <= (char *)c + size);
			ck_assert(!mi.name ||
				  (mi.name >= (char *)c && mi.name + mi.name_len <= (char *)c + size));
		}
		free(c);
	}
	free(b);
}
END_TEST

START_TEST(modinfo_debian_modules)
{
	static const struct {
		const char *rel, *name, *dep;
	} m[] = {
		{ "kernel/fs/fuse/virtiofs.ko", "virtiofs", "fuse" },
		{ "kernel/fs/overlayfs/overlay.ko", "overlay", NULL },
		{ "kernel/drivers/virtio/virtio_pci.ko", "virtio_pci", "virtio_pci_modern_dev" },
	};
	char *tree = debian_tree("modinfo_debian_modules"), path[1024];

	if (!tree)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
		struct ktree_modinfo mi;
		const char *why = NULL;
		size_t size;
		char *b, *deps;

		snprintf(path, sizeof(path), "%s/%s", tree, m[i].rel);
		b = slurp(path, &size);
		ck_assert_msg(b, "cannot read %s", path);
		ck_assert_msg(ktree_modinfo_parse(b, size, &mi, &why) == 0, "%s: %s", path, why);
		ck_assert_uint_eq(mi.name_len, strlen(m[i].name));
		ck_assert_int_eq(memcmp(mi.name, m[i].name, mi.name_len), 0);
		deps = strndup(mi.depends, mi.depends_len);
		printf("test_ktree: %s: name=%s depends=%s\n", m[i].rel, m[i].name, deps);
		if (m[i].dep)
			ck_assert_msg(strstr(deps, m[i].dep), "%s: depends=%s", path, deps);
		/* vmlinux is not a module; a module has no PVH note */
		ck_assert(!ktree_elf_has_pvh_note(b, size));
		free(deps);
		free(b);
	}
	free(tree);
}
END_TEST

/* ---- the PVH note of a vmlinux ---- */

/* An ELF64 executable with one PT_NOTE of a note named @name, of @type, with 4 bytes of desc. */
static uint8_t *pvh_make(const char *name, uint32_t type, size_t *size)
{
	Elf64_Ehdr eh = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT };
	Elf64_Phdr ph = { .p_type = PT_NOTE };
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = 4, .n_type = type };
	uint8_t *b;

	*size = sizeof(eh) + sizeof(ph) + sizeof(nh) + 8;
	b = calloc(1, *size);
	ck_assert_ptr_nonnull(b);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = 1;
	ph.p_offset = sizeof(eh) + sizeof(ph);
	ph.p_filesz = sizeof(nh) + 8;
	memcpy(b, &eh, sizeof(eh));
	memcpy(b + sizeof(eh), &ph, sizeof(ph));
	memcpy(b + ph.p_offset, &nh, sizeof(nh));
	memcpy(b + ph.p_offset + sizeof(nh), name, 4);
	memcpy(b + ph.p_offset + sizeof(nh) + 4, "\0\0\0\1", 4);
	return b;
}

START_TEST(pvh_note)
{
	size_t size;
	uint8_t *b = pvh_make("Xen", 18, &size);
	const char *home = getenv("HOME");
	char pattern[512];
	glob_t g;

	ck_assert(ktree_elf_has_pvh_note(b, size));
	for (size_t n = 0; n < size; n++)
		ck_assert_msg(!ktree_elf_has_pvh_note(b, n), "truncated to %zu", n);
	free(b);
	b = pvh_make("Xen", 17, &size);
	ck_assert(!ktree_elf_has_pvh_note(b, size));
	free(b);
	b = pvh_make("GNU", 18, &size);
	ck_assert(!ktree_elf_has_pvh_note(b, size));
	free(b);
	/* Debian's vmlinux has one */
	snprintf(pattern, sizeof(pattern), "%s/.cache/shmvm/linux-image-*/vmlinux", home ? home : "/root");
	if (!glob(pattern, 0, NULL, &g) && g.gl_pathc) {
		char *v = slurp(g.gl_pathv[0], &size);

		ck_assert_ptr_nonnull(v);
		ck_assert_msg(ktree_elf_has_pvh_note(v, size), "%s: no PVH note found", g.gl_pathv[0]);
		free(v);
	} else {
		printf("test_ktree: pvh_note on Debian's vmlinux SKIPPED: no %s\n", pattern);
	}
	globfree(&g);
}
END_TEST

/* ---- modules.order ---- */

START_TEST(order_find)
{
	static const char order[] =
		"# a comment\n"
		"\n"
		"fs/fuse/fuse.ko\r\n"
		"fs/fuse/virtiofs.ko  \n"
		"drivers/virtio/virtio-pci.ko\n"
		"arch/x86/events/intel/intel-uncore.o\n"
		"kernel/fs/overlayfs/overlay.ko\n"
		"/abs/olute.ko\n"
		"drivers/../../etc/escape.ko\n"
		"drivers/..x/fine.ko\n"
		"no_suffix\n"
		"fs/ext4/ext4.ko.xz\n"
		"fs/last.o";
	char path[64];

	ck_assert_int_eq(ktree_order_find(order, "fuse", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "fs/fuse/fuse.ko");
	ck_assert_int_eq(ktree_order_find(order, "virtiofs", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "fs/fuse/virtiofs.ko");
	/* '-' and '_' alike, either way */
	ck_assert_int_eq(ktree_order_find(order, "virtio_pci", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "drivers/virtio/virtio-pci.ko");
	ck_assert_int_eq(ktree_order_find(order, "intel_uncore", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "arch/x86/events/intel/intel-uncore.ko");
	ck_assert_int_eq(ktree_order_find(order, "intel-uncore", path, sizeof(path)), 0);
	ck_assert_int_eq(ktree_order_find(order, "overlay", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "kernel/fs/overlayfs/overlay.ko");
	ck_assert_int_eq(ktree_order_find(order, "last", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "fs/last.ko");
	ck_assert_int_eq(ktree_order_find(order, "fine", path, sizeof(path)), 0);
	/* outside the tree */
	ck_assert_int_eq(ktree_order_find(order, "olute", path, sizeof(path)), -EINVAL);
	ck_assert_int_eq(ktree_order_find(order, "escape", path, sizeof(path)), -EINVAL);
	/* no such module: not a prefix, not a suffix, not compressed, not a bad name */
	ck_assert_int_eq(ktree_order_find(order, "fus", path, sizeof(path)), -ENOENT);
	ck_assert_int_eq(ktree_order_find(order, "fuse_x", path, sizeof(path)), -ENOENT);
	ck_assert_int_eq(ktree_order_find(order, "ext4", path, sizeof(path)), -ENOENT);
	ck_assert_int_eq(ktree_order_find(order, "no_suffix", path, sizeof(path)), -ENOENT);
	ck_assert_int_eq(ktree_order_find(order, "a comment", path, sizeof(path)), -ENOENT);
	ck_assert_int_eq(ktree_order_find(order, "", path, sizeof(path)), -ENOENT);
	ck_assert_int_eq(ktree_order_find(NULL, "fuse", path, sizeof(path)), -ENOENT);
	/* room for the path and its NUL, or not */
	ck_assert_int_eq(ktree_order_find(order, "fuse", path, 16), 0);
	ck_assert_int_eq(ktree_order_find(order, "fuse", path, 15), -ENAMETOOLONG);
}
END_TEST

/* ---- .config ---- */

START_TEST(config_value)
{
	static const char config[] =
		"#\n# Automatically generated file; DO NOT EDIT.\n#\n"
		"CONFIG_A=y\n"
		"CONFIG_B=m\r\n"
		"# CONFIG_C is not set\n"
		"CONFIG_D=\"string\"\n"
		"CONFIG_DAX_DRIVER=y\n"
		"CONFIG_E=y\n"
		"# CONFIG_E is not set\n"
		"CONFIG_F=m\n"
		"CONFIG_F=y\n"
		"CONFIG_G=yes\n"
		"CONFIG_H=";

	ck_assert_int_eq(ktree_config_value(config, "A"), 'y');
	ck_assert_int_eq(ktree_config_value(config, "B"), 'm');
	ck_assert_int_eq(ktree_config_value(config, "C"), 0);
	ck_assert_int_eq(ktree_config_value(config, "D"), '?');
	ck_assert_int_eq(ktree_config_value(config, "DAX"), 0); /* not CONFIG_DAX_DRIVER */
	ck_assert_int_eq(ktree_config_value(config, "E"), 0);	/* the last one wins */
	ck_assert_int_eq(ktree_config_value(config, "F"), 'y');
	ck_assert_int_eq(ktree_config_value(config, "G"), '?');
	ck_assert_int_eq(ktree_config_value(config, "H"), '?');
	ck_assert_int_eq(ktree_config_value(config, "Z"), 0);
	ck_assert_int_eq(ktree_config_value(NULL, "A"), 0);
}
END_TEST

static const char *const run_mods[] = { "virtio_pci", "virtiofs", "overlay" };

/* Open the tree in tmpdir with @config as its .config and check it for @need. */
static int check_with(const char *config, const struct ktree_need *need, struct ktree *t)
{
	int rc;

	put_str(".config", config);
	ck_assert_int_eq(ktree_open(t, tmpdir), 0);
	rc = ktree_check_config(t, need);
	if (rc)
		printf("test_ktree: %s\n", t->why);
	return rc;
}

START_TEST(config_check)
{
	const struct ktree_need need = { .dax = true, .cpus = 1, .mods = run_mods, .nr_mods = 3 };
	struct ktree_need n2 = need;
	char *all = all_y_config(), *c, want[PATH_MAX + 64];
	struct ktree t;

	tree_put("fs/fuse/fuse.ko\nfs/fuse/virtiofs.ko\n");
	ko_put("fs/fuse/fuse.ko", "fuse", "");
	/* --print-kconfig's fragment is what the check wants */
	ck_assert_int_eq(check_with(all, &need, &t), 0);
	ktree_close(&t);
	n2.cpus = 4;
	n2.mods = (const char *const[]){ "virtio-console" };
	n2.nr_mods = 1;
	ck_assert_int_eq(check_with(all, &n2, &t), 0);
	ktree_close(&t);

	/* the message, word for word */
	c = config_edit(all, "VIRTIO_FS", "# CONFIG_VIRTIO_FS is not set");
	ck_assert_int_eq(check_with(c, &need, &t), -ENOENT);
	snprintf(want, sizeof(want), "CONFIG_VIRTIO_FS is not set in %s/.config", t.dir);
	ck_assert_str_eq(t.why, want);
	ktree_close(&t);
	free(c);
	c = config_edit(all, "SERIAL_8250_CONSOLE", NULL);
	ck_assert_int_eq(check_with(c, &need, &t), -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "CONFIG_SERIAL_8250_CONSOLE is not set"));
	ktree_close(&t);
	free(c);

	/* DAX options only with DAX, SMP only with more than one vCPU */
	c = config_edit(all, "FUSE_DAX", NULL);
	ck_assert_int_eq(check_with(c, &need, &t), -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "CONFIG_FUSE_DAX is not set"));
	ktree_close(&t);
	n2 = need;
	n2.dax = false;
	ck_assert_int_eq(check_with(c, &n2, &t), 0);
	ktree_close(&t);
	free(c);
	c = config_edit(all, "SMP", "# CONFIG_SMP is not set");
	ck_assert_int_eq(check_with(c, &need, &t), 0);
	ktree_close(&t);
	n2 = need;
	n2.cpus = 2;
	ck_assert_int_eq(check_with(c, &n2, &t), -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "CONFIG_SMP is not set"));
	ktree_close(&t);
	free(c);
	/* virtio_console only once the run loads it; printed options are not checked */
	c = config_edit(all, "VIRTIO_CONSOLE", NULL);
	ck_assert_int_eq(check_with(c, &need, &t), 0);
	ktree_close(&t);
	n2 = need;
	n2.mods = (const char *const[]){ "virtio_pci", "virtio_console" };
	n2.nr_mods = 2;
	ck_assert_int_eq(check_with(c, &n2, &t), -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "CONFIG_VIRTIO_CONSOLE is not set"));
	ktree_close(&t);
	free(c);
	c = config_edit(all, "ZONE_DEVICE", NULL);
	ck_assert_int_eq(check_with(c, &need, &t), 0);
	ktree_close(&t);
	free(c);

	/* =m: only where a module may do, and then the module is in the tree */
	c = config_edit(all, "FUSE_FS", "CONFIG_FUSE_FS=m");
	ck_assert_int_eq(check_with(c, &need, &t), 0);
	ktree_close(&t);
	free(c);
	c = config_edit(all, "OVERLAY_FS", "CONFIG_OVERLAY_FS=m");
	ck_assert_int_eq(check_with(c, &need, &t), -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "CONFIG_OVERLAY_FS=m"));
	ck_assert_ptr_nonnull(strstr(t.why, "does not list module overlay"));
	ktree_close(&t);
	free(c);
	c = config_edit(all, "VIRTIO_FS", "CONFIG_VIRTIO_FS=m");
	ck_assert_int_eq(check_with(c, &need, &t), -ENOENT); /* listed, no file */
	ck_assert_ptr_nonnull(strstr(t.why, "fs/fuse/virtiofs.ko is missing"));
	ktree_close(&t);
	free(c);
	c = config_edit(all, "DEVTMPFS", "CONFIG_DEVTMPFS=m");
	ck_assert_int_eq(check_with(c, &need, &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(t.why, "CONFIG_DEVTMPFS=m"));
	ck_assert_ptr_nonnull(strstr(t.why, "=y"));
	ktree_close(&t);
	free(c);
	c = config_edit(all, "PCI_MSI", "CONFIG_PCI_MSI=\"y\"");
	ck_assert_int_eq(check_with(c, &need, &t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(t.why, "neither y nor m"));
	ktree_close(&t);
	free(c);

	/* no .config: nothing to check */
	ck_assert_int_eq(unlink(strcat(strcpy(want, tmpdir), "/.config")), 0);
	ck_assert_int_eq(ktree_open(&t, tmpdir), 0);
	ck_assert_ptr_null(t.config);
	ck_assert_int_eq(ktree_check_config(&t, &need), 0);
	ktree_close(&t);
	free(all);
}
END_TEST

START_TEST(print_kconfig)
{
	char *all = all_y_config(), out[8192];
	const char *argv[] = { "run", "--print-kconfig", NULL };
	struct run_opts o;
	FILE *f = fmemopen(out, sizeof(out), "w");
	unsigned int n = 0;

	/* every line CONFIG_X=y; the options the brief names among them */
	for (const char *p = all; *p; p += strcspn(p, "\n") + 1, n++) {
		size_t len = strcspn(p, "\n");

		ck_assert_msg(len > 9 && !strncmp(p, "CONFIG_", 7) && !strncmp(p + len - 2, "=y", 2),
			      "line '%.*s'", (int)len, p);
	}
	ck_assert_uint_ge(n, 15);
	for (const char *const *s = (const char *const[]){ "VIRTIO_PCI", "VIRTIO_FS", "FUSE_FS",
		     "OVERLAY_FS", "VIRTIO_CONSOLE", "SERIAL_8250", "SERIAL_8250_CONSOLE", "PCI_MSI",
		     "DEVTMPFS", "TMPFS", "FS_DAX", "DAX", "BLK_DEV_INITRD", "SMP", NULL };
	     *s; s++)
		ck_assert_msg(ktree_config_value(all, *s) == 'y', "CONFIG_%s not in the fragment", *s);
	/* the option prints it and needs no command */
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(run_opts_parse(&o, 2, (char **)argv, f, stderr), RUN_PARSE_EXIT);
	fclose(f);
	ck_assert_str_eq(out, all);
	free(all);
}
END_TEST

/* ---- opening a tree ---- */

START_TEST(open_refusals)
{
	struct ktree t;
	char path[PATH_MAX + 64];
	size_t size;
	uint8_t *b;

	ck_assert_int_eq(ktree_open(&t, "/nonexistent/shmvm-ktree"), -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "/nonexistent/shmvm-ktree"));
	snprintf(path, sizeof(path), "%s/file", tmpdir);
	put_str("file", "x");
	ck_assert(!ktree_is_tree(path));
	ck_assert(ktree_is_tree(tmpdir));
	ck_assert_int_eq(ktree_open(&t, path), -ENOTDIR);
	/* an empty directory, then a source tree that was not built */
	ck_assert_int_eq(ktree_open(&t, tmpdir), -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "not a kernel build tree"));
	put_str("Makefile", "");
	put_str("Kconfig", "");
	ck_assert_int_eq(ktree_open(&t, tmpdir), -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "not built"));
	/* a vmlinux without the PVH note; then with one */
	b = pvh_make("GNU", 18, &size);
	put("vmlinux", b, size);
	free(b);
	ck_assert_int_eq(ktree_open(&t, tmpdir), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(t.why, "PVH"));
	b = pvh_make("Xen", 18, &size);
	put("vmlinux", b, size);
	free(b);
	/* no modules.order: only for a kernel without modules */
	ck_assert_int_eq(ktree_open(&t, tmpdir), -ENOENT);
	ck_assert_ptr_nonnull(strstr(t.why, "modules.order"));
	put_str(".config", "CONFIG_MODULES=y\n");
	ck_assert_int_eq(ktree_open(&t, tmpdir), -ENOENT);
	put_str(".config", "# CONFIG_MODULES is not set\n");
	ck_assert_int_eq(ktree_open(&t, tmpdir), 0);
	snprintf(path, sizeof(path), "%s/vmlinux", t.dir);
	ck_assert_str_eq(t.image, path);
	ck_assert_ptr_null(t.order);
	ktree_close(&t);
	/* a bzImage is preferred */
	put_str("modules.order", "");
	tree_put(NULL);
	ck_assert_int_eq(ktree_open(&t, tmpdir), 0);
	snprintf(path, sizeof(path), "%s/arch/x86/boot/bzImage", t.dir);
	ck_assert_str_eq(t.image, path);
	ck_assert_ptr_nonnull(t.order);
	ktree_close(&t);
	/* modules.order that cannot be read */
	snprintf(path, sizeof(path), "%s/modules.order", tmpdir);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(ktree_open(&t, tmpdir), -EISDIR);
	ck_assert_ptr_nonnull(strstr(t.why, "modules.order"));
	ck_assert_ptr_null(t.order);
	ck_assert_ptr_null(t.config);
}
END_TEST

/* ---- resolution ---- */

/* Resolve @names in the tree in tmpdir; the list, or the error with t.why printed. */
static int resolve(const char *const *names, unsigned int n, struct mod_list *l, char *why,
		   size_t why_size)
{
	struct ktree t;
	int rc = ktree_open(&t, tmpdir);

	ck_assert_msg(rc == 0, "ktree_open: %s", t.why);
	rc = ktree_mods_resolve(&t, names, n, l);
	if (rc) {
		printf("test_ktree: %s\n", t.why);
		snprintf(why, why_size, "%s", t.why);
		ck_assert_uint_eq(l->n, 0);
	}
	ktree_close(&t);
	return rc;
}

START_TEST(resolve_order)
{
	char why[KTREE_WHY_MAX];
	struct mod_list l;

	/* a needs b and c, b needs c, c nothing: c b a; '-' and '_' alike; ".o" names */
	tree_put("m/a.o\nm/b-x.o\nn/c.o\nn/d.o\n");
	ko_put("m/a.ko", "a", "b_x,c");
	ko_put("m/b-x.ko", "b_x", "c");
	ko_put("n/c.ko", "c", "");
	ko_put("n/d.ko", NULL, "c,a"); /* no name=, as before Linux 5.4 */
	ck_assert_int_eq(resolve((const char *const[]){ "a" }, 1, &l, why, sizeof(why)), 0);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_str_eq(l.path[0], "n/c.ko");
	ck_assert_str_eq(l.path[1], "m/b-x.ko");
	ck_assert_str_eq(l.path[2], "m/a.ko");
	mods_free(&l);
	/* each once, dependencies first, whatever is asked and in what order */
	ck_assert_int_eq(resolve((const char *const[]){ "d", "b-x", "a", "c" }, 4, &l, why,
				 sizeof(why)),
			 0);
	ck_assert_uint_eq(l.n, 4);
	ck_assert_str_eq(l.path[0], "n/c.ko");
	ck_assert_int_lt(index_of(&l, "b-x.ko"), index_of(&l, "a.ko"));
	ck_assert_int_eq(index_of(&l, "d.ko"), 3);
	mods_free(&l);
}
END_TEST

START_TEST(resolve_builtin_and_old_trees)
{
	char why[KTREE_WHY_MAX];
	struct mod_list l;

	/* modules.order of old trees: "kernel/..."; the files are where the build left them */
	tree_put("kernel/fs/fuse/virtiofs.ko\nkernel/fs/fuse/fuse.ko\n");
	put_str("modules.builtin", "kernel/drivers/virtio/virtio.ko\nkernel/drivers/virtio/virtio_ring.ko\n");
	ko_put("fs/fuse/virtiofs.ko", "virtiofs", "fuse,virtio");
	ko_put("fs/fuse/fuse.ko", "fuse", "");
	ck_assert_int_eq(resolve((const char *const[]){ "virtiofs", "virtio_ring" }, 2, &l, why,
				 sizeof(why)),
			 0);
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.path[0], "fs/fuse/fuse.ko");
	ck_assert_str_eq(l.path[1], "fs/fuse/virtiofs.ko");
	mods_free(&l);
	/* a kernel without modules: nothing to load, whatever is asked */
	put_str(".config", "# CONFIG_MODULES is not set\n");
	unlink(strcat(strcpy(why, tmpdir), "/modules.order"));
	ck_assert_int_eq(resolve((const char *const[]){ "virtiofs" }, 1, &l, why, sizeof(why)), 0);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(resolve_refusals)
{
	char why[KTREE_WHY_MAX];
	struct mod_list l;

	tree_put("a.ko\nb.ko\nc.ko\nbad.ko\nother.ko\nloop1.ko\nloop2.ko\nweird.ko\nnofile.ko\n"
		 "../up.ko\n");
	ko_put("a.ko", "a", "b");
	ko_put("b.ko", "b", "gone");
	ko_put("c.ko", "c", "bad");
	put_str("bad.ko", "\x7f" "ELF but not really");
	ko_put("other.ko", "someone_else", "");
	ko_put("loop1.ko", "loop1", "loop2");
	ko_put("loop2.ko", "loop2", "loop1");
	ko_put("weird.ko", "weird", "x y,a");

	ck_assert_int_eq(resolve((const char *const[]){ "nothere" }, 1, &l, why, sizeof(why)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "module nothere is neither in"));
	ck_assert_int_eq(resolve((const char *const[]){ "a" }, 1, &l, why, sizeof(why)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "b.ko depends on gone"));
	ck_assert_int_eq(resolve((const char *const[]){ "c" }, 1, &l, why, sizeof(why)), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(why, "/bad.ko: "));
	ck_assert_int_eq(resolve((const char *const[]){ "other" }, 1, &l, why, sizeof(why)), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(why, "name=someone_else"));
	ck_assert_int_eq(resolve((const char *const[]){ "loop1" }, 1, &l, why, sizeof(why)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(why, "loop1 -> loop2 -> loop1"));
	ck_assert_int_eq(resolve((const char *const[]){ "weird" }, 1, &l, why, sizeof(why)), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(why, "depends="));
	ck_assert_int_eq(resolve((const char *const[]){ "nofile" }, 1, &l, why, sizeof(why)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "nofile.ko is missing"));
	ck_assert_int_eq(resolve((const char *const[]){ "up" }, 1, &l, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "not a path inside the tree"));
	ck_assert_int_eq(resolve((const char *const[]){ "a/b" }, 1, &l, why, sizeof(why)), -EINVAL);
	/* what was resolved before a refusal is not kept */
	ck_assert_int_eq(resolve((const char *const[]){ "loop2", "nothere" }, 2, &l, why, sizeof(why)),
			 -ELOOP);
}
END_TEST

START_TEST(resolve_limits)
{
	char why[KTREE_WHY_MAX], order[8192], rel[32], name[16], deps[2048];
	size_t o = 0, d = 0;
	struct mod_list l;

	/* one module needing MODS_MAX others: one too many */
	for (unsigned int i = 0; i < MODS_MAX; i++) {
		snprintf(name, sizeof(name), "m%u", i);
		snprintf(rel, sizeof(rel), "m/%s.ko", name);
		ko_put(rel, name, "");
		o += (size_t)snprintf(order + o, sizeof(order) - o, "%s\n", rel);
		d += (size_t)snprintf(deps + d, sizeof(deps) - d, "%s%s", i ? "," : "", name);
	}
	ko_put("top.ko", "top", deps);
	/* and a chain deeper than the resolver follows */
	for (unsigned int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "c%u", i);
		snprintf(rel, sizeof(rel), "c/%s.ko", name);
		snprintf(deps, sizeof(deps), "c%u", i + 1);
		ko_put(rel, name, i == 39 ? "" : deps);
		o += (size_t)snprintf(order + o, sizeof(order) - o, "%s\n", rel);
	}
	o += (size_t)snprintf(order + o, sizeof(order) - o, "top.ko\n");
	tree_put(order);
	ck_assert_int_eq(resolve((const char *const[]){ "m5" }, 1, &l, why, sizeof(why)), 0);
	mods_free(&l);
	ck_assert_int_eq(resolve((const char *const[]){ "top" }, 1, &l, why, sizeof(why)), -E2BIG);
	ck_assert_int_eq(resolve((const char *const[]){ "c0" }, 1, &l, why, sizeof(why)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(why, "deeper"));
	ck_assert_int_eq(resolve((const char *const[]){ "c20" }, 1, &l, why, sizeof(why)), 0);
	ck_assert_uint_eq(l.n, 20);
	ck_assert_str_eq(l.path[0], "c/c39.ko");
	mods_free(&l);
}
END_TEST

/*
 * Debian's module tree laid out as a build tree (its kernel/ directories
 * linked at the top, modules.order as the package has it and without
 * "kernel/", with ".o" names): the same modules as modules.dep gives,
 * dependencies first.
 */
START_TEST(resolve_debian_tree)
{
	static const char *const names[] = { "virtio_pci", "virtiofs", "overlay", "virtio_blk",
					     "virtio-net", "virtio_console" };
	static const char *const variants[] = {
		"cat", /* as installed: "kernel/" */
		"sed 's|^kernel/||'", /* up to Linux 6.2 */
		"sed 's|^kernel/||; s|\\.ko$|.o|'", /* since Linux 6.3 */
	};
	char *tree = debian_tree("resolve_debian_tree"), path[1024], *dep, *builtin, why[KTREE_WHY_MAX];
	const char *missing = NULL;
	struct mod_list want, got;

	if (!tree)
		return;
	snprintf(path, sizeof(path), "%s/modules.dep", tree);
	dep = slurp(path, NULL);
	if (!dep) {
		printf("test_ktree: resolve_debian_tree SKIPPED: no %s (tools/mkguest runs depmod)\n",
		       path);
		free(tree);
		return;
	}
	snprintf(path, sizeof(path), "%s/modules.builtin", tree);
	builtin = slurp(path, NULL);
	ck_assert_int_eq(mods_resolve(dep, builtin, names, ARRAY_SIZE(names), &want, &missing), 0);
	tree_put(NULL);
	ck_assert_int_eq(run_sh("for d in '%s'/kernel/*; do ln -s \"$d\" '%s'/; done && "
				"cp '%s/modules.builtin' '%s/'",
				tree, tmpdir, tree, tmpdir),
			 0);
	for (size_t v = 0; v < ARRAY_SIZE(variants); v++) {
		ck_assert_int_eq(run_sh("%s '%s/modules.order' > '%s/modules.order'", variants[v],
					tree, tmpdir),
				 0);
		ck_assert_int_eq(resolve(names, ARRAY_SIZE(names), &got, why, sizeof(why)), 0);
		printf("test_ktree: resolve_debian_tree, modules.order through %s:", variants[v]);
		for (unsigned int i = 0; i < got.n; i++)
			printf(" %s", got.path[i]);
		printf("\n");
		/* the same set: modules.dep's path is "kernel/" and ours */
		ck_assert_uint_eq(got.n, want.n);
		for (unsigned int i = 0; i < want.n; i++) {
			ck_assert_msg(!strncmp(want.path[i], "kernel/", 7) &&
					      index_of(&got, strrchr(want.path[i], '/') + 1) >= 0,
				      "%s not resolved", want.path[i]);
		}
		/* every dependency modules.dep gives is before its user */
		for (unsigned int i = 0; i < got.n; i++) {
			char key[600];
			const char *line, *p, *eol;

			snprintf(key, sizeof(key), "\nkernel/%s:", got.path[i]);
			line = strstr(dep, key);
			ck_assert_msg(line, "%s not in modules.dep", got.path[i]);
			eol = strchr(line + 1, '\n');
			for (p = strchr(line, ':') + 1; p < eol;) {
				size_t n;
				char base[128];
				const char *slash;

				p += strspn(p, " ");
				n = strcspn(p, " \n");
				if (!n)
					break;
				snprintf(base, sizeof(base), "%.*s", (int)n, p);
				slash = strrchr(base, '/');
				ck_assert_int_lt(index_of(&got, slash ? slash + 1 : base), (int)i);
				p += n;
			}
		}
		mods_free(&got);
	}
	mods_free(&want);
	free(dep);
	free(builtin);
	free(tree);
}
END_TEST

static Suite *ktree_suite(void)
{
	Suite *s = suite_create("ktree");
	TCase *tc;

	tc = tcase_create("modinfo");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, modinfo_fields);
	tcase_add_test(tc, modinfo_refusals);
	tcase_add_test(tc, modinfo_extended_numbering);
	tcase_add_test(tc, modinfo_truncated_and_corrupt);
	tcase_add_test(tc, modinfo_debian_modules);
	tcase_add_test(tc, pvh_note);
	suite_add_tcase(s, tc);

	tc = tcase_create("order");
	tcase_add_test(tc, order_find);
	suite_add_tcase(s, tc);

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, config_value);
	tcase_add_test(tc, config_check);
	tcase_add_test(tc, print_kconfig);
	suite_add_tcase(s, tc);

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, open_refusals);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolve");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, resolve_order);
	tcase_add_test(tc, resolve_builtin_and_old_trees);
	tcase_add_test(tc, resolve_refusals);
	tcase_add_test(tc, resolve_limits);
	tcase_add_test(tc, resolve_debian_tree);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(ktree_suite)
