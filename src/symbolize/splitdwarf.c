/* splitdwarf.c — where a skeleton unit's split unit is (split DWARF,
 * gcc/clang -gsplit-dwarf): a .dwp package beside the binary or its debug
 * file (its .debug_cu_index, versions 2 and 5, gives each unit's
 * contributions to the package's sections), else the unit's .dwo file,
 * looked up by its recorded name: as is when absolute, then under the
 * unit's compilation directory, then beside the binary and its debug
 * file. Files are opened on the first unit that needs them and kept with
 * the symfile, so the sections handed to the DWARF reader live as long
 * as it does. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/symbolizer.h"

/* One opened .dwo file (or one that was looked for and is missing). */
typedef struct fs_dwo {
  struct fs_dwo *next;
  char *key; /* comp_dir NUL dwo_name: what it was looked up by */
  size_t key_len;
  int ok;
  fs_elf elf;
  fs_dwarf_sections ds;
  fs_budget *budget;
} fs_dwo;

int fs_dwp_find(fs_bytes idx, uint64_t id, uint32_t off[FS_DWP_SECT],
                uint32_t size[FS_DWP_SECT])
{
  memset(off, 0, FS_DWP_SECT * sizeof *off);
  memset(size, 0, FS_DWP_SECT * sizeof *size);
  if (!idx.p || idx.n < 16) return 0;
  const uint8_t *p = idx.p;
  unsigned version = fs_rd32(p) & 0xffff; /* v5: a half and padding */
  uint64_t ncols = fs_rd32(p + 4), nunits = fs_rd32(p + 8),
           nslots = fs_rd32(p + 12);
  if ((version != 2 && version != 5) || !nslots || (nslots & (nslots - 1)) ||
      ncols == 0 || ncols > 64)
    return 0;
  /* hashes, row indexes, column ids, offsets table, sizes table */
  uint64_t need = 16 + nslots * 12 + ncols * 4 + 2 * nunits * ncols * 4;
  if (nslots > idx.n || nunits > idx.n || need > idx.n) return 0;
  const uint8_t *hashes = p + 16, *rows = hashes + 8 * nslots;
  const uint8_t *cols = rows + 4 * nslots, *offs = cols + 4 * ncols;
  const uint8_t *sizes = offs + 4 * nunits * ncols;
  uint64_t mask = nslots - 1, h = id & mask, h2 = ((id >> 32) & mask) | 1;
  for (uint64_t k = 0; k < nslots; k++, h = (h + h2) & mask) {
    uint64_t sig = fs_rd64(hashes + 8 * h);
    uint32_t row = fs_rd32(rows + 4 * h);
    if (!row && !sig) return 0; /* an empty slot ends the probe */
    if (sig != id) continue;
    if (row == 0 || row > nunits) return 0;
    for (uint64_t c = 0; c < ncols; c++) {
      uint32_t sect = fs_rd32(cols + 4 * c);
      if (sect >= FS_DWP_SECT) continue;
      off[sect] = fs_rd32(offs + 4 * ((row - 1) * ncols + c));
      size[sect] = fs_rd32(sizes + 4 * ((row - 1) * ncols + c));
    }
    return 1;
  }
  return 0;
}

/* The .dwo sections a split unit reads (the rest is the skeleton's). */
static const char *dwo_sections(fs_elf *e, fs_dwarf_sections *ds)
{
  static const char *const names[] = {
      ".debug_info.dwo", ".debug_abbrev.dwo",      ".debug_line.dwo",
      ".debug_str.dwo",  ".debug_str_offsets.dwo", ".debug_rnglists.dwo"};
  fs_bytes *slot[] = {&ds->info, &ds->abbrev,      &ds->line,
                      &ds->str,  &ds->str_offsets, &ds->rnglists};
  const char *first = NULL;
  memset(ds, 0, sizeof *ds);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *err = NULL;
    if (!fs_elf_section(e, names[i], slot[i], &err) && err && !first)
      first = err;
  }
  return first;
}

/* [base.p + off, + n) when it lies inside base, else empty. */
static fs_bytes slice(fs_bytes base, uint32_t off, uint32_t n)
{
  if (!base.p || off > base.n || n > base.n - off) return (fs_bytes){0};
  return (fs_bytes){base.p + off, n};
}

/* Opens the package once: PATH.dwp for the binary and its debug file
 * (without a .debug suffix too), as gdb names them. */
static void open_dwp(fs_split *sp)
{
  sp->dwp_tried = 1;
  const char *bases[2] = {sp->bin_path, sp->dbg_path};
  for (int i = 0; i < 2 && !sp->have_dwp; i++) {
    if (!bases[i]) continue;
    char p[PATH_MAX];
    size_t l = strlen(bases[i]);
    for (int strip = 0; strip < 2 && !sp->have_dwp; strip++) {
      size_t n = l;
      if (strip) {
        if (l < 6 || strcmp(bases[i] + l - 6, ".debug")) continue;
        n = l - 6;
      }
      int len = snprintf(p, sizeof p, "%.*s.dwp", (int)n, bases[i]);
      if (len <= 0 || (size_t)len >= sizeof p ||
          fs_elf_open(&sp->dwp, p, NULL) != 0)
        continue;
      fs_elf_set_budget(&sp->dwp, sp->budget);
      fs_elf_section(&sp->dwp, ".debug_cu_index", &sp->cu_index, NULL);
      dwo_sections(&sp->dwp, &sp->dwp_ds);
      if (sp->cu_index.p && sp->dwp_ds.info.p) sp->have_dwp = 1;
      else fs_elf_close(&sp->dwp);
    }
  }
}

