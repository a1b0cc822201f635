/* test_race.c — each lock-free structure of the library hammered from
 * several threads at once, with the answers checked exactly. Built like
 * every test; the ThreadSanitizer tier (make check-tsan) runs these
 * (label tsan), where a data race fails the test even when the answers
 * come out right.
 *
 * Usage: test_race PART, one test name per part (tests/race.cmake):
 *   rulecache   capture's rule cache: captures through frameless chains
 *               while another thread loads and unloads a library (each
 *               refresh advances the code epoch the cache's tags mix in)
 *   pccache     the symbolizer's PC cache: more PCs than it has slots,
 *               symbolized by several threads against a reference
 *   stacktable  the stack table: concurrent inserts of known stacks while
 *               a reader iterates
 *   ring        the profiler's sample ring: SIGPROF on four busy threads,
 *               drained by the aggregator and by concurrent writes
 *   modules     the module snapshot: lookups and listings while other
 *               threads dlopen, dlclose and refresh
 *   tracecache  the one-call trace's formatted-PC cache: the same traces
 *               from several threads while another clears the cache
 *   lasterror   faststack_symbolizer_last_error read while other threads
 *               record errors on the same symbolizer */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"
#include "fs_testutil.h"

enum { NTHREADS = 4 };

static pthread_t spawn(void *(*fn)(void *), long arg)
{
  pthread_t t;
  if (pthread_create(&t, NULL, fn, (void *)arg) != 0) {
    fprintf(stderr, "pthread_create failed\n");
    exit(1);
  }
  return t;
}

/* Joins and returns the thread's result (a count of wrong answers). */
static long join(pthread_t t)
{
  void *r = NULL;
  pthread_join(t, &r);
  return (long)r;
}

static double thread_cpu_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char tmpdir[] = "/tmp/fs_race.XXXXXX";

static int copy_file(const char *from, const char *to)
{
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
  return system(cmd);
}

/* -------------------------------------------------------- rule cache */

/* Two chains of frameless functions (the file is built with
 * -fomit-frame-pointer): each level is a CFI step through the cache. The
 * functions the checks look for are global: -rdynamic exports them, so
 * fs_testutil.h finds their exact ranges. */
typedef int (*leaf_fn)(uintptr_t *pcs, int max);
__attribute__((noinline)) int chain_a(int d, leaf_fn f, uintptr_t *p, int max);
__attribute__((noinline)) int chain_b(int d, leaf_fn f, uintptr_t *p, int max);

__attribute__((noinline)) int chain_a(int d, leaf_fn f, uintptr_t *p, int max)
{
  int n = d > 0 ? chain_b(d - 1, f, p, max) : f(p, max);
  __asm__ volatile("" ::: "memory"); /* no tail call */
  return n;
}

__attribute__((noinline)) int chain_b(int d, leaf_fn f, uintptr_t *p, int max)
{
  volatile char pad[40]; /* another frame size */
  pad[0] = (char)d;
  int n = d > 0 ? chain_a(d - 1, f, p, max) : f(p, max);
  __asm__ volatile("" ::: "memory");
  return n + pad[0] * 0;
}

__attribute__((noinline)) int leaf_capture(uintptr_t *pcs, int max)
{
  int n = faststack_capture(pcs, max, 0);
  __asm__ volatile("" ::: "memory");
  return n;
}

static _Atomic int stop_flag;
static char modlib[256];

/* Loads and unloads a library, refreshing the module map each time:
 * every refresh advances the code epoch, so cached rules go stale under
 * the capturing threads' feet. */
static void *churn_modules(void *arg)
{
  (void)arg;
  long rounds = 0;
  while (!atomic_load(&stop_flag)) {
    void *h = dlopen(modlib, RTLD_NOW | RTLD_LOCAL);
    faststack_modules_refresh();
    if (h) dlclose(h);
    faststack_modules_refresh();
    rounds++;
  }
  return (void *)0;
}

/* Frames 0..depth must be leaf_capture's caller chain: leaf_capture,
 * then the chain functions alternating, in order. */
