/* trace.c — capture -> symbolize -> annotate -> format in one call.
 *
 * The stages need scratch memory (frames, their strings, source lines)
 * whose size depends on the trace. Each thread gets its own scratch area,
 * allocated on its first call and grown when a bigger trace needs it, and
 * freed when the thread exits: in steady state a trace allocates nothing.
 * PCs elided from the middle are dropped before symbolization, so a 4096
 * frame stack costs what its printed frames cost.
 *
 * Servers print the same PCs over and over (every recovery of one bug).
 * For the Go and gin formats the text of each PC — its frames, inline
 * chain and source lines — is kept in a process-wide cache of formatted
 * pieces, so a repeated trace is a few hash probes and copies. An entry
 * lives at most FS_CHUNK_TTL_NS (the source provider's own re-check
 * interval, so a source file edited since is noticed just as soon), and
 * the whole cache is dropped when a library is loaded or unloaded (a PC
 * may then mean other code). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format/format.h"

#define FS_INLINE_MAX 16 /* frames one PC may expand to */
#define FS_STR_PER_PC                                                          \
  4096 /* string bytes budgeted per PC: C++ inline
                              chains of the standard library take that */
#define FS_LINE_PER_FRAME 256
#define FS_CHUNK_SLOTS 2048 /* cached PCs (direct-mapped) */
#define FS_CHUNK_TEXT 496   /* longest cached text of one PC */
#define FS_CHUNK_TTL_NS 1000000000LL

typedef struct piece {
  size_t off, len;     /* the PC's text in scratch.ptext */
  int miss;            /* not from the cache: format it */
  int dup_of;          /* a miss with the same PC earlier, or -1 */
  int frame0, nframes; /* its frames (misses only) */
} piece;

typedef struct scratch {
  faststack_frame *frames;
  faststack_source_line *lines;
  size_t nframes; /* capacity of frames and lines */
  char *strs, *text, *ptext;
  size_t nstrs, ntext, nptext;
  piece *pieces;
  size_t npieces;
  int *idx; /* which PC each piece prints */
  size_t nidx;
  faststack_source_line ctx[64];
} scratch;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p)
{
  scratch *s = p;
  if (!s) return;
  free(s->frames);
  free(s->lines);
  free(s->strs);
  free(s->text);
  free(s->ptext);
  free(s->pieces);
  free(s->idx);
  free(s);
}

static void scratch_init(void)
{
  pthread_key_create(&scratch_key, scratch_free);
}

static int grow(void **p, size_t *cap, size_t want, size_t elem)
{
  if (*cap >= want) return 0;
  void *n = realloc(*p, want * elem);
  if (!n) return -1;
  *p = n;
  *cap = want;
  return 0;
}

/* This thread's scratch, with room for npcs PCs. */
static scratch *scratch_get(int npcs)
{
  pthread_once(&scratch_once, scratch_init);
  scratch *s = pthread_getspecific(scratch_key);
  if (!s) {
    s = calloc(1, sizeof *s);
    if (!s || pthread_setspecific(scratch_key, s) != 0) {
      free(s);
      return NULL;
    }
  }
  size_t nf = (size_t)npcs * FS_INLINE_MAX, cap = s->nframes;
  if (grow((void **)&s->frames, &cap, nf, sizeof *s->frames) ||
      grow((void **)&s->lines, &s->nframes, nf, sizeof *s->lines) ||
      grow((void **)&s->strs, &s->nstrs, (size_t)npcs * FS_STR_PER_PC, 1) ||
      grow((void **)&s->text, &s->ntext, nf * FS_LINE_PER_FRAME, 1) ||
      grow((void **)&s->pieces, &s->npieces, (size_t)npcs, sizeof *s->pieces) ||
      grow((void **)&s->idx, &s->nidx, (size_t)npcs, sizeof *s->idx))
    return NULL;
  return s;
}

/* End of the strings faststack_symbolize placed in [base, base+cap) for
 * frames[0..n) (module and build-id strings live in the symbolizer). */
