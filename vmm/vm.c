// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM construction and teardown. vm_create() is the start-up order of shmvm,
 * one step per line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/vm.h"

/* Fixed x86 addresses KVM needs for its own use (3 pages below the BIOS). */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define KVM_TSS_ADDR 0xfffbd000ULL

static struct log_ratelimit memslot_rl = LOG_RATELIMIT_INIT;

static int kvm_set_memslot(void *opaque, uint32_t slot, uint32_t flags, uint64_t gpa,
			   uint64_t size, void *hva)
{
	struct vm *vm = opaque;
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};
	/*
	 * The guest can make this fail at will (a shared-memory BAR moved over
	 * RAM, in a loop): rate-limited, and the caller says what it was for.
	 */
	long rc = kvm_ioctl_quiet(vm->fd, KVM_SET_USER_MEMORY_REGION, (unsigned long)(uintptr_t)&r);

	if (rc < 0)
		log_ratelimited(&memslot_rl, LOG_ERR, "KVM_SET_USER_MEMORY_REGION: %s", strerror((int)-rc));
	return rc < 0 ? (int)rc : 0;
}

static const struct memslot_ops kvm_memslot_ops = { .set = kvm_set_memslot };

static void kvm_irq_line_set(void *opaque, uint32_t gsi, bool level)
{
	struct vm *vm = opaque;
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	kvm_ioctl(vm->fd, KVM_IRQ_LINE, &irq);
}

static void serial_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct vm *vm = opaque;

	while (len && vm->serial_fd >= 0) {
		ssize_t n = write(vm->serial_fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The reader went away; drop console output rather than stop the guest. */
			vm->serial_fd = -1;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void i8042_reset(void *opaque)
{
	struct vm *vm = opaque;

	log_info("guest requested a reset");
	vm_request_stop(vm, VM_EXIT_RESET);
}

void vm_request_stop(struct vm *vm, int status)
{
	bool expected = false;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vm->stopping, &expected, true))
		return;
	vm->exit_status = status;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	if (write(vm->stop_efd, &one, sizeof(one)) < 0)
		log_warn("stop eventfd: %s", strerror(errno));
}

static int vm_check_memory(const struct vm_options *o)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t host = (uint64_t)pages * (uint64_t)psz;

	if (o->memory < MEM_MIN_SIZE) {
		log_err("--memory %llu MiB is too small (at least %llu MiB)",
			(unsigned long long)(o->memory >> 20), (unsigned long long)(MEM_MIN_SIZE >> 20));
		return -EINVAL;
	}
	if (!IS_ALIGNED(o->memory, 4096)) {
		log_err("--memory must be a multiple of 4 KiB");
		return -EINVAL;
	}
	if (pages > 0 && psz > 0 && o->memory > host) {
		log_err("--memory %llu MiB is more than this host's %llu MiB of RAM",
			(unsigned long long)(o->memory >> 20), (unsigned long long)(host >> 20));
		return -E2BIG;
	}
	return 0;
}

static void serial_drop(void *opaque, const uint8_t *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	(void)len;
}

