// SPDX-License-Identifier: GPL-2.0-only
/* The shared-memory window: layout, validation, the mapping table, slots, host mappings. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_main.h"
#include "mm/shm_window.h"
#include "util/log.h"

#define NSLOTS 64
#define GPA 0x100000000ULL
#define PAGE 4096ULL

/* A fake KVM: the live slots, and a switch to make the next registration fail. */
static struct {
	bool live;
	uint32_t flags;
	uint64_t gpa, size;
	void *hva;
} kslot[NSLOTS];
static int fail_next;

static int fake_set(void *opaque, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		    void *hva)
{
	(void)opaque;
	ck_assert_uint_lt(slot, NSLOTS);
	if (size && fail_next) {
		int rc = fail_next;

		fail_next = 0;
		return rc;
	}
	if (size)
		ck_assert(!kslot[slot].live);
	else
		ck_assert(kslot[slot].live);
	kslot[slot].live = size != 0;
	kslot[slot].flags = flags;
	kslot[slot].gpa = gpa;
	kslot[slot].size = size;
	kslot[slot].hva = hva;
	return 0;
}

static const struct memslot_ops fake_ops = { .set = fake_set };
static struct memslot_table slots;
static struct shm_window w;
static int memfd;

static void setup(void)
{
	memset(kslot, 0, sizeof(kslot));
	fail_next = 0;
	ck_assert_int_eq(memslot_table_init(&slots, NSLOTS, &fake_ops, NULL), 0);
	memfd = memfd_create("shm-test", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, 16 * MiB), 0);
}

static void teardown(void)
{
	shm_window_destroy(&w);
	ck_assert_uint_eq(memslot_count(&slots), 0);
	memslot_table_destroy(&slots);
	close(memfd);
}

static void window(enum shm_strategy s, uint64_t size)
{
	uint8_t id = 0;

	ck_assert_int_eq(shm_window_init(&w, "test", s, &slots, &id, &size, 1), 0);
}

/* The protection of the host page at @p, as /proc/self/maps shows it ("rw-s"...). */
static void host_perms(const void *p, char out[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];

	ck_assert_ptr_nonnull(f);
	strcpy(out, "none");
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && (unsigned long)p >= lo &&
		    (unsigned long)p < hi) {
			memcpy(out, perms, 5);
			break;
		}
	}
	fclose(f);
}

static unsigned int live_slots_at(uint64_t gpa, uint64_t size, uint32_t flags)
{
	unsigned int n = 0;

	for (int i = 0; i < NSLOTS; i++)
		n += kslot[i].live && kslot[i].gpa == gpa && kslot[i].size == size &&
		     kslot[i].flags == flags;
	return n;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* ---- layout ---- */

START_TEST(layout_one_region)
{
	window(SHM_STRATEGY_SLOT, 6 * MiB);
	ck_assert_uint_eq(w.size, 8 * MiB); /* a power of two */
	ck_assert_uint_eq(w.regions[0].off, 0);
	ck_assert_uint_eq(w.regions[0].size, 6 * MiB);
	ck_assert_ptr_nonnull(shm_window_region(&w, 0));
	ck_assert_ptr_null(shm_window_region(&w, 1));
}
END_TEST

START_TEST(layout_regions_2mib_aligned)
{
	uint8_t ids[3] = { 7, 0, 255 };
	uint64_t sizes[3] = { PAGE, 3 * MiB, 2 * MiB };

	ck_assert_int_eq(shm_window_init(&w, "test", SHM_STRATEGY_SLOT, &slots, ids, sizes, 3), 0);
	ck_assert_uint_eq(shm_window_region(&w, 7)->off, 0);
	ck_assert_uint_eq(shm_window_region(&w, 0)->off, 2 * MiB);
	ck_assert_uint_eq(shm_window_region(&w, 255)->off, 6 * MiB);
	ck_assert_uint_eq(w.size, 8 * MiB);
}
END_TEST

START_TEST(layout_smallest)
{
	window(SHM_STRATEGY_SLOT, PAGE);
	ck_assert_uint_eq(w.size, 2 * MiB);
}
END_TEST

START_TEST(layout_largest)
{
	window(SHM_STRATEGY_SLOT, SHM_WINDOW_MAX);
	ck_assert_uint_eq(w.size, SHM_WINDOW_MAX);
}
END_TEST

START_TEST(layout_rejects)
{
	uint8_t ids[5] = { 0, 1, 2, 3, 4 }, dup[2] = { 3, 3 };
	uint64_t ok[5] = { PAGE, PAGE, PAGE, PAGE, PAGE };
	uint64_t bad[][1] = { { 0 }, { PAGE + 1 }, { 100 }, { SHM_WINDOW_MAX + PAGE }, { UINT64_MAX } };
	uint64_t two[2] = { SHM_WINDOW_MAX - PAGE, PAGE }; /* fits alone, not after 2 MiB alignment */

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_int_eq(shm_window_init(&w, "test", SHM_STRATEGY_SLOT, &slots, ids, bad[i], 1),
				 -EINVAL);
	ck_assert_int_eq(shm_window_init(&w, "test", SHM_STRATEGY_SLOT, &slots, ids, ok, 0), -EINVAL);
	ck_assert_int_eq(shm_window_init(&w, "test", SHM_STRATEGY_SLOT, &slots, ids, ok, 5), -EINVAL);
	ck_assert_int_eq(shm_window_init(&w, "test", SHM_STRATEGY_SLOT, &slots, dup, ok, 2), -EINVAL);
	ck_assert_int_eq(shm_window_init(&w, "test", SHM_STRATEGY_SLOT, &slots, ids, two, 2), -EINVAL);
	ck_assert_ptr_null(w.hva);
}
END_TEST

START_TEST(strategy_names)
{
	enum shm_strategy s;

	ck_assert_int_eq(shm_strategy_parse("slot", &s), 0);
	ck_assert_int_eq(s, SHM_STRATEGY_SLOT);
	ck_assert_int_eq(shm_strategy_parse("window", &s), 0);
	ck_assert_int_eq(s, SHM_STRATEGY_WINDOW);
	ck_assert_int_eq(shm_strategy_parse("Slot", &s), -EINVAL);
	ck_assert_int_eq(shm_strategy_parse("", &s), -EINVAL);
	ck_assert_str_eq(shm_strategy_name(SHM_STRATEGY_WINDOW), "window");
}
END_TEST

/* ---- validation, with boundaries ---- */

static int map(uint64_t off, uint64_t len, uint64_t fd_off, uint32_t flags)
{
	return shm_window_map(&w, 0, off, len, memfd, fd_off, flags);
}

START_TEST(map_first_and_last_page)
{
	window(SHM_STRATEGY_SLOT, 4 * MiB);
	ck_assert_int_eq(map(0, PAGE, 0, SHM_MAP_F_RW), 0);
	ck_assert_int_eq(map(4 * MiB - PAGE, PAGE, 0, SHM_MAP_F_RW), 0);
	ck_assert_uint_eq(shm_window_count(&w), 2);
	ck_assert_int_eq(map(4 * MiB, PAGE, 0, SHM_MAP_F_RW), -ERANGE);
	ck_assert_int_eq(map(4 * MiB - PAGE, 2 * PAGE, 0, SHM_MAP_F_RW), -ERANGE);
	ck_assert_uint_eq(shm_window_stats(&w).refused_maps, 2);
}
END_TEST

START_TEST(map_exact_fit)
{
	window(SHM_STRATEGY_SLOT, 4 * MiB);
	ck_assert_int_eq(map(0, 4 * MiB + PAGE, 0, 0), -ERANGE);
	ck_assert_int_eq(map(0, 4 * MiB, 0, 0), 0);
	ck_assert_int_eq(map(0, PAGE, 0, 0), -EEXIST);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 0, 4 * MiB), 0);
}
END_TEST

