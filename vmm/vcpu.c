// SPDX-License-Identifier: GPL-2.0-only
/* vCPUs: one thread each, running KVM_RUN and dispatching exits to the buses. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/cpuid.h"
#include "vmm/vm.h"

/* Local APIC LVT registers and delivery modes (Intel SDM vol. 3, 10.5.1). */
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static void lapic_set_lvt(struct kvm_lapic_state *l, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, sizeof(v));
}

/* LINT0 takes the PIC's ExtINT, LINT1 NMIs, as the MP table says. */
static int vcpu_setup_lapic(struct vcpu *v)
{
	struct kvm_lapic_state l;

	if (kvm_ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return -EIO;
	lapic_set_lvt(&l, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	lapic_set_lvt(&l, APIC_LVT_LINT1, APIC_MODE_NMI);
	return kvm_ioctl(v->fd, KVM_SET_LAPIC, &l) < 0 ? -EIO : 0;
}

static int vcpu_setup_cpuid(struct vcpu *v)
{
	struct vm *vm = v->vm;
	size_t sz = sizeof(struct kvm_cpuid2) + vm->cpuid->nent * sizeof(vm->cpuid->entries[0]);
	struct kvm_cpuid2 *c = calloc(1, sz);
	long rc;

	if (!c)
		return -ENOMEM;
	c->nent = vm->cpuid->nent;
	rc = cpuid_vcpu_entries(vm->cpuid->entries, vm->cpuid->nent, v->index, vm->opts->cpus,
				c->entries);
	if (!rc)
		rc = kvm_ioctl_val(v->fd, KVM_SET_CPUID2, c);
	free(c);
	return rc < 0 ? (int)rc : 0;
}

static int vcpu_setup_boot_regs(struct vcpu *v)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -EIO;
	memset(&regs, 0, sizeof(regs));
	boot_entry_regs(&v->vm->entry, &sregs, &regs);
	if (kvm_ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 || kvm_ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -EIO;
	return 0;
}

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned int index)
{
	long fd;
	int rc;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->index = index;
	fd = kvm_ioctl_val(vm->fd, KVM_CREATE_VCPU, index);
	if (fd < 0)
		return (int)fd;
	v->fd = (int)fd;
	exit_stats_open(&v->exits, v->fd);
	v->run = mmap(NULL, (size_t)vm->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		rc = -errno;
		v->run = NULL;
		goto err;
	}
	rc = vcpu_setup_cpuid(v);
	if (!rc)
		rc = vcpu_setup_lapic(v);
	/* Only the boot CPU starts at the kernel; the others wait for INIT/SIPI. */
	if (!rc && index == 0)
		rc = vcpu_setup_boot_regs(v);
	if (rc)
		goto err;
	return 0;
err:
	vcpu_destroy(v);
	return rc;
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)v->vm->kvm.vcpu_mmap_size);
	if (v->fd > 0)
		close(v->fd);
	exit_stats_close(&v->exits);
	v->run = NULL;
	v->fd = -1;
}

static struct log_ratelimit unhandled_rl = LOG_RATELIMIT_INIT;

static void vcpu_pio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t size = run->io.size;

	/* String I/O (rep outsb...) comes as @count back-to-back accesses. */
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		bool ok;

		if (run->io.direction == KVM_EXIT_IO_OUT) {
			ok = bus_write(&v->vm->pio, run->io.port, data, size);
		} else {
			ok = bus_read(&v->vm->pio, run->io.port, data, size);
			if (!ok)
				memset(data, 0xff, size); /* nothing there: the bus floats high */
		}
		if (!ok && log_get_level() >= LOG_DEBUG)
			log_ratelimited(&unhandled_rl, LOG_DEBUG, "unhandled port %s 0x%x size %u",
					run->io.direction == KVM_EXIT_IO_OUT ? "write" : "read",
					run->io.port, size);
	}
}

