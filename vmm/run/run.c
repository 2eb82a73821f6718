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
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/run/initramfs.h"
#include "vmm/run/ktree.h"
#include "vmm/run/run.h"
#include "vmm/run/run_chan.h"
#include "vmm/session.h"
#include "vmm/vm.h"

#ifndef SHMVM_GUEST_DIR
#define SHMVM_GUEST_DIR "/usr/share/shmvm/guest"
#endif
#ifndef SHMVM_FSD_PATH
#define SHMVM_FSD_PATH "/usr/bin/shmvm-fsd"
#endif

/* The guest's init, linked in (vmm/run-init-blob.S). */
extern const unsigned char run_init_start[], run_init_end[];

/* What the root needs from modules; built-in ones are skipped. */
static const char *const run_modules[] = { "virtio_pci", "virtiofs", "overlay" };

/*
 * The i8042 is there for reset only: probing its keyboard and aux ports
 * waits out timeouts (2.5 s of a 10 s boot, nested); reboot=k needs no driver.
 */
#define RUN_CMDLINE                                                                                \
	"console=ttyS0 acpi=off reboot=k panic=-1 8250.nr_uarts=2 i8042.noaux i8042.nokbd"
#define PANIC_TEXT "Kernel panic - not syncing"
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
	int log_fd;
	bool out_gone[3]; /* the caller closed our stdout / stderr */

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

static void com1_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct run *r = opaque;

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
}

static void mark(struct run *r, enum run_mark m)
{
	clock_gettime(CLOCK_MONOTONIC, &r->mark[m]);
}

static void com2_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct run *r = opaque;
	bool hello = r->chan.hello, started = r->chan.started, over;

	over = run_chan_feed(&r->chan, buf, len);
	if (!hello && r->chan.hello)
		mark(r, MARK_HELLO);
	if (!started && r->chan.started)
		mark(r, MARK_STARTED);
	if (over) {
		mark(r, MARK_EXIT);
		/* Exit status or failure received; init reboots next, but nothing more is needed. */
		vm_request_stop(r->vm, VM_EXIT_RESET);
	}
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
	const char *argv[] = { program, "--socket-fd", "3", "--shared-dir", dir, "--tag", tag,
			       "--dax-window", read_only && r->o.dax ? "1G" : "0",
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

static int read_text(const char *dir, const char *name, char **out)
{
	char path[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || st.st_size > (64 << 20) || !(*out = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -EFBIG;
	}
	n = read(fd, *out, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(*out);
		return -EIO;
	}
	(*out)[n] = '\0';
	return 0;
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
	r->vm = &vm;
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
	if (!rc)
		rc = session_run(&vm, &vo, sigfd, r->o.timeout_s, &sb);
	if (rc && !vm.stopping)
		fail("cannot start the VM (run with -v for more)");
	vm_destroy(&vm);
	status = rc ? RUN_EXIT_FAILURE : run_status(r, vm.exit_status);
out_sig:
	close(sigfd);
out:
	run_free(r);
	mark(r, MARK_END);
	if (r->o.times)
		print_times(r);
	return status;
}