START_TEST(map_overlap_off_by_one_page)
{
	window(SHM_STRATEGY_SLOT, 4 * MiB);
	ck_assert_int_eq(map(8 * PAGE, 4 * PAGE, 0, 0), 0); /* [8, 12) */
	ck_assert_int_eq(map(4 * PAGE, 5 * PAGE, 0, 0), -EEXIST); /* [4, 9) */
	ck_assert_int_eq(map(11 * PAGE, 1 * PAGE, 0, 0), -EEXIST); /* [11, 12) */
	ck_assert_int_eq(map(9 * PAGE, 1 * PAGE, 0, 0), -EEXIST);  /* inside */
	ck_assert_int_eq(map(0, 64 * PAGE, 0, 0), -EEXIST);        /* around */
	ck_assert_int_eq(map(4 * PAGE, 4 * PAGE, 0, 0), 0);         /* [4, 8): adjacent below */
	ck_assert_int_eq(map(12 * PAGE, 4 * PAGE, 0, 0), 0);        /* [12, 16): adjacent above */
	ck_assert_uint_eq(shm_window_count(&w), 3);
	/* Sorted table: the middle one goes, its neighbours stay. */
	ck_assert_int_eq(shm_window_unmap(&w, 0, 8 * PAGE, 4 * PAGE), 0);
	ck_assert_int_eq(map(8 * PAGE, 4 * PAGE, 0, 0), 0);
}
END_TEST

START_TEST(map_zero_and_unaligned)
{
	window(SHM_STRATEGY_SLOT, 4 * MiB);
	ck_assert_int_eq(map(0, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(map(1, PAGE, 0, 0), -EINVAL);
	ck_assert_int_eq(map(0, PAGE - 1, 0, 0), -EINVAL);
	ck_assert_int_eq(map(0, PAGE, 512, 0), -EINVAL);
	ck_assert_uint_eq(shm_window_stats(&w).refused_maps, 4);
	ck_assert_uint_eq(shm_window_count(&w), 0);
}
END_TEST

START_TEST(map_overflow)
{
	window(SHM_STRATEGY_SLOT, 4 * MiB);
	ck_assert_int_eq(map(UINT64_MAX - PAGE + 1, 2 * PAGE, 0, 0), -EOVERFLOW);
	ck_assert_int_eq(map(0, 2 * PAGE, UINT64_MAX - PAGE + 1, 0), -EOVERFLOW);
	ck_assert_int_eq(map(0, PAGE, 1ULL << 63, 0), -EOVERFLOW); /* not an off_t */
	ck_assert_int_eq(map(UINT64_MAX - 2 * PAGE + 1, PAGE, 0, 0), -ERANGE);
}
END_TEST

START_TEST(map_bad_region_flags_fd)
{
	window(SHM_STRATEGY_SLOT, 4 * MiB);
	ck_assert_int_eq(shm_window_map(&w, 1, 0, PAGE, memfd, 0, 0), -EINVAL);
	ck_assert_int_eq(map(0, PAGE, 0, 2), -EINVAL);
	ck_assert_int_eq(map(0, PAGE, 0, 0x80000000u), -EINVAL);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, PAGE, -1, 0, 0), -EBADF);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, PAGE, 1000, 0, 0), -EBADF);
	ck_assert_uint_eq(shm_window_count(&w), 0);
}
END_TEST

/* What mmap refuses is refused, and the reserved range is as it was. */
START_TEST(map_mmap_refusal_leaves_nothing)
{
	int ro, pipefd[2];
	char perms[5];

	window(SHM_STRATEGY_SLOT, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ro = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(ro, 0);
	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, PAGE, ro, 0, SHM_MAP_F_RW), -EACCES);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, PAGE, pipefd[0], 0, 0), -ENODEV);
	host_perms(w.hva, perms);
	ck_assert_str_eq(perms, "---p");
	ck_assert_uint_eq(memslot_count(&slots), 0);
	ck_assert_uint_eq(shm_window_count(&w), 0);
	/* A read-only mapping of a read-only file is fine. */
	ck_assert_int_eq(shm_window_map(&w, 0, 0, PAGE, ro, 0, 0), 0);
	ck_assert_uint_eq(memcmp(w.hva + 1, "ELF", 3), 0);
	close(ro);
	close(pipefd[0]);
	close(pipefd[1]);
}
END_TEST

