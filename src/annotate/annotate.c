/* annotate.c — the annotate stage: the source line at each frame.
 *
 * gin's Recovery reads a whole source file per frame; the published fix
 * reads each file once per trace. Here, additionally:
 *   - a process-wide cache of rendered lines, (file, line) -> text, under a
 *     byte budget with LRU eviction, so a warm trace touches no file;
 *   - per-file records that remember missing/unreadable files (negative
 *     cache) and whether the file is stale, re-checked at most once per
 *     FS_RECHECK_NS;
 *   - a provider-wide "no sources on this machine" fast path that skips all
 *     file access once the first files asked for are all missing;
 *   - reading stops after the last line needed; files are opened
 *     non-blocking and must be regular files (a FIFO never blocks us);
 *   - a cap on descriptors open at once across threads;
 *   - staleness: the DWARF 5 MD5 when the line table has one, else "source
 *     newer than the module".
 * Lines are rendered once, at insertion: CR stripped, tabs expanded,
 * control bytes and invalid UTF-8 escaped (a source file must not be able
 * to drive the reader's terminal), cut at the width with an ellipsis.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <md5.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "annotate/annotate.h"



#define FS_RECHECK_NS 1000000000LL /* re-stat a file at most once a second */
#define FS_MAX_FILES 65536         /* file records kept per provider */
#define FS_NO_SOURCES_AFTER 8      /* all-missing files before the fast path */
#define FS_READ_CHUNK 16384        /* source lines are near the top */
/* Hash tables start small and double: a provider that is created for one
 * trace (or lives in a process with a handful of source files) should not
 * pay for clearing and walking thousands of empty buckets. The first
 * buckets live inside the provider. */
#define FS_FILE_BUCKETS0 16
#define FS_LINE_BUCKETS0 64
#define FS_LINE_BUCKETS_MAX (1u << 22)

typedef struct srcfile srcfile;

/* A cached, rendered line. */
typedef struct line_entry {
  struct line_entry *hnext;            /* hash chain */
  struct line_entry *lru_prev, *lru_next;
  srcfile *file;
  int line;
  int status;
  size_t len;                          /* of text, without NUL */
  char text[];                         /* NUL-terminated */
} line_entry;

enum { MD5_UNKNOWN, MD5_OK, MD5_MISMATCH };

struct srcfile {
  srcfile *hnext;
  uint64_t hash;        /* of name: the table is rehashed as it grows */
  char *resolved;       /* found on disk (name itself when found as
                           given: no copy); NULL when not */
  int status;           /* FASTSTACK_LINE_OK or why it cannot be read */
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  long long checked_ns; /* when status/stat were last refreshed */
  int md5_state;
  unsigned char md5_of[16]; /* the MD5 md5_state refers to */
  int nlines;           /* lines known to exist (past-EOF answers) */
  char name[];          /* as the frame gives it; one allocation */
};

typedef struct prefix_map {
  char *from, *to;
} prefix_map;

struct faststack_sources {
  pthread_mutex_t lock;
  pthread_cond_t fd_free;
  faststack_sources_options opt;
  prefix_map *maps;
  int nmaps;
  char **roots;
  int nroots;
  srcfile **files;       /* hash table of file records */
  size_t nfile_buckets, nfiles;
  line_entry **lines;    /* hash table of cached lines */
  size_t nline_buckets, nline_entries;
  srcfile *files0[FS_FILE_BUCKETS0];    /* the tables until they grow */
  line_entry *lines0[FS_LINE_BUCKETS0];
  /* One spare read buffer (scratch_take): a reader takes it under the
   * lock and owns it until it gives it back, so concurrent readers never
   * share one; a second reader at the same time allocates its own. */
  unsigned char *spare;
  line_entry *lru_head;  /* most recently used */
  line_entry *lru_tail;  /* least recently used: evicted first */
  size_t cached_bytes;
  int open_now;
  /* Module mtimes for "source newer than binary", re-stat'ed at most
   * once per FS_RECHECK_NS. */
  struct {
    char *path;
    struct timespec mtime;
    long long checked_ns;
    int ok;
  } modules[16];
  int next_module;
  /* The fast path: files asked for so far, all missing? */
  int files_seen, files_found, no_sources;
  long long no_sources_checked_ns;
  faststack_sources_stats stats;
};

/* ------------------------------------------------------------ helpers */

