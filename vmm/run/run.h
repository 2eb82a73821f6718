/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `shmvm run [options] [--] COMMAND [ARG]...`: boot a kernel whose root is
 * the host's (over virtio-fs with DAX, read-only beneath a tmpfs overlay),
 * run COMMAND in the caller's directory, and return its exit status.
 * The pieces without KVM (options, the run spec) are here so they can be
 * tested alone; run_main() in run.c puts everything together.
 */
#ifndef SHMVM_VMM_RUN_H
#define SHMVM_VMM_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mm/shm_window.h"
#include "util/compiler.h"
#include "vmm/run/initramfs.h"

/* Exit statuses besides the command's own (as timeout(1) and env(1) use them). */
#define RUN_EXIT_TIMEOUT 124
#define RUN_EXIT_FAILURE 125 /* shmvm run itself, the kernel or the guest's init failed */

#define RUN_MAX_RW 6 /* shmvm's 8 devices, less the root's, less one spare */
#define RUN_MAX_ENV 64
#define RUN_DEFAULT_MEMORY (512ULL << 20)

struct run_opts {
	const char *kernel;  /* NULL: $SHMVM_KERNEL, then the guest tools/mkguest made; or a
				build tree (vmm/run/ktree.h) */
	const char *modules; /* NULL: $SHMVM_MODULES, then "modules" beside the kernel */
	const char *root;    /* shared read-only as the guest's / (default "/") */
	const char *rw[RUN_MAX_RW];
	unsigned int nr_rw;
	const char *env[RUN_MAX_ENV]; /* --env NAME=VALUE or NAME (the caller's value) */
	unsigned int nr_env;
	const char *log;    /* kernel messages and shmvm-fsd's go there; NULL: dropped */
	const char *append; /* more kernel command line */
	unsigned int cpus;
	uint64_t memory;
	unsigned int timeout_s; /* 0: none */
	bool dax;
	bool times; /* print where the time went */
	const char *save_initramfs; /* write the initramfs there and stop (other frontends) */
	enum shm_strategy strategy;
	bool no_seccomp; /* --no-seccomp, as for shmvm */
	int verbose;
	char **argv; /* COMMAND [ARG]..., NULL-terminated; empty: the caller's $SHELL */
	/* Not options: the terminal's size when the command gets a pseudo-terminal (else 0). */
	unsigned short tty_rows, tty_cols;
};

enum run_parse_result {
	RUN_PARSE_OK = 0,
	RUN_PARSE_EXIT = 1, /* --help or --print-kconfig printed */
};

/* Parse `run`'s arguments (argv[0] is "run"). A bad option: one line to @err, -EINVAL. */
int run_opts_parse(struct run_opts *o, int argc, char **argv, FILE *out, FILE *err) __must_check;

/*
 * Where a host directory appears in the guest: @path (absolute, resolved)
 * relative to @root (also resolved). NULL when it is not beneath @root.
 * Returns a pointer into @path or the static "/".
 */
const char *run_guest_path(const char *root, const char *path);

/* One --rw share: the host directory (resolved) and its tag. */
struct run_share {
	char *host;
	const char *guest; /* into host */
	char tag[20]; /* "shmvm-rwN" */
};

/*
 * The run spec (vmm/run_proto.h) for @o: the command, the environment
 * (--env and the caller's variables among a fixed list, from @environ),
 * @cwd (guest path), the modules in @mods, the shares. A malloc'd buffer.
 */
int run_spec_build(const struct run_opts *o, char *const *environ, const char *cwd,
		   const struct mod_list *mods, const struct run_share *shares,
		   unsigned int nr_shares, char **buf, size_t *len) __must_check;

/* The whole of `shmvm run`; returns the process's exit status. */
int run_main(int argc, char **argv);

#endif
