// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"
#include "vmm/options.h"

#ifndef SHMVM_VERSION
#define SHMVM_VERSION "unknown"
#endif

void options_usage(FILE *out)
{
	fputs("Usage: shmvm --kernel FILE [options]\n"
	      "Boot a Linux kernel on KVM with a serial console.\n"
	      "\n"
	      "  -k, --kernel FILE     bzImage, or an uncompressed ELF vmlinux with a PVH entry note\n"
	      "  -i, --initrd FILE     initial ramdisk\n"
	      "  -c, --cmdline STR     kernel command line (default: \"" OPT_DEFAULT_CMDLINE "\")\n"
	      "  -m, --memory SIZE     guest RAM, with K/M/G suffix (default 512M)\n"
	      "  -p, --cpus N          number of vCPUs, 1.." "254" " (default 1)\n"
	      "  -s, --serial MODE     stdio | file:PATH | none (default stdio)\n"
	      "      --device vhost-user,socket=PATH,virtio-id=N,queues=N[,queue-size=N][,config-size=N]\n"
	      "                    [,shm=ID:SIZE]...\n"
	      "                        a virtio-pci device served by a vhost-user backend (repeatable);\n"
	      "                        shm= gives shared-memory region ID (0-255) SIZE bytes, setting\n"
	      "                        or overriding what the backend asks for (GET_SHMEM_CONFIG)\n"
	      "      --blk socket=PATH[,queues=N]   vhost-user virtio-blk (virtio-id 2)\n"
	      "      --fs socket=PATH[,queues=N][,tag=TAG][,shm=0:SIZE]  vhost-user virtio-fs (virtio-id 26);\n"
	      "                        TAG is used when the backend does not serve the device config;\n"
	      "                        shm=0:SIZE sets the DAX window\n"
	      "      --shm-strategy slot|window\n"
	      "                        how shared-memory mappings reach the guest: one KVM memory slot\n"
	      "                        per mapping (slot, default) or one slot per window (window)\n"
	      "      --api-socket PATH  JSON control socket (see docs/api.md)\n"
	      "      --flat            KERNEL is raw 64-bit code loaded at 1 MiB (test guests)\n"
	      "      --kvm PATH        KVM device (default /dev/kvm)\n"
	      "      --no-seccomp      no system-call filter once the VM runs (for debugging;\n"
	      "                        capabilities are dropped all the same)\n"
	      "  -v, --verbose         more log output (repeat for debug)\n"
	      "  -h, --help            show this help\n"
	      "  -V, --version         show the version\n"
	      "\n"
	      "On a terminal, the console is raw; press Ctrl-A then x to quit.\n"
	      "Exit status: 0 when the guest reboots (use reboot=k), 1 on a setup error,\n"
	      "2 when the guest crashes (triple fault, KVM error), 128+N on signal N.\n",
	      out);
}

