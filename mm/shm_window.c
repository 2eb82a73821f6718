// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mm/shm_window.h"
#include "util/log.h"

#define NIL UINT32_MAX /* no mapping: the index's empty link */

static struct log_ratelimit map_rl = LOG_RATELIMIT_INIT;
static struct log_ratelimit access_rl = LOG_RATELIMIT_INIT;
static struct log_ratelimit eof_rl = LOG_RATELIMIT_INIT;
/* The guest places the window (BAR 2): over RAM, say, at will and in a loop. */
static struct log_ratelimit move_rl = LOG_RATELIMIT_INIT;

const char *shm_strategy_name(enum shm_strategy s)
{
	return s == SHM_STRATEGY_WINDOW ? "window" : "slot";
}

int shm_strategy_parse(const char *s, enum shm_strategy *out)
{
	if (!strcmp(s, "slot"))
		*out = SHM_STRATEGY_SLOT;
	else if (!strcmp(s, "window"))
		*out = SHM_STRATEGY_WINDOW;
	else
		return -EINVAL;
	return 0;
}

static uint64_t page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

/*
 * Fresh reservation over [@addr, @addr + @len), or anywhere if @addr is NULL;
 * the address or MAP_FAILED. What an unmapped part of the window is: slot
 * strategy, nothing (no slot covers it, KVM exits); window strategy, zeros
 * the guest may scribble on, since KVM would fail the whole KVM_RUN on
 * PROT_NONE.
 */
static void *reserve(const struct shm_window *w, void *addr, uint64_t len)
{
	int prot = w->strategy == SHM_STRATEGY_WINDOW ? PROT_READ | PROT_WRITE : PROT_NONE;

	return mmap(addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (addr ? MAP_FIXED : 0),
		    -1, 0);
}

/* Put the reservation back over [@off, @off + @len) of the window. */
static void restore(struct shm_window *w, uint64_t off, uint64_t len)
{
	if (reserve(w, w->hva + off, len) == MAP_FAILED)
		log_err("%s: cannot restore the window at %#llx: %s", w->name, (unsigned long long)off,
			strerror(errno));
}

int shm_window_init(struct shm_window *w, const char *name, enum shm_strategy strategy,
		    struct memslot_table *slots, const uint8_t *ids, const uint64_t *sizes,
		    unsigned int n)
{
	uint64_t page = page_size(), end = 0;
	void *p;

	memset(w, 0, sizeof(*w));
	w->name = name;
	w->watch_fd = -1;
	w->strategy = strategy;
	w->slots = slots;
	w->gpa = SHM_GPA_NONE;
	w->window_slot = SHM_NO_SLOT;
	w->root = NIL;
	w->seed = 0x2545f491; /* any non-zero start for the priorities' xorshift */
	if (!n || n > SHM_MAX_REGIONS) {
		log_err("%s: %u shared-memory regions; 1 to %u supported", name, n, SHM_MAX_REGIONS);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < n; i++) {
		struct shm_region *r = &w->regions[i];

		for (unsigned int j = 0; j < i; j++) {
			if (w->regions[j].id == ids[i]) {
				log_err("%s: shared-memory region %u given twice", name, ids[i]);
				return -EINVAL;
			}
		}
		if (!sizes[i] || sizes[i] % page) {
			log_err("%s: shared-memory region %u: size %#llx is not a non-zero multiple of %llu",
				name, ids[i], (unsigned long long)sizes[i], (unsigned long long)page);
			return -EINVAL;
		}
		if (sizes[i] > SHM_WINDOW_MAX - end) {
			log_err("%s: shared-memory region %u: size %#llx does not fit in a %llu GiB window",
				name, ids[i], (unsigned long long)sizes[i],
				(unsigned long long)(SHM_WINDOW_MAX / GiB));
			return -EINVAL;
		}
		r->id = ids[i];
		r->off = end;
		r->size = sizes[i];
		end = ALIGN_UP(end + sizes[i], SHM_ALIGN);
		if (end > SHM_WINDOW_MAX) {
			log_err("%s: shared-memory regions do not fit in a %llu GiB window", name,
				(unsigned long long)(SHM_WINDOW_MAX / GiB));
			return -EINVAL;
		}
	}
	w->nr_regions = n;
	/* A BAR's size is a power of two. */
	w->size = SHM_ALIGN;
	while (w->size < end)
		w->size <<= 1;
	p = reserve(w, NULL, w->size);
	if (p == MAP_FAILED) {
		int rc = -errno;

		log_err("%s: cannot reserve %llu MiB of address space for its window: %s", name,
			(unsigned long long)(w->size / MiB), strerror(-rc));
		return rc;
	}
	w->hva = p;
	w->watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->watch_fd < 0)
		log_warn("%s: cannot watch mapped files (%s): a file truncated under a mapping is "
			 "repaired only when a guest access fails", name, strerror(errno));
	pthread_mutex_init(&w->lock, NULL);
	return 0;
}

