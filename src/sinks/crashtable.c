/* crashtable.c — the lookup table a crash handler symbolizes with.
 *
 * A crash handler cannot run the symbolizer: it allocates, takes locks
 * and reads files. So, like Go's pclntab, every loaded module gets a
 * compact, sorted, read-only table prepared beforehand by a background
 * thread (at install, then whenever modules are loaded), in its own mmap:
 *
 *   ranges  [lo, hi) module-relative (ELF virtual addresses), sorted,
 *           disjoint -> the function's start, and a slice of frames
 *   frames  (function, file, line, inlined) — the inline chain of the
 *           range, innermost first, then the physical function
 *   strings NUL-terminated, deduplicated
 *
 * A lookup is a binary search over the ranges: no allocation, no lock, no
 * system call. Tables are published in a fixed array of atomic pointers;
 * a lookup marks itself a reader so that a table is unmapped (after its
 * module was unloaded) only once no reader can still see it.
 *
 * Where the entries come from:
 *   - the function symbols of the module's file (.symtab, else .dynsym):
 *     exact [start, start+size) ranges with names — always;
 *   - when the library has the symbolizer, each function's bytes are
 *     symbolized one address at a time and runs of equal results merged
 *     into ranges with file, line and inline chain: exact (every address
 *     the handler might be asked about is covered) at the cost of one
 *     lookup per code byte on the background thread. The DWARF reader has
 *     no row enumeration interface yet; with one, the ranges would come
 *     straight from the line table rows and inline ranges instead.
 * A module's table is capped (64 MiB by default); a module that would
 * exceed it keeps the ranges built so far (by address), and PCs beyond
 * print raw. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sinks/sinks.h"

#define FS_CTAB_MAX 1024
#define FS_CTAB_DEFAULT_CAP ((size_t)64 << 20)
#define FS_CTAB_POLL_MS 2000

typedef struct ctab_range {
  uint32_t lo, hi;  /* module-relative [lo, hi) */
  uint32_t func_lo; /* start of the physical function */
  uint32_t frame;   /* first frame */
  uint32_t nframes;
} ctab_range;

typedef struct ctab_frame {
  uint32_t function; /* string offset; 0 = unknown */
  uint32_t file;     /* string offset; 0 = unknown */
  int32_t line;
  uint32_t inlined;
  uint32_t text; /* the source line, read when the table was built
                           (and not newer than the module); 0 = none.
                           Last: frames compare equal without it. */
} ctab_frame;

typedef struct ctab {
  uintptr_t start; /* the module's load address: the key */
  char build_id[2 * FASTSTACK_BUILD_ID_MAX + 1];
  char path[256]; /* for modules without a build-id */
  size_t map_size;
  uint32_t nranges, nframes;
  const ctab_range *ranges;
  const ctab_frame *frames;
  const char *strings;
} ctab;

static ctab *_Atomic tables[FS_CTAB_MAX];
static _Atomic int readers;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kick_cond = PTHREAD_COND_INITIALIZER;
static int started, kicked;
static size_t cap_bytes = FS_CTAB_DEFAULT_CAP;

/* ------------------------------------------------------------- lookups */

void fs_ctab_enter(void)
{
  atomic_fetch_add(&readers, 1);
}

void fs_ctab_leave(void)
{
  atomic_fetch_sub(&readers, 1);
}

static int same_module(const ctab *t, uintptr_t start, const char *build_id,
                       const char *path)
{
  if (t->start != start) return 0;
  if (build_id && build_id[0]) return strcmp(t->build_id, build_id) == 0;
  return !t->build_id[0] && path && strcmp(t->path, path) == 0;
}

int fs_ctab_lookup(uintptr_t start, const char *build_id, uintptr_t at,
                   fs_ctab_frame *out, int max)
{
  if (max <= 0 || at > UINT32_MAX) return 0;
  for (int i = 0; i < FS_CTAB_MAX; i++) {
    const ctab *t = atomic_load_explicit(&tables[i], memory_order_acquire);
    if (!t || t->start != start) continue;
    /* A module without build-id is matched by its start only here (its
     * path is not at hand); the builder drops tables of unloaded modules
     * before another one can take the same address. */
    if (build_id && build_id[0] && strcmp(t->build_id, build_id) != 0) continue;
    uint32_t a = (uint32_t)at;
    uint32_t lo = 0, hi = t->nranges;
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (t->ranges[mid].hi <= a) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= t->nranges || t->ranges[lo].lo > a) return 0;
    const ctab_range *r = &t->ranges[lo];
    int n = 0;
    for (uint32_t k = 0; k < r->nframes && n < max; k++) {
      const ctab_frame *f = &t->frames[r->frame + k];
      out[n].function = f->function ? t->strings + f->function : NULL;
      out[n].file = f->file ? t->strings + f->file : NULL;
      out[n].line = f->line;
      out[n].inlined = (int)f->inlined;
      out[n].text = f->text ? t->strings + f->text : NULL;
      out[n].func_offset = f->inlined ? 0 : a - r->func_lo;
      n++;
    }
    return n;
  }
  return 0;
}

