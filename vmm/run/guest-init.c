// SPDX-License-Identifier: GPL-2.0-only
/*
 * The init (PID 1) of `shmvm run`'s guest: read the run spec, load the
 * modules, put an overlay (tmpfs over the host's read-only root share) at /,
 * run the command and forward its output and exit status to the host as
 * frames (see vmm/run/run_proto.h), then reboot, which ends
 * the VM. Any failure is one 'F' frame and the reboot.
 *
 * Static, no dependencies but libc; it is on the boot path, so it never
 * sleeps or polls with a timeout.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/module.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "util/compiler.h"
#include "vmm/run/run_proto.h"

/*
 * Bounds on the host-generated spec. argv and envp are really bounded by
 * execve() (a quarter of the 8 MiB stack); these are above that, and cost
 * only address space: bss pages are not touched beyond what is used.
 */
#define SPEC_MAX	(4 << 20)
#define SPEC_ARGS_MAX	(256 << 10)
#define SPEC_ENVS_MAX	(64 << 10)
#define SPEC_MODS_MAX	256
#define SPEC_SHARES_MAX 32

#define PIPE_OUT_SIZE (1 << 20) /* the command's stdout and stderr: the default pipe-max-size */

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct share {
	const char *tag, *dir;
};

/* The parsed spec; every string points into the spec's buffer; argv and envp end in NULL. */
struct spec {
	char *argv[SPEC_ARGS_MAX + 1];
	char *envp[SPEC_ENVS_MAX + 1];
	const char *mods[SPEC_MODS_MAX];
	struct share rw[SPEC_SHARES_MAX];
	const char *cwd, *opts;
	unsigned int argc, envc, nmods, nrw;
	unsigned short tty_rows, tty_cols; /* 0: no terminal, pipes */
	int cwd_fd; /* the caller's directory in the overlay, or -1 (root_mount()) */
};

/* One frame: @f holds RUN_FRAME_HDR bytes of room, then the @len-byte payload. */
static int frame_send(int chan, uint8_t *f, char type, size_t len)
{
	size_t off = 0, total = RUN_FRAME_HDR + len;

	f[0] = (uint8_t)type;
	f[1] = (uint8_t)len;
	f[2] = (uint8_t)(len >> 8);
	while (off < total) {
		ssize_t n = write(chan, f + off, total - off);

		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			off += (size_t)n;
	}
	return 0;
}

static void __noreturn reboot_now(void)
{
	reboot(RB_AUTOBOOT);
	_exit(1); /* not PID 1, or not allowed: as PID 1, the panic reboots too (panic=-1) */
}

/*
 * Report why the command cannot run and end the VM: an 'F' frame, or a line
 * on the console while there is no channel yet (@chan < 0).
 */
static void __noreturn __printf(2, 3) fail(int chan, const char *fmt, ...)
{
	uint8_t f[RUN_FRAME_HDR + RUN_FRAME_MAX + 1];
	char *msg = (char *)f + RUN_FRAME_HDR;
	va_list ap;
	int n, fd;

	va_start(ap, fmt);
	n = vsnprintf(msg, RUN_FRAME_MAX + 1, fmt, ap);
	va_end(ap);
	n = n < 0 ? 0 : MIN(n, RUN_FRAME_MAX);
	/* One line: spec values may hold anything. */
	for (int i = 0; i < n; i++)
		if ((unsigned char)msg[i] < ' ')
			msg[i] = ' ';
	if (chan >= 0) {
		if (!frame_send(chan, f, RUN_FRAME_FAIL, (size_t)n))
			tcdrain(chan);
	} else {
		fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			fd = STDERR_FILENO;
		msg[n++] = '\n';
		if (write(fd, msg, (size_t)n) == n)
			tcdrain(fd);
	}
	reboot_now();
}

/* Mount, creating @dir (and its parents) if it is missing. */
static int mount_mkdir(const char *src, const char *dir, const char *type, unsigned long flags,
		       const void *data)
{
	char path[PATH_MAX], *p = path, c;
	size_t len = strlen(dir);

	if (!mount(src, dir, type, flags, data))
		return 0;
	if (errno != ENOENT || len >= sizeof(path))
		return -errno;
	memcpy(path, dir, len + 1);
	do {
		p += 1 + strcspn(p + 1, "/");
		c = *p;
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = c;
	} while (c);
	return mount(src, dir, type, flags, data) ? -errno : 0;
}

