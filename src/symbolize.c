/* symbolize.c — the symbolize stage: program counters to frames.
 *
 * For each ELF object (a loaded module, or the one file of an offline
 * symbolizer) we keep an fs_symfile: the mapped binary, its separate debug
 * file if the binary has no DWARF (build-id directory, then
 * .gnu_debuglink), the DWARF index (dwarf.c, lazy) and a sorted function
 * symbol table (.symtab, else .dynsym) for what DWARF does not cover.
 * A symfile is opened on the first PC that falls in its object and kept
 * for the symbolizer's life; lookups afterwards take no lock of ours (the
 * DWARF reader has its own) and allocate nothing.
 *
 * Truthfulness: a loaded module whose file on disk has a different
 * build-id (replaced since it was loaded) is not read; its frames stay
 * unknown. A debug file is used only when its build-id or CRC matches. */
#define _GNU_SOURCE
#include <ctype.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <libiberty/demangle.h>

#include "dwarf.h"
#include "elfread.h"
#include "internal.h"

FS_REQUIRE_INIT;

/* Objects one process symbolizer follows; beyond it PCs stay unknown. */
#define FS_SYMFILES_MAX 4096

typedef struct fs_symfile {
  uintptr_t start;      /* the module's load address (0 offline) */
  char *path;           /* module path as the module map names it */
  const char *path_ptr; /* the module map's pointer to it (identity) */
  char build_id[2 * FASTSTACK_BUILD_ID_MAX + 1];
  unsigned build_id_size; /* bytes (the hex string is twice as long) */
  /* A loaded module's build-id in its mapped first page (always
   * readable, whatever is mapped there later) and its bytes as they
   * were: the identity a thread's hint checks (module_symfile). NULL
   * when the note is elsewhere or does not match build_id. */
  const unsigned char *mapped_id;
  unsigned char raw_id[20];
  fs_elf elf;           /* the object itself */
  fs_elf dbg;           /* its separate debug file, when used */
  int have_elf, have_dbg;
  fs_dwarf *dwarf;      /* NULL: no usable DWARF */
  fs_symtab syms;       /* may be empty */
} fs_symfile;

/* The PC cache (see pcc_get): answers of earlier lookups, so a warm PC
 * costs a hash probe, one record and a copy instead of a DWARF walk. */
#define FS_PCC_WAYS 8                 /* slots per bucket: one cache line */
#define FS_PCC_SLOTS 32768            /* x 8 bytes, allocated on first use */
#define FS_PCC_ARENA_MAX (16u << 20)  /* records and strings, then no more */
#define FS_PCC_CHUNK (64u << 10)

typedef struct pcc_frame {
  const char *function, *file; /* interned (pcc_intern), or NULL */
  const unsigned char *md5;    /* interned 16 bytes, or NULL */
  uint32_t function_offset;
  int32_t line;
  uint16_t function_len, file_len, column;
  uint8_t inlined, source;
} pcc_frame;

/* Immutable once published: readers follow the slot's pointer without
 * any lock, so a record is never changed or freed before the symbolizer
 * is. */
typedef struct pcc_rec {
  const struct fs_symfile *f;
  uint64_t addr;
  uint32_t nframes;
  pcc_frame fr[];
} pcc_rec;

/* Bump-allocated chunks holding records and interned strings. */
typedef struct pcc_chunk {
  struct pcc_chunk *next;
  size_t used, cap;
  _Alignas(16) unsigned char data[];
} pcc_chunk;

struct faststack_symbolizer {
  faststack_symbolizer_options opts;
  int offline;
  uint64_t id; /* unique for the process's life (threads' hints) */
  _Atomic uint64_t *_Atomic pcc; /* FS_PCC_SLOTS tagged pointers */
  pthread_mutex_t lock; /* opening symfiles, the error message */
  pthread_mutex_t pcc_lock; /* inserting into the PC cache */
  pcc_chunk *chunks;        /* the PC cache's arena */
  size_t arena_bytes;
  const char **interned;    /* open-addressing set of interned strings */
  size_t ninterned, intern_cap;
  pcc_rec **recs;           /* every record, by (symfile, address) */
  size_t nrecs, recs_cap;
  /* Offline: addresses asked once (a bit per hash). A file symbolized
   * offline is mostly asked each address once: its answers are cached
   * from the second time on. */
  _Atomic uint64_t seen[1024];
  fs_symfile *_Atomic files[FS_SYMFILES_MAX];
  _Atomic int nfiles;
  char err[256];
};