/* ------------------------------------------------------------- building
 * Everything below runs on the builder thread (or the installing thread
 * in sync mode): ordinary code, malloc allowed. */

typedef struct strpool {
  char *buf;
  size_t len, cap;
  uint32_t *slots; /* open addressing: offsets, 0 = empty */
  size_t nslots, used;
} strpool;

static uint64_t hash_str(const char *s, size_t n)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static int pool_grow_slots(strpool *p)
{
  size_t ns = p->nslots ? p->nslots * 2 : 1024;
  uint32_t *s = calloc(ns, sizeof *s);
  if (!s) return -1;
  for (size_t i = 0; i < p->nslots; i++) {
    uint32_t off = p->slots[i];
    if (!off) continue;
    const char *str = p->buf + off;
    size_t j = hash_str(str, strlen(str)) & (ns - 1);
    while (s[j]) j = (j + 1) & (ns - 1);
    s[j] = off;
  }
  free(p->slots);
  p->slots = s;
  p->nslots = ns;
  return 0;
}

/* Interns s (NULL -> 0). Returns its offset, or UINT32_MAX on OOM. */
static uint32_t pool_add(strpool *p, const char *s)
{
  if (!s || !*s) return 0;
  size_t n = strlen(s);
  if (n > 4096) n = 4096;
  if ((p->used + 1) * 2 > p->nslots && pool_grow_slots(p) != 0)
    return UINT32_MAX;
  uint64_t h = hash_str(s, n);
  size_t j = h & (p->nslots - 1);
  while (p->slots[j]) {
    const char *e = p->buf + p->slots[j];
    if (!strncmp(e, s, n) && e[n] == '\0') return p->slots[j];
    j = (j + 1) & (p->nslots - 1);
  }
  if (p->len + n + 1 > p->cap) {
    size_t nc = p->cap ? p->cap * 2 : 65536;
    while (nc < p->len + n + 1) nc *= 2;
    if (nc > UINT32_MAX) return UINT32_MAX;
    char *b = realloc(p->buf, nc);
    if (!b) return UINT32_MAX;
    p->buf = b;
    p->cap = nc;
  }
  if (p->len == 0) p->buf[p->len++] = '\0'; /* offset 0 means none */
  uint32_t off = (uint32_t)p->len;
  memcpy(p->buf + p->len, s, n);
  p->buf[p->len + n] = '\0';
  p->len += n + 1;
  p->slots[j] = off;
  p->used++;
  return off;
}

typedef struct builder {
  strpool pool;
  ctab_range *ranges;
  size_t nranges, cranges;
  ctab_frame *frames;
  size_t nframes, cframes;
  size_t limit;
  int full;
  const char *module; /* its path, for the source lines' staleness check */
} builder;

static size_t builder_bytes(const builder *b)
{
  return sizeof(ctab) + b->nranges * sizeof(ctab_range) +
         b->nframes * sizeof(ctab_frame) + b->pool.len;
}

static int push_frame(builder *b, const ctab_frame *f)
{
  if (b->nframes == b->cframes) {
    size_t nc = b->cframes ? b->cframes * 2 : 4096;
    ctab_frame *p = realloc(b->frames, nc * sizeof *p);
    if (!p) return -1;
    b->frames = p;
    b->cframes = nc;
  }
  b->frames[b->nframes++] = *f;
  return 0;
}

static int push_range(builder *b, uint32_t lo, uint32_t hi, uint32_t func_lo,
                      uint32_t frame, uint32_t nframes)
{
  if (b->nranges == b->cranges) {
    size_t nc = b->cranges ? b->cranges * 2 : 4096;
    ctab_range *p = realloc(b->ranges, nc * sizeof *p);
    if (!p) return -1;
    b->ranges = p;
    b->cranges = nc;
  }
  b->ranges[b->nranges++] = (ctab_range){lo, hi, func_lo, frame, nframes};
  if (builder_bytes(b) > b->limit) b->full = 1;
  return 0;
}