START_TEST(map_slot_refusal_leaves_nothing)
{
	char perms[5];

	window(SHM_STRATEGY_SLOT, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	fail_next = -ENOSPC;
	ck_assert_int_eq(map(0, PAGE, 0, SHM_MAP_F_RW), -ENOSPC);
	host_perms(w.hva, perms);
	ck_assert_str_eq(perms, "---p");
	ck_assert_uint_eq(shm_window_count(&w), 0);
	ck_assert_int_eq(map(0, PAGE, 0, SHM_MAP_F_RW), 0);
}
END_TEST

/* ---- data, slots and strategies ---- */

START_TEST(slot_data_both_ways)
{
	char buf[8] = { 0 }, perms[5];

	window(SHM_STRATEGY_SLOT, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_int_eq(pwrite(memfd, "backend", 8, 3 * PAGE), 8);
	ck_assert_int_eq(map(2 * MiB, 2 * PAGE, 2 * PAGE, SHM_MAP_F_RW), 0);
	ck_assert_str_eq((char *)w.hva + 2 * MiB + PAGE, "backend");
	memcpy(w.hva + 2 * MiB, "guest", 6);
	ck_assert_int_eq(pread(memfd, buf, 6, 2 * PAGE), 6);
	ck_assert_str_eq(buf, "guest");
	ck_assert_uint_eq(live_slots_at(GPA + 2 * MiB, 2 * PAGE, 0), 1);
	host_perms(w.hva + 2 * MiB, perms);
	ck_assert_str_eq(perms, "rw-s");

	ck_assert_int_eq(map(0, PAGE, 0, 0), 0);
	ck_assert_uint_eq(live_slots_at(GPA, PAGE, MEMSLOT_F_READONLY), 1);
	host_perms(w.hva, perms);
	ck_assert_str_eq(perms, "r--s");
	ck_assert_uint_eq(memslot_count(&slots), 2);

	ck_assert_int_eq(shm_window_unmap(&w, 0, 2 * MiB, 2 * PAGE), 0);
	host_perms(w.hva + 2 * MiB, perms);
	ck_assert_str_eq(perms, "---p");
	ck_assert_uint_eq(memslot_count(&slots), 1);
	ck_assert_uint_eq(shm_window_unmap_all(&w), 1);
	ck_assert_uint_eq(memslot_count(&slots), 0);
	ck_assert_uint_eq(shm_window_stats(&w).maps, 2);
	ck_assert_uint_eq(shm_window_stats(&w).unmaps, 1);
}
END_TEST

START_TEST(slot_follows_window_moves)
{
	struct stat st;

	window(SHM_STRATEGY_SLOT, 4 * MiB);
	ck_assert_int_eq(map(PAGE, PAGE, 0, SHM_MAP_F_RW), 0); /* not in the guest yet: no slot */
	ck_assert_uint_eq(memslot_count(&slots), 0);
	ck_assert_uint_eq(w.maps[0].slot, SHM_NO_SLOT);
	ck_assert_int_eq(fstat(memfd, &st), 0);
	ck_assert_uint_eq(w.maps[0].ino, st.st_ino);
	ck_assert_uint_eq(w.maps[0].dev, st.st_dev);
	shm_window_set_gpa(&w, GPA);
	ck_assert_uint_eq(live_slots_at(GPA + PAGE, PAGE, 0), 1);
	shm_window_set_gpa(&w, 2 * GPA);
	ck_assert_uint_eq(live_slots_at(GPA + PAGE, PAGE, 0), 0);
	ck_assert_uint_eq(live_slots_at(2 * GPA + PAGE, PAGE, 0), 1);
	shm_window_set_gpa(&w, SHM_GPA_NONE);
	ck_assert_uint_eq(memslot_count(&slots), 0);
	ck_assert_uint_eq(shm_window_count(&w), 1);
	shm_window_set_gpa(&w, GPA);
	ck_assert_uint_eq(live_slots_at(GPA + PAGE, PAGE, 0), 1);
}
END_TEST

static unsigned int log_lines;

static void count_lines(enum log_level level, const char *msg, void *opaque)
{
	(void)level, (void)msg, (void)opaque;
	log_lines++;
}

/*
 * A hostile guest moves the BAR over RAM (KVM refuses the slots) and back,
 * a hundred times: each move back restores the slots, and the log stays a
 * few lines (tests/boot/hostile-guest.sh does this to a live VM).
 */
START_TEST(refused_moves_log_bounded)
{
	enum shm_strategy s = _i ? SHM_STRATEGY_WINDOW : SHM_STRATEGY_SLOT;

	window(s, 4 * MiB);
	ck_assert_int_eq(map(0, PAGE, 0, SHM_MAP_F_RW), 0);
	ck_assert_int_eq(map(2 * PAGE, PAGE, 0, 0), 0);
	shm_window_set_gpa(&w, GPA);
	log_lines = 0;
	log_set_sink(count_lines, NULL);
	for (int i = 0; i < 100; i++) {
		fail_next = -EEXIST; /* the first slot at the new place: as over RAM */
		shm_window_set_gpa(&w, 2 * GPA);
		shm_window_set_gpa(&w, GPA);
	}
	log_set_sink(NULL, NULL);
	ck_assert_uint_le(log_lines, 12); /* one burst, then a summary at most */
	if (s == SHM_STRATEGY_SLOT) {
		ck_assert_uint_eq(live_slots_at(GPA, PAGE, 0), 1);
		ck_assert_uint_eq(live_slots_at(GPA + 2 * PAGE, PAGE, MEMSLOT_F_READONLY), 1);
		ck_assert_uint_eq(memslot_count(&slots), 2);
	} else {
		ck_assert_uint_eq(live_slots_at(GPA, 4 * MiB, 0), 1);
		ck_assert_uint_eq(memslot_count(&slots), 1);
	}
	ck_assert_uint_eq(shm_window_count(&w), 2);
}
END_TEST

START_TEST(window_one_slot)
{
	char perms[5];

	window(SHM_STRATEGY_WINDOW, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_uint_eq(live_slots_at(GPA, 4 * MiB, 0), 1);
	ck_assert_int_eq(map(0, PAGE, 0, SHM_MAP_F_RW), 0);
	ck_assert_int_eq(map(PAGE, PAGE, 0, 0), 0);
	ck_assert_uint_eq(memslot_count(&slots), 1);
	ck_assert_uint_eq(w.maps[0].slot, SHM_NO_SLOT);
	/* Holes are private zeros the guest may write (KVM cannot exit there). */
	host_perms(w.hva + 2 * PAGE, perms);
	ck_assert_str_eq(perms, "rw-p");
	ck_assert_uint_eq(w.hva[2 * PAGE], 0);
	/* A read-only mapping: guest writes stay private, the file never changes. */
	ck_assert_int_eq(pwrite(memfd, "file", 5, 0), 5);
	memcpy(w.hva + PAGE, "GUEST", 6);
	{
		char buf[6] = { 0 };

		ck_assert_int_eq(pread(memfd, buf, 5, 0), 5);
		ck_assert_str_eq(buf, "file");
	}
	ck_assert_str_eq((char *)w.hva, "file"); /* the writable mapping shows the file */
	ck_assert_int_eq(shm_window_unmap(&w, 0, PAGE, PAGE), 0);
	ck_assert_uint_eq(w.hva[PAGE], 0); /* back to zeros */
	shm_window_set_gpa(&w, 2 * GPA);
	ck_assert_uint_eq(live_slots_at(2 * GPA, 4 * MiB, 0), 1);
	ck_assert_uint_eq(memslot_count(&slots), 1);
}
END_TEST

START_TEST(unmap_exact_only)
{
	window(SHM_STRATEGY_SLOT, 4 * MiB);
	ck_assert_int_eq(map(4 * PAGE, 4 * PAGE, 0, 0), 0);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 4 * PAGE, 2 * PAGE), -ENOENT);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 4 * PAGE, 5 * PAGE), -ENOENT);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 3 * PAGE, 4 * PAGE), -ENOENT);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 5 * PAGE, 4 * PAGE), -ENOENT);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(shm_window_unmap(&w, 1, 4 * PAGE, 4 * PAGE), -EINVAL);
	ck_assert_int_eq(shm_window_unmap(&w, 0, UINT64_MAX - PAGE + 1, 2 * PAGE), -EINVAL);
	ck_assert_uint_eq(shm_window_stats(&w).refused_unmaps, 7);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 4 * PAGE, 4 * PAGE), 0);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 4 * PAGE, 4 * PAGE), -ENOENT);
}
END_TEST

