// SPDX-License-Identifier: GPL-2.0-only
/* Running a built VM until it stops: the main loop, the console, the control socket. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "util/log.h"
#include "vmm/api.h"
#include "vmm/loop.h"
#include "vmm/session.h"
#include "vmm/term.h"

#define CONSOLE_ESCAPE 0x01 /* Ctrl-A, then 'x' quits (as in QEMU) */

struct console {
	struct vm *vm;
	struct loop *loop;
	bool tty;
	bool watching;
	bool escape;
	uint8_t pending[512]; /* input the UART had no room for yet (escapes can double it) */
	size_t pending_len, pending_off;
};

static void console_stdin(struct loop *l, int fd, uint32_t events, void *opaque);

/* Feed what is pending; stop reading stdin while the UART FIFO is full. */
static void console_flush(struct console *c)
{
	while (c->pending_off < c->pending_len) {
		size_t n = uart8250_receive(&c->vm->uart, c->pending + c->pending_off,
					    c->pending_len - c->pending_off);

		if (!n)
			break;
		c->pending_off += n;
	}
	if (c->pending_off < c->pending_len) {
		if (c->watching) {
			loop_del(c->loop, STDIN_FILENO);
			c->watching = false;
		}
		c->loop->timeout_ms = 10;
		return;
	}
	c->pending_len = c->pending_off = 0;
	c->loop->timeout_ms = -1;
	if (!c->watching && loop_add(c->loop, STDIN_FILENO, EPOLLIN, console_stdin, c) == 0)
		c->watching = true;
}

static void console_idle(struct loop *l, void *opaque)
{
	(void)l;
	console_flush(opaque);
}

static void console_stdin(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct console *c = opaque;
	uint8_t buf[sizeof(c->pending) / 2];
	ssize_t n;

	(void)events;
	n = read(fd, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		/* EOF on a pipe or file: the guest just gets no more input. */
		loop_del(l, fd);
		c->watching = false;
		return;
	}
	c->pending_len = c->pending_off = 0;
	for (ssize_t i = 0; i < n; i++) {
		if (c->tty && c->escape) {
			c->escape = false;
			if (buf[i] == 'x' || buf[i] == 'X') {
				fprintf(stderr, "\r\nshmvm: quit from console\r\n");
				vm_request_stop(c->vm, VM_EXIT_SIGNAL + SIGINT);
				return;
			}
			if (buf[i] != CONSOLE_ESCAPE)
				c->pending[c->pending_len++] = CONSOLE_ESCAPE;
		} else if (c->tty && buf[i] == CONSOLE_ESCAPE) {
			c->escape = true;
			continue;
		}
		c->pending[c->pending_len++] = buf[i];
	}
	console_flush(c);
}

static void on_stop(struct loop *l, int fd, uint32_t events, void *opaque)
{
	uint64_t v;

	(void)events;
	(void)opaque;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("stop eventfd: %s", strerror(errno));
	loop_stop(l);
}

struct signal_target {
	struct vm *vm;
	const struct session_hooks *hooks;
};

static void on_signal(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct signal_target *t = opaque;
	struct signalfd_siginfo si;

	(void)l;
	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGWINCH) {
		if (t->hooks && t->hooks->winch)
			t->hooks->winch(t->hooks->opaque);
		return;
	}
	log_info("stopping on signal %u", si.ssi_signo);
	vm_request_stop(t->vm, VM_EXIT_SIGNAL + (int)si.ssi_signo);
}

/* A backend closed its socket: the device breaks, the VM goes on. */
static void on_backend_hup(struct loop *l, int fd, uint32_t events, void *opaque)
{
	(void)events;
	loop_del(l, fd);
	vhost_user_dev_broken(opaque, "disconnected");
}

/* A file mapped into a device's window was written or cut: repair what lies past its end. */
static void on_mapped_file_changed(struct loop *l, int fd, uint32_t events, void *opaque)
{
	struct vhost_user_dev *d = opaque;

	(void)l;
	(void)fd;
	(void)events;
	shm_window_files_changed(&d->shm);
}

static void on_timeout(struct loop *l, int fd, uint32_t events, void *opaque)
{
	(void)events;
	loop_del(l, fd);
	log_info("stopping: the time given is up");
	vm_request_stop(opaque, VM_EXIT_TIMEOUT);
}

static bool api_vcpu_exits(void *opaque, unsigned int i, uint64_t out[NR_EXIT_KINDS])
{
	struct vm *vm = opaque;

	return i < vm->nr_vcpus && exit_stats_read(&vm->vcpus[i].exits, out);
}

