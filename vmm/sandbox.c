// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sandbox shmvm enters once the VM is built: no capabilities in any
 * thread, no_new_privs, and a seccomp filter made from one table,
 * sandbox_rules[], in which each system call says who needs it.
 *
 * When a change needs a new call, the KVM and boot suites say so: a
 * forbidden call ends shmvm with a line naming it. `strace -f -c` of a run
 * (with --no-seccomp) lists what a run really makes.
 */
#include <cap-ng.h>
#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#ifdef SHMVM_SANITIZERS
#include <sanitizer/common_interface_defs.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/kvm.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

/* When a rule applies. */
enum {
	SB_ALWAYS = 0,
	SB_API = 1u << 0, /* with a control socket (cfg->api_socket) */
	SB_RUN = 1u << 1, /* with servers to stop (cfg->nr_children, `shmvm run`) */
};

/* What a rule asks of argument @arg (of an int argument: the low 32 bits, all the kernel reads). */
enum sb_arg {
	ARG_ANY,   /* nothing */
	ARG_EQ,    /* == @value */
	ARG_SET,   /* every bit of @value set */
	ARG_CLEAR, /* every bit of @value clear */
	ARG_IOCTL, /* an ioctl request: argument 1 == @value */
	ARG_SELF,  /* == this process's pid */
	ARG_CHILD, /* == one of cfg->children */
};

struct sb_rule {
	int nr;
	unsigned int when;
	enum sb_arg how;
	unsigned int arg;
	uint64_t value;
};

#define ALLOW(name) { SCMP_SYS(name), SB_ALWAYS, ARG_ANY, 0, 0 }
#define ALLOW_IF(name, when) { SCMP_SYS(name), when, ARG_ANY, 0, 0 }
#define ALLOW_ARG(name, how, arg, value) { SCMP_SYS(name), SB_ALWAYS, how, arg, value }
#define ALLOW_IOCTL(req) { SCMP_SYS(ioctl), SB_ALWAYS, ARG_IOCTL, 1, req }

/*
 * Everything shmvm may do once set-up is over: the main loop (console,
 * signals, timeout, control socket, backends' hang-ups, mapped files'
 * changes), the vCPU threads (KVM_RUN, device emulation, vhost-user
 * requests, SHMEM_MAP into the windows, the EOF repair), the backend-channel
 * threads, and the way out (vm_destroy, `shmvm run` reaping its servers).
 * Anything else traps (SIGSYS): nothing is opened, created, executed or
 * connected to once the VM runs.
 */