const struct shm_region *shm_window_region(const struct shm_window *w, uint8_t shmid)
{
	for (unsigned int i = 0; i < w->nr_regions; i++)
		if (w->regions[i].id == shmid)
			return &w->regions[i];
	return NULL;
}

/* ---- the index by offset: a treap over maps[] (lock held throughout) ---- */

#define M(i) (w->maps[i])

/* Join treaps @a and @b, every offset in @a below every one in @b. */
static uint32_t merge(struct shm_window *w, uint32_t a, uint32_t b)
{
	if (a == NIL)
		return b;
	if (b == NIL)
		return a;
	if (M(a).prio > M(b).prio) {
		M(a).right = merge(w, M(a).right, b);
		return a;
	}
	M(b).left = merge(w, a, M(b).left);
	return b;
}

/* Cut treap @t into *@lo (offsets below @off) and *@hi (the rest). */
static void split(struct shm_window *w, uint32_t t, uint64_t off, uint32_t *lo, uint32_t *hi)
{
	if (t == NIL) {
		*lo = *hi = NIL;
	} else if (M(t).off < off) {
		split(w, M(t).right, off, &M(t).right, hi);
		*lo = t;
	} else {
		split(w, M(t).left, off, lo, &M(t).left);
		*hi = t;
	}
}

static void index_insert(struct shm_window *w, uint32_t i)
{
	uint32_t lo, hi;

	/* xorshift32: priorities independent of the offsets keep the treap shallow. */
	w->seed ^= w->seed << 13;
	w->seed ^= w->seed >> 17;
	w->seed ^= w->seed << 5;
	M(i).prio = w->seed;
	M(i).left = M(i).right = NIL;
	split(w, w->root, M(i).off, &lo, &hi);
	w->root = merge(w, merge(w, lo, i), hi);
}

static uint32_t erase(struct shm_window *w, uint32_t t, uint64_t off)
{
	if (t == NIL)
		return NIL;
	if (off < M(t).off)
		M(t).left = erase(w, M(t).left, off);
	else if (off > M(t).off)
		M(t).right = erase(w, M(t).right, off);
	else
		return merge(w, M(t).left, M(t).right);
	return t;
}

/* The link in the index that points at mapping @i (found by its offset). */
static uint32_t *index_link(struct shm_window *w, uint32_t i)
{
	uint32_t *link = &w->root;

	while (*link != i)
		link = M(i).off < M(*link).off ? &M(*link).left : &M(*link).right;
	return link;
}

/* The first mapping (by offset) that ends after @off: its index in maps[], or NIL. */
static uint32_t first_ending_after(struct shm_window *w, uint64_t off)
{
	uint32_t t = w->root, at_or_below = NIL, above = NIL;

	while (t != NIL) {
		if (M(t).off <= off) {
			at_or_below = t;
			t = M(t).right;
		} else {
			above = t;
			t = M(t).left;
		}
	}
	/* Mappings do not overlap: only the last one starting at or below @off can reach past it. */
	if (at_or_below != NIL && M(at_or_below).off + M(at_or_below).len > off)
		return at_or_below;
	return above;
}