START_TEST(access_holes_and_readonly)
{
	uint64_t v = ~0ULL;

	window(SHM_STRATEGY_SLOT, 4 * MiB);
	ck_assert_int_eq(map(0, PAGE, 0, 0), 0);
	shm_window_access(&w, 2 * PAGE, &v, 8, false);
	ck_assert_uint_eq(v, 0);
	shm_window_access(&w, 2 * PAGE, &v, 8, true);
	shm_window_access(&w, 8, &v, 8, true);
	ck_assert_uint_eq(shm_window_stats(&w).hole_reads, 1);
	ck_assert_uint_eq(shm_window_stats(&w).hole_writes, 1);
	ck_assert_uint_eq(shm_window_stats(&w).ro_writes, 1);
}
END_TEST

START_TEST(many_cycles_leave_nothing)
{
	int fds;

	window(SHM_STRATEGY_SLOT, 64 * MiB);
	fds = count_fds(); /* the window's own: its inotify instance */
	shm_window_set_gpa(&w, GPA);
	for (unsigned int i = 0; i < 2000; i++) {
		uint64_t off = (i * 7 % 1000) * PAGE * 16;

		ck_assert_int_eq(map(off, 16 * PAGE, 0, i & 1), 0);
		if (i % 3 == 0)
			ck_assert_int_eq(shm_window_unmap(&w, 0, off, 16 * PAGE), 0);
		else
			ck_assert_uint_eq(shm_window_unmap_all(&w), 1);
	}
	ck_assert_uint_eq(shm_window_count(&w), 0);
	ck_assert_uint_eq(memslot_count(&slots), 0);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* shm_window_for_each()'s offsets, in its order, into offs[]; how many. */
static uint64_t walked[2048];
static size_t nr_walked;

static void collect(const struct shm_mapping *m, void *opaque)
{
	(void)opaque;
	ck_assert_uint_lt(nr_walked, 2048);
	walked[nr_walked++] = m->off;
}

/* The live mappings walk in order of offset: exactly the pieces @live says are mapped. */
static void assert_walk(const bool *live, size_t n)
{
	size_t k = 0;

	nr_walked = 0;
	shm_window_for_each(&w, collect, NULL);
	for (size_t i = 0; i < n; i++)
		if (live[i]) {
			ck_assert_uint_lt(k, nr_walked);
			ck_assert_uint_eq(walked[k++], i * 2 * PAGE);
		}
	ck_assert_uint_eq(k, nr_walked);
	ck_assert_uint_eq(nr_walked, shm_window_count(&w));
}

/*
 * Many live mappings, made and dropped in scrambled orders: every lookup
 * finds its entry (overlaps refused, only whole mappings unmapped), and the
 * index walks them in order of offset.
 */
START_TEST(many_live_mappings)
{
	static bool live[1000];
	uint32_t x = 12345;

	memset(live, 0, sizeof(live));
	window(SHM_STRATEGY_WINDOW, 64 * MiB);
	for (unsigned int i = 0; i < 1000; i++) {
		unsigned int k = (i * 389) % 1000;

		ck_assert_int_eq(map(k * 2 * PAGE, PAGE, 0, 0), 0);
		live[k] = true;
	}
	assert_walk(live, 1000);
	ck_assert_int_eq(map(500 * 2 * PAGE, PAGE, 0, 0), -EEXIST);
	ck_assert_int_eq(map(499 * 2 * PAGE + PAGE, 2 * PAGE, 0, 0), -EEXIST);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 500 * 2 * PAGE, 2 * PAGE), -ENOENT);
	/* 20,000 random maps and unmaps against a model of which pieces are live. */
	for (unsigned int i = 0; i < 20000; i++) {
		unsigned int k;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		k = x % 1000;
		if (x & 0x80000000) {
			ck_assert_int_eq(map(k * 2 * PAGE, PAGE, 0, 0), live[k] ? -EEXIST : 0);
			live[k] = true;
		} else {
			ck_assert_int_eq(shm_window_unmap(&w, 0, k * 2 * PAGE, PAGE), live[k] ? 0 : -ENOENT);
			live[k] = false;
		}
	}
	assert_walk(live, 1000);
	nr_walked = 0;
	for (unsigned int k = 0; k < 1000; k++)
		nr_walked += live[k];
	ck_assert_uint_eq(shm_window_unmap_all(&w), nr_walked);
	memset(live, 0, sizeof(live));
	assert_walk(live, 1000);
	ck_assert_int_eq(map(0, PAGE, 0, 0), 0);
}
END_TEST

/* ---- pages past a file's end: holds, zeros, given back ---- */

/*
 * A file of @pages pages, every byte of page i being 'a' + i: a regular
 * file, since writes to a memfd raise no inotify event on recent kernels.
 */
static int small_file(unsigned int pages)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	for (unsigned int i = 0; i < pages; i++) {
		char buf[PAGE];

		memset(buf, 'a' + (int)i, sizeof(buf));
		ck_assert_int_eq(pwrite(fd, buf, sizeof(buf), (off_t)(i * PAGE)), (ssize_t)PAGE);
	}
	return fd;
}

