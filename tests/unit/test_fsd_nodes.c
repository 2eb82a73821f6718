// SPDX-License-Identifier: GPL-2.0-only
/* shmvm-fsd's node and handle tables: identity by (dev, ino), ids, reuse, limits, no fd leaks. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "check_main.h"
#include "tools/fsd/nodes.h"

static struct fsd_nodes n;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int c = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		c++;
	closedir(d);
	return c;
}

static int newfd(void)
{
	int fd = open("/", O_PATH | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static struct stat fake(dev_t dev, ino_t ino)
{
	struct stat st = { .st_dev = dev, .st_ino = ino };

	return st;
}

static void setup(void)
{
	struct stat root = fake(1, 2);

	ck_assert_int_eq(nodes_init(&n, 64, 8, newfd(), &root), 0);
}

static void teardown(void)
{
	nodes_destroy(&n);
}

START_TEST(same_inode_same_node)
{
	struct stat st = fake(1, 100), other = fake(2, 100), root = fake(1, 2);
	struct inode *a, *b, *c, *r;
	int fds = count_fds();

	ck_assert_int_eq(inode_add(&n, newfd(), &st, &a), 0);
	ck_assert_int_eq(inode_add(&n, newfd(), &st, &b), 0);
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_eq(a->nlookup, 2);
	ck_assert_int_eq(count_fds(), fds + 1); /* the second fd was closed */
	ck_assert_int_eq(inode_add(&n, newfd(), &other, &c), 0); /* same ino, other device */
	ck_assert_ptr_ne(a, c);
	ck_assert_int_eq(inode_add(&n, newfd(), &root, &r), 0);  /* ".." of a child of the root */
	ck_assert_ptr_eq(r, &n.inodes[0]);
	ck_assert_ptr_eq(inode_get(&n, inode_id(&n, a)), a);
	ck_assert_ptr_eq(inode_get(&n, 1), &n.inodes[0]);
}
END_TEST

START_TEST(forget_and_stale_ids)
{
	struct stat st = fake(1, 100), st2 = fake(1, 101);
	struct inode *a, *b;
	uint64_t id;
	int fds = count_fds();

	ck_assert_int_eq(inode_add(&n, newfd(), &st, &a), 0);
	ck_assert_int_eq(inode_add(&n, newfd(), &st, &a), 0);
	id = inode_id(&n, a);
	inode_forget(&n, id, 1);
	ck_assert_ptr_eq(inode_get(&n, id), a);
	inode_forget(&n, id, 5); /* more than it had: gone, not negative */
	ck_assert_ptr_null(inode_get(&n, id));
	ck_assert_int_eq(count_fds(), fds);
	/* The slot is reused under a new generation: the old id stays dead. */
	ck_assert_int_eq(inode_add(&n, newfd(), &st2, &b), 0);
	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_null(inode_get(&n, id));
	ck_assert_uint_ne(inode_id(&n, b), id);
	/* The old (dev, ino) is no longer found: a new lookup makes a new node. */
	ck_assert_int_eq(inode_add(&n, newfd(), &st, &a), 0);
	ck_assert_ptr_ne(a, b);
	ck_assert_uint_eq(a->nlookup, 1);
	/* The root is never forgotten; forged ids are ignored. */
	inode_forget(&n, 1, 100);
	ck_assert_ptr_nonnull(inode_get(&n, 1));
	inode_forget(&n, 0, 1);
	inode_forget(&n, 1000, 1);
	ck_assert_ptr_null(inode_get(&n, 0));
	ck_assert_ptr_null(inode_get(&n, 65));
	ck_assert_ptr_null(inode_get(&n, (uint64_t)7 << 32 | 1));
}
END_TEST

