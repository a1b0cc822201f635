/* provider.c — a source provider's lifecycle (options, search roots,
 * prefix maps), its cache of rendered lines ((file, line) -> text, under
 * a byte budget with LRU eviction) and its per-file records (where the
 * file was found, its identity, missing and unreadable files remembered,
 * re-checked at most once per FS_RECHECK_NS; and the provider-wide "no
 * sources on this machine" fast path). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annotate/sources.h"

long long fs_src_now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t hash_str(const char *s)
{
  uint64_t h = 1469598103934665603ull;
  while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
  return h;
}

static size_t line_hash(const srcfile *f, int line, size_t nbuckets)
{
  uint64_t h = ((uintptr_t)f >> 4) * 0x9e3779b97f4a7c15ull ^ (uint64_t)line;
  h *= 0xff51afd7ed558ccdull;
  return (size_t)(h >> 20) & (nbuckets - 1);
}

static size_t line_bucket(const faststack_sources *s, const srcfile *f,
                          int line)
{
  return line_hash(f, line, s->nline_buckets);
}

static char *dup_range(const char *p, size_t n)
{
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, p, n);
  d[n] = '\0';
  return d;
}

/* "a:b:c" -> array of strings (empty parts skipped). */
static int split_list(const char *spec, char ***out)
{
  *out = NULL;
  if (!spec || !*spec) return 0;
  int n = 1;
  for (const char *p = spec; *p; p++) n += *p == ':';
  char **v = calloc((size_t)n, sizeof *v);
  if (!v) return 0;
  int k = 0;
  for (const char *p = spec; *p;) {
    const char *e = strchr(p, ':');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len && (v[k] = dup_range(p, len))) k++;
    p += len + (e ? 1 : 0);
  }
  *out = v;
  return k;
}

static void parse_maps(faststack_sources *s, const char *spec)
{
  char **parts;
  int n = split_list(spec, &parts);
  s->maps = n ? calloc((size_t)n, sizeof *s->maps) : NULL;
  for (int i = 0; i < n; i++) {
    char *eq = strchr(parts[i], '=');
    if (s->maps && eq && eq != parts[i]) {
      *eq = '\0';
      s->maps[s->nmaps].from = parts[i];
      s->maps[s->nmaps++].to = strdup(eq + 1);
    } else {
      free(parts[i]);
    }
  }
  free(parts);
}

/* ---------------------------------------------------------- lifecycle */

FASTSTACK_API faststack_sources *
faststack_sources_create(const faststack_sources_options *opts)
{
  faststack_sources *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  if (opts) s->opt = *opts;
  if (!s->opt.cache_bytes) s->opt.cache_bytes = 4u << 20;
  if (s->opt.width <= 0) s->opt.width = 160;
  if (s->opt.width < 8) s->opt.width = 8;
  if (s->opt.tab_width <= 0) s->opt.tab_width = 4;
  if (s->opt.tab_width > 16) s->opt.tab_width = 16;
  const char *path = opts && opts->source_path
                         ? opts->source_path
                         : getenv("FASTSTACK_SOURCE_PATH");
  const char *map = opts && opts->source_map ? opts->source_map
                                             : getenv("FASTSTACK_SOURCE_MAP");
  s->nroots = split_list(path, &s->roots);
  parse_maps(s, map);
  s->opt.source_path = s->opt.source_map = NULL; /* not kept: caller's */
  s->nfile_buckets = FS_FILE_BUCKETS0;
  s->nline_buckets = FS_LINE_BUCKETS0;
  s->files = s->files0;
  s->lines = s->lines0;
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->fd_free, NULL);
  return s;
}

FASTSTACK_API void faststack_sources_free(faststack_sources *s)
{
  if (!s) return;
  for (line_entry *e = s->lru_head, *n; e; e = n) {
    n = e->lru_next;
    free(e);
  }
  for (size_t b = 0; b < s->nfile_buckets; b++)
    for (srcfile *f = s->files[b], *n; f; f = n) {
      n = f->hnext;
      if (f->resolved != f->name) free(f->resolved);
      free(f->fetched);
      free(f);
    }
  for (int i = 0; i < s->nmaps; i++) {
    free(s->maps[i].from);
    free(s->maps[i].to);
  }
  for (int i = 0; i < s->nroots; i++) free(s->roots[i]);
  for (int i = 0; i < 16; i++) free(s->modules[i].path);
  free(s->maps);
  free(s->roots);
  if (s->files != s->files0) free(s->files);
  if (s->lines != s->lines0) free(s->lines);
  free(s->spare);
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->fd_free);
  free(s);
}

static faststack_sources *default_sources;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void make_default(void)
{
  default_sources = faststack_sources_create(NULL);
}

FASTSTACK_API faststack_sources *faststack_default_sources(void)
{
  pthread_once(&default_once, make_default);
  return default_sources;
}

