// SPDX-License-Identifier: GPL-2.0-only
/*
 * `shmvm run`: start one shmvm-fsd per share over a socketpair, build the
 * initramfs in a memfd (no file is ever written), boot, pass the command's
 * output through, and turn how the run ended into an exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/file.h"
#include "util/log.h"
#include "vmm/loop.h"
#include "vmm/run/initramfs.h"
#include "vmm/run/ktree.h"
#include "vmm/run/run.h"
#include "vmm/run/run_chan.h"
#include "vmm/session.h"
#include "vmm/term.h"
#include "vmm/vm.h"

#ifndef SHMVM_GUEST_DIR
#define SHMVM_GUEST_DIR "/usr/share/shmvm/guest"
#endif
#ifndef SHMVM_FSD_PATH
#define SHMVM_FSD_PATH "/usr/bin/shmvm-fsd"
#endif

/* The guest's init, linked in (vmm/run-init-blob.S). */
extern const unsigned char run_init_start[], run_init_end[];

/* What the root and the console need from modules; built-in ones are skipped. */
static const char *const run_modules[] = { "virtio_pci", "virtiofs", "overlay", "virtio_console" };

/*
 * The i8042 is there for reset only: probing its keyboard and aux ports
 * waits out timeouts (2.5 s of a 10 s boot, nested); reboot=k needs no driver.
 * The kernel writes to COM1 (earlycon: one VM exit per byte) only until
 * hvc0, the virtio-console's first port, takes over once its module loads.
 */
#define RUN_CMDLINE                                                                                \
	"earlycon=uart8250,io,0x3f8 console=hvc0 acpi=off reboot=k panic=-1 8250.nr_uarts=2 "      \
	"i8042.noaux i8042.nokbd"
#define PANIC_TEXT "Kernel panic - not syncing"
#define RUN_ESCAPE 0x01 /* Ctrl-A, then x: stop (as plain shmvm's console) */
#define RUN_REASON_MAX_LINE 200

_Static_assert(1 + RUN_MAX_RW <= SANDBOX_MAX_CHILDREN, "every server can be reaped in the sandbox");

struct run_fsd {
	pid_t pid;
	int fd; /* shmvm's end of the socketpair; the device takes it */
};

/* Moments of a run, for --times. */
enum run_mark {
	MARK_START,   /* run_main() entered */
	MARK_BOOT,    /* VM built, vCPUs about to start */
	MARK_HELLO,   /* the guest's init said hello */
	MARK_STARTED, /* the command's process exists */
	MARK_EXIT,    /* its exit status arrived */
	MARK_END,     /* VM and servers gone */
	NR_MARKS,
};

struct run {
	struct run_opts o;
	struct timespec mark[NR_MARKS];
	struct vm *vm;
	struct run_chan chan;
	pthread_mutex_t lock; /* the guest's text and frames: from vCPUs (COM1/2) and the console's thread */
	int log_fd;
	bool out_gone[3]; /* the caller closed our stdout / stderr */

	/* The virtio-console's host side. */
	struct vcon_cfg con;
	int view[3];      /* stdin, stdout, stderr as the console reads and writes them */
	int chan_in[2];   /* frames to the init (the terminal's size): a pipe into the channel port */
	int tty_in[2];    /* with a terminal: what was typed, past the escape, into the stdin port */
	bool escape;      /* Ctrl-A seen */
	uint8_t typed[4096]; /* typed bytes the pipe had no room for */
	size_t typed_len, typed_off;
	/* For --times: what the VM did, read before it goes. */
	uint64_t (*exits)[NR_EXIT_KINDS]; /* per vCPU */
	unsigned int nr_exits;
	bool exits_kvm;
	struct vcon_counters con_count;

	/* The kernel console (COM1), for the panic line. */
	char line[RUN_REASON_MAX_LINE];
	size_t line_len;
	char panic[RUN_REASON_MAX_LINE];

	struct ktree ktree; /* --kernel DIR; ktree.dir[0] == '\0' otherwise */
	char root[PATH_MAX];
	struct run_share shares[RUN_MAX_RW];
	unsigned int nr_shares;
	struct run_fsd fsd[1 + RUN_MAX_RW];
	unsigned int nr_fsd;
	int initrd_fd;
	char initrd_path[64];
	char *cmdline;
};

