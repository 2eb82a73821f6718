/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * VM exits of a vCPU, by reason: a figure that means the same nested and
 * native. KVM counts every exit, those it handles itself included (an
 * ioeventfd's, a host interrupt's), in its binary statistics
 * (KVM_GET_STATS_FD, Linux 5.14); where a KVM has none, only the exits that
 * reach shmvm are counted, by shmvm.
 */
#ifndef SHMVM_VMM_EXITS_H
#define SHMVM_VMM_EXITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/compiler.h"

enum exit_kind {
	EXIT_ALL,	 /* every exit */
	EXIT_IO,	 /* port I/O that reached shmvm */
	EXIT_MMIO,	 /* MMIO that reached shmvm (an ioeventfd's does not) */
	EXIT_HALT,	 /* HLT */
	EXIT_IRQ,	 /* a host interrupt */
	EXIT_IRQ_WINDOW, /* waiting to inject an interrupt */
	EXIT_SIGNAL,	 /* a signal for shmvm's vCPU thread */
	NR_EXIT_KINDS,
};

/* JSON and --times names: "exits", "io", ... */
extern const char *const exit_kind_name[NR_EXIT_KINDS];

struct exit_stats {
	int fd;			       /* the vCPU's statistics, or -1 */
	uint32_t off[NR_EXIT_KINDS];   /* of each counter in the file */
	bool have[NR_EXIT_KINDS];
	uint64_t shmvm[NR_EXIT_KINDS]; /* exits that reached shmvm, counted here (EXIT_ALL: all of them) */
};

/*
 * Find the counters in a statistics file's header and descriptors: @buf
 * holds the file's first @len bytes (from the header on). Pure, for tests.
 */
int exit_stats_parse(struct exit_stats *s, const void *buf, size_t len) __must_check;
/* Open the statistics of the vCPU @vcpu_fd; without them, s->fd is -1 (not an error). */
void exit_stats_open(struct exit_stats *s, int vcpu_fd);
void exit_stats_close(struct exit_stats *s);
/* Count one exit to shmvm with KVM's @exit_reason (vCPU thread only). */
void exit_stats_count(struct exit_stats *s, uint32_t exit_reason);
/*
 * The counts now, into @out; returns true if they are KVM's (every exit),
 * false if only those to shmvm. Any thread.
 */
bool exit_stats_read(const struct exit_stats *s, uint64_t out[NR_EXIT_KINDS]);

#endif
