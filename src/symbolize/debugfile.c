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
  fs_elf *out;
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

int fs_debug_file_find(const fs_elf *e, const char *path, fs_elf *out)
{
  dbg_search q = {.out = out};
  char idhex[2 * FASTSTACK_BUILD_ID_MAX + 1];
  q.id_size = fs_elf_build_id(e, q.id, sizeof q.id);
  if (q.id_size > FASTSTACK_BUILD_ID_MAX) q.id_size = 0;
  if (q.id_size >= 2) {
    fs_hex_bytes(q.id, q.id_size, idhex);
    q.id_hex = idhex;
    if (each_debug_root(by_build_id, &q)) return 1;
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
  return each_debug_root(by_link_in_root, &q);
}
