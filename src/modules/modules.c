/* modules.c — the modules stage: which loaded ELF object holds a PC.
 *
 * Lookups (faststack_module_find) are async-signal-safe: fs_object_find
 * (objfind.c: glibc's _dl_find_object, or a snapshot of the loaded
 * objects) finds the object without locks, with its bias and path, and the build-id comes from a snapshot of all modules
 * (built outside signal context with dl_iterate_phdr) or, for an object
 * loaded since, from the object's own mapped program headers.
 *
 * The snapshot is replaced as a whole (copy on write) when
 * dl_iterate_phdr's adds/subs counters show a change. Readers announce
 * themselves in an atomic counter; the old snapshot is freed once no
 * reader is active, or leaked if a reader never leaves (a reader stuck in
 * a handler that never returns), which bounds a refresh's wait. Module
 * paths are not part of a snapshot: each distinct path is kept once for
 * the life of the process (intern_path), so a path handed out never
 * dangles, whatever refreshes other threads do.
 *
 * Another thread may dlclose an object while we look at it: its mapped
 * headers and notes are read with fs_safe_copy (a fault there is an
 * answer, not a crash), and what _dl_find_object said is checked again
 * after its link map was read.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "modules/modules.h"

/* One module of a snapshot, and where its build-id sits in its mapping:
 * what tells, at a lookup, that the object there is still this one. */
typedef struct snap_entry {
  faststack_module m; /* the path is interned (intern_path) */
  uintptr_t id_at;    /* 0: no build-id note found */
  unsigned id_len;    /* bytes at id_at, as they were (<= 20) */
  unsigned char id[20];
} snap_entry;

typedef struct fs_snapshot {
  unsigned long long adds, subs;
  int n;
  snap_entry mods[];
} fs_snapshot;

static char exe_path[4096];
static fs_snapshot *_Atomic current;
static _Atomic uint64_t snapshot_id = 1; /* bumped when current changes */
static _Atomic int active_readers;
static pthread_mutex_t refresh_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- build-id from mapped program headers (AS-safe, bounds-checked) ---- */

static int in_range(uintptr_t p, uintptr_t n, uintptr_t lo, uintptr_t hi)
{
  return p >= lo && p <= hi && n <= hi - p;
}

static void hex_id(const unsigned char *id, unsigned n, faststack_module *m)
{
  if (n > FASTSTACK_BUILD_ID_MAX) n = FASTSTACK_BUILD_ID_MAX;
  fs_hex_bytes(id, n, m->build_id);
  m->build_id_size = n;
}

/* The build-id in the notes of one PT_NOTE segment mapped at
 * [p, p+size), read with fs_safe_copy: up to max bytes into id, its
 * address in the mapping into *at; returns the bytes copied, 0 none. */
static unsigned note_build_id(uintptr_t p, uintptr_t size, unsigned char *id,
                              unsigned max, uintptr_t *at)
{
  uintptr_t end = p + size;
  while (end - p >= sizeof(ElfW(Nhdr))) {
    ElfW(Nhdr) nh;
    if (fs_safe_copy(&nh, p, sizeof nh) != 0) return 0;
    uintptr_t name = p + sizeof nh;
    uintptr_t nsz = ((uintptr_t)nh.n_namesz + 3) & ~(uintptr_t)3;
    uintptr_t dsz = ((uintptr_t)nh.n_descsz + 3) & ~(uintptr_t)3;
    if (nsz > end - name || dsz > end - name - nsz) return 0;
    if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && nh.n_descsz > 0 &&
        fs_safe_equal(name, "GNU", 4)) {
      unsigned n = nh.n_descsz < max ? nh.n_descsz : max;
      if (fs_safe_copy(id, name + nsz, n) != 0) return 0;
      if (at) *at = name + nsz;
      return n;
    }
    p = name + nsz + dsz;
  }
  return 0;
}

/* The build-id in the PT_NOTE segments of the phnum program headers at
 * ph (bounds [lo, hi)). */
static unsigned phdrs_build_id(uintptr_t ph, unsigned phnum, uintptr_t bias,
                               uintptr_t lo, uintptr_t hi, unsigned char *id,
                               unsigned max, uintptr_t *at)
{
  for (unsigned i = 0; i < phnum && i < 256; i++) {
    ElfW(Phdr) p;
    if (fs_safe_copy(&p, ph + i * sizeof p, sizeof p) != 0) return 0;
    if (p.p_type != PT_NOTE) continue;
    uintptr_t a = bias + p.p_vaddr;
    if (!in_range(a, p.p_memsz, lo, hi)) continue;
    unsigned n = note_build_id(a, p.p_memsz, id, max, at);
    if (n) return n;
  }
  return 0;
}