static const struct sb_rule sandbox_rules[] = {
	/* I/O on descriptors set-up opened. */
	ALLOW(read),        /* stdin, eventfds, signalfd, timerfd, inotify, control-socket clients */
	ALLOW(readv),       /* virtio-console: host input into the guest's buffers */
	ALLOW(writev),      /* virtio-console: the guest's output, straight from its buffers */
	ALLOW(pread64),     /* KVM statistics (exits by reason) of each vCPU */
	ALLOW(write),       /* console/--serial output, log lines, eventfds, `shmvm run`'s output */
	ALLOW(close),       /* fds a backend sent, clients, everything at exit */
	ALLOW(epoll_wait),  /* the main loop (vmm/loop.c) */
	ALLOW(epoll_pwait), /* the same, as some C libraries spell it */
	ALLOW(epoll_ctl),   /* stdin paused and resumed, control-socket clients come and go */
	ALLOW(poll),        /* vhost-user replies, the backend channel, `shmvm run`'s output */
	ALLOW(ppoll),       /* the same, as some C libraries spell it */
	ALLOW(sendmsg),     /* vhost-user requests (memory tables carry fds), backend replies */
	ALLOW(recvmsg),     /* vhost-user replies, backend requests (SHMEM_MAP carries an fd) */
	ALLOW(shutdown),    /* the backend channel closes (devices/vhost_user_pci.c) */
	ALLOW(eventfd2),    /* a ring starts: its kick and call eventfds (devices/vhost_user_pci.c) */
	ALLOW(fstat),       /* SHMEM_MAP: the file's dev/ino (mm/shm_window.c) */
	ALLOW(newfstatat),  /* the same as glibc makes it; stat of the control socket at the end */
	ALLOW(inotify_add_watch), /* a mapped file's changes, by /proc/self/fd/N (mm/shm_window.c) */
	ALLOW(inotify_rm_watch),  /* its last mapping goes */
	ALLOW(lseek),       /* rewinddir of /proc/self/fd (control socket), stdio */

	/* Memory: malloc, SHMEM_MAP/UNMAP, the EOF repair, thread stacks; never executable. */
	ALLOW_ARG(mmap, ARG_CLEAR, 2, PROT_EXEC),
	ALLOW_ARG(mprotect, ARG_CLEAR, 2, PROT_EXEC),
	ALLOW(munmap),
	ALLOW(mremap),  /* realloc of large blocks (the windows' mapping tables) */
	ALLOW(madvise), /* MADV_POPULATE_READ (EOF repair, mm/shm_window.c); glibc's stacks and heap */
	ALLOW(brk),     /* malloc */

	/* Threads: the vCPUs start after set-up; locks; the way out. */
	ALLOW_ARG(clone, ARG_SET, 0, CLONE_THREAD), /* threads only, no process (clone3: ENOSYS) */
	ALLOW(futex),
	ALLOW(set_robust_list), /* a new thread (glibc) */
	ALLOW(rseq),            /* a new thread (glibc) */
	ALLOW_ARG(prctl, ARG_EQ, 0, PR_SET_NAME), /* pthread_setname_np: "vcpuN" */
	ALLOW(getpid),
	ALLOW(gettid),
	ALLOW(sched_yield),
	ALLOW(exit),       /* a thread ends */
	ALLOW(exit_group), /* the process ends */

	/* Signals: the vCPU kick (vmm/vcpu.c), handlers returning. */
	ALLOW_ARG(tgkill, ARG_SELF, 0, 0), /* pthread_kill of a vCPU; abort() */
	ALLOW_ARG(rt_sigaction, ARG_EQ, 0, VCPU_KICK_SIGNAL), /* vcpu_start() */
	ALLOW(rt_sigprocmask), /* pthread_create, vCPU threads unblocking the kick */
	ALLOW(rt_sigreturn),
	ALLOW(restart_syscall),

	/* Time: rate-limited logs, --times, replies' timeouts, when the vDSO cannot answer. */
	ALLOW(clock_gettime),
	ALLOW(gettimeofday),
	ALLOW(clock_nanosleep),
	ALLOW(nanosleep),

	/* KVM on the VM and vCPU fds (vmm/vcpu.c, vmm/vm.c, vmm/irq.c): what runs the guest. */
	ALLOW_IOCTL(KVM_RUN),
	ALLOW_IOCTL(KVM_GET_REGS),               /* a crash's register dump */
	ALLOW_IOCTL(KVM_GET_SREGS),              /* the same */
	ALLOW_IOCTL(KVM_SET_USER_MEMORY_REGION), /* SHMEM_MAP/UNMAP (slot strategy), BAR moves */
	ALLOW_IOCTL(KVM_IRQ_LINE),               /* UART and i8042 interrupts */
	ALLOW_IOCTL(KVM_SET_GSI_ROUTING),        /* MSI-X vectors programmed */
	ALLOW_IOCTL(KVM_IRQFD),                  /* rings start and stop, vectors (un)masked */
	ALLOW_IOCTL(KVM_IOEVENTFD),              /* the same; BAR moves */
	ALLOW_IOCTL(KVM_SIGNAL_MSI),             /* config-change interrupts, PBA bits */
	/* The console's terminal (vmm/term.c): raw mode undone at exit; stdio asks isatty. */
	ALLOW_IOCTL(TCGETS),
	ALLOW_IOCTL(TCSETS),
	ALLOW_IOCTL(TIOCGWINSZ), /* `shmvm run`: the terminal's size, for the guest's */

	/* The control socket (vmm/api.c): clients; its file removed at the end. */
	ALLOW_IF(accept4, SB_API),
	ALLOW_IF(sendto, SB_API), /* replies (send) */
	ALLOW_IF(unlink, SB_API),
	ALLOW_IF(getrandom, SB_API),  /* json-c seeds its hash tables at the first reply */
	ALLOW_IF(getdents64, SB_API), /* "open_fds": /proc/self/fd, opened during set-up */

	/* `shmvm run` (vmm/run/run.c): stops its servers (SIGTERM) and reaps them. */
	{ SCMP_SYS(kill), SB_RUN, ARG_CHILD, 0, 0 },
	ALLOW_IF(wait4, SB_RUN),

#ifdef SHMVM_SANITIZERS
	/*
	 * Sanitizer builds only (-Db_sanitize): the ASan/UBSan/LSan runtimes'
	 * reports and LeakSanitizer's check at exit, which stops the other
	 * threads from a traced helper process.
	 */
	ALLOW(clone), /* LeakSanitizer's helper: not a thread */
	ALLOW(ptrace),
	ALLOW(prctl), /* PR_SET_PTRACER, PR_GET_DUMPABLE, PR_SET_DUMPABLE */
	ALLOW(wait4),
	ALLOW(getppid),
	ALLOW(open),   /* their own system calls: /proc/self/maps, /proc/self/task, symbols */
	ALLOW(openat),
	ALLOW(getdents),
	ALLOW(getdents64),
	ALLOW(readlink),
	ALLOW(sigaltstack),
	ALLOW(rt_sigaction),
	ALLOW(fcntl),
	ALLOW(sched_getaffinity), /* a new thread: pthread_getattr_np() for its stack */
#endif
};