static int chain_ok(const uintptr_t *pcs, int n, int depth, int start_a)
{
  if (n < depth + 2 || !fs_test_ra_in(pcs[0], (void *)leaf_capture)) return 0;
  for (int i = 1; i <= depth + 1; i++) {
    /* pcs[i] returns into the function at level depth+1-i from the top:
     * the innermost chain function is at i == 1. */
    int level = depth + 1 - i; /* 0 = the outermost call */
    int is_a = (level % 2 == 0) == start_a;
    if (!fs_test_ra_in(pcs[i], is_a ? (void *)chain_a : (void *)chain_b))
      return 0;
  }
  return 1;
}

enum { CHAIN_DEPTHS = 40 };

static void *capture_worker(void *arg)
{
  long id = (long)arg, bad = 0;
  /* The first capture of each shape (depth, first function) is checked
   * function by function; every later one must equal it exactly. */
  static _Thread_local uintptr_t first[2 * CHAIN_DEPTHS][64];
  static _Thread_local int nfirst[2 * CHAIN_DEPTHS];
  uintptr_t pcs[64];
  for (int it = 0; it < 3000; it++) {
    int depth = (int)((it * 7 + id * 3) % CHAIN_DEPTHS);
    int start_a = (int)((it + id) % 2);
    int n = start_a ? chain_a(depth, leaf_capture, pcs, 64)
                    : chain_b(depth, leaf_capture, pcs, 64);
    int key = 2 * depth + start_a;
    if (!nfirst[key]) {
      bad += !chain_ok(pcs, n, depth, start_a);
      memcpy(first[key], pcs, sizeof pcs);
      nfirst[key] = n;
    } else {
      bad += n != nfirst[key] ||
             memcmp(pcs, first[key], (size_t)n * sizeof pcs[0]) != 0;
    }
  }
  return (void *)bad;
}

static void race_rulecache(const char *lib)
{
  snprintf(modlib, sizeof modlib, "%s", lib);
  pthread_t churn = spawn(churn_modules, 0);
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; i++) t[i] = spawn(capture_worker, i);
  long bad = 0;
  for (int i = 0; i < NTHREADS; i++) bad += join(t[i]);
  atomic_store(&stop_flag, 1);
  join(churn);
  CHECK_EQ(bad, 0);
  fprintf(stderr, "rulecache: %d threads x 3000 captures\n", NTHREADS);
}

/* ---------------------------------------------------------- PC cache */

enum { PCC_MAX = 24000 };
static uintptr_t pcc_pc[PCC_MAX];
static char *pcc_want[PCC_MAX];
static int npcc;
static faststack_symbolizer *pcc_sym;

/* Everything faststack_symbolize says about pc, as one string. */
static char *describe(faststack_symbolizer *s, uintptr_t pc)
{
  faststack_frame f[16];
  char b[4096], out[8192];
  int k = faststack_symbolize(s, pc, FASTSTACK_PC_EXACT, f, 16, b, sizeof b);
  size_t n = 0;
  for (int j = 0; j < k && n < sizeof out - 600; j++)
    n += (size_t)snprintf(out + n, sizeof out - n, "%s|%s|%d|%d|%d|%lx;",
                          f[j].function ? f[j].function : "?",
                          f[j].file ? f[j].file : "?", f[j].line, f[j].column,
                          f[j].inlined, (unsigned long)f[j].function_offset);
  out[n] = '\0';
  return strdup(out);
}

static void *pcc_worker(void *arg)
{
  long id = (long)arg, bad = 0;
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < npcc; i++) {
      int k = (int)((i * 7919L + id * 104729L) % npcc);
      char *got = describe(pcc_sym, pcc_pc[k]);
      bad += strcmp(got, pcc_want[k]) != 0;
      free(got);
    }
  return (void *)bad;
}