enum {
	OPT_FLAT = 0x100,
	OPT_KVM,
	OPT_DEVICE,
	OPT_BLK,
	OPT_FS,
	OPT_SHM_STRATEGY,
	OPT_API_SOCKET,
	OPT_NO_SECCOMP,
};

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'c' },
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'p' },
	{ "serial", required_argument, NULL, 's' },
	{ "flat", no_argument, NULL, OPT_FLAT },
	{ "kvm", required_argument, NULL, OPT_KVM },
	{ "device", required_argument, NULL, OPT_DEVICE },
	{ "blk", required_argument, NULL, OPT_BLK },
	{ "fs", required_argument, NULL, OPT_FS },
	{ "shm-strategy", required_argument, NULL, OPT_SHM_STRATEGY },
	{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int parse_serial(struct vm_options *o, const char *arg, FILE *err)
{
	if (!strcmp(arg, "stdio")) {
		o->serial = SERIAL_STDIO;
	} else if (!strcmp(arg, "none")) {
		o->serial = SERIAL_NONE;
	} else if (!strncmp(arg, "file:", 5) && arg[5]) {
		o->serial = SERIAL_FILE;
		o->serial_path = arg + 5;
	} else {
		fprintf(err, "shmvm: --serial: '%s' is not stdio, none or file:PATH\n", arg);
		return -EINVAL;
	}
	return 0;
}

/* Defaults of the short forms: virtio-blk's and virtio-fs's config sizes (Linux 6.1 fields). */
#define BLK_CONFIG_SIZE 60 /* up to write_zeroes_may_unmap, as QEMU 7.2 serves it */
#define FS_CONFIG_SIZE 40  /* tag[36] + num_request_queues */

/* shm=ID:SIZE of a device. */
static int parse_shm(struct opt_device *d, const char *opt, const char *val, FILE *err)
{
	char *colon = strchr(val, ':');
	uint64_t id, size;

	if (!colon) {
		fprintf(err, "shmvm: %s: shm='%s' is not ID:SIZE\n", opt, val);
		return -EINVAL;
	}
	*colon = '\0';
	if (parse_u64(val, 0, SHM_MAX_ID, &id)) {
		fprintf(err, "shmvm: %s: shm region id '%s' is not a number from 0 to %u\n", opt, val,
			SHM_MAX_ID);
		return -EINVAL;
	}
	if (parse_size(colon + 1, &size) || !size || size % 4096 || size > SHM_WINDOW_MAX) {
		fprintf(err,
			"shmvm: %s: shm region %llu: size '%s' is not a non-zero multiple of 4K up to %lluG\n",
			opt, (unsigned long long)id, colon + 1, (unsigned long long)(SHM_WINDOW_MAX / GiB));
		return -EINVAL;
	}
	for (unsigned int i = 0; i < d->nr_shm; i++) {
		if (d->shm_id[i] == id) {
			fprintf(err, "shmvm: %s: shm region %llu given twice\n", opt, (unsigned long long)id);
			return -EINVAL;
		}
	}
	if (d->nr_shm == SHM_MAX_REGIONS) {
		fprintf(err, "shmvm: %s: at most %u shm regions\n", opt, SHM_MAX_REGIONS);
		return -EINVAL;
	}
	d->shm_id[d->nr_shm] = (uint8_t)id;
	d->shm_size[d->nr_shm++] = size;
	return 0;
}

void opt_device_init(struct opt_device *d, unsigned int virtio_id)
{
	*d = (struct opt_device){ .virtio_id = virtio_id, .queues = 1, .queue_size = 256,
				  .config_size = virtio_id == 2 ? BLK_CONFIG_SIZE
					       : virtio_id == 26 ? FS_CONFIG_SIZE : 0 };
	if (virtio_id == 26)
		d->queues = 2; /* hiprio + one request queue */
}

/*
 * Parse "key=value,key=value" for --device (kind "vhost-user" first),
 * --blk and --fs. @virtio_id is 0 for --device (then virtio-id= is required).
 */
static int parse_device(struct vm_options *o, const char *opt, const char *arg, unsigned int virtio_id,
			FILE *err)
{
	struct opt_device *d;
	char *copy, *tok, *save = NULL;
	bool first = true;

	if (o->nr_devices == OPT_MAX_DEVICES) {
		fprintf(err, "shmvm: %s: at most %d devices\n", opt, OPT_MAX_DEVICES);
		return -EINVAL;
	}
	copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	o->device_args[o->nr_devices] = copy;
	d = &o->devices[o->nr_devices];
	opt_device_init(d, virtio_id);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = false) {
		char *val = strchr(tok, '=');
		uint64_t v;

		if (first && virtio_id == 0) {
			if (strcmp(tok, "vhost-user")) {
				fprintf(err, "shmvm: %s: unknown device kind '%s' (only vhost-user)\n", opt, tok);
				return -EINVAL;
			}
			continue;
		}
		if (!val) {
			fprintf(err, "shmvm: %s: '%s' is not key=value\n", opt, tok);
			return -EINVAL;
		}
		*val++ = '\0';
		if (virtio_id == 26 && !strcmp(tok, "tag")) {
			if (!*val || strlen(val) > 36 || strchr(val, '\n')) {
				fprintf(err, "shmvm: %s: tag must be 1 to 36 bytes\n", opt);
				return -EINVAL;
			}
			d->tag = val;
			continue;
		}
		if (!strcmp(tok, "shm")) {
			if (parse_shm(d, opt, val, err))
				return -EINVAL;
			continue;
		}
		if (!strcmp(tok, "socket")) {
			if (!*val) {
				fprintf(err, "shmvm: %s: empty socket path\n", opt);
				return -EINVAL;
			}
			d->socket = val;
			continue;
		}
		static const struct {
			const char *key;
			uint64_t min, max;
			size_t off;
		} nums[] = {
			{ "virtio-id", 1, 63, offsetof(struct opt_device, virtio_id) },
			{ "queues", 1, 64, offsetof(struct opt_device, queues) },
			{ "queue-size", 1, 32768, offsetof(struct opt_device, queue_size) },
			{ "config-size", 0, 256, offsetof(struct opt_device, config_size) },
		};
		size_t i;

		for (i = 0; i < ARRAY_SIZE(nums); i++)
			if (!strcmp(tok, nums[i].key))
				break;
		if (i == ARRAY_SIZE(nums) || (virtio_id && i == 0)) {
			fprintf(err, "shmvm: %s: unknown key '%s'\n", opt, tok);
			return -EINVAL;
		}
		if (parse_u64(val, nums[i].min, nums[i].max, &v)) {
			fprintf(err, "shmvm: %s: %s='%s' is not a number from %llu to %llu\n", opt, tok,
				val, (unsigned long long)nums[i].min, (unsigned long long)nums[i].max);
			return -EINVAL;
		}
		*(unsigned int *)((char *)d + nums[i].off) = (unsigned int)v;
	}
	if (!d->socket) {
		fprintf(err, "shmvm: %s: socket=PATH is required\n", opt);
		return -EINVAL;
	}
	if (!d->virtio_id) {
		fprintf(err, "shmvm: %s: virtio-id=N is required\n", opt);
		return -EINVAL;
	}
	if (d->queue_size & (d->queue_size - 1)) {
		fprintf(err, "shmvm: %s: queue-size=%u is not a power of two\n", opt, d->queue_size);
		return -EINVAL;
	}
	if (d->virtio_id == 26 && d->queues < 2) {
		fprintf(err, "shmvm: %s: virtio-fs needs queues >= 2 (hiprio + requests)\n", opt);
		return -EINVAL;
	}
	o->nr_devices++;
	return 0;
}