typedef struct fsym {
  uint64_t lo, hi;
  const char *name;
} fsym;

/* The symbolizer's function symbols as fsym ranges (sized ones; overlaps
 * clipped so ranges stay disjoint). */
static fsym *symbolizer_symbols(faststack_symbolizer *s, size_t *nout)
{
  const fs_sym *f;
  size_t n = fs_symbolizer_functions(s, &f), k = 0;
  *nout = 0;
  if (!n) return NULL;
  fsym *out = malloc(n * sizeof *out);
  if (!out) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (!f[i].size || f[i].addr > UINT32_MAX ||
        f[i].size > UINT32_MAX - f[i].addr)
      continue;
    if (k && f[i].addr < out[k - 1].hi) out[k - 1].hi = f[i].addr;
    out[k++] = (fsym){f[i].addr, f[i].addr + f[i].size, f[i].name};
  }
  *nout = k;
  return out;
}

/* Frames of one address from the symbolizer, into b; returns how many
 * were appended (0: unknown), -1 on OOM. */
#define FS_CTAB_INLINE_MAX 8
static int symbolize_at(builder *b, faststack_symbolizer *s, uint64_t addr,
                        uint32_t *func_lo)
{
  faststack_frame fr[FS_CTAB_INLINE_MAX];
  char strbuf[4096];
  int n = faststack_symbolize(s, (uintptr_t)addr, FASTSTACK_PC_EXACT, fr,
                              FS_CTAB_INLINE_MAX, strbuf, sizeof strbuf);
  if (n <= 0 || (!fr[0].function && !fr[0].file)) return 0;
  for (int i = 0; i < n; i++) {
    ctab_frame f = {pool_add(&b->pool, fr[i].function),
                    pool_add(&b->pool, fr[i].file), fr[i].line,
                    (uint32_t)fr[i].inlined, 0};
    if (f.function == UINT32_MAX || f.file == UINT32_MAX ||
        push_frame(b, &f) != 0)
      return -1;
    if (!fr[i].inlined && fr[i].function_offset <= addr)
      *func_lo = (uint32_t)(addr - fr[i].function_offset);
  }
  return n;
}

static int frames_equal(const builder *b, size_t x, size_t y, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (memcmp(&b->frames[x + i], &b->frames[y + i],
               offsetof(ctab_frame, text)))
      return 0;
  return 1;
}

/* The source lines of a new run's frames, read now (on the builder's
 * thread) through the annotate stage so the handler never reads a file.
 * Only current lines are kept: a source newer than the module is not
 * shown as if it were the code that runs. */
static void add_text(builder *b, size_t first, size_t n)
{
  faststack_sources *src = faststack_default_sources();
  for (size_t i = first; src && i < first + n; i++) {
    if (!b->frames[i].file || b->frames[i].line <= 0) continue;
    faststack_frame fr;
    memset(&fr, 0, sizeof fr);
    fr.file = b->pool.buf + b->frames[i].file;
    fr.line = b->frames[i].line;
    fr.module = b->module;
    faststack_source_line l;
    char buf[512];
    if (faststack_annotate(src, &fr, 1, &l, buf, sizeof buf) != 0 ||
        l.status != FASTSTACK_LINE_OK || !l.text)
      continue;
    uint32_t t = pool_add(&b->pool, l.text);
    if (t != UINT32_MAX) b->frames[i].text = t;
  }
}

/* One function's bytes through the symbolizer, merging equal runs. */
static int add_function_detailed(builder *b, faststack_symbolizer *s,
                                 const fsym *f)
{
  uint32_t cur_lo = 0, cur_frame = 0, cur_n = 0, cur_func = (uint32_t)f->lo;
  int have = 0;
  for (uint64_t a = f->lo; a < f->hi && !b->full; a++) {
    size_t before = b->nframes;
    uint32_t func_lo = (uint32_t)f->lo;
    int n = symbolize_at(b, s, a, &func_lo);
    if (n < 0) return -1;
    if (have && (uint32_t)n == cur_n && func_lo == cur_func &&
        frames_equal(b, cur_frame, before, (size_t)n)) {
      b->nframes = before; /* same as the run: extend it */
      continue;
    }
    if (have &&
        push_range(b, cur_lo, (uint32_t)a, cur_func, cur_frame, cur_n) != 0)
      return -1;
    have = n > 0;
    if (have) add_text(b, before, (size_t)n);
    cur_lo = (uint32_t)a;
    cur_frame = (uint32_t)before;
    cur_n = (uint32_t)n;
    cur_func = func_lo;
  }
  if (have &&
      push_range(b, cur_lo, (uint32_t)f->hi, cur_func, cur_frame, cur_n) != 0)
    return -1;
  return 0;
}

