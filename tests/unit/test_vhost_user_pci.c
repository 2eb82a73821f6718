// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vhost-user PCI device built over an already-connected socket (as
 * `shmvm run` gives it shmvm-fsd's socketpair end): the backend library
 * serves the other end; the device owns its fd, whatever happens.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/vhost_user_pci.h"
#include "vhost/backend.h"

#include "check_main.h"

static int get_config(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	(void)opaque;
	for (uint32_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)(off + i);
	return 0;
}

static const struct vu_backend_ops ops = {
	.num_queues = 2,
	.config_size = 40,
	.get_config = get_config,
};

static struct vu_backend be;
static int be_fd; /* the backend's end, as the test thread may name it (not be.conn_fd) */
static pthread_t thread;
static int run_rc;
static struct guest_mem mem; /* untouched until DRIVER_OK */
static struct vhost_user_dev d;

static int no_route(void *opaque, int *gsi, const struct msix_msg *msg)
{
	(void)opaque, (void)gsi, (void)msg;
	return -ENOSYS;
}

static void no_free(void *opaque, int gsi)
{
	(void)opaque, (void)gsi;
}

static int no_fd(void *opaque, int fd, int gsi, bool assign)
{
	(void)opaque, (void)fd, (void)gsi, (void)assign;
	return -ENOSYS;
}

static int no_ioeventfd(void *opaque, int fd, uint64_t addr, uint32_t len, bool assign)
{
	(void)opaque, (void)fd, (void)addr, (void)len, (void)assign;
	return -ENOSYS;
}

static int no_msi(void *opaque, const struct msix_msg *msg)
{
	(void)opaque, (void)msg;
	return -ENOSYS;
}

static const struct hv_ops hv = { .msi_route = no_route, .msi_route_free = no_free,
				  .irqfd = no_fd, .ioeventfd = no_ioeventfd, .signal_msi = no_msi };

static void *backend_thread(void *arg)
{
	(void)arg;
	run_rc = vu_backend_run(&be);
	return NULL;
}

/* A backend on one end of a socketpair; the other end is returned. */
static int start_backend(void)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(vu_backend_adopt(&be, sv[0], &ops, NULL), 0);
	be_fd = sv[0];
	run_rc = 1;
	pthread_create(&thread, NULL, backend_thread, NULL);
	return sv[1];
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* A config as vmm/vm.c fills it, with a socket fd instead of a path. */
static struct vhost_user_cfg fd_cfg(int fd, const char *name)
{
	return (struct vhost_user_cfg){ .socket = name, .has_socket_fd = true, .socket_fd = fd,
					.virtio_id = 26, .queues = 2, .queue_size = 64,
					.config_size = 40, .pci_class = 0x018000,
					.connect_ms = 100, .reply_ms = 2000 };
}

START_TEST(device_over_an_adopted_fd)
{
	int fd = start_backend();
	struct vhost_user_cfg cfg = fd_cfg(fd, NULL);
	char name[16];
	uint8_t c[4];

	ck_assert_int_eq(vhost_user_dev_create(&d, &cfg, &mem, &hv), 0);
	ck_assert_int_eq(vhost_user_dev_fd(&d), fd);
	snprintf(name, sizeof(name), "fd %d", fd);
	ck_assert_str_eq(d.cfg.socket, name); /* a name for log lines and the control socket */
	ck_assert_uint_eq(d.fe.queue_num, 2);
	ck_assert(vu_frontend_has(&d.fe, VU_PF_BACKEND_REQ));
	ck_assert(d.backend_running);
	ck_assert_int_eq(vu_frontend_get_config(&d.fe, 0, c, 4), 0);
	ck_assert_uint_eq(c[3], 3);
	/* Destroy closes the fd; the backend sees the end and is done. */
	vhost_user_dev_destroy(&d);
	ck_assert(!fd_open(fd));
	pthread_join(thread, NULL);
	ck_assert_int_eq(run_rc, 0);
}
END_TEST

START_TEST(named_fd)
{
	int fd = start_backend();
	struct vhost_user_cfg cfg = fd_cfg(fd, "shmvm-fsd");

	ck_assert_int_eq(vhost_user_dev_create(&d, &cfg, &mem, &hv), 0);
	ck_assert_str_eq(d.cfg.socket, "shmvm-fsd");
	vhost_user_dev_destroy(&d);
	pthread_join(thread, NULL);
	ck_assert_int_eq(run_rc, 0);
}
END_TEST

/* Refused, and closed all the same: the caller never closes what it handed over. */
START_TEST(bad_fd_closed)
{
	int p[2];
	struct vhost_user_cfg cfg;

	ck_assert_int_eq(pipe(p), 0);
	cfg = fd_cfg(p[0], NULL);
	ck_assert_int_eq(vhost_user_dev_create(&d, &cfg, &mem, &hv), -ENOTSOCK);
	ck_assert(!fd_open(p[0]));
	close(p[1]);
}
END_TEST

START_TEST(failed_handshake_closed)
{
	int sv[2];
	struct vhost_user_cfg cfg;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[0]); /* the backend died before a word */
	cfg = fd_cfg(sv[1], NULL);
	ck_assert_int_lt(vhost_user_dev_create(&d, &cfg, &mem, &hv), 0);
	ck_assert(!fd_open(sv[1]));
}
END_TEST

