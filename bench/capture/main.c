/* bench_capture — cost of capturing a stack, side by side with peers.
 *
 * Stacks of a given depth are built by ping/pong recursion across two
 * source files; at the bottom each method captures the whole stack. Every
 * method runs in this one process, warm, for a fixed time budget; the
 * table prints ns per capture, ns per frame, frames returned, and each
 * peer's time as a multiple of faststack's. The cost of building the
 * recursion itself is measured first and subtracted. */
#define _GNU_SOURCE
#include <backtrace.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unwind.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "faststack.h"
#include "pingpong.h"

#define MAXF 2048

/* Builds the recursion and captures nothing: its cost is subtracted from
 * every method's, so the table shows the capture alone. */
static int m_none(uintptr_t *pcs, int max)
{
  (void)pcs;
  return max > 0 ? 0 : -1;
}

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

static int m_backtrace(uintptr_t *pcs, int max)
{
  return backtrace((void **)pcs, max);
}

static int m_unw_backtrace(uintptr_t *pcs, int max)
{
  return unw_backtrace((void **)pcs, max);
}

/* libgcc's unwinder, looked up in libgcc_s itself: linking libunwind
 * would otherwise bind _Unwind_Backtrace to libunwind's copy. */
typedef _Unwind_Reason_Code (*uw_bt_fn)(_Unwind_Trace_Fn, void *);
typedef _Unwind_Ptr (*uw_getip_fn)(struct _Unwind_Context *);
static uw_bt_fn gcc_backtrace;
static uw_getip_fn gcc_getip;
struct uw_arg { uintptr_t *pcs; int n, max; };
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
struct bt_arg { uintptr_t *pcs; int n, max; };
static int bt_cb(void *p, uintptr_t pc)
{
  struct bt_arg *a = p;
  if (a->n >= a->max) return 1;
  a->pcs[a->n++] = pc;
  return 0;
}
static void bt_err(void *p, const char *msg, int errnum)
{
  (void)p; (void)msg; (void)errnum;
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
} method;

static const method methods[] = {
  {"faststack auto", m_faststack},
  {"faststack fp", m_faststack_fp},
  {"faststack cfi", m_faststack_cfi},
  {"backtrace()", m_backtrace},
  {"unw_backtrace()", m_unw_backtrace},
  {"_Unwind_Backtrace()", m_unwind_backtrace},
  {"libbacktrace simple", m_libbacktrace},
};

static double now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uintptr_t pcs[MAXF];

/* Runs one method at one depth for ~budget_ns; returns ns per capture. */
static double measure(const method *m, int depth, double budget_ns,
                      int *frames)
{
  *frames = recurse(depth, m->fn, pcs, MAXF); /* warm up */
  long iters = 0;
  double start = now_ns(), t;
  long batch = 1;
  do {
    for (long i = 0; i < batch; i++) recurse(depth, m->fn, pcs, MAXF);
    iters += batch;
    t = now_ns() - start;
    if (batch < 1024) batch *= 2;
  } while (t < budget_ns);
  return t / iters;
}

int main(int argc, char **argv)
{
  double budget_ms = argc > 1 ? atof(argv[1]) : 150;
  void *gcc = dlopen("libgcc_s.so.1", RTLD_NOW);
  gcc_backtrace = gcc ? (uw_bt_fn)dlsym(gcc, "_Unwind_Backtrace") : NULL;
  gcc_getip = gcc ? (uw_getip_fn)dlsym(gcc, "_Unwind_GetIP") : NULL;
  bt_state = backtrace_create_state(NULL, 0, bt_err, NULL);
  printf("capture: ping/pong recursion across two files, warm. faststack "
         "rows: auto (CFI per frame, the default), fp (frame pointers "
         "only), cfi (CFI only).\n");
  static const int depths[] = {8, 32, 128, 512};
  static const char *const kinds[] = {
      "frame-pointer code (-fno-omit-frame-pointer)",
      "code without frame pointers (-fomit-frame-pointer)"};
  for (int kind = 0; kind < 2; kind++) {
    recurse = kind ? ping_nofp : ping;
    printf("\n== %s\n", kinds[kind]);
    printf("%-6s %-22s %12s %10s %8s %12s\n", "depth", "method",
           "ns/capture", "ns/frame", "frames", "x auto");
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
      double base = 0;
      int none_frames;
      method none = {"(recursion only)", m_none};
      double rec = measure(&none, depths[d], budget_ms * 1e6, &none_frames);
      printf("%-6d %-22s %12.1f   (subtracted from the rows below)\n",
             depths[d], none.name, rec);
      for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        const method *m = &methods[i];
        if (m->fn == m_unwind_backtrace && !gcc_backtrace) continue;
        int frames = 0;
        double ns = measure(m, depths[d], budget_ms * 1e6, &frames) - rec;
        if (i == 0) base = ns;
        printf("%-6d %-22s %12.1f %10.2f %8d %11.2fx\n", depths[d],
               m->name, ns, frames ? ns / frames : 0, frames,
               base > 0 ? ns / base : 0);
      }
    }
  }
  fs_unwind_mode = MODE_AUTO;
  return 0;
}