static size_t strings_end(const faststack_frame *f, int n, const char *base,
                          size_t cap)
{
  size_t end = 0;
  for (int i = 0; i < n; i++) {
    const char *const p[] = {f[i].function, f[i].file, f[i].module,
                             f[i].build_id};
    for (int k = 0; k < 4; k++)
      if (p[k] && p[k] >= base && p[k] < base + cap) {
        size_t e = (size_t)(p[k] - base) + strlen(p[k]) + 1;
        if (e > end) end = e;
      }
  }
  return end;
}

static unsigned pc_flags(int i, unsigned flags)
{
  return i == 0 && (flags & FASTSTACK_PCS_UCONTEXT) ? FASTSTACK_PC_EXACT : 0;
}

/* Symbolizes PC i into the scratch frames at *nf; returns its count. */
static int symbolize_one(scratch *s, faststack_symbolizer *sym, uintptr_t pc,
                         unsigned f, int *nf, size_t *used)
{
  int k = faststack_symbolize(sym, pc, f, s->frames + *nf, FS_INLINE_MAX,
                              s->strs + *used, s->nstrs - *used);
  if (k <= 0) return 0;
  *used += strings_end(s->frames + *nf, k, s->strs + *used, s->nstrs - *used);
  *nf += k;
  return k;
}

/* Symbolizes the printed PCs; returns the number of frames, and the
 * number of PCs dropped from the middle in *elided. */
static int symbolize_all(scratch *s, faststack_symbolizer *sym,
                         const uintptr_t *pcs, int n, unsigned flags, int max,
                         int *elided)
{
  int head, tail;
  fs_elide_plan(n, max, &head, &tail);
  *elided = n - head - tail;
  int nf = 0;
  size_t used = 0;
  for (int i = 0; i < n; i++) {
    if (i >= head && i < n - tail) continue;
    symbolize_one(s, sym, pcs[i], pc_flags(i, flags), &nf, &used);
  }
  return nf;
}

/* ------------------------------------------------ the formatted cache */

typedef struct chunk {
  uintptr_t pc;
  uint64_t sig;   /* options, exactness; 0 = empty slot */
  uint64_t epoch; /* valid while it equals chunks_epoch */
  long long born; /* CLOCK_MONOTONIC ns */
  uint32_t len;
  char text[FS_CHUNK_TEXT];
} chunk;

static chunk *chunks; /* FS_CHUNK_SLOTS, allocated on first use */
static unsigned long long chunks_gen;
/* Emptying the cache is one increment: entries of an older epoch are
 * misses (cheap enough for a benchmark to clear it on every trace). */
