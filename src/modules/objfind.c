/* objfind.c — which loaded object holds a PC, async-signal-safely:
 * glibc's _dl_find_object where the C library has it (glibc 2.35 and
 * later, looked up at load time with dlsym so that one binary runs on
 * older glibc too), else a snapshot of the loaded objects.
 *
 * The snapshot is built outside signal context with dl_iterate_phdr: one
 * sorted array of {mapped range, bias, .eh_frame_hdr, name}, published
 * whole through an atomic pointer (copy on write) and searched with a
 * binary search, no lock. It is rebuilt when dl_iterate_phdr's adds and
 * subs counters change, which the modules stage checks on every refresh
 * (faststack_modules_refresh: `faststack run`'s preload calls it after
 * each dlopen and dlclose) and every generation query (once per
 * one-call trace). An object loaded and not yet seen by a refresh is not
 * found (its frames are missing, never wrong). An object unloaded and
 * not yet seen would still be listed, so a lookup reads nothing of an
 * object from the snapshot but the entry itself: the callers read the
 * object's memory only at addresses they were handed by its own code
 * (a return address on the stack) or after checking it is mapped.
 *
 * Readers announce themselves in an atomic counter; a replaced snapshot
 * is freed once no reader is active, or leaked if one never leaves (a
 * reader stuck in a handler that never returns), which bounds the
 * rebuild's wait. FASTSTACK_MODULE_LOOKUP=snapshot selects the snapshot
 * on glibc too (tests and benchmarks). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "modules/modules.h"

/* glibc's struct dl_find_object (dlfcn.h, 2.35), declared here so the
 * library builds against C libraries without it. */
typedef struct fs_dlfo {
  unsigned long long flags;
  void *map_start, *map_end;
  struct link_map *link_map;
  void *eh_frame;
  unsigned long long reserved[7];
} fs_dlfo;
typedef int (*fs_dlfo_fn)(void *, fs_dlfo *);

typedef struct fs_objent {
  uintptr_t start, end, bias;
  const uint8_t *eh_frame_hdr;
  const char *name;
} fs_objent;

typedef struct fs_objtab {
  unsigned long long adds, subs;
  size_t n;
  fs_objent e[]; /* sorted by start; names follow the array */
} fs_objtab;

static fs_dlfo_fn dlfo;
static int inited;
static fs_objtab *_Atomic table;
static _Atomic int readers;
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;

int fs_objects_snapshot_mode(void)
{
  return inited && !dlfo;
}

/* ------------------------------------------------------------- lookup */

int fs_link_map_read(const void *lmv, uintptr_t *bias, const char **name)
{
  const struct link_map *lm = lmv;
  *bias = 0;
  *name = NULL;
  if (!lm) return 1;
  /* l_addr and l_name are the first two fields of the public part: one
   * copy (a system call when no fixup handler is in place). */
  struct {
    ElfW(Addr) addr;
    char *name;
  } head;
  _Static_assert(offsetof(struct link_map, l_name) == sizeof(ElfW(Addr)),
                 "l_addr, then l_name");
  if (fs_safe_copy(&head, (uintptr_t)lm, sizeof head) != 0) return 0;
  *bias = head.addr;
  *name = head.name;
  return 1;
}

const char *fs_link_map_name(const void *lm)
{
  uintptr_t bias;
  const char *name;
  return fs_link_map_read(lm, &bias, &name) ? name : NULL;
}

/* Only what _dl_find_object itself answers: the capture stage's lookups
 * (code ranges, unwind tables) need no more, and stay free of the link
 * map reads fs_object_names makes. */
static int find_dlfo(uintptr_t pc, fs_object *o)
{
  fs_dlfo d;
  if (dlfo((void *)pc, &d) != 0) return 0;
  o->start = (uintptr_t)d.map_start;
  o->end = (uintptr_t)d.map_end;
  o->bias = 0;
  o->eh_frame_hdr = d.eh_frame;
  o->name = NULL;
  o->id = d.link_map;
  o->named = 0;
  return 1;
}

int fs_object_names(fs_object *o)
{
  if (o->named) return 1;
  /* The link map is read with fs_safe_copy: a dlclose in another thread
   * may free it any moment (callers that keep what they read check again
   * that the object is still found). Its name pointer is the loader's:
   * read it with fs_safe_* only. */
  const char *name;
  if (!fs_link_map_read(o->id, &o->bias, &name)) return 0;
  o->name = name ? name : "";
  o->named = 1;
  return 1;
}

