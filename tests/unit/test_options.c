// SPDX-License-Identifier: GPL-2.0-only
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/options.h"

#include "check_main.h"

static struct vm_options o;
static char errbuf[512];

/* Parse a NULL-terminated list of words; the error text lands in errbuf. */
static int parse(const char *first, ...)
{
	char *argv[32] = { (char *)"shmvm" };
	int argc = 1;
	va_list ap;
	FILE *out = fopen("/dev/null", "w");
	FILE *err = fmemopen(errbuf, sizeof(errbuf), "w");
	int rc;

	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	memset(errbuf, 0, sizeof(errbuf));
	options_free(&o);
	rc = options_parse(&o, argc, argv, out, err);
	fclose(out);
	fclose(err);
	return rc;
}

START_TEST(defaults)
{
	ck_assert_int_eq(parse("--kernel", "bz", NULL), OPTIONS_RUN);
	ck_assert_str_eq(o.kernel, "bz");
	ck_assert_ptr_null(o.initrd);
	ck_assert_uint_eq(o.memory, 512ULL << 20);
	ck_assert_uint_eq(o.cpus, 1);
	ck_assert_int_eq(o.serial, SERIAL_STDIO);
	ck_assert(strstr(o.cmdline, "console=ttyS0"));
	ck_assert(!o.flat);
}
END_TEST

