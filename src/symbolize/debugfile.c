/* debugfile.c — where a binary's separate debug information is: its
 * build-id under each debug root (.build-id/xx/yyyy.debug), then its
 * .gnu_debuglink name next to it, in its .debug/ folder and under each
 * debug root. A candidate is used only when it has DWARF and belongs to
 * the binary: the same build-id, or the debuglink's CRC. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/symbolizer.h"

/* Calls fn(dir, len, arg) for each folder of a colon-separated list
 * until it returns 1. */
int fs_each_dir(const char *list, int (*fn)(const char *, size_t, void *),
                void *arg)
{
  for (const char *p = list ? list : ""; *p;) {
    const char *c = strchr(p, ':');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    if (n && fn(p, n, arg)) return 1;
    p += n + (c != NULL);
  }
  return 0;
}

/* The debug roots: the symbolizer's own (dirs), then FASTSTACK_DEBUG_ROOT
 * ("dir:dir"), else /usr/lib/debug. */
static int each_debug_root(const char *dirs,
                           int (*fn)(const char *, size_t, void *), void *arg)
{
  const char *env = getenv("FASTSTACK_DEBUG_ROOT");
  return fs_each_dir(dirs, fn, arg) ||
         fs_each_dir(env && *env ? env : "/usr/lib/debug", fn, arg);
}

typedef struct dbg_search {
  fs_elf *out;
  char *found; /* the path used, when found */
  size_t found_cap;
  const char *id_hex;     /* build-id search */
  const char *link, *dir; /* debuglink search: name, binary's dir */
  uint32_t crc;
  uint8_t id[FASTSTACK_BUILD_ID_MAX];
  unsigned id_size;
} dbg_search;

/* Opens candidate as *q->out if it is an ELF file with DWARF that belongs
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
  *q->out = d;
  if (q->found) snprintf(q->found, q->found_cap, "%s", cand);
  return 1;
}

static int by_build_id(const char *root, size_t n, void *arg)
{
  dbg_search *q = arg;
  char p[PATH_MAX];
  int len = snprintf(p, sizeof p, "%.*s/.build-id/%.2s/%s.debug", (int)n, root,
                     q->id_hex, q->id_hex + 2);
  return len > 0 && (size_t)len < sizeof p && try_debug_file(q, p, 0);
}

static int by_link_in_root(const char *root, size_t n, void *arg)
{
  dbg_search *q = arg;
  char p[PATH_MAX];
  int len = snprintf(p, sizeof p, "%.*s%s/%s", (int)n, root, q->dir, q->link);
  return len > 0 && (size_t)len < sizeof p && try_debug_file(q, p, 1);
}

int fs_debug_file_find(const fs_elf *e, const char *path, const char *dirs,
                       fs_elf *out, char *found, size_t cap)
{
  dbg_search q = {.out = out, .found = found, .found_cap = cap};
  char idhex[2 * FASTSTACK_BUILD_ID_MAX + 1];
  q.id_size = fs_elf_build_id(e, q.id, sizeof q.id);
  if (q.id_size > FASTSTACK_BUILD_ID_MAX) q.id_size = 0;
  if (q.id_size >= 2) {
    fs_hex_bytes(q.id, q.id_size, idhex);
    q.id_hex = idhex;
    if (each_debug_root(dirs, by_build_id, &q)) return 1;
  }
  const char *link;
  if (!fs_elf_debuglink(e, &link, &q.crc) || strchr(link, '/')) return 0;
  char dir[PATH_MAX], p[PATH_MAX];
  const char *slash = strrchr(path, '/');
  size_t dl = slash ? (size_t)(slash - path) : 0;
  if (dl >= sizeof dir) return 0;
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
      return 1;
  }
  return each_debug_root(dirs, by_link_in_root, &q);
}

/* ------------------------------------------------- dwz alternate file */

typedef struct alt_search {
  fs_elf *out;
  const char *name;  /* as the link records it */
  const uint8_t *id; /* the alternate file's build-id */
  unsigned id_size;
  char id_hex[2 * FASTSTACK_BUILD_ID_MAX + 1];
} alt_search;

/* Opens cand as *q->out if it is ELF with .debug_info and the build-id
 * the link records. */
static int try_alt(alt_search *q, const char *cand)
{
  fs_elf d;
  if (fs_elf_open(&d, cand, NULL) != 0) return 0;
  uint8_t id[FASTSTACK_BUILD_ID_MAX];
  const uint8_t *sum;
  unsigned n = fs_elf_build_id(&d, id, sizeof id), sn;
  /* dwz records the build-id (.gnu_debugaltlink) or the file's own
   * .debug_sup checksum (DWARF 5). */
  /* A supplementary file may hold only strings (all that its users
   * had in common). */
  int ok = (fs_elf_has_section(&d, ".debug_info") ||
            fs_elf_has_section(&d, ".debug_str") ||
            fs_elf_has_section(&d, ".zdebug_info")) &&
           ((n == q->id_size && n <= sizeof id && !memcmp(id, q->id, n)) ||
            (fs_elf_sup_checksum(&d, &sum, &sn) && sn == q->id_size &&
             !memcmp(sum, q->id, sn)));
  if (!ok) {
    fs_elf_close(&d);
    return 0;
  }
  *q->out = d;
  return 1;
}