static void fail(const char *fmt, ...) __printf(1, 2);
static void fail(const char *fmt, ...)
{
	va_list ap;

	fputs("shmvm run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Write everything, waiting out a non-blocking descriptor; false when the reader is gone. */
static bool write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };

			poll(&pfd, 1, -1);
			continue;
		}
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* ---- what the guest writes: COM1 the kernel's console, COM2 the frame channel ---- */

static void run_output(void *opaque, int stream, const uint8_t *buf, size_t len)
{
	struct run *r = opaque;

	if (!r->out_gone[stream] && !write_all(stream, buf, len))
		r->out_gone[stream] = true;
}

/* The kernel's console: COM1 until hvc0 takes over, then the console port. */
static void console_text(struct run *r, const uint8_t *buf, size_t len)
{
	pthread_mutex_lock(&r->lock);
	if (r->log_fd >= 0 && !write_all(r->log_fd, buf, len))
		r->log_fd = -1; /* still owned; closed at the end */
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' || r->line_len == sizeof(r->line) - 1) {
			r->line[r->line_len] = '\0';
			if (!r->panic[0] && strstr(r->line, PANIC_TEXT))
				memcpy(r->panic, r->line, r->line_len + 1);
			r->line_len = 0;
		} else if (buf[i] != '\r') {
			r->line[r->line_len++] = buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : '?';
		}
	}
	pthread_mutex_unlock(&r->lock);
}

static void mark(struct run *r, enum run_mark m)
{
	clock_gettime(CLOCK_MONOTONIC, &r->mark[m]);
}

static void com1_output(void *opaque, const uint8_t *buf, size_t len)
{
	console_text(opaque, buf, len);
}

static void stop_now(void *opaque)
{
	struct run *r = opaque;

	vm_request_stop(r->vm, VM_EXIT_RESET);
}

/* Frames from the init, from COM2 (the hello, or all of them without the console) or its port. */
static void chan_input(struct run *r, const uint8_t *buf, size_t len)
{
	bool hello, started, over, was_over;

	pthread_mutex_lock(&r->lock);
	hello = r->chan.hello;
	started = r->chan.started;
	was_over = r->chan.exited || r->chan.failed || r->chan.broken;
	over = run_chan_feed(&r->chan, buf, len);
	if (!hello && r->chan.hello)
		mark(r, MARK_HELLO);
	if (!started && r->chan.started)
		mark(r, MARK_STARTED);
	pthread_mutex_unlock(&r->lock);
	if (!over || was_over)
		return;
	mark(r, MARK_EXIT);
	/*
	 * Exit status or failure received; init reboots next, but nothing
	 * more is needed once what the command wrote before it has left.
	 */
	if (r->vm->console)
		vcon_when_drained(r->vm->console, stop_now, r);
	else
		stop_now(r);
}

static void com2_output(void *opaque, const uint8_t *buf, size_t len)
{
	chan_input(opaque, buf, len);
}

/* What the guest wrote to a console port with no descriptor behind it. */
static void port_output(void *opaque, unsigned int port, const uint8_t *buf, size_t len)
{
	struct run *r = opaque;

	if (port == RUN_PORT_CONSOLE)
		console_text(r, buf, len);
	else if (port == RUN_PORT_CHANNEL)
		chan_input(r, buf, len);
}

static void print_times(const struct run *r)
{
	static const char *const stage[] = { "set-up", "kernel", "init", "command", "teardown" };
	char line[256];
	size_t n = 0;

	for (unsigned int m = MARK_START; m < MARK_END; m++) {
		const struct timespec *a = &r->mark[m], *b = &r->mark[m + 1];

		if (!a->tv_sec || !b->tv_sec)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s -", m ? ", " : "", stage[m]);
		else
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %.3f s", m ? ", " : "",
					      stage[m], (double)(b->tv_sec - a->tv_sec) +
					      (double)(b->tv_nsec - a->tv_nsec) / 1e9);
	}
	fprintf(stderr, "shmvm run: times: %s, total %.3f s\n", line,
		(double)(r->mark[MARK_END].tv_sec - r->mark[MARK_START].tv_sec) +
		(double)(r->mark[MARK_END].tv_nsec - r->mark[MARK_START].tv_nsec) / 1e9);
	for (unsigned int i = 0; i < r->nr_exits; i++) {
		n = 0;
		for (int k = EXIT_IO; k < NR_EXIT_KINDS; k++)
			n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %llu", k > EXIT_IO ? ", " : "",
					      exit_kind_name[k], (unsigned long long)r->exits[i][k]);
		fprintf(stderr, "shmvm run: vCPU %u: %llu exits (%s)%s\n", i,
			(unsigned long long)r->exits[i][EXIT_ALL], line,
			r->exits_kvm ? "" : ", only those that reached shmvm (this KVM has no statistics)");
	}
	if (r->nr_exits)
		fprintf(stderr,
			"shmvm run: console: %llu bytes out, %llu in; %llu kicks, %llu interrupts\n",
			(unsigned long long)r->con_count.bytes_out, (unsigned long long)r->con_count.bytes_in,
			(unsigned long long)r->con_count.kicks, (unsigned long long)r->con_count.interrupts);
}