static void set_error(faststack_symbolizer *s, const char *what,
                      const char *path)
{
  pthread_mutex_lock(&s->lock);
  snprintf(s->err, sizeof s->err, "%s: %s", path ? path : "?", what);
  pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------ debug files */

static void hex(const uint8_t *id, unsigned n, char *out)
{
  for (unsigned i = 0; i < n; i++) {
    out[2 * i] = "0123456789abcdef"[id[i] >> 4];
    out[2 * i + 1] = "0123456789abcdef"[id[i] & 15];
  }
  out[2 * n] = '\0';
}

/* The debug roots: FASTSTACK_DEBUG_ROOT ("dir:dir"), else /usr/lib/debug.
 * Calls fn(root, len, arg) for each until it returns 1. */
static int each_debug_root(int (*fn)(const char *, size_t, void *), void *arg)
{
  const char *env = getenv("FASTSTACK_DEBUG_ROOT");
  const char *roots = env && *env ? env : "/usr/lib/debug";
  for (const char *p = roots; *p;) {
    const char *c = strchr(p, ':');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    if (n && fn(p, n, arg)) return 1;
    p += n + (c != NULL);
  }
  return 0;
}

typedef struct dbg_search {
  fs_symfile *f;
  const char *id_hex;      /* build-id search */
  const char *link, *dir;  /* debuglink search: name, binary's dir */
  uint32_t crc;
  uint8_t id[FASTSTACK_BUILD_ID_MAX];
  unsigned id_size;
} dbg_search;

/* Opens candidate as f->dbg if it is an ELF file with DWARF that belongs
 * to the binary (same build-id, or the debuglink CRC). */
static int try_debug_file(dbg_search *q, const char *cand, int check_crc)
{
  fs_elf d;
  if (fs_elf_open(&d, cand, NULL) != 0) return 0;
  int ok = fs_elf_has_section(&d, ".debug_info") ||
           fs_elf_has_section(&d, ".zdebug_info");
  if (ok && q->id_size) {
    uint8_t id[FASTSTACK_BUILD_ID_MAX];
    unsigned n = fs_elf_build_id(&d, id, sizeof id);
    ok = n == q->id_size && !memcmp(id, q->id, n);
  }
  if (ok && check_crc) {
    uint32_t crc;
    ok = fs_file_crc32(cand, &crc) == 0 && crc == q->crc;
  }
  if (!ok) {
    fs_elf_close(&d);
    return 0;
  }
  q->f->dbg = d;
  q->f->have_dbg = 1;
  return 1;
}

static int by_build_id(const char *root, size_t n, void *arg)
{
  dbg_search *q = arg;
  char p[PATH_MAX];
  int len = snprintf(p, sizeof p, "%.*s/.build-id/%.2s/%s.debug", (int)n,
                     root, q->id_hex, q->id_hex + 2);
  return len > 0 && (size_t)len < sizeof p && try_debug_file(q, p, 0);
}

static int by_link_in_root(const char *root, size_t n, void *arg)
{
  dbg_search *q = arg;
  char p[PATH_MAX];
  int len = snprintf(p, sizeof p, "%.*s%s/%s", (int)n, root, q->dir, q->link);
  return len > 0 && (size_t)len < sizeof p && try_debug_file(q, p, 1);
}

/* GDB's order: the build-id directory, then the debuglink name next to
 * the binary, in its .debug/, and under each debug root. */
static void find_debug_file(fs_symfile *f, const char *path)
{
  dbg_search q = {.f = f};
  char idhex[2 * FASTSTACK_BUILD_ID_MAX + 1];
  q.id_size = fs_elf_build_id(&f->elf, q.id, sizeof q.id);
  if (q.id_size > FASTSTACK_BUILD_ID_MAX) q.id_size = 0;
  if (q.id_size >= 2) {
    hex(q.id, q.id_size, idhex);
    q.id_hex = idhex;
    if (each_debug_root(by_build_id, &q)) return;
  }
  const char *link;
  if (!fs_elf_debuglink(&f->elf, &link, &q.crc) || strchr(link, '/')) return;
  char dir[PATH_MAX], p[PATH_MAX];
  const char *slash = strrchr(path, '/');
  size_t dl = slash ? (size_t)(slash - path) : 0;
  if (dl >= sizeof dir) return;
  memcpy(dir, path, dl);
  dir[dl] = '\0';
  q.link = link;
  q.dir = dir;
  /* A debuglink matches by CRC, not build-id (the ids may differ). */
  q.id_size = 0;
  const char *fmt[] = {"%s/%s", "%s/.debug/%s"};
  for (int i = 0; i < 2; i++) {
    int len = snprintf(p, sizeof p, fmt[i], dl ? dir : ".", link);
    if (len > 0 && (size_t)len < sizeof p && strcmp(p, path) != 0 &&
        try_debug_file(&q, p, 1))
      return;
  }
  each_debug_root(by_link_in_root, &q);
}

/* ------------------------------------------------------ opening files */

static const char *dwarf_sections(fs_elf *e, fs_dwarf_sections *ds)
{
  static const char *const names[] = {
      ".debug_info",        ".debug_abbrev", ".debug_line",
      ".debug_str",         ".debug_line_str", ".debug_str_offsets",
      ".debug_addr",        ".debug_ranges", ".debug_rnglists",
      ".debug_aranges"};
  fs_bytes *slot[] = {&ds->info,        &ds->abbrev, &ds->line,
                      &ds->str,         &ds->line_str, &ds->str_offsets,
                      &ds->addr,        &ds->ranges, &ds->rnglists,
                      &ds->aranges};
  const char *first_err = NULL;
  memset(ds, 0, sizeof *ds);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *err = NULL;
    if (!fs_elf_section(e, names[i], slot[i], &err) && err && !first_err)
      first_err = err;
  }
  return first_err;
}

static void load_dwarf(faststack_symbolizer *s, fs_symfile *f,
                       const char *path)
{
  fs_elf *e = &f->elf;
  if (!fs_elf_has_section(e, ".debug_info") &&
      !fs_elf_has_section(e, ".zdebug_info")) {
    find_debug_file(f, path);
    if (!f->have_dbg) return;
    e = &f->dbg;
  }
  fs_dwarf_sections ds;
  const char *err = dwarf_sections(e, &ds);
  if (err) set_error(s, err, path);
  if (!ds.info.p) return;
  f->dwarf = fs_dwarf_create(&ds, s->opts.cache_bytes, &err);
  if (!f->dwarf && err) set_error(s, err, path);
}

