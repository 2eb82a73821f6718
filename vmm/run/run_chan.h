/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The host's end of `shmvm run`'s frame channel (vmm/run_proto.h): a
 * parser fed the bytes the guest writes to COM2, in whatever pieces they
 * come, that hands the command's output to callbacks and records how the
 * run ended. Everything in it came from the guest and is checked.
 */
#ifndef SHMVM_VMM_RUN_CHAN_H
#define SHMVM_VMM_RUN_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/run/run_proto.h"

/* @stream is 1 (stdout) or 2 (stderr). */
typedef void run_output_fn(void *opaque, int stream, const uint8_t *buf, size_t len);

#define RUN_REASON_MAX 256

struct run_chan {
	run_output_fn *output;
	void *opaque;

	/* The frame being read. */
	uint8_t hdr[RUN_FRAME_HDR];
	unsigned int hdr_len;
	uint32_t left; /* payload bytes still to come */

	/* What the guest said. */
	bool hello;
	bool started;
	bool exited;
	uint8_t status;
	bool failed;
	char reason[RUN_REASON_MAX]; /* 'F' text, or what was wrong with the stream */
	size_t reason_len;
	bool broken; /* the guest broke the protocol; everything after is ignored */
};

void run_chan_init(struct run_chan *c, run_output_fn *output, void *opaque);
/*
 * Feed bytes. Returns true when the run is over (exit status or failure
 * received, or the stream broken): the caller stops the VM.
 */
bool run_chan_feed(struct run_chan *c, const uint8_t *buf, size_t len);

#endif
