// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm-probe: is /dev/kvm usable for shmvm? Creates a VM, enters 64-bit long
 * mode with paging on and expects a port write of a known value within a
 * few seconds. Exit 0: usable. 1: not usable (reason on stderr).
 * Also a KVM-suite test: it fails where KVM is broken and skips (77) where
 * there is none.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE (4u << 20)
#define CODE 0x100000
#define PROBE_PORT 0x501
#define PROBE_VALUE 0x5a

static int fail(const char *what)
{
	fprintf(stderr, "kvm-probe: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	/* mov rax, 0x1122334455667788; mov [0x200008], rax; mov al, 0x5a; mov dx, 0x501; out dx, al; hlt */
	static const uint8_t code[] = {
		0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
		0x48, 0x89, 0x04, 0x25, 0x08, 0x00, 0x20, 0x00,
		0xb0, PROBE_VALUE, 0x66, 0xba, PROBE_PORT & 0xff, PROBE_PORT >> 8, 0xee, 0xf4,
	};
	const char *path = argc > 1 ? argv[1] : "/dev/kvm";
	struct kvm_segment cs = { .base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
				  .present = 1, .s = 1, .l = 1, .g = 1 };
	struct kvm_segment ds = { .base = 0, .limit = 0xffffffff, .selector = 16, .type = 3,
				  .present = 1, .s = 1, .db = 1, .g = 1 };
	struct kvm_userspace_memory_region region = { 0 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = CODE, .rflags = 2, .rsp = 0x8000 };
	struct kvm_run *run;
	uint64_t *pt;
	uint8_t *mem;
	int kvm, vm, vcpu, size;

	alarm(10); /* a KVM that hangs the guest is not usable either */
	kvm = open(path, O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "kvm-probe: %s: %s\n", path, strerror(errno));
		return errno == ENOENT ? 77 : 1;
	}
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return fail("KVM_GET_API_VERSION");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail("mmap");
	memcpy(mem + CODE, code, sizeof(code));
	/* Identity map of 4 MiB with 2 MiB pages: PML4 at 0x1000, PDPT 0x2000, PD 0x3000. */
	pt = (uint64_t *)(mem + 0x1000);
	pt[0] = 0x2000 | 3;
	pt = (uint64_t *)(mem + 0x2000);
	pt[0] = 0x3000 | 3;
	pt = (uint64_t *)(mem + 0x3000);
	pt[0] = 0x000000 | 0x83;
	pt[1] = 0x200000 | 0x83;
	region.memory_size = MEM_SIZE;
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || size <= 0)
		return fail("KVM_CREATE_VCPU");
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail("KVM_GET_SREGS");
	sregs.cs = cs;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = ds;
	sregs.cr3 = 0x1000;
	sregs.cr4 = 0x20;	  /* PAE */
	sregs.cr0 = 0x80000011;	  /* PG | ET | PE */
	sregs.efer = 0x500;	  /* LMA | LME */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail("KVM_SET_SREGS");
	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail("KVM_RUN");
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != PROBE_PORT ||
	    *((uint8_t *)run + run->io.data_offset) != PROBE_VALUE ||
	    *(uint64_t *)(mem + 0x200008) != 0x1122334455667788ULL) {
		fprintf(stderr, "kvm-probe: %s: long-mode guest did not run (exit reason %u)\n",
			path, run->exit_reason);
		return 1;
	}
	printf("kvm-probe: %s runs a long-mode guest\n", path);
	return 0;
}