static long long now_ns(void)
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
  const char *path = opts && opts->source_path ? opts->source_path
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

static line_entry *cache_find(faststack_sources *s, srcfile *f, int line)
{
  for (line_entry *e = s->lines[line_bucket(s, f, line)]; e; e = e->hnext)
    if (e->file == f && e->line == line) {
      lru_unlink(s, e);
      lru_push_front(s, e);
      return e;
    }
  return NULL;
}

/* A line entry with its text (len bytes) filled in, not yet cached. The
 * cold path renders straight into one, so a line is allocated once. */
static line_entry *entry_new(const char *text, size_t len)
{
  line_entry *e = malloc(sizeof *e + len + 1);
  if (!e) return NULL;
  e->len = len;
  if (len) memcpy(e->text, text, len);
  e->text[len] = '\0';
  return e;
}

/* Caches e as (f, line). Returns 1 when the cache took e (it is the
 * cache's now: it may be evicted by the next insertion), 0 when it did not
 * (another thread was first, or e alone exceeds the budget): e is still
 * the caller's. Caller holds the lock. */
static int cache_adopt(faststack_sources *s, srcfile *f, int line,
                       int status, line_entry *e)
{
  if (cache_find(s, f, line)) return 0; /* another thread was first */
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
      if ((size_t)snprintf(buf, sizeof buf, "%s%s", s->maps[i].to,
                           name + n) >= sizeof buf)
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
            sizeof joined && try(joined, arg))
      return 1;
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", s->roots[i], base) <
            sizeof joined && try(joined, arg))
      return 1;
  }
  return 0;
}

typedef struct probe {
  struct stat st;
  char *found;
  const char *name;  /* the record's own name: used, not copied */
  const char *keep;  /* the path found last time: reused, not copied */
  int status;  /* best status seen among candidates */
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
  p->found = path == p->name                      ? (char *)p->name
             : p->keep && !strcmp(p->keep, path) ? (char *)p->keep
                                                  : strdup(path);
  p->status = p->found ? FASTSTACK_LINE_OK : FASTSTACK_LINE_UNREADABLE;
  return 1;
}

/* Refreshes f's status and identity from the file system. A change of
 * identity drops its cached lines and MD5 verdict. */