void options_free(struct vm_options *o)
{
	for (unsigned int i = 0; i < OPT_MAX_DEVICES; i++) {
		free(o->device_args[i]);
		o->device_args[i] = NULL;
	}
}

void options_init(struct vm_options *o)
{
	*o = (struct vm_options){
		.cmdline = OPT_DEFAULT_CMDLINE,
		.memory = OPT_DEFAULT_MEMORY,
		.cpus = 1,
		.serial = SERIAL_STDIO,
		.kvm_path = "/dev/kvm",
	};
	for (unsigned int i = 0; i < OPT_MAX_DEVICES; i++)
		o->device_fd[i] = -1;
}

int options_parse(struct vm_options *o, int argc, char **argv, FILE *out, FILE *err)
{
	uint64_t v;
	int c;

	options_init(o);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:i:c:m:p:s:vhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			o->kernel = optarg;
			break;
		case 'i':
			o->initrd = optarg;
			break;
		case 'c':
			o->cmdline = optarg;
			break;
		case 'm':
			if (parse_size(optarg, &v) || v == 0) {
				fprintf(err, "shmvm: --memory: '%s' is not a size (e.g. 512M, 2G)\n",
					optarg);
				return -EINVAL;
			}
			o->memory = v;
			break;
		case 'p':
			if (parse_u64(optarg, 1, OPT_MAX_CPUS, &v)) {
				fprintf(err, "shmvm: --cpus: '%s' is not a number from 1 to %d\n",
					optarg, OPT_MAX_CPUS);
				return -EINVAL;
			}
			o->cpus = (unsigned int)v;
			break;
		case 's':
			if (parse_serial(o, optarg, err))
				return -EINVAL;
			break;
		case OPT_FLAT:
			o->flat = true;
			break;
		case OPT_KVM:
			o->kvm_path = optarg;
			break;
		case OPT_DEVICE:
			if (parse_device(o, "--device", optarg, 0, err))
				return -EINVAL;
			break;
		case OPT_BLK:
			if (parse_device(o, "--blk", optarg, 2, err))
				return -EINVAL;
			break;
		case OPT_FS:
			if (parse_device(o, "--fs", optarg, 26, err))
				return -EINVAL;
			break;
		case OPT_SHM_STRATEGY:
			if (shm_strategy_parse(optarg, &o->shm_strategy)) {
				fprintf(err, "shmvm: --shm-strategy: '%s' is not slot or window\n", optarg);
				return -EINVAL;
			}
			break;
		case OPT_API_SOCKET:
			if (!*optarg) {
				fprintf(err, "shmvm: --api-socket: empty path\n");
				return -EINVAL;
			}
			o->api_socket = optarg;
			break;
		case OPT_NO_SECCOMP:
			o->no_seccomp = true;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			options_usage(out);
			return OPTIONS_EXIT;
		case 'V':
			fprintf(out, "shmvm %s\n", SHMVM_VERSION);
			return OPTIONS_EXIT;
		case ':':
			fprintf(err, "shmvm: option '%s' needs a value\n", argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(err, "shmvm: unknown option '%s' (see --help)\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(err, "shmvm: unexpected argument '%s' (see --help)\n", argv[optind]);
		return -EINVAL;
	}
	if (!o->kernel) {
		fprintf(err, "shmvm: --kernel is required (see --help)\n");
		return -EINVAL;
	}
	if (o->flat && o->initrd) {
		fprintf(err, "shmvm: --initrd cannot be used with --flat\n");
		return -EINVAL;
	}
	return OPTIONS_RUN;
}