/* Sets f->mapped_id for module m (see fs_symfile). */
static void note_mapped_id(fs_symfile *f, const faststack_module *m)
{
  unsigned n = 0;
  const unsigned char *id = fs_mapped_build_id(m->start, m->end, m->bias, &n);
  char hexid[2 * sizeof f->raw_id + 1];
  if (!id || n < 8 || n > sizeof f->raw_id || n != f->build_id_size ||
      (uintptr_t)id + n > m->start + 4096)
    return;
  hex(id, n, hexid);
  if (memcmp(hexid, f->build_id, 2 * (size_t)n)) return;
  memcpy(f->raw_id, id, n);
  f->mapped_id = id;
}

static fs_symfile *symfile_new(faststack_symbolizer *s, const char *path,
                               const faststack_module *m)
{
  fs_symfile *f = calloc(1, sizeof *f);
  if (!f || !(f->path = strdup(path))) {
    free(f);
    return NULL;
  }
  if (m) {
    /* The identity first: a module that cannot be read must still be
     * found again (as unusable), not reopened on every lookup. */
    f->start = m->start;
    f->path_ptr = m->path;
    memcpy(f->build_id, m->build_id, sizeof f->build_id);
    f->build_id_size = m->build_id_size;
  }
  const char *err = NULL;
  int rc;
  if (m && !strcmp(path, "linux-vdso.so.1")) {
    /* The vDSO has no file: read its image from memory. */
    uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
    fs_region r;
    rc = base && fs_maps_find(base, &r, NULL, NULL)
             ? fs_elf_from_memory(&f->elf, (const void *)base, r.hi - base,
                                  &err)
             : -1;
  } else {
    rc = fs_elf_open(&f->elf, path, &err);
  }
  if (rc != 0) {
    set_error(s, err ? err : "cannot read", path);
    return f; /* known to be unusable: PCs in it stay unknown */
  }
  if (m) {
    if (m->build_id[0]) {
      uint8_t id[FASTSTACK_BUILD_ID_MAX];
      char h[2 * FASTSTACK_BUILD_ID_MAX + 1];
      unsigned n = fs_elf_build_id(&f->elf, id, sizeof id);
      if (n > FASTSTACK_BUILD_ID_MAX) n = 0;
      hex(id, n, h);
      if (strcmp(h, m->build_id) != 0) {
        /* Replaced on disk since it was loaded: reading it would lie. */
        set_error(s, "file on disk differs from the loaded module", path);
        fs_elf_close(&f->elf);
        return f;
      }
    }
  } else {
    uint8_t id[FASTSTACK_BUILD_ID_MAX];
    unsigned n = fs_elf_build_id(&f->elf, id, sizeof id);
    if (n <= FASTSTACK_BUILD_ID_MAX) {
      hex(id, n, f->build_id);
      f->build_id_size = n;
    }
  }
  f->have_elf = 1;
  if (m) note_mapped_id(f, m);
  load_dwarf(s, f, path);
  if (fs_elf_symtab(&f->elf, &f->syms) != 0 || f->syms.dynamic) {
    /* A stripped binary: its debug file may still have a .symtab. */
    fs_symtab t;
    if (f->have_dbg && fs_elf_symtab(&f->dbg, &t) == 0 && !t.dynamic) {
      fs_symtab_free(&f->syms);
      f->syms = t;
    } else if (f->have_dbg) {
      fs_symtab_free(&t);
    }
  }
  return f;
}

static void symfile_free(fs_symfile *f)
{
  if (!f) return;
  fs_dwarf_free(f->dwarf);
  fs_symtab_free(&f->syms);
  if (f->have_dbg) fs_elf_close(&f->dbg);
  fs_elf_close(&f->elf);
  free(f->path);
  free(f);
}

static int same(const fs_symfile *f, const faststack_module *m)
{
  if (f->start != m->start || f->build_id_size != m->build_id_size ||
      memcmp(f->build_id, m->build_id, 2 * (size_t)m->build_id_size))
    return 0;
  /* The loader's name string is the same pointer for the object's whole
   * life: comparing it first saves a string compare per lookup. */
  return f->path_ptr == m->path || !strcmp(f->path, m->path);
}

/* The symfile of module m, opened on first use. */
static fs_symfile *symfile_for(faststack_symbolizer *s,
                               const faststack_module *m)
{
  int n = atomic_load_explicit(&s->nfiles, memory_order_acquire);
  for (int i = 0; i < n; i++) {
    fs_symfile *f = atomic_load_explicit(&s->files[i], memory_order_relaxed);
    if (f && same(f, m)) return f;
  }
  pthread_mutex_lock(&s->lock);
  fs_symfile *found = NULL;
  n = atomic_load(&s->nfiles);
  for (int i = 0; i < n && !found; i++)
    if (same(s->files[i], m)) found = s->files[i];
  if (!found && n < FS_SYMFILES_MAX) {
    /* Opening reads the disk; other threads wait only when they need a
     * new object too. */
    pthread_mutex_unlock(&s->lock);
    fs_symfile *f = symfile_new(s, m->path, m);
    pthread_mutex_lock(&s->lock);
    n = atomic_load(&s->nfiles);
    for (int i = 0; i < n && !found; i++)
      if (same(s->files[i], m)) found = s->files[i];
    if (found || !f || n >= FS_SYMFILES_MAX) {
      symfile_free(f);
    } else {
      atomic_store_explicit(&s->files[n], f, memory_order_relaxed);
      atomic_store_explicit(&s->nfiles, n + 1, memory_order_release);
      found = f;
    }
  }
  pthread_mutex_unlock(&s->lock);
  return found;
}