static void refresh_file(faststack_sources *s, srcfile *f, long long now)
{
  probe p = {.status = FASTSTACK_LINE_MISSING, .name = f->name,
             .keep = f->resolved};
  s->stats.probes++;
  for_each_candidate(s, f->name, try_path, &p);
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
  if (s->nfiles <= s->nfile_buckets || s->nfile_buckets >= FS_MAX_FILES)
    return;
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

/* The record for a file name, created (and checked) on first use. NULL
 * when the table is full or memory ran out. Caller holds the lock. */
static srcfile *get_file(faststack_sources *s, const char *name, long long now)
{
  uint64_t h = hash_str(name);
  size_t b = h & (s->nfile_buckets - 1);
  for (srcfile *f = s->files[b]; f; f = f->hnext)
    if (f->hash == h && !strcmp(f->name, name)) {
      if (now - f->checked_ns >= FS_RECHECK_NS && !s->no_sources)
        refresh_file(s, f, now);
      return f;
    }
  if (s->nfiles >= FS_MAX_FILES) return NULL;
  size_t len = strlen(name);
  srcfile *f = calloc(1, sizeof *f + len + 1);
  if (!f) return NULL;
  memcpy(f->name, name, len + 1);
  f->hash = h;
  f->status = FASTSTACK_LINE_MISSING;
  if (!s->no_sources) refresh_file(s, f, now);
  else f->checked_ns = now;
  f->hnext = s->files[b];
  s->files[b] = f;
  s->nfiles++;
  grow_files(s);
  s->files_seen++;
  if (f->status == FASTSTACK_LINE_OK) s->files_found++;
  /* Decided once, lazily: the first files asked for are all missing, so
   * sources are not on this machine; stop touching the file system. */
  if (!s->files_found && s->files_seen >= FS_NO_SOURCES_AFTER) {
    s->no_sources = 1;
    s->no_sources_checked_ns = now;
  }
  return f;
}

/* In the fast path, one file is re-checked now and then: if a source tree
 * appears (mounted, checked out), annotation resumes. */
static void recheck_no_sources(faststack_sources *s, srcfile *f, long long now)
{
  if (!s->no_sources || now - s->no_sources_checked_ns < FS_RECHECK_NS)
    return;
  s->no_sources_checked_ns = now;
  refresh_file(s, f, now);
  if (f->status == FASTSTACK_LINE_OK) {
    s->no_sources = 0;
    s->files_found++;
  }
}

/* -------------------------------------------------------- rendering */

/* Length of a valid UTF-8 sequence at p (n bytes available), or 0. */
static int utf8_len(const unsigned char *p, size_t n)
{
  int len = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4
          : p[0] >= 0xe0                 ? 3
          : p[0] >= 0xc2 && p[0] <= 0xdf ? 2
                                         : 0;
  if (!len || (size_t)len > n) return 0;
  for (int i = 1; i < len; i++)
    if ((p[i] & 0xc0) != 0x80) return 0;
  if (len == 3 && p[0] == 0xe0 && p[1] < 0xa0) return 0;  /* overlong */
  if (len == 3 && p[0] == 0xed && p[1] >= 0xa0) return 0; /* surrogate */
  if (len == 4 && p[0] == 0xf0 && p[1] < 0x90) return 0;
  if (len == 4 && p[0] == 0xf4 && p[1] >= 0x90) return 0;
  return len;
}

/* Renders raw line bytes into out (capacity cap, at least width*4+16):
 * returns the rendered length. */
static size_t render(const faststack_sources *s, const unsigned char *p,
                     size_t n, char *out, size_t cap)
{
  if (n && p[n - 1] == '\r') n--;
  size_t o = 0;
  int col = 0, width = s->opt.width, tab = s->opt.tab_width;
  for (size_t i = 0; i < n;) {
    if (p[i] >= 0x20 && p[i] < 0x7f) {
      /* A run of printable ASCII (most of any source line) in one copy,
       * with the per-byte loop's two limits in its order: the width
       * first (then the ellipsis), then the buffer. */
      size_t r = 1;
      while (i + r < n && p[i + r] >= 0x20 && p[i + r] < 0x7f) r++;
      size_t by_width = (size_t)(width - col);
      size_t by_cap = cap >= o + 5 ? cap - o - 4 : 0;
      size_t k = r < by_width ? r : by_width;
      if (k > by_cap) k = by_cap;
      memcpy(out + o, p + i, k);
      o += k;
      col += (int)k;
      i += k;
      if (k == r) continue;
      if (k == by_width) {
        memcpy(out + o, "\xe2\x80\xa6", 3); /* … */
        return o + 3;
      }
      break;
    }
    char piece[8];
    int plen, pcols;
    int ulen = p[i] >= 0x80 ? utf8_len(p + i, n - i) : 0;
    if (p[i] == '\t') {
      pcols = tab - col % tab;
      plen = 0;
    } else if (ulen) {
      memcpy(piece, p + i, (size_t)ulen);
      plen = ulen;
      pcols = 1;
    } else { /* control byte or invalid UTF-8 */
      piece[0] = '\\';
      piece[1] = 'x';
      piece[2] = "0123456789abcdef"[p[i] >> 4];
      piece[3] = "0123456789abcdef"[p[i] & 15];
      plen = pcols = 4;
    }
    if (col + pcols > width) {
      memcpy(out + o, "\xe2\x80\xa6", 3); /* … */
      return o + 3;
    }
    if (o + (size_t)(plen ? plen : pcols) + 4 > cap) break;
    if (plen) memcpy(out + o, piece, (size_t)plen);
    else memset(out + o, ' ', (size_t)pcols);
    o += (size_t)(plen ? plen : pcols);
    col += pcols;
    i += ulen ? (size_t)ulen : 1;
  }
  return o;
}

/* ------------------------------------------------------------ reading */

/* Frames one annotate call handles in stack memory (about 10 KiB): a
 * trace of up to 100 PCs with their inline frames allocates nothing. */
#define FS_ANNOTATE_STACK_FRAMES 256

typedef struct want {
  srcfile *file;
  const faststack_frame *fr; /* the frame asking (its staleness) */
  int line;
  int out;         /* index into the caller's output; -2: answered */
  int status;
  line_entry *ent; /* rendered (cold path only): becomes the cache entry */
} want;

static int want_cmp(const want *x, const want *y)
{
  if (x->file != y->file)
    return (uintptr_t)x->file < (uintptr_t)y->file ? -1 : 1;
  return (x->line > y->line) - (x->line < y->line);
}

static void sift_down(want *w, size_t i, size_t n)
{
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) return;
    if (c + 1 < n && want_cmp(&w[c], &w[c + 1]) < 0) c++;
    if (want_cmp(&w[i], &w[c]) >= 0) return;
    want t = w[i];
    w[i] = w[c];
    w[c] = t;
    i = c;
  }
}

