/* SPDX-License-Identifier: GPL-2.0-only */
/* Running a built VM until it stops: the main loop, the console, the control socket. */
#ifndef SHMVM_VMM_SESSION_H
#define SHMVM_VMM_SESSION_H

#include "vmm/loop.h"
#include "vmm/options.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

/*
 * Block SIGINT, SIGTERM, SIGHUP, SIGWINCH and the vCPU kick signal in this
 * thread and every thread it starts; ignore SIGPIPE. Returns a signalfd of
 * all but the kick, or -errno (logged). Call before starting any thread.
 */
int session_block_signals(void);

#define SESSION_MAX_WATCHES 4

/* What a caller (`shmvm run`) adds to the main loop. */
struct session_hooks {
	unsigned int nr_watches;
	struct {
		int fd;
		uint32_t events;
		loop_fn *fn;
		void *opaque;
	} watch[SESSION_MAX_WATCHES];
	/* The terminal changed size (SIGWINCH); NULL: nothing to do. */
	void (*winch)(void *opaque);
	void *opaque;
};

/*
 * Start @vm (built by vm_create()) and serve it until it stops: console on
 * stdio per @o, backends' hang-ups, mapped-file repairs, the control
 * socket, the signals of @sigfd, and @hooks (may be NULL). With @timeout_s, stop with VM_EXIT_TIMEOUT
 * after that many seconds. Set-up ends here: once the loop, the terminal
 * and the control socket are ready, and before the first vCPU starts, the
 * process enters the sandbox of @sb (vmm/sandbox.h; the control socket and
 * the terminal's restoring are filled in here). Returns 0 once the VM
 * stopped (vm->exit_status says why) or -errno if it could not be served.
 */
int session_run(struct vm *vm, const struct vm_options *o, int sigfd, unsigned int timeout_s,
		const struct sandbox_cfg *sb, const struct session_hooks *hooks) __must_check;

#endif
