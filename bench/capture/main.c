/* bench_capture — cost of capturing a stack, side by side with peers.
 *
 * Stacks of a given depth are built by ping/pong recursion across two
 * source files; at the bottom each method captures the whole stack
 * FS_BURST times in a row, timed as one burst (the clock is read outside
 * the captures, and the recursion's own cost — its returns mispredict
 * once the stack is deeper than the return-stack buffer — is outside
 * the timing). The recursion is built three ways: with frame pointers,
 * without (-fomit-frame-pointer), and with frame pointers but capturing
 * inside a qsort comparator (glibc's frameless sort frames mid-stack).
 * Every method runs in this one process, warm, for a fixed time budget
 * of bursts; the table prints the median burst's ns per capture, ns per
 * frame, frames returned, each peer's time as a multiple of faststack's,
 * and the object the measured function lives in.
 *
 * Peers are looked up in their own objects (bench/peers.h): glibc's
 * backtrace() in libc.so.6, unw_backtrace() in libunwind.so.8,
 * _Unwind_Backtrace() in libgcc_s.so.1, all loaded RTLD_LOCAL; libbacktrace
 * (gcc 12's libbacktrace.a) and faststack are linked into this program.
 * libunwind is not linked: its weak backtrace and _Unwind_Backtrace would
 * otherwise take the place of glibc's and libgcc's. */
#define _GNU_SOURCE
#include <backtrace.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unwind.h>

#include "faststack.h"
#include "peers.h"
#include "pingpong.h"

#define MAXF 2048

/* The library's unwinding strategy (FASTSTACK_UNWIND), set per row. */
extern int fs_unwind_mode;
enum { MODE_AUTO = 0, MODE_FP = 1, MODE_CFI = 2 };

static int m_faststack(uintptr_t *pcs, int max)
{
  fs_unwind_mode = MODE_AUTO;
  return faststack_capture(pcs, max, 0);
}

static int m_faststack_fp(uintptr_t *pcs, int max)
{
  fs_unwind_mode = MODE_FP;
  return faststack_capture(pcs, max, 0);
}

static int m_faststack_cfi(uintptr_t *pcs, int max)
{
  fs_unwind_mode = MODE_CFI;
  return faststack_capture(pcs, max, 0);
}

/* The same recursion compiled with -fomit-frame-pointer (CMakeLists). */
int ping_nofp(int depth, capture_fn f, uintptr_t *pcs, int max);
typedef int (*recurse_fn)(int, capture_fn, uintptr_t *, int);
static recurse_fn recurse = ping;

/* The peers, each from its own object (main() resolves them). */
typedef int (*backtrace_fn)(void **, int);
typedef _Unwind_Reason_Code (*uw_bt_fn)(_Unwind_Trace_Fn, void *);
typedef _Unwind_Ptr (*uw_getip_fn)(struct _Unwind_Context *);
static bench_peer p_glibc = {.lib = "libc.so.6", .sym = "backtrace"};
static bench_peer p_unw = {.lib = "libunwind.so.8", .sym = "unw_backtrace"};
static bench_peer p_gcc = {.lib = "libgcc_s.so.1", .sym = "_Unwind_Backtrace"};
static bench_peer p_gcc_ip = {.lib = "libgcc_s.so.1", .sym = "_Unwind_GetIP"};
static bench_peer p_lbt = {.lib = NULL, .sym = "backtrace_simple"};
static bench_peer p_fs = {.lib = NULL, .sym = "faststack_capture"};

static int m_backtrace(uintptr_t *pcs, int max)
{
  return ((backtrace_fn)p_glibc.fn)((void **)pcs, max);
}

static int m_unw_backtrace(uintptr_t *pcs, int max)
{
  return ((backtrace_fn)p_unw.fn)((void **)pcs, max);
}

static uw_bt_fn gcc_backtrace;
static uw_getip_fn gcc_getip;
struct uw_arg {
  uintptr_t *pcs;
  int n, max;
};
static _Unwind_Reason_Code uw_cb(struct _Unwind_Context *ctx, void *p)
{
  struct uw_arg *a = p;
  if (a->n >= a->max) return _URC_END_OF_STACK;
  a->pcs[a->n++] = gcc_getip(ctx);
  return _URC_NO_REASON;
}
static int m_unwind_backtrace(uintptr_t *pcs, int max)
{
  struct uw_arg a = {pcs, 0, max};
  gcc_backtrace(uw_cb, &a);
  return a.n;
}