/* What --times reports of the VM, before it goes. */
static void take_counts(struct run *r, struct vm *vm)
{
	r->exits = calloc(vm->nr_vcpus, sizeof(*r->exits));
	if (!r->exits)
		return;
	r->nr_exits = vm->nr_vcpus;
	r->exits_kvm = true;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		r->exits_kvm &= exit_stats_read(&vm->vcpus[i].exits, r->exits[i]);
	if (vm->console)
		r->con_count = vcon_counters(vm->console);
}

/* ---- shmvm-fsd, one per share ---- */

static const char *fsd_program(void)
{
	static char beside[PATH_MAX];
	const char *env = getenv("SHMVM_FSD");
	ssize_t n;
	char *slash;

	if (env && *env)
		return env;
	/* Installed: next to shmvm. */
	n = readlink("/proc/self/exe", beside, sizeof(beside) - sizeof("shmvm-fsd"));
	if (n > 0) {
		beside[n] = '\0';
		slash = strrchr(beside, '/');
		if (slash) {
			strcpy(slash + 1, "shmvm-fsd");
			if (!access(beside, X_OK))
				return beside;
		}
	}
	return SHMVM_FSD_PATH;
}

static int fsd_start(struct run *r, const char *program, const char *dir, const char *tag,
		     bool read_only)
{
	struct run_fsd *f = &r->fsd[r->nr_fsd];
	/* The command runs as root in the guest: its root is the caller (no-op for root). */
	const char *argv[] = { program, "--socket-fd", "3", "--shared-dir", dir, "--tag", tag,
			       "--dax-window", read_only && r->o.dax ? "1G" : "0", "--map-root",
			       read_only ? "--read-only" : NULL, NULL };
	int devnull, sv[2], ep[2], err = 0;
	pid_t parent = getpid();
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (pipe2(ep, O_CLOEXEC)) {
		err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	f->pid = fork();
	if (f->pid == 0) {
		/* The child: a server of its own, gone with shmvm whatever happens. */
		sigset_t none;
		int log;

		devnull = open("/dev/null", O_RDWR);
		log = r->log_fd >= 0 ? r->log_fd : r->o.verbose ? STDERR_FILENO : devnull;
		setpgid(0, 0); /* a Ctrl-C on the terminal is shmvm's to handle */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(log, STDOUT_FILENO) < 0 ||
		    dup2(log, STDERR_FILENO) < 0 || dup2(sv[1], 3) < 0)
			goto child_fail;
		execv(program, (char **)argv);
child_fail:
		err = errno;
		n = write(ep[1], &err, sizeof(err));
		_exit(127);
	}
	err = f->pid < 0 ? -errno : 0;
	close(sv[1]);
	close(ep[1]);
	if (!err) {
		/* The exec's outcome: EOF when it succeeded, errno when not. */
		int child_errno;

		do
			n = read(ep[0], &child_errno, sizeof(child_errno));
		while (n < 0 && errno == EINTR);
		if (n == sizeof(child_errno)) {
			waitpid(f->pid, NULL, 0);
			err = -child_errno;
		}
	}
	close(ep[0]);
	if (err) {
		close(sv[0]);
		fail("cannot start %s: %s", program, strerror(-err));
		return err;
	}
	f->fd = sv[0];
	r->nr_fsd++;
	return 0;
}

/* Every server ends when its socket closes (the VM is gone); don't wait on a stuck one. */
static void fsd_stop_all(struct run *r)
{
	for (unsigned int i = 0; i < r->nr_fsd; i++) {
		if (r->fsd[i].fd >= 0)
			close(r->fsd[i].fd);
		kill(r->fsd[i].pid, SIGTERM);
	}
	for (unsigned int i = 0; i < r->nr_fsd; i++)
		while (waitpid(r->fsd[i].pid, NULL, 0) < 0 && errno == EINTR)
			;
	r->nr_fsd = 0;
}

/* ---- the initramfs ---- */