/* Take mapping @i out of the index and of maps[] (the last one moves into its place). */
static void remove_entry(struct shm_window *w, uint32_t i)
{
	uint32_t last = (uint32_t)w->nr_maps - 1;

	w->root = erase(w, w->root, M(i).off);
	if (i != last) {
		uint32_t *link = index_link(w, last);

		M(i) = M(last);
		*link = i;
	}
	w->nr_maps--;
}

static void walk(struct shm_window *w, uint32_t t, void (*fn)(const struct shm_mapping *m, void *opaque),
		 void *opaque)
{
	if (t == NIL)
		return;
	walk(w, M(t).left, fn, opaque);
	fn(&M(t), opaque);
	walk(w, M(t).right, fn, opaque);
}

/* Register mapping @m's slot at the window's guest address. Lock held. */
static int slot_add(struct shm_window *w, struct shm_mapping *m)
{
	uint32_t flags = m->flags & SHM_MAP_F_RW ? 0 : MEMSLOT_F_READONLY;

	if (w->strategy != SHM_STRATEGY_SLOT || w->gpa == SHM_GPA_NONE)
		return 0;
	return memslot_add(w->slots, w->gpa + m->off, m->len, w->hva + m->off, flags, &m->slot);
}

static void slot_del(struct shm_window *w, struct shm_mapping *m)
{
	if (m->slot == SHM_NO_SLOT)
		return;
	if (memslot_del(w->slots, m->slot))
		log_err("%s: cannot delete the slot of the mapping at %#llx", w->name,
			(unsigned long long)m->off);
	m->slot = SHM_NO_SLOT;
}

void shm_window_set_ops(struct shm_window *w, const struct shm_window_ops *ops, void *opaque)
{
	pthread_mutex_lock(&w->lock);
	w->ops = ops;
	w->ops_opaque = opaque;
	pthread_mutex_unlock(&w->lock);
}

/* Tell the ops about new mapping @m while its @fd is still open. Lock held. */
static void announce(struct shm_window *w, struct shm_mapping *m, int fd)
{
	if (!w->ops || w->gpa == SHM_GPA_NONE)
		return;
	w->ops->mapped(w->ops_opaque, m, w->gpa, w->hva + m->off, fd);
	m->announced = true;
}

/* Tell the ops that announced mapping @m leaves the current gpa. Lock held. */
static void retract(struct shm_window *w, struct shm_mapping *m)
{
	if (!m->announced)
		return;
	m->announced = false;
	w->ops->unmapped(w->ops_opaque, m, w->gpa);
}

/* How a mapping with SHM_MAP_F_* @flags is mapped (a held page: PROT_NONE). */
static int map_prot(const struct shm_window *w, uint32_t flags)
{
	/* Window strategy: a read-only mapping is a private copy the guest may write. */
	if (w->strategy == SHM_STRATEGY_WINDOW || (flags & SHM_MAP_F_RW))
		return PROT_READ | PROT_WRITE;
	return PROT_READ;
}

/* Which hold is newest, across every window of the process (never 0). */
static uint64_t hold_clock;

/*
 * Hold mapping @m's file pages from byte @from on (page-aligned, below
 * file_len): PROT_NONE, so a guest access fails KVM_RUN with EFAULT instead
 * of hanging its vCPU. false, logged, if mprotect fails (the pages stay
 * touchable). Lock held.
 */
static bool hold(struct shm_window *w, struct shm_mapping *m, uint64_t from)
{
	if (mprotect(w->hva + m->off + from, m->file_len - from, PROT_NONE)) {
		log_ratelimited(&eof_rl, LOG_ERR,
				"%s: cannot hold the pages past the file's end of the mapping at "
				"window offset %#llx: %s",
				w->name, (unsigned long long)m->off, strerror(errno));
		return false;
	}
	m->ok_len = from;
	m->held_seq = __atomic_add_fetch(&hold_clock, 1, __ATOMIC_RELAXED);
	return true;
}