unsigned fs_mapped_build_id(uintptr_t start, uintptr_t end, uintptr_t bias,
                            unsigned char *id, unsigned max, uintptr_t *at)
{
  /* The ELF header sits at the start of an object's first segment. */
  ElfW(Ehdr) eh;
  if (!in_range(start, sizeof eh, start, end) ||
      fs_safe_copy(&eh, start, sizeof eh) != 0)
    return 0;
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_phentsize != sizeof(ElfW(Phdr)))
    return 0;
  uintptr_t ph = start + eh.e_phoff;
  if (eh.e_phoff > end - start ||
      !in_range(ph, (uintptr_t)eh.e_phnum * sizeof(ElfW(Phdr)), start, end))
    return 0;
  return phdrs_build_id(ph, eh.e_phnum, bias, start, end, id, max, at);
}

static void mapped_build_id(faststack_module *m)
{
  unsigned char id[FASTSTACK_BUILD_ID_MAX];
  unsigned n =
      fs_mapped_build_id(m->start, m->end, m->bias, id, sizeof id, NULL);
  if (n) hex_id(id, n, m);
}

/* ---- paths: each distinct one kept for the process's life ---- */

typedef struct path_chunk {
  struct path_chunk *next;
  size_t used, cap;
  char data[];
} path_chunk;

static path_chunk *path_chunks;
static const char **path_set; /* open addressing, NULL = empty */
static size_t path_set_cap, path_set_used;

static uint64_t path_hash(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int path_set_grow(void)
{
  size_t cap = path_set_cap ? path_set_cap * 2 : 256;
  const char **set = calloc(cap, sizeof *set);
  if (!set) return -1;
  for (size_t i = 0; i < path_set_cap; i++) {
    if (!path_set[i]) continue;
    size_t j = path_hash(path_set[i]) & (cap - 1);
    while (set[j]) j = (j + 1) & (cap - 1);
    set[j] = path_set[i];
  }
  free(path_set);
  path_set = set;
  path_set_cap = cap;
  return 0;
}

/* The kept copy of s; NULL when memory ran out. Caller holds
 * refresh_lock. */
static const char *intern_path(const char *s)
{
  if ((path_set_used + 1) * 2 > path_set_cap && path_set_grow() != 0)
    return NULL;
  size_t j = path_hash(s) & (path_set_cap - 1);
  for (; path_set[j]; j = (j + 1) & (path_set_cap - 1))
    if (!strcmp(path_set[j], s)) return path_set[j];
  size_t n = strlen(s) + 1;
  path_chunk *c = path_chunks;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > 16384 ? n : 16384;
    c = malloc(sizeof *c + cap);
    if (!c) return NULL;
    c->next = path_chunks;
    c->used = 0;
    c->cap = cap;
    path_chunks = c;
  }
  char *p = c->data + c->used;
  memcpy(p, s, n);
  c->used += n;
  path_set[j] = p;
  path_set_used++;
  return p;
}

/* ---- the snapshot ---- */

static fs_snapshot *snapshot_acquire(void)
{
  atomic_fetch_add(&active_readers, 1);
  return atomic_load(&current);
}

static void snapshot_release(void)
{
  atomic_fetch_sub(&active_readers, 1);
}

static const snap_entry *snapshot_find(const fs_snapshot *s, uintptr_t start)
{
  if (!s) return NULL;
  for (int i = 0; i < s->n; i++) /* tens of modules: a scan is fine */
    if (s->mods[i].m.start == start) return &s->mods[i];
  return NULL;
}

int fs_module_kept(const faststack_module *m)
{
  fs_snapshot *s = snapshot_acquire();
  const snap_entry *k = snapshot_find(s, m->start);
  int kept = k && k->m.path == m->path;
  snapshot_release();
  return kept;
}

/* The snapshot's entry is the object found only with the same bias, the
 * same name and the same build-id bytes where it had them: another
 * library (even another build of the same path) may sit where an
 * unloaded one was. The name is the loader's (read safely); "" names
 * the executable. */