static void mount_or_fail(int chan, const char *src, const char *dir, const char *type,
			  unsigned long flags, const void *data)
{
	int rc = mount_mkdir(src, dir, type, flags, data);
	const char *hint = "";

	if (!rc)
		return;
	if (rc == -ENODEV)
		hint = " (is the file system built in, or were its modules given?)";
	else if (rc == -EINVAL && !strcmp(type, "virtiofs"))
		hint = " (is there such a tag? are the options supported? see the kernel log)";
	fail(chan, "mount %s %s on %s: %s%s", type, src, dir, strerror(-rc), hint);
}

static int __printf(3, 4) spec_err(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/*
 * Split the spec in @buf[0..@len) into @s. Returns 0, or -EINVAL with the
 * reason in @why.
 */
static int spec_parse(char *buf, size_t len, struct spec *s, char *why, size_t size)
{
	char *p = buf, *end = buf + len;

	s->argc = s->envc = s->nmods = s->nrw = 0;
	s->tty_rows = s->tty_cols = 0;
	s->cwd = s->opts = NULL;
	while (p < end) {
		char key = *p++, *v = p, *nul = memchr(p, '\0', (size_t)(end - p)), *eq;

		if (!nul)
			return spec_err(why, size, "record 0x%02x has no NUL", (unsigned char)key);
		p = nul + 1;
		switch (key) {
		case RUN_SPEC_ARG:
			if (s->argc == SPEC_ARGS_MAX)
				return spec_err(why, size, "more than %d 'a' records",
						SPEC_ARGS_MAX);
			s->argv[s->argc++] = v;
			break;
		case RUN_SPEC_ENV:
			if (!strchr(v, '='))
				return spec_err(why, size, "'e' record without '=': %s", v);
			if (s->envc == SPEC_ENVS_MAX)
				return spec_err(why, size, "more than %d 'e' records",
						SPEC_ENVS_MAX);
			s->envp[s->envc++] = v;
			break;
		case RUN_SPEC_CWD:
			if (s->cwd)
				return spec_err(why, size, "more than one 'd' record");
			if (*v != '/')
				return spec_err(why, size, "'d' directory is not absolute: %s", v);
			s->cwd = v;
			break;
		case RUN_SPEC_MODULE:
			if (!*v || *v == '/')
				return spec_err(why, size, "'m' file is empty or absolute: %s", v);
			if (s->nmods == SPEC_MODS_MAX)
				return spec_err(why, size, "more than %d 'm' records",
						SPEC_MODS_MAX);
			s->mods[s->nmods++] = v;
			break;
		case RUN_SPEC_ROOT_OPTS:
			if (s->opts)
				return spec_err(why, size, "more than one 'o' record");
			s->opts = v;
			break;
		case RUN_SPEC_RW:
			eq = strchr(v, '=');
			if (!eq || eq == v)
				return spec_err(why, size, "'w' record is not TAG=DIR: %s", v);
			*eq = '\0';
			/* DIR must be absolute and not the root itself, which is the overlay. */
			if (eq[1] != '/' || !eq[1 + strspn(eq + 1, "/")])
				return spec_err(why, size, "'w' dir of %s is relative or /: %s", v,
						eq + 1);
			if (s->nrw == SPEC_SHARES_MAX)
				return spec_err(why, size, "more than %d 'w' records",
						SPEC_SHARES_MAX);
			s->rw[s->nrw++] = (struct share){ .tag = v, .dir = eq + 1 };
			break;
		case RUN_SPEC_TTY: {
			unsigned int rows, cols;
			char end_ch;

			if (sscanf(v, "%ux%u%c", &rows, &cols, &end_ch) != 2 || !rows || !cols ||
			    rows > 0xffff || cols > 0xffff)
				return spec_err(why, size, "'t' record is not ROWSxCOLS: %s", v);
			s->tty_rows = (unsigned short)rows;
			s->tty_cols = (unsigned short)cols;
			break;
		}
		default:
			return spec_err(why, size, "unknown record key 0x%02x", (unsigned char)key);
		}
	}
	if (!s->argc)
		return spec_err(why, size, "no 'a' record (the command)");
	s->argv[s->argc] = NULL;
	s->envp[s->envc] = NULL;
	if (!s->cwd)
		s->cwd = "/";
	if (s->opts && !*s->opts)
		s->opts = NULL;
	return 0;
}

static void spec_load(int chan, struct spec *s)
{
	static char buf[SPEC_MAX + 1];
	char why[256];
	size_t len = 0;
	ssize_t n = 0;
	int fd = open(RUN_SPEC_PATH, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		fail(chan, "open the run spec %s: %s", RUN_SPEC_PATH, strerror(errno));
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		fail(chan, "read the run spec %s: %s", RUN_SPEC_PATH, strerror(errno));
	close(fd);
	if (len > SPEC_MAX)
		fail(chan, "run spec %s: larger than %d bytes", RUN_SPEC_PATH, SPEC_MAX);
	if (spec_parse(buf, len, s, why, sizeof(why)))
		fail(chan, "run spec %s: %s", RUN_SPEC_PATH, why);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !memcmp(s + n - m, suffix, m);
}

/* The kernel decompresses these itself (CONFIG_MODULE_DECOMPRESS). */
static unsigned int mod_flags(const char *m)
{
	if (ends_with(m, ".xz") || ends_with(m, ".zst") || ends_with(m, ".gz"))
		return MODULE_INIT_COMPRESSED_FILE;
	return 0;
}

static void mods_load(int chan, const struct spec *s)
{
	char path[PATH_MAX];

	for (unsigned int i = 0; i < s->nmods; i++) {
		const char *m = s->mods[i];
		int fd, n = snprintf(path, sizeof(path), RUN_MODULE_DIR "/%s", m);

		if (n < 0 || (size_t)n >= sizeof(path))
			fail(chan, "load module %s: name too long", m);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail(chan, "open module %s: %s", path, strerror(errno));
		/*
		 * The console is the one module the run can do without: the
		 * channel and the output then stay on ttyS1 (slowly), as when
		 * the VMM has no virtio-console (module_blacklist= measures it).
		 */
		if (syscall(SYS_finit_module, fd, "", mod_flags(m)) && errno != EEXIST &&
		    strncmp(m, "virtio_console.", 15))
			fail(chan, "load module %s: %s", m, strerror(errno));
		close(fd);
	}
}

/*
 * Overlay a tmpfs on the host's read-only root share, at /newroot. Hold the
 * caller's directory there before sys_mount() can cover it (cwd_bind()).
 */
static void root_mount(int chan, struct spec *s)
{
	char cwd[PATH_MAX];

	mount_or_fail(chan, RUN_ROOT_TAG, "/lower", "virtiofs", MS_RDONLY, s->opts);
	mount_or_fail(chan, "tmpfs", "/upper", "tmpfs", 0, "mode=0755");
	if ((mkdir("/upper/u", 0755) && errno != EEXIST) ||
	    (mkdir("/upper/w", 0755) && errno != EEXIST))
		fail(chan, "mkdir in /upper: %s", strerror(errno));
	mount_or_fail(chan, "overlay", "/newroot", "overlay", 0,
		      "lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w");
	s->cwd_fd = -1; /* not there: chdir() says so later */
	if ((size_t)snprintf(cwd, sizeof(cwd), "/newroot%s", s->cwd) < sizeof(cwd))
		s->cwd_fd = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

/*
 * Make /newroot the root as switch_root does: the initramfs is rootfs, which
 * cannot be pivot_root'ed away, so mount the new root over it. What stays
 * below (this binary, the modules) is not freed: the VM is short-lived.
 */
static void root_switch(int chan)
{
	if (chdir("/newroot") || mount("/newroot", "/", NULL, MS_MOVE, NULL) || chroot("."))
		fail(chan, "switch root to /newroot: %s", strerror(errno));
}

/*
 * The usual API file systems, in the new root, and fresh scratch space
 * (tmpfs) where the host's would mean nothing here. Not /tmp: the overlay
 * makes it writable already (docs/design.md, `shmvm run`).
 */
static const struct {
	const char *src, *dir, *type;
	unsigned long flags;
	const char *data;
} sys_mounts[] = {
	{ "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL },
	{ "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL },
	{ "devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666" },
	{ "tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777" },
	{ "tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755" },
};

static void sys_mount(int chan)
{
	for (size_t i = 0; i < ARRAY_SIZE(sys_mounts); i++)
		mount_or_fail(chan, sys_mounts[i].src, sys_mounts[i].dir, sys_mounts[i].type,
			      sys_mounts[i].flags, sys_mounts[i].data);
}

/*
 * The caller's directory is where the command starts, wherever it is on the
 * host (XDG_RUNTIME_DIR is under /run): when a fresh scratch mount of
 * sys_mount() hid it, bind the overlay's view of it back at its path. Not
 * under the kernel's own views (/proc, /sys, /dev): there the guest's are
 * meant, and a path they lack cannot be entered.
 */
static void cwd_bind(int chan, struct spec *s)
{
	const char *under = NULL;
	struct stat was, now;
	char src[64];
	size_t best = 0;
	int rc;

	if (s->cwd_fd < 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(sys_mounts); i++) {
		size_t n = strlen(sys_mounts[i].dir);

		if (n > best && !strncmp(s->cwd, sys_mounts[i].dir, n) &&
		    (!s->cwd[n] || s->cwd[n] == '/')) {
			best = n;
			under = sys_mounts[i].type;
		}
	}
	if (under && !strcmp(under, "tmpfs") && !fstat(s->cwd_fd, &was) &&
	    (stat(s->cwd, &now) || now.st_dev != was.st_dev || now.st_ino != was.st_ino)) {
		snprintf(src, sizeof(src), "/proc/self/fd/%d", s->cwd_fd);
		rc = mount_mkdir(src, s->cwd, NULL, MS_BIND, NULL);
		if (rc)
			fail(chan, "bind the caller's directory %s back: %s", s->cwd, strerror(-rc));
	}
	close(s->cwd_fd);
	s->cwd_fd = -1;
}

/*
 * After sys_mount(), so that a share under /tmp or /run is not hidden; after
 * cwd_bind(), so that a share at or above the caller's directory is what the
 * command sees there.
 */
static void shares_mount(int chan, struct spec *s)
{
	cwd_bind(chan, s);
	for (unsigned int i = 0; i < s->nrw; i++)
		mount_or_fail(chan, s->rw[i].tag, s->rw[i].dir, "virtiofs", 0, NULL);
}

/* ---- the channel and the ports ---- */

/*
 * Where things go: frames to @chan (ttyS1, or the channel port); the
 * command's stdin, stdout and stderr on ports when shmvm's virtio-console
 * is there, in 'O'/'E' frames on @chan when not (port[] = -1).
 */
struct io {
	int chan;
	int port[RUN_NR_PORTS];
};

/* The number N of shmvm's virtio-console in /dev/vportNpM, or -1 when the VM has none. */
static int vcon_index(void)
{
	DIR *d = opendir("/sys/bus/virtio/drivers/virtio_console");
	struct dirent *e;
	int n = -1;

	if (!d)
		return -1;
	while (n < 0 && (e = readdir(d)))
		if (sscanf(e->d_name, "virtio%d", &n) != 1)
			n = -1;
	closedir(d);
	return n;
}

static bool port_named(int dev, int port)
{
	char path[96];

	snprintf(path, sizeof(path), "/sys/class/virtio-ports/vport%dp%d/name", dev, port);
	return !access(path, F_OK);
}

/*
 * Wait until the last port has its name: the host opens each port before
 * naming it, and the driver takes control messages in order, so from then
 * on every port is open on the host's side and a read that returns 0
 * means the host's end of file, not "not yet". @uev is a uevent socket,
 * bound before the driver was loaded: the name comes with a change event.
 */
static void ports_wait(int chan, int uev, int dev)
{
	char buf[4096];

	while (!port_named(dev, RUN_NR_PORTS - 1)) {
		ssize_t n = recv(uev, buf, sizeof(buf) - 1, 0);

		if (n < 0 && errno != EINTR && errno != ENOBUFS)
			fail(chan, "wait for the console's ports: %s", strerror(errno));
	}
}

static int port_open(int chan, int dev, int port, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/vport%dp%d", dev, port);
	fd = open(path, flags | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fail(chan, "open %s: %s", path, strerror(errno));
	return fd;
}

/*
 * Move to the virtio-console's ports when the VM has them (after the
 * modules, with /sys mounted); *@io keeps ttyS1 otherwise.
 */
static void ports_open(struct io *io, int uev)
{
	int dev = vcon_index();

	for (int i = 0; i < RUN_NR_PORTS; i++)
		io->port[i] = -1;
	if (dev < 0)
		return;
	ports_wait(io->chan, uev, dev);
	io->port[RUN_PORT_CHANNEL] = port_open(io->chan, dev, RUN_PORT_CHANNEL, O_RDWR);
	io->port[RUN_PORT_STDIN] = port_open(io->chan, dev, RUN_PORT_STDIN, O_RDONLY | O_NONBLOCK);
	io->port[RUN_PORT_STDOUT] = port_open(io->chan, dev, RUN_PORT_STDOUT, O_WRONLY | O_NONBLOCK);
	io->port[RUN_PORT_STDERR] = port_open(io->chan, dev, RUN_PORT_STDERR, O_WRONLY | O_NONBLOCK);
	close(io->chan);
	io->chan = io->port[RUN_PORT_CHANNEL];
}

/* A uevent socket, to hear of the ports the console driver is about to add. */
static int uevent_open(int chan)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)))
		fail(chan, "uevent socket: %s", strerror(errno));
	return fd;
}

/* ---- the command ---- */

static void __noreturn child_exec(struct spec *s, const int fd[3], const sigset_t *mask,
				  const char *tty)
{
	static char path_env[] = "PATH=" DEFAULT_PATH;
	char *path_only[] = { path_env, NULL };
	int e, t;

	/* execvpe() searches the caller's PATH, not envp's. */
	environ = s->envp;
	if (!getenv("PATH"))
		environ = path_only;
	signal(SIGPIPE, SIG_DFL); /* ignored here in init; a command dies of it as on the host */
	if (setsid() < 0 || sigprocmask(SIG_SETMASK, mask, NULL))
		goto err;
	if (tty) {
		/* The session leader's first terminal becomes its controlling one. */
		t = open(tty, O_RDWR);
		if (t < 0 || ioctl(t, TIOCSCTTY, 0) || dup2(t, 0) < 0 || dup2(t, 1) < 0 ||
		    dup2(t, 2) < 0)
			goto err;
		if (t > 2)
			close(t);
	} else if (dup2(fd[0], 0) < 0 || dup2(fd[1], 1) < 0 || dup2(fd[2], 2) < 0) {
		goto err;
	}
	execvpe(s->argv[0], s->argv, s->envp);
	e = errno;
	dprintf(STDERR_FILENO, "shmvm run: %s: %s\n", s->argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
err:
	e = errno;
	dprintf(tty ? fd[2] : STDERR_FILENO, "shmvm run: set up the command: %s\n", strerror(e));
	_exit(126);
}

/*
 * The command's end of things: with a terminal, *@tty_fd is the master of
 * a new pseudo-terminal whose slave is its stdin, stdout and stderr; else
 * pipes, our ends in in/out/err (in is -1 without a stdin port: /dev/null).
 * SIGCHLD comes on *@sfd.
 */
struct cmd {
	pid_t pid;
	int sfd;
	int in, out, err; /* our ends of its pipes, or -1 */
	int master;       /* its terminal's master, or -1 */
};

static void spawn(struct io *io, struct spec *s, struct cmd *c)
{
	int in[2] = { -1, -1 }, o[2], e[2], fd[3];
	char tty[64] = "";
	sigset_t chld, old;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, &old))
		fail(io->chan, "block SIGCHLD: %s", strerror(errno));
	c->sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (c->sfd < 0)
		fail(io->chan, "signalfd: %s", strerror(errno));
	c->in = c->out = c->err = c->master = -1;
	if (s->tty_rows) {
		struct winsize ws = { .ws_row = s->tty_rows, .ws_col = s->tty_cols };

		c->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (c->master < 0 || grantpt(c->master) || unlockpt(c->master) ||
		    ptsname_r(c->master, tty, sizeof(tty)) || ioctl(c->master, TIOCSWINSZ, &ws))
			fail(io->chan, "a pseudo-terminal for the command: %s", strerror(errno));
		fd[0] = fd[1] = fd[2] = -1;
	} else {
		if ((io->port[RUN_PORT_STDIN] >= 0 && pipe2(in, O_CLOEXEC)) || pipe2(o, O_CLOEXEC) ||
		    pipe2(e, O_CLOEXEC))
			fail(io->chan, "pipe: %s", strerror(errno));
		fd[0] = in[0] >= 0 ? in[0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
		fd[1] = o[1];
		fd[2] = e[1];
	}
	c->pid = fork();
	if (c->pid < 0)
		fail(io->chan, "fork: %s", strerror(errno));
	if (!c->pid)
		child_exec(s, fd, &old, tty[0] ? tty : NULL);
	if (!s->tty_rows) {
		close(fd[0]);
		close(o[1]);
		close(e[1]);
		c->in = in[1];
		c->out = o[0];
		c->err = e[0];
		/*
		 * Big pipes, big port buffers: a splice takes what the pipe
		 * holds as one buffer of the port's ring, so 1 MiB of output
		 * costs the VM one kick and one interrupt instead of sixteen.
		 */
		fcntl(c->out, F_SETPIPE_SZ, PIPE_OUT_SIZE);
		fcntl(c->err, F_SETPIPE_SZ, PIPE_OUT_SIZE);
		if (c->in >= 0)
			fcntl(c->in, F_SETFL, O_NONBLOCK);
	} else {
		fcntl(c->master, F_SETFL, O_NONBLOCK);
	}
}

/* Reap every child that has exited; returns @pid's status for 'X', or -1 if it runs on. */
static int reap(int sfd, pid_t pid)
{
	struct signalfd_siginfo si;
	int st, ret = -1;
	pid_t r;

	/* SIGCHLD does not queue: one read empties the signalfd, waitpid() finds them all. */
	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		return -1;
	while ((r = waitpid(-1, &st, WNOHANG)) > 0)
		if (r == pid)
			ret = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	return ret;
}

/* ---- moving bytes ---- */

#define FLOW_BUF (64 << 10)

/*
 * One direction: bytes from @from to @to, or, with @frame set, to @to in
 * frames of that type (ttyS1). Both ends non-blocking but the frames'.
 * @splice: try splice(2) first (a pipe to a port: zero copy, and one
 * buffer of the port's ring per pipe-full).
 */
struct flow {
	int from, to;
	char frame;
	bool splice;
	bool eof;       /* @from is done (or @to is gone): nothing more moves */
	bool want_out;  /* waiting for room in @to */
	size_t len, off;
	uint8_t buf[RUN_FRAME_HDR + FLOW_BUF]; /* RUN_FRAME_HDR bytes of room first, for frames */
};

static void flow_init(struct flow *f, int from, int to, char frame, bool splice)
{
	f->from = from;
	f->to = to;
	f->frame = frame;
	f->splice = splice;
	f->eof = from < 0 || to < 0;
	f->want_out = false;
	f->len = f->off = 0;
}

static void flow_end(struct flow *f)
{
	f->eof = true;
	f->len = f->off = 0;
}

/*
 * Move what can be moved now. @all: the source is done when it has nothing
 * now (the command has exited; a grandchild holding the pipe open must not
 * hold the exit back). Returns -1 only for the frame channel's failure.
 */
static int flow_move(struct io *io, struct flow *f, bool all)
{
	while (!f->eof) {
		ssize_t n;
		int avail = 0;

		if (f->off < f->len) {
			n = write(f->to, f->buf + RUN_FRAME_HDR + f->off, f->len - f->off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && errno == EAGAIN) {
				f->want_out = true;
				return 0;
			}
			if (n <= 0) {
				flow_end(f); /* the reader went away */
				return 0;
			}
			f->off += (size_t)n;
			continue;
		}
		f->want_out = false;
		f->len = f->off = 0;
		if (f->splice) {
			if (ioctl(f->from, FIONREAD, &avail) || !avail) {
				struct pollfd p = { .fd = f->from, .events = POLLIN };

				/* Nothing in the pipe: wait, unless its writers are gone. */
				if (all || (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR))))
					flow_end(f);
				return 0;
			}
			n = splice(f->from, NULL, f->to, NULL, (size_t)avail, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n > 0)
				continue;
			if (n < 0 && errno == EAGAIN) {
				f->want_out = true;
				return 0;
			}
			if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
				f->splice = false;
				continue;
			}
			flow_end(f);
			return 0;
		}
		if (all && (ioctl(f->from, FIONREAD, &avail) || avail <= 0)) {
			flow_end(f);
			return 0;
		}
		n = read(f->from, f->buf + RUN_FRAME_HDR, all ? MIN((size_t)avail, (size_t)FLOW_BUF) :
		         (f->frame ? RUN_FRAME_MAX : FLOW_BUF));
		if (n < 0 && (errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			/* EOF, or EIO from a terminal's master once the command's side is closed. */
			flow_end(f);
			return 0;
		}
		if (f->frame) {
			for (ssize_t off = 0; off < n; off += RUN_FRAME_MAX) {
				size_t len = (size_t)MIN(n - off, RUN_FRAME_MAX);

				memmove(f->buf + RUN_FRAME_HDR, f->buf + RUN_FRAME_HDR + off, len);
				if (frame_send(io->chan, f->buf, f->frame, len))
					return -1;
			}
			continue;
		}
		f->len = (size_t)n;
	}
	return 0;
}

