// SPDX-License-Identifier: GPL-2.0-only
/*
 * `shmvm run`'s pure parts: the initramfs writer (read back by a reader of
 * our own and by Debian's cpio), module resolution (synthetic modules.dep
 * and the real Debian tree through depmod), the frame channel (everything
 * in it is hostile guest input), the options and the run spec.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "util/compiler.h"
#include "vmm/run/initramfs.h"
#include "vmm/run/run.h"
#include "vmm/run/run_chan.h"
#include "vmm/run/run_proto.h"

#include "check_main.h"
#include "test_files.h"

/* ---- helpers: a temporary directory, files, a deterministic PRNG ---- */

static void tmp_setup(void)
{
	tmpdir_make("run");
}

static void tmp_teardown(void)
{
	tmpdir_remove();
}


static void spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static int run_sh(const char *fmt, ...) __printf(1, 2);
static int run_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
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

/* ---- cpio: a newc reader of our own ---- */

enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_SIZE, F_MAJ, F_MIN, F_RMAJ, F_RMIN,
       F_NAMESZ, F_CHECK, F_NR };

struct ent {
	uint32_t f[F_NR];
	const char *name;
	const uint8_t *data;
};

#define ENTS_MAX 64

static uint32_t hex8(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		ck_assert_msg((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'A' && p[i] <= 'F') ||
				      (p[i] >= 'a' && p[i] <= 'f'),
			      "bad hex digit 0x%02x", p[i]);
		v = v << 4 | (uint32_t)(p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10);
	}
	return v;
}

static void zero_pad(const uint8_t *buf, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		ck_assert_msg(!buf[i], "padding byte at %zu is 0x%02x", i, buf[i]);
}

/* Parse a whole archive; every entry and the trailer must fit exactly. Returns the count. */
static unsigned int newc_read(const uint8_t *buf, size_t len, struct ent *ents)
{
	size_t off = 0;
	unsigned int n = 0;

	for (;;) {
		struct ent e;
		size_t name_end, data_end;

		ck_assert_uint_eq(off % 4, 0);
		ck_assert_msg(off + 110 <= len, "header at %zu runs past %zu", off, len);
		ck_assert_msg(!memcmp(buf + off, "070701", 6), "bad magic at %zu", off);
		for (int i = 0; i < F_NR; i++)
			e.f[i] = hex8(buf + off + 6 + 8 * i);
		ck_assert_uint_ge(e.f[F_NAMESZ], 2);
		name_end = off + 110 + e.f[F_NAMESZ];
		ck_assert_uint_le(name_end, len);
		e.name = (const char *)buf + off + 110;
		ck_assert_msg(strlen(e.name) == e.f[F_NAMESZ] - 1, "name size of '%s'", e.name);
		zero_pad(buf, name_end, ALIGN_UP(name_end, 4));
		e.data = buf + ALIGN_UP(name_end, 4);
		data_end = ALIGN_UP(name_end, 4) + e.f[F_SIZE];
		ck_assert_uint_le(data_end, len);
		zero_pad(buf, data_end, ALIGN_UP(data_end, 4));
		off = ALIGN_UP(data_end, 4);
		ck_assert_uint_eq(e.f[F_CHECK], 0);
		if (!strcmp(e.name, "TRAILER!!!")) {
			ck_assert_uint_eq(e.f[F_SIZE], 0);
			ck_assert_uint_eq(off, len); /* nothing after the trailer */
			return n;
		}
		ck_assert_uint_lt(n, ENTS_MAX);
		ents[n++] = e;
	}
}

static const size_t file_sizes[] = { 0, 1, 3, 4, 5, 100 * 1024 };

static uint8_t *pattern(size_t size, unsigned int seed)
{
	uint8_t *p = malloc(size ? size : 1);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < size; i++)
		p[i] = (uint8_t)(i * 31 + seed * 7 + 1);
	return p;
}

/* dir "d", files "d/fN" (0644, "d/f102400" 0755), char device "d/console". */
static void build_sample(struct cpio *c)
{
	char name[32];

	*c = (struct cpio){ 0 };
	ck_assert_int_eq(cpio_add(c, "d", S_IFDIR | 0755, NULL, 0), 0);
	for (size_t i = 0; i < ARRAY_SIZE(file_sizes); i++) {
		uint8_t *data = pattern(file_sizes[i], (unsigned int)i);

		snprintf(name, sizeof(name), "d/f%zu", file_sizes[i]);
		ck_assert_int_eq(cpio_add(c, name, S_IFREG | (file_sizes[i] > 5 ? 0755 : 0644), data,
					  file_sizes[i]),
				 0);
		free(data);
	}
	ck_assert_int_eq(cpio_add_chardev(c, "d/console", 0600, 5, 1), 0);
	ck_assert_int_eq(cpio_finish(c), 0);
}

START_TEST(cpio_fields)
{
	struct ent e[ENTS_MAX];
	struct cpio c;
	unsigned int n;

	build_sample(&c);
	ck_assert_uint_le(c.len, c.cap);
	n = newc_read(c.buf, c.len, e);
	ck_assert_uint_eq(n, 1 + ARRAY_SIZE(file_sizes) + 1);

	ck_assert_str_eq(e[0].name, "d");
	ck_assert_uint_eq(e[0].f[F_MODE], S_IFDIR | 0755);
	ck_assert_uint_eq(e[0].f[F_NLINK], 2);
	ck_assert_uint_eq(e[0].f[F_SIZE], 0);
	for (size_t i = 0; i < ARRAY_SIZE(file_sizes); i++) {
		const struct ent *f = &e[1 + i];
		uint8_t *want = pattern(file_sizes[i], (unsigned int)i);
		char name[32];

		snprintf(name, sizeof(name), "d/f%zu", file_sizes[i]);
		ck_assert_str_eq(f->name, name);
		ck_assert_uint_eq(f->f[F_MODE], S_IFREG | (file_sizes[i] > 5 ? 0755 : 0644));
		ck_assert_uint_eq(f->f[F_NLINK], 1);
		ck_assert_uint_eq(f->f[F_SIZE], file_sizes[i]);
		ck_assert_uint_eq(f->f[F_RMAJ], 0);
		ck_assert_uint_eq(f->f[F_RMIN], 0);
		ck_assert_msg(!memcmp(f->data, want, file_sizes[i]), "%s: data differs", name);
		free(want);
	}
	ck_assert_str_eq(e[n - 1].name, "d/console");
	ck_assert_uint_eq(e[n - 1].f[F_MODE], S_IFCHR | 0600);
	ck_assert_uint_eq(e[n - 1].f[F_SIZE], 0);
	ck_assert_uint_eq(e[n - 1].f[F_RMAJ], 5);
	ck_assert_uint_eq(e[n - 1].f[F_RMIN], 1);
	ck_assert_uint_eq(e[n - 1].f[F_NLINK], 1);
	for (unsigned int i = 0; i < n; i++) {
		/* distinct inode numbers (else cpio -i makes hard links), everything else 0 */
		for (unsigned int j = 0; j < i; j++)
			ck_assert_uint_ne(e[i].f[F_INO], e[j].f[F_INO]);
		ck_assert_uint_ne(e[i].f[F_INO], 0);
		ck_assert_uint_eq(e[i].f[F_UID], 0);
		ck_assert_uint_eq(e[i].f[F_GID], 0);
		ck_assert_uint_eq(e[i].f[F_MTIME], 0);
		ck_assert_uint_eq(e[i].f[F_MAJ], 0);
		ck_assert_uint_eq(e[i].f[F_MIN], 0);
	}
	cpio_free(&c);
	ck_assert_ptr_null(c.buf);
	ck_assert_uint_eq(c.len, 0);
}
END_TEST

START_TEST(cpio_empty_archive)
{
	struct ent e[1];
	struct cpio c = { 0 };

	ck_assert_int_eq(cpio_finish(&c), 0);
	ck_assert_uint_eq(newc_read(c.buf, c.len, e), 0);
	ck_assert_uint_eq(c.len, 124); /* 110 + "TRAILER!!!\0" (11) padded to 124 */
	cpio_free(&c);
}
END_TEST

START_TEST(cpio_refusals)
{
	struct cpio c = { 0 };
	char *name = malloc(4097);
	size_t before;

	ck_assert_ptr_nonnull(name);
	ck_assert_int_eq(cpio_add(&c, "a", S_IFREG | 0644, "x", 1), 0);
	before = c.len;
	/* 4096 characters: 4097 with the NUL, too long for the kernel's reader */
	memset(name, 'n', 4096);
	name[4096] = '\0';
	ck_assert_int_eq(cpio_add(&c, name, S_IFREG | 0644, "x", 1), -EFBIG);
	ck_assert_int_eq(cpio_add_chardev(&c, name, 0600, 1, 3), -EFBIG);
	ck_assert_uint_eq(c.len, before); /* nothing half-written */
	name[4095] = '\0'; /* 4095 + NUL fits */
	ck_assert_int_eq(cpio_add(&c, name, S_IFREG | 0644, "x", 1), 0);
	/* only directories and regular files through cpio_add */
	ck_assert_int_eq(cpio_add(&c, "l", S_IFLNK | 0777, "a", 1), -EINVAL);
	ck_assert_int_eq(cpio_add(&c, "s", S_IFSOCK | 0777, NULL, 0), -EINVAL);
	ck_assert_int_eq(cpio_finish(&c), 0);
	{
		struct ent e[4];

		ck_assert_uint_eq(newc_read(c.buf, c.len, e), 2);
		ck_assert_uint_eq(strlen(e[1].name), 4095);
	}
	cpio_free(&c);
	free(name);
}
END_TEST

