// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/exits.h"

const char *const exit_kind_name[NR_EXIT_KINDS] = {
	[EXIT_ALL] = "exits",	    [EXIT_IO] = "io",		     [EXIT_MMIO] = "mmio",
	[EXIT_HALT] = "halt",	    [EXIT_IRQ] = "irq",		     [EXIT_IRQ_WINDOW] = "irq_window",
	[EXIT_SIGNAL] = "signal",
};

/* KVM's names for them (x86, Linux 5.14 on). */
static const char *const kvm_name[NR_EXIT_KINDS] = {
	[EXIT_ALL] = "exits",		 [EXIT_IO] = "io_exits",
	[EXIT_MMIO] = "mmio_exits",	 [EXIT_HALT] = "halt_exits",
	[EXIT_IRQ] = "irq_exits",	 [EXIT_IRQ_WINDOW] = "irq_window_exits",
	[EXIT_SIGNAL] = "signal_exits",
};

/* Descriptors past this are not looked at: a vCPU has about 60. */
#define STATS_MAX_HEAD (256 << 10)

int exit_stats_parse(struct exit_stats *s, const void *buf, size_t len)
{
	struct kvm_stats_header h;
	size_t entry;

	memset(s->have, 0, sizeof(s->have));
	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, buf, sizeof(h)); /* fields copied out: nothing in @buf need be aligned */
	if (!h.name_size || h.name_size > 4096)
		return -EINVAL;
	entry = sizeof(struct kvm_stats_desc) + h.name_size;
	for (uint64_t i = 0; i < h.num_desc; i++) {
		uint64_t at = h.desc_offset + i * entry;
		struct kvm_stats_desc d;
		const char *name;

		if (at + entry > len)
			return -EINVAL;
		memcpy(&d, (const char *)buf + at, sizeof(d));
		name = (const char *)buf + at + sizeof(d);
		if (!memchr(name, '\0', h.name_size) || d.size != 1 ||
		    (d.flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE)
			continue;
		for (int k = 0; k < NR_EXIT_KINDS; k++) {
			if (strcmp(name, kvm_name[k]))
				continue;
			if ((uint64_t)h.data_offset + d.offset > UINT32_MAX - 8)
				return -EINVAL;
			s->off[k] = h.data_offset + d.offset;
			s->have[k] = true;
		}
	}
	return s->have[EXIT_ALL] ? 0 : -ENOENT;
}

void exit_stats_open(struct exit_stats *s, int vcpu_fd)
{
	struct kvm_stats_header h;
	size_t len;
	void *buf;

	memset(s, 0, sizeof(*s));
	s->fd = ioctl(vcpu_fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0) {
		s->fd = -1;
		return;
	}
	if (pread(s->fd, &h, sizeof(h), 0) != sizeof(h))
		goto none;
	len = (size_t)h.desc_offset + (size_t)h.num_desc * (sizeof(struct kvm_stats_desc) + h.name_size);
	if (len > STATS_MAX_HEAD || !(buf = malloc(len)))
		goto none;
	if (pread(s->fd, buf, len, 0) != (ssize_t)len || exit_stats_parse(s, buf, len)) {
		free(buf);
		goto none;
	}
	free(buf);
	return;
none:
	close(s->fd);
	s->fd = -1;
}

void exit_stats_close(struct exit_stats *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

void exit_stats_count(struct exit_stats *s, uint32_t exit_reason)
{
	int k;

	switch (exit_reason) {
	case KVM_EXIT_IO:
		k = EXIT_IO;
		break;
	case KVM_EXIT_MMIO:
		k = EXIT_MMIO;
		break;
	case KVM_EXIT_HLT:
		k = EXIT_HALT;
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		k = EXIT_IRQ_WINDOW;
		break;
	case KVM_EXIT_INTR:
		k = EXIT_SIGNAL;
		break;
	default:
		k = -1;
	}
	__atomic_fetch_add(&s->shmvm[EXIT_ALL], 1, __ATOMIC_RELAXED);
	if (k >= 0)
		__atomic_fetch_add(&s->shmvm[k], 1, __ATOMIC_RELAXED);
}

bool exit_stats_read(const struct exit_stats *s, uint64_t out[NR_EXIT_KINDS])
{
	bool kvm = s->fd >= 0;

	for (int k = 0; k < NR_EXIT_KINDS; k++) {
		out[k] = __atomic_load_n(&s->shmvm[k], __ATOMIC_RELAXED);
		if (kvm && s->have[k] && pread(s->fd, &out[k], sizeof(out[k]), s->off[k]) != sizeof(out[k]))
			kvm = false;
	}
	if (!kvm) /* all or nothing: shmvm's own counts */
		for (int k = 0; k < NR_EXIT_KINDS; k++)
			out[k] = __atomic_load_n(&s->shmvm[k], __ATOMIC_RELAXED);
	return kvm;
}