/* Frames from the host on the channel port; only 'W' is known. */
struct host_frames {
	uint8_t buf[RUN_FRAME_HDR + RUN_FRAME_MAX];
	size_t len;
};

static void host_frames_read(int chan, struct host_frames *h, int master)
{
	ssize_t n = read(chan, h->buf + h->len, sizeof(h->buf) - h->len);

	if (n <= 0)
		return;
	h->len += (size_t)n;
	while (h->len >= RUN_FRAME_HDR) {
		size_t plen = h->buf[1] | (size_t)h->buf[2] << 8, flen = RUN_FRAME_HDR + plen;

		if (plen > RUN_FRAME_MAX) {
			h->len = 0; /* nonsense: start afresh */
			return;
		}
		if (h->len < flen)
			return;
		if (h->buf[0] == RUN_FRAME_WINSIZE && plen == 4 && master >= 0) {
			struct winsize ws = {
				.ws_row = (unsigned short)(h->buf[3] | h->buf[4] << 8),
				.ws_col = (unsigned short)(h->buf[5] | h->buf[6] << 8),
			};

			ioctl(master, TIOCSWINSZ, &ws); /* the foreground job gets SIGWINCH */
		}
		memmove(h->buf, h->buf + flen, h->len - flen);
		h->len -= flen;
	}
}