static int find_snapshot(uintptr_t pc, fs_object *o)
{
  atomic_fetch_add(&readers, 1);
  const fs_objtab *t = atomic_load(&table);
  int found = 0;
  if (t) {
    size_t a = 0, b = t->n; /* the last entry with start <= pc */
    while (a < b) {
      size_t m = a + (b - a) / 2;
      if (t->e[m].start <= pc) a = m + 1;
      else b = m;
    }
    const fs_objent *e = a ? &t->e[a - 1] : NULL;
    if (e && pc < e->end) {
      o->start = e->start;
      o->end = e->end;
      o->bias = e->bias;
      o->eh_frame_hdr = e->eh_frame_hdr;
      o->name = e->name;
      o->id = e;
      o->named = 1;
      found = 1;
    }
  }
  atomic_fetch_sub(&readers, 1);
  return found;
}

int fs_object_find(uintptr_t pc, fs_object *o)
{
  if (pc == 0) return 0;
  if (FS_LIKELY(dlfo != NULL)) return find_dlfo(pc, o);
  return find_snapshot(pc, o);
}

/* ----------------------------------------------------------- building */

typedef struct build {
  fs_objtab *t; /* NULL: the counting pass */
  size_t n, name_bytes, idx;
  char *names;
  unsigned long long adds, subs;
} build;

static void read_counters(struct dl_phdr_info *info, size_t size, build *b)
{
  if (size >=
      offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
    b->adds = info->dlpi_adds;
    b->subs = info->dlpi_subs;
  }
}

/* dl_iterate_phdr lists the executable first; its name is "" there on
 * glibc, a path or argv[0] elsewhere: "" for it, as _dl_find_object's
 * link map has it. */
static const char *entry_name(struct dl_phdr_info *info, size_t idx)
{
  return idx == 0 || !info->dlpi_name ? "" : info->dlpi_name;
}

static void fill(fs_objent *e, struct dl_phdr_info *info)
{
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  e->eh_frame_hdr = NULL;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    uintptr_t a = info->dlpi_addr + ph->p_vaddr;
    if (ph->p_type == PT_GNU_EH_FRAME) e->eh_frame_hdr = (const uint8_t *)a;
    if (ph->p_type != PT_LOAD) continue;
    if ((a & ~(page - 1)) < lo) lo = a & ~(page - 1);
    if (a + ph->p_memsz > hi) hi = a + ph->p_memsz;
  }
  e->start = lo == UINTPTR_MAX ? 0 : lo;
  e->end = hi;
  e->bias = info->dlpi_addr;
}

static int collect(struct dl_phdr_info *info, size_t size, void *arg)
{
  build *b = arg;
  read_counters(info, size, b);
  const char *name = entry_name(info, b->idx++);
  if (!b->t) {
    b->n++;
    b->name_bytes += strlen(name) + 1;
    return 0;
  }
  if (b->n >= b->t->n) return 1; /* objects appeared between the passes */
  fs_objent *e = &b->t->e[b->n];
  fill(e, info);
  size_t len = strlen(name) + 1;
  if ((size_t)(b->names - (char *)&b->t->e[b->t->n]) + len > b->name_bytes)
    return 1;
  memcpy(b->names, name, len);
  e->name = b->names;
  b->names += len;
  if (e->start < e->end) b->n++; /* an object with no PT_LOAD: skipped */
  return 0;
}

static int counters_only(struct dl_phdr_info *info, size_t size, void *arg)
{
  read_counters(info, size, arg);
  return 1;
}

static int by_start(const void *a, const void *b)
{
  const fs_objent *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* Caller holds build_lock. */
static void rebuild(void)
{
  build b = {0};
  dl_iterate_phdr(counters_only, &b);
  fs_objtab *cur = atomic_load(&table);
  if (cur && cur->adds == b.adds && cur->subs == b.subs) return;
  memset(&b, 0, sizeof b);
  dl_iterate_phdr(collect, &b);
  size_t head = sizeof(fs_objtab) + b.n * sizeof(fs_objent);
  fs_objtab *t = malloc(head + b.name_bytes);
  if (!t) return;
  t->n = b.n;
  build f = {.t = t, .names = (char *)t + head, .name_bytes = b.name_bytes};
  dl_iterate_phdr(collect, &f);
  t->n = f.n;
  /* Counters that moved between the passes: rebuilt next time. */
  t->adds = f.adds == b.adds && f.subs == b.subs ? b.adds : ~0ull;
  t->subs = b.subs;
  qsort(t->e, t->n, sizeof t->e[0], by_start);
  atomic_store(&table, t);
  fs_retire(cur, &readers);
}

void fs_objects_refresh(void)
{
  if (!fs_objects_snapshot_mode()) return;
  pthread_mutex_lock(&build_lock);
  rebuild();
  pthread_mutex_unlock(&build_lock);
}

void fs_objects_init(void)
{
  if (inited) return;
  const char *m = getenv("FASTSTACK_MODULE_LOOKUP");
  if (!m || strcmp(m, "snapshot") != 0)
    dlfo = (fs_dlfo_fn)dlsym(RTLD_DEFAULT, "_dl_find_object");
  inited = 1;
  fs_objects_refresh();
}
