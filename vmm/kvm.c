// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/kvm.h"

long kvm_do_ioctl(int fd, unsigned long req, void *arg, const char *name)
{
	long rc;

	do
		rc = ioctl(fd, req, arg);
	while (rc < 0 && errno == EINTR && req != KVM_RUN);
	if (rc < 0) {
		rc = -errno;
		/*
		 * KVM_RUN returns -EINTR when kicked and -EAGAIN for a vCPU still waiting
		 * for SIPI; -EFAULT is the vCPU's to handle (and the guest's to repeat).
		 */
		if (req != KVM_RUN || (rc != -EINTR && rc != -EAGAIN && rc != -EFAULT))
			log_err("%s: %s", name, strerror((int)-rc));
	}
	return rc;
}

long kvm_ioctl_quiet(int fd, unsigned long req, unsigned long val)
{
	long rc = ioctl(fd, req, val);

	return rc < 0 ? -errno : rc;
}

/* Everything shmvm needs from KVM, named as in <linux/kvm.h>. */
static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI" },
	{ KVM_CAP_READONLY_MEM, "KVM_CAP_READONLY_MEM" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

int kvm_sys_open(struct kvm_sys *k, const char *path)
{
	long v;
	int rc;

	memset(k, 0, sizeof(*k));
	k->fd = open(path, O_RDWR | O_CLOEXEC);
	if (k->fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			log_err("%s: no such device (is the kvm module loaded? try tools/with-kvm)",
				path);
		else if (rc == -EACCES || rc == -EPERM)
			log_err("%s: permission denied (add yourself to the 'kvm' group)", path);
		else
			log_err("%s: %s", path, strerror(-rc));
		return rc;
	}
	v = kvm_ioctl_quiet(k->fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		log_err("%s: KVM API version %ld, shmvm needs %d", path, v, KVM_API_VERSION);
		rc = -ENOTSUP;
		goto err_close;
	}
	for (size_t i = 0; i < ARRAY_SIZE(required_caps); i++) {
		if (kvm_ioctl_quiet(k->fd, KVM_CHECK_EXTENSION, (unsigned long)required_caps[i].cap) <= 0) {
			log_err("%s: KVM lacks %s, which shmvm needs", path, required_caps[i].name);
			rc = -ENOTSUP;
			goto err_close;
		}
	}
	k->nr_memslots = (uint32_t)kvm_ioctl_quiet(k->fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	k->vcpu_mmap_size = (int)kvm_ioctl_quiet(k->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		log_err("%s: KVM_GET_VCPU_MMAP_SIZE returned %d", path, k->vcpu_mmap_size);
		rc = -ENOTSUP;
		goto err_close;
	}
	return 0;

err_close:
	close(k->fd);
	k->fd = -1;
	return rc;
}

void kvm_sys_close(struct kvm_sys *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
}

int kvm_supported_cpuid(struct kvm_sys *k, struct kvm_cpuid2 **out)
{
	/* Grow the buffer until KVM stops answering E2BIG. */
	for (uint32_t n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		long rc;

		if (!c)
			return -ENOMEM;
		c->nent = n;
		rc = kvm_ioctl_quiet(k->fd, KVM_GET_SUPPORTED_CPUID, (unsigned long)c);
		if (rc == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (rc != -E2BIG) {
			log_err("KVM_GET_SUPPORTED_CPUID: %s", strerror((int)-rc));
			return (int)rc;
		}
	}
	return -E2BIG;
}
