// SPDX-License-Identifier: GPL-2.0-only
/* guarded_copy(): faults on a truncated file's mapping come back as false, nothing else changes. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/guarded_copy.h"

#include "check_main.h"

#define PAGE 4096

/* Two pages of a memfd, mapped shared; the file then cut to one page. */
static uint8_t *cut_mapping(void)
{
	int fd = memfd_create("guarded", MFD_CLOEXEC);
	uint8_t *p;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 2 * PAGE), 0);
	p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	memset(p, 0xab, 2 * PAGE);
	ck_assert_int_eq(ftruncate(fd, PAGE), 0);
	close(fd);
	return p;
}

START_TEST(copies_like_memcpy)
{
	static uint8_t src[3 * PAGE + 5], dst[sizeof(src)];

	ck_assert_int_eq(guarded_copy_init(), 0);
	ck_assert_int_eq(guarded_copy_init(), 0); /* idempotent */
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7);
	ck_assert(guarded_copy(dst, src, sizeof(src)));
	ck_assert(!memcmp(dst, src, sizeof(src)));
	ck_assert(guarded_copy(dst, src, 0));
}
END_TEST

START_TEST(faults_both_ways_come_back)
{
	uint8_t *p = cut_mapping();
	static uint8_t buf[2 * PAGE];

	ck_assert_int_eq(guarded_copy_init(), 0);
	/* Many times over: the signal mask must not be left with SIGBUS blocked. */
	for (int i = 0; i < 1000; i++) {
		ck_assert(!guarded_copy(buf, p, 2 * PAGE));     /* reading past the end */
		ck_assert(!guarded_copy(p + PAGE + 8, buf, 8)); /* writing past the end */
		memset(buf, 0, PAGE);
		ck_assert(guarded_copy(buf, p, PAGE)); /* the page still there */
		ck_assert_uint_eq(buf[0], 0xab);
		ck_assert_uint_eq(buf[PAGE - 1], 0xab);
	}
	munmap(p, 2 * PAGE);
}
END_TEST

static void *fault_often(void *arg)
{
	uint8_t *p = arg, buf[64];
	uintptr_t bad = 0;

	for (int i = 0; i < 2000; i++) {
		bad += guarded_copy(buf, p + PAGE, sizeof(buf)); /* always faults */
		bad += !guarded_copy(buf, p, sizeof(buf));      /* never does */
	}
	return (void *)bad;
}

START_TEST(threads_fault_apart)
{
	uint8_t *p = cut_mapping();
	pthread_t t[4];
	void *bad;

	ck_assert_int_eq(guarded_copy_init(), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, fault_often, p), 0);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(t[i], &bad), 0);
		ck_assert_ptr_null(bad);
	}
	munmap(p, 2 * PAGE);
}
END_TEST

/*
 * A fault that is not a guarded copy's still ends the process: with SIGBUS,
 * or through the handler that was there before (a sanitizer's report).
 */
START_TEST(other_faults_still_kill)
{
	uint8_t *p = cut_mapping();
	int status;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static uint8_t buf[16];

		if (guarded_copy_init() || guarded_copy(buf, p + PAGE, sizeof(buf)))
			_exit(3);
		*(volatile uint8_t *)(p + PAGE) = 1; /* unguarded */
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFSIGNALED(status) ? WTERMSIG(status) == SIGBUS
					  : WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
						    WEXITSTATUS(status) != 3,
		      "child status %#x, expected an end by its SIGBUS", status);
	munmap(p, 2 * PAGE);
}
END_TEST

static Suite *guarded_copy_suite(void)
{
	Suite *s = suite_create("guarded_copy");
	TCase *tc = tcase_create("copy");

	tcase_add_test(tc, copies_like_memcpy);
	tcase_add_test(tc, faults_both_ways_come_back);
	tcase_add_test(tc, threads_fault_apart);
	tcase_add_test(tc, other_faults_still_kill);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(guarded_copy_suite)
