/* SPDX-License-Identifier: GPL-2.0-only */
/* One virtual machine: KVM handles, RAM, buses, devices, vCPUs, lifecycle. */
#ifndef SHMVM_VMM_VM_H
#define SHMVM_VMM_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/i8042.h"
#include "devices/rtc.h"
#include "devices/uart8250.h"
#include "devices/vhost_user_pci.h"
#include "devices/virtio_console.h"
#include "mm/bus.h"
#include "mm/guest_mem.h"
#include "mm/memslot.h"
#include "pci/host.h"
#include "vmm/boot.h"
#include "vmm/exits.h"
#include "vmm/irq.h"
#include "vmm/kvm.h"
#include "vmm/options.h"

/* Exit statuses of shmvm, also documented in --help. */
enum vm_exit {
	VM_EXIT_RESET = 0,    /* the guest rebooted (reboot -f with reboot=k) */
	VM_EXIT_ERROR = 1,    /* shmvm could not run the guest */
	VM_EXIT_CRASH = 2,    /* triple fault, KVM internal error or failed entry */
	VM_EXIT_TIMEOUT = 124, /* the time given to the session ran out (as timeout(1)) */
	VM_EXIT_SIGNAL = 128, /* + signal number: stopped by SIGINT/SIGTERM/SIGHUP */
};

struct vm;

struct vcpu {
	struct vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started; /* set once by vcpu_start(), read by other vCPUs' kicks: __atomic */
	uint64_t eof_seen; /* vm_shm_repair()'s count of changed pages at this vCPU's last EFAULT */
	struct exit_stats exits;
};

struct vm {
	const struct vm_options *opts;
	struct kvm_sys kvm;
	int fd;
	struct guest_mem mem;
	struct memslot_table slots;
	struct bus pio, mmio;
	struct kvm_cpuid2 *cpuid; /* what KVM supports; per-vCPU tables derive from it */

	struct uart8250 uart;  /* COM1: the console */
	struct uart8250 uart2; /* COM2: `shmvm run`'s channel, otherwise output dropped */
	int serial_fd;   /* where the UART's output goes, -1 for none */
	int serial_file; /* --serial file:PATH, owned */
	struct i8042 i8042;
	struct rtc rtc;
	struct pci_host pci;
	struct vm_irq irq;
	unsigned int nr_devices;
	struct vhost_user_dev *devices;
	struct virtio_console *console; /* opts->console's device, or NULL */

	struct boot_entry entry;
	unsigned int nr_vcpus;
	struct vcpu *vcpus;

	/* Lifecycle: the first stop request wins and sets the exit status. */
	atomic_bool stopping;
	int exit_status;
	int stop_efd; /* eventfd that wakes the main loop */

	pthread_mutex_t repair_lock; /* one vm_shm_repair() at a time */
};

/* Build the VM: KVM, RAM, devices, kernel, vCPUs (not yet running). Logs the reason on error. */
int vm_create(struct vm *vm, const struct vm_options *opts) __must_check;
/* Start the vCPU threads. */
int vm_start(struct vm *vm) __must_check;
/* Ask everything to stop with @status; callable from any thread, first call wins. */
void vm_request_stop(struct vm *vm, int status);
/* Join the vCPUs and free everything; safe after a failed vm_create(). */
void vm_destroy(struct vm *vm);
/*
 * A vCPU's KVM_RUN failed with EFAULT: a page past a shared-memory file's
 * end, most likely (docs/design.md, "Beyond EOF"). Bring every window's
 * holds up to date and, unless that gave pages back, put zeros over the
 * newest hold in the VM. true if the vCPU should run again: pages were
 * zeroed or given back, by this call or another vCPU's, since the count in
 * @seen (which it updates). Callable from any vCPU thread while the VM runs.
 */
bool vm_shm_repair(struct vm *vm, uint64_t *seen);

/* vCPU side (vmm/vcpu.c). */
int vcpu_create(struct vm *vm, struct vcpu *v, unsigned int index) __must_check;
int vcpu_start(struct vcpu *v) __must_check;
void vcpu_kick(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
/* Print the registers of @v to stderr (for crashes). */
void vcpu_dump(struct vcpu *v);

/* The signal used to kick vCPU threads out of KVM_RUN. */
#define VCPU_KICK_SIGNAL SIGUSR1

#endif