/* A zeroed config has no fd: it still means "connect to .socket" (fd 0 is never taken). */
START_TEST(zeroed_cfg_means_a_path)
{
	struct vhost_user_cfg cfg = { .socket = "/nonexistent/shmvm.sock", .virtio_id = 26,
				      .queues = 2, .queue_size = 64, .connect_ms = 0,
				      .reply_ms = 100 };

	int null = open("/dev/null", O_RDONLY);

	ck_assert_int_eq(dup2(null, 0), 0); /* an fd 0 that a wrong "owned fd" would close */
	close(null);
	ck_assert_int_eq(vhost_user_dev_create(&d, &cfg, &mem, &hv), -ENOENT);
	ck_assert(fd_open(0));
}
END_TEST

/*
 * A config read whose GET_CONFIG breaks the main channel (here the backend
 * hangs up; a backend that never replies times out the same way) reads
 * zeros and tells the guest DEVICE_NEEDS_RESET, once.
 */
START_TEST(config_read_on_a_broken_channel)
{
	int fd = start_backend();
	struct vhost_user_cfg cfg = fd_cfg(fd, NULL);
	uint8_t c[4] = { 1, 1, 1, 1 };
	uint32_t gen;

	ck_assert_int_eq(vhost_user_dev_create(&d, &cfg, &mem, &hv), 0);
	shutdown(be_fd, SHUT_RDWR);
	pthread_join(thread, NULL);
	d.vp.ops->config_read(&d.vp, 0, c, 4);
	ck_assert_uint_eq(c[0] | c[1] | c[2] | c[3], 0);
	ck_assert(d.fe.broken);
	ck_assert(d.needs_reset);
	ck_assert(d.vp.common.status & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* A driver reading the config again gets no second config interrupt. */
	gen = d.vp.common.generation;
	d.vp.ops->config_read(&d.vp, 0, c, 4);
	ck_assert_uint_eq(d.vp.common.generation, gen);
	vhost_user_dev_destroy(&d);
}
END_TEST

static void common_w(uint64_t off, uint32_t len, uint32_t v)
{
	virtio_common_write(&d.vp.common, off, &v, len); /* little-endian host */
}

static uint32_t common_r(uint64_t off, uint32_t len)
{
	uint32_t v = 0;

	virtio_common_read(&d.vp.common, off, &v, len);
	return v;
}

/*
 * A driver that gives its rings addresses outside RAM, or misaligned ones,
 * broke its own set-up, not the backend: the device needs a reset
 * (DEVICE_NEEDS_RESET), and after one it can be set up again, the backend's
 * channel still in use.
 */
START_TEST(rings_outside_ram_need_a_reset)
{
	const uint32_t go = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	int fd = start_backend();
	struct vhost_user_cfg cfg = fd_cfg(fd, NULL);
	uint8_t c[4] = { 0 };

	ck_assert_int_eq(mem_create(&mem, 16 << 20), 0);
	ck_assert_int_eq(vhost_user_dev_create(&d, &cfg, &mem, &hv), 0);
	for (int round = 0; round < 2; round++) {
		common_w(VIRTIO_PCI_COMMON_STATUS, 1, go);
		common_w(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
		common_w(VIRTIO_PCI_COMMON_GF, 4, 1u << (VIRTIO_F_VERSION_1 - 32));
		common_w(VIRTIO_PCI_COMMON_STATUS, 1, go | VIRTIO_CONFIG_S_FEATURES_OK);
		ck_assert(common_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK);
		common_w(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
		if (round == 0) {
			common_w(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0);
			common_w(VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0x100); /* 1 TiB: past RAM */
		} else {
			/* In RAM, but the used ring misaligned: the backend would refuse it. */
			common_w(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x10000);
			common_w(VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
			common_w(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, 0x11000);
			common_w(VIRTIO_PCI_COMMON_Q_USEDLO, 4, 0x12002);
		}
		common_w(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
		common_w(VIRTIO_PCI_COMMON_STATUS, 1,
			 go | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
		ck_assert(common_r(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
		ck_assert(!vu_frontend_broken(&d.fe));
		ck_assert(!d.needs_reset);
		common_w(VIRTIO_PCI_COMMON_STATUS, 1, 0);
		ck_assert_uint_eq(common_r(VIRTIO_PCI_COMMON_STATUS, 1), 0);
	}
	/* The backend still answers: its config bytes, not zeros. */
	d.vp.ops->config_read(&d.vp, 0, c, 4);
	ck_assert_uint_eq(c[1], 1);
	ck_assert_uint_eq(c[3], 3);
	vhost_user_dev_destroy(&d); /* closes shmvm's end: the adopted backend returns */
	pthread_join(thread, NULL);
	ck_assert_int_eq(run_rc, 0);
	mem_destroy(&mem);
}
END_TEST

static Suite *vhost_user_pci_suite(void)
{
	Suite *s = suite_create("vhost_user_pci");
	TCase *tc = tcase_create("socket_fd");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, device_over_an_adopted_fd);
	tcase_add_test(tc, named_fd);
	tcase_add_test(tc, bad_fd_closed);
	tcase_add_test(tc, failed_handshake_closed);
	tcase_add_test(tc, zeroed_cfg_means_a_path);
	tcase_add_test(tc, config_read_on_a_broken_channel);
	tcase_add_test(tc, rings_outside_ram_need_a_reset);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(vhost_user_pci_suite)