/* ------------------------------------------------------ public: create */

static _Atomic uint64_t next_symbolizer_id = 1;

static faststack_symbolizer *alloc_symbolizer(
    const faststack_symbolizer_options *opts)
{
  faststack_symbolizer *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  if (opts) s->opts = *opts;
  s->id = atomic_fetch_add(&next_symbolizer_id, 1);
  pthread_mutex_init(&s->lock, NULL);
  pthread_mutex_init(&s->pcc_lock, NULL);
  return s;
}

FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_create(const faststack_symbolizer_options *opts)
{
  return alloc_symbolizer(opts);
}

FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_open(const char *elf_path,
                          const faststack_symbolizer_options *opts,
                          const char **error)
{
  if (!elf_path) {
    if (error) *error = "no file given";
    return NULL;
  }
  fs_elf probe;
  const char *err = NULL;
  if (fs_elf_open(&probe, elf_path, &err) != 0) {
    if (error) *error = err;
    return NULL;
  }
  fs_elf_close(&probe);
  faststack_symbolizer *s = alloc_symbolizer(opts);
  if (!s) {
    if (error) *error = "out of memory";
    return NULL;
  }
  s->offline = 1;
  fs_symfile *f = symfile_new(s, elf_path, NULL);
  if (!f || !f->have_elf) {
    if (error) *error = "cannot read the ELF file";
    symfile_free(f);
    faststack_symbolizer_free(s);
    return NULL;
  }
  s->files[0] = f;
  s->nfiles = 1;
  return s;
}