START_TEST(cpio_growth)
{
	/* Many entries of awkward sizes: the buffer is reallocated several times on the way. */
	struct ent *e = calloc(ENTS_MAX, sizeof(*e));
	struct cpio c = { 0 };
	size_t reallocs = 0, cap = 0;
	char name[32];

	ck_assert_ptr_nonnull(e);
	for (unsigned int i = 0; i < 40; i++) {
		size_t size = (size_t)i * 7919 + i % 4;
		uint8_t *data = pattern(size, i);

		snprintf(name, sizeof(name), "file-%u", i);
		ck_assert_int_eq(cpio_add(&c, name, S_IFREG | 0600, data, size), 0);
		free(data);
		if (c.cap != cap)
			reallocs++;
		cap = c.cap;
		ck_assert_uint_le(c.len, c.cap);
	}
	ck_assert_int_eq(cpio_finish(&c), 0);
	ck_assert_uint_ge(reallocs, 4);
	ck_assert_uint_eq(newc_read(c.buf, c.len, e), 40);
	for (unsigned int i = 0; i < 40; i++) {
		size_t size = (size_t)i * 7919 + i % 4;
		uint8_t *data = pattern(size, i);

		snprintf(name, sizeof(name), "file-%u", i);
		ck_assert_str_eq(e[i].name, name);
		ck_assert_uint_eq(e[i].f[F_SIZE], size);
		ck_assert_msg(!memcmp(e[i].data, data, size), "%s differs", name);
		free(data);
	}
	cpio_free(&c);
	free(e);
}
END_TEST

static bool have_prog(const char *name)
{
	return run_sh("command -v %s >/dev/null 2>&1", name) == 0;
}

