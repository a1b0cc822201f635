/* bench_annotate — the article "a tale of two stacks" in C: a gin-style
 * source-annotated trace of a ping/pong recursion at depths 16..4096,
 * built four ways, side by side in one run:
 *   (a) slowstack — gin's algorithm, ported;
 *   (b) article   — the article's faststack (cap 64, sort, each file once);
 *   (c) cold      — faststack with an empty source cache every op;
 *   (d) warm      — faststack with its process-wide cache.
 * Every op captures, symbolizes (the same warm symbolizer for all),
 * reads source and formats. The frame caps differ, as in the article:
 * gin's algorithm takes every frame (up to FS_CAP_ALL here), the others
 * 64; the table prints each row's cap and the frames it captured, so a
 * deep row of (a) is read as the cost of 4096 frames against 64. Ops run in bursts of FS_BURST at the bottom
 * of the recursion, timed there: the recursion's own returns (which
 * mispredict, and miss the cache once the stack is deep) are outside the
 * timing, so the table shows what a trace costs at each depth.
 * Allocations are counted by wrapping malloc in this binary; opens by the
 * ports themselves and faststack's stats. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faststack.h"
#include "pingpong.h"
#include "ports.h"

/* ---- allocation counting ---- */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static unsigned long long n_allocs, n_bytes;
void *malloc(size_t n)
{
  n_allocs++;
  n_bytes += n;
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
  n_allocs++;
  n_bytes += a * b;
  return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
  n_allocs++;
  n_bytes += n;
  return __libc_realloc(p, n);
}
void free(void *p)
{
  __libc_free(p);
}

/* Frames captured per op: every frame for gin's algorithm, like gin;
 * the article's cap for the rest. */
#define FS_CAP_ALL 8192
#define FS_CAP 64
static const int caps[] = {FS_CAP_ALL, FS_CAP, FS_CAP, FS_CAP};

static faststack_symbolizer *sym;
static faststack_sources *warm;
static char out[1 << 20];
static int variant;

enum { SLOW, ARTICLE, COLD, WARM, NVARIANTS };
static const char *const names[] = {"(a) slowstack (gin)",
                                    "(b) article faststack",
                                    "(c) faststack cold", "(d) faststack warm"};

static unsigned long long fs_opens(void)
{
  faststack_sources_stats st;
  faststack_sources_get_stats(warm, &st);
  return st.opens;
}

static unsigned long long cold_opens;

/* One trace. */
static int one_op(uintptr_t *pcs)
{
  int n = faststack_capture(pcs, caps[variant], 0);
  if (variant == SLOW) {
    free(slowstack(sym, pcs, n));
    return n;
  }
  if (variant == ARTICLE) {
    free(article_faststack(sym, pcs, n));
    return n;
  }
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GIN);
  o.symbolizer = sym;
  o.max_frames = FS_CAP;
  o.color = 0;
  if (variant == COLD) {
    /* Cold: no cached source lines and no cached formatted text. */
    faststack_trace_cache_clear();
    o.sources = faststack_sources_create(NULL);
    faststack_format_trace(pcs, n, 0, &o, out, sizeof out);
    faststack_sources_stats st;
    faststack_sources_get_stats(o.sources, &st);
    cold_opens += st.opens;
    faststack_sources_free(o.sources);
  } else {
    o.sources = warm;
    faststack_format_trace(pcs, n, 0, &o, out, sizeof out);
  }
  return n;
}

static double now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

#define FS_BURST 8
static double op_ns;
static long op_count;
static int op_frames;

/* At the bottom of the recursion: a timed burst of ops. */
static int op(uintptr_t *pcs, int max)
{
  (void)max;
  int n = 0;
  double t0 = now_ns();
  for (int i = 0; i < FS_BURST; i++) n = one_op(pcs);
  op_ns += now_ns() - t0;
  op_count += FS_BURST;
  op_frames = n;
  return n;
}

static uintptr_t pcs[FS_CAP_ALL];

int main(int argc, char **argv)
{
  double budget = (argc > 1 ? atof(argv[1]) : 300) * 1e6;
  sym = faststack_default_symbolizer();
  warm = faststack_sources_create(NULL);
  static const int depths[] = {16, 64, 256, 1024, 4096};
  printf("annotate: gin-style annotated trace of ping/pong recursion; "
         "per op: capture + symbolize + source + format, timed in bursts of "
         "%d at the bottom of the recursion\n",
         FS_BURST);
  printf("frame caps: (a) %d (every frame, as gin), (b) (c) (d) %d\n",
         FS_CAP_ALL, FS_CAP);
  printf("%-6s %-24s %6s %7s %12s %12s %10s %8s\n", "depth", "variant", "cap",
         "frames", "ns/op", "B alloc/op", "allocs/op", "opens/op");
  for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
    double ns[NVARIANTS];
    for (variant = 0; variant < NVARIANTS; variant++) {
      ping(depths[d], op, pcs, FS_CAP_ALL); /* warm-up: symbolizer, cache */
      unsigned long long a0 = n_allocs, b0 = n_bytes, p0 = port_opens,
                         w0 = fs_opens(), c0 = cold_opens;
      op_ns = 0;
      op_count = 0;
      do ping(depths[d], op, pcs, FS_CAP_ALL);
      while (op_ns < budget && op_count < 200000);
      ns[variant] = op_ns / op_count;
      double opens =
          (double)(port_opens - p0 + fs_opens() - w0 + cold_opens - c0) /
          op_count;
      printf("%-6d %-24s %6d %7d %12.0f %12.0f %10.1f %8.2f\n", depths[d],
             names[variant], caps[variant], op_frames, ns[variant],
             (double)(n_bytes - b0) / op_count,
             (double)(n_allocs - a0) / op_count, opens);
    }
    for (int v = 0; v < NVARIANTS; v++)
      printf("%-6d   %-22s %8.1fx the cost of (d)\n", depths[d], names[v],
             ns[v] / ns[WARM]);
  }
  return 0;
}