/*
 * The SIGSYS handler's state, set before the filter (a signal handler has
 * no other way to get it): what to say and how to end.
 */
#define SANDBOX_MAX_NR 512
static const char *sysnames[SANDBOX_MAX_NR];
static uint32_t native_arch;
static int violation_status = 1;
static void (*violation_hook)(void);

static size_t put_str(char *buf, size_t n, size_t size, const char *s)
{
	while (*s && n < size)
		buf[n++] = *s++;
	return n;
}

static size_t put_num(char *buf, size_t n, size_t size, long v)
{
	char digits[24];
	size_t d = 0;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

	if (v < 0 && n < size)
		buf[n++] = '-';
	do
		digits[d++] = (char)('0' + u % 10);
	while ((u /= 10) && d < sizeof(digits));
	while (d && n < size)
		buf[n++] = digits[--d];
	return n;
}

/* Async-signal-safe: write(2) and _exit(2) only (and the caller's hook). */
static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	char msg[192];
	size_t n = 0;
	int nr = si->si_syscall;
	ssize_t w;

	(void)sig;
	(void)uctx;
	n = put_str(msg, n, sizeof(msg), "shmvm: seccomp: forbidden system call ");
	n = put_num(msg, n, sizeof(msg), nr);
	if (si->si_arch != native_arch)
		n = put_str(msg, n, sizeof(msg), " of another ABI");
	else if (nr >= 0 && nr < SANDBOX_MAX_NR && sysnames[nr]) {
		n = put_str(msg, n, sizeof(msg), " (");
		n = put_str(msg, n, sizeof(msg), sysnames[nr]);
		n = put_str(msg, n, sizeof(msg), ")");
	}
	n = put_str(msg, n, sizeof(msg), "; stopping (--no-seccomp turns the filter off)\n");
	if (violation_hook)
		violation_hook();
	w = write(STDERR_FILENO, msg, n);
	(void)w;
	_exit(violation_status);
}

static int filter_add(scmp_filter_ctx ctx, const struct sb_rule *r, const struct sandbox_cfg *cfg)
{
	switch (r->how) {
	case ARG_ANY:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 0);
	case ARG_EQ:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, 0xffffffffu, r->value));
	case ARG_SET:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, r->value, r->value));
	case ARG_CLEAR:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, r->value, 0));
	case ARG_IOCTL: /* the kernel reads the request as 32 bits */
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, 0xffffffffu, r->value));
	case ARG_SELF:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, 0xffffffffu,
						 (uint32_t)getpid()));
	case ARG_CHILD:
		for (unsigned int i = 0; i < cfg->nr_children; i++) {
			int rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
						  SCMP_CMP(r->arg, SCMP_CMP_MASKED_EQ, 0xffffffffu,
							   (uint32_t)cfg->children[i]));

			if (rc)
				return rc;
		}
		return 0;
	}
	return -EINVAL;
}

static void *no_op(void *arg)
{
	return arg;
}