/* Sorts w[0..n) by (file, line), in place. Not qsort: glibc's takes a
 * heap copy of arrays over 1 KiB (a few dozen requests), and sorting
 * should not allocate. Heapsort: O(n log n), no recursion, no memory. */
static void sort_wants(want *w, size_t n)
{
  for (size_t i = n / 2; i-- > 0;) sift_down(w, i, n);
  for (size_t end = n; end-- > 1;) {
    want t = w[0];
    w[0] = w[end];
    w[end] = t;
    sift_down(w, 0, end);
  }
}

/* The cold path's buffer: a read chunk, then the kept head of the
 * current wanted line, then its rendering. The head is enough to render
 * exactly: render() stops at `width` columns, a column never takes more
 * than 4 input bytes (a 4-byte UTF-8 sequence; an escaped byte is 1 byte
 * for 4 columns) and the piece that overflows at most 4 more, so the first
 * width*4+16 bytes of a longer line render exactly as the whole line,
 * cut with the ellipsis (its trailing CR, if any, lies beyond the cut).
 * The rest of a long line is only scanned, for its end and for NUL. */
static size_t keep_bytes(const faststack_sources *s)
{
  return (size_t)s->opt.width * 4 + 16;
}

/* The provider's spare buffer, or a new one (NULL when out of memory):
 * the caller owns it until scratch_give. */
static unsigned char *scratch_take(faststack_sources *s)
{
  pthread_mutex_lock(&s->lock);
  unsigned char *b = s->spare;
  s->spare = NULL;
  pthread_mutex_unlock(&s->lock);
  return b ? b : malloc(FS_READ_CHUNK + 2 * keep_bytes(s));
}

/* Keeps b as the spare, or frees it when another reader's is kept. */
static void scratch_give(faststack_sources *s, unsigned char *b)
{
  pthread_mutex_lock(&s->lock);
  if (!s->spare) {
    s->spare = b;
    b = NULL;
  }
  pthread_mutex_unlock(&s->lock);
  free(b);
}

static void acquire_fd(faststack_sources *s)
{
  pthread_mutex_lock(&s->lock);
  while (s->opt.max_open_files > 0 && s->open_now >= s->opt.max_open_files)
    pthread_cond_wait(&s->fd_free, &s->lock);
  s->open_now++;
  s->stats.opens++;
  if (s->open_now > s->stats.max_open_at_once)
    s->stats.max_open_at_once = s->open_now;
  pthread_mutex_unlock(&s->lock);
}

static void release_fd(faststack_sources *s, int fd, size_t bytes)
{
  if (fd >= 0) close(fd);
  pthread_mutex_lock(&s->lock);
  s->open_now--;
  s->stats.bytes_read += bytes;
  pthread_cond_signal(&s->fd_free);
  pthread_mutex_unlock(&s->lock);
}

/* Opens path for reading without ever blocking and checks it is the
 * regular file we stat'ed. -1 and *status on failure. */
static int open_regular(const char *path, struct stat *st, int *status)
{
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    *status = errno == ENOENT ? FASTSTACK_LINE_MISSING
                              : FASTSTACK_LINE_UNREADABLE;
    return -1;
  }
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
    *status = FASTSTACK_LINE_NOT_REGULAR;
    close(fd);
    return -1;
  }
  return fd;
}

/* Scans one file for the wanted lines w[0..n) (sorted, same file),
 * stopping after the last, filling status and entry of each; binary is
 * set when a NUL byte was seen. */
typedef struct scan {
  faststack_sources *s;
  want *w;
  int n, next;        /* next wanted index */
  int line;           /* current line number, 1-based */
  unsigned char *cur; /* the kept head of the current wanted line */
  size_t cur_len, cur_cap;
  int binary;
  char *render_buf;
  size_t render_cap;
} scan;

