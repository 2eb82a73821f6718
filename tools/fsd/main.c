// SPDX-License-Identifier: GPL-2.0-only
/*
 * shmvm-fsd: a vhost-user virtio-fs backend serving one host directory.
 * Queue 0 is hiprio (FORGETs), queues 1.. carry requests.
 */
#include <cap-ng.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/fsd/device.h"
#include "tools/fsd/fuse_server.h"
#include "util/log.h"
#include "util/parse.h"
#include "vhost/backend.h"
#include "vhost/sock.h"

#define FSD_DEFAULT_DAX_WINDOW (1ULL << 30)
#define FSD_MAX_DAX_WINDOW (32ULL << 30) /* shmvm's largest window */

static void usage(FILE *f)
{
	fputs("Usage: shmvm-fsd (--socket PATH | --socket-fd N) --shared-dir DIR [options]\n"
	      "A vhost-user virtio-fs backend: a FUSE passthrough of DIR.\n"
	      "\n"
	      "  -s, --socket PATH       unix socket to listen on, for one frontend after another\n"
	      "  -f, --socket-fd N       serve the frontend already connected on inherited fd N\n"
	      "                          (a unix stream socket); exit 0 when it closes it\n"
	      "  -d, --shared-dir DIR    the directory the guest sees\n"
	      "  -t, --tag TAG           the mount tag (default: shmvm), at most 36 bytes\n"
	      "  -q, --queues N          request queues, 1..16 (default 1)\n"
	      "  -w, --dax-window SIZE   DAX window to ask the frontend for, a 2 MiB multiple\n"
	      "                          (default 1G; 0: no DAX)\n"
	      "  -r, --read-only         refuse every change\n"
	      "  -R, --map-root          the guest's uid/gid 0 is this process's user: its files\n"
	      "                          show as 0's, and 0 in requests means it (for a server\n"
	      "                          run by an ordinary user, which cannot chown)\n"
	      "  -v, --verbose           more log output\n"
	      "  -h, --help              this help\n",
	      f);
}

/*
 * Keep only what a passthrough server needs to act on any file as its owner
 * would (effective and permitted; the bounding, inheritable and ambient
 * sets empty), and set no_new_privs: shmvm-fsd runs nothing. Files are
 * created by shmvm-fsd itself and then given to the requesting uid/gid with
 * fchown, so no CAP_SETUID/CAP_SETGID: its credentials never change.
 *
 * Of those six, only the ones it has are kept: an ordinary user's server
 * has none (and cannot ask for them), and then there is nothing to drop but
 * the bounding set, which only CAP_SETPCAP may change and which
 * no_new_privs makes moot. Returns 0, or -errno when capabilities it holds
 * could not be dropped.
 */
static int drop_capabilities(void)
{
	static const int keep[] = {
		CAP_CHOWN,           /* SETATTR uid/gid; new files given to the caller */
		CAP_DAC_OVERRIDE,    /* open, write, search any file (the guest checks its users) */
		CAP_DAC_READ_SEARCH, /* LINK: linkat(AT_EMPTY_PATH) of a node's O_PATH fd */
		CAP_FOWNER,          /* SETATTR mode/times on files of others; O_NOATIME */
		CAP_FSETID,          /* keep set-id bits the guest set (chmod, write) */
		CAP_MKNOD,           /* MKNOD of device nodes */
	};
	bool held[ARRAY_SIZE(keep)];

	if (capng_get_caps_process())
		return -EPERM;
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		held[i] = capng_have_capability(CAPNG_PERMITTED, (unsigned int)keep[i]);
	/* Nothing held (ambient capabilities are a subset of the permitted ones). */
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE)
		return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ? -errno : 0;
	capng_clear(CAPNG_SELECT_ALL);
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		if (held[i] && capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED,
					    (unsigned int)keep[i]))
			return -EINVAL;
	if (capng_apply(CAPNG_SELECT_ALL))
		return -EPERM;
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ? -errno : 0;
}

/*
 * Each node the guest holds is an O_PATH descriptor here and each open file
 * one more, up to the tables' sizes; the vhost-user side needs some more
 * (memory regions, eventfds). The usual soft limit of 1024 ran out when a
 * guest read a directory of a thousand files: its lookups failed with
 * EMFILE. Raise the soft limit to what the tables can use, and the hard
 * limit too where this process may (CAP_SYS_RESOURCE, before it is dropped).
 */
#define FSD_FD_SLACK 1024

