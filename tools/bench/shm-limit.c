// SPDX-License-Identifier: GPL-2.0-only
/*
 * shm-limit: the least a vhost-user frontend must do for SHMEM_MAP and
 * SHMEM_UNMAP, for shmvm-bench to time beside a real frontend, in the same
 * place and the same run (docs/benchmarks.md, "The limit").
 *
 *   shm-limit --socket-fd N --strategy slot|window --window SIZE
 *
 * N is one end of a socketpair; shmvm-bench holds the other and sends what a
 * backend sends on its channel: BACKEND_SHMEM_MAP with the file's fd and
 * BACKEND_SHMEM_UNMAP, each with NEED_REPLY, through the same code as to the
 * frontend it measures. For each message, nothing but what no frontend can
 * avoid: one recvmsg, then
 *   map:   mmap(MAP_FIXED) of the fd into the reserved window, close(fd), and
 *          (slot strategy) KVM_SET_USER_MEMORY_REGION of a slot of its own;
 *   unmap: (slot strategy) the slot deleted, and the reservation mapped back;
 * then one sendmsg of the reply. Its VM is a scratch one, as the frontend's
 * is: a vCPU spinning in long mode, so that slot changes meet a running
 * vCPU, and (window strategy) one slot over the whole window. It checks
 * nothing its only peer could get wrong but the message's kind and size, and
 * answers anything else with an error. It ends when the socket does.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/compiler.h"
#include "util/parse.h"
#include "util/u64map.h"
#include "vhost/msg.h"

#define RAM_SIZE   (4u << 20)
#define CODE	   0x100000u
#define WINDOW_GPA (1ULL << 32)
#define PAGE	   4096ULL
#define SLOT_RAM   0u
#define SLOT_WIN   1u /* window strategy: the window's one slot; slot: the first free one */

struct limit {
	int kvm, vm, sock;
	bool slot_strategy;
	uint8_t *window; /* reserved host range */
	uint64_t size;
	struct u64map slot_of;	 /* slot strategy: window offset → its slot */
	uint32_t *free_slots, nr_free;
};