static void finish_line(scan *sc)
{
  want *lead = NULL;
  while (sc->next < sc->n && sc->w[sc->next].line == sc->line) {
    want *w = &sc->w[sc->next++];
    if (lead) {
      /* Frames of a recursion ask for one line many times: the first
       * request holds the text, the others refer to it (resolve()). */
      w->ent = NULL;
      w->status = lead->status;
      continue;
    }
    size_t len = render(sc->s, sc->cur, sc->cur_len, sc->render_buf,
                        sc->render_cap);
    w->ent = entry_new(sc->render_buf, len);
    w->status = w->ent ? FASTSTACK_LINE_OK : FASTSTACK_LINE_UNREADABLE;
    lead = w;
  }
  sc->cur_len = 0;
  sc->line++;
}

static void scan_bytes(scan *sc, const unsigned char *p, size_t n)
{
  /* Once per chunk: per line it would make the scan quadratic. */
  if (memchr(p, '\0', n)) sc->binary = 1;
  for (size_t i = 0; i < n && sc->next < sc->n;) {
    const unsigned char *nl = memchr(p + i, '\n', n - i);
    size_t seg = nl ? (size_t)(nl - (p + i)) : n - i;
    if (sc->w[sc->next].line == sc->line) {
      size_t room = sc->cur_cap - sc->cur_len;
      size_t k = seg < room ? seg : room;
      memcpy(sc->cur + sc->cur_len, p + i, k);
      sc->cur_len += k;
    }
    i += seg;
    if (nl) {
      finish_line(sc);
      i++;
    }
  }
}

/* The identity a file had when its record was last refreshed (copied
 * under the lock): the read must find that very file, unchanged. */
typedef struct file_id {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
} file_id;

/* Reads w's lines (n of them, one file) with buf (scratch_take; NULL:
 * out of memory). Returns the bytes read. */
static size_t read_file(faststack_sources *s, srcfile *f, want *w, int n,
                        const char *path, const file_id *expect,
                        unsigned char *buf, int *changing)
{
  struct stat after;
  int status = FASTSTACK_LINE_OK;
  *changing = 0;
  if (!buf) {
    for (int i = 0; i < n; i++) w[i].status = FASTSTACK_LINE_UNREADABLE;
    return 0;
  }
  acquire_fd(s);
  /* No fstat before reading: the record's stat says what the file must
   * be, and the one fstat after the read checks it was that regular file
   * and did not change meanwhile (a swapped-in FIFO or device cannot
   * block: O_NONBLOCK). One system call fewer per file. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    status = errno == ENOENT ? FASTSTACK_LINE_MISSING
                             : FASTSTACK_LINE_UNREADABLE;
  size_t total = 0, keep = keep_bytes(s);
  unsigned char *chunk = buf;
  scan sc = {s, w, n, 0, 1, buf + FS_READ_CHUNK, 0, keep, 0,
             (char *)buf + FS_READ_CHUNK + keep, keep};
  while (fd >= 0 && status == FASTSTACK_LINE_OK && sc.next < n) {
    ssize_t r = read(fd, chunk, FS_READ_CHUNK);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) status = FASTSTACK_LINE_UNREADABLE;
    if (r <= 0) break;
    total += (size_t)r;
    scan_bytes(&sc, chunk, (size_t)r);
  }
  if (status == FASTSTACK_LINE_OK && sc.next < n && sc.cur_len) finish_line(&sc);
  *changing = fd >= 0 && (fstat(fd, &after) != 0 ||
                          !S_ISREG(after.st_mode) ||
                          after.st_dev != expect->dev ||
                          after.st_ino != expect->ino ||
                          after.st_size != expect->size ||
                          after.st_mtim.tv_sec != expect->mtime.tv_sec ||
                          after.st_mtim.tv_nsec != expect->mtime.tv_nsec);
  for (int i = 0; i < n; i++) {
    if (status != FASTSTACK_LINE_OK) w[i].status = status;
    else if (sc.binary) w[i].status = FASTSTACK_LINE_BINARY;
    else if (i >= sc.next) w[i].status = FASTSTACK_LINE_PAST_EOF;
    if (w[i].status != FASTSTACK_LINE_OK) {
      free(w[i].ent);
      w[i].ent = NULL;
    }
  }
  if (sc.next < n && status == FASTSTACK_LINE_OK && !sc.binary)
    f->nlines = sc.line - 1;
  release_fd(s, fd, total);
  return total;
}

/* --------------------------------------------------------- staleness */

/* MD5 of the file at path, streamed through buf (FS_READ_CHUNK bytes;
 * NULL: out of memory). 0 on success. */
static int file_md5(faststack_sources *s, const char *path,
                    unsigned char *buf, unsigned char out[16])
{
  struct stat st;
  int status;
  if (!buf) return -1;
  acquire_fd(s);
  int fd = open_regular(path, &st, &status);
  size_t total = 0;
  int ok = fd >= 0;
  MD5_CTX ctx;
  MD5Init(&ctx);
  while (ok) {
    ssize_t r = read(fd, buf, FS_READ_CHUNK);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) ok = 0;
    if (r <= 0) break;
    total += (size_t)r;
    MD5Update(&ctx, buf, (size_t)r);
  }
  if (ok) MD5Final(out, &ctx);
  release_fd(s, fd, total);
  return ok ? 0 : -1;
}

