/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Least privilege once the VM is built (docs/security.md, "Least privilege").
 *
 * Set-up (opening /dev/kvm and the files and sockets the command line names,
 * starting `shmvm run`'s servers, the control socket) may need what the
 * caller has. Running the VM needs none of it: sandbox_enter(), called after
 * the last step of set-up and before the first vCPU starts, drops every
 * capability in every thread and sets no_new_privs; then, unless
 * --no-seccomp, it installs a seccomp filter (all threads) that allows the
 * system calls listed in sandbox.c's table and nothing else.
 *
 * A forbidden system call is a bug or an attack: the thread that made it
 * gets SIGSYS, whose handler writes one line naming the call to stderr,
 * calls @on_violation and ends the process with @violation_status. SIGSYS
 * must therefore never be blocked (a blocked SIGSYS from seccomp kills the
 * process without a word).
 */
#ifndef SHMVM_VMM_SANDBOX_H
#define SHMVM_VMM_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/compiler.h"

#define SANDBOX_MAX_CHILDREN 8

struct sandbox_cfg {
	bool seccomp;      /* false: --no-seccomp, capabilities only */
	bool api_socket;   /* a control socket: its file is removed at the end (unlink) */
	int violation_status; /* exit status after a forbidden system call */
	/* Called (async-signal-safe only) before that exit: e.g. restore the terminal. */
	void (*on_violation)(void);
	/* Processes that may be sent a signal and reaped (`shmvm run`'s servers). */
	pid_t children[SANDBOX_MAX_CHILDREN];
	unsigned int nr_children;
};

/*
 * Drop every capability (effective, permitted, inheritable, ambient and,
 * when this process may, the bounding set) in every thread, set
 * no_new_privs, and with @cfg->seccomp install the filter. Call once, from
 * the main thread, when no other thread is starting one. 0, or -errno with
 * a line logged; the process must not go on after an error (some threads
 * may already be filtered).
 */
int sandbox_enter(const struct sandbox_cfg *cfg) __must_check;

#endif
