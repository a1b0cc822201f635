/* symfile.c — one ELF object's symbolization state (fs_symfile): the
 * mapped binary, its separate debug file if the binary has no DWARF, the
 * DWARF index (lazy) and a sorted function symbol table (.symtab, else
 * .dynsym) for what DWARF does not cover. A symfile is opened on the
 * first PC that falls in its object and kept for the symbolizer's life.
 *
 * Truthfulness: a loaded module whose file on disk has a different
 * build-id (replaced since it was loaded) is not read; its frames stay
 * unknown. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "symbolize/symbolizer.h"

void fs_symbolizer_set_error(faststack_symbolizer *s, const char *what,
                             const char *path)
{
  pthread_mutex_lock(&s->lock);
  snprintf(s->err, sizeof s->err, "%s: %s", path ? path : "?", what);
  pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------ opening files */

static const char *dwarf_sections(fs_elf *e, fs_dwarf_sections *ds)
{
  static const char *const names[] = {
      ".debug_info",     ".debug_abbrev",      ".debug_line", ".debug_str",
      ".debug_line_str", ".debug_str_offsets", ".debug_addr", ".debug_ranges",
      ".debug_rnglists", ".debug_aranges"};
  fs_bytes *slot[] = {&ds->info,     &ds->abbrev,      &ds->line, &ds->str,
                      &ds->line_str, &ds->str_offsets, &ds->addr, &ds->ranges,
                      &ds->rnglists, &ds->aranges};
  const char *first_err = NULL;
  memset(ds, 0, sizeof *ds);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *err = NULL;
    if (!fs_elf_section(e, names[i], slot[i], &err) && err && !first_err)
      first_err = err;
  }
  return first_err;
}

/* With debuginfod, the debug file of build-id id (hex) fetched (or from
 * the shared cache) into *out; it must carry that build-id. 1 found. */
static int fetch_debug_file(faststack_symbolizer *s, const char *id,
                            fs_elf *out, char *path, size_t cap)
{
  if (s->debuginfod <= 0 || strlen(id) < 2 ||
      !fs_debuginfod_debuginfo(id, s->debuginfod_timeout_s,
                               s->debuginfod_progress, path, cap) ||
      fs_elf_open(out, path, NULL) != 0)
    return 0;
  uint8_t raw[FASTSTACK_BUILD_ID_MAX];
  char hex[2 * FASTSTACK_BUILD_ID_MAX + 1];
  unsigned n = fs_elf_build_id(out, raw, sizeof raw);
  fs_hex_bytes(raw, n <= sizeof raw ? n : 0, hex);
  if (!strcmp(hex, id)) return 1;
  fs_elf_close(out);
  return 0;
}

/* The supplementary file of e's DWARF (dwz), when it links to one. */
static void load_alt(faststack_symbolizer *s, fs_symfile *f, fs_elf *e,
                     const char *epath, fs_dwarf_sections *ds)
{
  const char *name, *err;
  const uint8_t *id;
  unsigned n;
  if (!fs_elf_altlink(e, &name, &id, &n)) return;
  char hex[2 * FASTSTACK_BUILD_ID_MAX + 1], alt_path[PATH_MAX];
  fs_hex_bytes(id, n <= FASTSTACK_BUILD_ID_MAX ? n : 0, hex);
  f->have_alt = fs_alt_file_find(e, epath, s->debug_dirs, &f->alt) ||
                fetch_debug_file(s, hex, &f->alt, alt_path, sizeof alt_path);
  if (!f->have_alt) {
    fs_symbolizer_set_error(s, "supplementary (dwz) file not found", name);
    return;
  }
  fs_elf_set_budget(&f->alt, &s->budget);
  if ((err = dwarf_sections(&f->alt, &f->dsup)))
    fs_symbolizer_set_error(s, err, name);
  ds->sup = &f->dsup;
}