START_TEST(cpio_debian_cpio)
{
	char path[256], *listing;
	struct cpio c;
	struct stat st;

	if (!have_prog("cpio")) {
		printf("test_run: cpio_debian_cpio SKIPPED: no cpio program (apt-get install cpio)\n");
		return;
	}
	build_sample(&c);
	snprintf(path, sizeof(path), "%s/a.cpio", tmpdir);
	spit(path, c.buf, c.len);

	/* cpio -it: the names, in order, and no complaint */
	ck_assert_int_eq(run_sh("cpio -it < %s/a.cpio > %s/list 2> %s/list.err", tmpdir, tmpdir, tmpdir), 0);
	snprintf(path, sizeof(path), "%s/list", tmpdir);
	listing = slurp(path, NULL);
	ck_assert_ptr_nonnull(listing);
	ck_assert_str_eq(listing, "d\nd/f0\nd/f1\nd/f3\nd/f4\nd/f5\nd/f102400\nd/console\n");
	free(listing);
	snprintf(path, sizeof(path), "%s/list.err", tmpdir);
	listing = slurp(path, NULL);
	ck_assert_ptr_nonnull(listing);
	ck_assert_msg(!strstr(listing, "warning") && !strstr(listing, "rror"), "cpio -it: %s", listing);
	free(listing);

	/* cpio -idv: extract (a device node only when we may make one) and compare */
	ck_assert_int_eq(run_sh("mkdir %s/x && cd %s/x && cpio -idv %s < ../a.cpio 2> ../x.err",
				tmpdir, tmpdir, geteuid() ? "-f 'd/console'" : ""),
			 0);
	for (size_t i = 0; i < ARRAY_SIZE(file_sizes); i++) {
		uint8_t *want = pattern(file_sizes[i], (unsigned int)i);
		char *got;
		size_t len;

		snprintf(path, sizeof(path), "%s/x/d/f%zu", tmpdir, file_sizes[i]);
		got = slurp(path, &len);
		ck_assert_msg(got, "%s not extracted", path);
		ck_assert_uint_eq(len, file_sizes[i]);
		ck_assert_msg(!memcmp(got, want, len), "%s differs", path);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_uint_eq(st.st_mode & 07777, file_sizes[i] > 5 ? 0755 : 0644);
		ck_assert(S_ISREG(st.st_mode));
		free(got);
		free(want);
	}
	snprintf(path, sizeof(path), "%s/x/d", tmpdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	if (geteuid()) {
		printf("test_run: cpio_debian_cpio: not root, device node not extracted\n");
	} else {
		snprintf(path, sizeof(path), "%s/x/d/console", tmpdir);
		ck_assert_int_eq(lstat(path, &st), 0);
		ck_assert(S_ISCHR(st.st_mode));
		ck_assert_uint_eq(st.st_mode & 07777, 0600);
		ck_assert_uint_eq(major(st.st_rdev), 5);
		ck_assert_uint_eq(minor(st.st_rdev), 1);
	}
	cpio_free(&c);
}
END_TEST

/* ---- mods_resolve ---- */

static const char synth_dep[] =
	"kernel/a/top.ko.xz: kernel/b/mid-one.ko.xz kernel/c/base.ko.xz\n"
	"kernel/c/base.ko.xz:\n"
	"kernel/d/other.ko.xz: kernel/e/leaf.ko.xz kernel/c/base.ko.xz\n"
	"kernel/b/mid-one.ko.xz: kernel/c/base.ko.xz\n"
	"kernel/e/leaf.ko.xz:\n"
	"kernel/f/wide.ko.xz:\tkernel/e/leaf.ko.xz  kernel/b/mid-one.ko.xz kernel/a/top.ko.xz\n"
	"kernel/g/dangling.ko.xz: kernel/z/nowhere.ko.xz\n"
	"kernel/g/deep-dangling.ko.xz: kernel/g/dangling.ko.xz\n"
	"kernel/h/cyc1.ko: kernel/h/cyc2.ko\n"
	"kernel/h/cyc2.ko: kernel/h/cyc3.ko\n"
	"kernel/h/cyc3.ko: kernel/h/cyc1.ko\n"
	"kernel/h/self.ko: kernel/h/self.ko\n"
	"kernel/i/uses-builtin.ko: kernel/j/bi.ko\n"
	"kernel/k/plain.ko:"; /* no final newline */

static const char synth_builtin[] = "kernel/j/bi.ko\nkernel/fs/ext4/ext4.ko\nkernel/drivers/virtio/virtio_pci.ko\n";

/* The dependencies modules.dep gives for @path, and is each of them at a smaller index? */
static void check_deps_first(const char *dep, const char *builtin, const struct mod_list *l)
{
	for (unsigned int i = 0; i < l->n; i++) {
		size_t plen = strlen(l->path[i]);
		const char *line = dep, *p, *eol;

		for (unsigned int j = 0; j < i; j++)
			ck_assert_msg(strcmp(l->path[i], l->path[j]), "%s twice", l->path[i]);
		while (line && !(!strncmp(line, l->path[i], plen) && line[plen] == ':')) {
			line = strchr(line, '\n');
			line = line ? line + 1 : NULL;
		}
		ck_assert_msg(line, "%s is not a line of modules.dep", l->path[i]);
		eol = strchrnul(line, '\n');
		for (p = line + plen + 1; p < eol;) {
			size_t n;
			bool found = false;

			p += strspn(p, " \t");
			n = strcspn(p, " \t\n");
			if (!n)
				break;
			for (unsigned int j = 0; j < i && !found; j++)
				found = strlen(l->path[j]) == n && !strncmp(l->path[j], p, n);
			if (!found && builtin) {
				char want[256];

				snprintf(want, sizeof(want), "%.*s\n", (int)n, p);
				found = strstr(builtin, want) != NULL;
			}
			ck_assert_msg(found, "%s: dependency %.*s not loaded before it", l->path[i], (int)n, p);
			p += n;
		}
	}
}

static void expect_mods(const struct mod_list *l, const char *const *want, unsigned int n)
{
	ck_assert_uint_eq(l->n, n);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_str_eq(l->path[i], want[i]);
}

START_TEST(mods_order)
{
	static const char *const names1[] = { "top", "other" };
	static const char *const want1[] = { "kernel/c/base.ko.xz", "kernel/b/mid-one.ko.xz",
					     "kernel/a/top.ko.xz", "kernel/e/leaf.ko.xz",
					     "kernel/d/other.ko.xz" };
	static const char *const names2[] = { "other", "mid_one", "top", "other" };
	static const char *const want2[] = { "kernel/e/leaf.ko.xz", "kernel/c/base.ko.xz",
					     "kernel/d/other.ko.xz", "kernel/b/mid-one.ko.xz",
					     "kernel/a/top.ko.xz" };
	static const char *const names3[] = { "wide", "plain" };
	struct mod_list l;
	const char *missing = "unset";

	ck_assert_int_eq(mods_resolve(synth_dep, NULL, names1, 2, &l, &missing), 0);
	ck_assert_ptr_null(missing);
	expect_mods(&l, want1, ARRAY_SIZE(want1));
	check_deps_first(synth_dep, NULL, &l);
	mods_free(&l);
	ck_assert_uint_eq(l.n, 0);

	/* asked in another order, a module asked twice, '_' for the file's '-' */
	ck_assert_int_eq(mods_resolve(synth_dep, NULL, names2, 4, &l, &missing), 0);
	expect_mods(&l, want2, ARRAY_SIZE(want2));
	check_deps_first(synth_dep, NULL, &l);
	mods_free(&l);

	/* the '-' spelling too; a tab and two spaces between dependencies; the last line without '\n' */
	ck_assert_int_eq(mods_resolve(synth_dep, NULL, (const char *const[]){ "mid-one" }, 1, &l, &missing), 0);
	expect_mods(&l, (const char *const[]){ "kernel/c/base.ko.xz", "kernel/b/mid-one.ko.xz" }, 2);
	mods_free(&l);
	ck_assert_int_eq(mods_resolve(synth_dep, NULL, names3, 2, &l, &missing), 0);
	ck_assert_uint_eq(l.n, 6);
	ck_assert_str_eq(l.path[4], "kernel/f/wide.ko.xz");
	ck_assert_str_eq(l.path[5], "kernel/k/plain.ko");
	check_deps_first(synth_dep, NULL, &l);
	mods_free(&l);

	/* nothing asked: nothing */
	ck_assert_int_eq(mods_resolve(synth_dep, NULL, NULL, 0, &l, &missing), 0);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

START_TEST(mods_builtin_and_missing)
{
	static const char *const names[] = { "virtio_pci", "base", "ext4" };
	static const char *const names_missing[] = { "base", "no-such-mod" };
	struct mod_list l;
	const char *missing = NULL;

	/* built in: skipped */
	ck_assert_int_eq(mods_resolve(synth_dep, synth_builtin, names, 3, &l, &missing), 0);
	expect_mods(&l, (const char *const[]){ "kernel/c/base.ko.xz" }, 1);
	mods_free(&l);
	/* a dependency that is built in */
	ck_assert_int_eq(mods_resolve(synth_dep, synth_builtin, (const char *const[]){ "uses_builtin" },
				      1, &l, &missing),
			 0);
	expect_mods(&l, (const char *const[]){ "kernel/i/uses-builtin.ko" }, 1);
	mods_free(&l);
	/* without modules.builtin, a built-in module is missing */
	ck_assert_int_eq(mods_resolve(synth_dep, NULL, names, 3, &l, &missing), -ENOENT);
	ck_assert_ptr_eq(missing, names[0]);
	ck_assert_uint_eq(l.n, 0);

	ck_assert_int_eq(mods_resolve(synth_dep, synth_builtin, names_missing, 2, &l, &missing),
			 -ENOENT);
	ck_assert_ptr_nonnull(missing);
	ck_assert_str_eq(missing, "no-such-mod");
	ck_assert_uint_eq(l.n, 0); /* what was resolved before is freed */
	ck_assert_ptr_null(l.path[0]);
	/* a prefix or a suffix of a name is not the name */
	ck_assert_int_eq(mods_resolve(synth_dep, NULL, (const char *const[]){ "bas" }, 1, &l, &missing),
			 -ENOENT);
	ck_assert_int_eq(mods_resolve(synth_dep, NULL, (const char *const[]){ "one" }, 1, &l, &missing),
			 -ENOENT);
	ck_assert_int_eq(mods_resolve(synth_dep, NULL, (const char *const[]){ "" }, 1, &l, &missing),
			 -ENOENT);
	ck_assert_int_eq(mods_resolve("", NULL, (const char *const[]){ "base" }, 1, &l, &missing),
			 -ENOENT);
}
END_TEST

START_TEST(mods_broken_trees)
{
	struct mod_list l;
	const char *missing = NULL;
	int rc;

	/* modules.dep names a dependency it does not list: not "missing", the tree is broken */
	ck_assert_int_eq(mods_resolve(synth_dep, synth_builtin, (const char *const[]){ "dangling" }, 1,
				      &l, &missing),
			 -EINVAL);
	ck_assert_uint_eq(l.n, 0);
	ck_assert_int_eq(mods_resolve(synth_dep, synth_builtin,
				      (const char *const[]){ "base", "deep_dangling" }, 2, &l, &missing),
			 -EINVAL);
	ck_assert_uint_eq(l.n, 0);
	/* cycles: an error, not a hang (the test's timeout would catch one) */
	rc = mods_resolve(synth_dep, NULL, (const char *const[]){ "cyc2" }, 1, &l, &missing);
	ck_assert_msg(rc < 0 && rc != -ENOENT, "cycle: %d", rc);
	ck_assert_uint_eq(l.n, 0);
	rc = mods_resolve(synth_dep, NULL, (const char *const[]){ "self" }, 1, &l, &missing);
	ck_assert_msg(rc < 0 && rc != -ENOENT, "self-dependency: %d", rc);
	ck_assert_uint_eq(l.n, 0);
	/* a line that is not a module */
	rc = mods_resolve("kernel/x/a.ko: kernel/x/b.txt\nkernel/x/b.txt:\n", NULL,
			  (const char *const[]){ "a" }, 1, &l, &missing);
	ck_assert_int_lt(rc, 0);
	ck_assert_uint_eq(l.n, 0);
}
END_TEST

/* modules.dep text of @n modules m0..m{n-1}; m{n-1} depends on all the others when @chain. */
static char *many_mods(unsigned int n, bool wide)
{
	size_t cap = (size_t)n * n * 24 + 64, len = 0;
	char *t = malloc(cap);

	ck_assert_ptr_nonnull(t);
	for (unsigned int i = 0; i < n; i++) {
		len += (size_t)snprintf(t + len, cap - len, "kernel/m/m%u.ko.zst:", i);
		if (wide && i == n - 1)
			for (unsigned int j = 0; j < i; j++)
				len += (size_t)snprintf(t + len, cap - len, " kernel/m/m%u.ko.zst", j);
		len += (size_t)snprintf(t + len, cap - len, "\n");
	}
	return t;
}

START_TEST(mods_too_many)
{
	char *names[MODS_MAX + 1];
	struct mod_list l;
	const char *missing = NULL;
	char *dep;

	for (unsigned int i = 0; i <= MODS_MAX; i++)
		ck_assert_int_gt(asprintf(&names[i], "m%u", i), 0);
	/* exactly MODS_MAX: fine */
	dep = many_mods(MODS_MAX + 1, false);
	ck_assert_int_eq(mods_resolve(dep, NULL, (const char *const *)names, MODS_MAX, &l, &missing), 0);
	ck_assert_uint_eq(l.n, MODS_MAX);
	ck_assert_str_eq(l.path[MODS_MAX - 1], "kernel/m/m63.ko.zst");
	mods_free(&l);
	/* one more, asked by name */
	ck_assert_int_eq(mods_resolve(dep, NULL, (const char *const *)names, MODS_MAX + 1, &l, &missing),
			 -E2BIG);
	ck_assert_uint_eq(l.n, 0);
	free(dep);
	/* one more, through dependencies */
	dep = many_mods(MODS_MAX + 1, true);
	ck_assert_int_eq(mods_resolve(dep, NULL, (const char *const *)&names[MODS_MAX], 1, &l, &missing),
			 -E2BIG);
	ck_assert_uint_eq(l.n, 0);
	free(dep);
	dep = many_mods(MODS_MAX, true);
	ck_assert_int_eq(mods_resolve(dep, NULL, (const char *const *)&names[MODS_MAX - 1], 1, &l,
				      &missing),
			 0);
	ck_assert_uint_eq(l.n, MODS_MAX);
	ck_assert_str_eq(l.path[MODS_MAX - 1], "kernel/m/m63.ko.zst");
	check_deps_first(dep, NULL, &l);
	mods_free(&l);
	free(dep);
	for (unsigned int i = 0; i <= MODS_MAX; i++)
		free(names[i]);
}
END_TEST

static int index_of(const struct mod_list *l, const char *suffix)
{
	size_t n = strlen(suffix);

	for (unsigned int i = 0; i < l->n; i++) {
		size_t m = strlen(l->path[i]);

		if (m >= n && !strcmp(l->path[i] + m - n, suffix) &&
		    (m == n || l->path[i][m - n - 1] == '/'))
			return (int)i;
	}
	return -1;
}

START_TEST(mods_debian_tree)
{
	static const char *const names[] = { "virtio_pci", "virtiofs", "overlay", "virtio_blk",
					     "virtio-net" };
	char pattern_[512], base[300], kver[128], path[512], *dep, *builtin;
	const char *home = getenv("HOME"), *depmod, *tree;
	struct mod_list l;
	const char *missing = NULL;
	glob_t g;
	int rc;

	snprintf(pattern_, sizeof(pattern_), "%s/.cache/shmvm/linux-image-*/lib/modules/*",
		 home ? home : "/root");
	if (glob(pattern_, GLOB_ONLYDIR, NULL, &g) || !g.gl_pathc) {
		printf("test_run: mods_debian_tree SKIPPED: no %s (tools/mkguest fetches it)\n",
		       pattern_);
		return;
	}
	depmod = !access("/sbin/depmod", X_OK) ? "/sbin/depmod" :
		 !access("/usr/sbin/depmod", X_OK) ? "/usr/sbin/depmod" : NULL;
	if (!depmod) {
		printf("test_run: mods_debian_tree SKIPPED: no depmod (apt-get install kmod)\n");
		globfree(&g);
		return;
	}
	tree = g.gl_pathv[g.gl_pathc - 1];
	snprintf(kver, sizeof(kver), "%s", strrchr(tree, '/') + 1);
	/* depmod into a base of our own: the tree's "kernel" linked, its lists copied */
	snprintf(base, sizeof(base), "%s/base/lib/modules/%s", tmpdir, kver);
	ck_assert_int_eq(run_sh("mkdir -p '%s' && ln -s '%s/kernel' '%s/kernel' && "
				"for f in modules.order modules.builtin modules.builtin.modinfo; do "
				"[ ! -e '%s'/$f ] || cp '%s'/$f '%s'/; done",
				base, tree, base, tree, tree, base),
			 0);
	ck_assert_int_eq(run_sh("%s -b '%s/base' '%s'", depmod, tmpdir, kver), 0);
	snprintf(path, sizeof(path), "%s/modules.dep", base);
	dep = slurp(path, NULL);
	ck_assert_msg(dep && *dep, "depmod wrote no %s", path);
	snprintf(path, sizeof(path), "%s/modules.builtin", base);
	builtin = slurp(path, NULL);
	printf("test_run: mods_debian_tree: %s, modules.dep of %zu bytes\n", tree, strlen(dep));

	rc = mods_resolve(dep, builtin, names, ARRAY_SIZE(names), &l, &missing);
	ck_assert_msg(rc == 0, "mods_resolve: %d (missing %s)", rc, missing ? missing : "-");
	for (unsigned int i = 0; i < l.n; i++) {
		struct stat st;

		printf("test_run:   %u %s\n", i, l.path[i]);
		snprintf(path, sizeof(path), "%s/%s", tree, l.path[i]);
		ck_assert_msg(!stat(path, &st) && S_ISREG(st.st_mode), "%s is not a file", path);
	}
	check_deps_first(dep, builtin, &l);
	ck_assert_int_ge(index_of(&l, "fuse.ko"), 0);
	ck_assert_int_lt(index_of(&l, "fuse.ko"), index_of(&l, "virtiofs.ko"));
	ck_assert_int_ge(index_of(&l, "overlay.ko"), 0);
	ck_assert_int_ge(index_of(&l, "virtio_pci.ko"), 0);
	if (index_of(&l, "virtio.ko") >= 0) {
		ck_assert_int_lt(index_of(&l, "virtio.ko"), index_of(&l, "virtio_pci.ko"));
		ck_assert_int_lt(index_of(&l, "virtio.ko"), index_of(&l, "virtiofs.ko"));
		ck_assert_int_lt(index_of(&l, "virtio_ring.ko"), index_of(&l, "virtio.ko"));
	}
	ck_assert_int_ge(index_of(&l, "virtio_net.ko"), 0); /* asked as virtio-net */
	mods_free(&l);
	/* what this kernel builds in is skipped, not missing */
	if (builtin && strstr(builtin, "/ext4.ko\n")) {
		ck_assert_int_eq(mods_resolve(dep, builtin, (const char *const[]){ "ext4" }, 1, &l, &missing),
				 0);
		ck_assert_uint_eq(l.n, 0);
	}
	ck_assert_int_eq(mods_resolve(dep, builtin, (const char *const[]){ "no_such_module" }, 1, &l,
				      &missing),
			 -ENOENT);
	free(dep);
	free(builtin);
	globfree(&g);
}
END_TEST

/* ---- run_chan ---- */

struct sink {
	const struct run_chan *chan;
	uint8_t *out[3];
	size_t len[3], cap[3];
	unsigned int calls;
	bool bad; /* called before hello, after the end, or with a bad stream */
};

static void sink_output(void *opaque, int stream, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;

	s->calls++;
	if ((stream != 1 && stream != 2) || !len || len > RUN_FRAME_MAX || !s->chan->hello ||
	    s->chan->exited || s->chan->failed || s->chan->broken) {
		s->bad = true;
		return;
	}
	if (s->len[stream] + len > s->cap[stream]) {
		s->cap[stream] = (s->len[stream] + len) * 2;
		s->out[stream] = realloc(s->out[stream], s->cap[stream]);
		ck_assert_ptr_nonnull(s->out[stream]);
	}
	memcpy(s->out[stream] + s->len[stream], buf, len);
	s->len[stream] += len;
}

static void sink_init(struct sink *s, struct run_chan *c)
{
	*s = (struct sink){ .chan = c };
	run_chan_init(c, sink_output, s);
}

static void sink_free(struct sink *s)
{
	free(s->out[1]);
	free(s->out[2]);
}

/* Append one frame: @type, a length of @len (what the header says), then @n bytes of @data. */
static size_t frame(uint8_t *buf, size_t at, uint8_t type, unsigned int len, const void *data, size_t n)
{
	buf[at] = type;
	buf[at + 1] = (uint8_t)len;
	buf[at + 2] = (uint8_t)(len >> 8);
	if (n)
		memcpy(buf + at + 3, data, n);
	return at + 3 + n;
}

#define FR(buf, at, type, str) frame(buf, at, type, sizeof(str) - 1, str, sizeof(str) - 1)

/* A well-behaved session; returns its length. */
static size_t good_stream(uint8_t *buf)
{
	static uint8_t bin[RUN_FRAME_MAX];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 13);
	n = frame(buf, n, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_STARTED, 0, NULL, 0);
	n = FR(buf, n, RUN_FRAME_STDOUT, "hello ");
	n = FR(buf, n, RUN_FRAME_STDERR, "warn\n");
	n = frame(buf, n, RUN_FRAME_STDOUT, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_STDERR, 0, NULL, 0);
	n = FR(buf, n, RUN_FRAME_STDOUT, "world\n");
	n = frame(buf, n, RUN_FRAME_STDOUT, sizeof(bin), bin, sizeof(bin));
	n = FR(buf, n, RUN_FRAME_STDERR, "\0\xff\x1b"); /* output is passed as it is */
	n = frame(buf, n, RUN_FRAME_EXIT, 1, "\x03", 1);
	return n;
}

static void check_good(const struct run_chan *c, const struct sink *s)
{
	ck_assert(!s->bad);
	ck_assert(c->hello);
	ck_assert(c->started);
	ck_assert(c->exited);
	ck_assert(!c->failed);
	ck_assert(!c->broken);
	ck_assert_uint_eq(c->status, 3);
	ck_assert_uint_eq(s->len[1], 12 + RUN_FRAME_MAX);
	ck_assert(!memcmp(s->out[1], "hello world\n", 12));
	for (size_t i = 0; i < RUN_FRAME_MAX; i++)
		if (s->out[1][12 + i] != (uint8_t)(i * 13))
			ck_abort_msg("stdout byte %zu", 12 + i);
	ck_assert_uint_eq(s->len[2], 8);
	ck_assert(!memcmp(s->out[2], "warn\n\0\xff\x1b", 8));
}

START_TEST(chan_one_piece)
{
	static uint8_t buf[8192];
	struct run_chan c;
	struct sink s;
	size_t n = good_stream(buf);

	sink_init(&s, &c);
	ck_assert(run_chan_feed(&c, buf, n));
	check_good(&c, &s);
	ck_assert_uint_eq(s.calls, 5);
	sink_free(&s);
}
END_TEST

START_TEST(chan_byte_by_byte)
{
	static uint8_t buf[8192];
	struct run_chan c;
	struct sink s;
	size_t n = good_stream(buf);

	sink_init(&s, &c);
	ck_assert(!run_chan_feed(&c, buf, 0));
	for (size_t i = 0; i < n; i++)
		if (run_chan_feed(&c, buf + i, 1) != (i == n - 1))
			ck_abort_msg("byte %zu", i);
	check_good(&c, &s);
	sink_free(&s);

	/* random pieces: the same */
	rng_state = 42;
	for (int round = 0; round < 200; round++) {
		size_t at = 0;

		sink_init(&s, &c);
		while (at < n) {
			size_t k = rng() % 5000;

			if (k > n - at)
				k = n - at;
			if (run_chan_feed(&c, buf + at, k) != (at + k == n))
				ck_abort_msg("round %d, at %zu", round, at);
			at += k;
		}
		check_good(&c, &s);
		sink_free(&s);
	}
}
END_TEST

START_TEST(chan_fail)
{
	uint8_t buf[64];
	struct run_chan c;
	struct sink s;
	size_t n;

	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = FR(buf, n, RUN_FRAME_FAIL, "exec ls: No such file");
	sink_init(&s, &c);
	/* split in the middle of the text: not over until the end of it */
	ck_assert(!run_chan_feed(&c, buf, n - 5));
	ck_assert(!c.failed);
	ck_assert(run_chan_feed(&c, buf + n - 5, 5));
	ck_assert(c.failed);
	ck_assert(!c.exited);
	ck_assert(!c.broken);
	ck_assert_str_eq(c.reason, "exec ls: No such file");
	ck_assert_uint_eq(c.reason_len, strlen(c.reason));
	ck_assert_uint_eq(s.calls, 0);

	/* zero-length F: a failure without a reason */
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_FAIL, 0, NULL, 0);
	sink_init(&s, &c);
	ck_assert(run_chan_feed(&c, buf, n));
	ck_assert(c.failed);
	ck_assert(!c.broken);
	ck_assert_str_eq(c.reason, "");
	ck_assert_uint_eq(c.reason_len, 0);

	/* exit 0, and exit with a signal's status */
	for (int st = 0; st < 256; st += 255) {
		uint8_t b = (uint8_t)st;

		n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
		n = frame(buf, n, RUN_FRAME_EXIT, 1, &b, 1);
		sink_init(&s, &c);
		ck_assert(run_chan_feed(&c, buf, n));
		ck_assert(c.exited && !c.broken && !c.failed);
		ck_assert_uint_eq(c.status, st);
	}
}
END_TEST

