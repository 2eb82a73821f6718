/* SPDX-License-Identifier: GPL-2.0-only */
/* shmvm's command line. */
#ifndef SHMVM_VMM_OPTIONS_H
#define SHMVM_VMM_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mm/shm_window.h"
#include "util/compiler.h"

#define OPT_DEFAULT_MEMORY (512ULL << 20)
#define OPT_DEFAULT_CMDLINE "console=ttyS0 acpi=off reboot=k panic=-1"
#define OPT_MAX_CPUS 254 /* MP table: APIC ids 0..253, the IO-APIC takes the next one */

#define OPT_MAX_DEVICES 8

/* One --device vhost-user,... (or --blk / --fs). */
struct opt_device {
	const char *socket;
	unsigned int virtio_id;
	unsigned int queues;
	unsigned int queue_size;
	unsigned int config_size;
	const char *tag; /* virtio-fs: served locally if the backend has no config */
	unsigned int nr_shm; /* shm=ID:SIZE: set or override the backend's regions */
	uint8_t shm_id[SHM_MAX_REGIONS];
	uint64_t shm_size[SHM_MAX_REGIONS];
};

enum serial_mode {
	SERIAL_STDIO,
	SERIAL_FILE,
	SERIAL_NONE,
};

struct vcon_cfg;

struct vm_options {
	const char *kernel;
	const char *initrd;
	const char *cmdline;
	uint64_t memory;
	unsigned int cpus;
	enum serial_mode serial;
	const char *serial_path;
	bool flat; /* kernel is raw 64-bit code (tiny test guests) */
	int verbose;
	const char *kvm_path;
	enum shm_strategy shm_strategy;
	const char *api_socket;
	bool no_seccomp; /* --no-seccomp: no system-call filter after set-up (vmm/sandbox.h) */
	unsigned int nr_devices;
	struct opt_device devices[OPT_MAX_DEVICES];
	char *device_args[OPT_MAX_DEVICES]; /* writable copies the parser cut up */

	/*
	 * Not from the command line: set by `shmvm run`. Receivers of what the
	 * guest writes to COM1 (instead of --serial) and COM2 (dropped when
	 * NULL), called on the writing vCPU's thread.
	 */
	void (*serial_sink[2])(void *opaque, const uint8_t *buf, size_t len);
	void *serial_sink_opaque;
	/* Devices served over an already-connected socket (-1: none, use devices[i].socket). */
	int device_fd[OPT_MAX_DEVICES];
	/* A virtio-console with these ports (NULL: none). */
	const struct vcon_cfg *console;
};

/* A device of @virtio_id with the defaults of --device, --blk (2) and --fs (26). */
void opt_device_init(struct opt_device *d, unsigned int virtio_id);
/* The defaults, no devices. */
void options_init(struct vm_options *o);
/* Free what options_parse() allocated. */
void options_free(struct vm_options *o);

enum options_result {
	OPTIONS_RUN = 0,  /* parsed; go on */
	OPTIONS_EXIT = 1, /* --help or --version printed; exit 0 */
};

/*
 * Parse argv. On a bad option, prints one line naming it to @err and
 * returns -EINVAL. Does not touch the file system.
 */
int options_parse(struct vm_options *o, int argc, char **argv, FILE *out, FILE *err) __must_check;
void options_usage(FILE *out);

#endif
