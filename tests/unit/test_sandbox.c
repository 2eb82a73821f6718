// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm/sandbox.c: what the filter lets through and what it stops, and the
 * capabilities of every thread. Each case runs in a child of its own that
 * enters the sandbox (it cannot be left) and reports through its exit
 * status and stderr.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/check_main.h"
#include "vmm/sandbox.h"
#include "vmm/vm.h"

#define VIOLATION 42

struct child_result {
	int status; /* exit status, or 128 + signal */
	char err[1024];
};

/*
 * Run @fn(@arg) in a child that entered a sandbox of @cfg (with VIOLATION
 * as its violation status) first, after @before(@cfg, @arg) when given.
 * @fn returns the child's exit status; 99 means sandbox_enter() failed.
 */
static struct child_result sandboxed_after(void (*before)(struct sandbox_cfg *, void *),
					   int (*fn)(void *), void *arg, struct sandbox_cfg cfg)
{
	struct child_result res = { 0 };
	size_t len = 0;
	int p[2], ws;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		if (before)
			before(&cfg, arg);
		cfg.violation_status = VIOLATION;
		if (sandbox_enter(&cfg))
			_exit(99);
		_exit(fn(arg));
	}
	close(p[1]);
	while ((n = read(p[0], res.err + len, sizeof(res.err) - 1 - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
	res.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return res;
}

static struct child_result sandboxed(int (*fn)(void *), void *arg, struct sandbox_cfg cfg)
{
	return sandboxed_after(NULL, fn, arg, cfg);
}

static const struct sandbox_cfg with_filter = { .seccomp = true };

static void expect_violation(struct child_result r, const char *call)
{
	char want[96];

	snprintf(want, sizeof(want), "(%s); stopping", call);
	ck_assert_msg(r.status == VIOLATION, "exit status %d, stderr: %s", r.status, r.err);
	ck_assert_msg(strstr(r.err, "shmvm: seccomp: forbidden system call ") && strstr(r.err, want),
		      "stderr lacks the line naming %s: %s", call, r.err);
}

/* ---- what a running VM does is let through ---- */

static void *thread_fn(void *arg)
{
	pthread_setname_np(pthread_self(), "vcpu0");
	return arg;
}

static void on_kick(int sig)
{
	(void)sig;
}

static int allowed_calls(void *arg)
{
	struct sigaction sa = { .sa_handler = on_kick };
	struct timespec ts;
	pthread_t t;
	void *big, *ret = NULL;
	uint64_t one = 1;
	int efd;

	(void)arg;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) || getpid() <= 0)
		return 1;
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0 || write(efd, &one, sizeof(one)) != sizeof(one) ||
	    read(efd, &one, sizeof(one)) != sizeof(one) || close(efd))
		return 2;
	big = malloc(64 << 20);
	if (!big)
		return 3;
	memset(big, 1, 1 << 20);
	free(big);
	/* A vCPU: a thread, named, kicked, joined. */
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) || pthread_create(&t, NULL, thread_fn, &ts))
		return 4;
	if (pthread_join(t, &ret) || ret != &ts)
		return 5;
	if (pthread_kill(pthread_self(), VCPU_KICK_SIGNAL))
		return 6;
	isatty(STDERR_FILENO); /* TCGETS */
	nanosleep(&(struct timespec){ .tv_nsec = 1000 }, NULL);
	fprintf(stderr, "still here\n");
	return 0;
}

START_TEST(filter_allows_what_a_vm_needs)
{
	struct child_result r = sandboxed(allowed_calls, NULL, with_filter);

	ck_assert_msg(r.status == 0, "exit status %d, stderr: %s", r.status, r.err);
	ck_assert_str_eq(r.err, "still here\n");
}
END_TEST

/* ---- and anything else ends the process with one line ---- */

static int make_socket(void *arg)
{
	(void)arg;
	socket(AF_UNIX, SOCK_STREAM, 0);
	return 0;
}