static void vcpu_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;
	bool ok;

	if (run->mmio.is_write) {
		ok = bus_write(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	} else {
		ok = bus_read(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
		if (!ok)
			memset(run->mmio.data, 0xff, MIN(len, sizeof(run->mmio.data)));
	}
	if (!ok)
		log_ratelimited(&unhandled_rl, LOG_WARN, "guest %s of %u bytes at unassigned 0x%llx",
				run->mmio.is_write ? "write" : "read", len, run->mmio.phys_addr);
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	fprintf(stderr, "  %-3s sel=%04x base=%016llx limit=%08x type=%x dpl=%u p=%u db=%u l=%u g=%u\n",
		name, s->selector, s->base, s->limit, s->type, s->dpl, s->present, s->db, s->l,
		s->g);
}

void vcpu_dump(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (kvm_ioctl(v->fd, KVM_GET_REGS, &r) < 0 || kvm_ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return;
	fprintf(stderr,
		"vCPU %u registers:\n"
		"  rip=%016llx rsp=%016llx rflags=%016llx\n"
		"  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
		"  rsi=%016llx rdi=%016llx rbp=%016llx\n"
		"  r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n"
		"  r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n"
		"  cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\n"
		"  gdt=%016llx/%04x idt=%016llx/%04x\n",
		v->index, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp,
		r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, s.cr0, s.cr2, s.cr3, s.cr4,
		s.efer, s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit);
	dump_seg("cs", &s.cs);
	dump_seg("ds", &s.ds);
	dump_seg("ss", &s.ss);
	dump_seg("tr", &s.tr);
}

static void vcpu_fatal(struct vcpu *v, const char *what)
{
	log_err("vCPU %u: %s", v->index, what);
	vcpu_dump(v);
	vm_request_stop(v->vm, VM_EXIT_CRASH);
}

/* Handle one exit; false when this vCPU must stop. */
static bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char what[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_pio(v);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_mmio(v);
		return true;
	case KVM_EXIT_HLT:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu_fatal(v, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what), "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_fatal(v, what);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(what, sizeof(what), "KVM internal error, suberror %u",
			 run->internal.suberror);
		vcpu_fatal(v, what);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_CRASH) {
			vcpu_fatal(v, "guest crash event");
		} else {
			log_info("vCPU %u: system event %u", v->index, run->system_event.type);
			vm_request_stop(v->vm, VM_EXIT_RESET);
		}
		return false;
	default:
		snprintf(what, sizeof(what), "unexpected exit reason %u", run->exit_reason);
		vcpu_fatal(v, what);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!atomic_load(&vm->stopping)) {
		long rc = kvm_ioctl_val(v->fd, KVM_RUN, 0);

		if (rc < 0) {
			if (rc == -EINTR || rc == -EAGAIN) {
				exit_stats_count(&v->exits, KVM_EXIT_INTR);
				/* vcpu_kick() writes it from other threads. */
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			if (rc == -EFAULT) {
				/* A page past a mapped file's end, most likely: see vm_shm_repair(). */
				if (vm_shm_repair(vm, &v->eof_seen))
					continue;
				/* Nothing to repair: no way to hand the fault to the guest. */
				vcpu_fatal(v, "KVM_RUN: EFAULT: the guest touched memory no host page "
					      "backs (a shared-memory mapping past its file's end?)");
				break;
			}
			log_err("vCPU %u: KVM_RUN failed", v->index);
			vm_request_stop(vm, VM_EXIT_CRASH);
			break;
		}
		exit_stats_count(&v->exits, v->run->exit_reason);
		if (!vcpu_handle_exit(v))
			break;
	}
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpu_start(struct vcpu *v)
{
	static const struct sigaction sa = { .sa_handler = vcpu_kick_handler };
	int rc;

	/* No SA_RESTART: KVM_RUN must return -EINTR. */
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	rc = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (rc)
		return -rc;
	/* Any vCPU thread may kick this one from now on (vm_request_stop()): v->thread is set. */
	__atomic_store_n(&v->started, true, __ATOMIC_RELEASE);
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!__atomic_load_n(&v->started, __ATOMIC_ACQUIRE))
		return;
	/*
	 * immediate_exit closes the race with a thread about to enter KVM_RUN;
	 * the signal interrupts one already inside. (ThreadSanitizer runs the
	 * handler later, at the thread's next interceptor; the kernel still
	 * delivers the signal at once, so KVM_RUN still returns -EINTR.)
	 */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(v->thread, VCPU_KICK_SIGNAL);
}