static bool all_bytes(const uint8_t *p, uint8_t v, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Page @i of the window is still file @fd's page @fd_page: both ways, with a fresh byte. */
static void assert_shared(int fd, uint64_t i, uint64_t fd_page)
{
	uint8_t *p = w.hva + i * PAGE, b = 0;

	ck_assert_int_eq(pwrite(fd, "F", 1, (off_t)(fd_page * PAGE + 7)), 1);
	ck_assert_uint_eq(p[7], 'F');
	p[9] = 'G';
	ck_assert_int_eq(pread(fd, &b, 1, (off_t)(fd_page * PAGE + 9)), 1);
	ck_assert_uint_eq(b, 'G');
}

static off_t file_size(int fd)
{
	struct stat st;

	ck_assert_int_eq(fstat(fd, &st), 0);
	return st.st_size;
}

/* What the VMM does for a KVM_RUN that failed with EFAULT (vm_shm_repair()), for one window: pages zeroed. */
static size_t repair(void)
{
	if (shm_window_refresh(&w))
		return 0; /* pages given back: the guest runs again first */
	return shm_window_zero_hold(&w, shm_window_newest_hold(&w));
}

/* Window pages [@from, @to) have host permissions @want. */
static void assert_perms(uint64_t from, uint64_t to, const char *want)
{
	char perms[5];

	for (uint64_t i = from; i < to; i++) {
		host_perms(w.hva + i * PAGE, perms);
		ck_assert_msg(!strcmp(perms, want), "window page %llu is %s, expected %s",
			      (unsigned long long)i, perms, want);
	}
}

/*
 * A mapping of 2 pages over a 1-page file: the second page is held from the
 * map on (a guest access there fails KVM_RUN, it never hangs), and a repair
 * makes it zeros; the first stays the file's.
 */
START_TEST(eof_mapping_longer_than_file)
{
	enum shm_strategy s = (enum shm_strategy)_i;
	int fd = small_file(1);
	uint8_t *p1;
	char perms[5], buf[PAGE], want[PAGE];

	window(s, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_int_eq(shm_window_map(&w, 0, 4 * PAGE, 2 * PAGE, fd, 0, SHM_MAP_F_RW), 0);
	p1 = w.hva + 5 * PAGE;
	assert_perms(5, 6, "---s");
	ck_assert_uint_eq(shm_window_stats(&w).eof_held, 1);
	ck_assert_uint_eq(shm_window_stats(&w).eof_pages, 0);
	ck_assert_uint_eq(repair(), 1);
	ck_assert_uint_eq(shm_window_stats(&w).eof_pages, 1);
	/* Page 0 is still the file's. */
	ck_assert(all_bytes(w.hva + 4 * PAGE, 'a', PAGE));
	assert_shared(fd, 4, 0);
	host_perms(w.hva + 4 * PAGE, perms);
	ck_assert_str_eq(perms, "rw-s");
	/* Page 1: private zeros the guest may write, never reaching the file. */
	host_perms(p1, perms);
	ck_assert_str_eq(perms, "rw-p");
	ck_assert(all_bytes(p1, 0, PAGE));
	memset(p1, 'Z', PAGE);
	ck_assert(all_bytes(p1, 'Z', PAGE));
	ck_assert_int_eq(file_size(fd), (off_t)PAGE);
	memset(want, 'a', sizeof(want));
	want[7] = 'F';
	want[9] = 'G';
	ck_assert_int_eq(pread(fd, buf, sizeof(buf), 0), (ssize_t)PAGE);
	ck_assert_int_eq(memcmp(buf, want, PAGE), 0);
	/* Once zeroed, nothing is held: a second repair finds nothing. */
	ck_assert_uint_eq(shm_window_newest_hold(&w), 0);
	ck_assert_uint_eq(repair(), 0);
	ck_assert_uint_eq(shm_window_stats(&w).eof_pages, 1);
	/* The mapping stays as it was mapped, slot included. */
	ck_assert_uint_eq(shm_window_count(&w), 1);
	ck_assert_uint_eq(w.maps[0].len, 2 * PAGE);
	if (s == SHM_STRATEGY_SLOT)
		ck_assert_uint_eq(live_slots_at(GPA + 4 * PAGE, 2 * PAGE, 0), 1);
	close(fd);
}
END_TEST

/* An unmap of a repaired mapping puts the reservation back over all of it and drops the slot. */
START_TEST(eof_repaired_then_unmapped)
{
	enum shm_strategy s = (enum shm_strategy)_i;
	int fd = small_file(1);
	const char *reserved = s == SHM_STRATEGY_SLOT ? "---p" : "rw-p";

	window(s, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_int_eq(shm_window_map(&w, 0, 4 * PAGE, 3 * PAGE, fd, 0, SHM_MAP_F_RW), 0);
	ck_assert_uint_eq(repair(), 2);
	memset(w.hva + 5 * PAGE, 'Z', 2 * PAGE);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 4 * PAGE, 3 * PAGE), 0);
	assert_perms(4, 7, reserved);
	if (s == SHM_STRATEGY_WINDOW)
		ck_assert(all_bytes(w.hva + 4 * PAGE, 0, 3 * PAGE)); /* fresh zeros */
	ck_assert_uint_eq(shm_window_count(&w), 0);
	ck_assert_uint_eq(memslot_count(&slots), s == SHM_STRATEGY_SLOT ? 0 : 1);
	ck_assert_uint_eq(repair(), 0);
	/* The range maps again like any other. */
	ck_assert_int_eq(shm_window_map(&w, 0, 4 * PAGE, PAGE, fd, 0, SHM_MAP_F_RW), 0);
	assert_shared(fd, 4, 0);
	close(fd);
}
END_TEST

/*
 * Files truncated to 0 under live mappings, one read-write and one read-only:
 * every page is held, then zeroed one hold per repair, newest first,
 * readable, writable as the guest could write it.
 */
START_TEST(eof_truncated_to_zero)
{
	enum shm_strategy s = (enum shm_strategy)_i;
	int fd = small_file(4);
	char perms[5];

	window(s, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, 4 * PAGE, fd, 0, SHM_MAP_F_RW), 0);
	ck_assert_int_eq(shm_window_map(&w, 0, 2 * MiB, 3 * PAGE, fd, PAGE, 0), 0);
	/* Populated before the truncation, as a guest would have them. */
	ck_assert(all_bytes(w.hva + 3 * PAGE, 'd', PAGE));
	ck_assert(all_bytes(w.hva + 2 * MiB, 'b', PAGE));
	ck_assert_uint_eq(repair(), 0);
	ck_assert_int_eq(ftruncate(fd, 0), 0);
	/* Both held at once (one event); the read-only one, held last, goes first. */
	ck_assert_uint_eq(repair(), 3);
	assert_perms(0, 4, "---s");
	ck_assert_uint_eq(repair(), 4);
	ck_assert_uint_eq(shm_window_stats(&w).eof_held, 7);
	ck_assert_uint_eq(shm_window_stats(&w).eof_pages, 7);
	ck_assert(all_bytes(w.hva, 0, 4 * PAGE));
	ck_assert(all_bytes(w.hva + 2 * MiB, 0, 3 * PAGE));
	host_perms(w.hva, perms);
	ck_assert_str_eq(perms, "rw-p");
	memset(w.hva, 'Z', 4 * PAGE);
	/* Slot: a read-only mapping's slot is read-only, so are its zeros; window: all writable. */
	host_perms(w.hva + 2 * MiB, perms);
	ck_assert_str_eq(perms, s == SHM_STRATEGY_SLOT ? "r--p" : "rw-p");
	if (s == SHM_STRATEGY_WINDOW)
		memset(w.hva + 2 * MiB, 'Z', 3 * PAGE);
	else
		ck_assert_uint_eq(live_slots_at(GPA + 2 * MiB, 3 * PAGE, MEMSLOT_F_READONLY), 1);
	ck_assert_int_eq(file_size(fd), 0);
	ck_assert_uint_eq(repair(), 0);
	close(fd);
}
END_TEST