START_TEST(forbidden_call_ends_the_process)
{
	expect_violation(sandboxed(make_socket, NULL, with_filter), "socket");
}
END_TEST

static void *socket_thread(void *arg)
{
	make_socket(arg);
	return NULL;
}

static int socket_in_a_thread(void *arg)
{
	pthread_t t;

	(void)arg;
	if (pthread_create(&t, NULL, socket_thread, NULL))
		return 1;
	pthread_join(t, NULL);
	return 0;
}

START_TEST(forbidden_call_in_a_thread)
{
	expect_violation(sandboxed(socket_in_a_thread, NULL, with_filter), "socket");
}
END_TEST

/*
 * A thread that exists before the filter is filtered too (the backend-channel
 * threads). Like them, it reads again when the capability-dropping signal
 * interrupts its read (EINTR: that signal does not restart calls).
 */
static void *wait_then_socket(void *arg)
{
	ssize_t n;
	char c;

	while ((n = read(*(int *)arg, &c, 1)) < 0 && errno == EINTR)
		;
	if (n == 1)
		make_socket(NULL);
	return NULL;
}

static void start_waiting_thread(struct sandbox_cfg *cfg, void *arg)
{
	pthread_t t;

	(void)cfg;
	if (pthread_create(&t, NULL, wait_then_socket, arg))
		_exit(98);
}

static int socket_in_an_older_thread(void *arg)
{
	int fd = ((int *)arg)[1];

	if (write(fd, "x", 1) != 1)
		return 1;
	for (;;)
		nanosleep(&(struct timespec){ .tv_sec = 1 }, NULL);
	return 0;
}

START_TEST(filter_covers_threads_started_before)
{
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	expect_violation(sandboxed_after(start_waiting_thread, socket_in_an_older_thread, p, with_filter),
			 "socket");
	close(p[0]);
	close(p[1]);
}
END_TEST

static int other_ioctl(void *arg)
{
	int n;

	(void)arg;
	ioctl(STDERR_FILENO, FIONREAD, &n);
	return 0;
}

START_TEST(only_listed_ioctls)
{
	expect_violation(sandboxed(other_ioctl, NULL, with_filter), "ioctl");
}
END_TEST

static int exec_mapping(void *arg)
{
	(void)arg;
	mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return 0;
}

START_TEST(no_executable_memory)
{
	expect_violation(sandboxed(exec_mapping, NULL, with_filter), "mmap");
}
END_TEST

static int rt_sigaction_other(void *arg)
{
	(void)arg;
	signal(SIGTERM, SIG_IGN);
	return 0;
}

#ifndef SHMVM_SANITIZERS /* the sanitizers' runtimes need these (vmm/sandbox.c) */
static int open_file(void *arg)
{
	(void)arg;
	open("/dev/null", O_RDONLY);
	return 0;
}

START_TEST(nothing_is_opened)
{
	expect_violation(sandboxed(open_file, NULL, with_filter), "openat");
}
END_TEST

static int make_process(void *arg)
{
	pid_t pid;

	(void)arg;
	pid = fork();
	if (pid == 0)
		_exit(0);
	return 0;
}

START_TEST(no_new_process)
{
	expect_violation(sandboxed(make_process, NULL, with_filter), "clone");
}
END_TEST

START_TEST(signal_handlers_stay)
{
	expect_violation(sandboxed(rt_sigaction_other, NULL, with_filter), "rt_sigaction");
}
END_TEST
#endif

/* ---- `shmvm run`: its servers, and only they, may be stopped and reaped ---- */

struct kill_case {
	pid_t child, other;
};

static void start_child(struct sandbox_cfg *cfg, void *arg)
{
	struct kill_case *k = arg;

	/*
	 * Not check's handler, which answers SIGTERM with killpg() of the whole
	 * test: reset here, before the fork, so that a SIGTERM reaching the new
	 * child before it first runs cannot end the test (it did, once in CI).
	 */
	signal(SIGTERM, SIG_DFL);
	k->child = fork();
	if (k->child == 0) {
		pause();
		_exit(0);
	}
	ck_assert_int_gt(k->child, 0); /* kill(-1, ...) of a failed fork must never happen */
	cfg->children[cfg->nr_children++] = k->child;
}

