// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the shared-memory window: every SHMEM_MAP/UNMAP a
 * backend could send, in any order, against both strategies. After each
 * request the table must be sorted, overlap-free and inside its regions,
 * with exactly one slot per mapping (slot strategy) or one for the window.
 * Input: 1 byte strategy, then 16-byte records
 * {op, shmid, flags, mode, u32 a, u32 b, u32 c}.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mm/shm_window.h"
#include "util/log.h"

#define NSLOTS 48
#define PAGE 4096ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool lives[2][NSLOTS]; /* per table: which slots the fake KVM has */

static int fake_set(void *opaque, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		    void *hva)
{
	bool *live = opaque;

	(void)flags, (void)gpa, (void)hva;
	if (slot >= NSLOTS || live[slot] == (size != 0))
		abort(); /* the window asked for something impossible */
	live[slot] = size != 0;
	return 0;
}

static const struct memslot_ops ops = { .set = fake_set };

/* Refusals are the point: keep them out of the output. */
static void quiet(enum log_level level, const char *msg, void *opaque)
{
	(void)level, (void)msg, (void)opaque;
}

/* The walk in order of offset: each mapping starts after the last one ended. */
static uint64_t walk_end;
static size_t walk_n;

static void walk_one(const struct shm_mapping *m, void *opaque)
{
	(void)opaque;
	if (walk_n++ && m->off < walk_end)
		abort();
	walk_end = m->off + m->len;
}

static void check_invariants(struct shm_window *w, struct memslot_table *t, const bool *live)
{
	uint32_t want = 0, idle = 0;
	uint64_t users = 0, watched = 0;

	/* Each watch counts its mappings; the idle ones, counted 0, are listed. */
	for (uint32_t i = 0; w->watches.slots && i <= w->watches.mask; i++) {
		const struct u64map_slot *s = &w->watches.slots[i];

		if (!s->used)
			continue;
		users += s->val;
		if (!s->val) {
			bool listed = false;

			for (unsigned int j = 0; j < w->nr_idle; j++)
				listed |= w->idle[j] == (int)s->key;
			if (!listed)
				abort();
			idle++;
		}
	}
	if (idle != w->nr_idle || w->nr_idle > SHM_IDLE_WATCHES)
		abort();
	for (size_t i = 0; i < w->nr_maps; i++)
		watched += w->maps[i].wd >= 0;
	if (users != watched)
		abort();

	walk_n = 0;
	shm_window_for_each(w, walk_one, NULL);
	if (walk_n != w->nr_maps)
		abort();

	for (size_t i = 0; i < w->nr_maps; i++) {
		const struct shm_mapping *m = &w->maps[i];
		const struct shm_region *r = shm_window_region(w, m->shmid);

		if (!r || !m->len || m->off != r->off + m->shm_offset || m->shm_offset + m->len > r->size)
			abort();
		/* Pages past the file's end: [ok_len, file_len) held, stamped; the rest zeros. */
		if (m->ok_len > m->file_len || m->file_len > m->len || m->ok_len % PAGE ||
		    m->file_len % PAGE || (m->held_seq != 0) != (m->ok_len < m->file_len))
			abort();
		if (w->strategy == SHM_STRATEGY_SLOT && w->gpa != SHM_GPA_NONE) {
			if (m->slot == SHM_NO_SLOT || !live[m->slot])
				abort();
			want++;
		} else if (m->slot != SHM_NO_SLOT) {
			abort();
		}
	}
	if (w->strategy == SHM_STRATEGY_WINDOW && w->gpa != SHM_GPA_NONE)
		want = 1;
	if (memslot_count(t) != want)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct memslot_table tables[2];
	static struct shm_window windows[2];
	static int memfd = -1;
	static const uint8_t ids[2] = { 0, 7 };
	static const uint64_t sizes[2] = { 8 << 20, 3 << 20 };
	struct shm_window *w;
	struct memslot_table *t;
	const bool *live;

	if (memfd < 0) {
		log_set_sink(quiet, NULL);
		memfd = memfd_create("fuzz", MFD_CLOEXEC);
		if (memfd < 0 || ftruncate(memfd, 16 << 20))
			abort();
		for (int s = 0; s < 2; s++) {
			if (memslot_table_init(&tables[s], NSLOTS / 2, &ops, lives[s]) ||
			    shm_window_init(&windows[s], "fuzz", s ? SHM_STRATEGY_WINDOW : SHM_STRATEGY_SLOT,
					    &tables[s], ids, sizes, 2))
				abort();
		}
	}
	if (size < 1)
		return 0;
	w = &windows[data[0] & 1];
	t = &tables[data[0] & 1];
	live = lives[data[0] & 1];
	shm_window_set_gpa(w, 1ULL << 32);
	for (size_t at = 1; at + 16 <= size; at += 16) {
		const uint8_t *r = data + at;
		uint32_t a, b, c;
		uint64_t off, len, fd_off;
		uint8_t mode = r[3];

		memcpy(&a, r + 4, 4);
		memcpy(&b, r + 8, 4);
		memcpy(&c, r + 12, 4);
		off = mode & 1 ? (uint64_t)a << 32 | b : (uint64_t)(a % 2048) * PAGE + (mode & 2 ? b % PAGE : 0);
		len = mode & 4 ? (uint64_t)b << 32 | c : (uint64_t)(c % 64) * PAGE;
		fd_off = mode & 8 ? (uint64_t)c << 32 : (uint64_t)(a % 1024) * PAGE;
		switch (r[0] % 4) {
		case 0:
			(void)!shm_window_map(w, r[1] % 9, off, len, mode & 16 ? -1 : memfd, fd_off,
					      mode & 32 ? (uint64_t)r[2] << 24 : r[2] & 1);
			break;
		case 1:
			(void)!shm_window_unmap(w, r[1] % 9, off, len);
			break;
		case 2:
			shm_window_set_gpa(w, mode & 64 ? SHM_GPA_NONE : (uint64_t)(1 + (a & 3)) << 32);
			break;
		case 3:
			/* The file cut or grown under the mappings; a KVM_RUN that failed with EFAULT. */
			if (mode & 16 && ftruncate(memfd, (off_t)(a % 4096) * (PAGE / 2)))
				abort();
			if (mode & 32)
				shm_window_files_changed(w);
			if (mode & 64 && !shm_window_refresh(w))
				shm_window_zero_hold(w, shm_window_newest_hold(w));
			if (mode & 128)
				shm_window_unmap_all(w);
		}
		check_invariants(w, t, live);
	}
	shm_window_unmap_all(w);
	check_invariants(w, t, live);
	if (ftruncate(memfd, 16 << 20))
		abort();
	return 0;
}
