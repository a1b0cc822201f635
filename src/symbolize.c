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
  fs_elf elf;           /* the object itself */
  fs_elf dbg;           /* its separate debug file, when used */
  int have_elf, have_dbg;
  fs_dwarf *dwarf;      /* NULL: no usable DWARF */
  fs_symtab syms;       /* may be empty */
} fs_symfile;

/* The PC cache (see pcc_get): answers of recent lookups, so a warm PC
 * costs a hash probe and a copy instead of a DWARF walk. */
#define FS_PCC_SLOTS 32768 /* x 256 bytes: 8 MiB, touched as used */
#define FS_PCC_DATA 224

typedef struct pcc_frame {
  uint32_t function, file; /* 1 + offset into the slot's data; 0: NULL */
  int32_t line, column;
  uint64_t function_offset;
  uint8_t inlined, source, md5_valid, pad;
  unsigned char md5[16];
} pcc_frame;

typedef struct pcc_slot {
  _Atomic uint32_t seq;    /* even: stable; odd: being written; 0: empty */
  uint32_t nframes, used;
  const struct fs_symfile *f;
  uint64_t addr;
  _Alignas(8) unsigned char data[FS_PCC_DATA];
} pcc_slot;

struct faststack_symbolizer {
  faststack_symbolizer_options opts;
  int offline;
  pcc_slot *_Atomic pcc; /* FS_PCC_SLOTS, allocated on first use */
  pthread_mutex_t lock; /* opening symfiles, the error message */
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

static fs_symfile *symfile_new(faststack_symbolizer *s, const char *path,
                               const faststack_module *m)
{
  fs_symfile *f = calloc(1, sizeof *f);
  if (!f || !(f->path = strdup(path))) {
    free(f);
    return NULL;
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
    f->start = m->start;
    f->path_ptr = m->path;
    memcpy(f->build_id, m->build_id, sizeof f->build_id);
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
    if (n <= FASTSTACK_BUILD_ID_MAX) hex(id, n, f->build_id);
  }
  f->have_elf = 1;
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
  if (f->start != m->start || strcmp(f->build_id, m->build_id)) return 0;
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

static faststack_symbolizer *alloc_symbolizer(
    const faststack_symbolizer_options *opts)
{
  faststack_symbolizer *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  if (opts) s->opts = *opts;
  pthread_mutex_init(&s->lock, NULL);
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
  free(atomic_load(&s->pcc));
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

static const char *w_str(strw *w, const char *s)
{
  if (!s) return NULL;
  size_t mark = w->len;
  w_begin(w);
  w_add(w, s, strlen(s));
  return w_end(w, mark);
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
 * A seqlock per slot: readers copy the slot out and keep the copy only if
 * the sequence number did not move meanwhile; a writer that finds the
 * slot busy skips caching. Readers never follow a pointer out of the
 * slot (strings are offsets, bounds-checked), so even a torn read is
 * harmless before it is discarded. */

/* Two-way sets: two hot addresses that hash alike can both stay. way
 * picks a slot of a's set: lookups try both, inserts use the empty one or
 * the one this address prefers (a bit of its hash). */
static pcc_slot *pcc_slot_for(pcc_slot *t, const fs_symfile *f, uint64_t a,
                              int way)
{
  uint64_t h = ((uintptr_t)f ^ (a * 0x9e3779b97f4a7c15ull)) *
               0xff51afd7ed558ccdull;
  size_t set = (size_t)(h >> 40) & (FS_PCC_SLOTS / 2 - 1);
  if (way < 0) way = (int)(h >> 39) & 1;
  return &t[2 * set + (size_t)way];
}

static const char *pcc_str(strw *w, const pcc_slot *sl, uint32_t v)
{
  if (!v || v > FS_PCC_DATA) return NULL;
  const char *p = (const char *)sl->data + (v - 1);
  size_t room = FS_PCC_DATA - (v - 1), n = strnlen(p, room);
  if (n == room) return NULL; /* torn: the check below discards it */
  size_t mark = w->len;
  w_begin(w);
  w_add(w, p, n);
  return w_end(w, mark);
}

static int pcc_get_way(pcc_slot *sl, const fs_symfile *f, uint64_t a,
                       faststack_frame *out, int max, strw *w)
{
  uint32_t s1 = atomic_load_explicit(&sl->seq, memory_order_acquire);
  if (!s1 || (s1 & 1) || sl->f != f || sl->addr != a) return 0;
  uint32_t n = sl->nframes;
  if (!n || n > (uint32_t)max || n * sizeof(pcc_frame) > FS_PCC_DATA) return 0;
  size_t mark = w->len;
  int lost = w->lost;
  for (uint32_t i = 0; i < n; i++) {
    pcc_frame fr;
    memcpy(&fr, sl->data + i * sizeof fr, sizeof fr);
    faststack_frame *o = &out[i];
    memset(o, 0, sizeof *o);
    o->function = pcc_str(w, sl, fr.function);
    o->file = pcc_str(w, sl, fr.file);
    o->line = fr.line;
    o->column = fr.column;
    o->inlined = fr.inlined;
    o->function_offset = fr.function_offset;
    o->source = fr.source;
    o->file_md5_valid = fr.md5_valid;
    if (fr.md5_valid) memcpy(o->file_md5, fr.md5, 16);
  }
  atomic_thread_fence(memory_order_acquire);
  if (atomic_load_explicit(&sl->seq, memory_order_relaxed) != s1) {
    w->len = mark; /* changed under us: give the bytes back, look it up */
    w->lost = lost;
    return 0;
  }
  return (int)n;
}

static int pcc_get(faststack_symbolizer *s, const fs_symfile *f, uint64_t a,
                   faststack_frame *out, int max, strw *w)
{
  pcc_slot *t = atomic_load_explicit(&s->pcc, memory_order_acquire);
  if (!t) return 0;
  int n = pcc_get_way(pcc_slot_for(t, f, a, 0), f, a, out, max, w);
  return n ? n : pcc_get_way(pcc_slot_for(t, f, a, 1), f, a, out, max, w);
}

/* Stores str in the slot's data, or finds it there already (an inline
 * frame and its caller usually share a file): 1 + its offset. */
static uint32_t pcc_put_str(pcc_slot *sl, uint32_t strings_from,
                            const char *str, int *full)
{
  if (!str) return 0;
  size_t n = strlen(str) + 1;
  for (uint32_t o = strings_from; o < sl->used;) {
    const char *have = (const char *)sl->data + o;
    size_t hn = strlen(have) + 1;
    if (hn == n && !memcmp(have, str, n)) return o + 1;
    o += (uint32_t)hn;
  }
  if (n > FS_PCC_DATA - sl->used) {
    *full = 1;
    return 0;
  }
  memcpy(sl->data + sl->used, str, n);
  sl->used += (uint32_t)n;
  return sl->used - (uint32_t)n + 1;
}

static void pcc_put(faststack_symbolizer *s, const fs_symfile *f, uint64_t a,
                    const faststack_frame *fr, int n)
{
  pcc_slot *t = atomic_load_explicit(&s->pcc, memory_order_acquire);
  if (!t) {
    pcc_slot *nt = calloc(FS_PCC_SLOTS, sizeof *nt);
    if (!nt) return;
    if (!atomic_compare_exchange_strong(&s->pcc, &t, nt)) free(nt);
    else t = nt;
  }
  if ((size_t)n * sizeof(pcc_frame) > FS_PCC_DATA) return;
  pcc_slot *sl = pcc_slot_for(t, f, a, 0);
  if (atomic_load_explicit(&sl->seq, memory_order_relaxed) != 0) {
    pcc_slot *other = pcc_slot_for(t, f, a, 1);
    sl = atomic_load_explicit(&other->seq, memory_order_relaxed) == 0
             ? other
             : pcc_slot_for(t, f, a, -1);
  }
  uint32_t s1 = atomic_load_explicit(&sl->seq, memory_order_relaxed);
  if ((s1 & 1) || !atomic_compare_exchange_strong(&sl->seq, &s1, s1 + 1))
    return; /* another thread is writing it */
  atomic_thread_fence(memory_order_release);
  int full = 0;
  sl->f = f;
  sl->addr = a;
  sl->used = (uint32_t)n * sizeof(pcc_frame);
  for (int i = 0; i < n; i++) {
    uint32_t from = (uint32_t)n * sizeof(pcc_frame);
    pcc_frame p = {pcc_put_str(sl, from, fr[i].function, &full),
                   pcc_put_str(sl, from, fr[i].file, &full),
                   fr[i].line, fr[i].column, fr[i].function_offset,
                   (uint8_t)fr[i].inlined, (uint8_t)fr[i].source,
                   (uint8_t)fr[i].file_md5_valid, 0, {0}};
    if (fr[i].file_md5_valid) memcpy(p.md5, fr[i].file_md5, 16);
    memcpy(sl->data + (size_t)i * sizeof p, &p, sizeof p);
  }
  sl->nframes = full ? 0 : (uint32_t)n; /* too long: leave it uncached */
  atomic_store_explicit(&sl->seq, s1 + 2, memory_order_release);
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
    faststack_module m;
    if (faststack_module_find(at, &m)) {
      bias = m.bias;
      f = symfile_for(s, &m);
    }
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
    if (!n) {
      int lost = w.lost;
      n = symbolize_in(s, f, addr, frames, max, &w);
      /* Only complete answers are worth keeping. */
      if (n > 0 && !w.lost && !lost) pcc_put(s, f, addr, frames, n);
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