/* Give mapping @m's held pages back to the guest. false, logged, if mprotect fails. Lock held. */
static bool release(struct shm_window *w, struct shm_mapping *m)
{
	if (m->ok_len == m->file_len)
		return true;
	if (mprotect(w->hva + m->off + m->ok_len, m->file_len - m->ok_len, map_prot(w, m->flags))) {
		log_ratelimited(&eof_rl, LOG_ERR,
				"%s: cannot give back the held pages of the mapping at window "
				"offset %#llx: %s",
				w->name, (unsigned long long)m->off, strerror(errno));
		return false;
	}
	m->ok_len = m->file_len;
	m->held_seq = 0;
	return true;
}

/* A watch on @fd's file for the mapping being made: its descriptor, or -1 (errno set). Lock held. */
static int watch(struct shm_window *w, int fd)
{
	char path[32];

	if (w->watch_fd < 0) {
		errno = ENOSYS;
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return inotify_add_watch(w->watch_fd, path, IN_MODIFY);
}

/* Idle watch @wd is wanted again, or gone: off the idle list. Lock held. */
static void idle_forget(struct shm_window *w, int wd)
{
	for (unsigned int i = 0; i < w->nr_idle; i++)
		if (w->idle[i] == wd) {
			memmove(&w->idle[i], &w->idle[i + 1], (w->nr_idle - i - 1) * sizeof(w->idle[0]));
			w->nr_idle--;
			return;
		}
}

/* Remove the oldest idle watch. Lock held. */
static void idle_evict(struct shm_window *w)
{
	int wd = w->idle[0];

	idle_forget(w, wd);
	u64map_take(&w->watches, (uint64_t)wd, NULL);
	inotify_rm_watch(w->watch_fd, wd);
}

/* Mapping-count of watch @wd: one more (0, or -ENOMEM). Lock held. */
static int watch_get(struct shm_window *w, int wd)
{
	uint64_t n = 0;

	if (wd < 0)
		return 0;
	if (u64map_get(&w->watches, (uint64_t)wd, &n) && !n)
		idle_forget(w, wd);
	return u64map_put(&w->watches, (uint64_t)wd, n + 1);
}

/*
 * Watch @wd loses a user: a mapping (@counted), or a map refused before it
 * counted. A watch nobody had is removed; one whose file's last mapping went
 * becomes idle, the oldest idle one removed to make room. Lock held.
 */
static void watch_put(struct shm_window *w, int wd, bool counted)
{
	uint64_t n = 0;
	bool known;

	if (wd < 0)
		return;
	known = u64map_get(&w->watches, (uint64_t)wd, &n);
	if (!counted) {
		if (!known)
			inotify_rm_watch(w->watch_fd, wd); /* made for the refused map */
		return;
	}
	/* Replacing an existing key never allocates. */
	if (n > 1) {
		(void)!u64map_put(&w->watches, (uint64_t)wd, n - 1);
		return;
	}
	if (w->nr_idle == SHM_IDLE_WATCHES)
		idle_evict(w);
	w->idle[w->nr_idle++] = wd;
	(void)!u64map_put(&w->watches, (uint64_t)wd, 0);
}

static int refuse_map(struct shm_window *w, int rc, const char *why, uint8_t shmid, uint64_t off,
		      uint64_t len)
{
	w->stats.refused_maps++;
	log_ratelimited(&map_rl, LOG_WARN, "%s: SHMEM_MAP refused (%s): region %u offset %#llx length %#llx",
			w->name, why, shmid, (unsigned long long)off, (unsigned long long)len);
	return rc;
}

int shm_window_map(struct shm_window *w, uint8_t shmid, uint64_t shm_offset, uint64_t len, int fd,
		   uint64_t fd_offset, uint64_t flags)
{
	const struct shm_region *r;
	struct shm_mapping m = { .shmid = shmid, .shm_offset = shm_offset, .len = len,
				 .fd_offset = fd_offset, .flags = (uint32_t)flags,
				 .slot = SHM_NO_SLOT, .wd = -1 };
	uint64_t page = page_size();
	struct stat st;
	uint32_t at;
	void *p;
	int share, watch_err, rc;

	pthread_mutex_lock(&w->lock);
	r = shm_window_region(w, shmid);
	if (!r) {
		rc = refuse_map(w, -EINVAL, "no such region", shmid, shm_offset, len);
		goto out;
	}
	if (flags & ~SHM_MAP_F_RW) {
		rc = refuse_map(w, -EINVAL, "unknown flags", shmid, shm_offset, len);
		goto out;
	}
	if (!len || len % page || shm_offset % page || fd_offset % page) {
		rc = refuse_map(w, -EINVAL, "zero or unaligned", shmid, shm_offset, len);
		goto out;
	}
	if (shm_offset + len < shm_offset || fd_offset + len < fd_offset ||
	    fd_offset + len > (uint64_t)INT64_MAX) {
		rc = refuse_map(w, -EOVERFLOW, "overflow", shmid, shm_offset, len);
		goto out;
	}
	if (shm_offset + len > r->size) {
		rc = refuse_map(w, -ERANGE, "outside the region", shmid, shm_offset, len);
		goto out;
	}
	m.off = r->off + shm_offset;
	at = first_ending_after(w, m.off);
	if (at != NIL && M(at).off < m.off + len) {
		rc = refuse_map(w, -EEXIST, "overlaps a mapping", shmid, shm_offset, len);
		goto out;
	}
	/* The watch first: a change to the file after the fstat() below is an event. */
	if (fd >= 0)
		m.wd = watch(w, fd);
	watch_err = errno;
	if (fd < 0 || fstat(fd, &st)) {
		rc = refuse_map(w, -EBADF, "bad file descriptor", shmid, shm_offset, len);
		goto out_unwatch;
	}
	if (m.wd < 0 && w->watch_fd >= 0)
		log_ratelimited(&map_rl, LOG_WARN, "%s: cannot watch a mapped file (%s): a change to "
				"its size is seen only when a guest access fails", w->name,
				strerror(watch_err));
	m.dev = st.st_dev;
	m.ino = st.st_ino;
	m.file_len = m.ok_len = len;
	if (w->nr_maps == w->cap_maps) {
		size_t cap = w->cap_maps ? 2 * w->cap_maps : 16;
		struct shm_mapping *maps = cap < NIL ? realloc(w->maps, cap * sizeof(*maps)) : NULL;

		if (!maps) {
			rc = refuse_map(w, -ENOMEM, "out of memory", shmid, shm_offset, len);
			goto out_unwatch;
		}
		w->maps = maps;
		w->cap_maps = cap;
	}
	if (watch_get(w, m.wd)) {
		rc = refuse_map(w, -ENOMEM, "out of memory", shmid, shm_offset, len);
		goto out_unwatch;
	}
	/*
	 * Window strategy: a read-only mapping is private and writable, so a
	 * guest write lands in a private copy instead of failing KVM_RUN.
	 */
	share = MAP_SHARED;
	if (w->strategy == SHM_STRATEGY_WINDOW && !(flags & SHM_MAP_F_RW))
		share = MAP_PRIVATE | MAP_NORESERVE;
	p = mmap(w->hva + m.off, len, map_prot(w, m.flags), share | MAP_FIXED, fd, (off_t)fd_offset);
	if (p == MAP_FAILED) {
		rc = -errno;
		/* A failed MAP_FIXED may have unmapped the range: put the reservation back. */
		restore(w, m.off, len);
		refuse_map(w, rc, strerror(-rc), shmid, shm_offset, len);
		goto out_uncount;
	}
	/* What lies past the file's end is held before the guest can reach it. */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < fd_offset + len) {
		uint64_t end = (uint64_t)st.st_size > fd_offset ?
				       ALIGN_UP((uint64_t)st.st_size - fd_offset, page) : 0;

		if (end < len)
			hold(w, &m, end);
	}
	rc = slot_add(w, &m);
	if (rc) {
		restore(w, m.off, len);
		refuse_map(w, rc, "no memory slot", shmid, shm_offset, len);
		goto out_uncount;
	}
	at = (uint32_t)w->nr_maps++;
	M(at) = m;
	index_insert(w, at);
	w->stats.maps++;
	w->stats.eof_held += (m.file_len - m.ok_len) / page;
	announce(w, &M(at), fd);
	goto out;
out_uncount:
	watch_put(w, m.wd, true);
	goto out;
out_unwatch:
	watch_put(w, m.wd, false);
out:
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* Undo mapping @m in the host and in KVM: its announcement, slot, pages. Lock held. */
static void undo(struct shm_window *w, struct shm_mapping *m)
{
	retract(w, m);
	slot_del(w, m);
	restore(w, m->off, m->len);
}

int shm_window_unmap(struct shm_window *w, uint8_t shmid, uint64_t shm_offset, uint64_t len)
{
	const struct shm_region *r;
	uint32_t i = NIL;
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	r = shm_window_region(w, shmid);
	if (!r || !len || shm_offset + len < shm_offset || shm_offset + len > r->size) {
		rc = -EINVAL;
	} else {
		i = first_ending_after(w, r->off + shm_offset);
		if (i == NIL || M(i).off != r->off + shm_offset || M(i).len != len)
			rc = -ENOENT;
	}
	if (rc) {
		w->stats.refused_unmaps++;
		log_ratelimited(&map_rl, LOG_WARN,
				"%s: SHMEM_UNMAP refused (%s): region %u offset %#llx length %#llx",
				w->name, rc == -ENOENT ? "not one whole mapping" : "bad range", shmid,
				(unsigned long long)shm_offset, (unsigned long long)len);
	} else {
		watch_put(w, M(i).wd, true);
		undo(w, &M(i));
		remove_entry(w, i);
		w->stats.unmaps++;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

size_t shm_window_unmap_all(struct shm_window *w)
{
	size_t n;

	if (!w->hva)
		return 0;
	pthread_mutex_lock(&w->lock);
	n = w->nr_maps;
	for (size_t i = 0; i < n; i++) {
		watch_put(w, M(i).wd, true);
		undo(w, &M(i));
	}
	w->nr_maps = 0;
	w->root = NIL;
	while (w->nr_idle)
		idle_evict(w);
	pthread_mutex_unlock(&w->lock);
	return n;
}

void shm_window_set_gpa(struct shm_window *w, uint64_t gpa)
{
	pthread_mutex_lock(&w->lock);
	if (gpa == w->gpa)
		goto out;
	for (size_t i = 0; i < w->nr_maps; i++) {
		retract(w, &w->maps[i]); /* not announced again at @gpa: we keep no fd */
		slot_del(w, &w->maps[i]);
	}
	if (w->window_slot != SHM_NO_SLOT) {
		if (memslot_del(w->slots, w->window_slot))
			log_err("%s: cannot delete the window's slot", w->name);
		w->window_slot = SHM_NO_SLOT;
	}
	w->gpa = gpa;
	if (gpa == SHM_GPA_NONE)
		goto out;
	if (w->strategy == SHM_STRATEGY_WINDOW) {
		if (memslot_add(w->slots, gpa, w->size, w->hva, 0, &w->window_slot)) {
			log_ratelimited(&move_rl, LOG_ERR, "%s: cannot give the window a memory slot at %#llx",
					w->name, (unsigned long long)gpa);
			w->window_slot = SHM_NO_SLOT;
		}
		goto out;
	}
	for (size_t i = 0; i < w->nr_maps; i++)
		if (slot_add(w, &w->maps[i]))
			log_ratelimited(&move_rl, LOG_ERR, "%s: cannot move the mapping at %#llx to %#llx",
					w->name, (unsigned long long)w->maps[i].off,
					(unsigned long long)(gpa + w->maps[i].off));
out:
	pthread_mutex_unlock(&w->lock);
}

void shm_window_access(struct shm_window *w, uint64_t off, void *data, uint32_t len, bool write)
{
	const char *what = "unmapped part";
	uint32_t i;

	if (!write)
		memset(data, 0, len);
	pthread_mutex_lock(&w->lock);
	i = first_ending_after(w, off);
	if (i != NIL && M(i).off <= off) {
		/* Only a read-only slot's writes come here. */
		what = "read-only mapping";
		if (write)
			w->stats.ro_writes++;
		else
			w->stats.hole_reads++;
	} else if (write) {
		w->stats.hole_writes++;
	} else {
		w->stats.hole_reads++;
	}
	pthread_mutex_unlock(&w->lock);
	log_ratelimited(&access_rl, LOG_WARN, "%s: guest %s %u bytes at window offset %#llx: %s, %s",
			w->name, write ? "wrote" : "read", len, (unsigned long long)off, what,
			write ? "write dropped" : "reads as zeros");
}

/* Would an access to the page at @p raise SIGBUS (a page past its file's end)? */
static bool page_past_eof(void *p, uint64_t page)
{
	return madvise(p, page, MADV_POPULATE_READ) && errno == EFAULT;
}

/*
 * How many of the first @limit bytes of @m its file still backs, in pages:
 * the last page probed first; then, if the file ends before it, page @hint
 * (where it ended at the last look) and the one before; and only if the end
 * moved, a binary search for the first page past it. The range must be
 * touchable (not held). Lock held.
 */
static uint64_t pages_before_eof(const struct shm_window *w, const struct shm_mapping *m,
				 uint64_t limit, uint64_t hint, uint64_t page)
{
	uint8_t *base = w->hva + m->off;
	uint64_t lo = 0, hi = limit / page;

	if (!hi || !page_past_eof(base + (hi - 1) * page, page))
		return hi;
	/* Page hi - 1 is past the end: the first such page is in [lo, hi - 1]. */
	hi--;
	if (hint < hi && page_past_eof(base + hint * page, page) &&
	    (!hint || !page_past_eof(base + (hint - 1) * page, page)))
		return hint;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (page_past_eof(base + mid * page, page))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/*
 * Mapping @m's file changed: give its held pages back, find the file's end
 * again and hold what lies past it. Returns the pages held or given back
 * (counted). Lock held.
 */
static size_t follow_file(struct shm_window *w, struct shm_mapping *m, uint64_t page)
{
	uint64_t was = m->ok_len, seq = m->held_seq, end;

	if (!release(w, m))
		return 0;
	end = pages_before_eof(w, m, m->file_len, was / page, page) * page;
	if (end < m->file_len && !hold(w, m, end))
		end = m->file_len; /* touchable after all (logged) */
	if (end > was) {
		w->stats.eof_released += (end - was) / page;
		return (end - was) / page;
	}
	if (end < was) {
		w->stats.eof_held += (was - end) / page;
		return (was - end) / page;
	}
	/* The same end (a write inside the file): the hold keeps its age. */
	if (end < m->file_len)
		m->held_seq = seq;
	return 0;
}

size_t shm_window_files_changed(struct shm_window *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	uint64_t page = page_size();
	size_t changed = 0;
	ssize_t n;

	if (w->watch_fd < 0)
		return 0;
	while ((n = read(w->watch_fd, buf, sizeof(buf))) > 0) {
		bool locked = false;

		for (ssize_t at = 0; at + (ssize_t)sizeof(struct inotify_event) <= n;) {
			struct inotify_event ev;

			memcpy(&ev, buf + at, sizeof(ev));
			at += (ssize_t)(sizeof(ev) + ev.len);
			if (!(ev.mask & (IN_MODIFY | IN_IGNORED)))
				continue;
			if (!locked)
				pthread_mutex_lock(&w->lock);
			locked = true;
			/*
			 * IN_IGNORED: a watch went, pushed out of the idle ones or with its
			 * file's last link. An idle one is forgotten; a live one's mappings
			 * are repaired without it.
			 */
			if (ev.mask & IN_IGNORED) {
				uint64_t users;

				if (u64map_get(&w->watches, (uint64_t)ev.wd, &users) && !users) {
					idle_forget(w, ev.wd);
					u64map_take(&w->watches, (uint64_t)ev.wd, NULL);
				}
				continue;
			}
			for (size_t i = 0; i < w->nr_maps; i++)
				if (w->maps[i].wd == ev.wd)
					changed += follow_file(w, &w->maps[i], page);
		}
		if (locked)
			pthread_mutex_unlock(&w->lock);
	}
	return changed;
}

size_t shm_window_refresh(struct shm_window *w)
{
	uint64_t page = page_size(), released;

	if (!w->hva)
		return 0;
	released = shm_window_stats(w).eof_released;
	shm_window_files_changed(w);
	/*
	 * Then every mapping, for what no event announced: a file cut or grown
	 * through a path inotify does not see (an overlay's lower file), or one
	 * whose writes raise no event (a memfd, on recent kernels).
	 */
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nr_maps; i++)
		follow_file(w, &w->maps[i], page);
	released = w->stats.eof_released - released;
	pthread_mutex_unlock(&w->lock);
	return released;
}

uint64_t shm_window_newest_hold(struct shm_window *w)
{
	uint64_t seq = 0;

	if (!w->hva)
		return 0;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nr_maps; i++)
		if (w->maps[i].held_seq > seq)
			seq = w->maps[i].held_seq;
	pthread_mutex_unlock(&w->lock);
	return seq;
}

size_t shm_window_zero_hold(struct shm_window *w, uint64_t seq)
{
	uint64_t page = page_size(), good, bad;
	struct shm_mapping *m = NULL;
	void *p;

	if (!w->hva || !seq)
		return 0;
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nr_maps && !m; i++)
		if (w->maps[i].held_seq == seq)
			m = &w->maps[i];
	if (!m) {
		pthread_mutex_unlock(&w->lock);
		return 0;
	}
	good = m->ok_len;
	bad = m->file_len - good;
	/* Readable; writable as the guest could write the mapping (slot: as its slot). */
	p = mmap(w->hva + m->off + good, bad, map_prot(w, m->flags),
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED) {
		log_ratelimited(&eof_rl, LOG_ERR,
				"%s: cannot put zeros past the file's end of the mapping "
				"at window offset %#llx: %s",
				w->name, (unsigned long long)m->off, strerror(errno));
		/* A failed MAP_FIXED may have unmapped the range: reserve it again. */
		restore(w, m->off + good, bad);
		pthread_mutex_unlock(&w->lock);
		return 0;
	}
	m->file_len = good;
	m->held_seq = 0;
	w->stats.eof_pages += bad / page;
	log_ratelimited(&eof_rl, LOG_WARN,
			"%s: mapping at window offset %#llx (dev %llu ino %llu): %llu "
			"pages past its file's end, now private zeros",
			w->name, (unsigned long long)m->off, (unsigned long long)m->dev,
			(unsigned long long)m->ino, (unsigned long long)(bad / page));
	pthread_mutex_unlock(&w->lock);
	return bad / page;
}

int shm_window_watch_fd(const struct shm_window *w)
{
	return w->watch_fd;
}

void shm_window_for_each(struct shm_window *w,
			 void (*fn)(const struct shm_mapping *m, void *opaque), void *opaque)
{
	pthread_mutex_lock(&w->lock);
	walk(w, w->root, fn, opaque);
	pthread_mutex_unlock(&w->lock);
}

size_t shm_window_count(struct shm_window *w)
{
	size_t n;

	pthread_mutex_lock(&w->lock);
	n = w->nr_maps;
	pthread_mutex_unlock(&w->lock);
	return n;
}

struct shm_stats shm_window_stats(struct shm_window *w)
{
	struct shm_stats s;

	pthread_mutex_lock(&w->lock);
	s = w->stats;
	pthread_mutex_unlock(&w->lock);
	return s;
}

void shm_window_destroy(struct shm_window *w)
{
	if (!w->hva)
		return;
	shm_window_unmap_all(w);
	shm_window_set_gpa(w, SHM_GPA_NONE);
	munmap(w->hva, w->size);
	w->hva = NULL;
	free(w->maps);
	w->maps = NULL;
	w->nr_maps = w->cap_maps = 0;
	u64map_destroy(&w->watches);
	if (w->watch_fd >= 0)
		close(w->watch_fd);
	w->watch_fd = -1;
	pthread_mutex_destroy(&w->lock);
}