START_TEST(chan_fail_text_sanitized)
{
	static const char evil[] = "a\x1b[2Jb\nc\0d\x7f\xff\x80\te~";
	uint8_t buf[8192];
	char big[RUN_FRAME_MAX];
	struct run_chan c;
	struct sink s;
	size_t n;

	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_FAIL, sizeof(evil) - 1, evil, sizeof(evil) - 1);
	sink_init(&s, &c);
	ck_assert(run_chan_feed(&c, buf, n));
	ck_assert(c.failed);
	ck_assert_str_eq(c.reason, "a?[2Jb?c?d????e~");
	ck_assert_uint_eq(c.reason_len, sizeof(evil) - 1);

	/* the longest F: the reason is cut, still terminated, the frame still read to its end */
	memset(big, 'r', sizeof(big));
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_FAIL, sizeof(big), big, sizeof(big));
	sink_init(&s, &c);
	for (size_t i = 0; i < n - 1; i += 100)
		ck_assert(!run_chan_feed(&c, buf + i, MIN(100, n - 1 - i)));
	ck_assert(!c.failed);
	ck_assert(run_chan_feed(&c, buf + n - 1, 1));
	ck_assert(c.failed);
	ck_assert_uint_eq(c.reason_len, RUN_REASON_MAX - 1);
	ck_assert_uint_eq(strlen(c.reason), RUN_REASON_MAX - 1);
}
END_TEST