static void race_pccache(void)
{
  faststack_module m;
  CHECK(faststack_module_find((uintptr_t)race_pccache, &m));
  /* The library's code linked into this executable: many functions,
   * with DWARF. */
  uintptr_t lo = (uintptr_t)faststack_capture & ~(uintptr_t)0xfff;
  faststack_symbolizer *ref = faststack_symbolizer_create(NULL);
  for (uintptr_t pc = lo; pc < m.end && npcc < PCC_MAX; pc += 5) {
    pcc_pc[npcc] = pc;
    pcc_want[npcc++] = describe(ref, pc);
  }
  faststack_symbolizer_free(ref);
  CHECK(npcc > 16384); /* more answers than the cache has slots per way */
  pcc_sym = faststack_symbolizer_create(NULL);
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; i++) t[i] = spawn(pcc_worker, i);
  long bad = 0;
  for (int i = 0; i < NTHREADS; i++) bad += join(t[i]);
  CHECK_EQ(bad, 0);
  faststack_symbolizer_free(pcc_sym);
  for (int i = 0; i < npcc; i++) free(pcc_want[i]);
  fprintf(stderr, "pccache: %d PCs x %d threads x 2 rounds\n", npcc, NTHREADS);
}

/* ------------------------------------------------------- stack table */

enum { ST_STACKS = 300, ST_REPEAT = 40 };
static faststack_stack_table *st;

/* Stack k: k % 13 + 1 PCs, each derived from k and its index. */
static int st_stack(int k, uintptr_t *pcs)
{
  int n = k % 13 + 1;
  for (int i = 0; i < n; i++) pcs[i] = 0x400000u + (uintptr_t)k * 64 + i;
  return n;
}

static void *st_inserter(void *arg)
{
  long id = (long)arg, bad = 0;
  uintptr_t pcs[16];
  for (int r = 0; r < ST_REPEAT; r++)
    for (int i = 0; i < ST_STACKS; i++) {
      int k = (int)((i * 31 + id * 17 + r) % ST_STACKS);
      int n = st_stack(k, pcs);
      bad += faststack_stack_table_insert(st, pcs, n, 0, (uint64_t)k + 1) == 0;
    }
  return (void *)bad;
}

typedef struct st_tally {
  uint64_t count[ST_STACKS];
  long bad;
} st_tally;

/* Every entry a visitor sees must be one of the known stacks, whole. */
static int st_visit(void *arg, const faststack_stack_entry *e)
{
  st_tally *t = arg;
  if (e->n < 1 || e->n > 13 || e->pcs[0] < 0x400000u) {
    t->bad++;
    return 0;
  }
  int k = (int)((e->pcs[0] - 0x400000u) / 64);
  uintptr_t want[16];
  if (k >= ST_STACKS || st_stack(k, want) != e->n ||
      memcmp(want, e->pcs, (size_t)e->n * sizeof want[0])) {
    t->bad++;
    return 0;
  }
  t->count[k] += e->count;
  return 0;
}

static void *st_reader(void *arg)
{
  (void)arg;
  long bad = 0;
  while (!atomic_load(&stop_flag)) {
    st_tally t;
    memset(&t, 0, sizeof t);
    faststack_stack_table_foreach(st, st_visit, &t);
    bad += t.bad;
  }
  return (void *)bad;
}

static void race_stacktable(void)
{
  st = faststack_stack_table_create(1024, 1024 * 16);
  CHECK(st != NULL);
  if (!st) return;
  pthread_t reader = spawn(st_reader, 0);
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; i++) t[i] = spawn(st_inserter, i);
  long bad = 0;
  for (int i = 0; i < NTHREADS; i++) bad += join(t[i]);
  atomic_store(&stop_flag, 1);
  CHECK_EQ(join(reader), 0);
  CHECK_EQ(bad, 0);
  /* Merged by content (a race may intern a stack twice): every count. */
  st_tally tally;
  memset(&tally, 0, sizeof tally);
  faststack_stack_table_foreach(st, st_visit, &tally);
  CHECK_EQ(tally.bad, 0);
  uint64_t total = 0;
  for (int k = 0; k < ST_STACKS; k++) {
    CHECK_EQ(tally.count[k], (uint64_t)NTHREADS * ST_REPEAT * (k + 1));
    total += tally.count[k];
  }
  CHECK_EQ(faststack_stack_table_total(st), total);
  CHECK_EQ(faststack_stack_table_overflow(st), 0);
  faststack_stack_table_free(st);
  fprintf(stderr, "stacktable: %d threads x %d inserts, a reader iterating\n",
          NTHREADS, ST_STACKS * ST_REPEAT);
}

/* ------------------------------------------------------ profiler ring */

/* Busy loops, one per thread, each under its own caller: a sample whose
 * leaf is spin_N must have worker_N (and no other worker) under it. */