static struct backtrace_state *bt_state;
struct bt_arg {
  uintptr_t *pcs;
  int n, max;
};
static int bt_cb(void *p, uintptr_t pc)
{
  struct bt_arg *a = p;
  if (a->n >= a->max) return 1;
  a->pcs[a->n++] = pc;
  return 0;
}
static void bt_err(void *p, const char *msg, int errnum)
{
  (void)p;
  (void)msg;
  (void)errnum;
}
static int m_libbacktrace(uintptr_t *pcs, int max)
{
  struct bt_arg a = {pcs, 0, max};
  backtrace_simple(bt_state, 0, bt_cb, bt_err, &a);
  return a.n;
}

typedef struct method {
  const char *name;
  capture_fn fn;
  const bench_peer *peer; /* the function measured and its object */
} method;

static const method methods[] = {
    {"faststack auto", m_faststack, &p_fs},
    {"faststack fp", m_faststack_fp, &p_fs},
    {"faststack cfi", m_faststack_cfi, &p_fs},
    {"glibc backtrace()", m_backtrace, &p_glibc},
    {"unw_backtrace()", m_unw_backtrace, &p_unw},
    {"_Unwind_Backtrace()", m_unwind_backtrace, &p_gcc},
    {"libbacktrace simple", m_libbacktrace, &p_lbt},
};

static double now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uintptr_t pcs[MAXF];

/* Captures per timed burst, and bursts kept for the median. */
#define FS_BURST 64
#define FS_MAX_BURSTS 4096

static const method *cur;
static double burst_ns;
static int burst_frames;

/* The capture_fn at the bottom of the recursion: one timed burst. */
static int burst(uintptr_t *out, int max)
{
  int n = 0;
  double t0 = now_ns();
  for (int i = 0; i < FS_BURST; i++) n = cur->fn(out, max);
  burst_ns = (now_ns() - t0) / FS_BURST;
  burst_frames = n;
  return n;
}

/* What the bottom of the recursion (or the qsort comparator) runs: a
 * timed burst, or the check below. */
static capture_fn leaf = burst;

/* Through libc: the burst runs inside a qsort comparator, so every walk
 * crosses glibc's frameless sort frames in the middle of the stack. */
static uintptr_t *via_out;
static int via_max, via_n, via_done;
static int cmp_burst(const void *a, const void *b)
{
  if (!via_done) {
    via_done = 1;
    via_n = leaf(via_out, via_max);
  }
  return *(const int *)a - *(const int *)b;
}

static int via_qsort(uintptr_t *out, int max)
{
  int v[2] = {2, 1};
  via_out = out;
  via_max = max;
  via_done = 0;
  qsort(v, 2, sizeof v[0], cmp_burst);
  return via_n;
}

/* What runs at the bottom of the recursion: the leaf, or qsort. */
static capture_fn bottom = burst;

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Runs one method at one depth for ~budget_ns of bursts (after one to
 * warm up); returns the median burst's ns per capture. */
static double measure(const method *m, int depth, double budget_ns, int *frames)
{
  static double runs[FS_MAX_BURSTS];
  cur = m;
  recurse(depth, bottom, pcs, MAXF); /* warm up */
  int nrun = 0;
  double start = now_ns();
  do {
    recurse(depth, bottom, pcs, MAXF);
    runs[nrun++] = burst_ns;
  } while (nrun < FS_MAX_BURSTS && now_ns() - start < budget_ns);
  *frames = burst_frames;
  qsort(runs, (size_t)nrun, sizeof runs[0], cmp_double);
  return runs[nrun / 2];
}

/* ------------------------------------------------------------ the check
 * Before any timing, on the very stacks the tables time, each faststack
 * row's frames are compared with libgcc's _Unwind_Backtrace (the DWARF
 * CFI unwinder behind glibc's backtrace()): every row may miss frames
 * (fp across frameless code must), none may report a frame the reference
 * lacks or reorder them, and auto and cfi must miss none. A row that
 * fails makes the benchmark fail: a fast wrong answer is not measured. */
enum { NROWS = 3 };
static const char *const row_names[NROWS] = {"auto", "fp", "cfi"};
static uintptr_t ref[MAXF], got[NROWS][MAXF];
static int ref_n, got_n[NROWS];

/* The leaf of a check: every unwinder walks the same stack. */
static int check_leaf(uintptr_t *out, int max)
{
  (void)out;
  (void)max;
  ref_n = m_unwind_backtrace(ref, MAXF);
  got_n[0] = m_faststack(got[0], MAXF);
  got_n[1] = m_faststack_fp(got[1], MAXF);
  got_n[2] = m_faststack_cfi(got[2], MAXF);
  return ref_n;
}

/* Checks one row against the reference; returns 0 or prints why not.
 * The first two frames are each unwinder's caller and check_leaf's call
 * site, which differ by construction; from the third (the frame that
 * called the leaf) on, the stacks are one. */