/* Feed @buf[0..n) to a fresh channel; it must end broken with nothing output. */
static void expect_broken(const uint8_t *buf, size_t n, const char *what)
{
	struct run_chan c;
	struct sink s;

	sink_init(&s, &c);
	ck_assert_msg(run_chan_feed(&c, buf, n), "%s: not over", what);
	ck_assert_msg(c.broken, "%s: not broken", what);
	ck_assert_msg(!c.exited && !c.failed, "%s: taken as an end", what);
	ck_assert_msg(s.calls == 0, "%s: %u outputs", what, s.calls);
	ck_assert_msg(c.reason_len && strlen(c.reason) == c.reason_len, "%s: no reason", what);
	/* and it stays so */
	ck_assert(run_chan_feed(&c, buf, n));
	ck_assert_uint_eq(s.calls, 0);
	sink_free(&s);
}

START_TEST(chan_hostile)
{
	uint8_t buf[8192], big[RUN_FRAME_MAX + 1] = { 0 };
	size_t n;

	n = FR(buf, 0, RUN_FRAME_STDOUT, "early");
	expect_broken(buf, n, "output before hello");
	n = frame(buf, 0, RUN_FRAME_STDERR, 0, NULL, 0);
	expect_broken(buf, n, "empty output before hello");
	n = frame(buf, 0, RUN_FRAME_EXIT, 1, "\0", 1);
	expect_broken(buf, n, "exit before hello");
	n = FR(buf, 0, RUN_FRAME_FAIL, "early");
	expect_broken(buf, n, "fail before hello");
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_HELLO, 0, NULL, 0);
	n = FR(buf, n, RUN_FRAME_STDOUT, "x");
	expect_broken(buf, n, "second hello");
	n = FR(buf, 0, RUN_FRAME_HELLO, "x");
	n = FR(buf, n, RUN_FRAME_STDOUT, "x");
	expect_broken(buf, n, "hello with payload");
	n = frame(buf, 0, RUN_FRAME_STARTED, 0, NULL, 0);
	expect_broken(buf, n, "started before hello");
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_STARTED, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_STARTED, 0, NULL, 0);
	expect_broken(buf, n, "second started");
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = FR(buf, n, RUN_FRAME_STARTED, "x");
	expect_broken(buf, n, "started with payload");
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = FR(buf, n, 'Z', "zz");
	expect_broken(buf, n, "unknown type");
	n = frame(buf, 0, 0, 0, NULL, 0);
	expect_broken(buf, n, "type 0");
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_STDOUT, RUN_FRAME_MAX + 1, big, sizeof(big));
	expect_broken(buf, n, "oversized output");
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_STDERR, 0xffff, big, sizeof(big));
	expect_broken(buf, n, "0xffff output");
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_FAIL, RUN_FRAME_MAX + 1, big, sizeof(big));
	expect_broken(buf, n, "oversized fail");
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_EXIT, 0, NULL, 0);
	expect_broken(buf, n, "exit, length 0");
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_EXIT, 2, "\0\0", 2);
	expect_broken(buf, n, "exit, length 2");
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = frame(buf, n, RUN_FRAME_EXIT, 0x100 + 1, big, 0x101);
	expect_broken(buf, n, "exit, length 257");
}
END_TEST

START_TEST(chan_after_the_end)
{
	uint8_t buf[256];
	struct run_chan c, copy;
	struct sink s;
	size_t n;

	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = FR(buf, n, RUN_FRAME_STDOUT, "in");
	n = frame(buf, n, RUN_FRAME_EXIT, 1, "\x07", 1);
	n = FR(buf, n, RUN_FRAME_STDOUT, "late");
	n = FR(buf, n, RUN_FRAME_FAIL, "late");
	n = frame(buf, n, RUN_FRAME_EXIT, 1, "\x09", 1);
	n = frame(buf, n, 'Z', 5, NULL, 0);
	sink_init(&s, &c);
	ck_assert(run_chan_feed(&c, buf, n));
	ck_assert(c.exited && !c.failed && !c.broken);
	ck_assert_uint_eq(c.status, 7);
	ck_assert_uint_eq(s.len[1], 2);
	ck_assert(!memcmp(s.out[1], "in", 2));
	copy = c;
	ck_assert(run_chan_feed(&c, buf, n));
	ck_assert(!memcmp(&copy, &c, sizeof(c)));
	ck_assert_uint_eq(s.calls, 1);
	sink_free(&s);

	/* after a failure too */
	n = frame(buf, 0, RUN_FRAME_HELLO, 0, NULL, 0);
	n = FR(buf, n, RUN_FRAME_FAIL, "why");
	n = FR(buf, n, RUN_FRAME_STDOUT, "late");
	n = frame(buf, n, RUN_FRAME_EXIT, 1, "\x09", 1);
	sink_init(&s, &c);
	ck_assert(run_chan_feed(&c, buf, n));
	ck_assert(c.failed && !c.exited && !c.broken);
	ck_assert_str_eq(c.reason, "why");
	ck_assert_uint_eq(s.calls, 0);
	sink_free(&s);
}
END_TEST

/* What is wrong with the channel's state, or NULL (no ck_assert here: it is called a million times). */
static const char *invariants(const struct run_chan *c, const struct sink *s, bool over)
{
	if (s->bad)
		return "output before hello, after the end, or malformed";
	if (over != (c->exited || c->failed || c->broken))
		return "feed's result disagrees with the state";
	if (c->reason_len >= RUN_REASON_MAX || strlen(c->reason) != c->reason_len)
		return "reason length";
	for (size_t i = 0; i < c->reason_len; i++)
		if (c->reason[i] < 0x20 || c->reason[i] >= 0x7f)
			return "unprintable reason";
	if (c->hdr_len > RUN_FRAME_HDR || c->left > 0xffff)
		return "frame state";
	if (s->calls && !c->hello)
		return "output without hello";
	return NULL;
}

START_TEST(chan_fuzz)
{
	static const uint8_t types[] = { RUN_FRAME_HELLO, RUN_FRAME_STARTED, RUN_FRAME_STDOUT, RUN_FRAME_STDERR,
					 RUN_FRAME_EXIT, RUN_FRAME_FAIL, 'Z', 0 };
	static uint8_t buf[16384];
	unsigned int ended = 0, outputs = 0;

	rng_state = 0x5eed5eed5eedULL;
	for (int iter = 0; iter < 100000; iter++) {
		struct run_chan c, copy;
		struct sink s;
		size_t n = 0, at = 0;
		bool over = false;
		int kind = iter % 3;

		if (kind == 0) {
			/* raw garbage */
			n = rng() % 64;
			for (size_t i = 0; i < n; i++)
				buf[i] = (uint8_t)rng();
		} else {
			/* frames, mostly plausible: hello first most of the time, lengths near the limits */
			if (kind == 1 || rng() % 4)
				n = frame(buf, n, RUN_FRAME_HELLO, 0, NULL, 0);
			while (n < sizeof(buf) - RUN_FRAME_MAX - 16 && rng() % 8) {
				uint8_t t = types[rng() % ARRAY_SIZE(types)];
				unsigned int len;
				size_t body;

				switch (rng() % 6) {
				case 0: len = 0; break;
				case 1: len = 1; break;
				case 2: len = RUN_FRAME_MAX + (unsigned int)(rng() % 3) - 1; break;
				case 3: len = (unsigned int)(rng() & 0xffff); break;
				default: len = (unsigned int)(rng() % 40); break;
				}
				body = MIN(len, (unsigned int)(sizeof(buf) - n - 3));
				if (rng() % 8 == 0)
					body = rng() % (body + 1); /* cut short */
				for (size_t i = 0; i < body; i++)
					buf[n + 3 + i] = (uint8_t)rng();
				n = frame(buf, n, t, len, NULL, 0) + body;
			}
		}
		sink_init(&s, &c);
		while (at < n || (at == 0 && n == 0)) {
			size_t k = rng() % 3 == 0 ? 1 : rng() % (n - at + 1);

			const char *bad;

			over = run_chan_feed(&c, buf + at, k);
			bad = invariants(&c, &s, over);
			if (bad)
				ck_abort_msg("iteration %d, at %zu of %zu: %s", iter, at, n, bad);
			at += k;
			if (n == 0)
				break;
		}
		if (over) {
			unsigned int calls = s.calls;

			copy = c;
			if (!run_chan_feed(&c, buf, n) || memcmp(&copy, &c, sizeof(c)) || s.calls != calls)
				ck_abort_msg("iteration %d: a channel that was over changed", iter);
			ended++;
		}
		outputs += s.calls;
		sink_free(&s);
	}
	/* the generator reached the interesting states */
	ck_assert_uint_gt(ended, 10000);
	ck_assert_uint_gt(outputs, 10000);
}
END_TEST