START_TEST(full_table)
{
	struct inode *in;
	int fds = count_fds();

	for (ino_t i = 0; i < 63; i++) {
		struct stat st = fake(9, 1000 + i);

		ck_assert_int_eq(inode_add(&n, newfd(), &st, &in), 0);
	}
	{
		struct stat st = fake(9, 5000), known = fake(9, 1010);

		ck_assert_int_eq(inode_add(&n, newfd(), &st, &in), -ENFILE);
		ck_assert_int_eq(inode_add(&n, newfd(), &known, &in), 0); /* still found */
	}
	ck_assert_int_eq(count_fds(), fds + 63);
	nodes_reset(&n);
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_ptr_nonnull(inode_get(&n, 1));
	for (ino_t i = 0; i < 63; i++) {
		struct stat st = fake(9, 7000 + i);

		ck_assert_int_eq(inode_add(&n, newfd(), &st, &in), 0);
	}
}
END_TEST

START_TEST(handles)
{
	uint64_t fh[8], extra;
	int fds = count_fds();

	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(handle_add(&n, newfd(), i & 1, &fh[i]), 0);
	ck_assert_int_eq(handle_add(&n, newfd(), false, &extra), -ENFILE);
	ck_assert_int_eq(count_fds(), fds + 8);
	ck_assert_ptr_nonnull(handle_get(&n, fh[0], false));
	ck_assert_ptr_null(handle_get(&n, fh[0], true)); /* wrong kind */
	ck_assert_int_eq(handle_del(&n, fh[0], true), -EBADF);
	ck_assert_int_eq(handle_del(&n, fh[0], false), 0);
	ck_assert_int_eq(handle_del(&n, fh[0], false), -EBADF);
	ck_assert_ptr_null(handle_get(&n, fh[0], false));
	ck_assert_int_eq(handle_add(&n, newfd(), false, &extra), 0);
	ck_assert_uint_ne(extra, fh[0]); /* same slot, new generation */
	ck_assert_ptr_null(handle_get(&n, fh[0], false));
	ck_assert_ptr_null(handle_get(&n, 0, false));
	ck_assert_ptr_null(handle_get(&n, 9, false));
	nodes_reset(&n);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(many_nodes)
{
	struct fsd_nodes big;
	struct stat root = fake(1, 2);
	struct inode *in;

	ck_assert_int_eq(nodes_init(&big, 100000, 4, newfd(), &root), 0);
	for (ino_t i = 0; i < 99999; i++) {
		struct stat st = fake(3, i * 7919);

		ck_assert_int_eq(inode_add(&big, newfd(), &st, &in), 0);
		close(in->fd); /* keep the process under its fd limit; the table only compares */
		in->fd = 1000000;
	}
	for (ino_t i = 0; i < 99999; i += 997) {
		struct stat st = fake(3, i * 7919);

		ck_assert_int_eq(inode_add(&big, open("/", O_PATH | O_CLOEXEC), &st, &in), 0);
		ck_assert_uint_eq(in->ino, i * 7919);
		ck_assert_uint_eq(in->nlookup, 2);
	}
	/* Not via nodes_destroy: the fake fds must not be closed. */
	close(big.inodes[0].fd);
	free(big.inodes);
	free(big.handles);
	free(big.buckets);
}
END_TEST

START_TEST(bad_sizes)
{
	struct fsd_nodes bad;
	struct stat root = fake(1, 2);

	ck_assert_int_eq(nodes_init(&bad, 0, 8, -1, &root), -EINVAL);
	ck_assert_int_eq(nodes_init(&bad, 8, 0, -1, &root), -EINVAL);
	nodes_destroy(&bad); /* safe after a failed init */
}
END_TEST

static Suite *fsd_nodes_suite(void)
{
	Suite *s = suite_create("fsd_nodes");
	TCase *tc = tcase_create("nodes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, same_inode_same_node);
	tcase_add_test(tc, forget_and_stale_ids);
	tcase_add_test(tc, full_table);
	tcase_add_test(tc, handles);
	tcase_add_test(tc, many_nodes);
	tcase_add_test(tc, bad_sizes);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(fsd_nodes_suite)