static int same_object(const snap_entry *e, uintptr_t bias, const char *lname)
{
  if (!e || e->m.bias != bias) return 0;
  if (e->id_at && !fs_safe_equal(e->id_at, e->id, e->id_len)) return 0;
  const char *path = e->m.path;
  if (lname && fs_safe_streq((uintptr_t)lname, path)) return 1;
  return !strcmp(path, exe_path) &&
         (!lname || fs_safe_streq((uintptr_t)lname, ""));
}

FASTSTACK_API int faststack_module_find(uintptr_t pc, faststack_module *out)
{
  if (!out) return 0;
  fs_object d;
  if (!fs_object_find(pc, &d) || !fs_object_names(&d)) return 0;
  const char *lname = d.name;
  out->start = d.start;
  out->end = d.end;
  out->bias = d.bias;
  out->path = lname;
  out->build_id_size = 0;
  out->build_id[0] = '\0';
  fs_snapshot *s = snapshot_acquire();
  const snap_entry *e = snapshot_find(s, out->start);
  if (same_object(e, out->bias, lname)) {
    const faststack_module *m = &e->m;
    out->path = m->path; /* kept for the process's life */
    /* The hex string and its NUL only: this runs on every lookup. */
    memcpy(out->build_id, m->build_id, 2 * (size_t)m->build_id_size + 1);
    out->build_id_size = m->build_id_size;
  }
  snapshot_release();
  if (out->path == lname && (!lname || fs_safe_streq((uintptr_t)lname, "")))
    out->path = exe_path; /* not in the snapshot, and nameless */
  if (!out->build_id_size) mapped_build_id(out);
  /* The object must still be there: its link map (bias, name) was read
   * after the lookup answered. An object gone meanwhile is not found:
   * missing, not wrong. */
  fs_object again;
  if (!fs_object_find(pc, &again) || again.id != d.id || again.start != d.start)
    return 0;
  return 1;
}

/* ---- change notification ---- */

_Atomic uint64_t fs_modules_code_epoch = 1;
/* The generation last seen (0: none yet) and whether subscribers have
 * yet to hear of a change. */
static _Atomic unsigned long long seen_generation;
static _Atomic int change_pending;
static void (*_Atomic subscribers[4])(void);

/* Called by whoever read the counters: the first reader of a new
 * generation advances the epoch, so a change is noticed once. */
static void note_change(unsigned long long g)
{
  unsigned long long old = atomic_load(&seen_generation);
  if (old == g) return;
  if (!atomic_compare_exchange_strong(&seen_generation, &old, g)) return;
  if (old == 0) return; /* the first look: nothing was cached before it */
  atomic_fetch_add(&fs_modules_code_epoch, 1);
  atomic_store(&change_pending, 1);
}

static void notify(void)
{
  if (!atomic_exchange(&change_pending, 0)) return;
  for (int i = 0; i < 4; i++) {
    void (*fn)(void) = atomic_load(&subscribers[i]);
    if (fn) fn();
  }
}

int fs_modules_subscribe(void (*fn)(void))
{
  for (int i = 0; i < 4; i++) {
    void (*z)(void) = NULL;
    if (atomic_load(&subscribers[i]) == fn) return 0;
    if (atomic_compare_exchange_strong(&subscribers[i], &z, fn)) return 0;
  }
  return -1;
}

/* ---- refresh (not AS-safe) ---- */

typedef struct build_ctx {
  fs_snapshot *s; /* NULL: counting pass */
  int n;
  unsigned long long adds, subs;
} build_ctx;