static uint64_t chunks_epoch = 1;
static pthread_mutex_t chunk_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mix(uint64_t h, uint64_t v)
{
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

/* Everything besides the PC that decides a PC's text: the format, the
 * style (colour, names, paths, filters) and where names and lines come
 * from. */
static uint64_t options_sig(const faststack_format_options *o,
                            const fs_style *st, faststack_symbolizer *sym,
                            faststack_sources *src)
{
  uint64_t h = 0x51ed270b0a5c3f1dull;
  h = mix(h, (uint64_t)o->format);
  h = mix(h, (uint64_t)(o->source != 0));
  h = mix(h, fs_style_hash(st, 0));
  h = mix(h, (uintptr_t)sym);
  h = mix(h, (uintptr_t)src);
  return h | 1; /* never 0 */
}

static chunk *slot(uintptr_t pc, uint64_t sig)
{
  uint64_t h = mix(sig, pc) * 0x9e3779b97f4a7c15ull;
  return &chunks[h >> 53 & (FS_CHUNK_SLOTS - 1)];
}

/* Copies the cached text of each printed PC into the scratch, marking
 * the others as misses. */
static void cache_lookup(scratch *s, const uintptr_t *pcs, const int *idx,
                         int np, unsigned flags, uint64_t sig, long long now)
{
  size_t off = 0;
  pthread_mutex_lock(&chunk_lock);
  unsigned long long gen = fs_modules_generation();
  if (!chunks) chunks = calloc(FS_CHUNK_SLOTS, sizeof *chunks);
  if (chunks && gen != chunks_gen) { /* code may have moved under PCs */
    chunks_epoch++;
    chunks_gen = gen;
  }
  for (int j = 0; j < np; j++) {
    piece *p = &s->pieces[j];
    uint64_t sg = sig ^ (pc_flags(idx[j], flags) ? 2 : 0);
    chunk *c = chunks ? slot(pcs[idx[j]], sg) : NULL;
    p->miss = !c || c->sig != sg || c->pc != pcs[idx[j]] ||
              c->epoch != chunks_epoch || now - c->born > FS_CHUNK_TTL_NS;
    p->off = off;
    p->len = 0;
    /* Twice what this piece needs: the first time a long trace is served
     * from the cache (its misses were formatted once per distinct PC, so
     * the text did not need this much room then), growing to the exact
     * size would realloc once per cached PC. */
    size_t need = p->miss ? 0 : off + c->len;
    if (!p->miss && (need <= s->nptext ||
                     grow((void **)&s->ptext, &s->nptext, need * 2, 1) == 0)) {
      memcpy(s->ptext + off, c->text, c->len);
      p->len = c->len;
      off += c->len;
    } else {
      p->miss = 1;
    }
  }
  pthread_mutex_unlock(&chunk_lock);
}

static void cache_store(const uintptr_t *pcs, const int *idx, int np,
                        unsigned flags, uint64_t sig, long long now,
                        const scratch *s, const char *texts)
{
  pthread_mutex_lock(&chunk_lock);
  for (int j = 0; chunks && j < np; j++) {
    const piece *p = &s->pieces[j];
    if (!p->miss || p->dup_of >= 0 || p->len > FS_CHUNK_TEXT) continue;
    uint64_t sg = sig ^ (pc_flags(idx[j], flags) ? 2 : 0);
    chunk *c = slot(pcs[idx[j]], sg);
    c->pc = pcs[idx[j]];
    c->sig = sg;
    c->epoch = chunks_epoch;
    c->born = now;
    c->len = (uint32_t)p->len;
    memcpy(c->text, texts + p->off, p->len);
  }
  pthread_mutex_unlock(&chunk_lock);
}

FASTSTACK_API void faststack_trace_cache_clear(void)
{
  pthread_mutex_lock(&chunk_lock);
  chunks_epoch++;
  pthread_mutex_unlock(&chunk_lock);
}

/* A recursion repeats its PCs: among the misses, each distinct PC is
 * symbolized, annotated and formatted once; repeats point at the first. */
static void mark_repeats(scratch *s, const uintptr_t *pcs, const int *idx,
                         int np, unsigned flags)
{
  enum { SLOTS = 1024 };
  int table[SLOTS];
  memset(table, -1, sizeof table);
  int used = 0;
  for (int j = 0; j < np; j++) {
    piece *p = &s->pieces[j];
    p->dup_of = -1;
    if (!p->miss || pc_flags(idx[j], flags)) continue; /* exact: unique */
    if (used >= SLOTS / 2) continue; /* table full: no more sharing */
    uint64_t h = mix(0, pcs[idx[j]]) * 0x9e3779b97f4a7c15ull;
    for (unsigned k = (unsigned)(h >> 54);; k = (k + 1) & (SLOTS - 1)) {
      if (table[k] < 0) {
        table[k] = j;
        used++;
        break;
      }
      if (pcs[idx[table[k]]] == pcs[idx[j]]) {
        p->dup_of = table[k];
        break;
      }
    }
  }
}

/* The frames of one PC that the filters let through. */
static void format_piece(fs_out *po, const scratch *s, const piece *p,
                         const faststack_source_line *lines,
                         const faststack_format_options *o, const fs_style *st)
{
  for (int k = p->frame0; k < p->frame0 + p->nframes; k++)
    if (!fs_frame_hidden(st, &s->frames[k]))
      fs_format_frame(po, &s->frames[k], lines ? &lines[k] : NULL, o, st);
}

/* Go or gin without context lines: PC by PC through the cache. */
static int trace_pieces(fs_out *out, scratch *s, faststack_symbolizer *sym,
                        faststack_sources *src, const uintptr_t *pcs, int n,
                        unsigned flags, const faststack_format_options *o,
                        int fd)
{
  int head, tail;
  fs_elide_plan(n, o->max_frames, &head, &tail);
  int np = head + tail, *idx = s->idx;
  for (int j = 0; j < np; j++) idx[j] = j < head ? j : n - tail + (j - head);
  fs_style st;
  char cwd[FS_CWD_MAX];
  fs_style_init(&st, o, fs_format_use_color(o, fd), cwd);
  uint64_t sig = options_sig(o, &st, sym, src);
  long long now = fs_now_ns(CLOCK_MONOTONIC);
  cache_lookup(s, pcs, idx, np, flags, sig, now);
  /* Symbolize and annotate the misses together, so each source file is
   * read at most once for the whole trace. */
  int nf = 0;
  size_t used = 0;
  mark_repeats(s, pcs, idx, np, flags);
  for (int j = 0; j < np; j++) {
    piece *p = &s->pieces[j];
    if (!p->miss || p->dup_of >= 0) continue;
    p->frame0 = nf;
    p->nframes =
        symbolize_one(s, sym, pcs[idx[j]], pc_flags(idx[j], flags), &nf, &used);
  }
  const faststack_source_line *lines = NULL;
  if (nf && o->source && src &&
      faststack_annotate(src, s->frames, nf, s->lines, s->text, s->ntext) == 0)
    lines = s->lines;
  /* Format each miss after the cached texts, then store them. */
  size_t off = 0;
  for (int j = 0; j < np; j++)
    if (!s->pieces[j].miss) off = s->pieces[j].off + s->pieces[j].len;
  for (int j = 0; j < np; j++) {
    piece *p = &s->pieces[j];
    if (!p->miss) continue;
    if (p->dup_of >= 0) { /* formatted already (earlier in the trace) */
      p->off = s->pieces[p->dup_of].off;
      p->len = s->pieces[p->dup_of].len;
      continue;
    }
    fs_out po;
    size_t room = s->nptext > off ? s->nptext - off : 0;
    fs_out_init_buf(&po, room ? s->ptext + off : NULL, room);
    format_piece(&po, s, p, lines, o, &st);
    size_t need = fs_out_finish(&po);
    if (need + 1 > room) {
      /* Too small: grow and format again. */
      if (grow((void **)&s->ptext, &s->nptext, off + need + 1 + 4096, 1))
        return -1;
      fs_out_init_buf(&po, s->ptext + off, s->nptext - off);
      format_piece(&po, s, p, lines, o, &st);
      need = fs_out_finish(&po);
    }
    p->off = off;
    p->len = need;
    off += need;
  }
  cache_store(pcs, idx, np, flags, sig, now, s, s->ptext);
  fs_format_header(out, o, st.color);
  for (int j = 0; j < np; j++) {
    if (j == head && tail > 0 && n - np > 0) fs_format_elided(out, n - np);
    fs_out_mem(out, s->ptext + s->pieces[j].off, s->pieces[j].len);
  }
  return 0;
}

static int trace_out(fs_out *out, const uintptr_t *pcs, int n, unsigned flags,
                     const faststack_format_options *o, int fd)
{
  faststack_format_options d;
  if (!o) {
    faststack_format_options_init(&d, FASTSTACK_FORMAT_GO);
    o = &d;
  }
  if (o->format == FASTSTACK_FORMAT_RAW) {
    fs_raw_trace(out, pcs, n, flags);
    return 0;
  }
  if (!pcs || n <= 0) n = 0;
  int cap_pcs = o->max_frames > 0 ? o->max_frames : 100;
  scratch *s = scratch_get(n < cap_pcs ? (n ? n : 1) : cap_pcs);
  faststack_symbolizer *sym =
      o->symbolizer ? o->symbolizer : faststack_default_symbolizer();
  if (!s || !sym) return -1;
  faststack_sources *src =
      o->sources ? o->sources : faststack_default_sources();
  /* gin shows each frame's own line, never context lines. */
  if (o->format == FASTSTACK_FORMAT_GIN ||
      (o->format == FASTSTACK_FORMAT_GO && !(o->source && o->context > 0)))
    return trace_pieces(out, s, sym, src, pcs, n, flags, o, fd);
  int elided = 0;
  int nf = symbolize_all(s, sym, pcs, n, flags, o->max_frames, &elided);
  const faststack_source_line *lines = NULL;
  if (o->source && src && o->context <= 0 &&
      faststack_annotate(src, s->frames, nf, s->lines, s->text, s->ntext) == 0)
    lines = s->lines;
  fs_style st;
  char cwd[FS_CWD_MAX];
  fs_style_init(&st, o, fs_format_use_color(o, fd), cwd);
  if (o->source && src && o->context > 0 && o->format == FASTSTACK_FORMAT_GO) {
    fs_format_header(out, o, st.color);
    for (int i = 0; i < nf; i++) {
      if (fs_frame_hidden(&st, &s->frames[i])) continue;
      int k = faststack_annotate_context(src, &s->frames[i], o->context, s->ctx,
                                         64, s->text, s->ntext);
      fs_format_context_frame(out, &s->frames[i], s->ctx, k, &st);
    }
    return 0;
  }
  fs_format_frames_out(out, s->frames, nf, lines, elided, o, &st);
  return 0;
}

FASTSTACK_API size_t faststack_format_trace(const uintptr_t *pcs, int n,
                                            unsigned flags,
                                            const faststack_format_options *o,
                                            char *buf, size_t cap)
{
  fs_out out;
  fs_out_init_buf(&out, buf, cap);
  trace_out(&out, pcs, n, flags, o, -1);
  return fs_out_finish(&out);
}

FASTSTACK_API int faststack_write_trace(int fd, const uintptr_t *pcs, int n,
                                        unsigned flags,
                                        const faststack_format_options *o)
{
  char stage[4096];
  fs_out out;
  fs_out_init_fd(&out, fd, stage, sizeof stage);
  int r = trace_out(&out, pcs, n, flags, o, fd);
  return fs_out_finish(&out) == 0 && r == 0 ? 0 : -1;
}

FASTSTACK_API __attribute__((noinline)) int
faststack_print_stack(int fd, int skip, const faststack_format_options *o)
{
  uintptr_t pcs[512];
  if (skip < 0) skip = 0;
  int n = faststack_capture(pcs, 512, skip + 1);
  return faststack_write_trace(fd, pcs, n, 0, o);
}

/* Formatted in memory, then handed to stdio in one fwrite: it lands in
 * the stream's buffer after whatever the program printed before. */
FASTSTACK_API __attribute__((noinline)) int
faststack_fprint_stack(FILE *f, int skip, const faststack_format_options *o)
{
  uintptr_t pcs[512];
  if (!f) return -1;
  if (skip < 0) skip = 0;
  int n = faststack_capture(pcs, 512, skip + 1);
  char small[16384], *buf = small;
  size_t cap = sizeof small;
  for (;;) {
    fs_out out;
    fs_out_init_buf(&out, buf, cap);
    int r = trace_out(&out, pcs, n, 0, o, fileno(f));
    size_t need = fs_out_finish(&out);
    if (r == 0 && need >= cap && buf == small && (buf = malloc(need + 1))) {
      cap = need + 1;
      continue;
    }
    if (!buf) buf = small;
    int ok = r == 0 && fwrite(buf, 1, need < cap ? need : cap - 1, f) ==
                           (need < cap ? need : cap - 1);
    if (buf != small) free(buf);
    return ok ? 0 : -1;
  }
}