START_TEST(all_options)
{
	ck_assert_int_eq(parse("-k", "k", "--initrd", "i", "--cmdline", "quiet", "-m", "2G",
			       "--cpus", "4", "--serial", "file:/tmp/x", "-vv", NULL),
			 OPTIONS_RUN);
	ck_assert_str_eq(o.initrd, "i");
	ck_assert_str_eq(o.cmdline, "quiet");
	ck_assert_uint_eq(o.memory, 2ULL << 30);
	ck_assert_uint_eq(o.cpus, 4);
	ck_assert_int_eq(o.serial, SERIAL_FILE);
	ck_assert_str_eq(o.serial_path, "/tmp/x");
	ck_assert_int_eq(o.verbose, 2);
	ck_assert_int_eq(parse("--kernel=k", "--serial=none", "--memory=64M", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.serial, SERIAL_NONE);
	ck_assert_uint_eq(o.memory, 64ULL << 20);
}
END_TEST

START_TEST(errors_name_the_option)
{
	static const struct {
		const char *args[4];
		const char *needle;
	} cases[] = {
		{ { "--kernel", "k", "--memory", "lots" }, "--memory" },
		{ { "--kernel", "k", "--memory", "0" }, "--memory" },
		{ { "--kernel", "k", "--cpus", "0" }, "--cpus" },
		{ { "--kernel", "k", "--cpus", "255" }, "--cpus" },
		{ { "--kernel", "k", "--cpus", "2x" }, "--cpus" },
		{ { "--kernel", "k", "--serial", "tcp" }, "--serial" },
		{ { "--kernel", "k", "--serial", "file:" }, "--serial" },
		{ { "--kernel", "k", "--bogus", NULL }, "--bogus" },
		{ { "--kernel", "k", "stray", NULL }, "stray" },
		{ { "--initrd", "i", NULL }, "--kernel" },
		{ { "--kernel", "k", "--memory", NULL }, "--memory" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const *a = cases[i].args;

		ck_assert_int_eq(parse(a[0], a[1], a[2], a[3], NULL), -EINVAL);
		ck_assert_msg(strstr(errbuf, cases[i].needle), "case %zu: '%s' lacks '%s'", i,
			      errbuf, cases[i].needle);
		ck_assert_msg(strchr(errbuf, '\n') == errbuf + strlen(errbuf) - 1,
			      "one line: '%s'", errbuf);
	}
}
END_TEST

START_TEST(flat_excludes_initrd)
{
	ck_assert_int_eq(parse("--kernel", "k", "--flat", "--initrd", "i", NULL), -EINVAL);
	ck_assert_int_eq(parse("--kernel", "k", "--flat", NULL), OPTIONS_RUN);
	ck_assert(o.flat);
}
END_TEST

START_TEST(devices)
{
	ck_assert_int_eq(parse("-k", "k", "--device", "vhost-user,socket=/s,virtio-id=5,queues=3,queue-size=128,config-size=8",
			       "--blk", "socket=/b", "--fs", "socket=/f,queues=4", NULL),
			 OPTIONS_RUN);
	ck_assert_uint_eq(o.nr_devices, 3);
	ck_assert_str_eq(o.devices[0].socket, "/s");
	ck_assert_uint_eq(o.devices[0].virtio_id, 5);
	ck_assert_uint_eq(o.devices[0].queues, 3);
	ck_assert_uint_eq(o.devices[0].queue_size, 128);
	ck_assert_uint_eq(o.devices[0].config_size, 8);
	ck_assert_uint_eq(o.devices[1].virtio_id, 2);
	ck_assert_uint_eq(o.devices[1].queues, 1);
	ck_assert_uint_eq(o.devices[1].config_size, 60);
	ck_assert_uint_eq(o.devices[2].virtio_id, 26);
	ck_assert_uint_eq(o.devices[2].queues, 4);
	static const struct {
		const char *opt, *arg, *needle;
	} bad[] = {
		{ "--device", "vhost-user,virtio-id=2", "socket" },
		{ "--device", "vhost-user,socket=/s", "virtio-id" },
		{ "--device", "vfio,socket=/s,virtio-id=2", "vfio" },
		{ "--device", "vhost-user,socket=/s,virtio-id=2,queues=0", "queues" },
		{ "--device", "vhost-user,socket=/s,virtio-id=2,queue-size=100", "power of two" },
		{ "--device", "vhost-user,socket=/s,virtio-id=2,colour=red", "colour" },
		{ "--device", "vhost-user,socket=/s,virtio-id=2,queues", "queues" },
		{ "--blk", "socket=", "socket" },
		{ "--blk", "socket=/b,virtio-id=3", "virtio-id" },
		{ "--fs", "socket=/f,queues=1", "queues" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(parse("-k", "k", bad[i].opt, bad[i].arg, NULL), -EINVAL);
		ck_assert_msg(strstr(errbuf, bad[i].needle) && strstr(errbuf, bad[i].opt),
			      "case %zu: '%s'", i, errbuf);
	}
	options_free(&o);
}
END_TEST

START_TEST(shared_memory)
{
	ck_assert_int_eq(parse("--kernel", "bz", NULL), OPTIONS_RUN);
	ck_assert_int_eq(o.shm_strategy, SHM_STRATEGY_SLOT);
	ck_assert_ptr_null(o.api_socket);
	ck_assert_int_eq(parse("--kernel", "bz", "--shm-strategy", "window", "--api-socket", "/run/a",
			       "--device", "vhost-user,socket=s,virtio-id=26,queues=2,shm=0:1G,shm=255:4K",
			       "--fs", "socket=f,shm=0:2M", NULL),
			 OPTIONS_RUN);
	ck_assert_int_eq(o.shm_strategy, SHM_STRATEGY_WINDOW);
	ck_assert_str_eq(o.api_socket, "/run/a");
	ck_assert_uint_eq(o.devices[0].nr_shm, 2);
	ck_assert_uint_eq(o.devices[0].shm_id[0], 0);
	ck_assert_uint_eq(o.devices[0].shm_size[0], 1ULL << 30);
	ck_assert_uint_eq(o.devices[0].shm_id[1], 255);
	ck_assert_uint_eq(o.devices[0].shm_size[1], 4096);
	ck_assert_uint_eq(o.devices[1].nr_shm, 1);
	ck_assert_uint_eq(o.devices[1].shm_size[0], 2 << 20);

	static const char *const bad[][2] = {
		{ "shm=0", "not ID:SIZE" },
		{ "shm=256:4K", "region id '256'" },
		{ "shm=x:4K", "region id 'x'" },
		{ "shm=0:0", "size '0'" },
		{ "shm=0:5000", "size '5000'" },
		{ "shm=0:64G", "size '64G'" },
		{ "shm=0:4K,shm=0:8K", "region 0 given twice" },
		{ "shm=0:4K,shm=1:4K,shm=2:4K,shm=3:4K,shm=4:4K", "at most 4" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char arg[128];

		snprintf(arg, sizeof(arg), "socket=s,%s", bad[i][0]);
		ck_assert_int_eq(parse("--kernel", "bz", "--fs", arg, NULL), -EINVAL);
		ck_assert_msg(strstr(errbuf, "--fs") && strstr(errbuf, bad[i][1]), "%s: %s", bad[i][0], errbuf);
	}
	ck_assert_int_eq(parse("--kernel", "bz", "--shm-strategy", "slots", NULL), -EINVAL);
	ck_assert(strstr(errbuf, "--shm-strategy") && strstr(errbuf, "'slots'"));
	ck_assert_int_eq(parse("--kernel", "bz", "--api-socket", "", NULL), -EINVAL);
	ck_assert(strstr(errbuf, "--api-socket"));
}
END_TEST

START_TEST(help_and_version)
{
	ck_assert_int_eq(parse("--help", NULL), OPTIONS_EXIT);
	ck_assert_int_eq(parse("--version", NULL), OPTIONS_EXIT);
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, all_options);
	tcase_add_test(tc, errors_name_the_option);
	tcase_add_test(tc, flat_excludes_initrd);
	tcase_add_test(tc, devices);
	tcase_add_test(tc, shared_memory);
	tcase_add_test(tc, help_and_version);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(options_suite)