/*
 * Pass the command's input and output on until it has exited, reaping
 * orphans on the way. Returns its status for 'X', or -1 with errno set.
 */
static int pump(struct io *io, struct cmd *c)
{
	enum { F_IN, F_OUT, F_ERR, NR_FLOWS };
	static struct host_frames hf;
	static struct flow f[NR_FLOWS];
	bool ports = io->port[RUN_PORT_STDOUT] >= 0;
	int status = -1;

	if (c->master >= 0) {
		flow_init(&f[F_IN], io->port[RUN_PORT_STDIN], c->master, 0, false);
		flow_init(&f[F_OUT], c->master, ports ? io->port[RUN_PORT_STDOUT] : io->chan,
			  ports ? 0 : RUN_FRAME_STDOUT, false);
		flow_init(&f[F_ERR], -1, -1, 0, false);
	} else {
		flow_init(&f[F_IN], io->port[RUN_PORT_STDIN], c->in, 0, false);
		flow_init(&f[F_OUT], c->out, ports ? io->port[RUN_PORT_STDOUT] : io->chan,
			  ports ? 0 : RUN_FRAME_STDOUT, ports);
		flow_init(&f[F_ERR], c->err, ports ? io->port[RUN_PORT_STDERR] : io->chan,
			  ports ? 0 : RUN_FRAME_STDERR, ports);
	}
	while (status < 0) {
		struct pollfd p[NR_FLOWS + 2];

		for (int i = 0; i < NR_FLOWS; i++) {
			p[i].fd = f[i].eof ? -1 : f[i].want_out ? f[i].to : f[i].from;
			p[i].events = f[i].want_out ? POLLOUT : POLLIN;
		}
		p[NR_FLOWS] = (struct pollfd){ .fd = c->sfd, .events = POLLIN };
		p[NR_FLOWS + 1] = (struct pollfd){ .fd = ports ? io->chan : -1, .events = POLLIN };
		if (poll(p, ARRAY_SIZE(p), -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < NR_FLOWS; i++) {
			if (f[i].want_out && (p[i].revents & (POLLHUP | POLLERR))) {
				/*
				 * The reader went: the host's (a port the host closed)
				 * or the command's stdin. The writer hears of it as a
				 * closed pipe would tell it (EPIPE, SIGPIPE).
				 */
				flow_end(&f[i]);
				close(f[i].from);
				if (f[i].from == c->out)
					c->out = -1;
				if (f[i].from == c->err)
					c->err = -1;
				continue;
			}
			if (p[i].revents && flow_move(io, &f[i], false))
				return -1;
		}
		if (c->in >= 0 && f[F_IN].eof) {
			close(c->in); /* the host's end of file is the command's */
			c->in = -1;
		}
		if (p[NR_FLOWS + 1].revents & POLLIN)
			host_frames_read(io->chan, &hf, c->master);
		if (p[NR_FLOWS].revents)
			status = reap(c->sfd, c->pid);
	}
	/* What the command left in its pipes (or terminal), and no more. */
	for (int i = F_OUT; i < NR_FLOWS; i++) {
		if (f[i].eof)
			continue;
		f[i].want_out = false;
		while (!f[i].eof) {
			struct pollfd p = { .fd = f[i].to, .events = POLLOUT };

			if (flow_move(io, &f[i], true))
				return -1;
			if (f[i].want_out && poll(&p, 1, -1) < 0 && errno != EINTR)
				return -1;
		}
	}
	return status;
}

/* The channel in raw mode, with no flow control: the host reads all it gets. */
static int chan_open(void)
{
	struct termios t;
	int chan = open(RUN_CHANNEL_TTY, O_RDWR | O_NOCTTY | O_CLOEXEC), fd;
	uint8_t hello[RUN_FRAME_HDR];

	if (chan < 0)
		fail(-1, "open %s: %s", RUN_CHANNEL_TTY, strerror(errno));
	if (chan < 3) {
		/*
		 * Without /dev/console in the initramfs the kernel left 0-2
		 * closed; fill them so that the command's pipes land above 2.
		 */
		fd = fcntl(chan, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			fail(-1, "dup %s: %s", RUN_CHANNEL_TTY, strerror(errno));
		chan = fd;
		while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd < 2)
			;
		if (fd > 2)
			close(fd);
	}
	if (tcgetattr(chan, &t))
		fail(-1, "tcgetattr %s: %s", RUN_CHANNEL_TTY, strerror(errno));
	cfmakeraw(&t);
	t.c_iflag &= ~(tcflag_t)(IXOFF | IXANY);
	t.c_cflag &= ~(tcflag_t)CRTSCTS;
	t.c_cflag |= CLOCAL | CREAD;
	if (tcsetattr(chan, TCSANOW, &t))
		fail(-1, "tcsetattr %s: %s", RUN_CHANNEL_TTY, strerror(errno));
	if (frame_send(chan, hello, RUN_FRAME_HELLO, 0))
		fail(-1, "write to %s: %s", RUN_CHANNEL_TTY, strerror(errno));
	return chan;
}

#ifndef RUN_INIT_TEST
int main(void)
{
	static struct spec spec;
	struct io io;
	struct cmd cmd;
	int uev, status;
	uint8_t x[RUN_FRAME_HDR + 1];

	signal(SIGPIPE, SIG_IGN); /* a reader gone is an error to see, not a death */
	mount_or_fail(-1, "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL);
	io.chan = chan_open();
	spec_load(io.chan, &spec);
	mount_or_fail(io.chan, "sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	uev = uevent_open(io.chan);
	mods_load(io.chan, &spec);
	ports_open(&io, uev);
	close(uev);
	umount("/sys");
	root_mount(io.chan, &spec);
	root_switch(io.chan);
	sys_mount(io.chan);
	shares_mount(io.chan, &spec);
	if (chdir(spec.cwd))
		fail(io.chan, "cannot enter %s: %s", spec.cwd, strerror(errno));
	spawn(&io, &spec, &cmd);
	/*
	 * Moving the command's bytes is batch work: woken by its output, the
	 * init does not preempt it, so a pipe fills (up to PIPE_OUT_SIZE) while
	 * the command runs and leaves as one port buffer, one kick and one
	 * interrupt, not one per write. When the command waits, the init runs.
	 */
	sched_setscheduler(0, SCHED_BATCH, &(struct sched_param){ 0 });
	if (frame_send(io.chan, x, RUN_FRAME_STARTED, 0))
		reboot_now();
	status = pump(&io, &cmd);
	if (status < 0)
		fail(io.chan, "forward the command's input and output: %s", strerror(errno));
	/* The host stops the VM on the exit frame: what the command wrote to a share goes first. */
	sync();
	x[RUN_FRAME_HDR] = (uint8_t)status;
	if (frame_send(io.chan, x, RUN_FRAME_EXIT, 1))
		reboot_now();
	tcdrain(io.chan);
	reboot_now();
}
#endif