/* Healthy mappings, one ending exactly at the file's end: nothing held, still the file's. */
START_TEST(eof_healthy_untouched)
{
	enum shm_strategy s = (enum shm_strategy)_i;
	int fd = small_file(4);
	char perms[5];

	window(s, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_uint_eq(repair(), 0); /* no mappings */
	ck_assert_int_eq(shm_window_map(&w, 0, 0, 4 * PAGE, fd, 0, SHM_MAP_F_RW), 0);
	ck_assert_int_eq(shm_window_map(&w, 0, 1 * MiB, 2 * PAGE, fd, 2 * PAGE, SHM_MAP_F_RW), 0);
	ck_assert_uint_eq(repair(), 0);
	ck_assert_uint_eq(shm_window_stats(&w).eof_held, 0);
	ck_assert_uint_eq(shm_window_stats(&w).eof_pages, 0);
	for (uint64_t i = 0; i < 4; i++) {
		host_perms(w.hva + i * PAGE, perms);
		ck_assert_str_eq(perms, "rw-s");
		assert_shared(fd, i, i);
	}
	assert_shared(fd, 1 * MiB / PAGE + 1, 3);
	ck_assert_int_eq(file_size(fd), (off_t)(4 * PAGE));
	close(fd);
}
END_TEST

/*
 * A long mapping at a file offset, its file cut twice: each hold starts
 * exactly at the new end (the binary search), the second repair zeros only
 * what the first left.
 */
START_TEST(eof_exact_boundary)
{
	enum shm_strategy s = (enum shm_strategy)_i;
	int fd = small_file(40);

	window(s, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	/* File pages [8, 72) at window page 0: the file ends at mapping page 32. */
	ck_assert_int_eq(shm_window_map(&w, 0, 0, 64 * PAGE, fd, 8 * PAGE, SHM_MAP_F_RW), 0);
	assert_perms(31, 32, "rw-s");
	assert_perms(32, 64, "---s");
	ck_assert_uint_eq(repair(), 32);
	assert_shared(fd, 31, 39);
	ck_assert(all_bytes(w.hva + 32 * PAGE, 0, 32 * PAGE));
	/* Cut to 8 + 13 pages: mapping pages [13, 32) go too. */
	ck_assert_int_eq(ftruncate(fd, 21 * PAGE), 0);
	ck_assert_uint_eq(repair(), 19);
	assert_shared(fd, 12, 20);
	ck_assert(all_bytes(w.hva + 13 * PAGE, 0, 19 * PAGE));
	ck_assert_uint_eq(shm_window_stats(&w).eof_pages, 51);
	ck_assert_int_eq(file_size(fd), (off_t)(21 * PAGE));
	/* A file whose end is inside a page: that page is the file's (zeros past the end). */
	ck_assert_int_eq(ftruncate(fd, 16 * PAGE + 100), 0);
	ck_assert_uint_eq(repair(), 4);
	assert_shared(fd, 8, 16);
	close(fd);
}
END_TEST

/* Watches on the window's inotify instance (its fdinfo lists one "inotify wd:" line each). */
static int live_watches(void)
{
	char path[64], line[256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", shm_window_watch_fd(&w));
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		n += !strncmp(line, "inotify wd:", 11);
	fclose(f);
	return n;
}

/*
 * A file cut by someone else is held when that happens, through the watch,
 * before any guest access: the path Linux guests need (their faults past the
 * end never reach userspace as EFAULT while the page is readable). A write
 * is an event too, and changes nothing.
 */
START_TEST(eof_held_when_the_file_is_cut)
{
	enum shm_strategy s = (enum shm_strategy)_i;
	int fd = small_file(4);
	char buf[PAGE];

	window(s, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_int_ge(shm_window_watch_fd(&w), 0);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, 4 * PAGE, fd, 0, SHM_MAP_F_RW), 0);
	ck_assert_uint_eq(shm_window_files_changed(&w), 0); /* no event yet */
	memset(buf, 'x', sizeof(buf));
	ck_assert_int_eq(pwrite(fd, buf, sizeof(buf), 3 * PAGE), (ssize_t)PAGE);
	ck_assert_uint_eq(shm_window_files_changed(&w), 0); /* an event, nothing past the end */
	ck_assert(all_bytes(w.hva + 3 * PAGE, 'x', PAGE));
	ck_assert_int_eq(ftruncate(fd, PAGE), 0);
	ck_assert_uint_eq(shm_window_files_changed(&w), 3);
	ck_assert_uint_eq(shm_window_stats(&w).eof_held, 3);
	ck_assert_uint_eq(shm_window_stats(&w).eof_pages, 0);
	ck_assert(all_bytes(w.hva, 'a', PAGE));
	assert_perms(1, 4, "---s");
	ck_assert_uint_eq(shm_window_files_changed(&w), 0); /* events read, nothing left to do */
	/* The guest touches a held page: KVM_RUN fails, the repair gives zeros. */
	ck_assert_uint_eq(repair(), 3);
	ck_assert(all_bytes(w.hva + PAGE, 0, 3 * PAGE));
	close(fd);
}
END_TEST

/*
 * The race of the nested DAX test: a file cut before it is mapped, by a guest
 * that still believes the old size. The map itself holds what lies past the
 * end (no event will come: the cut came first), so the guest's access fails
 * KVM_RUN instead of hanging its vCPU; the repair gives zeros.
 */
START_TEST(eof_cut_before_the_map)
{
	enum shm_strategy s = (enum shm_strategy)_i;
	int fd = small_file(16);

	window(s, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_int_eq(ftruncate(fd, PAGE), 0);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, 16 * PAGE, fd, 0, SHM_MAP_F_RW), 0);
	assert_perms(0, 1, "rw-s");
	assert_perms(1, 16, "---s");
	ck_assert_uint_eq(shm_window_files_changed(&w), 0);
	ck_assert_uint_eq(repair(), 15);
	ck_assert(all_bytes(w.hva + PAGE, 0, 15 * PAGE));
	assert_shared(fd, 0, 0);
	/* A mapping wholly past the end, at a file offset: all of it is held. */
	ck_assert_int_eq(shm_window_map(&w, 0, 1 * MiB, 2 * PAGE, fd, 4 * PAGE, 0), 0);
	/* (Window strategy: a read-only mapping is a private copy.) */
	assert_perms(1 * MiB / PAGE, 1 * MiB / PAGE + 2, s == SHM_STRATEGY_SLOT ? "---s" : "---p");
	ck_assert_uint_eq(shm_window_stats(&w).eof_held, 17);
	close(fd);
}
END_TEST

/*
 * A small file grows over its held pages (the guest extends it through the
 * backend, or a host process appends): they are the file's again, with its
 * data, not zeros. The repair of a KVM_RUN that failed before the event was
 * read gives them back too, and zeros nothing.
 */
START_TEST(eof_held_pages_given_back)
{
	enum shm_strategy s = (enum shm_strategy)_i;
	int fd = small_file(1), other = small_file(1);
	char buf[3 * PAGE];

	window(s, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, 8 * PAGE, fd, 0, SHM_MAP_F_RW), 0);
	ck_assert_int_eq(shm_window_map(&w, 0, 1 * MiB, 2 * PAGE, other, 0, SHM_MAP_F_RW), 0);
	ck_assert_uint_eq(shm_window_stats(&w).eof_held, 8);
	memset(buf, 'q', sizeof(buf));
	ck_assert_int_eq(pwrite(fd, buf, sizeof(buf), PAGE), (ssize_t)sizeof(buf));
	ck_assert_uint_eq(shm_window_files_changed(&w), 3);
	ck_assert_uint_eq(shm_window_stats(&w).eof_released, 3);
	ck_assert(all_bytes(w.hva + PAGE, 'q', 3 * PAGE));
	assert_shared(fd, 3, 3);
	assert_perms(4, 8, "---s");
	/* Grown again, the event not read yet when the guest touches the new page. */
	ck_assert_int_eq(pwrite(fd, buf, PAGE, 4 * PAGE), (ssize_t)PAGE);
	ck_assert_uint_eq(shm_window_refresh(&w), 1);
	ck_assert(all_bytes(w.hva + 4 * PAGE, 'q', PAGE));
	assert_perms(5, 8, "---s");
	ck_assert_uint_eq(shm_window_stats(&w).eof_pages, 0);
	/* A fault on a held page after that: the newest hold (this file's, just moved) goes. */
	ck_assert_uint_eq(repair(), 3);
	ck_assert_uint_eq(repair(), 1);
	ck_assert_uint_eq(shm_window_stats(&w).eof_pages, 4);
	ck_assert(all_bytes(w.hva + 4 * PAGE, 'q', PAGE));
	close(fd);
	close(other);
}
END_TEST