#define SPIN(N)                                                                \
  __attribute__((noinline)) void spin_##N(double cpu_s)                        \
  {                                                                            \
    volatile unsigned long x = 0;                                              \
    while (thread_cpu_s() < cpu_s)                                             \
      for (int i = 0; i < 20000; i++) x += (unsigned long)i * (N + 1);         \
    (void)x;                                                                   \
  }                                                                            \
  __attribute__((noinline)) void *worker_##N(void *arg)                        \
  {                                                                            \
    faststack_profiler_thread_init();                                          \
    spin_##N(*(double *)arg);                                                  \
    __asm__ volatile("" ::: "memory");                                         \
    return NULL;                                                               \
  }
SPIN(0)
SPIN(1)
SPIN(2)
SPIN(3)
static void (*const spins[NTHREADS])(double) = {spin_0, spin_1, spin_2, spin_3};
static void *(*const workers[NTHREADS])(void *) = {worker_0, worker_1, worker_2,
                                                   worker_3};

static void *profile_writer(void *arg)
{
  (void)arg;
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  long bad = 0;
  while (!atomic_load(&stop_flag)) {
    /* Drains the ring (racing the aggregator) and writes folded stacks. */
    bad += faststack_profiler_write(fd, 1) != 0;
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
  }
  close(fd);
  return (void *)bad;
}

typedef struct ring_tally {
  uint64_t samples, in_spin[NTHREADS];
  long torn;
} ring_tally;

/* Which spin_N the sample was taken in (-1: none), and at which frame
 * (*at): the interrupted PC itself, or a caller of it — under
 * ThreadSanitizer most samples interrupt its runtime, which the spins
 * call on every access, so a spin is seldom the leaf there. */
static int sample_spin(const faststack_stack_entry *e, int *at)
{
  for (int i = 0; i < e->n && i < 8; i++)
    for (int k = 0; k < NTHREADS; k++)
      if (i == 0 ? fs_test_pc_in(e->pcs[0], (void *)spins[k])
                 : fs_test_ra_in(e->pcs[i], (void *)spins[k])) {
        *at = i;
        return k;
      }
  return -1;
}

static int ring_visit(void *arg, const faststack_stack_entry *e)
{
  ring_tally *t = arg;
  t->samples += e->count;
  int at = 0, k = sample_spin(e, &at);
  if (k < 0) return 0;
  t->in_spin[k] += e->count;
  /* Its caller is its own worker, never another's. */
  int own = 0, other = 0;
  for (int i = at + 1; i < e->n; i++)
    for (int w = 0; w < NTHREADS; w++)
      if (fs_test_ra_in(e->pcs[i], (void *)workers[w])) {
        own += w == k;
        other += w != k;
      }
  if (own != 1 || other) t->torn += (long)e->count;
  return 0;
}

static void race_ring(void)
{
  CHECK_EQ(faststack_profiler_start(2000), 0);
  /* Each thread spins for CPU time, not wall time: the sample count
   * does not depend on how busy the machine is. */
  double cpu_s = 0.4;
  pthread_t writer = spawn(profile_writer, 0);
  pthread_t t[NTHREADS];
  for (int i = 0; i < NTHREADS; i++)
    CHECK_EQ(pthread_create(&t[i], NULL, workers[i], &cpu_s), 0);
  for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
  atomic_store(&stop_flag, 1);
  CHECK_EQ(join(writer), 0);
  CHECK_EQ(faststack_profiler_stop(), 0);
  ring_tally tally;
  memset(&tally, 0, sizeof tally);
  faststack_stack_table_foreach(faststack_profiler_table(), ring_visit, &tally);
  CHECK_EQ(tally.torn, 0);
  for (int k = 0; k < NTHREADS; k++) CHECK(tally.in_spin[k] >= 10);
  fprintf(stderr,
          "ring: %llu samples (%llu %llu %llu %llu in the four spins), "
          "drained while written\n",
          (unsigned long long)tally.samples,
          (unsigned long long)tally.in_spin[0],
          (unsigned long long)tally.in_spin[1],
          (unsigned long long)tally.in_spin[2],
          (unsigned long long)tally.in_spin[3]);
}

/* ---------------------------------------------------- module snapshot */