/* Under one debug root: the link's path below /usr/lib/debug (a debug
 * tree copied from another machine), its .dwz/ part, then the build-id. */
static int alt_in_root(const char *root, size_t n, void *arg)
{
  alt_search *q = arg;
  char p[PATH_MAX];
  const char *dwz = strstr(q->name, "/.dwz/");
  const char *base = strrchr(q->name, '/');
  const char *tails[2] = {NULL, NULL};
  if (!strncmp(q->name, "/usr/lib/debug/", 15)) tails[0] = q->name + 14;
  tails[1] = dwz ? dwz : NULL;
  for (int i = 0; i < 2; i++) {
    int len =
        tails[i] ? snprintf(p, sizeof p, "%.*s%s", (int)n, root, tails[i]) : -1;
    if (len > 0 && (size_t)len < sizeof p && try_alt(q, p)) return 1;
  }
  int len = snprintf(p, sizeof p, "%.*s/.dwz/%s", (int)n, root,
                     base ? base + 1 : q->name);
  if (len > 0 && (size_t)len < sizeof p && try_alt(q, p)) return 1;
  if (q->id_size < 2) return 0;
  len = snprintf(p, sizeof p, "%.*s/.build-id/%.2s/%s.debug", (int)n, root,
                 q->id_hex, q->id_hex + 2);
  return len > 0 && (size_t)len < sizeof p && try_alt(q, p);
}

int fs_alt_file_find(const fs_elf *dbg, const char *dbg_path, const char *dirs,
                     fs_elf *out)
{
  alt_search q = {.out = out};
  if (!fs_elf_altlink(dbg, &q.name, &q.id, &q.id_size) || !q.id_size ||
      q.id_size > FASTSTACK_BUILD_ID_MAX)
    return 0;
  fs_hex_bytes(q.id, q.id_size, q.id_hex);
  char p[PATH_MAX];
  if (q.name[0] == '/') {
    if (try_alt(&q, q.name)) return 1;
  } else {
    /* Relative to the file that links to it (dwz -r). */
    const char *slash = strrchr(dbg_path, '/');
    int dl = slash ? (int)(slash - dbg_path) : 1;
    int len =
        snprintf(p, sizeof p, "%.*s/%s", dl, slash ? dbg_path : ".", q.name);
    if (len > 0 && (size_t)len < sizeof p && try_alt(&q, p)) return 1;
  }
  return each_debug_root(dirs, alt_in_root, &q);
}

/* ------------------------------------------- modules from other hosts */

typedef struct mod_search {
  const char *base; /* the module's base name */
  const char *id;   /* its build-id in hex, or "" */
  char *out;
  size_t cap;
} mod_search;

/* Is path an ELF file with build-id id (any ELF file when id is "")? */
static int has_build_id(const char *path, const char *id)
{
  fs_elf e;
  if (fs_elf_open(&e, path, NULL) != 0) return 0;
  uint8_t raw[FASTSTACK_BUILD_ID_MAX];
  char hex[2 * FASTSTACK_BUILD_ID_MAX + 1];
  unsigned n = fs_elf_build_id(&e, raw, sizeof raw);
  fs_elf_close(&e);
  if (!id[0]) return 1;
  if (n == 0 || n > sizeof raw) return 0;
  fs_hex_bytes(raw, n, hex);
  return !strcmp(hex, id);
}

static int try_module(mod_search *q, const char *cand)
{
  if (!has_build_id(cand, q->id)) return 0;
  snprintf(q->out, q->cap, "%s", cand);
  return 1;
}

/* DIR/.build-id/xx/yyyy (a binary) and .debug (its debug file), then
 * DIR/NAME. */
static int module_in_dir(const char *dir, size_t n, void *arg)
{
  mod_search *q = arg;
  char p[PATH_MAX];
  static const char *const fmt[] = {"%.*s/.build-id/%.2s/%s",
                                    "%.*s/.build-id/%.2s/%s.debug"};
  for (int i = 0; i < 2 && strlen(q->id) > 2; i++) {
    int len = snprintf(p, sizeof p, fmt[i], (int)n, dir, q->id, q->id + 2);
    if (len > 0 && (size_t)len < sizeof p && try_module(q, p)) return 1;
  }
  int len = snprintf(p, sizeof p, "%.*s/%s", (int)n, dir, q->base);
  return len > 0 && (size_t)len < sizeof p && try_module(q, p);
}

/* A debug root's build-id file for the module. */
static int module_in_root(const char *dir, size_t n, void *arg)
{
  mod_search *q = arg;
  char p[PATH_MAX];
  int len = snprintf(p, sizeof p, "%.*s/.build-id/%.2s/%s.debug", (int)n, dir,
                     q->id, q->id + 2);
  return len > 0 && (size_t)len < sizeof p && try_module(q, p);
}

int fs_module_file_find(const char *path, const char *build_id,
                        const char *search_path, const char *debug_dirs,
                        char *out, size_t cap)
{
  const char *slash = strrchr(path, '/');
  mod_search q = {slash ? slash + 1 : path, build_id ? build_id : "", out, cap};
  if (path[0] && try_module(&q, path)) return 1;
  if (fs_each_dir(search_path, module_in_dir, &q)) return 1;
  return strlen(q.id) > 2 && each_debug_root(debug_dirs, module_in_root, &q);
}