/* The unit's contributions in the package. DW_SECT_* ids: 1 info, 3
 * abbrev, 4 line, 6 str_offsets, 8 rnglists (version 5). */
static int from_dwp(fs_split *sp, const fs_dwo_ref *ref, fs_dwarf_sections *out)
{
  uint32_t off[FS_DWP_SECT], size[FS_DWP_SECT];
  if (!fs_dwp_find(sp->cu_index, ref->dwo_id, off, size) || !size[1]) return 0;
  memset(out, 0, sizeof *out);
  out->info = slice(sp->dwp_ds.info, off[1], size[1]);
  out->abbrev = slice(sp->dwp_ds.abbrev, off[3], size[3]);
  out->line = slice(sp->dwp_ds.line, off[4], size[4]);
  out->str_offsets = slice(sp->dwp_ds.str_offsets, off[6], size[6]);
  if (ref->version >= 5)
    out->rnglists = slice(sp->dwp_ds.rnglists, off[8], size[8]);
  out->str = sp->dwp_ds.str; /* shared by all units */
  return out->info.p != NULL;
}

static int try_dwo(fs_dwo *w, const char *path)
{
  if (fs_elf_open(&w->elf, path, NULL) != 0) return 0;
  fs_elf_set_budget(&w->elf, w->budget);
  dwo_sections(&w->elf, &w->ds);
  if (w->ds.info.p && w->ds.abbrev.p) return w->ok = 1;
  fs_elf_close(&w->elf);
  return 0;
}

/* Looks for the .dwo file: the name as is when absolute, under the comp
 * dir, then beside the binary and its debug file (name, then base name). */
static void find_dwo(const fs_split *sp, const fs_dwo_ref *ref, fs_dwo *w)
{
  const char *name = ref->dwo_name, *base = strrchr(name, '/');
  char p[PATH_MAX];
  base = base ? base + 1 : name;
  if (name[0] == '/') {
    if (try_dwo(w, name)) return;
  } else if (ref->comp_dir) {
    int len = snprintf(p, sizeof p, "%s/%s", ref->comp_dir, name);
    if (len > 0 && (size_t)len < sizeof p && try_dwo(w, p)) return;
  }
  const char *dirs[2] = {sp->bin_path, sp->dbg_path};
  for (int i = 0; i < 2; i++) {
    if (!dirs[i]) continue;
    const char *slash = strrchr(dirs[i], '/');
    int dl = slash ? (int)(slash - dirs[i]) : 1;
    const char *dir = slash ? dirs[i] : ".";
    for (int b = name[0] == '/'; b < 2; b++) {
      int len = snprintf(p, sizeof p, "%.*s/%s", dl, dir, b ? base : name);
      if (len > 0 && (size_t)len < sizeof p && try_dwo(w, p)) return;
    }
  }
}

int fs_split_find(void *arg, const fs_dwo_ref *ref, fs_dwarf_sections *out)
{
  fs_split *sp = arg;
  if (!ref->dwo_name || !ref->dwo_name[0]) return 0;
  pthread_mutex_lock(&sp->mu);
  if (!sp->dwp_tried) open_dwp(sp);
  int found = sp->have_dwp && from_dwp(sp, ref, out);
  if (!found) {
    const char *cd = ref->comp_dir ? ref->comp_dir : "";
    size_t cl = strlen(cd), nl = strlen(ref->dwo_name), kl = cl + 1 + nl;
    fs_dwo *w = sp->dwos;
    while (w && !(w->key_len == kl && !memcmp(w->key, cd, cl) &&
                  !memcmp(w->key + cl + 1, ref->dwo_name, nl)))
      w = w->next;
    if (!w && (w = calloc(1, sizeof *w)) && (w->key = malloc(kl + 1))) {
      memcpy(w->key, cd, cl + 1);
      memcpy(w->key + cl + 1, ref->dwo_name, nl + 1);
      w->key_len = kl;
      w->budget = sp->budget;
      find_dwo(sp, ref, w);
      w->next = sp->dwos;
      sp->dwos = w;
    } else if (!w || !w->key) {
      free(w);
      w = NULL;
    }
    if (w && w->ok) {
      *out = w->ds;
      found = 1;
    }
  }
  pthread_mutex_unlock(&sp->mu);
  return found;
}

void fs_split_init(fs_split *sp, const char *bin_path, const char *dbg_path,
                   fs_budget *budget)
{
  memset(sp, 0, sizeof *sp);
  sp->budget = budget;
  pthread_mutex_init(&sp->mu, NULL);
  sp->bin_path = bin_path ? strdup(bin_path) : NULL;
  sp->dbg_path = dbg_path ? strdup(dbg_path) : NULL;
  sp->inited = 1;
}

void fs_split_free(fs_split *sp)
{
  if (!sp->inited) return;
  for (fs_dwo *w = sp->dwos, *n; w; w = n) {
    n = w->next;
    if (w->ok) fs_elf_close(&w->elf);
    free(w->key);
    free(w);
  }
  if (sp->have_dwp) fs_elf_close(&sp->dwp);
  free(sp->bin_path);
  free(sp->dbg_path);
  pthread_mutex_destroy(&sp->mu);
  memset(sp, 0, sizeof *sp);
}
