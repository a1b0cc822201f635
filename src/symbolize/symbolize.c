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
#include <limits.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/symbolizer.h"

/* ------------------------------------------------------ public: create */

static _Atomic uint64_t next_symbolizer_id = 1;

static faststack_symbolizer *
alloc_symbolizer(const faststack_symbolizer_options *opts,
                 const faststack_symbolizer_config *c)
{
  faststack_symbolizer *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  /* Reads of objects being unloaded and of files being truncated under
   * us become answers, not faults (common/fixup.c). */
  fs_fixup_arm();
  if (opts) s->opts = *opts;
  s->id = atomic_fetch_add(&next_symbolizer_id, 1);
  atomic_init(&s->budget.left, c && c->max_decompressed ? c->max_decompressed
                                                        : FS_DECOMP_SYMBOLIZER);
  pthread_mutex_init(&s->lock, NULL);
  pthread_mutex_init(&s->pcc_lock, NULL);
  if (c) {
    s->debug_dirs = c->debug_dirs ? strdup(c->debug_dirs) : NULL;
    s->search_path = c->search_path ? strdup(c->search_path) : NULL;
    s->debuginfod = c->debuginfod;
    s->debuginfod_timeout_s = c->debuginfod_timeout_s;
    s->debuginfod_progress = c->debuginfod_progress;
    if ((c->debug_dirs && !s->debug_dirs) ||
        (c->search_path && !s->search_path)) {
      faststack_symbolizer_free(s);
      return NULL;
    }
  }
  return s;
}

FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_create(const faststack_symbolizer_options *opts)
{
  return alloc_symbolizer(opts, NULL);
}

FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_create_config(const faststack_symbolizer_config *c)
{
  return alloc_symbolizer(c ? &c->base : NULL, c);
}

static faststack_symbolizer *open_file(const char *elf_path,
                                       const faststack_symbolizer_options *opts,
                                       const faststack_symbolizer_config *c,
                                       const char **error);

FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_open(const char *elf_path,
                          const faststack_symbolizer_options *opts,
                          const char **error)
{
  return open_file(elf_path, opts, NULL, error);
}

FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_open_config(const char *elf_path,
                                 const faststack_symbolizer_config *c,
                                 const char **error)
{
  return open_file(elf_path, c ? &c->base : NULL, c, error);
}

FASTSTACK_API faststack_symbolizer *
faststack_symbolizer_open_module(const char *path, const char *build_id,
                                 const faststack_symbolizer_config *c,
                                 const char **error)
{
  char found[PATH_MAX];
  const char *err = NULL;
  if (!path) path = "";
  if (fs_module_file_find(path, build_id, c ? c->search_path : NULL,
                          c ? c->debug_dirs : NULL, found, sizeof found))
    return faststack_symbolizer_open_config(found, c, error);
  /* Nothing here: the debug file by build-id from debuginfod. */
  if (c && c->debuginfod > 0 && build_id && strlen(build_id) > 2 &&
      fs_debuginfod_debuginfo(build_id, c->debuginfod_timeout_s,
                              c->debuginfod_progress, found, sizeof found))
    return faststack_symbolizer_open_config(found, c, error);
  err = build_id && build_id[0]
            ? "module not found (by path, search path, build-id or debuginfod)"
            : "module not found (by path or search path; no build-id)";
  if (error) *error = err;
  return NULL;
}

FASTSTACK_API const char *faststack_symbolizer_path(faststack_symbolizer *s)
{
  return s && s->offline && s->nfiles ? s->files[0]->path : NULL;
}