static faststack_module exe_mod, libc_mod;

static int same_module(const faststack_module *a, const faststack_module *b)
{
  return a->start == b->start && a->end == b->end && a->bias == b->bias &&
         !strcmp(a->build_id, b->build_id);
}

static void *modules_reader(void *arg)
{
  long id = (long)arg, bad = 0;
  faststack_module list[64], m;
  for (int it = 0; it < 4000; it++) {
    if (!faststack_module_find((uintptr_t)modules_reader, &m) ||
        !same_module(&m, &exe_mod) || strcmp(m.path, exe_mod.path))
      bad++;
    if (!faststack_module_find((uintptr_t)strlen, &m) ||
        !same_module(&m, &libc_mod))
      bad++;
    if ((it + id) % 50 == 0) {
      /* Paths of a listing die with the next listing in any thread: only
       * the copied fields are compared. */
      int n = faststack_modules_list(list, 64);
      int seen_exe = 0;
      for (int i = 0; i < n && i < 64; i++)
        seen_exe += same_module(&list[i], &exe_mod);
      bad += n < 3 || seen_exe != 1;
    }
  }
  return (void *)bad;
}

static void race_modules(const char *lib)
{
  CHECK(faststack_module_find((uintptr_t)race_modules, &exe_mod));
  CHECK(faststack_module_find((uintptr_t)strlen, &libc_mod));
  snprintf(modlib, sizeof modlib, "%s", lib);
  pthread_t churn[2] = {spawn(churn_modules, 0), spawn(churn_modules, 1)};
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; i++) t[i] = spawn(modules_reader, i);
  long bad = 0;
  for (int i = 0; i < NTHREADS; i++) bad += join(t[i]);
  atomic_store(&stop_flag, 1);
  join(churn[0]);
  join(churn[1]);
  CHECK_EQ(bad, 0);
  fprintf(stderr, "modules: %d readers, 2 threads loading and refreshing\n",
          NTHREADS);
}

/* -------------------------------------------------------- trace cache */

enum { TRACES = 3 };
static uintptr_t trace_pcs[TRACES][64];
static int trace_n[TRACES];
static char *trace_want[TRACES];

static size_t format_one(int k, char *buf, size_t cap)
{
  faststack_format_options o;
  faststack_format_options_init(&o, k == 1 ? FASTSTACK_FORMAT_GIN
                                           : FASTSTACK_FORMAT_GO);
  o.source = 1;
  o.color = 0;
  o.header = "";
  return faststack_format_trace(trace_pcs[k], trace_n[k], 0, &o, buf, cap);
}

static void *trace_worker(void *arg)
{
  long id = (long)arg, bad = 0;
  static _Thread_local char buf[65536];
  for (int it = 0; it < 1500; it++) {
    int k = (int)((it + id) % TRACES);
    size_t n = format_one(k, buf, sizeof buf);
    bad += n >= sizeof buf || strcmp(buf, trace_want[k]) != 0;
  }
  return (void *)bad;
}

static void *trace_clearer(void *arg)
{
  (void)arg;
  while (!atomic_load(&stop_flag)) {
    faststack_trace_cache_clear();
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
  }
  return (void *)0;
}

static int trace_leaf(uintptr_t *pcs, int max)
{
  return faststack_capture(pcs, max, 0);
}

static void race_tracecache(void)
{
  for (int k = 0; k < TRACES; k++) {
    trace_n[k] = k == 2 ? chain_b(5, trace_leaf, trace_pcs[k], 64)
                        : chain_a(3 + k, trace_leaf, trace_pcs[k], 64);
    char buf[65536];
    faststack_trace_cache_clear();
    size_t n = format_one(k, buf, sizeof buf);
    CHECK(n > 0 && n < sizeof buf && strstr(buf, "chain_") != NULL);
    trace_want[k] = strdup(buf);
  }
  pthread_t clearer = spawn(trace_clearer, 0);
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; i++) t[i] = spawn(trace_worker, i);
  long bad = 0;
  for (int i = 0; i < NTHREADS; i++) bad += join(t[i]);
  atomic_store(&stop_flag, 1);
  join(clearer);
  CHECK_EQ(bad, 0);
  for (int k = 0; k < TRACES; k++) free(trace_want[k]);
  fprintf(stderr, "tracecache: %d threads x 1500 traces, a thread clearing\n",
          NTHREADS);
}