static int filter_load(const struct sandbox_cfg *cfg)
{
	unsigned int when = (cfg->api_socket ? SB_API : 0) | (cfg->nr_children ? SB_RUN : 0);
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	scmp_filter_ctx ctx;
	pthread_t t;
	sigset_t sys;
	int rc;

	/* The names, for the handler: it may not allocate. */
	for (int nr = 0; nr < SANDBOX_MAX_NR; nr++)
		if (!sysnames[nr])
			sysnames[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	native_arch = seccomp_arch_native();
	violation_status = cfg->violation_status;
	violation_hook = cfg->on_violation;
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	if (sigaction(SIGSYS, &sa, NULL) || pthread_sigmask(SIG_UNBLOCK, &sys, NULL))
		return -errno;
	/*
	 * What glibc sets up on first use happens now: the first
	 * pthread_create() installs a handler of its own (SIGSETXID, for
	 * setuid() in threads), so a thread that does nothing starts, rather
	 * than letting vCPUs change handlers; the first gmtime_r() (the RTC,
	 * devices/rtc.c) reads /etc/localtime, so tzset() reads it now.
	 */
	if (!pthread_create(&t, NULL, no_op, NULL))
		pthread_join(t, NULL);
	tzset();

	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	/* Every thread gets it, the backend-channel ones already running too. */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (!rc)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
	for (size_t i = 0; !rc && i < ARRAY_SIZE(sandbox_rules); i++)
		if (!(sandbox_rules[i].when & ~when))
			rc = filter_add(ctx, &sandbox_rules[i], cfg);
	/* glibc tries clone3 first, whose flags no filter can see; it falls back to clone. */
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc > 0 ? -rc : rc;
}

/*
 * Capabilities are per thread, and the backend-channel threads started
 * during set-up kept the ones they were born with. Each is sent a signal
 * whose handler drops its own (raw system calls only), until /proc shows
 * every thread without any.
 */
static void drop_own_privileges(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3] = { { 0 } };

	/* The bounding set first: that needs CAP_SETPCAP, which capset then drops. */
	for (unsigned long cap = 0; cap < 64; cap++)
		prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	syscall(SYS_capset, &h, d);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static void on_drop_signal(int sig)
{
	int saved = errno;

	(void)sig;
	drop_own_privileges();
	errno = saved;
}

/* Whether thread @tid still has a capability or lacks no_new_privs; -errno, or 0 if gone. */
static int thread_privileged(pid_t tid, bool bounds)
{
	char path[64], line[128];
	int privileged = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT || errno == ESRCH ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "NoNewPrivs:", 11))
			privileged |= strtoul(line + 11, NULL, 10) != 1;
		else if (!strncmp(line, "Cap", 3) && strlen(line) > 8 &&
			 (bounds || strncmp(line, "CapBnd:", 7)))
			privileged |= strtoull(line + 7, NULL, 16) != 0;
	}
	fclose(f);
	return privileged;
}

static int drop_everywhere(void)
{
	/*
	 * No SA_RESTART: a thread blocked in a call ThreadSanitizer does not take
	 * for a blocking one (the backend-channel thread's recvmsg) runs a handler
	 * only when the call returns; restarted, it would never. The threads that
	 * exist now retry on EINTR.
	 */
	struct sigaction sa = { .sa_handler = on_drop_signal };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	pid_t self = (pid_t)syscall(SYS_gettid), pid = getpid();
	int sig = SIGRTMIN, rc = 0, left = 1;
	bool bounds;

	/* This thread through libcap-ng: everything, the bounding set if it may (CAP_SETPCAP). */
	capng_clear(CAPNG_SELECT_ALL);
	if (capng_apply(CAPNG_SELECT_ALL)) {
		log_err("cannot drop capabilities");
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		log_err("cannot set no_new_privs: %s", strerror(errno));
		return -errno;
	}
	bounds = thread_privileged(self, true) == 0;

	if (sigaction(sig, &sa, NULL))
		return -errno;
	for (unsigned int round = 0; left && round < 1000; round++) {
		DIR *dir = opendir("/proc/self/task");
		struct dirent *e;

		if (!dir) {
			rc = -errno;
			break;
		}
		left = 0;
		while ((e = readdir(dir))) {
			pid_t tid = (pid_t)atoi(e->d_name);
			int p;

			if (tid <= 0 || tid == self)
				continue;
			p = thread_privileged(tid, bounds);
			if (p < 0)
				rc = p;
			if (p > 0) {
				left++;
				if (round % 100 == 0) /* again now and then, in case one was lost */
					syscall(SYS_tgkill, pid, tid, sig);
			}
		}
		closedir(dir);
		if (rc)
			break;
		if (left)
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	/* Ignored from now on: a signal still queued is discarded, not fatal. */
	sigaction(sig, &ign, NULL);
	if (rc)
		log_err("cannot drop the capabilities of every thread: %s", strerror(-rc));
	else if (left)
		log_err("%d threads kept capabilities or lack no_new_privs", left);
	return rc ? rc : left ? -EPERM : 0;
}

int sandbox_enter(const struct sandbox_cfg *cfg)
{
	int rc;

#ifdef SHMVM_SANITIZERS
	/*
	 * The runtimes' own preparation: ThreadSanitizer stops its background
	 * thread, which blocks every signal and so could never drop its
	 * capabilities below; the others cache /proc/self/maps.
	 */
	__sanitizer_sandbox_on_notify(NULL);
#endif
	rc = drop_everywhere();

	if (rc || !cfg->seccomp)
		return rc;
	rc = filter_load(cfg);
	if (rc)
		log_err("cannot install the seccomp filter: %s (--no-seccomp runs without)",
			strerror(-rc));
	return rc;
}