/* The module's mtime, cached. Caller holds the lock. */
static int module_mtime(faststack_sources *s, const char *path,
                        long long now, struct timespec *out)
{
  int slot = -1;
  for (int i = 0; i < 16; i++)
    if (s->modules[i].path && !strcmp(s->modules[i].path, path)) slot = i;
  if (slot < 0) {
    slot = s->next_module;
    s->next_module = (s->next_module + 1) % 16;
    free(s->modules[slot].path);
    s->modules[slot].path = strdup(path);
    s->modules[slot].checked_ns = now - FS_RECHECK_NS;
  }
  if (now - s->modules[slot].checked_ns >= FS_RECHECK_NS) {
    struct stat st;
    s->modules[slot].ok = stat(path, &st) == 0;
    s->modules[slot].mtime = st.st_mtim;
    s->modules[slot].checked_ns = now;
  }
  *out = s->modules[slot].mtime;
  return s->modules[slot].ok;
}

/* Is the file stale for this frame? 0, FASTSTACK_LINE_STALE_MD5,
 * FASTSTACK_LINE_STALE_NEWER, or -1 when the file's MD5 has not been
 * checked against this frame's yet (the cold path computes it). Staleness
 * is a property of (file, frame), so it is never stored with a line.
 * Caller holds the lock. */
static int stale_known(faststack_sources *s, srcfile *f,
                       const faststack_frame *fr, long long now)
{
  if (fr->file_md5_valid) {
    if (f->md5_state == MD5_UNKNOWN || memcmp(f->md5_of, fr->file_md5, 16))
      return -1;
    return f->md5_state == MD5_MISMATCH ? FASTSTACK_LINE_STALE_MD5 : 0;
  }
  struct timespec m;
  if (!fr->module || !module_mtime(s, fr->module, now, &m)) return 0;
  int newer = f->mtime.tv_sec > m.tv_sec ||
              (f->mtime.tv_sec == m.tv_sec && f->mtime.tv_nsec > m.tv_nsec);
  return newer ? FASTSTACK_LINE_STALE_NEWER : 0;
}

/* f's path, for use without the lock: a copy, since another thread's
 * refresh may replace and free the record's, except when it is the
 * record's own name, which lives as long as the provider. NULL when not
 * found (or out of memory). Caller holds the lock. */
static char *path_hold(srcfile *f)
{
  if (!f->resolved || f->resolved == f->name) return f->resolved;
  return strdup(f->resolved);
}

static void path_release(srcfile *f, char *path)
{
  if (path != f->name) free(path);
}

/* Checks the file's MD5 against the frame's (reads the whole file once
 * per file identity and recorded MD5). Called without the lock. */