/* ---- run_opts_parse ---- */

static struct run_opts o;
static char outbuf[4096], errbuf[512];

static int parsev(const char *const *words)
{
	static char *argv[512];
	int argc = 0;
	FILE *out = fmemopen(outbuf, sizeof(outbuf), "w");
	FILE *err = fmemopen(errbuf, sizeof(errbuf), "w");
	int rc;

	argv[argc++] = (char *)"run";
	for (; *words; words++)
		argv[argc++] = (char *)*words;
	argv[argc] = NULL;
	memset(outbuf, 0, sizeof(outbuf));
	memset(errbuf, 0, sizeof(errbuf));
	rc = run_opts_parse(&o, argc, argv, out, err);
	fclose(out);
	fclose(err);
	return rc;
}

#define parse(...) parsev((const char *const[]){ __VA_ARGS__, NULL })

static void expect_argv(const char *const *want)
{
	unsigned int i;

	ck_assert_ptr_nonnull(o.argv);
	for (i = 0; want[i]; i++) {
		ck_assert_ptr_nonnull(o.argv[i]);
		ck_assert_str_eq(o.argv[i], want[i]);
	}
	ck_assert_ptr_null(o.argv[i]);
}

#define ARGV(...) expect_argv((const char *const[]){ __VA_ARGS__, NULL })

START_TEST(opts_defaults)
{
	ck_assert_int_eq(parse("true"), RUN_PARSE_OK);
	ck_assert_ptr_null(o.kernel);
	ck_assert_ptr_null(o.modules);
	ck_assert_str_eq(o.root, "/");
	ck_assert_uint_eq(o.nr_rw, 0);
	ck_assert_uint_eq(o.nr_env, 0);
	ck_assert_ptr_null(o.log);
	ck_assert_ptr_null(o.append);
	ck_assert_uint_eq(o.cpus, 1);
	ck_assert_uint_eq(o.memory, RUN_DEFAULT_MEMORY);
	ck_assert_uint_eq(o.memory, 512ULL << 20);
	ck_assert_uint_eq(o.timeout_s, 0);
	ck_assert(o.dax);
	ck_assert(!o.times);
	ck_assert_int_eq(o.strategy, SHM_STRATEGY_SLOT);
	ck_assert_int_eq(o.verbose, 0);
	ARGV("true");
	ck_assert_str_eq(errbuf, "");
}
END_TEST

START_TEST(opts_every_option)
{
	ck_assert_int_eq(parse("-k", "K", "--modules", "M", "--root", "/r", "--rw", "/a", "--rw", "/b",
			       "-e", "A=1", "--env", "B", "-p", "4", "-m", "2G", "-t", "30", "--log", "L",
			       "--append", "quiet loglevel=3", "--no-dax", "--times", "--shm-strategy", "window",
			       "-v", "--verbose", "--", "cmd", "arg"),
			 RUN_PARSE_OK);
	ck_assert_str_eq(o.kernel, "K");
	ck_assert_str_eq(o.modules, "M");
	ck_assert_str_eq(o.root, "/r");
	ck_assert_uint_eq(o.nr_rw, 2);
	ck_assert_str_eq(o.rw[0], "/a");
	ck_assert_str_eq(o.rw[1], "/b");
	ck_assert_uint_eq(o.nr_env, 2);
	ck_assert_str_eq(o.env[0], "A=1");
	ck_assert_str_eq(o.env[1], "B");
	ck_assert_uint_eq(o.cpus, 4);
	ck_assert_uint_eq(o.memory, 2ULL << 30);
	ck_assert_uint_eq(o.timeout_s, 30);
	ck_assert_str_eq(o.log, "L");
	ck_assert_str_eq(o.append, "quiet loglevel=3");
	ck_assert(!o.dax);
	ck_assert(o.times);
	ck_assert_int_eq(o.strategy, SHM_STRATEGY_WINDOW);
	ck_assert_int_eq(o.verbose, 2);
	ARGV("cmd", "arg");

	/* long options with '=', short ones glued or clustered */
	ck_assert_int_eq(parse("--kernel=K2", "--cpus=254", "--memory=64M", "--timeout=604800",
			       "--env=_x9=a=b", "--shm-strategy=slot", "-p2", "-vvv", "-e", "C=",
			       "--root=/", "x"),
			 RUN_PARSE_OK);
	ck_assert_str_eq(o.kernel, "K2");
	ck_assert_uint_eq(o.cpus, 2);
	ck_assert_uint_eq(o.memory, 64ULL << 20);
	ck_assert_uint_eq(o.timeout_s, 604800);
	ck_assert_uint_eq(o.nr_env, 2);
	ck_assert_str_eq(o.env[0], "_x9=a=b");
	ck_assert_str_eq(o.env[1], "C=");
	ck_assert_int_eq(o.strategy, SHM_STRATEGY_SLOT);
	ck_assert_int_eq(o.verbose, 3);
	ck_assert(o.dax);
	ARGV("x");

	/* RUN_MAX_RW and RUN_MAX_ENV exactly */
	ck_assert_int_eq(parse("--rw", "1", "--rw", "2", "--rw", "3", "--rw", "4", "--rw", "5", "--rw",
			       "6", "x"),
			 RUN_PARSE_OK);
	ck_assert_uint_eq(o.nr_rw, RUN_MAX_RW);
	ck_assert_str_eq(o.rw[RUN_MAX_RW - 1], "6");
}
END_TEST

START_TEST(opts_help)
{
	ck_assert_int_eq(parse("--help"), RUN_PARSE_EXIT);
	ck_assert(strstr(outbuf, "Usage: shmvm run"));
	ck_assert_int_eq(parse("-p", "2", "-h", "ls"), RUN_PARSE_EXIT);
	ck_assert(strstr(outbuf, "Usage: shmvm run"));
	ck_assert_str_eq(errbuf, "");
}
END_TEST