FASTSTACK_API void faststack_symbolizer_free(faststack_symbolizer *s)
{
  if (!s) return;
  for (int i = 0; i < s->nfiles; i++) symfile_free(s->files[i]);
  free((void *)atomic_load(&s->pcc));
  for (pcc_chunk *c = s->chunks, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  free(s->interned);
  free(s->recs);
  pthread_mutex_destroy(&s->pcc_lock);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

static faststack_symbolizer *default_symbolizer;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void make_default(void)
{
  default_symbolizer = faststack_symbolizer_create(NULL);
}

FASTSTACK_API faststack_symbolizer *faststack_default_symbolizer(void)
{
  pthread_once(&default_once, make_default);
  return default_symbolizer;
}

FASTSTACK_API const char *faststack_symbolizer_last_error(
    faststack_symbolizer *s)
{
  return s ? s->err : "";
}

/* ------------------------------------------------------ frames */

/* Strings of one call, packed into the caller's buffer. */
typedef struct strw {
  char *buf;
  size_t cap, len;
  int overflow; /* the current string did not fit */
  int lost;     /* some string did not fit: the answer is incomplete */
} strw;

static void w_begin(strw *w)
{
  w->overflow = 0;
}

static void w_add(strw *w, const char *s, size_t n)
{
  if (w->overflow || n > w->cap - w->len) {
    w->overflow = 1;
    return;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
}

/* Ends the string begun at mark: its start, or NULL if it did not fit
 * (then its bytes are given back). */
static const char *w_end(strw *w, size_t mark)
{
  if (!w->overflow && w->len < w->cap) {
    w->buf[w->len++] = '\0';
    return w->buf + mark;
  }
  w->len = mark;
  w->overflow = 0;
  w->lost = 1;
  return NULL;
}

/* The n bytes at s as one string, or NULL (s NULL, or no room). */
static const char *w_strn(strw *w, const char *s, size_t n)
{
  if (!s) return NULL;
  size_t mark = w->len;
  w_begin(w);
  w_add(w, s, n);
  return w_end(w, mark);
}

static const char *w_str(strw *w, const char *s)
{
  return s ? w_strn(w, s, strlen(s)) : NULL;
}

static void demangle_cb(const char *s, size_t n, void *arg)
{
  w_add(arg, s, n);
}

/* The name people read: C++ linkage names demangled (params included,
 * like addr2line -C and llvm-symbolizer), else the plain name. */
static const char *w_function(faststack_symbolizer *s, strw *w,
                              const char *linkage, const char *name)
{
  if (!linkage) return w_str(w, name);
  if (s->opts.no_demangle) return w_str(w, linkage);
  size_t mark = w->len;
  w_begin(w);
  if (cplus_demangle_v3_callback(linkage, DMGL_PARAMS | DMGL_ANSI,
                                 demangle_cb, w)) {
    const char *r = w_end(w, mark);
    if (r) return r;
  } else {
    w->len = mark;
  }
  /* Not a mangled name (or it did not fit): as recorded. */
  return w_str(w, name ? name : linkage);
}

/* comp_dir + dir + file, each absolute part restarting the path. */
static const char *w_path(strw *w, const char *comp_dir, const char *dir,
                          const char *file)
{
  if (!file) return NULL;
  const char *parts[3] = {comp_dir, dir, file};
  int first = 0;
  for (int i = 0; i < 3; i++)
    if (parts[i] && parts[i][0] == '/') first = i;
  size_t mark = w->len;
  w_begin(w);
  int any = 0;
  for (int i = first; i < 3; i++) {
    if (!parts[i] || !parts[i][0]) continue;
    if (any && w->len > mark && w->buf[w->len - 1] != '/') w_add(w, "/", 1);
    w_add(w, parts[i], strlen(parts[i]));
    any = 1;
  }
  return w_end(w, mark);
}

#define FS_INLINE_MAX 64

/* Itanium C++ constructors and destructors have variants (C1/C2, D0/D1/
 * D2) that are often one function with several symbols. The DWARF
 * linkage name says which variant the code is; an alias must not rename
 * it (they demangle the same anyway). */
static int ctor_dtor_alias(const char *sym, const char *linkage)
{
  if (!linkage || strncmp(sym, "_Z", 2) || strlen(sym) != strlen(linkage))
    return 0;
  int diffs = 0;
  for (size_t i = 0; sym[i]; i++)
    if (sym[i] != linkage[i]) {
      if (i == 0 || !(sym[i - 1] == 'C' || sym[i - 1] == 'D') ||
          !isdigit((unsigned char)sym[i]) ||
          !isdigit((unsigned char)linkage[i]) || ++diffs > 1)
        return 0;
    }
  return diffs == 1;
}

static int symbolize_in(faststack_symbolizer *s, fs_symfile *f, uint64_t addr,
                        faststack_frame *out, int max, strw *w)
{
  fs_dwarf_frame df[FS_INLINE_MAX];
  int n = 0;
  if (f->dwarf) n = fs_dwarf_lookup(f->dwarf, addr, df, max < FS_INLINE_MAX
                                                           ? max
                                                           : FS_INLINE_MAX);
  const fs_sym *sym = f->syms.n ? fs_symtab_find(&f->syms, addr) : NULL;
  unsigned symsrc = f->syms.dynamic ? FASTSTACK_SRC_DYNSYM
                                    : FASTSTACK_SRC_SYMTAB;
  if (n <= 0) {
    if (!sym) return 0;
    out[0].function = w_function(s, w, sym->name, sym->name);
    out[0].function_offset = addr - sym->addr;
    out[0].source = symsrc;
    return 1;
  }
  /* The physical function's start, for offsets. */
  uint64_t func_lo = df[n - 1].func_low_pc;
  if (!func_lo && sym) func_lo = sym->addr;
  for (int i = 0; i < n; i++) {
    const fs_dwarf_frame *d = &df[i];
    faststack_frame *o = &out[i];
    if (i) memset(o, 0, sizeof *o);
    const char *linkage = d->linkage_name, *name = d->name;
    o->source = FASTSTACK_SRC_DWARF;
    if (!d->inlined && sym &&
        ((!name && !linkage) ||
         (sym->addr == d->func_low_pc &&
          !ctor_dtor_alias(sym->name, linkage)))) {
      /* Line info without a subprogram DIE: the symbol names it. And a
       * symbol that starts exactly at the function names the same code;
       * its (global) name is the one callers use — printf, not the
       * __printf that glibc defines and aliases — as llvm-symbolizer
       * prints it. So a compiler's specialized copy keeps its symbol's
       * name (foo.isra.0, "foo [clone .isra.0]" demangled), telling the
       * reader which copy ran; addr2line prints foo. A function's cold
       * part (foo.cold) does not start at the function: it stays foo. */
      if (!name && !linkage) o->source = symsrc;
      linkage = name = sym->name;
    }
    o->function = w_function(s, w, linkage, name);
    o->file = w_path(w, d->comp_dir, d->dir, d->file);
    o->line = d->line;
    o->column = d->column;
    o->inlined = d->inlined;
    o->function_offset = func_lo && func_lo <= addr ? addr - func_lo : 0;
    if (d->md5) {
      o->file_md5_valid = 1;
      memcpy(o->file_md5, d->md5, 16);
    }
  }
  return n;
}

/* The function symbols of an offline symbolizer's file — its .symtab, or
 * its debug file's for a stripped binary, else .dynsym — sorted, one per
 * address, living as long as s. For the crash table's builder. */
size_t fs_symbolizer_functions(faststack_symbolizer *s, const fs_sym **out)
{
  *out = NULL;
  if (!s || !s->offline || !s->nfiles || !s->files[0]->have_elf) return 0;
  *out = s->files[0]->syms.syms;
  return s->files[0]->syms.n;
}

/* ---------------------------------------------------------- PC cache
 * A table of tagged pointers to immutable records, in buckets of 8
 * slots (one cache line). A slot holds a record's address in its low 48
 * bits and 16 bits of the key's hash above; a reader loads the bucket's
 * slots (acquire), follows only a pointer whose tag matches, and uses
 * the record only if it is for the same symfile and address: a slot is
 * one atomic word, so it cannot tear, and a record, once published,
 * never changes. Records and their strings live in an arena freed with
 * the symbolizer, and every record is also in a map (under pcc_lock), so
 * an answer pushed out of its bucket comes back without a DWARF walk or
 * a second record. Past FS_PCC_ARENA_MAX new answers are no longer cached
 * (lookups stay correct, just slower): the cache's memory is bounded. A
 * warm lookup touches the bucket's cache line and the record (about 64
 * bytes): that is what keeps 10,000 hot PCs fast. */

#define FS_PCC_PTR ((1ull << 48) - 1)

static uint64_t pcc_hash(const fs_symfile *f, uint64_t a)
{
  return ((uintptr_t)f ^ (a * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
}

/* A nonzero 16-bit tag from the hash (so an empty slot never matches). */
static uint64_t pcc_tag(uint64_t h)
{
  return ((h >> 48) | 1) << 48;
}

static _Atomic uint64_t *pcc_bucket(_Atomic uint64_t *t, uint64_t h)
{
  return t + ((size_t)(h >> 20) & (FS_PCC_SLOTS / FS_PCC_WAYS - 1)) *
                 FS_PCC_WAYS;
}

/* The record of (f, a) if cached. */
static const pcc_rec *pcc_find(faststack_symbolizer *s, const fs_symfile *f,
                               uint64_t a)
{
  _Atomic uint64_t *t = atomic_load_explicit(&s->pcc, memory_order_acquire);
  if (!t) return NULL;
  uint64_t h = pcc_hash(f, a), tag = pcc_tag(h);
  _Atomic uint64_t *b = pcc_bucket(t, h);
  for (int k = 0; k < FS_PCC_WAYS; k++) {
    uint64_t v = atomic_load_explicit(&b[k], memory_order_acquire);
    if ((v & ~FS_PCC_PTR) != tag) continue;
    const pcc_rec *r = (const pcc_rec *)(uintptr_t)(v & FS_PCC_PTR);
    if (r->f == f && r->addr == a) return r;
  }
  return NULL;
}

/* Puts r in its bucket: an empty slot, else one picked by the hash.
 * Caller holds pcc_lock (the only writer). */
static void pcc_install(_Atomic uint64_t *t, pcc_rec *r)
{
  uint64_t h = pcc_hash(r->f, r->addr);
  _Atomic uint64_t *b = pcc_bucket(t, h);
  int k = (int)((h >> 8) % FS_PCC_WAYS);
  for (int i = 0; i < FS_PCC_WAYS; i++)
    if (!atomic_load_explicit(&b[i], memory_order_relaxed)) {
      k = i;
      break;
    }
  atomic_store_explicit(&b[k], pcc_tag(h) | (uint64_t)(uintptr_t)r,
                        memory_order_release);
}

/* The map of all records: the record of (f, a), or NULL; with ins, adds
 * ins (growing the map as it fills). Caller holds pcc_lock. */
static pcc_rec *pcc_map(faststack_symbolizer *s, const fs_symfile *f,
                        uint64_t a, pcc_rec *ins)
{
  if (ins && s->nrecs * 2 >= s->recs_cap) {
    size_t cap = s->recs_cap ? s->recs_cap * 2 : 4096;
    pcc_rec **m = calloc(cap, sizeof *m);
    if (!m) return NULL;
    for (size_t i = 0; i < s->recs_cap; i++) {
      pcc_rec *e = s->recs[i];
      if (!e) continue;
      size_t j = (size_t)pcc_hash(e->f, e->addr) & (cap - 1);
      while (m[j]) j = (j + 1) & (cap - 1);
      m[j] = e;
    }
    free(s->recs);
    s->recs = m;
    s->recs_cap = cap;
  }
  if (!s->recs_cap) return NULL;
  size_t j = (size_t)pcc_hash(f, a) & (s->recs_cap - 1);
  for (pcc_rec *e; (e = s->recs[j]); j = (j + 1) & (s->recs_cap - 1))
    if (e->f == f && e->addr == a) return e;
  if (ins) {
    s->recs[j] = ins;
    s->nrecs++;
  }
  return ins;
}

/* A record pushed out of its bucket, put back: 1 if there was one. */
static int pcc_revive(faststack_symbolizer *s, const fs_symfile *f,
                      uint64_t a)
{
  pthread_mutex_lock(&s->pcc_lock);
  _Atomic uint64_t *t = atomic_load_explicit(&s->pcc, memory_order_relaxed);
  pcc_rec *r = t ? pcc_map(s, f, a, NULL) : NULL;
  if (r) pcc_install(t, r);
  pthread_mutex_unlock(&s->pcc_lock);
  return r != NULL;
}

static int pcc_get(faststack_symbolizer *s, const fs_symfile *f, uint64_t a,
                   faststack_frame *out, int max, strw *w)
{
  const pcc_rec *r = pcc_find(s, f, a);
  if (!r || r->nframes > (uint32_t)max) return 0;
  for (uint32_t i = 0; i < r->nframes; i++) {
    const pcc_frame *p = &r->fr[i];
    faststack_frame *o = &out[i];
    o->function = w_strn(w, p->function, p->function_len);
    o->file = w_strn(w, p->file, p->file_len);
    o->line = p->line;
    o->column = p->column;
    o->inlined = p->inlined;
    o->function_offset = p->function_offset;
    o->source = p->source;
    o->file_md5_valid = p->md5 != NULL;
    if (p->md5) memcpy(o->file_md5, p->md5, 16);
    else memset(o->file_md5, 0, 16);
  }
  return (int)r->nframes;
}

/* n bytes from the arena, 16-aligned, or NULL past its bound. Caller
 * holds pcc_lock. */
static void *arena_alloc(faststack_symbolizer *s, size_t n)
{
  n = (n + 15) & ~(size_t)15;
  pcc_chunk *c = s->chunks;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > FS_PCC_CHUNK ? n : FS_PCC_CHUNK;
    if (s->arena_bytes + cap > FS_PCC_ARENA_MAX) return NULL;
    c = malloc(sizeof *c + cap);
    if (!c) return NULL;
    c->next = s->chunks;
    c->used = 0;
    c->cap = cap;
    s->chunks = c;
    s->arena_bytes += cap;
  }
  void *p = c->data + c->used;
  c->used += n;
  return p;
}

/* Eight bytes a step: interning hashes every string of every answer
 * cached (paths are long). */
static uint64_t str_hash(const void *p, size_t n)
{
  const unsigned char *b = p;
  uint64_t h = 0xcbf29ce484222325ull ^ n, w;
  for (; n >= 8; b += 8, n -= 8) {
    memcpy(&w, b, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
  }
  w = 0;
  memcpy(&w, b, n);
  h = (h ^ w) * 0x9e3779b97f4a7c15ull;
  return h ^ (h >> 32);
}

/* The length of an interned string (kept in the 2 bytes before it). */
static size_t interned_len(const char *e)
{
  const unsigned char *u = (const unsigned char *)e;
  return (size_t)u[-2] | (size_t)u[-1] << 8;
}

/* The interned copy of the n bytes at p (NUL-terminated; the length is
 * stored in the 2 bytes before it), so every record naming the same
 * function or file shares one copy. NULL when the arena is full. Caller
 * holds pcc_lock. */
static const char *pcc_intern(faststack_symbolizer *s, const void *p,
                              size_t n)
{
  if (n > 0xffff) return NULL;
  if (s->ninterned * 2 >= s->intern_cap) { /* keep it at most half full */
    size_t cap = s->intern_cap ? s->intern_cap * 2 : 1024;
    const char **t = calloc(cap, sizeof *t);
    if (!t) return NULL;
    for (size_t i = 0; i < s->intern_cap; i++) {
      const char *e = s->interned[i];
      if (!e) continue;
      size_t j = (size_t)str_hash(e, interned_len(e)) & (cap - 1);
      while (t[j]) j = (j + 1) & (cap - 1);
      t[j] = e;
    }
    free(s->interned);
    s->interned = t;
    s->intern_cap = cap;
  }
  size_t j = (size_t)str_hash(p, n) & (s->intern_cap - 1);
  for (const char *e; (e = s->interned[j]); j = (j + 1) & (s->intern_cap - 1)) {
    if (interned_len(e) == n && !memcmp(e, p, n)) return e;
  }
  unsigned char *c = arena_alloc(s, n + 3);
  if (!c) return NULL;
  c[0] = (unsigned char)n;
  c[1] = (unsigned char)(n >> 8);
  memcpy(c + 2, p, n);
  c[2 + n] = '\0';
  s->interned[j] = (const char *)c + 2;
  s->ninterned++;
  return (const char *)c + 2;
}

/* Offline symbolizers: has addr been asked before? (A hash collision
 * answers yes: then an answer is cached the first time, harmlessly.) */
static int pcc_seen(faststack_symbolizer *s, uint64_t addr)
{
  uint64_t h = (addr * 0x9e3779b97f4a7c15ull) >> 48;
  uint64_t bit = 1ull << (h & 63);
  return (atomic_fetch_or_explicit(&s->seen[h >> 6], bit,
                                   memory_order_relaxed) & bit) != 0;
}

/* Caches a complete answer. Answers that do not fit a record's fields
 * (a name longer than 64 KiB, a column past 65535, a function of 4 GiB)
 * are simply not cached. */
static void pcc_put(faststack_symbolizer *s, const fs_symfile *f, uint64_t a,
                    const faststack_frame *fr, int n)
{
  for (int i = 0; i < n; i++)
    if (fr[i].column < 0 || fr[i].column > 0xffff ||
        fr[i].function_offset > 0xffffffffu)
      return;
  pthread_mutex_lock(&s->pcc_lock);
  _Atomic uint64_t *t = atomic_load_explicit(&s->pcc, memory_order_relaxed);
  if (!t) {
    t = calloc(FS_PCC_SLOTS, sizeof *t);
    if (t) atomic_store_explicit(&s->pcc, t, memory_order_release);
  }
  pcc_rec *r = NULL;
  if (t && (r = pcc_map(s, f, a, NULL))) {
    pcc_install(t, r); /* another thread cached it meanwhile */
    pthread_mutex_unlock(&s->pcc_lock);
    return;
  }
  if (t) r = arena_alloc(s, sizeof *r + (size_t)n * sizeof r->fr[0]);
  for (int i = 0; r && i < n; i++) {
    pcc_frame *p = &r->fr[i];
    size_t fl = fr[i].function ? strlen(fr[i].function) : 0;
    size_t pl = fr[i].file ? strlen(fr[i].file) : 0;
    p->function = fr[i].function ? pcc_intern(s, fr[i].function, fl) : NULL;
    p->file = fr[i].file ? pcc_intern(s, fr[i].file, pl) : NULL;
    p->md5 = fr[i].file_md5_valid
                 ? (const unsigned char *)pcc_intern(s, fr[i].file_md5, 16)
                 : NULL;
    if ((fr[i].function && !p->function) || (fr[i].file && !p->file) ||
        (fr[i].file_md5_valid && !p->md5))
      r = NULL; /* the arena is full: leave it uncached */
    else {
      p->function_len = (uint16_t)fl;
      p->file_len = (uint16_t)pl;
      p->function_offset = (uint32_t)fr[i].function_offset;
      p->line = fr[i].line;
      p->column = (uint16_t)fr[i].column;
      p->inlined = (uint8_t)fr[i].inlined;
      p->source = (uint8_t)fr[i].source;
    }
  }
  if (r) {
    r->f = f;
    r->addr = a;
    r->nframes = (uint32_t)n;
    if (pcc_map(s, f, a, r) == r) pcc_install(t, r);
  }
  pthread_mutex_unlock(&s->pcc_lock);
}

/* The symfile of the module holding at, and its bias. A thread's last
 * answer is kept: when _dl_find_object finds the same object (its
 * start, end, link map, name string and unwind table), the module
 * snapshot has not changed, and the build-id bytes in the object's first
 * page are still those it had, it is the same symfile — the identity
 * faststack_module_find and symfile_for would establish, without their
 * atomics and copies (most lookups in a row fall in the same object).
 * The build-id settles it: after a dlclose the loader may put another
 * small library exactly there, reusing the link map, the name string and
 * even the layout. The first page of an object's mapping always holds its
 * ELF header (readable), so reading there is safe whatever is mapped. */
typedef struct sym_hint {
  uint64_t sid, snap;
  uintptr_t start, end, bias;
  const void *lm, *eh_frame;
  const char *name;
  fs_symfile *f;
  const unsigned char *id_at; /* f->mapped_id, f->build_id_size and */
  unsigned id_len;            /* f->raw_id, beside the rest */
  unsigned char id[20];
} sym_hint;
static __thread sym_hint tls_hint __attribute__((tls_model("initial-exec")));

static fs_symfile *module_symfile(faststack_symbolizer *s, uintptr_t at,
                                  uintptr_t *bias)
{
  struct dl_find_object d;
  if (_dl_find_object((void *)at, &d) != 0) return NULL;
  const struct link_map *lm = d.dlfo_link_map;
  sym_hint *h = &tls_hint;
  uint64_t snap = fs_modules_snapshot_id();
  if (lm && h->sid == s->id && h->snap == snap &&
      h->start == (uintptr_t)d.dlfo_map_start &&
      h->end == (uintptr_t)d.dlfo_map_end && h->lm == lm &&
      h->name == lm->l_name && h->eh_frame == d.dlfo_eh_frame &&
      !memcmp(h->id_at, h->id, h->id_len)) {
    *bias = h->bias;
    return h->f;
  }
  faststack_module m;
  if (!faststack_module_find(at, &m)) return NULL;
  fs_symfile *f = symfile_for(s, &m);
  *bias = m.bias;
  /* A hint only for an object whose build-id bytes are where and what
   * its symfile found them. */
  if (f && f->mapped_id && lm && m.start == (uintptr_t)d.dlfo_map_start &&
      !memcmp(f->mapped_id, f->raw_id, f->build_id_size)) {
    *h = (sym_hint){s->id, snap, m.start, (uintptr_t)d.dlfo_map_end, m.bias,
                    lm, d.dlfo_eh_frame, lm->l_name, f, f->mapped_id,
                    f->build_id_size, {0}};
    memcpy(h->id, f->raw_id, f->build_id_size);
  }
  return f;
}

FASTSTACK_API int faststack_symbolize(faststack_symbolizer *s, uintptr_t pc,
                                      unsigned flags, faststack_frame *frames,
                                      int max, char *strbuf, size_t strcap)
{
  if (!s || !frames || max <= 0 || (!strbuf && strcap)) return -1;
  strw w = {strbuf, strcap, 0, 0, 0};
  uintptr_t at = (flags & FASTSTACK_PC_EXACT) || pc == 0 ? pc : pc - 1;
  fs_symfile *f = NULL;
  uintptr_t bias = 0;
  if (s->offline) {
    f = s->files[0];
  } else {
    f = module_symfile(s, at, &bias);
  }
  memset(frames, 0, sizeof *frames);
  frames[0].pc = pc;
  if (!f) return 1;
  /* Owned by the symbolizer (its lifetime is longer than strbuf's): no
   * copy per call. */
  const char *module = f->path;
  const char *build_id = f->build_id[0] ? f->build_id : NULL;
  uint64_t addr = at - bias;
  int n = 0;
  if (f->have_elf) {
    n = pcc_get(s, f, addr, frames, max, &w);
    if (!n && pcc_revive(s, f, addr)) n = pcc_get(s, f, addr, frames, max, &w);
    if (!n) {
      int lost = w.lost;
      n = symbolize_in(s, f, addr, frames, max, &w);
      /* Only complete answers are worth keeping. */
      if (n > 0 && !w.lost && !lost && (!s->offline || pcc_seen(s, addr)))
        pcc_put(s, f, addr, frames, n);
    }
  }
  if (n <= 0) n = 1;
  for (int i = 0; i < n; i++) {
    frames[i].pc = pc;
    frames[i].module = module;
    frames[i].build_id = build_id;
    frames[i].module_offset = addr;
  }
  return n;
}
