// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the ELF parsers of `shmvm run --kernel DIR`
 * (vmm/run/ktree.c): ktree_modinfo_parse() on a .ko of a build tree and
 * ktree_elf_has_pvh_note() on its vmlinux, both untrusted files. The input
 * is the whole file, copied into a buffer of exactly its size so that
 * AddressSanitizer sees any read past its end. On success, name= and
 * depends= point inside the file, right after their keys, and hold no NUL.
 * The same bytes as text go to ktree_order_find() (modules.order) and
 * ktree_config_value() (.config): a path found stays inside the tree.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "vmm/run/ktree.h"

/* [p, p + len) lies in [b, b + size), right after @key, and holds no NUL. */
static void check_value(const uint8_t *b, size_t size, const char *p, size_t len, const char *key)
{
	const uint8_t *u = (const uint8_t *)p;
	size_t klen = strlen(key);

	if (u < b + klen || u > b + size || len > (size_t)(b + size - u) ||
	    memcmp(u - klen, key, klen) || memchr(u, '\0', len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *b = malloc(size ? size : 1);
	char *text = malloc(size + 1), path[256];
	struct ktree_modinfo mi;
	const char *why = NULL;
	int rc;

	if (!b || !text)
		abort();
	memcpy(b, data, size);
	rc = ktree_modinfo_parse(b, size, &mi, &why);
	if (rc) {
		if (rc != -ENOEXEC || !why || mi.name || mi.depends)
			abort();
	} else {
		if (!mi.depends)
			abort();
		check_value(b, size, mi.depends, mi.depends_len, "depends=");
		if (mi.name)
			check_value(b, size, mi.name, mi.name_len, "name=");
	}
	(void)ktree_elf_has_pvh_note(b, size);

	memcpy(text, data, size);
	text[size] = '\0';
	for (const char *const *n = (const char *const[]){ "a", "virtio_pci", "x-y", NULL }; *n; n++) {
		rc = ktree_order_find(text, *n, path, sizeof(path));
		if (!rc && (path[0] == '/' || strstr(path, "/../") || !strncmp(path, "../", 3) ||
			    strlen(path) < 4 || strcmp(path + strlen(path) - 3, ".ko")))
			abort();
		if (rc && rc != -ENOENT && rc != -EINVAL && rc != -ENAMETOOLONG)
			abort();
	}
	rc = ktree_config_value(text, "VIRTIO_FS");
	if (rc != 0 && rc != 'y' && rc != 'm' && rc != '?')
		abort();
	free(text);
	free(b);
	return 0;
}
