/* bench_tracer — the Go execution-tracer experiment in C: two threads hand
 * a token back and forth through a futex (a short spin first, then
 * FUTEX_WAIT/FUTEX_WAKE: pipes cost tens of microseconds here and hid the
 * tracing cost); with tracing on, every hand-off
 * captures the stack and interns it into a stack table (an "event with its
 * stack"). Reports the time per hand-off of each unwinder and its overhead
 * over no tracing. Go's tracer went from +774% to +30% on this kind of
 * benchmark by switching to frame pointers; the target here is <= +30%.
 *
 * "faststack" runs in a child with FASTSTACK_UNWIND=auto and "faststack-fp"
 * with FASTSTACK_UNWIND=fp: the mode is read once at load. The peers,
 * libunwind's unw_backtrace and glibc's backtrace, are each looked up in
 * their own object (bench/peers.h), which the table names. */
#define _GNU_SOURCE 1
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faststack.h"
#include "peers.h"

enum { DEPTH = 64, ROUNDS = 5 };
static long handoffs = 50000;
static int variant; /* 0 none, 1 faststack, 2 libunwind, 3 backtrace */
static faststack_stack_table *table;
typedef int (*backtrace_fn)(void **, int);
static bench_peer p_fs = {.lib = NULL, .sym = "faststack_capture"};
static bench_peer p_unw = {.lib = "libunwind.so.8", .sym = "unw_backtrace"};
static bench_peer p_glibc = {.lib = "libc.so.6", .sym = "backtrace"};
/* Whose turn it is: 0 the main thread, 1 the ponger. */
static _Atomic int turn;

static void wait_turn(int me)
{
  for (int spin = 0; atomic_load_explicit(&turn, memory_order_acquire) != me;
       spin++) {
    if (spin < 200) {
      __builtin_ia32_pause();
      continue;
    }
    syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, !me, NULL, NULL, 0);
  }
}

static void give_turn(int to)
{
  atomic_store_explicit(&turn, to, memory_order_release);
  syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* A few real frames above the event, like a scheduler call path. */
__attribute__((noinline)) static void trace_event(void)
{
  uintptr_t pcs[DEPTH];
  int n = 0;
  switch (variant) {
  case 1: n = faststack_capture(pcs, DEPTH, 0); break;
  case 2: n = ((backtrace_fn)p_unw.fn)((void **)pcs, DEPTH); break;
  case 3: n = ((backtrace_fn)p_glibc.fn)((void **)pcs, DEPTH); break;
  default: return;
  }
  faststack_stack_table_insert(table, pcs, n, 0, 1);
}

__attribute__((noinline)) static void handoff(int me)
{
  wait_turn(me);
  trace_event();
  give_turn(!me);
}

static void *ponger(void *p)
{
  (void)p;
  for (long i = 0; i < handoffs; i++) handoff(1);
  return NULL;
}

static double run_once(void)
{
  pthread_t t;
  struct timespec t0, t1;
  atomic_store(&turn, 0);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_create(&t, NULL, ponger, NULL);
  for (long i = 0; i < handoffs; i++) handoff(0);
  pthread_join(t, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) /
         (2.0 * handoffs);
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median ns per hand-off over ROUNDS runs. */
static double measure(void)
{
  double r[ROUNDS];
  for (int i = 0; i < ROUNDS; i++) r[i] = run_once();
  qsort(r, ROUNDS, sizeof r[0], cmp);
  return r[ROUNDS / 2];
}

static double child(const char *self, const char *v, const char *mode)
{
  int fd[2];
  if (pipe(fd)) exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], 1);
    if (mode) setenv("FASTSTACK_UNWIND", mode, 1);
    execl(self, self, "--variant", v, (char *)NULL);
    _exit(127);
  }
  close(fd[1]);
  char buf[64] = {0};
  ssize_t n = read(fd[0], buf, sizeof buf - 1);
  close(fd[0]);
  waitpid(pid, NULL, 0);
  return n > 0 ? atof(buf) : -1;
}

int main(int argc, char **argv)
{
  if (getenv("BENCH_HANDOFFS")) handoffs = atol(getenv("BENCH_HANDOFFS"));
  table = faststack_stack_table_create(1024, 0);
  p_fs.fn = (void *)faststack_capture;
  bench_peer *peers[] = {&p_fs, &p_unw, &p_glibc};
  for (int i = 0; i < 3; i++) bench_peer_resolve(peers[i]);
  if (argc == 3 && !strcmp(argv[1], "--variant")) {
    variant = atoi(argv[2]);
    measure(); /* warm up: page in, intern the stacks */
    printf("%.1f\n", measure());
    return 0;
  }
  struct {
    const char *name, *v, *mode;
    const bench_peer *peer;
  } vs[] = {
      {"none", "0", NULL, NULL},
      {"faststack (auto)", "1", "auto", &p_fs},
      {"faststack fp only", "1", "fp", &p_fs},
      {"libunwind", "2", NULL, &p_unw},
      {"glibc backtrace()", "3", NULL, &p_glibc},
  };
  /* A hand-off is a spin that falls back to a futex sleep: a few hundred
   * ns more per event can tip it from one to the other, so one process's
   * figure swings with what the machine does meanwhile. The variants run
   * in interleaved rounds (each a fresh child: the median of its ROUNDS
   * runs), so a noisy moment hits all of them; the table gives the
   * median round and the range of rounds. */
  enum { NV = 5, OUTER = 5 };
  printf("bench_tracer: %ld token hand-offs between two threads (futex); "
         "each figure the median of %d interleaved rounds, a round the "
         "median of %d runs in a fresh process\n",
         handoffs, OUTER, ROUNDS);
  printf("functions measured, each resolved in its own object (dladdr):\n");
  bench_peer_print("faststack", &p_fs);
  bench_peer_print("libunwind", &p_unw);
  bench_peer_print("glibc", &p_glibc);
  static double r[NV][OUTER];
  for (int o = 0; o < OUTER; o++)
    for (int i = 0; i < NV; i++)
      r[i][o] = vs[i].peer && !vs[i].peer->fn
                    ? -1
                    : child("/proc/self/exe", vs[i].v, vs[i].mode);
  printf("%-20s %12s %10s  %-16s %s\n", "tracing", "ns/hand-off", "overhead",
         "rounds (ns)", "object");
  double base = 0;
  for (int i = 0; i < NV; i++) {
    if (r[i][0] < 0) continue;
    qsort(r[i], OUTER, sizeof r[i][0], cmp);
    double ns = r[i][OUTER / 2];
    if (i == 0) base = ns;
    char range[32];
    snprintf(range, sizeof range, "%.0f-%.0f", r[i][0], r[i][OUTER - 1]);
    printf("%-20s %12.1f %+9.1f%%  %-16s %s\n", vs[i].name, ns,
           base > 0 ? 100.0 * (ns - base) / base : 0.0, range,
           vs[i].peer ? bench_peer_base(vs[i].peer) : "");
  }
  printf("target: faststack <= +30%%\n");
  return 0;
}