/* Holds go newest first; a write inside a file does not make its hold new. */
START_TEST(eof_newest_hold_first)
{
	enum shm_strategy s = (enum shm_strategy)_i;
	int a = small_file(1), b = small_file(1);

	window(s, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_int_eq(shm_window_map(&w, 0, 1 * MiB, 2 * PAGE, b, 0, SHM_MAP_F_RW), 0);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, 3 * PAGE, a, 0, SHM_MAP_F_RW), 0);
	ck_assert_int_eq(pwrite(b, "x", 1, 0), 1);
	ck_assert_uint_eq(shm_window_files_changed(&w), 0);
	ck_assert_uint_eq(repair(), 2); /* a's */
	ck_assert_uint_eq(repair(), 1); /* then b's */
	ck_assert_uint_eq(repair(), 0);
	close(a);
	close(b);
}
END_TEST

/*
 * A file cut where no watch sees it (here: no inotify at all): a repair
 * finds the touchable pages past its end, holds them and zeros them. One
 * grown where no watch sees it: a repair gives its held pages back and zeros
 * nothing.
 */
START_TEST(eof_cut_unseen)
{
	enum shm_strategy s = (enum shm_strategy)_i;
	int fd = small_file(4);

	window(s, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	close(w.watch_fd);
	w.watch_fd = -1;
	ck_assert_int_eq(shm_window_map(&w, 0, 0, 4 * PAGE, fd, 0, 0), 0);
	ck_assert(all_bytes(w.hva, 'a', PAGE));
	ck_assert_int_eq(ftruncate(fd, 2 * PAGE), 0);
	ck_assert_uint_eq(shm_window_files_changed(&w), 0);
	ck_assert_uint_eq(repair(), 2);
	ck_assert_uint_eq(shm_window_stats(&w).eof_held, 2);
	ck_assert(all_bytes(w.hva + 2 * PAGE, 0, 2 * PAGE));
	ck_assert(all_bytes(w.hva + PAGE, 'b', PAGE));
	ck_assert_int_eq(shm_window_map(&w, 0, 1 * MiB, 4 * PAGE, memfd, 16 * MiB - PAGE, 0), 0);
	ck_assert_int_eq(ftruncate(memfd, 16 * MiB + PAGE), 0);
	ck_assert_uint_eq(repair(), 0);
	ck_assert_uint_eq(shm_window_stats(&w).eof_released, 1);
	ck_assert_uint_eq(shm_window_stats(&w).eof_pages, 2);
	ck_assert(all_bytes(w.hva + 1 * MiB + PAGE, 0, PAGE)); /* the file's, grown with zeros */
	assert_perms(1 * MiB / PAGE + 2, 1 * MiB / PAGE + 4, s == SHM_STRATEGY_SLOT ? "---s" : "---p");
	close(fd);
}
END_TEST

/*
 * One watch per file, shared by its mappings, idle after the last of them
 * until the file is mapped again; all gone when every mapping is dropped.
 */
START_TEST(watches_follow_mappings)
{
	int a = small_file(2), b = small_file(2);

	window(SHM_STRATEGY_SLOT, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_int_eq(live_watches(), 0);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, PAGE, a, 0, SHM_MAP_F_RW), 0);
	ck_assert_int_eq(shm_window_map(&w, 0, PAGE, PAGE, a, PAGE, 0), 0);
	ck_assert_int_eq(shm_window_map(&w, 0, 2 * PAGE, PAGE, b, 0, 0), 0);
	ck_assert_int_eq(live_watches(), 2);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 0, PAGE), 0);
	ck_assert_int_eq(live_watches(), 2); /* a's other mapping keeps it */
	ck_assert_uint_eq(w.nr_idle, 0);
	ck_assert_int_eq(shm_window_unmap(&w, 0, PAGE, PAGE), 0);
	ck_assert_int_eq(live_watches(), 2); /* a's, idle */
	ck_assert_uint_eq(w.nr_idle, 1);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, PAGE, a, 0, 0), 0);
	ck_assert_int_eq(live_watches(), 2); /* the same one, wanted again */
	ck_assert_uint_eq(w.nr_idle, 0);
	/* A refused map leaves the watches as they were. */
	ck_assert_int_eq(shm_window_map(&w, 0, 0, PAGE, b, 0, 0), -EEXIST);
	ck_assert_int_eq(live_watches(), 2);
	ck_assert_uint_eq(shm_window_unmap_all(&w), 2);
	ck_assert_int_eq(live_watches(), 0);
	ck_assert_uint_eq(w.nr_idle, 0);
	close(a);
	close(b);
}
END_TEST

