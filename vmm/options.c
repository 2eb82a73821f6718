// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <getopt.h>
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
	      "      --flat            KERNEL is raw 64-bit code loaded at 1 MiB (test guests)\n"
	      "      --kvm PATH        KVM device (default /dev/kvm)\n"
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

int options_parse(struct vm_options *o, int argc, char **argv, FILE *out, FILE *err)
{
	uint64_t v;
	int c;

	*o = (struct vm_options){
		.cmdline = OPT_DEFAULT_CMDLINE,
		.memory = OPT_DEFAULT_MEMORY,
		.cpus = 1,
		.serial = SERIAL_STDIO,
		.kvm_path = "/dev/kvm",
	};
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