static int check_row(int row, int depth, const char *kind)
{
  const uintptr_t *g = got[row] + 2;
  int n = got_n[row] - 2, j = 0;
  while (j < ref_n && (n <= 0 || ref[j] != g[0])) j++;
  int matched = 0, missing = 0;
  for (int i = 0; i < n; i++, j++) {
    while (j < ref_n && ref[j] != g[i]) j++, missing++;
    if (j == ref_n) {
      printf("check FAILED: %s, depth %d, faststack %s: frame %d (%#lx) is "
             "not in the reference's stack, or out of its order\n",
             kind, depth, row_names[row], i + 2, (unsigned long)g[i]);
      return 1;
    }
    matched++;
  }
  /* The recursion (depth + 1 frames) and the leaf's caller at least. */
  if (row != 1 && (missing || matched < depth + 1)) {
    printf("check FAILED: %s, depth %d, faststack %s: %d frames of the "
           "reference's %d, %d missing\n",
           kind, depth, row_names[row], matched, ref_n - 2, missing);
    return 1;
  }
  return 0;
}

/* Runs the check at every depth of every kind; returns the failures. */
static int check_all(const int *depths, int ndepths, const char *const *kinds)
{
  if (!gcc_backtrace) {
    printf("check: skipped, libgcc's _Unwind_Backtrace not found\n");
    return 0;
  }
  int bad = 0, rows = 0;
  leaf = check_leaf;
  for (int kind = 0; kind < 3; kind++) {
    recurse = kind == 1 ? ping_nofp : ping;
    bottom = kind == 2 ? via_qsort : check_leaf;
    for (int d = 0; d < ndepths; d++) {
      recurse(depths[d], bottom, pcs, MAXF);
      for (int row = 0; row < NROWS; row++, rows++)
        bad += check_row(row, depths[d], kinds[kind]);
    }
  }
  leaf = burst;
  fs_unwind_mode = MODE_AUTO;
  printf("check: %d of %d faststack rows agree with libgcc's "
         "_Unwind_Backtrace on the same stacks (auto and cfi: every frame; "
         "fp: no frame it lacks, in order)\n",
         rows - bad, rows);
  return bad;
}

int main(int argc, char **argv)
{
  double budget_ms = argc > 1 ? atof(argv[1]) : 150;
  p_fs.fn = (void *)faststack_capture;
  p_lbt.fn = (void *)backtrace_simple;
  bench_peer *all[] = {&p_fs, &p_glibc, &p_unw, &p_gcc, &p_gcc_ip, &p_lbt};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    bench_peer_resolve(all[i]);
  gcc_backtrace = (uw_bt_fn)p_gcc.fn;
  gcc_getip = (uw_getip_fn)p_gcc_ip.fn;
  if (!gcc_getip) gcc_backtrace = NULL;
  bt_state = backtrace_create_state(NULL, 0, bt_err, NULL);
  printf("capture: ping/pong recursion across two files, warm: median of "
         "bursts of %d captures at the bottom of the recursion. faststack "
         "rows: auto (CFI per frame, the default), fp (frame pointers "
         "only), cfi (CFI only).\n",
         FS_BURST);
  printf("functions measured, each resolved in its own object (dladdr):\n");
  bench_peer_print("faststack", &p_fs);
  bench_peer_print("glibc", &p_glibc);
  bench_peer_print("libunwind", &p_unw);
  bench_peer_print("libgcc", &p_gcc);
  bench_peer_print("libbacktrace (.a)", &p_lbt);
  static const int depths[] = {8, 32, 128, 512};
  static const char *const kinds[] = {
      "frame-pointer code (-fno-omit-frame-pointer)",
      "code without frame pointers (-fomit-frame-pointer)",
      "through libc: frame-pointer code calls qsort, whose comparator "
      "captures"};
  int ndepths = (int)(sizeof depths / sizeof depths[0]);
  if (check_all(depths, ndepths, kinds)) return 1;
  for (int kind = 0; kind < 3; kind++) {
    recurse = kind == 1 ? ping_nofp : ping;
    bottom = kind == 2 ? via_qsort : burst;
    printf("\n== %s\n", kinds[kind]);
    printf("%-6s %-22s %12s %10s %8s %12s  %s\n", "depth", "method",
           "ns/capture", "ns/frame", "frames", "x auto", "object");
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
      double base = 0;
      for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        const method *m = &methods[i];
        if (!m->peer->fn || (m->fn == m_unwind_backtrace && !gcc_backtrace))
          continue;
        int frames = 0;
        double ns = measure(m, depths[d], budget_ms * 1e6, &frames);
        if (i == 0) base = ns;
        printf("%-6d %-22s %12.1f %10.2f %8d %11.2fx  %s\n", depths[d], m->name,
               ns, frames ? ns / frames : 0, frames, base > 0 ? ns / base : 0,
               bench_peer_base(m->peer));
      }
    }
  }
  fs_unwind_mode = MODE_AUTO;
  return 0;
}