static int add_function_name(builder *b, const fsym *f)
{
  ctab_frame fr = {pool_add(&b->pool, f->name), 0, 0, 0, 0};
  if (fr.function == UINT32_MAX || push_frame(b, &fr) != 0) return -1;
  return push_range(b, (uint32_t)f->lo, (uint32_t)f->hi, (uint32_t)f->lo,
                    (uint32_t)(b->nframes - 1), 1);
}

/* Lays the builder's arrays out in one mapping, read-only. */
static ctab *seal(builder *b, const faststack_module *m)
{
  size_t total = sizeof(ctab) + b->nranges * sizeof(ctab_range) +
                 b->nframes * sizeof(ctab_frame) + b->pool.len + 1;
  void *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  ctab *t = p;
  char *w = (char *)(t + 1);
  t->start = m->start;
  memcpy(t->build_id, m->build_id, sizeof t->build_id);
  strncpy(t->path, m->path ? m->path : "", sizeof t->path - 1);
  t->map_size = total;
  t->nranges = (uint32_t)b->nranges;
  t->nframes = (uint32_t)b->nframes;
  t->ranges = (const ctab_range *)w;
  if (b->nranges) memcpy(w, b->ranges, b->nranges * sizeof(ctab_range));
  w += b->nranges * sizeof(ctab_range);
  t->frames = (const ctab_frame *)w;
  if (b->nframes) memcpy(w, b->frames, b->nframes * sizeof(ctab_frame));
  w += b->nframes * sizeof(ctab_frame);
  t->strings = w;
  if (b->pool.len) memcpy(w, b->pool.buf, b->pool.len);
  else w[0] = '\0';
  /* Read-only from now on: a wild write elsewhere cannot corrupt what
   * the crash report will read. */
  mprotect(p, total, PROT_READ);
  return t;
}

static void builder_free(builder *b)
{
  free(b->pool.buf);
  free(b->pool.slots);
  free(b->ranges);
  free(b->frames);
}

/* Builds the table of one module (an empty one when its file cannot be
 * read, so that waiting for tables ends). */
static ctab *build(const faststack_module *m)
{
  builder b;
  memset(&b, 0, sizeof b);
  b.limit = cap_bytes;
  b.module = m->path;
  size_t nsyms = 0;
  faststack_symbolizer *s = NULL;
  if (m->path && m->path[0] == '/')
    s = faststack_symbolizer_open(m->path, NULL, NULL);
  /* The symbolizer's symbols include a stripped library's debug-file
   * .symtab (glibc's internal functions: __strlen_avx2, ...). */
  fsym *syms = s ? symbolizer_symbols(s, &nsyms) : NULL;
  for (size_t i = 0; i < nsyms && !b.full; i++) {
    size_t mark_r = b.nranges;
    int rc = s ? add_function_detailed(&b, s, &syms[i]) : -1;
    if (rc != 0 || b.nranges == mark_r) {
      /* No debug info here: the symbol's name at least. */
      b.nranges = mark_r;
      if (add_function_name(&b, &syms[i]) != 0) break;
    }
  }
  if (s && fs_symbolizer_changed(s)) {
    /* The file shrank while we read it: what came from it may be wrong
     * (names cut where pages turned to zeros). The module prints raw. */
    b.nranges = b.nframes = 0;
    b.pool.len = 0;
  }
  if (s) faststack_symbolizer_free(s);
  free(syms);
  ctab *t = seal(&b, m);
  builder_free(&b);
  return t;
}

static int known(const faststack_module *m)
{
  for (int i = 0; i < FS_CTAB_MAX; i++) {
    ctab *t = atomic_load(&tables[i]);
    if (t && same_module(t, m->start, m->build_id, m->path)) return 1;
  }
  return 0;
}