static void die(const char *what)
{
	fprintf(stderr, "shm-limit: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- the scratch VM: 4 MiB of RAM, one vCPU spinning in long mode ---- */

static void *vcpu_loop(void *arg)
{
	int vcpu = (int)(intptr_t)arg;

	for (;;)
		if (ioctl(vcpu, KVM_RUN, 0) < 0 && errno != EINTR)
			die("KVM_RUN");
	return NULL;
}

static void vm_create(struct limit *l)
{
	/* 1: pause; jmp 1b */
	static const uint8_t spin[] = { 0xf3, 0x90, 0xeb, 0xfc };
	struct kvm_segment cs = { .limit = 0xffffffff, .selector = 8, .type = 11, .present = 1,
				  .s = 1, .l = 1, .g = 1 };
	struct kvm_segment ds = { .limit = 0xffffffff, .selector = 16, .type = 3, .present = 1,
				  .s = 1, .db = 1, .g = 1 };
	struct kvm_userspace_memory_region ram = { .slot = SLOT_RAM, .memory_size = RAM_SIZE };
	struct kvm_regs regs = { .rip = CODE, .rflags = 2 };
	struct kvm_sregs sregs;
	uint64_t *pt;
	uint8_t *mem;
	pthread_t t;
	int vcpu;

	l->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (l->kvm < 0)
		die("/dev/kvm");
	l->vm = ioctl(l->kvm, KVM_CREATE_VM, 0);
	if (l->vm < 0)
		die("KVM_CREATE_VM");
	mem = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("guest RAM");
	memcpy(mem + CODE, spin, sizeof(spin));
	/* Identity map of 4 MiB with 2 MiB pages: PML4 at 0x1000, PDPT 0x2000, PD 0x3000. */
	pt = (uint64_t *)(mem + 0x1000);
	pt[0] = 0x2000 | 3;
	pt = (uint64_t *)(mem + 0x2000);
	pt[0] = 0x3000 | 3;
	pt = (uint64_t *)(mem + 0x3000);
	pt[0] = 0x000000 | 0x83;
	pt[1] = 0x200000 | 0x83;
	ram.userspace_addr = (uintptr_t)mem;
	if (ioctl(l->vm, KVM_SET_USER_MEMORY_REGION, &ram) < 0)
		die("KVM_SET_USER_MEMORY_REGION (RAM)");
	vcpu = ioctl(l->vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0 || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_CREATE_VCPU");
	sregs.cs = cs;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = ds;
	sregs.cr3 = 0x1000;
	sregs.cr4 = 0x20;	/* PAE */
	sregs.cr0 = 0x80000011; /* PG | ET | PE */
	sregs.efer = 0x500;	/* LMA | LME */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_SREGS");
	if (mmap(NULL, (size_t)ioctl(l->kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		 MAP_SHARED, vcpu, 0) == MAP_FAILED)
		die("kvm_run");
	if (pthread_create(&t, NULL, vcpu_loop, (void *)(intptr_t)vcpu))
		die("pthread_create");
}

static int set_slot(struct limit *l, uint32_t slot, uint64_t off, uint64_t len)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = WINDOW_GPA + off, .memory_size = len,
		.userspace_addr = (uintptr_t)(l->window + off),
	};

	return ioctl(l->vm, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

/* The reservation over [@off, +@len): what the frontend keeps where nothing is mapped. */
static int reserve(struct limit *l, uint64_t off, uint64_t len)
{
	int prot = l->slot_strategy ? PROT_NONE : PROT_READ | PROT_WRITE;

	return mmap(l->window + off, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		    -1, 0) == MAP_FAILED ? -errno : 0;
}

/* ---- the two requests ---- */

static int do_map(struct limit *l, const struct vu_mmap *mm, int fd)
{
	int prot = PROT_READ | (mm->flags & VU_SHMEM_MAP_F_RW ? PROT_WRITE : 0);
	void *p;
	int rc;

	if (mm->shm_offset > l->size || mm->len > l->size - mm->shm_offset)
		return -ERANGE;
	p = mmap(l->window + mm->shm_offset, mm->len, prot, MAP_SHARED | MAP_FIXED, fd,
		 (off_t)mm->fd_offset);
	rc = p == MAP_FAILED ? -errno : 0;
	close(fd);
	if (rc || !l->slot_strategy)
		return rc;
	if (!l->nr_free) {
		(void)!reserve(l, mm->shm_offset, mm->len);
		return -ENOSPC;
	}
	rc = set_slot(l, l->free_slots[l->nr_free - 1], mm->shm_offset, mm->len);
	if (!rc) {
		rc = u64map_put(&l->slot_of, mm->shm_offset, l->free_slots[l->nr_free - 1]);
		if (rc)
			(void)!set_slot(l, l->free_slots[l->nr_free - 1], mm->shm_offset, 0);
	}
	if (rc) {
		(void)!reserve(l, mm->shm_offset, mm->len);
		return rc;
	}
	l->nr_free--;
	return 0;
}

static int do_unmap(struct limit *l, const struct vu_mmap *mm)
{
	if (mm->shm_offset > l->size || mm->len > l->size - mm->shm_offset)
		return -ERANGE;
	if (l->slot_strategy) {
		uint64_t slot;

		if (!u64map_take(&l->slot_of, mm->shm_offset, &slot))
			return -ENOENT;
		(void)!set_slot(l, (uint32_t)slot, mm->shm_offset, 0);
		l->free_slots[l->nr_free++] = (uint32_t)slot;
	}
	return reserve(l, mm->shm_offset, mm->len);
}

/* One recvmsg of a whole message (header and payload, and its fd); 1, 0 at EOF, -errno. */
static int recv_one(int sock, struct vu_hdr *hdr, struct vu_mmap *mm, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = { { hdr, sizeof(*hdr) }, { mm, sizeof(*mm) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

	*fd = -1;
	if (n <= 0)
		return n < 0 ? -errno : 0;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(*fd));
	/* The peer sends one whole message and waits for the answer: a short read is its bug. */
	if (n != (ssize_t)(sizeof(*hdr) + sizeof(*mm)) || hdr->size != sizeof(*mm))
		return -EPROTO;
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket-fd", required_argument, NULL, 'f' },
		{ "strategy", required_argument, NULL, 's' },
		{ "window", required_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct limit l = { .sock = -1 };
	uint64_t v;
	int c, max_slots;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_u64(optarg, 0, 1 << 20, &v))
				goto usage;
			l.sock = (int)v;
			break;
		case 's':
			if (strcmp(optarg, "slot") && strcmp(optarg, "window"))
				goto usage;
			l.slot_strategy = !strcmp(optarg, "slot");
			break;
		case 'w':
			if (parse_size(optarg, &l.size) || !l.size || l.size % PAGE)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (l.sock < 0 || !l.size || optind != argc)
		goto usage;
	vm_create(&l);
	l.window = mmap(NULL, l.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (l.window == MAP_FAILED || reserve(&l, 0, l.size))
		die("reserving the window");
	if (!l.slot_strategy) {
		if (set_slot(&l, SLOT_WIN, 0, l.size))
			die("KVM_SET_USER_MEMORY_REGION (window)");
	} else {
		max_slots = ioctl(l.kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
		if (max_slots <= (int)SLOT_WIN)
			die("KVM_CAP_NR_MEMSLOTS");
		l.free_slots = malloc((size_t)max_slots * sizeof(*l.free_slots));
		if (!l.free_slots)
			die("slot table");
		for (uint32_t s = (uint32_t)max_slots - 1; s >= SLOT_WIN; s--)
			l.free_slots[l.nr_free++] = s;
	}
	for (;;) {
		struct { struct vu_hdr hdr; uint64_t u64; } __packed reply;
		struct vu_mmap mm;
		struct vu_hdr hdr;
		int fd, rc = recv_one(l.sock, &hdr, &mm, &fd);

		if (rc == 0)
			break;
		if (rc < 0) {
			errno = -rc;
			die("the socket");
		}
		if (hdr.request == VU_BACKEND_SHMEM_MAP && fd >= 0)
			rc = do_map(&l, &mm, fd);
		else if (hdr.request == VU_BACKEND_SHMEM_UNMAP && fd < 0)
			rc = do_unmap(&l, &mm);
		else
			rc = -EINVAL;
		if (fd >= 0 && hdr.request != VU_BACKEND_SHMEM_MAP)
			close(fd);
		reply.hdr = (struct vu_hdr){ .request = hdr.request, .flags = VU_VERSION | VU_FLAG_REPLY,
					     .size = sizeof(reply.u64) };
		reply.u64 = (uint64_t)(int64_t)rc;
		if (send(l.sock, &reply, sizeof(reply), MSG_NOSIGNAL) != (ssize_t)sizeof(reply))
			die("the reply");
	}
	u64map_destroy(&l.slot_of);
	free(l.free_slots);
	return 0;
usage:
	fprintf(stderr, "usage: shm-limit --socket-fd N --strategy slot|window --window SIZE\n");
	return 2;
}
