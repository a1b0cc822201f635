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

#include "internal.h"

FS_REQUIRE_INIT;

#define FS_RECHECK_NS 1000000000LL /* re-stat a file at most once a second */
#define FS_MAX_FILES 65536         /* file records kept per provider */
#define FS_NO_SOURCES_AFTER 8      /* all-missing files before the fast path */
#define FS_READ_CHUNK 16384       /* source lines are near the top */
#define FS_RAW_LINE_MAX 65536      /* bytes of one line kept before render */

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
  char *name;           /* as the frame gives it */
  char *resolved;       /* found on disk; NULL when not */
  int status;           /* FASTSTACK_LINE_OK or why it cannot be read */
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  long long checked_ns; /* when status/stat were last refreshed */
  int md5_state;
  unsigned char md5_of[16]; /* the MD5 md5_state refers to */
  int nlines;           /* lines known to exist (past-EOF answers) */
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
  size_t nline_buckets;
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

static size_t line_bucket(const faststack_sources *s, const srcfile *f,
                          int line)
{
  uint64_t h = ((uintptr_t)f >> 4) * 0x9e3779b97f4a7c15ull ^ (uint64_t)line;
  h *= 0xff51afd7ed558ccdull;
  return (size_t)(h >> 20) & (s->nline_buckets - 1);
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
  s->nfile_buckets = 1024;
  s->nline_buckets = 8192;
  s->files = calloc(s->nfile_buckets, sizeof *s->files);
  s->lines = calloc(s->nline_buckets, sizeof *s->lines);
  if (!s->files || !s->lines) {
    faststack_sources_free(s);
    return NULL;
  }
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
  for (size_t b = 0; s->files && b < s->nfile_buckets; b++)
    for (srcfile *f = s->files[b], *n; f; f = n) {
      n = f->hnext;
      free(f->name);
      free(f->resolved);
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
  free(s->files);
  free(s->lines);
  if (s->files && s->lines) {
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->fd_free);
  }
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
  free(e);
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

static void cache_insert(faststack_sources *s, srcfile *f, int line,
                         int status, const char *text, size_t len)
{
  if (cache_find(s, f, line)) return; /* another thread was first */
  line_entry *e = malloc(sizeof *e + len + 1);
  if (!e) return;
  e->file = f;
  e->line = line;
  e->status = status;
  e->len = len;
  if (len) memcpy(e->text, text, len);
  e->text[len] = '\0';
  if (entry_cost(e) > s->opt.cache_bytes) {
    free(e);
    return;
  }
  while (s->cached_bytes + entry_cost(e) > s->opt.cache_bytes && s->lru_tail)
    remove_entry(s, s->lru_tail);
  size_t b = line_bucket(s, f, line);
  e->hnext = s->lines[b];
  s->lines[b] = e;
  lru_push_front(s, e);
  s->cached_bytes += entry_cost(e);
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
  /* The once-a-second re-check usually finds the same path: no copy. */
  p->found = p->keep && !strcmp(p->keep, path) ? (char *)p->keep
                                                : strdup(path);
  p->status = p->found ? FASTSTACK_LINE_OK : FASTSTACK_LINE_UNREADABLE;
  return 1;
}

/* Refreshes f's status and identity from the file system. A change of
 * identity drops its cached lines and MD5 verdict. */
static void refresh_file(faststack_sources *s, srcfile *f, long long now)
{
  probe p = {.status = FASTSTACK_LINE_MISSING, .keep = f->resolved};
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
  if (f->resolved != p.found) free(f->resolved);
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

/* The record for a file name, created (and checked) on first use. NULL
 * when the table is full or memory ran out. Caller holds the lock. */
static srcfile *get_file(faststack_sources *s, const char *name, long long now)
{
  size_t b = hash_str(name) & (s->nfile_buckets - 1);
  for (srcfile *f = s->files[b]; f; f = f->hnext)
    if (!strcmp(f->name, name)) {
      if (now - f->checked_ns >= FS_RECHECK_NS && !s->no_sources)
        refresh_file(s, f, now);
      return f;
    }
  if (s->nfiles >= FS_MAX_FILES) return NULL;
  srcfile *f = calloc(1, sizeof *f);
  if (!f || !(f->name = strdup(name))) {
    free(f);
    return NULL;
  }
  f->status = FASTSTACK_LINE_MISSING;
  if (!s->no_sources) refresh_file(s, f, now);
  else f->checked_ns = now;
  f->hnext = s->files[b];
  s->files[b] = f;
  s->nfiles++;
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
    char piece[8];
    int plen, pcols;
    int ulen = p[i] >= 0x80 ? utf8_len(p + i, n - i) : 0;
    if (p[i] == '\t') {
      pcols = tab - col % tab;
      plen = 0;
    } else if (p[i] >= 0x20 && p[i] < 0x7f) {
      piece[0] = (char)p[i];
      plen = pcols = 1;
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

/* Frames one annotate call handles in stack memory (about 12 KiB): a
 * trace of up to 100 PCs with their inline frames allocates nothing. */
#define FS_ANNOTATE_STACK_FRAMES 256

typedef struct want {
  srcfile *file;
  int line;
  int out;         /* index into the caller's output; -1: context only */
  int status;
  char *text;      /* rendered, malloc'ed (cold path only) */
  size_t len;
} want;

static int want_cmp(const void *a, const void *b)
{
  const want *x = a, *y = b;
  if (x->file != y->file) return x->file < y->file ? -1 : 1;
  return (x->line > y->line) - (x->line < y->line);
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
 * stopping after the last. Fills status/text of each. Returns bytes read;
 * sets *binary when a NUL byte was seen, *eof_lines when the file ended. */
typedef struct scan {
  faststack_sources *s;
  want *w;
  int n, next;        /* next wanted index */
  int line;           /* current line number, 1-based */
  unsigned char *cur; /* raw bytes of the current wanted line */
  size_t cur_len;
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
      w->text = NULL;
      w->len = lead->len;
      w->status = lead->status;
      continue;
    }
    size_t len = render(sc->s, sc->cur, sc->cur_len, sc->render_buf,
                        sc->render_cap);
    w->text = dup_range(sc->render_buf, len);
    w->len = len;
    w->status = w->text ? FASTSTACK_LINE_OK : FASTSTACK_LINE_UNREADABLE;
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
      size_t room = FS_RAW_LINE_MAX - sc->cur_len;
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

static size_t read_file(faststack_sources *s, srcfile *f, want *w, int n,
                        const char *path, const file_id *expect,
                        int *changing)
{
  struct stat after;
  int status = FASTSTACK_LINE_OK;
  acquire_fd(s);
  /* No fstat before reading: the record's stat says what the file must
   * be, and the one fstat after the read checks it was that regular file
   * and did not change meanwhile (a swapped-in FIFO or device cannot
   * block: O_NONBLOCK). One system call fewer per file. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    status = errno == ENOENT ? FASTSTACK_LINE_MISSING
                             : FASTSTACK_LINE_UNREADABLE;
  size_t total = 0;
  unsigned char *chunk = fd >= 0 ? malloc(FS_READ_CHUNK) : NULL;
  unsigned char *cur = fd >= 0 ? malloc(FS_RAW_LINE_MAX) : NULL;
  size_t rcap = (size_t)s->opt.width * 4 + 16;
  char *rbuf = fd >= 0 ? malloc(rcap) : NULL;
  scan sc = {s, w, n, 0, 1, cur, 0, 0, rbuf, rcap};
  if (fd >= 0 && (!chunk || !cur || !rbuf)) status = FASTSTACK_LINE_UNREADABLE;
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
      free(w[i].text);
      w[i].text = NULL;
      w[i].len = 0;
    }
  }
  if (sc.next < n && status == FASTSTACK_LINE_OK && !sc.binary)
    f->nlines = sc.line - 1;
  free(chunk);
  free(cur);
  free(rbuf);
  release_fd(s, fd, total);
  return total;
}

/* --------------------------------------------------------- staleness */

/* MD5 of the file at path, streamed. 0 on success. */
static int file_md5(faststack_sources *s, const char *path,
                    unsigned char out[16])
{
  struct stat st;
  int status;
  acquire_fd(s);
  int fd = open_regular(path, &st, &status);
  size_t total = 0;
  unsigned char *buf = fd >= 0 ? malloc(FS_READ_CHUNK) : NULL;
  int ok = fd >= 0 && buf;
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
  free(buf);
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

/* Checks the file's MD5 against the frame's (reads the whole file once
 * per file identity and recorded MD5). Called without the lock. */
static void verify_md5(faststack_sources *s, srcfile *f,
                       const faststack_frame *fr)
{
  pthread_mutex_lock(&s->lock);
  char *path = f->resolved ? strdup(f->resolved) : NULL;
  pthread_mutex_unlock(&s->lock);
  if (!path) return;
  unsigned char sum[16];
  int ok = file_md5(s, path, sum) == 0;
  free(path);
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

/* The shared core: requests w[0..n) (file, line, out index), results into
 * out[]; frames[] gives each request's frame (for staleness). */
static void resolve(faststack_sources *s, want *w, int n,
                    const faststack_frame *const *wf,
                    faststack_source_line *out, char *strbuf, size_t cap,
                    size_t *used)
{
  int pending = 0, stale;
  long long now = now_ns();
  /* Pass 1, under the lock: cache hits and known-bad files. */
  pthread_mutex_lock(&s->lock);
  for (int i = 0; i < n; i++) {
    w[i].file = get_file(s, wf[i]->file, now);
    w[i].status = -1;
    if (!w[i].file) {
      w[i].status = FASTSTACK_LINE_MISSING;
      continue;
    }
    recheck_no_sources(s, w[i].file, now);
    line_entry *e = s->no_sources ? NULL : cache_find(s, w[i].file, w[i].line);
    if (s->no_sources || w[i].file->status != FASTSTACK_LINE_OK) {
      w[i].status = s->no_sources ? FASTSTACK_LINE_MISSING : w[i].file->status;
    } else if (e && (stale = stale_known(s, w[i].file, wf[i], now)) >= 0) {
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
  /* Pass 2: read each file once, its wanted lines in order. */
  want *todo = calloc((size_t)pending, sizeof *todo);
  if (!todo) return;
  int k = 0;
  for (int i = 0; i < n; i++)
    if (w[i].status < 0) {
      todo[k] = w[i];
      todo[k].status = FASTSTACK_LINE_OK;
      todo[k].out = i; /* remember the request; mapped back below */
      k++;
    }
  qsort(todo, (size_t)k, sizeof *todo, want_cmp);
  for (int a = 0; a < k;) {
    int b = a;
    while (b < k && todo[b].file == todo[a].file) b++;
    srcfile *f = todo[a].file;
    pthread_mutex_lock(&s->lock);
    char *path = f->resolved ? strdup(f->resolved) : NULL;
    file_id id = {f->dev, f->ino, f->size, f->mtime};
    pthread_mutex_unlock(&s->lock);
    int changing = 0;
    if (path) read_file(s, f, todo + a, b - a, path, &id, &changing);
    if (changing && path) { /* once more, then give up */
      for (int i = a; i < b; i++) free(todo[i].text), todo[i].text = NULL;
      for (int i = a; i < b; i++) todo[i].status = FASTSTACK_LINE_OK;
      /* The file may have been replaced or edited since the record was
       * refreshed: refresh it, then read what is there now. */
      pthread_mutex_lock(&s->lock);
      refresh_file(s, f, now);
      free(path);
      path = f->resolved && f->status == FASTSTACK_LINE_OK
                 ? strdup(f->resolved) : NULL;
      id = (file_id){f->dev, f->ino, f->size, f->mtime};
      pthread_mutex_unlock(&s->lock);
      if (path) {
        read_file(s, f, todo + a, b - a, path, &id, &changing);
      } else {
        for (int i = a; i < b; i++) todo[i].status = f->status;
        changing = 0;
      }
    }
    for (int i = a; i < b; i++) /* frames may carry different MD5s */
      if (path && wf[todo[i].out]->file_md5_valid) {
        pthread_mutex_lock(&s->lock);
        int known = stale_known(s, f, wf[todo[i].out], now);
        pthread_mutex_unlock(&s->lock);
        if (known < 0) verify_md5(s, f, wf[todo[i].out]);
      }
    pthread_mutex_lock(&s->lock);
    const want *lead = NULL;
    for (int i = a; i < b; i++) {
      want *t = &todo[i];
      if (!path) t->status = FASTSTACK_LINE_UNREADABLE;
      if (changing) t->status = FASTSTACK_LINE_CHANGING;
      /* Repeated lines (sorted together) share the first one's text. */
      int repeat = lead && lead->line == t->line;
      if (!repeat) lead = t;
      const char *text = lead->text;
      size_t len = lead->text ? lead->len : 0;
      if (!repeat && !changing && path &&
          (t->status == FASTSTACK_LINE_OK ||
           t->status == FASTSTACK_LINE_PAST_EOF))
        cache_insert(s, f, t->line, t->status, text ? text : "", len);
      int st = t->status;
      if (st == FASTSTACK_LINE_OK &&
          (stale = stale_known(s, f, wf[t->out], now)) > 0)
        st = stale;
      want *orig = &w[t->out];
      if (orig->out >= 0)
        emit(s, &out[orig->out], st, text, len, strbuf, cap, used);
    }
    pthread_mutex_unlock(&s->lock);
    for (int i = a; i < b; i++) free(todo[i].text);
    free(path);
    a = b;
  }
  free(todo);
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
  const faststack_frame *fbuf[FS_ANNOTATE_STACK_FRAMES] = {0};
  want *w = n <= FS_ANNOTATE_STACK_FRAMES ? wbuf : calloc((size_t)n, sizeof *w);
  const faststack_frame **wf = n <= FS_ANNOTATE_STACK_FRAMES ? fbuf : calloc((size_t)n, sizeof *wf);
  if (!w || !wf) {
    if (w != wbuf) free(w);
    if (wf != fbuf) free(wf);
    return -1;
  }
  int m = 0;
  for (int i = 0; i < n; i++) {
    out[i].line = frames[i].line;
    out[i].text = NULL;
    out[i].status = FASTSTACK_LINE_NO_INFO;
    if (!has_location(&frames[i])) continue;
    w[m] = (want){.line = frames[i].line, .out = i};
    wf[m++] = &frames[i];
  }
  size_t used = 0;
  resolve(s, w, m, wf, out, strbuf, strcap, &used);
  if (w != wbuf) free(w);
  if (wf != fbuf) free(wf);
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
  const faststack_frame *fbuf[FS_ANNOTATE_STACK_FRAMES] = {0};
  want *w = n <= FS_ANNOTATE_STACK_FRAMES ? wbuf : calloc((size_t)n, sizeof *w);
  const faststack_frame **wf = n <= FS_ANNOTATE_STACK_FRAMES ? fbuf : calloc((size_t)n, sizeof *wf);
  if (!w || !wf) {
    if (w != wbuf) free(w);
    if (wf != fbuf) free(wf);
    return 0;
  }
  for (int i = 0; i < n; i++) {
    out[i].line = first + i;
    w[i] = (want){.line = first + i, .out = i};
    wf[i] = frame;
  }
  size_t used = 0;
  resolve(s, w, n, wf, out, strbuf, strcap, &used);
  /* Context stops at the end of the file. */
  while (n > 0 && out[n - 1].status == FASTSTACK_LINE_PAST_EOF &&
         out[n - 1].line != frame->line)
    n--;
  if (w != wbuf) free(w);
  if (wf != fbuf) free(wf);
  return n;
}