static void publish(ctab *t)
{
  for (int i = 0; i < FS_CTAB_MAX; i++) {
    ctab *z = NULL;
    if (atomic_compare_exchange_strong(&tables[i], &z, t)) return;
  }
  munmap(t, t->map_size); /* registry full: the module prints raw */
}

/* Tables of modules no longer loaded: unpublish, wait for readers, unmap
 * (or leak if a reader never leaves — a reader stuck in a handler). */
static void sweep(const faststack_module *mods, int n)
{
  for (int i = 0; i < FS_CTAB_MAX; i++) {
    ctab *t = atomic_load(&tables[i]);
    if (!t) continue;
    int alive = 0;
    for (int k = 0; k < n && !alive; k++)
      alive = same_module(t, mods[k].start, mods[k].build_id, mods[k].path);
    if (alive) continue;
    atomic_store(&tables[i], NULL);
    int w = 0;
    while (atomic_load(&readers) > 0 && w++ < 1000) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
    if (atomic_load(&readers) == 0) munmap(t, t->map_size);
  }
}

/* The loaded modules, all of them (a partial list would make sweep drop
 * the tables of the ones left out); NULL when they keep changing or
 * memory ran out. */
static faststack_module *list_modules(int *count)
{
  for (int tries = 0; tries < 8; tries++) {
    int n = faststack_modules_list(NULL, 0);
    if (n <= 0) return NULL;
    faststack_module *mods = malloc((size_t)n * sizeof *mods);
    if (!mods) return NULL;
    int k = faststack_modules_list(mods, n);
    if (k >= 0 && k <= n) {
      *count = k;
      return mods;
    }
    free(mods); /* objects were loaded in between: again */
  }
  return NULL;
}

/* One pass: tables for new modules, none for gone ones. */
static void pass(void)
{
  faststack_modules_refresh();
  int n = 0;
  faststack_module *mods = list_modules(&n);
  if (!mods) return;
  /* The listed paths are kept for the process's life (modules.c): no
   * refresh in another thread can free them under us. */
  sweep(mods, n);
  for (int i = 0; i < n; i++) {
    if (known(&mods[i]) || !mods[i].path) continue;
    ctab *t = build(&mods[i]);
    if (t) publish(t);
  }
  free(mods);
}

static void *builder_main(void *arg)
{
  (void)arg;
  pthread_mutex_lock(&lock);
  for (;;) {
    kicked = 0;
    pthread_mutex_unlock(&lock);
    pass();
    pthread_mutex_lock(&lock);
    if (kicked) continue;
    /* dlopen in a preloaded program kicks us; linked-in programs rely on
     * this poll (cheap: the module list is only rebuilt on change). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += FS_CTAB_POLL_MS / 1000;
    while (!kicked &&
           pthread_cond_timedwait(&kick_cond, &lock, &ts) != ETIMEDOUT)
      ;
  }
  return NULL;
}

/* Objects came or went (modules.h): look for new modules now. */
static void kick(void)
{
  pthread_mutex_lock(&lock);
  kicked = 1;
  pthread_cond_signal(&kick_cond);
  pthread_mutex_unlock(&lock);
}

int fs_ctab_start(int mode, size_t max_bytes)
{
  if (mode <= 0) return 0;
  pthread_mutex_lock(&lock);
  if (max_bytes) cap_bytes = max_bytes;
  int need_thread = !started;
  started = 1;
  pthread_mutex_unlock(&lock);
  if (need_thread) fs_modules_subscribe(kick);
  if (mode == 2) pass();
  if (!need_thread) return 0;
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  int rc = pthread_create(&t, &a, builder_main, NULL);
  pthread_attr_destroy(&a);
  if (rc != 0) {
    errno = rc;
    return -1;
  }
  pthread_setname_np(t, "faststack-table");
  return 0;
}

int fs_ctab_wait(int timeout_ms)
{
  pthread_mutex_lock(&lock);
  int on = started;
  pthread_mutex_unlock(&lock);
  if (!on) return 0;
  kick();
  for (int waited = 0;; waited += 5) {
    faststack_modules_refresh();
    faststack_module mods[256];
    int n = faststack_modules_list(mods, 256);
    int ready = n > 0;
    for (int i = 0; i < n && i < 256 && ready; i++) {
      /* The vDSO has no file: nothing to wait for. */
      if (!mods[i].path || mods[i].path[0] != '/') continue;
      ready = known(&mods[i]);
    }
    if (ready) return 1;
    if (waited >= timeout_ms) return 0;
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
}
