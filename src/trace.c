/* trace.c — capture -> symbolize -> annotate -> format in one call.
 *
 * The stages need scratch memory (frames, their strings, source lines)
 * whose size depends on the trace. Each thread gets its own scratch area,
 * allocated on its first call and grown when a bigger trace needs it, and
 * freed when the thread exits: in steady state a trace allocates nothing.
 * PCs elided from the middle are dropped before symbolization, so a 4096
 * frame stack costs what its printed frames cost. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

FS_REQUIRE_INIT;

#define FS_INLINE_MAX 16    /* frames one PC may expand to */
#define FS_STR_PER_PC 1024  /* string bytes budgeted per PC */
#define FS_LINE_PER_FRAME 256

typedef struct scratch {
  faststack_frame *frames;
  faststack_source_line *lines;
  size_t nframes;           /* capacity of frames and lines */
  char *strs, *text;
  size_t nstrs, ntext;
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
      grow((void **)&s->text, &s->ntext, nf * FS_LINE_PER_FRAME, 1))
    return NULL;
  return s;
}

/* End of the strings faststack_symbolize placed for frames[0..n). */
static size_t strings_end(const faststack_frame *f, int n, const char *base)
{
  size_t end = 0;
  for (int i = 0; i < n; i++) {
    const char *const p[] = {f[i].function, f[i].file, f[i].module, f[i].build_id};
    for (int k = 0; k < 4; k++)
      if (p[k] && p[k] >= base) {
        size_t e = (size_t)(p[k] - base) + strlen(p[k]) + 1;
        if (e > end) end = e;
      }
  }
  return end;
}

/* Symbolizes the printed PCs; returns the number of frames, and the
 * number of PCs dropped from the middle in *elided. */
static int symbolize_all(scratch *s, faststack_symbolizer *sym,
                         const uintptr_t *pcs, int n, unsigned flags, int max,
                         int *elided)
{
  int head = n, tail = 0;
  if (max <= 0) max = 100;
  if (n > max) {
    head = (max + 1) / 2;
    tail = max / 2;
  }
  *elided = n - head - tail;
  int nf = 0;
  size_t used = 0;
  for (int i = 0; i < n; i++) {
    if (i >= head && i < n - tail) continue;
    unsigned f = i == 0 && (flags & FASTSTACK_PCS_UCONTEXT) ? FASTSTACK_PC_EXACT : 0;
    int k = faststack_symbolize(sym, pcs[i], f, s->frames + nf, FS_INLINE_MAX,
                                s->strs + used, s->nstrs - used);
    if (k <= 0) continue;
    used += strings_end(s->frames + nf, k, s->strs + used);
    nf += k;
  }
  return nf;
}

static void defaults(faststack_format_options *d,
                     const faststack_format_options **o)
{
  if (!*o) {
    faststack_format_options_init(d, FASTSTACK_FORMAT_GO);
    *o = d;
  }
}

static int trace_out(fs_out *out, const uintptr_t *pcs, int n, unsigned flags,
                     const faststack_format_options *o, int fd)
{
  faststack_format_options d;
  defaults(&d, &o);
  if (o->format == FASTSTACK_FORMAT_RAW) {
    fs_raw_trace(out, pcs, n, flags);
    return 0;
  }
  if (!pcs || n <= 0) n = 0;
  int cap_pcs = n > 0 ? (o->max_frames > 0 ? o->max_frames : 100) : 1;
  scratch *s = scratch_get(n < cap_pcs ? (n ? n : 1) : cap_pcs);
  faststack_symbolizer *sym = o->symbolizer ? o->symbolizer
                                            : faststack_default_symbolizer();
  if (!s || !sym) return -1;
  int elided = 0;
  int nf = symbolize_all(s, sym, pcs, n, flags, o->max_frames, &elided);
  faststack_sources *src = o->sources ? o->sources : faststack_default_sources();
  const faststack_source_line *lines = NULL;
  if (o->source && src && o->context <= 0 &&
      faststack_annotate(src, s->frames, nf, s->lines, s->text, s->ntext) == 0)
    lines = s->lines;
  if (o->source && src && o->context > 0 && o->format == FASTSTACK_FORMAT_GO) {
    faststack_format_options h = *o;
    h.max_frames = nf + 1;
    fs_format_frames_out(out, s->frames, 0, NULL, 0, &h, fd); /* header */
    for (int i = 0; i < nf; i++) {
      int k = faststack_annotate_context(src, &s->frames[i], o->context, s->ctx,
                                         64, s->text, s->ntext);
      fs_format_context_frame(out, &s->frames[i], s->ctx, k, o, fd);
    }
    return 0;
  }
  fs_format_frames_out(out, s->frames, nf, lines, elided, o, fd);
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
