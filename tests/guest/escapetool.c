// SPDX-License-Identifier: GPL-2.0-only
/*
 * escapetool: the guest's attempts to leave a virtio-fs share that the shell
 * cannot make (tests/guest/steps/escape). Each prints what it got; the host
 * (tests/boot/fsd-escape.sh) judges.
 *
 *   escapetool rename FROM TO | link FROM TO
 *       rename(2) or link(2), never a copy; prints "ok" or the errno's name.
 *   escapetool handles MOUNT FILE [INO]...
 *       name_to_handle_at() of FILE, open_by_handle_at() of it, again after
 *       dropping the caches, then of forged handles: FUSE's own type with
 *       made-up node ids and generations, the host's inode numbers INO, and
 *       other handle types. Prints each handle that opened and its first bytes.
 *   escapetool race DIR FILE SECONDS
 *       for SECONDS, read DIR/secret.txt and FILE, create DIR/new, stat, list
 *       and append while the host swaps both with symlinks out; counts what
 *       was read: "INSIDE-..." (the share), "GUEST-OWN-..." (this guest's
 *       files, where a symlink's target leads here), or anything else (shown).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FILEID_INO32_GEN	1
#define FILEID_INO64_GEN	0x81 /* FUSE's: node id (two u32, high first), generation */
#define FILEID_INO64_GEN_PARENT 0x82

static const char *err_name(int e)
{
	switch (e) {
	case 0:
		return "ok";
	case EXDEV:
		return "EXDEV";
	case ESTALE:
		return "ESTALE";
	case ENOENT:
		return "ENOENT";
	case EINVAL:
		return "EINVAL";
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case ENOTDIR:
		return "ENOTDIR";
	case EISDIR:
		return "EISDIR";
	case ELOOP:
		return "ELOOP";
	case EEXIST:
		return "EEXIST";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case EBADF:
		return "EBADF";
	default:
		return strerror(e);
	}
}

/* Up to @n bytes of @fd from offset 0, printable, into @out. */
static void head_of(int fd, char *out, size_t n)
{
	ssize_t k = pread(fd, out, n - 1, 0);

	if (k < 0) {
		snprintf(out, n, "(read: %s)", err_name(errno));
		return;
	}
	out[k] = 0;
	for (ssize_t i = 0; i < k; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			out[i] = '.';
}

static int do_rename_link(int argc, char **argv, int is_link)
{
	int rc;

	if (argc != 4)
		return 2;
	rc = is_link ? link(argv[2], argv[3]) : rename(argv[2], argv[3]);
	printf("%s\n", err_name(rc ? errno : 0));
	return 0;
}

struct fh {
	struct file_handle h;
	uint32_t words[8];
};

static unsigned int hits, refused;

/* open_by_handle_at() of a handle: a hit is shown with its inode and first bytes. */
static void try_handle(int mfd, int type, const uint32_t *w, unsigned int nw, const char *what)
{
	struct fh f = {.h = {.handle_bytes = nw * 4, .handle_type = type}};
	char head[48];
	struct stat st;
	int fd;

	memcpy(f.words, w, nw * 4);
	fd = open_by_handle_at(mfd, &f.h, O_RDONLY);
	if (fd < 0) {
		refused++;
		return;
	}
	hits++;
	fstat(fd, &st);
	head_of(fd, head, sizeof(head));
	printf("SHMVM-ESC-HANDLE-HIT %s type=%#x w=%x,%x,%x ino=%lu mode=%o head=%s\n", what, type,
	       w[0], nw > 1 ? w[1] : 0, nw > 2 ? w[2] : 0, (unsigned long)st.st_ino, st.st_mode,
	       head);
	close(fd);
}

static int do_handles(int argc, char **argv)
{
	struct fh own = {.h = {.handle_bytes = sizeof(own.words)}};
	char want[48], got[48];
	int mnt_id, mfd, fd;
	const char *own_result, *again_result;

	if (argc < 4)
		return 2;
	mfd = open(argv[2], O_RDONLY | O_DIRECTORY);
	fd = open(argv[3], O_RDONLY);
	if (mfd < 0 || fd < 0 || name_to_handle_at(AT_FDCWD, argv[3], &own.h, &mnt_id, 0) < 0) {
		printf("SHMVM-ESC-HANDLES-FAIL name_to_handle_at: %s\n", err_name(errno));
		return 1;
	}
	head_of(fd, want, sizeof(want));
	close(fd);
	printf("SHMVM-ESC-HANDLE own type=%#x bytes=%u\n", own.h.handle_type, own.h.handle_bytes);
	fd = open_by_handle_at(mfd, &own.h, O_RDONLY);
	own_result = fd < 0 ? err_name(errno) : "ok";
	if (fd >= 0) {
		head_of(fd, got, sizeof(got));
		own_result = strcmp(got, want) ? "wrong-file" : "ok";
		close(fd);
	}
	/* The guest forgets the inode (FORGET reaches shmvm-fsd): the handle is stale or the same
	 * file. */
	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "3", 1) < 0)
			perror("drop_caches");
		close(fd);
	}
	fd = open_by_handle_at(mfd, &own.h, O_RDONLY);
	again_result = fd < 0 ? err_name(errno) : "ok";
	if (fd >= 0) {
		head_of(fd, got, sizeof(got));
		again_result = strcmp(got, want) ? "wrong-file" : "ok";
		close(fd);
	}
	/* Forged: every small node id with small generations, in both handle layouts. */
	for (uint32_t node = 0; node < 300; node++)
		for (uint32_t gen = 0; gen < 3; gen++) {
			uint32_t w[6] = {0, node, gen, 0, 1, 0};

			try_handle(mfd, FILEID_INO64_GEN, w, 3, "small");
			try_handle(mfd, FILEID_INO64_GEN_PARENT, w, 6, "small-parent");
		}
	/* Node ids with a high half, as shmvm-fsd makes them (generation << 32 | index). */
	for (uint32_t hi = 1; hi < 4; hi++)
		for (uint32_t node = 1; node < 100; node++) {
			uint32_t w[3] = {hi, node, hi};

			try_handle(mfd, FILEID_INO64_GEN, w, 3, "gen");
		}
	/* The host's inode numbers of files outside the share, as node ids and as plain inodes. */
	for (int i = 4; i < argc; i++) {
		uint64_t ino = strtoull(argv[i], NULL, 0);

		for (uint32_t gen = 0; gen < 3; gen++) {
			uint32_t w[3] = {(uint32_t)(ino >> 32), (uint32_t)ino, gen},
				 w32[2] = {(uint32_t)ino, gen};

			try_handle(mfd, FILEID_INO64_GEN, w, 3, "host-ino");
			try_handle(mfd, FILEID_INO32_GEN, w32, 2, "host-ino32");
			try_handle(mfd, 0, w32, 2, "host-ino-root");
		}
	}
	printf("SHMVM-ESC-HANDLES own=%s after-drop=%s forged-hits=%u forged-refused=%u\n",
	       own_result, again_result, hits, refused);
	close(mfd);
	return 0;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned long inside, guest, other, errors;