/* DIR/NAME, a text file of the module tree (at most 64 MiB). */
static int read_text(const char *dir, const char *name, char **out)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return file_read_text(path, 64 << 20, out, NULL);
}

static int cpio_add_file(struct cpio *c, const char *name, const char *path)
{
	struct stat st;
	void *p;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	p = st.st_size ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0) : NULL;
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	rc = cpio_add(c, name, S_IFREG | 0644, p, (size_t)st.st_size);
	if (p)
		munmap(p, (size_t)st.st_size);
	return rc;
}

/* The modules the root needs, when a module tree is known. */
static int modules_dir(const struct run *r, const char *kernel, char *out, size_t size)
{
	const char *env = getenv("SHMVM_MODULES");
	char *copy;
	struct stat st;

	if (r->o.modules) {
		snprintf(out, size, "%s", r->o.modules);
		return 0;
	}
	if (env && *env) {
		snprintf(out, size, "%s", env);
		return 0;
	}
	copy = strdup(kernel);
	if (!copy)
		return -ENOMEM;
	snprintf(out, size, "%s/modules", dirname(copy));
	free(copy);
	return stat(out, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -ENOENT;
}

static int build_initramfs(struct run *r, const char *kernel, const char *cwd)
{
	struct mod_list mods = { 0 };
	struct cpio c = { 0 };
	char dir[PATH_MAX], *dep = NULL, *builtin = NULL, *spec = NULL;
	const char *missing;
	size_t spec_len;
	int rc;

	if (r->ktree.dir[0]) {
		rc = ktree_mods_resolve(&r->ktree, run_modules, ARRAY_SIZE(run_modules), &mods);
		if (rc) {
			fail("%s", r->ktree.why);
			return rc;
		}
		snprintf(dir, sizeof(dir), "%s", r->ktree.dir);
	} else if (modules_dir(r, kernel, dir, sizeof(dir)) == 0) {
		rc = read_text(dir, "modules.dep", &dep);
		if (rc) {
			fail("--modules %s: cannot read modules.dep: %s (run depmod?)", dir, strerror(-rc));
			return rc;
		}
		if (read_text(dir, "modules.builtin", &builtin))
			builtin = NULL;
		rc = mods_resolve(dep, builtin, run_modules, ARRAY_SIZE(run_modules), &mods, &missing);
		free(dep);
		free(builtin);
		if (rc) {
			fail("--modules %s: %s", dir,
			     rc == -ENOENT ? "a module the root needs is missing" : strerror(-rc));
			if (rc == -ENOENT)
				fail("missing: %s", missing);
			return rc;
		}
	}
	rc = run_spec_build(&r->o, environ, cwd, &mods, r->shares, r->nr_shares, &spec, &spec_len);
	if (!rc)
		rc = cpio_add(&c, "init", S_IFREG | 0755, run_init_start,
			      (size_t)(run_init_end - run_init_start));
	if (!rc)
		rc = cpio_add(&c, &RUN_SPEC_PATH[1], S_IFREG | 0644, spec, spec_len);
	if (!rc)
		rc = cpio_add(&c, "dev", S_IFDIR | 0755, NULL, 0);
	if (!rc)
		rc = cpio_add_chardev(&c, "dev/console", 0600, 5, 1);
	if (!rc)
		rc = cpio_add(&c, "lib", S_IFDIR | 0755, NULL, 0);
	if (!rc)
		rc = cpio_add(&c, &RUN_MODULE_DIR[1], S_IFDIR | 0755, NULL, 0);
	for (unsigned int i = 0; !rc && i < mods.n; i++) {
		const char *base = strrchr(mods.path[i], '/');
		char name[PATH_MAX], path[PATH_MAX];

		if (snprintf(name, sizeof(name), "%s/%s", &RUN_MODULE_DIR[1],
			     base ? base + 1 : mods.path[i]) >= (int)sizeof(name) ||
		    snprintf(path, sizeof(path), "%s/%s", dir, mods.path[i]) >= (int)sizeof(path))
			rc = -ENAMETOOLONG;
		else
			rc = cpio_add_file(&c, name, path);
		if (rc)
			fail("module %s: %s", path, strerror(-rc));
	}
	if (!rc)
		rc = cpio_finish(&c);
	free(spec);
	mods_free(&mods);
	if (!rc && r->o.save_initramfs) {
		int fd = open(r->o.save_initramfs, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0 || !write_all(fd, c.buf, c.len)) {
			rc = -errno;
			fail("--save-initramfs %s: %s", r->o.save_initramfs, strerror(errno));
		}
		if (fd >= 0)
			close(fd);
	} else if (!rc) {
		r->initrd_fd = memfd_create("shmvm-run-initramfs", MFD_CLOEXEC);
		if (r->initrd_fd < 0 || !write_all(r->initrd_fd, c.buf, c.len))
			rc = -errno ? -errno : -EIO;
		snprintf(r->initrd_path, sizeof(r->initrd_path), "/proc/self/fd/%d", r->initrd_fd);
	}
	cpio_free(&c);
	return rc;
}

/* ---- the console's host side ---- */

/*
 * @fd as the console's thread may use it without ever blocking: a pipe, a
 * FIFO or a terminal reopened with O_NONBLOCK (a file description of its
 * own, so the caller's, shared with other processes, keeps its flags); a
 * socket as it is, used with MSG_DONTWAIT (*@sock); anything else (a
 * regular file, /dev/null) as it is, since it never blocks. A closed @fd
 * becomes /dev/null. Returns the new descriptor or -errno.
 */
static int io_view(int fd, int flags, bool *sock)
{
	char path[32];
	struct stat st;
	int v;

	*sock = false;
	if (fstat(fd, &st)) {
		v = open("/dev/null", flags | O_CLOEXEC);
		return v < 0 ? -errno : v;
	}
	if (S_ISSOCK(st.st_mode))
		*sock = true;
	else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		v = open(path, flags | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (v >= 0)
			return v;
	}
	v = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return v < 0 ? -errno : v;
}

/* The terminal's size to the init, as a 'W' frame; dropped if the pipe is full (the next one wins). */
static void send_winsize(struct run *r)
{
	struct winsize ws;
	uint8_t f[RUN_FRAME_HDR + 4];

	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) || !ws.ws_row || !ws.ws_col)
		return;
	f[0] = RUN_FRAME_WINSIZE;
	f[1] = 4;
	f[2] = 0;
	f[3] = (uint8_t)ws.ws_row;
	f[4] = (uint8_t)(ws.ws_row >> 8);
	f[5] = (uint8_t)ws.ws_col;
	f[6] = (uint8_t)(ws.ws_col >> 8);
	/* Under PIPE_BUF: all or nothing. */
	(void)!write(r->chan_in[1], f, sizeof(f));
}