static void verify_md5(faststack_sources *s, srcfile *f,
                       const faststack_frame *fr, unsigned char *buf)
{
  pthread_mutex_lock(&s->lock);
  char *path = path_hold(f);
  pthread_mutex_unlock(&s->lock);
  if (!path) return;
  unsigned char sum[16];
  int ok = file_md5(s, path, buf, sum) == 0;
  path_release(f, path);
  pthread_mutex_lock(&s->lock);
  if (ok) {
    f->md5_state = memcmp(sum, fr->file_md5, 16) ? MD5_MISMATCH : MD5_OK;
    memcpy(f->md5_of, fr->file_md5, 16);
  }
  pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------ the API */

/* Copies text into the caller's string buffer. */
static const char *put_str(char *strbuf, size_t cap, size_t *used,
                           const char *t, size_t len)
{
  if (!strbuf || *used + len + 1 > cap) return NULL;
  char *d = strbuf + *used;
  memcpy(d, t, len);
  d[len] = '\0';
  *used += len + 1;
  return d;
}

static void emit(faststack_sources *s, faststack_source_line *o, int status,
                 const char *text, size_t len, char *strbuf, size_t cap,
                 size_t *used)
{
  int stale = status == FASTSTACK_LINE_STALE_MD5 ||
              status == FASTSTACK_LINE_STALE_NEWER;
  o->status = status;
  o->text = text && !(stale && s->opt.hide_stale)
                ? put_str(strbuf, cap, used, text, len)
                : NULL;
}

/* The shared core: requests w[0..n) (frame, line, out index), results
 * into out[]. w is the caller's scratch: reordered here. */
static void resolve(faststack_sources *s, want *w, int n,
                    faststack_source_line *out, char *strbuf, size_t cap,
                    size_t *used)
{
  int pending = 0, stale;
  long long now = now_ns();
  /* Pass 1, under the lock: cache hits and known-bad files. */
  pthread_mutex_lock(&s->lock);
  for (int i = 0; i < n; i++) {
    w[i].file = get_file(s, w[i].fr->file, now);
    w[i].status = -1;
    w[i].ent = NULL;
    if (!w[i].file) {
      w[i].status = FASTSTACK_LINE_MISSING;
      continue;
    }
    recheck_no_sources(s, w[i].file, now);
    line_entry *e = s->no_sources ? NULL : cache_find(s, w[i].file, w[i].line);
    if (s->no_sources || w[i].file->status != FASTSTACK_LINE_OK) {
      w[i].status = s->no_sources ? FASTSTACK_LINE_MISSING : w[i].file->status;
    } else if (e && (stale = stale_known(s, w[i].file, w[i].fr, now)) >= 0) {
      s->stats.hits++;
      int st = e->status == FASTSTACK_LINE_OK && stale ? stale : e->status;
      w[i].status = st;
      emit(s, &out[w[i].out], st,
           e->status == FASTSTACK_LINE_PAST_EOF ? NULL : e->text, e->len,
           strbuf, cap, used);
      w[i].out = -2; /* answered */
    } else {
      s->stats.misses++;
      pending++;
    }
  }
  pthread_mutex_unlock(&s->lock);
  for (int i = 0; i < n; i++)
    if (w[i].status >= 0 && w[i].out >= 0) {
      out[w[i].out].status = w[i].status;
      out[w[i].out].text = NULL;
    }
  if (!pending) return;
  /* Pass 2: read each file once, its wanted lines in order. The requests
   * still open move to the front of w (the others are answered) and are
   * sorted there: no copy of the requests, no allocation. */
  int k = 0;
  for (int i = 0; i < n; i++)
    if (w[i].status < 0) {
      w[k] = w[i];
      w[k].status = FASTSTACK_LINE_OK;
      k++;
    }
  sort_wants(w, (size_t)k);
  unsigned char *buf = scratch_take(s);
  for (int a = 0; a < k;) {
    int b = a;
    while (b < k && w[b].file == w[a].file) b++;
    srcfile *f = w[a].file;
    pthread_mutex_lock(&s->lock);
    char *path = path_hold(f);
    file_id id = {f->dev, f->ino, f->size, f->mtime};
    pthread_mutex_unlock(&s->lock);
    int changing = 0;
    if (path) read_file(s, f, w + a, b - a, path, &id, buf, &changing);
    if (changing && path) { /* once more, then give up */
      for (int i = a; i < b; i++) {
        free(w[i].ent);
        w[i].ent = NULL;
        w[i].status = FASTSTACK_LINE_OK;
      }
      /* The file may have been replaced or edited since the record was
       * refreshed: refresh it, then read what is there now. */
      pthread_mutex_lock(&s->lock);
      refresh_file(s, f, now);
      path_release(f, path);
      path = f->status == FASTSTACK_LINE_OK ? path_hold(f) : NULL;
      id = (file_id){f->dev, f->ino, f->size, f->mtime};
      pthread_mutex_unlock(&s->lock);
      if (path) {
        read_file(s, f, w + a, b - a, path, &id, buf, &changing);
      } else {
        for (int i = a; i < b; i++) w[i].status = f->status;
        changing = 0;
      }
    }
    for (int i = a; i < b; i++) /* frames may carry different MD5s */
      if (path && w[i].fr->file_md5_valid) {
        pthread_mutex_lock(&s->lock);
        int known = stale_known(s, f, w[i].fr, now);
        pthread_mutex_unlock(&s->lock);
        if (known < 0) verify_md5(s, f, w[i].fr, buf);
      }
    pthread_mutex_lock(&s->lock);
    const want *lead = NULL;
    const char *text = NULL;
    size_t len = 0;
    for (int i = a; i < b; i++) {
      want *t = &w[i];
      if (!path) t->status = FASTSTACK_LINE_UNREADABLE;
      if (changing) t->status = FASTSTACK_LINE_CHANGING;
      /* Repeated lines (sorted together) share the first one's text. */
      if (!lead || lead->line != t->line) {
        lead = t;
        text = t->ent ? t->ent->text : NULL;
        len = t->ent ? t->ent->len : 0;
        if (!changing && path &&
            (t->status == FASTSTACK_LINE_OK ||
             t->status == FASTSTACK_LINE_PAST_EOF)) {
          line_entry *e = t->ent ? t->ent : entry_new("", 0);
          /* Once the cache has the entry, text points into the cache: it
           * stays valid for this line's repeats, which come next, under
           * this lock, before another insertion could evict it. */
          if (e && cache_adopt(s, f, t->line, t->status, e)) t->ent = NULL;
          else if (e != t->ent) free(e);
        }
      }
      int st = t->status;
      if (st == FASTSTACK_LINE_OK &&
          (stale = stale_known(s, f, t->fr, now)) > 0)
        st = stale;
      emit(s, &out[t->out], st, text, len, strbuf, cap, used);
    }
    pthread_mutex_unlock(&s->lock);
    for (int i = a; i < b; i++) free(w[i].ent); /* not taken by the cache */
    path_release(f, path);
    a = b;
  }
  if (buf) scratch_give(s, buf);
}

static int has_location(const faststack_frame *f)
{
  return f->file && f->file[0] && f->line > 0;
}

FASTSTACK_API int faststack_annotate(faststack_sources *s,
                                     const faststack_frame *frames, int n,
                                     faststack_source_line *out,
                                     char *strbuf, size_t strcap)
{
  if (!s || (!frames && n) || (!out && n) || n < 0) return -1;
  want wbuf[FS_ANNOTATE_STACK_FRAMES];
  want *w = n <= FS_ANNOTATE_STACK_FRAMES ? wbuf : calloc((size_t)n, sizeof *w);
  if (!w) return -1;
  int m = 0;
  for (int i = 0; i < n; i++) {
    out[i].line = frames[i].line;
    out[i].text = NULL;
    out[i].status = FASTSTACK_LINE_NO_INFO;
    if (!has_location(&frames[i])) continue;
    w[m++] = (want){.fr = &frames[i], .line = frames[i].line, .out = i};
  }
  size_t used = 0;
  resolve(s, w, m, out, strbuf, strcap, &used);
  if (w != wbuf) free(w);
  return 0;
}

FASTSTACK_API int faststack_annotate_context(faststack_sources *s,
                                             const faststack_frame *frame,
                                             int context,
                                             faststack_source_line *out,
                                             int max, char *strbuf,
                                             size_t strcap)
{
  if (!s || !frame || !out || max <= 0 || context < 0 ||
      !has_location(frame))
    return 0;
  if (context > 1000) context = 1000;
  int first = frame->line - context < 1 ? 1 : frame->line - context;
  int last = frame->line + context;
  int n = last - first + 1 < max ? last - first + 1 : max;
  want wbuf[FS_ANNOTATE_STACK_FRAMES];
  want *w = n <= FS_ANNOTATE_STACK_FRAMES ? wbuf : calloc((size_t)n, sizeof *w);
  if (!w) return 0;
  for (int i = 0; i < n; i++) {
    out[i].line = first + i;
    w[i] = (want){.fr = frame, .line = first + i, .out = i};
  }
  size_t used = 0;
  resolve(s, w, n, out, strbuf, strcap, &used);
  /* Context stops at the end of the file. */
  while (n > 0 && out[n - 1].status == FASTSTACK_LINE_PAST_EOF &&
         out[n - 1].line != frame->line)
    n--;
  if (w != wbuf) free(w);
  return n;
}
