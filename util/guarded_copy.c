// SPDX-License-Identifier: GPL-2.0-only
/*
 * guarded_copy(): memcpy() that a SIGBUS ends early instead of the process.
 *
 * Each thread's copy in progress is published in a thread-local pointer
 * before the first byte moves. The handler checks the faulting address
 * against that copy's ranges and jumps back into guarded_copy(); the signal
 * mask needs no restoring because the handler runs with SA_NODEFER (SIGBUS
 * stays unblocked: a fault while it is blocked would kill the process).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "util/guarded_copy.h"

struct guard {
	sigjmp_buf jump;
	uintptr_t ranges[2][2]; /* [dst|src][start, end) */
};

static __thread struct guard *volatile current;
static struct sigaction previous;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_rc;

static bool ours(const struct guard *g, uintptr_t addr)
{
	for (int i = 0; i < 2; i++)
		if (addr >= g->ranges[i][0] && addr < g->ranges[i][1])
			return true;
	return false;
}

static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
	struct guard *g = current;

	(void)sig;
	(void)uctx;
	if (g && si->si_code > 0 && ours(g, (uintptr_t)si->si_addr)) {
		current = NULL;
		siglongjmp(g->jump, 1);
	}
	/* Not a guarded copy: the fault recurs under whatever was there before. */
	sigaction(SIGBUS, &previous, NULL);
}

static void install(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigemptyset(&sa.sa_mask);
	init_rc = sigaction(SIGBUS, &sa, &previous) ? -errno : 0;
}

int guarded_copy_init(void)
{
	pthread_once(&once, install);
	return init_rc;
}

bool guarded_copy(void *dst, const void *src, size_t n)
{
	struct guard g = {
		.ranges = {
			{ (uintptr_t)dst, (uintptr_t)dst + n },
			{ (uintptr_t)src, (uintptr_t)src + n },
		},
	};

	if (!n)
		return true;
	if (sigsetjmp(g.jump, 0))
		return false;
	current = &g;
	/* The handler must see the guard before the first byte moves, and after the last. */
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(dst, src, n);
	atomic_signal_fence(memory_order_seq_cst);
	current = NULL;
	return true;
}