static void api_shutdown(void *opaque)
{
	log_info("stopping on request of the control socket");
	vm_request_stop(opaque, VM_EXIT_RESET);
}

int session_run(struct vm *vm, const struct vm_options *o, int sigfd, unsigned int timeout_s,
		const struct sandbox_cfg *sb, const struct session_hooks *hooks)
{
	struct console con = { .vm = vm };
	struct signal_target sig = { .vm = vm, .hooks = hooks };
	struct api_target target = {
		.nr_vcpus = vm->nr_vcpus,
		.memory = o->memory,
		.slots = &vm->slots,
		.devices = vm->devices,
		.nr_devices = vm->nr_devices,
		.shutdown = api_shutdown,
		.vcpu_exits = api_vcpu_exits,
		.opaque = vm,
	};
	struct api api = { .listen_fd = -1 };
	struct loop loop;
	int timer = -1, rc;

	rc = loop_init(&loop);
	if (rc)
		return rc;
	con.loop = &loop;
	rc = loop_add(&loop, vm->stop_efd, EPOLLIN, on_stop, vm);
	if (!rc)
		rc = loop_add(&loop, sigfd, EPOLLIN, on_signal, &sig);
	for (unsigned int i = 0; !rc && hooks && i < hooks->nr_watches; i++)
		rc = loop_add(&loop, hooks->watch[i].fd, hooks->watch[i].events, hooks->watch[i].fn,
			      hooks->watch[i].opaque);
	if (!rc && o->serial == SERIAL_STDIO) {
		con.tty = isatty(STDIN_FILENO);
		if (con.tty && term_raw(STDIN_FILENO))
			log_warn("cannot put the terminal in raw mode");
		/* stdin may be a regular file, which epoll refuses: then no input. */
		if (loop_add(&loop, STDIN_FILENO, EPOLLIN, console_stdin, &con) == 0)
			con.watching = true;
	}
	for (unsigned int i = 0; !rc && i < vm->nr_devices; i++) {
		struct vhost_user_dev *d = &vm->devices[i];

		/* EPOLLRDHUP only: replies are read by the vCPU doing the request. */
		rc = loop_add(&loop, vhost_user_dev_fd(d), EPOLLRDHUP, on_backend_hup, d);
		if (!rc && d->has_shm && shm_window_watch_fd(&d->shm) >= 0)
			rc = loop_add(&loop, shm_window_watch_fd(&d->shm), EPOLLIN, on_mapped_file_changed,
				      d);
	}
	if (!rc && timeout_s) {
		struct itimerspec its = { .it_value.tv_sec = timeout_s };

		timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		rc = timer < 0 ? -errno : 0;
		if (!rc && timerfd_settime(timer, 0, &its, NULL))
			rc = -errno;
		if (!rc)
			rc = loop_add(&loop, timer, EPOLLIN, on_timeout, vm);
	}
	if (!rc && o->api_socket) {
		target.fd_dir = opendir("/proc/self/fd");
		rc = api_init(&api, o->api_socket, &target, &loop);
	}
	if (!rc) {
		/* The end of set-up: no capabilities, only the system calls vmm/sandbox.c lists. */
		struct sandbox_cfg cfg = *sb;

		cfg.api_socket = o->api_socket != NULL;
		cfg.on_violation = term_restore;
		rc = sandbox_enter(&cfg);
	}
	if (!rc)
		rc = vm_start(vm);
	if (!rc)
		rc = loop_run(&loop, console_idle, &con);
	term_restore();
	api_destroy(&api);
	if (target.fd_dir)
		closedir(target.fd_dir);
	loop_destroy(&loop);
	if (timer >= 0)
		close(timer);
	return rc;
}

int session_block_signals(void)
{
	sigset_t sigs;
	int fd;

	/*
	 * Signals are read from a signalfd by the main loop; every thread
	 * (vCPUs inherit this mask) keeps them blocked. The vCPU kick signal is
	 * unblocked only in vCPU threads. SIGSYS is never blocked: the seccomp
	 * filter's report (vmm/sandbox.c) depends on it.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGWINCH);
	sigaddset(&sigs, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigdelset(&sigs, VCPU_KICK_SIGNAL);
	fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		log_err("signalfd: %s", strerror(errno));
		return -errno;
	}
	signal(SIGPIPE, SIG_IGN);
	return fd;
}