static void on_winch(void *opaque)
{
	send_winsize(opaque);
}

static void on_typed(struct loop *l, int fd, uint32_t events, void *opaque);

/* Pass what was typed into the stdin port's pipe; while it is full, stop reading the terminal. */
static void typed_flush(struct run *r, struct loop *l);

static void on_tty_room(struct loop *l, int fd, uint32_t events, void *opaque)
{
	(void)events;
	loop_del(l, fd);
	typed_flush(opaque, l);
}

static void typed_flush(struct run *r, struct loop *l)
{
	while (r->typed_off < r->typed_len) {
		ssize_t n = write(r->tty_in[1], r->typed + r->typed_off, r->typed_len - r->typed_off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (loop_add(l, r->tty_in[1], EPOLLOUT, on_tty_room, r))
				break;
			return; /* stdin stays paused until there is room */
		}
		if (n <= 0)
			break; /* the guest's side is gone: what was typed goes nowhere */
		r->typed_off += (size_t)n;
	}
	r->typed_len = r->typed_off = 0;
	(void)!loop_add(l, STDIN_FILENO, EPOLLIN, on_typed, r);
}

/* Keys from the caller's terminal: Ctrl-A x stops the VM, Ctrl-A Ctrl-A is one Ctrl-A. */
static void on_typed(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct run *r = opaque;
	uint8_t buf[sizeof(r->typed) / 2];
	ssize_t n;

	(void)events;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	loop_del(l, fd);
	if (n <= 0)
		return; /* the terminal hung up */
	for (ssize_t i = 0; i < n; i++) {
		if (r->escape) {
			r->escape = false;
			if (buf[i] == 'x' || buf[i] == 'X') {
				term_restore();
				fail("stopped from the terminal (Ctrl-A x)");
				vm_request_stop(r->vm, VM_EXIT_SIGNAL + SIGINT);
				return;
			}
			if (buf[i] != RUN_ESCAPE)
				r->typed[r->typed_len++] = RUN_ESCAPE;
		} else if (buf[i] == RUN_ESCAPE) {
			r->escape = true;
			continue;
		}
		r->typed[r->typed_len++] = buf[i];
	}
	typed_flush(r, l);
}