static int kill_children(void *arg)
{
	struct kill_case *k = arg;
	int ws;

	if (kill(k->child, SIGTERM) || waitpid(k->child, &ws, 0) != k->child || !WIFSIGNALED(ws))
		return 1;
	kill(k->other, 0);
	return 0;
}

START_TEST(kill_only_children)
{
	struct kill_case k = { .other = getpid() };

	expect_violation(sandboxed_after(start_child, kill_children, &k, with_filter), "kill");
}
END_TEST

/* ---- --no-seccomp: capabilities only ---- */

START_TEST(no_seccomp_filters_nothing)
{
	struct sandbox_cfg cfg = { .seccomp = false };
	struct child_result r = sandboxed(rt_sigaction_other, NULL, cfg);

	ck_assert_msg(r.status == 0, "exit status %d, stderr: %s", r.status, r.err);
	r = sandboxed(make_socket, NULL, cfg);
	ck_assert_msg(r.status == 0, "exit status %d, stderr: %s", r.status, r.err);
}
END_TEST

/* ---- capabilities: none left in any thread ---- */

/* 0 when every thread has no capability (the bounding set too, with @bounds) and no_new_privs. */
static int every_thread_unprivileged(bool bounds)
{
	struct dirent *e;
	DIR *dir = opendir("/proc/self/task");
	int bad = 0, threads = 0;

	if (!dir)
		return 2;
	while ((e = readdir(dir))) {
		char path[300], line[128];
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", e->d_name);
		f = fopen(path, "r");
		if (!f)
			return 3;
		threads++;
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "NoNewPrivs:", 11))
				bad |= strtoul(line + 11, NULL, 10) != 1;
			else if (!strncmp(line, "Cap", 3) && (bounds || strncmp(line, "CapBnd:", 7)))
				bad |= strtoull(line + 7, NULL, 16) != 0;
		}
		fclose(f);
	}
	closedir(dir);
	return bad ? 1 : threads == 4 ? 0 : 4;
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* Threads started before, as the backend-channel ones are: with the caller's capabilities. */
static void start_sleepers(struct sandbox_cfg *cfg, void *arg)
{
	pthread_t t;

	(void)cfg;
	(void)arg;
	for (int i = 0; i < 3; i++)
		if (pthread_create(&t, NULL, sleeper, NULL))
			_exit(98);
}

static int capabilities_gone(void *arg)
{
	return every_thread_unprivileged(*(bool *)arg);
}

START_TEST(capabilities_dropped_in_every_thread)
{
	struct sandbox_cfg cfg = { .seccomp = false };
	bool root = geteuid() == 0; /* only root's bounding set can be cleared */
	struct child_result r = sandboxed_after(start_sleepers, capabilities_gone, &root, cfg);

	ck_assert_msg(r.status == 0, "a thread kept a capability or lacks no_new_privs (exit %d: %s)",
		      r.status, r.err);
}
END_TEST

static Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc;

	tc = tcase_create("filter");
	tcase_add_test(tc, filter_allows_what_a_vm_needs);
	tcase_add_test(tc, forbidden_call_ends_the_process);
	tcase_add_test(tc, forbidden_call_in_a_thread);
	tcase_add_test(tc, filter_covers_threads_started_before);
	tcase_add_test(tc, only_listed_ioctls);
	tcase_add_test(tc, no_executable_memory);
#ifndef SHMVM_SANITIZERS
	tcase_add_test(tc, nothing_is_opened);
	tcase_add_test(tc, no_new_process);
	tcase_add_test(tc, signal_handlers_stay);
#endif
	tcase_add_test(tc, kill_only_children);
	tcase_add_test(tc, no_seccomp_filters_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("capabilities");
	tcase_add_test(tc, capabilities_dropped_in_every_thread);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(sandbox_suite)