FASTSTACK_API void faststack_sources_get_stats(faststack_sources *s,
                                               faststack_sources_stats *st)
{
  if (!s || !st) return;
  pthread_mutex_lock(&s->lock);
  *st = s->stats;
  st->cached_bytes = s->cached_bytes;
  pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------- the line cache */

static void lru_unlink(faststack_sources *s, line_entry *e)
{
  if (e->lru_prev) e->lru_prev->lru_next = e->lru_next;
  else s->lru_head = e->lru_next;
  if (e->lru_next) e->lru_next->lru_prev = e->lru_prev;
  else s->lru_tail = e->lru_prev;
}

static void lru_push_front(faststack_sources *s, line_entry *e)
{
  e->lru_prev = NULL;
  e->lru_next = s->lru_head;
  if (s->lru_head) s->lru_head->lru_prev = e;
  else s->lru_tail = e;
  s->lru_head = e;
}

static size_t entry_cost(const line_entry *e)
{
  return sizeof *e + e->len + 1;
}

static void remove_entry(faststack_sources *s, line_entry *e)
{
  line_entry **pp = &s->lines[line_bucket(s, e->file, e->line)];
  while (*pp && *pp != e) pp = &(*pp)->hnext;
  if (*pp) *pp = e->hnext;
  lru_unlink(s, e);
  s->cached_bytes -= entry_cost(e);
  s->nline_entries--;
  free(e);
}

/* Doubles the line table once it holds more entries than buckets. Out of
 * memory: the old table stays (longer chains, same answers). */
static void grow_lines(faststack_sources *s)
{
  if (s->nline_entries <= s->nline_buckets ||
      s->nline_buckets >= FS_LINE_BUCKETS_MAX)
    return;
  size_t nb = s->nline_buckets * 2;
  line_entry **t = calloc(nb, sizeof *t);
  if (!t) return;
  for (size_t b = 0; b < s->nline_buckets; b++)
    for (line_entry *e = s->lines[b], *n; e; e = n) {
      n = e->hnext;
      size_t k = line_hash(e->file, e->line, nb);
      e->hnext = t[k];
      t[k] = e;
    }
  if (s->lines != s->lines0) free(s->lines);
  s->lines = t;
  s->nline_buckets = nb;
}

line_entry *fs_src_cache_find(faststack_sources *s, srcfile *f, int line)
{
  for (line_entry *e = s->lines[line_bucket(s, f, line)]; e; e = e->hnext)
    if (e->file == f && e->line == line) {
      lru_unlink(s, e);
      lru_push_front(s, e);
      return e;
    }
  return NULL;
}

line_entry *fs_src_entry_new(const char *text, size_t len)
{
  line_entry *e = malloc(sizeof *e + len + 1);
  if (!e) return NULL;
  e->len = len;
  if (len) memcpy(e->text, text, len);
  e->text[len] = '\0';
  return e;
}

int fs_src_cache_adopt(faststack_sources *s, srcfile *f, int line, int status,
                       line_entry *e)
{
  if (fs_src_cache_find(s, f, line)) return 0; /* another thread was first */
  e->file = f;
  e->line = line;
  e->status = status;
  if (entry_cost(e) > s->opt.cache_bytes) return 0;
  while (s->cached_bytes + entry_cost(e) > s->opt.cache_bytes && s->lru_tail)
    remove_entry(s, s->lru_tail);
  size_t b = line_bucket(s, f, line);
  e->hnext = s->lines[b];
  s->lines[b] = e;
  lru_push_front(s, e);
  s->cached_bytes += entry_cost(e);
  s->nline_entries++;
  grow_lines(s);
  return 1;
}

static void drop_file_lines(faststack_sources *s, srcfile *f)
{
  for (line_entry *e = s->lru_head, *n; e; e = n) {
    n = e->lru_next;
    if (e->file == f) remove_entry(s, e);
  }
}

/* -------------------------------------------------------- file records */

/* Candidate paths for a frame's file: the prefix-mapped path, then each
 * search root joined with it and with its base name. Calls try(path)
 * until it returns non-zero. */
static int for_each_candidate(faststack_sources *s, const char *name,
                              int (*try)(const char *, void *), void *arg)
{
  char buf[4096];
  const char *path = name;
  for (int i = 0; i < s->nmaps; i++) {
    size_t n = strlen(s->maps[i].from);
    if (!strncmp(name, s->maps[i].from, n) &&
        (name[n] == '/' || name[n] == '\0' || s->maps[i].from[n - 1] == '/')) {
      if ((size_t)snprintf(buf, sizeof buf, "%s%s", s->maps[i].to, name + n) >=
          sizeof buf)
        return 0;
      path = buf;
      break;
    }
  }
  if (try(path, arg)) return 1;
  char joined[4096];
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  for (int i = 0; i < s->nroots; i++) {
    const char *rel = path[0] == '/' ? path + 1 : path;
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", s->roots[i], rel) <
            sizeof joined &&
        try(joined, arg))
      return 1;
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", s->roots[i], base) <
            sizeof joined &&
        try(joined, arg))
      return 1;
  }
  return 0;
}