/*
 * The console's ports: the kernel's console and the channel to callbacks,
 * the command's stdio to ours. With a terminal on stdin and stdout the
 * command gets a pseudo-terminal of the same size in the guest, and what
 * is typed goes through the main loop (for the escape) into a pipe.
 */
static int console_setup(struct run *r)
{
	static const char *const names[RUN_NR_PORTS] = {
		[RUN_PORT_CHANNEL] = "shmvm.channel",
		[RUN_PORT_STDIN] = "shmvm.stdin",
		[RUN_PORT_STDOUT] = "shmvm.stdout",
		[RUN_PORT_STDERR] = "shmvm.stderr",
	};
	struct vcon_port_cfg *p = r->con.port;
	bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);

	r->con.nr_ports = RUN_NR_PORTS;
	r->con.output = port_output;
	r->con.opaque = r;
	for (unsigned int i = 0; i < RUN_NR_PORTS; i++)
		p[i] = (struct vcon_port_cfg){ .name = names[i], .in_fd = -1, .out_fd = -1 };
	if (pipe2(r->chan_in, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	p[RUN_PORT_CHANNEL].in_fd = r->chan_in[0];
	if (tty) {
		struct winsize ws;

		if (pipe2(r->tty_in, O_CLOEXEC | O_NONBLOCK))
			return -errno;
		p[RUN_PORT_STDIN].in_fd = r->tty_in[0];
		if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) || !ws.ws_row || !ws.ws_col)
			ws = (struct winsize){ .ws_row = 24, .ws_col = 80 };
		r->o.tty_rows = ws.ws_row;
		r->o.tty_cols = ws.ws_col;
	} else {
		r->view[0] = io_view(STDIN_FILENO, O_RDONLY, &p[RUN_PORT_STDIN].in_is_sock);
		if (r->view[0] < 0)
			return r->view[0];
		p[RUN_PORT_STDIN].in_fd = r->view[0];
	}
	for (int i = 1; i <= 2; i++) {
		struct vcon_port_cfg *out = &p[i == 1 ? RUN_PORT_STDOUT : RUN_PORT_STDERR];

		r->view[i] = io_view(i, O_WRONLY, &out->out_is_sock);
		if (r->view[i] < 0)
			return r->view[i];
		out->out_fd = r->view[i];
	}
	return 0;
}

/* ---- putting it together ---- */

static const char *default_kernel(void)
{
	const char *env = getenv("SHMVM_KERNEL");

	return env && *env ? env : SHMVM_GUEST_DIR "/vmlinux";
}

/* --kernel DIR: the build tree gives the image and the modules; its .config is checked first. */
static int ktree_prepare(struct run *r, const char **kernel)
{
	const struct ktree_need need = { .dax = r->o.dax, .cpus = r->o.cpus, .mods = run_modules,
					  .nr_mods = ARRAY_SIZE(run_modules) };
	int rc;

	if (r->o.modules) {
		fail("--modules: not with --kernel %s: a build tree's modules are its own", *kernel);
		return -EINVAL;
	}
	rc = ktree_open(&r->ktree, *kernel);
	if (!rc)
		rc = ktree_check_config(&r->ktree, &need);
	if (rc) {
		fail("%s", r->ktree.why);
		return rc;
	}
	if (!r->ktree.config)
		log_info("%s has no .config: its options are not checked", r->ktree.dir);
	*kernel = r->ktree.image;
	return 0;
}

/* Resolve --root, --rw and the working directory. */
static int prepare_shares(struct run *r, char *cwd, size_t cwd_size)
{
	char here[PATH_MAX];
	const char *g;
	struct stat st;

	if (!realpath(r->o.root, r->root) || stat(r->root, &st) || !S_ISDIR(st.st_mode)) {
		fail("--root %s: %s", r->o.root, errno ? strerror(errno) : "not a directory");
		return -EINVAL;
	}
	for (unsigned int i = 0; i < r->o.nr_rw; i++) {
		struct run_share *s = &r->shares[i];

		s->host = realpath(r->o.rw[i], NULL);
		if (!s->host || stat(s->host, &st) || !S_ISDIR(st.st_mode)) {
			fail("--rw %s: %s", r->o.rw[i], s->host ? "not a directory" : strerror(errno));
			r->nr_shares = i + (s->host != NULL);
			return -EINVAL;
		}
		r->nr_shares = i + 1;
		g = run_guest_path(r->root, s->host);
		if (!g || !strcmp(g, "/")) {
			fail("--rw %s: %s", r->o.rw[i],
			     g ? "is the root itself" : "is not beneath --root");
			return -EINVAL;
		}
		s->guest = g;
		snprintf(s->tag, sizeof(s->tag), "shmvm-rw%u", i);
	}
	/* The caller's directory, when the guest has it; its root otherwise. */
	g = getcwd(here, sizeof(here)) ? run_guest_path(r->root, here) : NULL;
	snprintf(cwd, cwd_size, "%s", g ? g : "/");
	return 0;
}

