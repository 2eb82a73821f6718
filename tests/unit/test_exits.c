// SPDX-License-Identifier: GPL-2.0-only
/*
 * exit_stats_parse(): KVM's binary statistics header and descriptors
 * (struct kvm_stats_header, struct kvm_stats_desc) built by hand, well
 * formed and not: the counters found at data_offset + their offset, and
 * every way a buffer can be short or odd refused or skipped.
 */
#include <check.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/exits.h"

#include "check_main.h"

#define NAME_SIZE 48 /* KVM_STATS_NAME_SIZE */
#define DATA_OFF 0x1000

/* Built here: a header, then descriptors from desc_offset on, each NAME_SIZE of name. */
static _Alignas(8) uint8_t buf[8192];
static struct kvm_stats_header *hdr = (struct kvm_stats_header *)buf;
static size_t len; /* bytes in use */
static struct exit_stats s;

static void setup(void)
{
	memset(buf, 0, sizeof(buf));
	memset(&s, 0, sizeof(s));
	*hdr = (struct kvm_stats_header){ .name_size = NAME_SIZE, .desc_offset = sizeof(*hdr) + 16,
					  .data_offset = DATA_OFF };
	len = hdr->desc_offset;
}

static struct kvm_stats_desc *desc(uint32_t i)
{
	return (struct kvm_stats_desc *)(buf + hdr->desc_offset +
					 i * (sizeof(struct kvm_stats_desc) + hdr->name_size));
}

/* Append a descriptor; returns it for a test to spoil. */
static struct kvm_stats_desc *add(const char *name, uint32_t flags, uint16_t size, uint32_t off)
{
	struct kvm_stats_desc *d = desc(hdr->num_desc++);

	d->flags = flags;
	d->size = size;
	d->offset = off;
	strncpy(d->name, name, hdr->name_size);
	len = (size_t)((uint8_t *)d->name + hdr->name_size - buf);
	ck_assert_uint_le(len, sizeof(buf));
	return d;
}

static const uint32_t cumul = KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10;

/* What a vCPU's file looks like, roughly: other counters around ours. */
static void typical(void)
{
	add("halt_successful_poll", cumul, 1, 0);
	add("halt_poll_fail_ns", cumul, 1, 8);
	add("exits", cumul, 1, 16);
	add("io_exits", cumul, 1, 24);
	add("mmio_exits", cumul, 1, 32);
	add("halt_exits", cumul, 1, 40);
	add("irq_exits", cumul, 1, 48);
	add("irq_window_exits", cumul, 1, 56);
	add("signal_exits", cumul, 1, 64);
	add("halt_poll_success_hist", KVM_STATS_TYPE_LOG_HIST, 32, 72);
}

START_TEST(finds_every_counter)
{
	static const uint32_t want[NR_EXIT_KINDS] = {
		[EXIT_ALL] = 16, [EXIT_IO] = 24, [EXIT_MMIO] = 32, [EXIT_HALT] = 40,
		[EXIT_IRQ] = 48, [EXIT_IRQ_WINDOW] = 56, [EXIT_SIGNAL] = 64,
	};

	typical();
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), 0);
	for (int k = 0; k < NR_EXIT_KINDS; k++) {
		ck_assert_msg(s.have[k], "%s not found", exit_kind_name[k]);
		ck_assert_uint_eq(s.off[k], DATA_OFF + want[k]);
	}
}
END_TEST

/* Only "exits" is needed; the others are optional. */
START_TEST(exits_alone_is_enough)
{
	add("exits", cumul, 1, 8);
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), 0);
	ck_assert(s.have[EXIT_ALL]);
	ck_assert_uint_eq(s.off[EXIT_ALL], DATA_OFF + 8);
	for (int k = 1; k < NR_EXIT_KINDS; k++)
		ck_assert(!s.have[k]);
}
END_TEST

START_TEST(no_exits_is_enoent)
{
	add("io_exits", cumul, 1, 0);
	add("exits_total", cumul, 1, 8); /* a longer name is another counter */
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), -ENOENT);
	ck_assert(!s.have[EXIT_ALL]);
	hdr->num_desc = 0;
	ck_assert_int_eq(exit_stats_parse(&s, buf, hdr->desc_offset), -ENOENT);
}
END_TEST

/* A second parse starts from nothing: what the first found is forgotten. */
START_TEST(parse_again_forgets)
{
	typical();
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), 0);
	hdr->num_desc = 0;
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), -ENOENT);
	for (int k = 0; k < NR_EXIT_KINDS; k++)
		ck_assert(!s.have[k]);
}
END_TEST

START_TEST(truncated)
{
	typical();
	/* Shorter than the header. */
	ck_assert_int_eq(exit_stats_parse(&s, buf, 0), -EINVAL);
	ck_assert_int_eq(exit_stats_parse(&s, buf, sizeof(*hdr) - 1), -EINVAL);
	/* The last descriptor cut by one byte, and cut at its start. */
	ck_assert_int_eq(exit_stats_parse(&s, buf, len - 1), -EINVAL);
	ck_assert_int_eq(exit_stats_parse(&s, buf, len - sizeof(struct kvm_stats_desc) - NAME_SIZE),
			 -EINVAL);
	/* The whole buffer (and one more byte) is fine. */
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), 0);
	ck_assert_int_eq(exit_stats_parse(&s, buf, len + 1), 0);
}
END_TEST