START_TEST(opts_errors_name_the_option)
{
	static const struct {
		const char *args[5];
		const char *needle;
	} cases[] = {
		{ { "--cpus", "0", "ls" }, "--cpus" },
		{ { "-p", "255", "ls" }, "--cpus" },
		{ { "--cpus", "2x", "ls" }, "'2x'" },
		{ { "--timeout", "x", "ls" }, "--timeout" },
		{ { "-t", "0", "ls" }, "--timeout" },
		{ { "-t", "604801", "ls" }, "--timeout" },
		{ { "--memory", "0", "ls" }, "--memory" },
		{ { "-m", "lots", "ls" }, "--memory" },
		{ { "--env", "1A=b", "ls" }, "--env '1A=b'" },
		{ { "--env", "=x", "ls" }, "--env '=x'" },
		{ { "-e", "", "ls" }, "--env" },
		{ { "-e", "A-B=1", "ls" }, "--env 'A-B=1'" },
		{ { "-e", "A B", "ls" }, "--env" },
		{ { "--shm-strategy", "slots", "ls" }, "--shm-strategy" },
		{ { "--bogus", "ls" }, "--bogus" },
		{ { "--bogus=1", "ls" }, "--bogus" },
		{ { "-x", "ls" }, "-x" },
		{ { "-vx", "ls" }, "-x" },
		{ { "-xv", "ls" }, "-x" },
		{ { "--no-dax=1", "ls" }, "--no-dax" },
		{ { "--cpus" }, "--cpus" },
		{ { "-p" }, "-p" },
		{ { "-v", "--env" }, "--env" },
		{ { "--timeout" }, "needs a value" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *const *a = cases[i].args;

		ck_assert_msg(parsev(a) == -EINVAL, "case %zu accepted", i);
		ck_assert_msg(strstr(errbuf, cases[i].needle), "case %zu: '%s' lacks '%s'", i, errbuf,
			      cases[i].needle);
		ck_assert_msg(strchr(errbuf, '\n') == errbuf + strlen(errbuf) - 1, "one line: '%s'",
			      errbuf);
	}
}
END_TEST

START_TEST(opts_too_many)
{
	const char *a[2 * (RUN_MAX_ENV + 1) + 2];
	unsigned int n = 0;

	ck_assert_int_eq(parse("--rw", "1", "--rw", "2", "--rw", "3", "--rw", "4", "--rw", "5", "--rw",
			       "6", "--rw", "7", "x"),
			 -EINVAL);
	ck_assert(strstr(errbuf, "--rw"));
	for (unsigned int i = 0; i <= RUN_MAX_ENV; i++) {
		a[n++] = "-e";
		a[n++] = "V=1";
	}
	a[n++] = "x";
	a[n] = NULL;
	ck_assert_int_eq(parsev(a), -EINVAL);
	ck_assert(strstr(errbuf, "--env"));
	a[n - 3] = "x"; /* RUN_MAX_ENV exactly */
	a[n - 2] = NULL;
	ck_assert_int_eq(parsev(a), RUN_PARSE_OK);
	ck_assert_uint_eq(o.nr_env, RUN_MAX_ENV);
}
END_TEST

START_TEST(opts_command_words)
{
	ck_assert_int_eq(parse("--", "ls", "-l"), RUN_PARSE_OK);
	ARGV("ls", "-l");
	ck_assert_int_eq(parse("ls", "-l"), RUN_PARSE_OK);
	ARGV("ls", "-l");
	ck_assert_int_eq(o.verbose, 0);
	/* after the command, options are the command's */
	ck_assert_int_eq(parse("-p", "2", "ls", "--help"), RUN_PARSE_OK);
	ck_assert_uint_eq(o.cpus, 2);
	ARGV("ls", "--help");
	ck_assert_int_eq(parse("ls", "-p", "3", "-v", "--cpus", "0", "--bogus"), RUN_PARSE_OK);
	ck_assert_uint_eq(o.cpus, 1);
	ck_assert_int_eq(o.verbose, 0);
	ARGV("ls", "-p", "3", "-v", "--cpus", "0", "--bogus");
	/* a '--' after the command is the command's */
	ck_assert_int_eq(parse("-v", "--", "sh", "--", "-c"), RUN_PARSE_OK);
	ck_assert_int_eq(o.verbose, 1);
	ARGV("sh", "--", "-c");
	/* after '--', a word that looks like an option is the command */
	ck_assert_int_eq(parse("--", "-v"), RUN_PARSE_OK);
	ck_assert_int_eq(o.verbose, 0);
	ARGV("-v");
	ck_assert_int_eq(parse("--", "--"), RUN_PARSE_OK);
	ARGV("--");
	ck_assert_int_eq(parse("-e", "X", "--", "env"), RUN_PARSE_OK);
	ck_assert_str_eq(o.env[0], "X");
	ARGV("env");
	/* the value of an option may look like an option or a command */
	ck_assert_int_eq(parse("--append", "--foo", "--log", "ls", "true"), RUN_PARSE_OK);
	ck_assert_str_eq(o.append, "--foo");
	ck_assert_str_eq(o.log, "ls");
	ARGV("true");
	/* '-' alone is a command word */
	ck_assert_int_eq(parse("-", "x"), RUN_PARSE_OK);
	ARGV("-", "x");
}
END_TEST

START_TEST(opts_parse_again)
{
	/* Each parse starts afresh, whatever the one before left behind in getopt. */
	ck_assert_int_eq(parse("-xv", "ls"), -EINVAL);
	ck_assert_int_eq(parse("true"), RUN_PARSE_OK);
	ck_assert_int_eq(o.verbose, 0);
	ARGV("true");
	ck_assert_int_eq(parse("-vp", "4", "-e", "A=1", "x"), RUN_PARSE_OK);
	ck_assert_int_eq(parse("y"), RUN_PARSE_OK);
	ck_assert_uint_eq(o.cpus, 1);
	ck_assert_uint_eq(o.nr_env, 0);
	ck_assert_int_eq(o.verbose, 0);
	ARGV("y");
	ck_assert_int_eq(parse("-h"), RUN_PARSE_EXIT);
	ck_assert_int_eq(parse("--no-dax", "z"), RUN_PARSE_OK);
	ck_assert(!o.dax);
	ck_assert_int_eq(parse("z"), RUN_PARSE_OK);
	ck_assert(o.dax);
}
END_TEST

/* ---- run_guest_path ---- */

START_TEST(guest_path)
{
	static const char p1[] = "/a/b/c";

	ck_assert_str_eq(run_guest_path("/", "/"), "/");
	ck_assert_str_eq(run_guest_path("/", "/home/u/src"), "/home/u/src");
	ck_assert_str_eq(run_guest_path("/a/b", "/a/b"), "/");
	ck_assert_str_eq(run_guest_path("/a/b", p1), "/c");
	ck_assert_ptr_eq(run_guest_path("/a/b", p1), p1 + 4); /* into the path */
	ck_assert_str_eq(run_guest_path("/a/b", "/a/b/c/d"), "/c/d");
	ck_assert_ptr_null(run_guest_path("/a/b", "/a/bc"));
	ck_assert_ptr_null(run_guest_path("/a/b", "/a/bc/d"));
	ck_assert_ptr_null(run_guest_path("/a/b", "/a"));
	ck_assert_ptr_null(run_guest_path("/a/b", "/"));
	ck_assert_ptr_null(run_guest_path("/a/b", "/x/a/b"));
	ck_assert_ptr_null(run_guest_path("/a/b", "/a/"));
}
END_TEST

/* ---- run_spec_build ---- */

struct rec {
	char key;
	const char *val;
};

/* Split a spec into records; every one is a known key, a value, a NUL. */
static unsigned int spec_records(const char *buf, size_t len, struct rec *r, unsigned int max)
{
	unsigned int n = 0;
	size_t at = 0;

	ck_assert_uint_gt(len, 0);
	ck_assert_msg(buf[len - 1] == '\0', "the spec does not end with a NUL");
	while (at < len) {
		const char *nul = memchr(buf + at, '\0', len - at);

		ck_assert_ptr_nonnull(nul);
		ck_assert_msg(nul > buf + at, "empty record at %zu", at);
		ck_assert_msg(strchr("aedmowt", buf[at]), "unknown key '%c'", buf[at]);
		ck_assert_uint_lt(n, max);
		r[n].key = buf[at];
		r[n].val = buf + at + 1;
		n++;
		at = (size_t)(nul - buf) + 1;
	}
	return n;
}

static unsigned int count_key(const struct rec *r, unsigned int n, char key)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++)
		k += r[i].key == key;
	return k;
}

static bool has_rec(const struct rec *r, unsigned int n, char key, const char *val)
{
	for (unsigned int i = 0; i < n; i++)
		if (r[i].key == key && !strcmp(r[i].val, val))
			return true;
	return false;
}

static unsigned int count_env(const struct rec *r, unsigned int n, const char *name)
{
	size_t len = strlen(name);
	unsigned int k = 0;

	for (unsigned int i = 0; i < n; i++)
		k += r[i].key == 'e' && !strncmp(r[i].val, name, len) && r[i].val[len] == '=';
	return k;
}

static char *const test_environ[] = {
	(char *)"PATHX=1",  (char *)"PATH=/usr/bin:/bin", (char *)"HOME=/root",
	(char *)"LC_ALL=C.UTF-8", (char *)"SECRET=hunter2", (char *)"TERM=xterm",
	(char *)"LC_=odd",  (char *)"PAT=short", (char *)"USER", (char *)"LANG=",
	(char *)"AWS_KEY=k", NULL,
};

