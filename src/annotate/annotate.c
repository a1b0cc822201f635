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
 * Lines are rendered once, at insertion (render.c). The cache and the file
 * records live in provider.c; this file reads files, checks staleness and
 * answers faststack_annotate. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#if FS_HAVE_LIBMD
#include <md5.h>
#else
#include "annotate/md5.h"
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "annotate/sources.h"

/* ------------------------------------------------------------ reading */

/* Frames one annotate call handles in stack memory (about 10 KiB): a
 * trace of up to 100 PCs with their inline frames allocates nothing. */
#define FS_ANNOTATE_STACK_FRAMES 256

typedef struct want {
  srcfile *file;
  const faststack_frame *fr; /* the frame asking (its staleness) */
  int line;
  int out; /* index into the caller's output; -2: answered */
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
 * exactly: fs_src_render() stops at `width` columns, a column never takes more
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
    *status =
        errno == ENOENT ? FASTSTACK_LINE_MISSING : FASTSTACK_LINE_UNREADABLE;
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
    size_t len = fs_src_render(sc->s, sc->cur, sc->cur_len, sc->render_buf,
                               sc->render_cap);
    w->ent = fs_src_entry_new(sc->render_buf, len);
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
    status =
        errno == ENOENT ? FASTSTACK_LINE_MISSING : FASTSTACK_LINE_UNREADABLE;
  size_t total = 0, keep = keep_bytes(s);
  unsigned char *chunk = buf;
  scan sc = {s,   w,
             n,   0,
             1,   buf + FS_READ_CHUNK,
             0,   keep,
             0,   (char *)buf + FS_READ_CHUNK + keep,
             keep};
  while (fd >= 0 && status == FASTSTACK_LINE_OK && sc.next < n) {
    ssize_t r = read(fd, chunk, FS_READ_CHUNK);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) status = FASTSTACK_LINE_UNREADABLE;
    if (r <= 0) break;
    total += (size_t)r;
    scan_bytes(&sc, chunk, (size_t)r);
  }
  if (status == FASTSTACK_LINE_OK && sc.next < n && sc.cur_len)
    finish_line(&sc);
  *changing =
      fd >= 0 && (fstat(fd, &after) != 0 || !S_ISREG(after.st_mode) ||
                  after.st_dev != expect->dev || after.st_ino != expect->ino ||
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
static int file_md5(faststack_sources *s, const char *path, unsigned char *buf,
                    unsigned char out[16])
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
static int module_mtime(faststack_sources *s, const char *path, long long now,
                        struct timespec *out)
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
  /* A copy from debuginfod is the source of that very build: its mtime
   * is when it was downloaded. */
  if (f->fetched && f->resolved && !strcmp(f->resolved, f->fetched)) return 0;
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

/* debuginfod: each file not on this machine whose frame has a build-id
 * is fetched once (the download runs without the lock; the record then
 * finds the copy as its last candidate). */
static void fetch_missing(faststack_sources *s, want *w, int n, long long now)
{
  for (int i = 0; i < n; i++) {
    const faststack_frame *fr = w[i].fr;
    if (!fr->build_id || !fr->build_id[0] || !fr->file) continue;
    pthread_mutex_lock(&s->lock);
    srcfile *f = fs_src_get_file(s, fr->file, now);
    int want_it = f && f->status == FASTSTACK_LINE_MISSING && !f->fetch_tried;
    if (want_it) f->fetch_tried = 1;
    pthread_mutex_unlock(&s->lock);
    char path[4096];
    if (!want_it ||
        !fs_debuginfod_source(fr->build_id, fr->file, 0, 0, path, sizeof path))
      continue;
    char *copy = strdup(path);
    pthread_mutex_lock(&s->lock);
    if (copy && !f->fetched) {
      f->fetched = copy;
      copy = NULL;
      fs_src_refresh_file(s, f, now);
    }
    pthread_mutex_unlock(&s->lock);
    free(copy);
  }
}

FASTSTACK_API void faststack_sources_use_debuginfod(faststack_sources *s,
                                                    int on)
{
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  s->debuginfod = on > 0;
  if (s->debuginfod) s->no_sources = 0;
  pthread_mutex_unlock(&s->lock);
}

/* The shared core: requests w[0..n) (frame, line, out index), results
 * into out[]. w is the caller's scratch: reordered here. */
static void resolve(faststack_sources *s, want *w, int n,
                    faststack_source_line *out, char *strbuf, size_t cap,
                    size_t *used)
{
  int pending = 0, stale;
  long long now = fs_src_now_ns();
  if (s->debuginfod) fetch_missing(s, w, n, now);
  /* Pass 1, under the lock: cache hits and known-bad files. */
  pthread_mutex_lock(&s->lock);
  for (int i = 0; i < n; i++) {
    w[i].file = fs_src_get_file(s, w[i].fr->file, now);
    w[i].status = -1;
    w[i].ent = NULL;
    if (!w[i].file) {
      w[i].status = FASTSTACK_LINE_MISSING;
      continue;
    }
    fs_src_recheck_no_sources(s, w[i].file, now);
    line_entry *e =
        s->no_sources ? NULL : fs_src_cache_find(s, w[i].file, w[i].line);
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
      fs_src_refresh_file(s, f, now);
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
          line_entry *e = t->ent ? t->ent : fs_src_entry_new("", 0);
          /* Once the cache has the entry, text points into the cache: it
           * stays valid for this line's repeats, which come next, under
           * this lock, before another insertion could evict it. */
          if (e && fs_src_cache_adopt(s, f, t->line, t->status, e))
            t->ent = NULL;
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
                                     faststack_source_line *out, char *strbuf,
                                     size_t strcap)
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

FASTSTACK_API int
faststack_annotate_context(faststack_sources *s, const faststack_frame *frame,
                           int context, faststack_source_line *out, int max,
                           char *strbuf, size_t strcap)
{
  if (!s || !frame || !out || max <= 0 || context < 0 || !has_location(frame))
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