static const char *module_name(const struct dl_phdr_info *info)
{
  return info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : exe_path;
}

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
  build_ctx *b = arg;
  if (size >=
      offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
    b->adds = info->dlpi_adds;
    b->subs = info->dlpi_subs;
  }
  const char *name = module_name(info);
  if (!b->s) {
    b->n++;
    return 0;
  }
  if (b->n >= b->s->n) return 1; /* objects appeared between the passes */
  snap_entry *e = &b->s->mods[b->n++];
  memset(e, 0, sizeof *e);
  faststack_module *m = &e->m;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uintptr_t a = info->dlpi_addr + ph->p_vaddr;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    a &= ~(page - 1);
    if (a < lo) lo = a;
    if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
      hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
  }
  m->start = lo == UINTPTR_MAX ? 0 : lo;
  m->end = hi;
  m->bias = info->dlpi_addr;
  m->path = intern_path(name);
  if (!m->path) m->path = "";
  unsigned char id[FASTSTACK_BUILD_ID_MAX];
  uintptr_t at = 0;
  unsigned idn =
      phdrs_build_id((uintptr_t)info->dlpi_phdr, info->dlpi_phnum,
                     info->dlpi_addr, m->start, m->end, id, sizeof id, &at);
  if (idn) hex_id(id, idn, m);
  if (idn) {
    e->id_at = at;
    e->id_len = idn < sizeof e->id ? idn : (unsigned)sizeof e->id;
    memcpy(e->id, id, e->id_len);
  }
  /* _dl_find_object reports the object's real mapping start: use it so
   * lookups by start match. */
  fs_object d;
  if (m->start && fs_object_find(m->start, &d)) {
    m->start = d.start;
    m->end = d.end;
  }
  return 0;
}

static int counters(struct dl_phdr_info *info, size_t size, void *arg)
{
  build_ctx *b = arg;
  if (size >=
      offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
    b->adds = info->dlpi_adds;
    b->subs = info->dlpi_subs;
  }
  return 1; /* the counters are the same in every entry: stop */
}

/* Caller holds refresh_lock. */
static int refresh_locked(void)
{
  build_ctx b = {0};
  fs_objects_refresh(); /* the lookup's own snapshot, when it has one */
  dl_iterate_phdr(counters, &b);
  /* An object came or went: code may have moved under cached PCs. */
  note_change(b.adds * 0x9e3779b97f4a7c15ull ^ b.subs);
  fs_snapshot *cur = atomic_load(&current);
  if (cur && cur->adds == b.adds && cur->subs == b.subs) {
    return cur->n;
  }
  memset(&b, 0, sizeof b);
  dl_iterate_phdr(collect, &b);
  size_t sz = sizeof(fs_snapshot) + (size_t)b.n * sizeof(snap_entry);
  fs_snapshot *s = malloc(sz);
  if (!s) return -1;
  s->n = b.n;
  s->adds = b.adds;
  s->subs = b.subs;
  build_ctx fill = {.s = s};
  /* The loader lock is not held between the passes: an object loaded in
   * between is dropped here (collect stops at n) and caught next time,
   * because the counters then differ. */
  dl_iterate_phdr(collect, &fill);
  s->n = fill.n;
  if (fill.adds != b.adds || fill.subs != b.subs)
    s->adds = (unsigned long long)-1;
  atomic_store(&current, s);
  atomic_fetch_add(&snapshot_id, 1);
  fs_retire(cur, &active_readers);
  return s->n;
}

FASTSTACK_API int faststack_modules_refresh(void)
{
  pthread_mutex_lock(&refresh_lock);
  int n = refresh_locked();
  pthread_mutex_unlock(&refresh_lock);
  notify();
  return n;
}

FASTSTACK_API int faststack_modules_list(faststack_module *out, int max)
{
  pthread_mutex_lock(&refresh_lock);
  int n = refresh_locked();
  if (n >= 0 && out) {
    fs_snapshot *s = atomic_load(&current);
    for (int i = 0; i < s->n && i < max; i++) out[i] = s->mods[i].m;
  }
  pthread_mutex_unlock(&refresh_lock);
  notify();
  return n;
}

/* Load-time setup: the executable's path (dl_iterate_phdr names it "")
 * and the first snapshot, so that signal-context lookups have build-ids
 * from the start. */
FS_CTOR_MODULES static void modules_init(void)
{
  ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
  exe_path[n > 0 ? n : 0] = '\0';
  fs_objects_init();
  faststack_modules_refresh();
}

/* ---- generation: has any object come or gone? ---- */

static int first_counters(struct dl_phdr_info *info, size_t size, void *arg)
{
  unsigned long long *g = arg;
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
    *g = info->dlpi_adds * 0x9e3779b97f4a7c15ull ^ info->dlpi_subs;
  return 1; /* the counters are the same in every entry: stop at once */
}

uint64_t fs_modules_snapshot_id(void)
{
  return atomic_load_explicit(&snapshot_id, memory_order_acquire);
}

unsigned long long fs_modules_generation(void)
{
  unsigned long long g = 0;
  fs_objects_refresh();
  dl_iterate_phdr(first_counters, &g);
  note_change(g);
  notify();
  return g;
}