static int vm_setup_serial(struct vm *vm)
{
	const struct vm_options *o = vm->opts;
	struct irq_line irq = { .set = kvm_irq_line_set, .opaque = vm, .gsi = UART_COM1_IRQ };
	struct irq_line irq2 = { .set = kvm_irq_line_set, .opaque = vm, .gsi = UART_COM2_IRQ };
	int rc;

	uart8250_init(&vm->uart2, &irq2, o->serial_sink[1] ? o->serial_sink[1] : serial_drop,
		      o->serial_sink_opaque);
	rc = bus_register(&vm->pio, UART_COM2_BASE, UART_NR_PORTS, &uart8250_bus_ops, &vm->uart2);
	if (rc)
		return rc;
	if (o->serial_sink[0]) {
		uart8250_init(&vm->uart, &irq, o->serial_sink[0], o->serial_sink_opaque);
		return bus_register(&vm->pio, UART_COM1_BASE, UART_NR_PORTS, &uart8250_bus_ops,
				    &vm->uart);
	}

	switch (o->serial) {
	case SERIAL_STDIO:
		vm->serial_fd = STDOUT_FILENO;
		break;
	case SERIAL_FILE:
		vm->serial_file = open(o->serial_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (vm->serial_file < 0) {
			log_err("--serial file:%s: %s", o->serial_path, strerror(errno));
			return -errno;
		}
		vm->serial_fd = vm->serial_file;
		break;
	case SERIAL_NONE:
		vm->serial_fd = -1;
		break;
	}
	uart8250_init(&vm->uart, &irq, serial_output, vm);
	return bus_register(&vm->pio, UART_COM1_BASE, UART_NR_PORTS, &uart8250_bus_ops, &vm->uart);
}

static int vm_setup_legacy(struct vm *vm)
{
	struct irq_line kbd = { .set = kvm_irq_line_set, .opaque = vm, .gsi = I8042_KBD_IRQ };
	int rc;

	i8042_init(&vm->i8042, &kbd, i8042_reset, vm);
	rtc_init(&vm->rtc);
	rc = bus_register(&vm->pio, I8042_DATA_PORT, 1, &i8042_data_ops, &vm->i8042);
	if (!rc)
		rc = bus_register(&vm->pio, I8042_CMD_PORT, 1, &i8042_cmd_ops, &vm->i8042);
	if (!rc)
		rc = bus_register(&vm->pio, RTC_PORT, 2, &rtc_bus_ops, &vm->rtc);
	return rc;
}

static int vm_setup_kvm(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t identity_map = KVM_IDENTITY_MAP_ADDR;
	long fd;

	fd = kvm_ioctl_val(vm->kvm.fd, KVM_CREATE_VM, 0);
	if (fd < 0)
		return (int)fd;
	vm->fd = (int)fd;
	if (kvm_ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &identity_map) < 0 ||
	    kvm_ioctl_val(vm->fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0 ||
	    kvm_ioctl_val(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0 ||
	    kvm_ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		return -EIO;
	return kvm_supported_cpuid(&vm->kvm, &vm->cpuid);
}

static int vm_setup_ram(struct vm *vm)
{
	int rc = mem_create(&vm->mem, vm->opts->memory);

	if (rc) {
		log_err("cannot allocate %llu MiB of guest RAM: %s",
			(unsigned long long)(vm->opts->memory >> 20), strerror(-rc));
		return rc;
	}
	rc = memslot_table_init(&vm->slots, vm->kvm.nr_memslots, &kvm_memslot_ops, vm);
	for (unsigned int i = 0; !rc && i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.regions[i];
		uint32_t slot;

		rc = memslot_add(&vm->slots, r->gpa, r->size, vm->mem.hva + r->offset, 0, &slot);
	}
	return rc;
}

/* The 64-bit BAR window starts at the first 1 GiB boundary above RAM. */
#define PCI_MMIO64_SIZE (64ULL * GiB)

static int vm_setup_pci(struct vm *vm)
{
	uint64_t base = ALIGN_UP(MAX(mem_end(&vm->mem), MEM_HOLE_END), GiB);

	return pci_host_init(&vm->pci, &vm->pio, &vm->mmio, base, PCI_MMIO64_SIZE);
}

/* How long to wait for a backend at start-up, and for one reply. */
#define VHOST_CONNECT_MS 5000
#define VHOST_REPLY_MS 30000

static uint32_t device_class(unsigned int virtio_id)
{
	switch (virtio_id) {
	case 2:  /* block */
	case 26: /* file system */
		return 0x018000; /* mass storage, other */
	case 1:
		return 0x020000; /* network */
	default:
		return 0xff0000;
	}
}

static int vm_setup_devices(struct vm *vm)
{
	const struct vm_options *o = vm->opts;
	struct hv_ops hv;

	vm_irq_init(&vm->irq, vm->fd);
	hv = vm_irq_hv_ops(&vm->irq);
	if (!o->nr_devices)
		return 0;
	vm->devices = calloc(o->nr_devices, sizeof(*vm->devices));
	if (!vm->devices)
		return -ENOMEM;
	for (unsigned int i = 0; i < o->nr_devices; i++) {
		const struct opt_device *od = &o->devices[i];
		struct vhost_user_cfg cfg = {
			.socket = od->socket,
			.virtio_id = (uint16_t)od->virtio_id,
			.queues = (uint16_t)od->queues,
			.queue_size = (uint16_t)od->queue_size,
			.config_size = od->config_size,
			.pci_class = device_class(od->virtio_id),
			.connect_ms = VHOST_CONNECT_MS,
			.reply_ms = VHOST_REPLY_MS,
			.nr_shm = od->nr_shm,
			.shm_strategy = o->shm_strategy,
			.slots = &vm->slots,
		};
		uint8_t fs_config[40] = { 0 };
		unsigned int slot;
		int rc;

		if (od->virtio_id == 26) {
			/* struct virtio_fs_config: tag[36], le32 num_request_queues */
			uint32_t nreq = od->queues - 1;

			strncpy((char *)fs_config, od->tag ? od->tag : "shmvm", 36);
			memcpy(fs_config + 36, &nreq, 4);
			cfg.local_config = fs_config;
		}
		if (o->device_fd[i] >= 0) {
			/* The device owns what it is given; the caller keeps its own copy. */
			cfg.has_socket_fd = true;
			cfg.socket_fd = fcntl(o->device_fd[i], F_DUPFD_CLOEXEC, 3);
			if (cfg.socket_fd < 0)
				return -errno;
		}
		memcpy(cfg.shm_id, od->shm_id, sizeof(cfg.shm_id));
		memcpy(cfg.shm_size, od->shm_size, sizeof(cfg.shm_size));
		rc = vhost_user_dev_create(&vm->devices[i], &cfg, &vm->mem, &hv);

		if (rc)
			return rc;
		vm->nr_devices = i + 1;
		rc = pci_host_add(&vm->pci, &vm->devices[i].vp.pci, &slot);
		if (rc)
			return rc;
		vm->devices[i].pci_slot = slot;
		log_info("%s on %s at 00:%02x.0", vm->devices[i].name, vm->devices[i].cfg.socket, slot);
		if (vm->devices[i].has_shm)
			log_info("%s: shared memory: %llu MiB window at %#llx (%s strategy)",
				 vm->devices[i].name, (unsigned long long)(vm->devices[i].shm.size / MiB),
				 (unsigned long long)vm->devices[i].shm.gpa,
				 shm_strategy_name(vm->devices[i].shm.strategy));
	}
	return 0;
}

/* shmvm's own virtio-console, when asked for (shmvm run's ports). */
static int vm_setup_console(struct vm *vm)
{
	struct hv_ops hv = vm_irq_hv_ops(&vm->irq);
	unsigned int slot;
	int rc;

	if (!vm->opts->console)
		return 0;
	vm->console = malloc(sizeof(*vm->console));
	if (!vm->console)
		return -ENOMEM;
	rc = vcon_create(vm->console, vm->opts->console, &vm->mem, &hv);
	if (rc) {
		log_err("virtio-console: %s", strerror(-rc));
		free(vm->console);
		vm->console = NULL;
		return rc;
	}
	rc = pci_host_add(&vm->pci, &vm->console->vp.pci, &slot);
	if (!rc)
		log_info("virtio-console (%u ports) at 00:%02x.0", vm->opts->console->nr_ports, slot);
	return rc;
}

static int vm_setup_vcpus(struct vm *vm)
{
	unsigned int n = vm->opts->cpus;
	long max = kvm_ioctl_quiet(vm->kvm.fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (max <= 0)
		max = kvm_ioctl_quiet(vm->kvm.fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max > 0 && n > (unsigned long)max) {
		log_err("--cpus %u: this host's KVM allows at most %ld", n, max);
		return -EINVAL;
	}
	vm->vcpus = calloc(n, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		int rc = vcpu_create(vm, &vm->vcpus[i], i);

		if (rc)
			return rc;
		vm->nr_vcpus = i + 1;
	}
	return 0;
}

int vm_create(struct vm *vm, const struct vm_options *opts)
{
	struct boot_cfg boot = {
		.kernel = opts->kernel,
		.initrd = opts->initrd,
		.cmdline = opts->cmdline,
		.ncpus = opts->cpus,
		.flat = opts->flat,
	};
	int rc;

	memset(vm, 0, sizeof(*vm));
	vm->opts = opts;
	vm->fd = -1;
	vm->kvm.fd = -1;
	vm->serial_fd = -1;
	vm->serial_file = -1;
	vm->mem.fd = -1;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->repair_lock, NULL);
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0)
		return -errno;

	/* Start-up order: each step needs only the ones above it. */
	rc = vm_check_memory(opts);
	if (!rc)
		rc = kvm_sys_open(&vm->kvm, opts->kvm_path);
	if (!rc)
		rc = vm_setup_kvm(vm);
	if (!rc)
		rc = vm_setup_ram(vm);
	if (!rc)
		rc = vm_setup_serial(vm);
	if (!rc)
		rc = vm_setup_legacy(vm);
	if (!rc)
		rc = vm_setup_pci(vm);
	if (!rc)
		rc = vm_setup_devices(vm);
	if (!rc)
		rc = vm_setup_console(vm);
	if (!rc)
		rc = boot_load(&vm->mem, &boot, &vm->entry);
	if (!rc)
		rc = vm_setup_vcpus(vm);
	return rc;
}

int vm_start(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		int rc = vcpu_start(&vm->vcpus[i]);

		if (rc) {
			log_err("cannot start vCPU %u: %s", i, strerror(-rc));
			vm_request_stop(vm, VM_EXIT_ERROR);
			return rc;
		}
	}
	return 0;
}

/* Pages zeroed or given back in every window so far: what a repair changes. */
static uint64_t shm_repairs(struct vm *vm)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < vm->nr_devices; i++) {
		if (vm->devices[i].has_shm) {
			struct shm_stats s = shm_window_stats(&vm->devices[i].shm);

			n += s.eof_pages + s.eof_released;
		}
	}
	return n;
}

