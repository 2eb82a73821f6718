// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/boot.h"
#include "vmm/bzimage.h"
#include "vmm/e820.h"
#include "vmm/mptable.h"
#include "vmm/pvh.h"
#include "vmm/x86_boot.h"

uint64_t boot_low_ram_end(const struct guest_mem *m)
{
	if (m->nr_regions == 0 || m->regions[0].gpa != 0)
		return 0;
	return m->regions[0].size;
}

int boot_blob_copy(struct guest_mem *m, uint64_t gpa, const struct boot_blob *b)
{
	void *dst;

	if (b->size == 0)
		return 0;
	dst = mem_gpa_to_hva(m, gpa, b->size);
	if (!dst) {
		log_err("%s: %zu bytes at 0x%llx fall outside guest RAM", b->name, b->size,
			(unsigned long long)gpa);
		return -EFAULT;
	}
	memcpy(dst, b->data, b->size);
	return 0;
}

int boot_cmdline_write(struct guest_mem *m, const char *kname, const char *cmdline,
		       uint64_t max_len)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	char *dst;

	max_len = MIN(max_len, BOOT_CMDLINE_MAX - 1);
	if (len > max_len) {
		log_err("%s: command line is %zu bytes, the kernel accepts at most %llu", kname,
			len, (unsigned long long)max_len);
		return -E2BIG;
	}
	dst = mem_gpa_to_hva(m, BOOT_CMDLINE_ADDR, len + 1);
	if (!dst)
		return -EFAULT;
	memcpy(dst, cmdline ? cmdline : "", len);
	dst[len] = '\0';
	return 0;
}

static int flat_load(struct guest_mem *m, const struct boot_blob *kernel, struct boot_entry *e)
{
	int rc;

	if (kernel->size > BOOT_FLAT_MAX) {
		log_err("%s: flat binary is %zu bytes, at most %llu supported", kernel->name,
			kernel->size, (unsigned long long)BOOT_FLAT_MAX);
		return -EFBIG;
	}
	rc = boot_blob_copy(m, BOOT_HIGH_ADDR, kernel);
	if (rc)
		return rc;
	e->mode = BOOT_MODE_FLAT64;
	e->rip = BOOT_HIGH_ADDR;
	e->rsp = BOOT_STACK_TOP;
	return 0;
}

int boot_load_blobs(struct guest_mem *m, const struct boot_blob *kernel,
		    const struct boot_blob *initrd, const char *cmdline, unsigned int ncpus,
		    bool flat, struct boot_entry *e)
{
	struct e820_table t;
	struct bzimage bz;
	struct pvh_image img;
	bool pvh = false;
	int rc;

	memset(e, 0, sizeof(*e));
	if (ncpus == 0 || ncpus > MPTABLE_MAX_CPUS) {
		log_err("boot: %u vCPUs: between 1 and %u supported", ncpus, MPTABLE_MAX_CPUS);
		return -EINVAL;
	}
	if (boot_low_ram_end(m) < MEM_MIN_SIZE) {
		log_err("boot: guest RAM below 4 GiB is smaller than %llu MiB",
			(unsigned long long)(MEM_MIN_SIZE / MiB));
		return -EINVAL;
	}

	/* Recognise and check the kernel before writing anything. */
	if (flat) {
		if (initrd)
			log_warn("%s: flat binary: initrd %s ignored", kernel->name, initrd->name);
	} else if (bzimage_detect(kernel->data, kernel->size)) {
		rc = bzimage_parse(kernel->name, kernel->data, kernel->size, &bz);
		if (rc)
			return rc;
	} else if (pvh_detect(kernel->data, kernel->size)) {
		rc = pvh_parse(kernel->name, kernel->data, kernel->size, m, &img);
		if (rc)
			return rc;
		pvh = true;
	} else {
		log_err("%s: unknown kernel format: neither a bzImage (\"HdrS\" at 0x202) nor an "
			"ELF file",
			kernel->name);
		return -ENOEXEC;
	}

	rc = e820_build(m, &t);
	if (!rc)
		rc = mptable_write(m, ncpus);
	if (!rc)
		rc = x86_page_tables_write(m);
	if (!rc)
		rc = x86_gdt_write(m, !pvh);
	if (rc) {
		log_err("boot: cannot write the boot structures: %s", strerror(-rc));
		return rc;
	}

	if (flat)
		rc = flat_load(m, kernel, e);
	else if (pvh)
		rc = pvh_load(m, &img, kernel, initrd, cmdline, &t, e);
	else
		rc = bzimage_load(m, &bz, kernel, initrd, cmdline, &t, e);
	if (rc)
		return rc;
	e->cr3 = pvh ? 0 : BOOT_PML4_ADDR;
	e->gdt_base = BOOT_GDT_ADDR;
	e->gdt_limit = BOOT_GDT_LIMIT;
	return 0;
}

/* Map @path read-only into @b; an empty file is an error. */
static int boot_file_map(const char *path, const char *what, struct boot_blob *b)
{
	struct stat st;
	void *p;
	int fd, rc;

	b->name = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		log_err("%s: cannot open %s: %s", path, what, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		log_err("%s: cannot stat %s: %s", path, what, strerror(-rc));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		rc = -EINVAL;
		log_err("%s: %s is %s", path, what,
			S_ISREG(st.st_mode) ? "empty" : "not a regular file");
		goto err_close;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		rc = -errno;
		log_err("%s: cannot map %s: %s", path, what, strerror(-rc));
		goto err_close;
	}
	close(fd);
	b->data = p;
	b->size = (size_t)st.st_size;
	return 0;

err_close:
	close(fd);
	return rc;
}

static void boot_file_unmap(struct boot_blob *b)
{
	if (b->data)
		munmap((void *)b->data, b->size);
	b->data = NULL;
}

int boot_load(struct guest_mem *m, const struct boot_cfg *cfg, struct boot_entry *e)
{
	struct boot_blob kernel = {0}, initrd = {0};
	int rc;

	rc = boot_file_map(cfg->kernel, "kernel", &kernel);
	if (rc)
		return rc;
	if (cfg->initrd) {
		rc = boot_file_map(cfg->initrd, "initrd", &initrd);
		if (rc)
			goto err_kernel;
	}
	rc = boot_load_blobs(m, &kernel, cfg->initrd ? &initrd : NULL, cfg->cmdline, cfg->ncpus,
			     cfg->flat, e);
	boot_file_unmap(&initrd);
err_kernel:
	boot_file_unmap(&kernel);
	return rc;
}

void boot_entry_regs(const struct boot_entry *e, struct kvm_sregs *s, struct kvm_regs *r)
{
	if (e->mode == BOOT_MODE_PVH32)
		x86_sregs_protected_mode(s);
	else
		x86_sregs_long_mode(s, e->cr3);
	s->gdt.base = e->gdt_base;
	s->gdt.limit = e->gdt_limit;

	memset(r, 0, sizeof(*r));
	r->rflags = 0x2; /* reserved bit 1; interrupts off */
	r->rip = e->rip;
	r->rsp = e->rsp;
	r->rsi = e->rsi;
	r->rbx = e->rbx;
}
