// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "vmm/run/initramfs.h"

/* newc: "070701", 13 fields of 8 hex digits, the name, padding to 4 bytes, the data, padding. */
#define CPIO_HDR 110

static int cpio_reserve(struct cpio *c, size_t more)
{
	size_t cap = c->cap ? c->cap : 64 * 1024;
	uint8_t *p;

	if (more > SIZE_MAX - c->len)
		return -ENOMEM;
	while (cap < c->len + more) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	if (cap == c->cap)
		return 0;
	p = realloc(c->buf, cap);
	if (!p)
		return -ENOMEM;
	c->buf = p;
	c->cap = cap;
	return 0;
}

static void cpio_pad(struct cpio *c)
{
	while (c->len % 4)
		c->buf[c->len++] = 0;
}

static int cpio_entry(struct cpio *c, const char *name, mode_t mode, dev_t rdev, const void *data,
		      size_t size)
{
	size_t namesz = strlen(name) + 1;
	char hdr[CPIO_HDR + 1];
	int rc;

	if (size > UINT32_MAX || namesz > 4096)
		return -EFBIG;
	rc = cpio_reserve(c, CPIO_HDR + namesz + 3 + size + 3);
	if (rc)
		return rc;
	snprintf(hdr, sizeof(hdr),
		 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08zX%08X",
		 ++c->next_ino, (unsigned int)mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u,
		 (unsigned int)size, 0u, 0u, major(rdev), minor(rdev), namesz, 0u);
	memcpy(c->buf + c->len, hdr, CPIO_HDR);
	c->len += CPIO_HDR;
	memcpy(c->buf + c->len, name, namesz);
	c->len += namesz;
	cpio_pad(c);
	if (size)
		memcpy(c->buf + c->len, data, size);
	c->len += size;
	cpio_pad(c);
	return 0;
}

int cpio_add(struct cpio *c, const char *name, mode_t mode, const void *data, size_t size)
{
	if (!S_ISDIR(mode) && !S_ISREG(mode))
		return -EINVAL;
	return cpio_entry(c, name, mode, 0, S_ISREG(mode) ? data : NULL, S_ISREG(mode) ? size : 0);
}

int cpio_add_chardev(struct cpio *c, const char *name, mode_t perm, unsigned int maj,
		     unsigned int min)
{
	return cpio_entry(c, name, S_IFCHR | (perm & 07777), makedev(maj, min), NULL, 0);
}

int cpio_finish(struct cpio *c)
{
	return cpio_entry(c, "TRAILER!!!", 0, 0, NULL, 0);
}

void cpio_free(struct cpio *c)
{
	free(c->buf);
	*c = (struct cpio){ 0 };
}

/* ---- modules ---- */

#define MOD_NAME_MAX 64
#define MOD_DEPTH_MAX 16

/* The module name of a path: basename up to ".ko", '-' as '_'. */
static bool mod_name(const char *path, size_t len, char out[MOD_NAME_MAX])
{
	const char *base = path, *end;
	size_t n;

	for (size_t i = 0; i < len; i++)
		if (path[i] == '/')
			base = path + i + 1;
	end = base;
	while (end + 3 <= path + len && strncmp(end, ".ko", 3))
		end++;
	if (end + 3 > path + len)
		return false;
	n = (size_t)(end - base);
	if (!n || n >= MOD_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = base[i] == '-' ? '_' : base[i];
	out[n] = '\0';
	return true;
}

static void name_norm(const char *in, char out[MOD_NAME_MAX])
{
	size_t i;

	for (i = 0; in[i] && i < MOD_NAME_MAX - 1; i++)
		out[i] = in[i] == '-' ? '_' : in[i];
	out[i] = '\0';
}

/* The line of @text whose first path (up to @stop, or the line's end) is module @name. */
static const char *find_line(const char *text, const char *name, char stop, size_t *path_len)
{
	for (const char *l = text; l && *l;) {
		const char *eol = strchr(l, '\n');
		size_t len = eol ? (size_t)(eol - l) : strlen(l);
		const char *s = stop ? memchr(l, stop, len) : NULL;
		size_t plen = s ? (size_t)(s - l) : len;
		char n[MOD_NAME_MAX];

		if (mod_name(l, plen, n) && !strcmp(n, name)) {
			*path_len = plen;
			return l;
		}
		l = eol ? eol + 1 : NULL;
	}
	return NULL;
}

static bool listed(const struct mod_list *l, const char *path, size_t len)
{
	for (unsigned int i = 0; i < l->n; i++)
		if (strlen(l->path[i]) == len && !strncmp(l->path[i], path, len))
			return true;
	return false;
}

static int visit(const char *dep, const char *builtin, const char *name, unsigned int depth,
		 struct mod_list *out)
{
	size_t plen;
	const char *line = find_line(dep, name, ':', &plen);
	const char *p, *eol;
	int rc;

	if (depth > MOD_DEPTH_MAX)
		return -ELOOP;
	if (!line) {
		if (builtin && find_line(builtin, name, 0, &plen))
			return 0;
		return -ENOENT;
	}
	if (listed(out, line, plen))
		return 0;
	/* Dependencies first; each of them is a path on the same line after the colon. */
	eol = strchr(line, '\n');
	if (!eol)
		eol = line + strlen(line);
	for (p = line + plen + 1; p < eol;) {
		const char *q;
		char n[MOD_NAME_MAX];

		while (p < eol && (*p == ' ' || *p == '\t'))
			p++;
		for (q = p; q < eol && *q != ' ' && *q != '\t';)
			q++;
		if (q > p) {
			if (!mod_name(p, (size_t)(q - p), n))
				return -EINVAL;
			rc = visit(dep, builtin, n, depth + 1, out);
			if (rc == -ENOENT)
				return -EINVAL; /* modules.dep names a module it does not list */
			if (rc)
				return rc;
		}
		p = q;
	}
	if (listed(out, line, plen))
		return 0; /* a dependency cycle reached it already */
	if (out->n == MODS_MAX)
		return -E2BIG;
	out->path[out->n] = strndup(line, plen);
	if (!out->path[out->n])
		return -ENOMEM;
	out->n++;
	return 0;
}

int mods_resolve(const char *modules_dep, const char *builtin, const char *const *names,
		 unsigned int nr_names, struct mod_list *out, const char **missing)
{
	char want[MOD_NAME_MAX];

	*out = (struct mod_list){ 0 };
	*missing = NULL;
	for (unsigned int i = 0; i < nr_names; i++) {
		int rc;

		name_norm(names[i], want);
		rc = visit(modules_dep, builtin, want, 0, out);
		if (rc) {
			if (rc == -ENOENT)
				*missing = names[i];
			mods_free(out);
			return rc;
		}
	}
	return 0;
}

void mods_free(struct mod_list *l)
{
	for (unsigned int i = 0; i < l->n; i++)
		free(l->path[i]);
	*l = (struct mod_list){ 0 };
}