static void raise_fd_limit(void)
{
	const rlim_t want = FSD_DEFAULT_INODES + FSD_DEFAULT_HANDLES + FSD_FD_SLACK;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want && !setrlimit(RLIMIT_NOFILE, &(struct rlimit){ want, want }))
		return;
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) && getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur < want)
		log_warn("open-file limit %llu is below the %llu the node and handle tables can use: "
			 "a guest holding more files gets EMFILE (raise the hard limit, ulimit -Hn)",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "socket-fd", required_argument, NULL, 'f' },
		{ "shared-dir", required_argument, NULL, 'd' },
		{ "tag", required_argument, NULL, 't' },
		{ "queues", required_argument, NULL, 'q' },
		{ "dax-window", required_argument, NULL, 'w' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "map-root", no_argument, NULL, 'R' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *dir = NULL, *tag = "shmvm";
	char fd_name[32];
	int sock_fd = -1;
	struct fsd_opts fo = { 0 };
	static struct fsd_device dev;
	struct vu_backend_ops ops;
	struct vu_backend b;
	struct fsd *fs;
	uint64_t v, nreq = 1, dax_window = FSD_DEFAULT_DAX_WINDOW;
	struct stat st;
	int c, rc;

	log_set_prefix("shmvm-fsd");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:f:d:t:q:w:rRvh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'f':
			if (parse_u64(optarg, 0, INT_MAX, &v)) {
				fprintf(stderr,
					"shmvm-fsd: --socket-fd: '%s' is not a file descriptor number\n",
					optarg);
				return 1;
			}
			sock_fd = (int)v;
			break;
		case 'd':
			dir = optarg;
			break;
		case 't':
			tag = optarg;
			if (!*tag || strlen(tag) > VIRTIO_FS_TAG_LEN || strchr(tag, '\n')) {
				fprintf(stderr, "shmvm-fsd: --tag: '%s' must be 1 to 36 bytes, no newline\n", tag);
				return 1;
			}
			break;
		case 'q':
			if (parse_u64(optarg, 1, 16, &nreq)) {
				fprintf(stderr, "shmvm-fsd: --queues: '%s' is not a number from 1 to 16\n", optarg);
				return 1;
			}
			break;
		case 'w':
			if (parse_size(optarg, &v) || v % DAX_CHUNK || v > FSD_MAX_DAX_WINDOW) {
				fprintf(stderr, "shmvm-fsd: --dax-window: '%s' is not 0 or a multiple of 2M up to 32G\n",
					optarg);
				return 1;
			}
			dax_window = v;
			break;
		case 'r':
			fo.read_only = true;
			break;
		case 'R':
			fo.map_root = true;
			break;
		case 'v':
			log_set_level(log_get_level() == LOG_WARN ? LOG_INFO : LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "shmvm-fsd: option '%s' needs a value\n", argv[optind - 1]);
			return 1;
		default:
			fprintf(stderr, "shmvm-fsd: unknown option '%s' (see --help)\n", argv[optind - 1]);
			return 1;
		}
	}
	if (optind < argc || !dir || !sock == (sock_fd < 0)) {
		const char *why = "--socket (or --socket-fd) and --shared-dir are required";

		if (optind < argc)
			why = "unexpected argument";
		else if (sock && sock_fd >= 0)
			why = "--socket and --socket-fd exclude each other";
		fprintf(stderr, "shmvm-fsd: %s (see --help)\n", why);
		return 1;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "shmvm-fsd: --shared-dir %s: %s\n", dir,
			errno && !S_ISDIR(st.st_mode) ? strerror(errno) : "not a directory");
		return 1;
	}
	fo.shared_dir = dir;
	fo.dax_window = dax_window;
	fo.dax_ops = &fsd_device_dax_ops;
	fo.dax_opaque = &dev;
	rc = fsd_create(&fo, &fs);
	if (rc) {
		fprintf(stderr, "shmvm-fsd: %s: %s\n", dir, strerror(-rc));
		return 1;
	}
	fsd_device_init(&dev, fs, &b, tag, (unsigned int)nreq, dax_window, &ops);
	signal(SIGPIPE, SIG_IGN);
	if (sock) {
		rc = vu_backend_listen(&b, sock, &ops, &dev);
		if (rc)
			fprintf(stderr, "shmvm-fsd: --socket %s: %s\n", sock,
				rc == -EADDRINUSE ? "another server is listening there" : strerror(-rc));
	} else {
		rc = vu_backend_adopt(&b, sock_fd, &ops, &dev);
		if (rc)
			fprintf(stderr, "shmvm-fsd: --socket-fd %d: %s\n", sock_fd,
				vu_sock_strerror(rc));
		/* Ours now: not to be inherited by anything we might run. */
		if (!rc && fcntl(sock_fd, F_SETFD, FD_CLOEXEC) < 0)
			log_warn("--socket-fd %d: cannot set close-on-exec: %s", sock_fd,
				 strerror(errno));
		snprintf(fd_name, sizeof(fd_name), "fd %d", sock_fd);
		sock = fd_name;
	}
	if (rc) {
		fsd_destroy(fs);
		return 1;
	}
	raise_fd_limit();
	rc = drop_capabilities();
	if (rc)
		log_warn("cannot drop capabilities: %s; running with those it has", strerror(-rc));
	log_info("serving %s on %s (tag %s, %llu request queues, DAX window %llu MiB)", dir, sock, tag,
		 (unsigned long long)nreq, (unsigned long long)(dax_window >> 20));
	rc = vu_backend_run(&b);
	vu_backend_close(&b);
	fsd_destroy(fs);
	if (rc)
		fprintf(stderr, "shmvm-fsd: %s\n", strerror(-rc));
	return rc ? 1 : 0;
}