/* One server for the root, one for each --rw. */
static int start_servers(struct run *r)
{
	const char *fsd = fsd_program();
	int rc = fsd_start(r, fsd, r->root, RUN_ROOT_TAG, true);

	for (unsigned int i = 0; !rc && i < r->nr_shares; i++)
		rc = fsd_start(r, fsd, r->shares[i].host, r->shares[i].tag, false);
	return rc;
}

/* The kernel's command line, in r->cmdline. */
static int make_cmdline(struct run *r)
{
	size_t len = strlen(RUN_CMDLINE) + 64 + (r->o.append ? strlen(r->o.append) : 0);

	r->cmdline = malloc(len);
	if (!r->cmdline)
		return -ENOMEM;
	/* Without --log nobody reads the kernel's messages: print only what explains a panic. */
	snprintf(r->cmdline, len, "%s%s%s%s", RUN_CMDLINE, r->o.log ? "" : " quiet",
		 r->o.append ? " " : "", r->o.append ? r->o.append : "");
	return 0;
}

static int vm_opts_fill(struct run *r, struct vm_options *vo, const char *kernel)
{
	options_init(vo);
	vo->kernel = kernel;
	vo->initrd = r->initrd_path;
	vo->cmdline = r->cmdline;
	vo->memory = r->o.memory;
	vo->cpus = r->o.cpus;
	vo->serial = SERIAL_NONE;
	vo->verbose = r->o.verbose;
	vo->shm_strategy = r->o.strategy;
	vo->serial_sink[0] = com1_output;
	vo->serial_sink[1] = com2_output;
	vo->serial_sink_opaque = r;
	vo->console = &r->con;
	for (unsigned int i = 0; i < r->nr_fsd; i++) {
		struct opt_device *d = &vo->devices[i];

		/* As --fs: virtio-fs, hiprio + one request queue. The tag also names the socket. */
		opt_device_init(d, 26);
		d->tag = d->socket = i ? r->shares[i - 1].tag : RUN_ROOT_TAG;
		vo->device_fd[i] = r->fsd[i].fd; /* the device takes a copy */
	}
	vo->nr_devices = r->nr_fsd;
	return 0;
}

/* How the run ended, as an exit status, with one line when it was not the command's. */
static int run_status(struct run *r, int vm_status)
{
	const struct run_chan *c = &r->chan;

	if (c->exited)
		return c->status;
	if (vm_status == VM_EXIT_TIMEOUT) {
		fail("timed out after %u s", r->o.timeout_s);
		return RUN_EXIT_TIMEOUT;
	}
	if (vm_status > VM_EXIT_SIGNAL)
		return vm_status; /* stopped by a signal; the caller knows */
	if (c->failed)
		fail("the guest's init failed: %s", c->reason_len ? c->reason : "(no reason given)");
	else if (c->broken)
		fail("%s", c->reason);
	else if (r->panic[0])
		fail("the kernel panicked: %s", r->panic);
	else if (vm_status == VM_EXIT_CRASH)
		fail("the guest crashed (run with --log FILE -v for more)");
	else if (!c->hello)
		fail("the guest stopped before its init started (run with --log FILE to see why)");
	else
		fail("the guest stopped before the command finished");
	return RUN_EXIT_FAILURE;
}

static void run_free(struct run *r)
{
	fsd_stop_all(r);
	for (int i = 0; i < 3; i++)
		if (r->view[i] >= 0)
			close(r->view[i]);
	for (int i = 0; i < 2; i++) {
		if (r->chan_in[i] >= 0)
			close(r->chan_in[i]);
		if (r->tty_in[i] >= 0)
			close(r->tty_in[i]);
	}
	for (unsigned int i = 0; i < RUN_MAX_RW; i++)
		free(r->shares[i].host);
	if (r->initrd_fd >= 0)
		close(r->initrd_fd);
	if (r->log_fd >= 0)
		close(r->log_fd);
	free(r->cmdline);
	ktree_close(&r->ktree);
}

