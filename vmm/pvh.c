// SPDX-License-Identifier: GPL-2.0-only
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "util/log.h"
#include "vmm/pvh.h"
#include "vmm/x86_boot.h"

/* Linux's command line limit on x86 (COMMAND_LINE_SIZE); PVH has no header to say. */
#define PVH_CMDLINE_MAX 2047

bool pvh_detect(const uint8_t *buf, size_t len)
{
	return len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

static bool file_range_ok(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

/* Walk the notes in [off, off + size) of @buf for Xen's PHYS32_ENTRY. */
static int pvh_find_entry(const uint8_t *buf, uint64_t off, uint64_t size, uint64_t *entry)
{
	uint64_t end = off + size;

	while (end - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		uint64_t name_off, desc_off, next;

		memcpy(&nh, buf + off, sizeof(nh));
		name_off = off + sizeof(nh);
		/* Notes are 4-byte aligned in vmlinux, ELF64 or not. */
		desc_off = name_off + ALIGN_UP((uint64_t)nh.n_namesz, 4ULL);
		next = desc_off + ALIGN_UP((uint64_t)nh.n_descsz, 4ULL);
		if (desc_off > end || nh.n_descsz > end - desc_off)
			return -ENOEXEC;
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    memcmp(buf + name_off, "Xen", 4) == 0) {
			uint32_t v32;
			uint64_t v64;

			if (nh.n_descsz == 4) {
				memcpy(&v32, buf + desc_off, 4);
				*entry = v32;
			} else if (nh.n_descsz == 8) {
				memcpy(&v64, buf + desc_off, 8);
				*entry = v64;
			} else {
				return -ENOEXEC;
			}
			return 0;
		}
		if (next > end)
			break;
		off = next;
	}
	return -ENOENT;
}

int pvh_parse(const char *name, const uint8_t *buf, size_t len, const struct guest_mem *m,
	      struct pvh_image *img)
{
	Elf64_Ehdr eh;
	bool have_entry = false, have_load = false;
	int rc;

	memset(img, 0, sizeof(*img));
	if (len < sizeof(eh) || !pvh_detect(buf, len)) {
		log_err("%s: not an ELF file", name);
		return -ENOEXEC;
	}
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64) {
		log_err("%s: not a little-endian ELF64 x86-64 file", name);
		return -ENOEXEC;
	}
	if (eh.e_type != ET_EXEC) {
		log_err("%s: ELF type %u is not an executable", name, eh.e_type);
		return -ENOEXEC;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
	    !file_range_ok(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), len)) {
		log_err("%s: bad ELF program header table (offset 0x%llx, %u entries of %u bytes)",
			name, (unsigned long long)eh.e_phoff, eh.e_phnum, eh.e_phentsize);
		return -ENOEXEC;
	}

	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, buf + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD) {
			if (!file_range_ok(ph.p_offset, ph.p_filesz, len) ||
			    ph.p_filesz > ph.p_memsz) {
				log_err("%s: segment %u (offset 0x%llx, %llu bytes) lies outside "
					"the file",
					name, i, (unsigned long long)ph.p_offset,
					(unsigned long long)ph.p_filesz);
				return -ENOEXEC;
			}
			if (ph.p_memsz == 0)
				continue;
			if (ph.p_paddr < BOOT_HIGH_ADDR ||
			    !mem_gpa_to_hva(m, ph.p_paddr, ph.p_memsz)) {
				log_err("%s: segment %u at 0x%llx (%llu bytes) is outside guest "
					"RAM above 1 MiB",
					name, i, (unsigned long long)ph.p_paddr,
					(unsigned long long)ph.p_memsz);
				return -ENOEXEC;
			}
			have_load = true;
			img->load_end = MAX(img->load_end, ph.p_paddr + ph.p_memsz);
		} else if (ph.p_type == PT_NOTE && !have_entry) {
			if (!file_range_ok(ph.p_offset, ph.p_filesz, len)) {
				log_err("%s: note segment %u lies outside the file", name, i);
				return -ENOEXEC;
			}
			rc = pvh_find_entry(buf, ph.p_offset, ph.p_filesz, &img->entry);
			if (rc == -ENOEXEC) {
				log_err("%s: malformed ELF note in segment %u", name, i);
				return rc;
			}
			have_entry = rc == 0;
		}
	}
	if (!have_load) {
		log_err("%s: ELF file has no loadable segment", name);
		return -ENOEXEC;
	}
	if (!have_entry) {
		log_err("%s: no PVH entry point (Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY): kernel "
			"built without CONFIG_PVH?",
			name);
		return -ENOEXEC;
	}
	if (img->entry >= MEM_HOLE_START || !mem_gpa_to_hva(m, img->entry, 1)) {
		log_err("%s: PVH entry point 0x%llx is not in guest RAM below 3 GiB", name,
			(unsigned long long)img->entry);
		return -ENOEXEC;
	}
	return 0;
}