START_TEST(spec_records_in_order)
{
	static const char *const mod_paths[] = { "kernel/fs/fuse/fuse.ko", "kernel/fs/fuse/virtiofs.ko.xz",
						 "plain.ko" };
	struct mod_list mods = { 0 };
	struct run_share shares[2] = {
		{ .host = (char *)"/data/x", .tag = "shmvm-rw0" },
		{ .host = (char *)"/srv/a/b", .tag = "shmvm-rw1" },
	};
	struct rec r[64];
	unsigned int n, i;
	char *buf;
	size_t len;

	shares[0].guest = shares[0].host;
	shares[1].guest = shares[1].host + 4; /* --root /srv */
	for (i = 0; i < ARRAY_SIZE(mod_paths); i++)
		mods.path[mods.n++] = strdup(mod_paths[i]);
	ck_assert_int_eq(parse("-e", "FOO=bar", "-e", "PATH=/override", "-e", "HOME", "-e", "SECRET",
			       "-e", "NOPE", "-e", "PAT", "ls", "-l", "a b", ""),
			 RUN_PARSE_OK);
	ck_assert_int_eq(run_spec_build(&o, test_environ, "/home/u", &mods, shares, 2, &buf, &len), 0);
	n = spec_records(buf, len, r, ARRAY_SIZE(r));

	/* the command first, in order, an empty argument kept */
	ck_assert_uint_eq(count_key(r, n, 'a'), 4);
	ck_assert(r[0].key == 'a' && !strcmp(r[0].val, "ls"));
	ck_assert(r[1].key == 'a' && !strcmp(r[1].val, "-l"));
	ck_assert(r[2].key == 'a' && !strcmp(r[2].val, "a b"));
	ck_assert(r[3].key == 'a' && !strcmp(r[3].val, ""));

	/* the environment: the fixed list, and --env over the caller's */
	ck_assert_uint_eq(count_env(r, n, "PATH"), 1);
	ck_assert(has_rec(r, n, 'e', "PATH=/override"));
	ck_assert_uint_eq(count_env(r, n, "HOME"), 1);
	ck_assert(has_rec(r, n, 'e', "HOME=/root"));
	ck_assert(has_rec(r, n, 'e', "LC_ALL=C.UTF-8"));
	ck_assert(has_rec(r, n, 'e', "TERM=xterm"));
	ck_assert(has_rec(r, n, 'e', "LANG="));
	ck_assert(has_rec(r, n, 'e', "FOO=bar"));
	ck_assert(has_rec(r, n, 'e', "SECRET=hunter2")); /* asked for by name */
	ck_assert(has_rec(r, n, 'e', "PAT=short"));      /* not PATH's value */
	ck_assert_uint_eq(count_env(r, n, "PAT"), 1);
	ck_assert_uint_eq(count_env(r, n, "NOPE"), 0);
	ck_assert_uint_eq(count_env(r, n, "PATHX"), 0);
	ck_assert_uint_eq(count_env(r, n, "LC_"), 0);
	ck_assert_uint_eq(count_env(r, n, "AWS_KEY"), 0);
	ck_assert(!has_rec(r, n, 'e', "USER"));
	ck_assert_uint_eq(count_key(r, n, 'e'), 8);
	for (i = 0; i < n; i++)
		ck_assert_msg(r[i].key != 'e' || strchr(r[i].val, '='), "env '%s' without '='", r[i].val);

	/* then one cwd, the modules' base names in order, the root's options, the shares */
	ck_assert_uint_eq(count_key(r, n, 'd'), 1);
	ck_assert(has_rec(r, n, 'd', "/home/u"));
	i = 4 + 8;
	ck_assert_int_eq(r[i].key, 'd');
	ck_assert(r[i + 1].key == 'm' && !strcmp(r[i + 1].val, "fuse.ko"));
	ck_assert(r[i + 2].key == 'm' && !strcmp(r[i + 2].val, "virtiofs.ko.xz"));
	ck_assert(r[i + 3].key == 'm' && !strcmp(r[i + 3].val, "plain.ko"));
	ck_assert(r[i + 4].key == 'o' && !strcmp(r[i + 4].val, "dax=always"));
	ck_assert(r[i + 5].key == 'w' && !strcmp(r[i + 5].val, "shmvm-rw0=/data/x"));
	ck_assert(r[i + 6].key == 'w' && !strcmp(r[i + 6].val, "shmvm-rw1=/a/b"));
	ck_assert_uint_eq(n, i + 7);
	free(buf);

	/* without the --env NAME, SECRET stays here; without DAX, empty root options */
	ck_assert_int_eq(parse("--no-dax", "-e", "PATH", "true"), RUN_PARSE_OK);
	ck_assert_int_eq(run_spec_build(&o, test_environ, "/", NULL, NULL, 0, &buf, &len), 0);
	n = spec_records(buf, len, r, ARRAY_SIZE(r));
	ck_assert_uint_eq(count_env(r, n, "SECRET"), 0);
	ck_assert_uint_eq(count_env(r, n, "PATH"), 1);
	ck_assert(has_rec(r, n, 'e', "PATH=/usr/bin:/bin"));
	ck_assert(has_rec(r, n, 'e', "HOME=/root"));
	ck_assert_uint_eq(count_key(r, n, 'm'), 0);
	ck_assert_uint_eq(count_key(r, n, 'w'), 0);
	ck_assert_uint_eq(count_key(r, n, 'o'), 1);
	ck_assert(has_rec(r, n, 'o', ""));
	ck_assert(!has_rec(r, n, 'o', "dax=always"));
	ck_assert(has_rec(r, n, 'd', "/"));
	free(buf);

	/* no environment at all */
	ck_assert_int_eq(parse("-e", "A=1", "true"), RUN_PARSE_OK);
	ck_assert_int_eq(run_spec_build(&o, NULL, "/", &mods, NULL, 0, &buf, &len), 0);
	n = spec_records(buf, len, r, ARRAY_SIZE(r));
	ck_assert_uint_eq(count_key(r, n, 'e'), 1);
	ck_assert(has_rec(r, n, 'e', "A=1"));
	free(buf);
	mods_free(&mods);
}
END_TEST

/* No command: the caller's $SHELL (else sh); a terminal's size is a 't' record. */
START_TEST(spec_shell_and_tty)
{
	static char *const with_shell[] = { (char *)"SHELL=/bin/bash", (char *)"SHELL_X=no", NULL };
	static char *const odd_shell[] = { (char *)"SHELL=bash", NULL };
	struct rec r[32];
	size_t len, n;
	char *buf;

	ck_assert_int_eq(parse("-p", "2"), RUN_PARSE_OK);
	ck_assert_ptr_null(o.argv[0]);
	ck_assert_int_eq(run_spec_build(&o, with_shell, "/", NULL, NULL, 0, &buf, &len), 0);
	n = spec_records(buf, len, r, ARRAY_SIZE(r));
	ck_assert_uint_eq(count_key(r, n, 'a'), 1);
	ck_assert(has_rec(r, n, 'a', "/bin/bash"));
	ck_assert_uint_eq(count_key(r, n, 't'), 0);
	free(buf);

	/* no $SHELL, or one that is not a path: sh, found on PATH */
	ck_assert_int_eq(parse("--"), RUN_PARSE_OK);
	ck_assert_int_eq(run_spec_build(&o, odd_shell, "/", NULL, NULL, 0, &buf, &len), 0);
	n = spec_records(buf, len, r, ARRAY_SIZE(r));
	ck_assert(has_rec(r, n, 'a', "sh"));
	free(buf);
	ck_assert_int_eq(run_spec_build(&o, NULL, "/", NULL, NULL, 0, &buf, &len), 0);
	n = spec_records(buf, len, r, ARRAY_SIZE(r));
	ck_assert_uint_eq(count_key(r, n, 'a'), 1);
	ck_assert(has_rec(r, n, 'a', "sh"));
	free(buf);

	/* a command given: it, not the shell; with a terminal, its size */
	ck_assert_int_eq(parse("--", "top", "-b"), RUN_PARSE_OK);
	o.tty_rows = 30;
	o.tty_cols = 100;
	ck_assert_int_eq(run_spec_build(&o, with_shell, "/", NULL, NULL, 0, &buf, &len), 0);
	n = spec_records(buf, len, r, ARRAY_SIZE(r));
	ck_assert_uint_eq(count_key(r, n, 'a'), 2);
	ck_assert(has_rec(r, n, 'a', "top"));
	ck_assert(!has_rec(r, n, 'a', "/bin/bash"));
	ck_assert_uint_eq(count_key(r, n, 't'), 1);
	ck_assert(has_rec(r, n, 't', "30x100"));
	free(buf);
}
END_TEST

START_TEST(spec_large)
{
	/* more than the first allocation: the buffer grows and nothing is lost */
	static char arg[300][201];
	const char *words[302];
	struct rec *r = calloc(400, sizeof(*r));
	char *buf;
	size_t len;
	unsigned int n;

	ck_assert_ptr_nonnull(r);
	for (unsigned int i = 0; i < 300; i++) {
		memset(arg[i], 'a' + i % 26, 200);
		snprintf(arg[i], 8, "%03u", i);
		arg[i][3] = '-';
		words[i] = arg[i];
	}
	words[300] = NULL;
	ck_assert_int_eq(parsev(words), RUN_PARSE_OK);
	ck_assert_int_eq(run_spec_build(&o, test_environ, "/", NULL, NULL, 0, &buf, &len), 0);
	n = spec_records(buf, len, r, 400);
	for (unsigned int i = 0; i < 300; i++) {
		ck_assert_int_eq(r[i].key, 'a');
		ck_assert_str_eq(r[i].val, arg[i]);
	}
	ck_assert_uint_eq(count_key(r, n, 'a'), 300);
	free(buf);
	free(r);
}
END_TEST

static Suite *run_suite(void)
{
	Suite *s = suite_create("run");
	TCase *tc;

	tc = tcase_create("cpio");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, cpio_fields);
	tcase_add_test(tc, cpio_empty_archive);
	tcase_add_test(tc, cpio_refusals);
	tcase_add_test(tc, cpio_growth);
	tcase_add_test(tc, cpio_debian_cpio);
	suite_add_tcase(s, tc);

	tc = tcase_create("modules");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, mods_order);
	tcase_add_test(tc, mods_builtin_and_missing);
	tcase_add_test(tc, mods_broken_trees);
	tcase_add_test(tc, mods_too_many);
	tcase_add_test(tc, mods_debian_tree);
	suite_add_tcase(s, tc);

	tc = tcase_create("channel");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, chan_one_piece);
	tcase_add_test(tc, chan_byte_by_byte);
	tcase_add_test(tc, chan_fail);
	tcase_add_test(tc, chan_fail_text_sanitized);
	tcase_add_test(tc, chan_hostile);
	tcase_add_test(tc, chan_after_the_end);
	tcase_add_test(tc, chan_fuzz);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_add_test(tc, opts_defaults);
	tcase_add_test(tc, opts_every_option);
	tcase_add_test(tc, opts_help);
	tcase_add_test(tc, opts_errors_name_the_option);
	tcase_add_test(tc, opts_too_many);
	tcase_add_test(tc, opts_command_words);
	tcase_add_test(tc, opts_parse_again);
	suite_add_tcase(s, tc);

	tc = tcase_create("guest_path");
	tcase_add_test(tc, guest_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("spec");
	tcase_add_test(tc, spec_records_in_order);
	tcase_add_test(tc, spec_shell_and_tty);
	tcase_add_test(tc, spec_large);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(run_suite)
