/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one door to KVM: every ioctl goes through kvm_ioctl(), which logs the
 * ioctl's name on failure and checks at compile time that the argument's
 * size matches the size encoded in the request number.
 */
#ifndef SHMVM_VMM_KVM_H
#define SHMVM_VMM_KVM_H

#include <linux/kvm.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include "util/compiler.h"

/* ioctl(2) with -errno on failure and a log line naming @name. */
long kvm_do_ioctl(int fd, unsigned long req, void *arg, const char *name);

/* @argp must point to an object of exactly the size encoded in @req. */
#define kvm_ioctl(fd, req, argp)                                                                   \
	__extension__({                                                                            \
		_Static_assert(_IOC_SIZE(req) == sizeof(*(argp)), "argument size of " #req);      \
		kvm_do_ioctl(fd, req, (void *)(argp), #req);                                      \
	})

/* For ioctls whose argument is a plain value or has a variable-length tail. */
#define kvm_ioctl_val(fd, req, val) kvm_do_ioctl(fd, req, (void *)(uintptr_t)(val), #req)

/* Like kvm_ioctl_val, but failure is expected by the caller: no log line. */
long kvm_ioctl_quiet(int fd, unsigned long req, unsigned long val);

struct kvm_sys {
	int fd;          /* /dev/kvm */
	int vcpu_mmap_size;
	uint32_t nr_memslots;
};

/*
 * Open @path (normally /dev/kvm), check the API version and every
 * capability shmvm relies on; the error names the missing one.
 */
int kvm_sys_open(struct kvm_sys *k, const char *path) __must_check;
void kvm_sys_close(struct kvm_sys *k);

/* The CPUID leaves KVM can virtualise; caller frees. */
int kvm_supported_cpuid(struct kvm_sys *k, struct kvm_cpuid2 **out) __must_check;

#endif
