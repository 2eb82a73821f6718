// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/boot_images.h"
#include "vmm/pvh.h"

/* ---- a synthetic bzImage, written at the raw offsets of boot.rst ---- */

const struct bz_spec bz_good = {
    .setup_sects = 4,
    .version = 0x020f,
    .xloadflags = 0x7f,
    .loadflags = 0x01,
    .relocatable = 1,
    .syssize_bytes = 64 * 1024,
    .init_size = 4 * 1024 * 1024,
    .pref_address = 0x1000000,
    .initrd_addr_max = 0x7fffffff,
    .cmdline_size = 2047,
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t bz_setup_bytes(const struct bz_spec *s)
{
	return ((size_t)(s->setup_sects ? s->setup_sects : 4) + 1) * 512;
}

uint8_t *bz_build(const struct bz_spec *s, size_t *len)
{
	size_t setup = bz_setup_bytes(s);
	uint8_t *b;

	*len = setup + s->syssize_bytes + s->extra;
	b = calloc(1, *len);
	ck_assert_ptr_nonnull(b);
	b[0x1f1] = s->setup_sects;
	put32(b + 0x1f4, s->syssize_bytes / 16);
	b[0x200] = 0xeb;
	b[0x201] = 0x6a; /* header ends at 0x26c, like 6.1 */
	memcpy(b + 0x202, "HdrS", 4);
	put16(b + 0x206, s->version);
	b[0x211] = s->loadflags;
	put32(b + 0x22c, s->initrd_addr_max);
	put32(b + 0x230, 0x200000);
	b[0x234] = s->relocatable;
	put16(b + 0x236, s->xloadflags);
	put32(b + 0x238, s->cmdline_size);
	put32(b + 0x258, (uint32_t)s->pref_address);
	put32(b + 0x25c, (uint32_t)(s->pref_address >> 32));
	put32(b + 0x260, s->init_size);
	for (size_t i = 0; i < s->syssize_bytes; i++)
		b[setup + i] = (uint8_t)(i * 7 + 1);
	memset(b + setup + s->syssize_bytes, 0xee, s->extra);
	return b;
}

/* ---- a synthetic vmlinux: one PT_LOAD at 16 MiB, one PT_NOTE ---- */

const struct elf_spec elf_good = {
    .note = true,
    .descsz = 4,
    .paddr = SEG_PADDR,
    .filesz = SEG_FILESZ,
    .offset = SEG_OFF,
};

static size_t note_put(uint8_t *p, const char *name, uint32_t type, const void *desc, uint32_t dsz)
{
	Elf64_Nhdr nh = {.n_namesz = (uint32_t)strlen(name) + 1, .n_descsz = dsz, .n_type = type};
	size_t off = sizeof(nh);

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + off, name, nh.n_namesz);
	off += (nh.n_namesz + 3) & ~3u;
	memcpy(p + off, desc, dsz);
	off += (dsz + 3) & ~3u;
	return off;
}

uint8_t *elf_build(const struct elf_spec *s, size_t *len)
{
	uint8_t *b;
	Elf64_Ehdr eh = {
	    .e_type = ET_EXEC,
	    .e_machine = EM_X86_64,
	    .e_version = EV_CURRENT,
	    .e_entry = 0xffffffff81000000ULL,
	    .e_phoff = sizeof(Elf64_Ehdr),
	    .e_ehsize = sizeof(Elf64_Ehdr),
	    .e_phentsize = sizeof(Elf64_Phdr),
	    .e_phnum = 2,
	};
	Elf64_Phdr ph[2] = {
	    {
		.p_type = PT_LOAD,
		.p_offset = s->offset,
		.p_vaddr = 0xffffffff81000000ULL,
		.p_paddr = s->paddr,
		.p_filesz = s->filesz,
		.p_memsz = SEG_MEMSZ,
	    },
	    {.p_type = PT_NOTE, .p_offset = NOTE_OFF},
	};
	uint32_t fn = 0x1234, e32 = (uint32_t)ENTRY;
	uint64_t e64 = ENTRY;
	size_t n = 0;

	*len = SEG_OFF + SEG_FILESZ;
	b = calloc(1, *len);
	ck_assert_ptr_nonnull(b);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;

	/* Notes Linux also carries, before the one that matters. */
	n += note_put(b + NOTE_OFF + n, "Xen", 6, "linux", 6);
	n += note_put(b + NOTE_OFF + n, "Linux", 0x100, &fn, 4);
	n += note_put(b + NOTE_OFF + n, "Xen", 17, &fn, 4);
	if (s->note)
		n += note_put(b + NOTE_OFF + n, "Xen", XEN_ELFNOTE_PHYS32_ENTRY,
			      s->descsz == 8 ? (const void *)&e64 : (const void *)&e32, s->descsz);
	ph[1].p_filesz = ph[1].p_memsz = n;

	memcpy(b, &eh, sizeof(eh));
	memcpy(b + sizeof(eh), ph, sizeof(ph));
	for (size_t i = 0; i < SEG_FILESZ; i++)
		b[SEG_OFF + i] = (uint8_t)(i * 13 + 5);
	return b;
}
