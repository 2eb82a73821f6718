// SPDX-License-Identifier: GPL-2.0-only
/*
 * The init (PID 1) of `shmvm run`'s guest: read the run spec, load the
 * modules, put an overlay (tmpfs over the host's read-only root share) at /,
 * run the command and forward its output and exit status to the host as
 * frames on RUN_CHANNEL_TTY (see vmm/run_proto.h), then reboot, which ends
 * the VM. Any failure is one 'F' frame and the reboot.
 *
 * Static, no dependencies but libc; it is on the boot path, so it never
 * sleeps or polls with a timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/module.h>
#include <poll.h>
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
		if (syscall(SYS_finit_module, fd, "", mod_flags(m)) && errno != EEXIST)
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

static void __noreturn child_exec(struct spec *s, int out, int err, const sigset_t *mask)
{
	static char path_env[] = "PATH=" DEFAULT_PATH;
	char *path_only[] = { path_env, NULL };
	int null, e;

	/* execvpe() searches the caller's PATH, not envp's. */
	environ = s->envp;
	if (!getenv("PATH"))
		environ = path_only;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* chan_open() made sure 0-2 are taken, so none of these is below 3. */
	if (setsid() < 0 || sigprocmask(SIG_SETMASK, mask, NULL) || null < 0 ||
	    dup2(null, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
	    dup2(err, STDERR_FILENO) < 0) {
		e = errno;
		dprintf(err, "shmvm run: set up the command: %s\n", strerror(e));
		_exit(126);
	}
	execvpe(s->argv[0], s->argv, s->envp);
	e = errno;
	dprintf(STDERR_FILENO, "shmvm run: %s: %s\n", s->argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* Start the command with its stdout and stderr on pipes; SIGCHLD comes on *@sfd. */
static pid_t spawn(int chan, struct spec *s, int *out, int *err, int *sfd)
{
	int o[2], e[2];
	sigset_t chld, old;
	pid_t pid;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, &old))
		fail(chan, "block SIGCHLD: %s", strerror(errno));
	*sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	if (*sfd < 0)
		fail(chan, "signalfd: %s", strerror(errno));
	if (pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC))
		fail(chan, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		fail(chan, "fork: %s", strerror(errno));
	if (!pid)
		child_exec(s, o[1], e[1], &old);
	close(o[1]);
	close(e[1]);
	*out = o[0];
	*err = e[0];
	return pid;
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

/*
 * Forward what a pipe holds now, and no more: a grandchild that keeps it
 * open and writing must not hold the exit back.
 */
static int drain(int chan, int fd, char type, uint8_t *f)
{
	int avail;
	ssize_t n;

	if (ioctl(fd, FIONREAD, &avail))
		return 0;
	for (; avail > 0; avail -= (int)n) {
		n = read(fd, f + RUN_FRAME_HDR, (size_t)MIN(avail, RUN_FRAME_MAX));
		if (n <= 0)
			return 0;
		if (frame_send(chan, f, type, (size_t)n))
			return -1;
	}
	return 0;
}

/*
 * Forward the command's stdout and stderr until it has exited, reaping
 * orphans on the way. Returns its status for 'X', or -1 with errno set.
 */
static int pump(int chan, pid_t pid, int out, int err, int sfd)
{
	static const char type[2] = { RUN_FRAME_STDOUT, RUN_FRAME_STDERR };
	uint8_t f[RUN_FRAME_HDR + RUN_FRAME_MAX];
	struct pollfd p[3] = {
		{ .fd = out, .events = POLLIN },
		{ .fd = err, .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	int status = -1;

	while (status < 0) {
		if (poll(p, ARRAY_SIZE(p), -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t n;

			if (!p[i].revents)
				continue;
			n = read(p[i].fd, f + RUN_FRAME_HDR, RUN_FRAME_MAX);
			if (n > 0) {
				if (frame_send(chan, f, type[i], (size_t)n))
					return -1;
			} else if (!n || errno != EINTR) {
				close(p[i].fd);
				p[i].fd = -1; /* poll() skips it */
			}
		}
		if (p[2].revents)
			status = reap(sfd, pid);
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0 && drain(chan, p[i].fd, type[i], f))
			return -1;
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
	int chan, out, err, sfd, status;
	uint8_t x[RUN_FRAME_HDR + 1];
	pid_t pid;

	mount_or_fail(-1, "devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL);
	chan = chan_open();
	spec_load(chan, &spec);
	mods_load(chan, &spec);
	root_mount(chan, &spec);
	root_switch(chan);
	sys_mount(chan);
	shares_mount(chan, &spec);
	if (chdir(spec.cwd))
		fail(chan, "cannot enter %s: %s", spec.cwd, strerror(errno));
	pid = spawn(chan, &spec, &out, &err, &sfd);
	if (frame_send(chan, x, RUN_FRAME_STARTED, 0))
		reboot_now();
	status = pump(chan, pid, out, err, sfd);
	if (status < 0)
		fail(chan, "forward the command's output: %s", strerror(errno));
	/* The host stops the VM on the exit frame: what the command wrote to a share goes first. */
	sync();
	x[RUN_FRAME_HDR] = (uint8_t)status;
	if (frame_send(chan, x, RUN_FRAME_EXIT, 1))
		reboot_now();
	tcdrain(chan);
	reboot_now();
}
#endif