int run_main(int argc, char **argv)
{
	static struct run run; /* large (paths); one per process */
	struct run *r = &run;
	struct vm_options vo;
	struct sandbox_cfg sb = { .violation_status = RUN_EXIT_FAILURE };
	struct session_hooks hooks = { 0 };
	struct vm vm;
	char cwd[PATH_MAX];
	const char *kernel;
	int rc, sigfd, status = RUN_EXIT_FAILURE;

	mark(r, MARK_START);
	log_set_prefix("shmvm run");
	rc = run_opts_parse(&r->o, argc, argv, stdout, stderr);
	if (rc == RUN_PARSE_EXIT)
		return 0;
	if (rc < 0)
		return RUN_EXIT_FAILURE;
	log_set_level(r->o.verbose >= 2 ? LOG_DEBUG : r->o.verbose ? LOG_INFO : LOG_WARN);
	r->log_fd = r->initrd_fd = -1;
	for (int i = 0; i < 3; i++)
		r->view[i] = -1;
	r->chan_in[0] = r->chan_in[1] = r->tty_in[0] = r->tty_in[1] = -1;
	r->vm = &vm;
	pthread_mutex_init(&r->lock, NULL);
	run_chan_init(&r->chan, run_output, r);

	kernel = r->o.kernel ? r->o.kernel : default_kernel();
	if (access(kernel, R_OK)) {
		fail("kernel %s: %s%s", kernel, strerror(errno),
		     r->o.kernel ? "" : " (give --kernel, set SHMVM_KERNEL, or run tools/mkguest)");
		return RUN_EXIT_FAILURE;
	}
	if (r->o.log) {
		r->log_fd = open(r->o.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (r->log_fd < 0) {
			fail("--log %s: %s", r->o.log, strerror(errno));
			return RUN_EXIT_FAILURE;
		}
	}
	if (ktree_is_tree(kernel) && ktree_prepare(r, &kernel))
		goto out;
	/* Signals first: the servers inherit nothing, the vCPUs everything. */
	sigfd = session_block_signals();
	if (sigfd < 0)
		goto out;
	rc = prepare_shares(r, cwd, sizeof(cwd));
	if (!rc && !r->o.save_initramfs) {
		rc = console_setup(r);
		if (rc)
			fail("the console: %s", strerror(-rc));
	}
	if (!rc)
		rc = build_initramfs(r, kernel, cwd);
	if (!rc)
		rc = make_cmdline(r);
	if (!rc && r->o.save_initramfs) {
		/* What another VMM needs besides: the command line to boot it with. */
		printf("%s\n", r->cmdline);
		status = 0;
		goto out_sig;
	}
	if (!rc)
		rc = start_servers(r);
	if (!rc)
		rc = vm_opts_fill(r, &vo, kernel);
	if (rc)
		goto out_sig;
	rc = vm_create(&vm, &vo);
	/* Only the devices' copies of the sockets remain: a server sees the VM go. */
	for (unsigned int i = 0; i < r->nr_fsd; i++) {
		close(r->fsd[i].fd);
		r->fsd[i].fd = -1;
	}
	mark(r, MARK_BOOT);
	/* After set-up, the servers are all this process may still signal and reap. */
	sb.seccomp = !r->o.no_seccomp;
	for (unsigned int i = 0; i < r->nr_fsd; i++)
		sb.children[sb.nr_children++] = r->fsd[i].pid;
	if (!rc && r->tty_in[1] >= 0) {
		/* The command has a terminal: so are we, raw, until the end (also on signals). */
		hooks.nr_watches = 1;
		hooks.watch[0].fd = STDIN_FILENO;
		hooks.watch[0].events = EPOLLIN;
		hooks.watch[0].fn = on_typed;
		hooks.watch[0].opaque = r;
		hooks.winch = on_winch;
		hooks.opaque = r;
		if (term_raw(STDIN_FILENO))
			log_warn("cannot put the terminal in raw mode");
	}
	if (!rc)
		rc = session_run(&vm, &vo, sigfd, r->o.timeout_s, &sb, &hooks);
	term_restore();
	if (rc && !vm.stopping)
		fail("cannot start the VM (run with -v for more)");
	if (r->o.times)
		take_counts(r, &vm);
	vm_destroy(&vm);
	status = rc ? RUN_EXIT_FAILURE : run_status(r, vm.exit_status);
out_sig:
	close(sigfd);
out:
	run_free(r);
	mark(r, MARK_END);
	if (r->o.times)
		print_times(r);
	free(r->exits); /* after print_times(), which reports them */
	return status;
}