/* Descriptors said to lie past the buffer, or more of them than it holds. */
START_TEST(descriptors_beyond_len)
{
	typical();
	hdr->desc_offset = (uint32_t)len;
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), -EINVAL);
	hdr->desc_offset = UINT32_MAX - 8;
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), -EINVAL);
	setup();
	typical();
	hdr->num_desc++;
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), -EINVAL);
	hdr->num_desc = UINT32_MAX;
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), -EINVAL);
}
END_TEST

START_TEST(name_size_zero_or_huge)
{
	typical();
	hdr->name_size = 0;
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), -EINVAL);
	hdr->name_size = 4097;
	ck_assert_int_eq(exit_stats_parse(&s, buf, sizeof(buf)), -EINVAL);
	hdr->name_size = UINT32_MAX;
	ck_assert_int_eq(exit_stats_parse(&s, buf, sizeof(buf)), -EINVAL);
}
END_TEST

/* The largest name size taken, with one descriptor. */
START_TEST(name_size_4096)
{
	hdr->name_size = 4096;
	add("exits", cumul, 1, 0);
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), 0);
	ck_assert_uint_eq(s.off[EXIT_ALL], DATA_OFF);
}
END_TEST

/* A name with no NUL in its name_size bytes is not read past them: skipped. */
START_TEST(name_without_nul)
{
	struct kvm_stats_desc *d;

	add("exits", cumul, 1, 0);
	d = add("io_exits", cumul, 1, 8);
	memset(d->name, 'x', NAME_SIZE);
	memcpy(d->name, "io_exits", 8); /* "io_exits" then 'x' to the end, no NUL */
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), 0);
	ck_assert(!s.have[EXIT_IO]);
	/* The same with "exits": then there is none. */
	setup();
	d = add("exits", cumul, 1, 0);
	memset(d->name + 5, 'x', NAME_SIZE - 5);
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), -ENOENT);
	/* A name that fills its bytes exactly but for the NUL is fine. */
	setup();
	hdr->name_size = 8;
	add("exits", cumul, 1, 0);
	add("io_exit", cumul, 1, 8);
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), 0);
	ck_assert(!s.have[EXIT_IO]);
}
END_TEST

/* Only cumulative counters of one u64 are ours; others by the same name are skipped. */
START_TEST(not_cumulative_or_not_one_u64)
{
	add("exits", KVM_STATS_TYPE_INSTANT, 1, 0);
	add("io_exits", KVM_STATS_TYPE_PEAK, 1, 8);
	add("mmio_exits", cumul, 2, 16);
	add("halt_exits", KVM_STATS_TYPE_LINEAR_HIST, 1, 32);
	add("irq_exits", cumul, 0, 40);
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), -ENOENT);
	for (int k = 0; k < NR_EXIT_KINDS; k++)
		ck_assert(!s.have[k]);
	/* Unit and base bits do not matter, the type does. */
	add("exits", KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS | KVM_STATS_BASE_POW2, 1, 48);
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), 0);
	ck_assert_uint_eq(s.off[EXIT_ALL], DATA_OFF + 48);
}
END_TEST

/* A counter whose file offset does not fit: refused, not wrapped. */
START_TEST(offset_overflow)
{
	hdr->data_offset = UINT32_MAX - 16;
	add("exits", cumul, 1, 9);
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), -EINVAL);
	hdr->data_offset = 16;
	desc(0)->offset = UINT32_MAX - 8;
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), -EINVAL);
	desc(0)->offset = UINT32_MAX - 24;
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), 0);
	ck_assert_uint_eq(s.off[EXIT_ALL], UINT32_MAX - 8);
}
END_TEST

/* The last of two descriptors with the same name wins (KVM has none such; no crash). */
START_TEST(duplicate_names)
{
	add("exits", cumul, 1, 0);
	add("exits", cumul, 1, 8);
	ck_assert_int_eq(exit_stats_parse(&s, buf, len), 0);
	ck_assert_uint_eq(s.off[EXIT_ALL], DATA_OFF + 8);
}
END_TEST

static Suite *exits_suite(void)
{
	Suite *su = suite_create("exits");
	TCase *tc;

	tc = tcase_create("found");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, finds_every_counter);
	tcase_add_test(tc, exits_alone_is_enough);
	tcase_add_test(tc, no_exits_is_enoent);
	tcase_add_test(tc, parse_again_forgets);
	tcase_add_test(tc, duplicate_names);
	suite_add_tcase(su, tc);

	tc = tcase_create("refused");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, truncated);
	tcase_add_test(tc, descriptors_beyond_len);
	tcase_add_test(tc, name_size_zero_or_huge);
	tcase_add_test(tc, name_size_4096);
	tcase_add_test(tc, offset_overflow);
	suite_add_tcase(su, tc);

	tc = tcase_create("skipped");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, name_without_nul);
	tcase_add_test(tc, not_cumulative_or_not_one_u64);
	suite_add_tcase(su, tc);
	return su;
}

CHECK_MAIN(exits_suite)
