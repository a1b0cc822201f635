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
 * a handler that never returns), which bounds a refresh's wait.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "modules/modules.h"

typedef struct fs_snapshot {
  unsigned long long adds, subs;
  int n;
  faststack_module mods[]; /* paths point into the same allocation */
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

/* Walks the notes of one PT_NOTE segment mapped at [p, p+size): the
 * build-id's bytes, or NULL. */
static const unsigned char *note_build_id(uintptr_t p, uintptr_t size,
                                          unsigned *len)
{
  uintptr_t end = p + size;
  while (end - p >= sizeof(ElfW(Nhdr))) {
    const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
    uintptr_t name = p + sizeof *nh;
    uintptr_t nsz = ((uintptr_t)nh->n_namesz + 3) & ~(uintptr_t)3;
    uintptr_t dsz = ((uintptr_t)nh->n_descsz + 3) & ~(uintptr_t)3;
    if (nsz > end - name || dsz > end - name - nsz) return NULL;
    if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
        memcmp((const void *)name, "GNU", 4) == 0 && nh->n_descsz > 0) {
      *len = nh->n_descsz;
      return (const unsigned char *)(name + nsz);
    }
    p = name + nsz + dsz;
  }
  return NULL;
}

/* The build-id in the PT_NOTE segments of phdrs (bounds [lo, hi)). */
static const unsigned char *phdrs_build_id(const ElfW(Phdr) * ph,
                                           unsigned phnum, uintptr_t bias,
                                           uintptr_t lo, uintptr_t hi,
                                           unsigned *len)
{
  for (unsigned i = 0; i < phnum; i++) {
    if (ph[i].p_type != PT_NOTE) continue;
    uintptr_t p = bias + ph[i].p_vaddr;
    if (!in_range(p, ph[i].p_memsz, lo, hi)) continue;
    const unsigned char *id = note_build_id(p, ph[i].p_memsz, len);
    if (id) return id;
  }
  return NULL;
}

const unsigned char *fs_mapped_build_id(uintptr_t start, uintptr_t end,
                                        uintptr_t bias, unsigned *len)
{
  /* The ELF header sits at the start of an object's first segment. */
  const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)start;
  if (!in_range(start, sizeof *eh, start, end)) return NULL;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
      eh->e_phentsize != sizeof(ElfW(Phdr)))
    return NULL;
  uintptr_t ph = start + eh->e_phoff;
  if (eh->e_phoff > end - start ||
      !in_range(ph, (uintptr_t)eh->e_phnum * sizeof(ElfW(Phdr)), start, end))
    return NULL;
  return phdrs_build_id((const ElfW(Phdr) *)ph, eh->e_phnum, bias, start, end,
                        len);
}

static void mapped_build_id(faststack_module *m)
{
  unsigned n;
  const unsigned char *id = fs_mapped_build_id(m->start, m->end, m->bias, &n);
  if (id) hex_id(id, n, m);
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

static const faststack_module *snapshot_find(const fs_snapshot *s,
                                             uintptr_t start)
{
  if (!s) return NULL;
  for (int i = 0; i < s->n; i++) /* tens of modules: a scan is fine */
    if (s->mods[i].start == start) return &s->mods[i];
  return NULL;
}

FASTSTACK_API int faststack_module_find(uintptr_t pc, faststack_module *out)
{
  if (!out) return 0;
  fs_object d;
  if (!fs_object_find(pc, &d)) return 0;
  out->start = d.start;
  out->end = d.end;
  out->bias = d.bias;
  out->path = d.name[0] ? d.name : exe_path;
  out->build_id_size = 0;
  out->build_id[0] = '\0';
  fs_snapshot *s = snapshot_acquire();
  const faststack_module *m = snapshot_find(s, out->start);
  if (m && m->bias == out->bias) {
    /* The hex string and its NUL only: this runs on every lookup. */
    memcpy(out->build_id, m->build_id, 2 * (size_t)m->build_id_size + 1);
    out->build_id_size = m->build_id_size;
  }
  snapshot_release();
  if (!out->build_id_size) mapped_build_id(out);
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
  size_t path_bytes;
  char *paths;
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
    b->path_bytes += strlen(name) + 1;
    return 0;
  }
  if (b->n >= b->s->n) return 1; /* objects appeared between the passes */
  faststack_module *m = &b->s->mods[b->n++];
  memset(m, 0, sizeof *m);
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
  size_t len = strlen(name);
  memcpy(b->paths, name, len + 1);
  m->path = b->paths;
  b->paths += len + 1;
  unsigned idn;
  const unsigned char *id =
      phdrs_build_id(info->dlpi_phdr, info->dlpi_phnum, info->dlpi_addr,
                     m->start, m->end, &idn);
  if (id) hex_id(id, idn, m);
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

static void retire(fs_snapshot *old)
{
  if (!old) return;
  /* Wait (boundedly) for readers that may still hold the old pointer. */
  for (int i = 0; i < 100000; i++) {
    if (atomic_load(&active_readers) == 0) {
      free(old);
      return;
    }
    sched_yield();
  }
  /* A reader never left (e.g. stuck in a handler): leak rather than risk
   * freeing memory in use. */
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
  size_t sz = sizeof(fs_snapshot) + (size_t)b.n * sizeof(faststack_module);
  fs_snapshot *s = malloc(sz + b.path_bytes);
  if (!s) return -1;
  s->n = b.n;
  s->adds = b.adds;
  s->subs = b.subs;
  build_ctx fill = {.s = s, .paths = (char *)s + sz};
  /* The loader lock is not held between the passes: an object loaded in
   * between is dropped here (collect stops at n) and caught next time,
   * because the counters then differ. */
  dl_iterate_phdr(collect, &fill);
  s->n = fill.n;
  if (fill.adds != b.adds || fill.subs != b.subs)
    s->adds = (unsigned long long)-1;
  atomic_store(&current, s);
  atomic_fetch_add(&snapshot_id, 1);
  retire(cur);
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
    for (int i = 0; i < s->n && i < max; i++) out[i] = s->mods[i];
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