bool vm_shm_repair(struct vm *vm, uint64_t *seen)
{
	uint64_t now;
	bool progress;

	pthread_mutex_lock(&vm->repair_lock);
	now = shm_repairs(vm);
	/* Nothing changed since this vCPU's last EFAULT, by another vCPU say: look. */
	if (now == *seen) {
		struct shm_window *newest = NULL;
		size_t released = 0;
		uint64_t seq = 0;

		for (unsigned int i = 0; i < vm->nr_devices; i++)
			if (vm->devices[i].has_shm)
				released += shm_window_refresh(&vm->devices[i].shm);
		for (unsigned int i = 0; !released && i < vm->nr_devices; i++) {
			uint64_t s = vm->devices[i].has_shm ? shm_window_newest_hold(&vm->devices[i].shm) : 0;

			if (s > seq) {
				seq = s;
				newest = &vm->devices[i].shm;
			}
		}
		if (newest)
			shm_window_zero_hold(newest, seq);
		now = shm_repairs(vm);
	}
	progress = now != *seen;
	*seen = now;
	pthread_mutex_unlock(&vm->repair_lock);
	return progress;
}

void vm_destroy(struct vm *vm)
{
	/* Stop and join every vCPU before freeing what they touch. */
	atomic_store(&vm->stopping, true);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
		vcpu_destroy(&vm->vcpus[i]);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;

	for (unsigned int i = 0; i < vm->nr_devices; i++)
		vhost_user_dev_destroy(&vm->devices[i]);
	free(vm->devices);
	vm->devices = NULL;
	vm->nr_devices = 0;
	if (vm->console) {
		vcon_destroy(vm->console);
		free(vm->console);
		vm->console = NULL;
	}
	if (vm->fd >= 0)
		vm_irq_destroy(&vm->irq);
	pci_host_destroy(&vm->pci);
	if (vm->serial_file >= 0)
		close(vm->serial_file);
	uart8250_destroy(&vm->uart);
	uart8250_destroy(&vm->uart2);
	i8042_destroy(&vm->i8042);
	rtc_destroy(&vm->rtc);
	memslot_table_destroy(&vm->slots);
	mem_destroy(&vm->mem);
	free(vm->cpuid);
	vm->cpuid = NULL;
	if (vm->fd >= 0)
		close(vm->fd);
	kvm_sys_close(&vm->kvm);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	vm->stop_efd = -1;
	pthread_mutex_destroy(&vm->repair_lock);
}