static faststack_symbolizer *open_file(const char *elf_path,
                                       const faststack_symbolizer_options *opts,
                                       const faststack_symbolizer_config *c,
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
  faststack_symbolizer *s = alloc_symbolizer(opts, c);
  if (!s) {
    if (error) *error = "out of memory";
    return NULL;
  }
  s->offline = 1;
  fs_symfile *f = fs_symfile_new(s, elf_path, NULL);
  if (!f || !f->have_elf) {
    if (error) *error = "cannot read the ELF file";
    fs_symfile_free(f);
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
  for (int i = 0; i < s->nfiles; i++) fs_symfile_free(s->files[i]);
  fs_pcc_free(s);
  free(s->debug_dirs);
  free(s->search_path);
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

FASTSTACK_API int faststack_elf_build_id(const char *path, char *hex,
                                         size_t cap)
{
  fs_elf e;
  if (!path || !hex || fs_elf_open(&e, path, NULL) != 0) return -1;
  uint8_t id[FASTSTACK_BUILD_ID_MAX];
  unsigned n = fs_elf_build_id(&e, id, sizeof id);
  fs_elf_close(&e);
  if (n > sizeof id || 2 * (size_t)n + 1 > cap) return -1;
  fs_hex_bytes(id, n, hex);
  return (int)n;
}

/* The message is rewritten under s->lock whenever any thread meets an
 * error; a caller reading s->err itself would race that. It gets its own
 * copy instead, taken under the lock, which only its next call replaces. */
FASTSTACK_API const char *
faststack_symbolizer_last_error(faststack_symbolizer *s)
{
  static __thread char copy[sizeof s->err];
  if (!s) return "";
  pthread_mutex_lock(&s->lock);
  memcpy(copy, s->err, sizeof copy);
  pthread_mutex_unlock(&s->lock);
  copy[sizeof copy - 1] = '\0';
  return copy;
}

/* The function symbols of an offline symbolizer's file — its .symtab, or
 * its debug file's for a stripped binary, else .dynsym — sorted, one per
 * address, living as long as s. For the crash table's builder. */
int fs_symbolizer_changed(faststack_symbolizer *s)
{
  return s && s->offline && s->nfiles && fs_symfile_changed(s->files[0]);
}

size_t fs_symbolizer_functions(faststack_symbolizer *s, const fs_sym **out)
{
  *out = NULL;
  if (!s || !s->offline || !s->nfiles || !s->files[0]->have_elf) return 0;
  *out = s->files[0]->syms.syms;
  return s->files[0]->syms.n;
}

/* The symfile of the module holding at, and its bias. A thread's last
 * answer is kept: when fs_object_find finds the same object (its
 * start, end, link map and unwind table), the module
 * snapshot has not changed, and the build-id bytes in the object's first
 * page are still those it had, it is the same symfile — the identity
 * faststack_module_find and symfile_for would establish, without their
 * atomics and copies (most lookups in a row fall in the same object).
 * The build-id settles it: after a dlclose the loader may put another
 * small library exactly there, reusing the link map, the name string and
 * even the layout. The bytes are read with fs_safe_copy: an object
 * another thread is unloading may be unmapped between _dl_find_object
 * and the read, which then fails instead of faulting. */
typedef struct sym_hint {
  uint64_t sid, snap;
  uintptr_t start, end, bias;
  const void *lm, *eh_frame;
  fs_symfile *f;
  const unsigned char *id_at; /* f->mapped_id, f->build_id_size and */
  unsigned id_len;            /* f->raw_id, beside the rest */
  unsigned char id[20];
} sym_hint;
static __thread sym_hint tls_hint __attribute__((tls_model("initial-exec")));

static fs_symfile *module_symfile(faststack_symbolizer *s, uintptr_t at,
                                  uintptr_t *bias)
{
  fs_object d;
  /* A snapshot lookup is only as fresh as its last refresh: outside
   * signal context, make sure it has seen every dlopen and dlclose (the
   * hint below reads the object's memory). One dl_iterate_phdr callback
   * when nothing changed. */
  if (fs_objects_snapshot_mode()) fs_objects_refresh();
  /* The link map's name is not compared (nor read: a copy per lookup):
   * the build-id bytes decide, as said above. */
  if (!fs_object_find(at, &d)) return NULL;
  const void *lm = d.id;
  sym_hint *h = &tls_hint;
  uint64_t snap = fs_modules_snapshot_id();
  if (lm && h->sid == s->id && h->snap == snap && h->start == d.start &&
      h->end == d.end && h->lm == lm && h->eh_frame == d.eh_frame_hdr &&
      fs_safe_equal((uintptr_t)h->id_at, h->id, h->id_len)) {
    *bias = h->bias;
    return h->f;
  }
  faststack_module m;
  if (!faststack_module_find(at, &m)) return NULL;
  /* Loaded since the last refresh: the path is the loader's, which a
   * dlclose frees; the snapshot's copy lives as long as the process. */
  if (!fs_module_kept(&m)) {
    faststack_modules_refresh();
    if (!faststack_module_find(at, &m)) return NULL;
  }
  fs_symfile *f = fs_symfile_for(s, &m);
  *bias = m.bias;
  /* A hint only for an object whose build-id bytes are where and what
   * its symfile found them. */
  if (f && f->mapped_id && lm && m.start == d.start &&
      fs_safe_equal((uintptr_t)f->mapped_id, f->raw_id, f->build_id_size)) {
    *h = (sym_hint){
        s->id, snap,           m.start, d.end,        m.bias,
        lm,    d.eh_frame_hdr, f,       f->mapped_id, f->build_id_size,
        {0}};
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
    n = fs_pcc_get(s, f, addr, frames, max, &w);
    if (!n) {
      int lost = w.lost;
      n = fs_symfile_frames(s, f, addr, frames, max, &w);
      if (n > 0 && fs_symfile_changed(f)) {
        /* Its file shrank under us and read as zeros: unknown. */
        memset(frames, 0, sizeof *frames);
        n = 0;
      }
      /* Only complete answers are worth keeping. */
      if (n > 0 && !w.lost && !lost && (!s->offline || fs_pcc_seen(s, addr)))
        fs_pcc_put(s, f, addr, frames, n);
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

/* ------------------------------------------------------ data symbols */

FASTSTACK_API int faststack_symbolize_data(faststack_symbolizer *s,
                                           uintptr_t addr,
                                           faststack_data_symbol *out,
                                           char *strbuf, size_t strcap)
{
  if (!s || !out || (!strbuf && strcap)) return -1;
  memset(out, 0, sizeof *out);
  strw w = {strbuf, strcap, 0, 0, 0};
  fs_symfile *f = NULL;
  uintptr_t bias = 0;
  if (s->offline) {
    f = s->files[0];
  } else {
    faststack_module m;
    if (faststack_module_find(addr, &m)) {
      f = fs_symfile_for(s, &m);
      bias = m.bias;
    }
  }
  if (!f || !f->have_elf) return 0;
  out->module = f->path;
  const fs_symtab *t = fs_symfile_data(s, f);
  const fs_sym *sym = t->n ? fs_symtab_find(t, addr - bias) : NULL;
  if (!sym) return 0;
  out->name = fs_strw_symbol(s, &w, sym->name);
  out->start = sym->addr + bias;
  out->size = sym->size;
  out->offset = addr - out->start;
  out->tls = t->tls ? t->tls[sym - t->syms] : 0;
  return 1;
}