static void load_dwarf(faststack_symbolizer *s, fs_symfile *f, const char *path)
{
  fs_elf *e = &f->elf;
  char dbg_path[PATH_MAX];
  const char *epath = path;
  if (!fs_elf_has_section(e, ".debug_info") &&
      !fs_elf_has_section(e, ".zdebug_info")) {
    f->have_dbg =
        fs_debug_file_find(&f->elf, path, s->debug_dirs, &f->dbg, dbg_path,
                           sizeof dbg_path) ||
        fetch_debug_file(s, f->build_id, &f->dbg, dbg_path, sizeof dbg_path);
    if (!f->have_dbg) return;
    e = &f->dbg;
    epath = dbg_path;
    fs_elf_set_budget(e, &s->budget);
  }
  fs_dwarf_sections ds;
  const char *err = dwarf_sections(e, &ds);
  if (err) fs_symbolizer_set_error(s, err, path);
  if (!ds.info.p) return;
  load_alt(s, f, e, epath, &ds);
  f->dwarf = fs_dwarf_create(&ds, s->opts.cache_bytes, &err);
  if (!f->dwarf && err) fs_symbolizer_set_error(s, err, path);
  if (!f->dwarf) return;
  /* Costs nothing until a skeleton unit is decoded. */
  fs_split_init(&f->split, path, f->have_dbg ? dbg_path : NULL, &s->budget);
  fs_dwarf_set_dwo(f->dwarf, fs_split_find, &f->split);
}

/* Keeps t as a fallback table (consulted when the first has no symbol),
 * or frees it. */
static void add_fallback(fs_symfile *f, fs_symtab *t)
{
  if (t->n && f->nfallback < FS_FALLBACK_MAX) f->fallback[f->nfallback++] = *t;
  else fs_symtab_free(t);
}

/* The symbol tables: the binary's .symtab; for a stripped binary its
 * debug file's, with the binary's own .dynsym kept as a fallback for
 * addresses the debug file does not know; without a debug file,
 * .dynsym and then MiniDebugInfo's .symtab (the functions .dynsym
 * lacks). */
static void load_symbols(faststack_symbolizer *s, fs_symfile *f,
                         const char *path)
{
  if (fs_elf_symtab(&f->elf, &f->syms) == 0 && !f->syms.dynamic) return;
  fs_symtab t;
  if (f->have_dbg && fs_elf_symtab(&f->dbg, &t) == 0 && !t.dynamic) {
    add_fallback(f, &f->syms);
    f->syms = t;
    return;
  }
  if (f->have_dbg) fs_symtab_free(&t);
  const char *err = NULL;
  f->have_mini = fs_elf_minidebuginfo(&f->elf, &f->mini, &err);
  if (err) fs_symbolizer_set_error(s, err, path);
  if (f->have_mini && fs_elf_symtab(&f->mini, &t) == 0 && !t.dynamic)
    add_fallback(f, &t);
  else if (f->have_mini) fs_symtab_free(&t);
  if (!f->syms.n && f->nfallback) { /* no .dynsym: the only table */
    fs_symtab_free(&f->syms);
    f->syms = f->fallback[--f->nfallback];
  }
}

/* Sets f->mapped_id for module m (see fs_symfile). */
static void note_mapped_id(fs_symfile *f, const faststack_module *m)
{
  unsigned char id[sizeof f->raw_id + 1];
  uintptr_t at = 0;
  unsigned n =
      fs_mapped_build_id(m->start, m->end, m->bias, id, sizeof id, &at);
  char hexid[2 * sizeof f->raw_id + 1];
  if (n < 8 || n > sizeof f->raw_id || n != f->build_id_size ||
      at + n > m->start + 4096)
    return;
  fs_hex_bytes(id, n, hexid);
  if (memcmp(hexid, f->build_id, 2 * (size_t)n)) return;
  memcpy(f->raw_id, id, n);
  f->mapped_id = (const unsigned char *)at;
}