static int pvh_segments_load(struct guest_mem *m, const struct boot_blob *kernel)
{
	Elf64_Ehdr eh;

	memcpy(&eh, kernel->data, sizeof(eh));
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint8_t *dst;

		memcpy(&ph, kernel->data + eh.e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		dst = mem_gpa_to_hva(m, ph.p_paddr, ph.p_memsz); /* checked by pvh_parse() */
		if (!dst)
			return -EFAULT;
		memcpy(dst, kernel->data + ph.p_offset, ph.p_filesz);
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	return 0;
}

int pvh_load(struct guest_mem *m, const struct pvh_image *img, const struct boot_blob *kernel,
	     const struct boot_blob *initrd, const char *cmdline, const struct e820_table *t,
	     struct boot_entry *e)
{
	uint64_t low_end = boot_low_ram_end(m);
	struct hvm_start_info si = {
	    .magic = XEN_HVM_START_MAGIC_VALUE,
	    .version = 1,
	    .cmdline_paddr = BOOT_CMDLINE_ADDR,
	    .memmap_paddr = PVH_MEMMAP_ADDR,
	    .memmap_entries = t->nr,
	};
	struct hvm_modlist_entry mod = {0};
	struct hvm_memmap_table_entry *mm;
	void *p;
	int rc;

	if (initrd) {
		uint64_t top = MIN(low_end, MEM_HOLE_START);

		if (initrd->size > top || ALIGN_DOWN(top - initrd->size, 4096ULL) < img->load_end) {
			log_err("%s: initrd does not fit: %zu bytes between the kernel's end "
				"0x%llx and 0x%llx",
				initrd->name, initrd->size, (unsigned long long)img->load_end,
				(unsigned long long)top);
			return -ENOMEM;
		}
		mod.paddr = ALIGN_DOWN(top - initrd->size, 4096ULL);
		mod.size = initrd->size;
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_ADDR;
	}
	rc = boot_cmdline_write(m, kernel->name, cmdline, PVH_CMDLINE_MAX);
	if (rc)
		return rc;
	rc = pvh_segments_load(m, kernel);
	if (!rc && initrd)
		rc = boot_blob_copy(m, mod.paddr, initrd);
	if (rc)
		return rc;

	p = mem_gpa_to_hva(m, PVH_MODLIST_ADDR, sizeof(mod));
	mm = mem_gpa_to_hva(m, PVH_MEMMAP_ADDR, (uint64_t)t->nr * sizeof(*mm));
	if (!p || !mm || PVH_MEMMAP_ADDR + t->nr * sizeof(*mm) > BOOT_START_INFO_ADDR + 4096)
		return -EFAULT;
	memcpy(p, &mod, sizeof(mod));
	for (unsigned int i = 0; i < t->nr; i++)
		mm[i] = (struct hvm_memmap_table_entry){
		    .addr = t->e[i].addr,
		    .size = t->e[i].size,
		    .type = t->e[i].type,
		};
	p = mem_gpa_to_hva(m, BOOT_START_INFO_ADDR, sizeof(si));
	if (!p)
		return -EFAULT;
	memcpy(p, &si, sizeof(si));

	e->mode = BOOT_MODE_PVH32;
	e->rip = img->entry;
	e->rbx = BOOT_START_INFO_ADDR;
	e->rsp = BOOT_STACK_TOP;
	return 0;
}