/* At most SHM_IDLE_WATCHES idle watches: the oldest goes first. */
START_TEST(idle_watches_bounded)
{
	int fds[SHM_IDLE_WATCHES + 8];

	window(SHM_STRATEGY_WINDOW, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	for (unsigned int i = 0; i < ARRAY_SIZE(fds); i++) {
		fds[i] = small_file(1);
		ck_assert_int_eq(shm_window_map(&w, 0, 0, PAGE, fds[i], 0, 0), 0);
		ck_assert_int_eq(shm_window_unmap(&w, 0, 0, PAGE), 0);
		ck_assert_int_eq(live_watches(), (int)MIN(i + 1, SHM_IDLE_WATCHES));
	}
	/* The newest is idle and comes back; the oldest was removed and is watched anew. */
	ck_assert_int_eq(shm_window_map(&w, 0, 0, PAGE, fds[ARRAY_SIZE(fds) - 1], 0, 0), 0);
	ck_assert_int_eq(live_watches(), (int)SHM_IDLE_WATCHES);
	ck_assert_int_eq(shm_window_map(&w, 0, PAGE, PAGE, fds[0], 0, 0), 0);
	ck_assert_int_eq(live_watches(), (int)SHM_IDLE_WATCHES + 1);
	ck_assert_uint_eq(shm_window_unmap_all(&w), 2);
	ck_assert_int_eq(live_watches(), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(fds); i++)
		close(fds[i]);
}
END_TEST

/*
 * An idle watch whose file is gone (its last link and last open file) is
 * gone in the kernel too, with an IN_IGNORED event: forgotten here as well.
 */
START_TEST(idle_watch_gone_with_its_file)
{
	char dir[] = "/tmp/shmvm-watch.XXXXXX", path[64];
	int fd, keep = small_file(1);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, PAGE), 0);
	window(SHM_STRATEGY_SLOT, 4 * MiB);
	shm_window_set_gpa(&w, GPA);
	ck_assert_int_eq(shm_window_map(&w, 0, 0, PAGE, fd, 0, 0), 0);
	ck_assert_int_eq(shm_window_map(&w, 0, PAGE, PAGE, keep, 0, 0), 0);
	ck_assert_int_eq(shm_window_unmap(&w, 0, 0, PAGE), 0);
	ck_assert_uint_eq(w.nr_idle, 1);
	ck_assert_int_eq(live_watches(), 2);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	close(fd);
	ck_assert_int_eq(live_watches(), 1);
	ck_assert_uint_eq(shm_window_files_changed(&w), 0);
	ck_assert_uint_eq(w.nr_idle, 0);
	ck_assert_uint_eq(w.watches.count, 1); /* keep's only */
	ck_assert_uint_eq(shm_window_unmap_all(&w), 1);
	ck_assert_int_eq(live_watches(), 0);
	close(keep);
}
END_TEST

static Suite *shm_window_suite(void)
{
	Suite *s = suite_create("shm_window");
	TCase *tc = tcase_create("layout");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, layout_one_region);
	tcase_add_test(tc, layout_regions_2mib_aligned);
	tcase_add_test(tc, layout_smallest);
	tcase_add_test(tc, layout_largest);
	tcase_add_test(tc, layout_rejects);
	tcase_add_test(tc, strategy_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("validation");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, map_first_and_last_page);
	tcase_add_test(tc, map_exact_fit);
	tcase_add_test(tc, map_overlap_off_by_one_page);
	tcase_add_test(tc, map_zero_and_unaligned);
	tcase_add_test(tc, map_overflow);
	tcase_add_test(tc, map_bad_region_flags_fd);
	tcase_add_test(tc, map_mmap_refusal_leaves_nothing);
	tcase_add_test(tc, map_slot_refusal_leaves_nothing);
	tcase_add_test(tc, unmap_exact_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("mappings");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, slot_data_both_ways);
	tcase_add_test(tc, slot_follows_window_moves);
	tcase_add_loop_test(tc, refused_moves_log_bounded, 0, 2);
	tcase_add_test(tc, window_one_slot);
	tcase_add_test(tc, access_holes_and_readonly);
	tcase_add_test(tc, many_cycles_leave_nothing);
	tcase_add_test(tc, many_live_mappings);
	suite_add_tcase(s, tc);

	/* Each test runs for both strategies (_i: enum shm_strategy). */
	tc = tcase_create("eof");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, eof_mapping_longer_than_file, SHM_STRATEGY_SLOT,
			    SHM_STRATEGY_WINDOW + 1);
	tcase_add_loop_test(tc, eof_repaired_then_unmapped, SHM_STRATEGY_SLOT,
			    SHM_STRATEGY_WINDOW + 1);
	tcase_add_loop_test(tc, eof_truncated_to_zero, SHM_STRATEGY_SLOT, SHM_STRATEGY_WINDOW + 1);
	tcase_add_loop_test(tc, eof_healthy_untouched, SHM_STRATEGY_SLOT, SHM_STRATEGY_WINDOW + 1);
	tcase_add_loop_test(tc, eof_exact_boundary, SHM_STRATEGY_SLOT, SHM_STRATEGY_WINDOW + 1);
	tcase_add_loop_test(tc, eof_held_when_the_file_is_cut, SHM_STRATEGY_SLOT,
			    SHM_STRATEGY_WINDOW + 1);
	tcase_add_loop_test(tc, eof_cut_before_the_map, SHM_STRATEGY_SLOT, SHM_STRATEGY_WINDOW + 1);
	tcase_add_loop_test(tc, eof_held_pages_given_back, SHM_STRATEGY_SLOT,
			    SHM_STRATEGY_WINDOW + 1);
	tcase_add_loop_test(tc, eof_newest_hold_first, SHM_STRATEGY_SLOT, SHM_STRATEGY_WINDOW + 1);
	tcase_add_loop_test(tc, eof_cut_unseen, SHM_STRATEGY_SLOT, SHM_STRATEGY_WINDOW + 1);
	tcase_add_test(tc, watches_follow_mappings);
	tcase_add_test(tc, idle_watches_bounded);
	tcase_add_test(tc, idle_watch_gone_with_its_file);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(shm_window_suite)