fs_symfile *fs_symfile_new(faststack_symbolizer *s, const char *path,
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
    rc =
        base && fs_maps_find(base, &r, NULL, NULL)
            ? fs_elf_from_memory(&f->elf, (const void *)base, r.hi - base, &err)
            : -1;
  } else {
    rc = fs_elf_open(&f->elf, path, &err);
  }
  if (rc != 0) {
    fs_symbolizer_set_error(s, err ? err : "cannot read", path);
    return f; /* known to be unusable: PCs in it stay unknown */
  }
  if (m) {
    if (m->build_id[0]) {
      uint8_t id[FASTSTACK_BUILD_ID_MAX];
      char h[2 * FASTSTACK_BUILD_ID_MAX + 1];
      unsigned n = fs_elf_build_id(&f->elf, id, sizeof id);
      if (n > FASTSTACK_BUILD_ID_MAX) n = 0;
      fs_hex_bytes(id, n, h);
      if (strcmp(h, m->build_id) != 0) {
        /* Replaced on disk since it was loaded: reading it would lie. */
        fs_symbolizer_set_error(
            s, "file on disk differs from the loaded module", path);
        fs_elf_close(&f->elf);
        return f;
      }
    }
  } else {
    uint8_t id[FASTSTACK_BUILD_ID_MAX];
    unsigned n = fs_elf_build_id(&f->elf, id, sizeof id);
    if (n <= FASTSTACK_BUILD_ID_MAX) {
      fs_hex_bytes(id, n, f->build_id);
      f->build_id_size = n;
    }
  }
  f->have_elf = 1;
  if (m) note_mapped_id(f, m);
  fs_elf_set_budget(&f->elf, &s->budget);
  load_dwarf(s, f, path);
  load_symbols(s, f, path);
  return f;
}

const fs_symtab *fs_symfile_data(faststack_symbolizer *s, fs_symfile *f)
{
  if (atomic_load_explicit(&f->data_ready, memory_order_acquire))
    return &f->data;
  pthread_mutex_lock(&s->lock);
  if (!atomic_load(&f->data_ready) && f->have_elf) {
    /* A stripped binary's data symbols are in its debug file. */
    if (fs_elf_data_symtab(&f->elf, &f->data) != 0 || f->data.dynamic) {
      fs_symtab t;
      if (f->have_dbg && fs_elf_data_symtab(&f->dbg, &t) == 0 && !t.dynamic &&
          t.n) {
        fs_symtab_free(&f->data);
        f->data = t;
      } else if (f->have_dbg) {
        fs_symtab_free(&t);
      }
    }
    atomic_store_explicit(&f->data_ready, 1, memory_order_release);
  }
  pthread_mutex_unlock(&s->lock);
  return &f->data;
}

void fs_symfile_free(fs_symfile *f)
{
  if (!f) return;
  fs_symtab_free(&f->data);
  for (int i = 0; i < f->nfallback; i++) fs_symtab_free(&f->fallback[i]);
  if (f->have_mini) fs_elf_close(&f->mini);
  fs_dwarf_free(f->dwarf);
  fs_split_free(&f->split);
  fs_symtab_free(&f->syms);
  if (f->have_dbg) fs_elf_close(&f->dbg);
  if (f->have_alt) fs_elf_close(&f->alt);
  fs_elf_close(&f->elf);
  free(f->path);
  free(f);
}

int fs_symfile_changed(const fs_symfile *f)
{
  return (f->have_elf && fs_elf_changed(&f->elf)) ||
         (f->have_dbg && fs_elf_changed(&f->dbg));
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
fs_symfile *fs_symfile_for(faststack_symbolizer *s, const faststack_module *m)
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
    fs_symfile *f = fs_symfile_new(s, m->path, m);
    pthread_mutex_lock(&s->lock);
    n = atomic_load(&s->nfiles);
    for (int i = 0; i < n && !found; i++)
      if (same(s->files[i], m)) found = s->files[i];
    if (found || !f || n >= FS_SYMFILES_MAX) {
      fs_symfile_free(f);
    } else {
      atomic_store_explicit(&s->files[n], f, memory_order_relaxed);
      atomic_store_explicit(&s->nfiles, n + 1, memory_order_release);
      found = f;
    }
  }
  pthread_mutex_unlock(&s->lock);
  return found;
}