typedef struct probe {
  struct stat st;
  char *found;
  const char *name; /* the record's own name: used, not copied */
  const char *keep; /* the path found last time: reused, not copied */
  int status;       /* best status seen among candidates */
} probe;

static int try_path(const char *path, void *arg)
{
  probe *p = arg;
  struct stat st;
  if (stat(path, &st) != 0) {
    if (errno == EACCES && p->status == FASTSTACK_LINE_MISSING)
      p->status = FASTSTACK_LINE_UNREADABLE;
    return 0;
  }
  if (!S_ISREG(st.st_mode)) {
    p->status = FASTSTACK_LINE_NOT_REGULAR;
    return 0;
  }
  p->st = st;
  /* Usually the file is where the frame says (for_each_candidate passes
   * the name itself), and the once-a-second re-check finds the same path
   * as last time: no copy in either case. */
  p->found = path == p->name                     ? (char *)p->name
             : p->keep && !strcmp(p->keep, path) ? (char *)p->keep
                                                 : strdup(path);
  p->status = p->found ? FASTSTACK_LINE_OK : FASTSTACK_LINE_UNREADABLE;
  return 1;
}

void fs_src_refresh_file(faststack_sources *s, srcfile *f, long long now)
{
  probe p = {
      .status = FASTSTACK_LINE_MISSING, .name = f->name, .keep = f->resolved};
  s->stats.probes++;
  if (!for_each_candidate(s, f->name, try_path, &p) && f->fetched)
    try_path(f->fetched, &p); /* not here: the debuginfod copy */
  int changed = p.status != f->status ||
                (p.found && (!f->resolved || strcmp(p.found, f->resolved) ||
                             p.st.st_ino != f->ino || p.st.st_dev != f->dev ||
                             p.st.st_size != f->size ||
                             p.st.st_mtim.tv_sec != f->mtime.tv_sec ||
                             p.st.st_mtim.tv_nsec != f->mtime.tv_nsec));
  if (changed) {
    drop_file_lines(s, f);
    f->md5_state = MD5_UNKNOWN;
    f->nlines = 0;
  }
  if (f->resolved != p.found && f->resolved != f->name) free(f->resolved);
  f->resolved = p.found;
  f->status = p.status;
  if (p.found) {
    f->dev = p.st.st_dev;
    f->ino = p.st.st_ino;
    f->size = p.st.st_size;
    f->mtime = p.st.st_mtim;
  }
  f->checked_ns = now;
}

/* Doubles the file table once it holds more records than buckets (out of
 * memory: the old table stays). Caller holds the lock. */
static void grow_files(faststack_sources *s)
{
  if (s->nfiles <= s->nfile_buckets || s->nfile_buckets >= FS_MAX_FILES) return;
  size_t nb = s->nfile_buckets * 2;
  srcfile **t = calloc(nb, sizeof *t);
  if (!t) return;
  for (size_t b = 0; b < s->nfile_buckets; b++)
    for (srcfile *f = s->files[b], *n; f; f = n) {
      n = f->hnext;
      f->hnext = t[f->hash & (nb - 1)];
      t[f->hash & (nb - 1)] = f;
    }
  if (s->files != s->files0) free(s->files);
  s->files = t;
  s->nfile_buckets = nb;
}

srcfile *fs_src_get_file(faststack_sources *s, const char *name, long long now)
{
  uint64_t h = hash_str(name);
  size_t b = h & (s->nfile_buckets - 1);
  for (srcfile *f = s->files[b]; f; f = f->hnext)
    if (f->hash == h && !strcmp(f->name, name)) {
      if (now - f->checked_ns >= FS_RECHECK_NS && !s->no_sources)
        fs_src_refresh_file(s, f, now);
      return f;
    }
  if (s->nfiles >= FS_MAX_FILES) return NULL;
  size_t len = strlen(name);
  srcfile *f = calloc(1, sizeof *f + len + 1);
  if (!f) return NULL;
  memcpy(f->name, name, len + 1);
  f->hash = h;
  f->status = FASTSTACK_LINE_MISSING;
  if (!s->no_sources) fs_src_refresh_file(s, f, now);
  else f->checked_ns = now;
  f->hnext = s->files[b];
  s->files[b] = f;
  s->nfiles++;
  grow_files(s);
  s->files_seen++;
  if (f->status == FASTSTACK_LINE_OK) s->files_found++;
  /* Decided once, lazily: the first files asked for are all missing, so
   * sources are not on this machine; stop touching the file system. */
  if (!s->files_found && s->files_seen >= FS_NO_SOURCES_AFTER &&
      !s->debuginfod) {
    s->no_sources = 1;
    s->no_sources_checked_ns = now;
  }
  return f;
}

void fs_src_recheck_no_sources(faststack_sources *s, srcfile *f, long long now)
{
  if (!s->no_sources || now - s->no_sources_checked_ns < FS_RECHECK_NS) return;
  s->no_sources_checked_ns = now;
  fs_src_refresh_file(s, f, now);
  if (f->status == FASTSTACK_LINE_OK) {
    s->no_sources = 0;
    s->files_found++;
  }
}
