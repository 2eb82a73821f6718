// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for `shmvm run`'s module resolver (vmm/initramfs.c
 * mods_resolve()) on arbitrary modules.dep and modules.builtin text (a
 * module tree is the user's, but it is parsed, not trusted). On success,
 * each path resolved is the first path of a modules.dep line, appears once,
 * and comes after every dependency its line names that modules.dep lists
 * (checked with a parser of this harness's own); on failure nothing is
 * left, and only -ENOENT names a missing module, one that was asked for.
 * Input: module names (separated by '\n', at most 8), NUL, modules.dep,
 * NUL, modules.builtin (absent without the second NUL).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/run/initramfs.h"

#define NAMES_MAX 8

/* The module name of path [p, p + len): basename up to ".ko", '-' as '_'; false if none. */
static bool name_of(const char *p, size_t len, char *out, size_t cap)
{
	size_t b = 0, e;

	for (size_t i = 0; i < len; i++)
		if (p[i] == '/')
			b = i + 1;
	for (e = b; e + 3 <= len && memcmp(p + e, ".ko", 3); e++)
		;
	if (e + 3 > len || e == b || e - b >= cap)
		return false;
	for (size_t i = b; i < e; i++)
		out[i - b] = p[i] == '-' ? '_' : p[i];
	out[e - b] = '\0';
	return true;
}

/* The first line of @dep whose first path names module @name: its start and path length. */
static const char *line_of(const char *dep, const char *name, size_t *plen)
{
	for (const char *l = dep; *l;) {
		const char *eol = strchr(l, '\n');
		size_t len = eol ? (size_t)(eol - l) : strlen(l);
		const char *colon = memchr(l, ':', len);
		char n[64];

		*plen = colon ? (size_t)(colon - l) : len;
		if (name_of(l, *plen, n, sizeof(n)) && !strcmp(n, name))
			return l;
		if (!eol)
			break;
		l = eol + 1;
	}
	return NULL;
}

static int index_of(const struct mod_list *l, const char *p, size_t len)
{
	for (unsigned int i = 0; i < l->n; i++)
		if (strlen(l->path[i]) == len && !memcmp(l->path[i], p, len))
			return (int)i;
	return -1;
}

static void check(const char *dep, const struct mod_list *l)
{
	if (l->n > MODS_MAX)
		abort();
	for (unsigned int i = 0; i < l->n; i++) {
		const char *p = l->path[i], *line, *eol, *t;
		size_t plen, len = strlen(p);
		char n[64];

		if (!name_of(p, len, n, sizeof(n)) || index_of(l, p, len) != (int)i)
			abort(); /* not a module path, or twice */
		line = line_of(dep, n, &plen);
		if (!line || plen != len || memcmp(line, p, len))
			abort(); /* not the path modules.dep gives for its name */
		eol = strchr(line, '\n');
		if (!eol)
			eol = line + strlen(line);
		for (t = line + plen + 1; t < eol;) {
			const char *q;
			size_t dlen;
			const char *dline;

			while (t < eol && (*t == ' ' || *t == '\t'))
				t++;
			for (q = t; q < eol && *q != ' ' && *q != '\t'; q++)
				;
			if (q > t) {
				if (!name_of(t, (size_t)(q - t), n, sizeof(n)))
					abort(); /* an unparsable dependency was accepted */
				dline = line_of(dep, n, &dlen);
				if (dline) {
					int at = index_of(l, dline, dlen);

					if (at < 0 || (unsigned int)at >= i)
						abort(); /* a dependency missing or after its user
							  */
				}
			}
			t = q;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 2), *dep, *builtin = NULL, *nl;
	const char *names[NAMES_MAX], *missing = "unset";
	unsigned int nr = 0;
	struct mod_list l;
	int rc;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = text[size + 1] = '\0';
	dep = memchr(text, '\0', size + 1);
	if (dep < text + size) {
		builtin = memchr(dep + 1, '\0', (size_t)(text + size - dep));
		builtin = builtin < text + size ? builtin + 1 : NULL;
	}
	dep++;
	for (char *p = text; *p && nr < NAMES_MAX; p = nl + 1) {
		names[nr++] = p;
		nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = '\0';
	}
	rc = mods_resolve(dep, builtin, names, nr, &l, &missing);
	if (rc) {
		bool asked = false;

		for (unsigned int i = 0; i < nr; i++)
			asked |= missing == names[i];
		if (l.n || (rc == -ENOENT) != (missing != NULL) || (missing && !asked))
			abort();
	} else {
		if (missing)
			abort();
		check(dep, &l);
		mods_free(&l);
	}
	free(text);
	return 0;
}