/* --------------------------------------------------------- last error */

enum { LE_LIBS = 48 };
static faststack_symbolizer *le_sym;
static uintptr_t le_fn[LE_LIBS];

/* Symbolizes one PC in each replaced library: every first lookup of a
 * library records "file on disk differs" on the shared symbolizer. */
static void *le_writer(void *arg)
{
  long id = (long)arg;
  faststack_frame f[8];
  char b[1024];
  for (int i = 0; i < LE_LIBS; i++) {
    int k = (int)((i * 5 + id * 11) % LE_LIBS);
    faststack_symbolize(le_sym, le_fn[k], FASTSTACK_PC_EXACT, f, 8, b,
                        sizeof b);
  }
  return (void *)0;
}

/* The message must always be whole: "" or one of the messages, never
 * torn between two. */
static void *le_reader(void *arg)
{
  (void)arg;
  long bad = 0;
  while (!atomic_load(&stop_flag)) {
    const char *e = faststack_symbolizer_last_error(le_sym);
    char copy[512];
    snprintf(copy, sizeof copy, "%s", e);
    if (copy[0] && (strncmp(copy, tmpdir, strlen(tmpdir)) ||
                    !strstr(copy, ": file on disk differs from the loaded "
                                  "module")))
      bad++;
  }
  return (void *)bad;
}

static void race_lasterror(const char *lib, const char *other)
{
  void *h[LE_LIBS] = {0};
  for (int i = 0; i < LE_LIBS; i++) {
    char path[300], tmp[300];
    snprintf(path, sizeof path, "%s/libmod%02d.so", tmpdir, i);
    snprintf(tmp, sizeof tmp, "%s/tmp.so", tmpdir);
    CHECK_EQ(copy_file(lib, path), 0);
    h[i] = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CHECK(h[i] != NULL);
    if (!h[i]) return;
    le_fn[i] = (uintptr_t)dlsym(h[i], "modtest_function");
    /* Replaced on disk by another object (another build-id). */
    CHECK_EQ(copy_file(other, tmp), 0);
    CHECK_EQ(rename(tmp, path), 0);
  }
  le_sym = faststack_symbolizer_create(NULL);
  pthread_t r[2] = {spawn(le_reader, 0), spawn(le_reader, 1)};
  pthread_t t[NTHREADS];
  for (long i = 0; i < NTHREADS; i++) t[i] = spawn(le_writer, i);
  for (int i = 0; i < NTHREADS; i++) join(t[i]);
  atomic_store(&stop_flag, 1);
  CHECK_EQ(join(r[0]) + join(r[1]), 0);
  CHECK(strstr(faststack_symbolizer_last_error(le_sym), "differs") != NULL);
  faststack_symbolizer_free(le_sym);
  for (int i = 0; i < LE_LIBS; i++) dlclose(h[i]);
  fprintf(stderr, "lasterror: %d writers, 2 readers, %d libraries\n", NTHREADS,
          LE_LIBS);
}

int main(int argc, char **argv)
{
  const char *part = argc > 1 ? argv[1] : "";
  CHECK(mkdtemp(tmpdir) != NULL);
  char lib[300];
  snprintf(lib, sizeof lib, "%s/librace.so", tmpdir);
  CHECK_EQ(copy_file(MODTEST_LIB, lib), 0);
  if (!strcmp(part, "rulecache")) race_rulecache(lib);
  else if (!strcmp(part, "pccache")) race_pccache();
  else if (!strcmp(part, "stacktable")) race_stacktable();
  else if (!strcmp(part, "ring")) race_ring();
  else if (!strcmp(part, "modules")) race_modules(lib);
  else if (!strcmp(part, "tracecache")) race_tracecache();
  else if (!strcmp(part, "lasterror"))
    race_lasterror(MODTEST_LIB, MODTEST2_LIB);
  else {
    fprintf(stderr, "usage: test_race PART\n");
    return 2;
  }
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  CHECK_EQ(system(cmd), 0);
  return CHECK_DONE(argc > 1 ? argv[1] : "test_race");
}