static void classify(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY);

	if (fd < 0) {
		errors++;
		return;
	}
	head_of(fd, buf, sizeof(buf));
	close(fd);
	if (!strncmp(buf, "INSIDE-", 7)) {
		inside++;
	} else if (!strncmp(buf, "GUEST-OWN", 9)) {
		guest++;
	} else {
		if (other++ < 5)
			printf("SHMVM-ESC-RACE-OTHER %s: %s\n", path, buf);
	}
}

static int do_race(int argc, char **argv)
{
	char secret[256], created[256];
	unsigned long rounds = 0;
	double end;
	struct stat st;

	if (argc != 5)
		return 2;
	snprintf(secret, sizeof(secret), "%s/secret.txt", argv[2]);
	snprintf(created, sizeof(created), "%s/new", argv[2]);
	end = now() + atof(argv[4]);
	while (now() < end) {
		DIR *d;
		int fd;

		classify(secret);
		classify(argv[3]);
		stat(secret, &st);
		fd = open(created, O_CREAT | O_WRONLY | O_APPEND, 0644);
		if (fd >= 0) {
			if (write(fd, "g\n", 2) < 0)
				errors++;
			close(fd);
		}
		fd = open(argv[3], O_WRONLY | O_APPEND);
		if (fd >= 0) {
			if (write(fd, "a", 1) < 0)
				errors++;
			close(fd);
		}
		d = opendir(argv[2]);
		if (d) {
			while (readdir(d))
				;
			closedir(d);
		}
		rounds++;
	}
	printf("SHMVM-ESC-RACE rounds=%lu inside=%lu guest=%lu other=%lu errors=%lu\n", rounds,
	       inside, guest, other, errors);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "rename"))
		rc = do_rename_link(argc, argv, 0);
	else if (argc >= 2 && !strcmp(argv[1], "link"))
		rc = do_rename_link(argc, argv, 1);
	else if (argc >= 2 && !strcmp(argv[1], "handles"))
		rc = do_handles(argc, argv);
	else if (argc >= 2 && !strcmp(argv[1], "race"))
		rc = do_race(argc, argv);
	if (rc == 2)
		fprintf(stderr, "usage: escapetool rename|link FROM TO | handles MOUNT FILE "
				"[INO]... | race DIR FILE SECONDS\n");
	return rc;
}
