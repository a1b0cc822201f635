/* bench_stacktable — the cost of interning a stack into a stack table
 * (faststack_stack_table_insert), what the profiler's and a tracer's every
 * event pays after its capture: one thread, then two threads inserting at
 * once (on this 2-core machine, each on its own core), each its own stack
 * (the common case: threads sample different stacks) and both the same
 * stack (one slot's count shared: the worst case). A stack already in
 * the table: a hash, a probe, a compare and an atomic add. ns per insert
 * per thread, the median of ROUNDS runs. There is no peer: no other
 * library offers an async-signal-safe stack table. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "faststack.h"

enum { N = 2000000, ROUNDS = 5, DEPTH = 32 };
static faststack_stack_table *table;
static int same_stack;

static void *inserter(void *arg)
{
  uintptr_t pcs[DEPTH];
  uintptr_t id = same_stack ? 1 : (uintptr_t)arg;
  for (int i = 0; i < DEPTH; i++) pcs[i] = 0x400000 + id * 0x10000 + i * 16;
  for (int i = 0; i < N; i++)
    faststack_stack_table_insert(table, pcs, DEPTH, 0, 1);
  return NULL;
}

static double now_ns(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static double run(int threads)
{
  pthread_t th[2];
  faststack_stack_table_reset(table);
  double t0 = now_ns();
  for (long i = 0; i < threads; i++)
    pthread_create(&th[i], NULL, inserter, (void *)(i + 1));
  for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
  double ns = (now_ns() - t0) / N;
  if (faststack_stack_table_total(table) != (uint64_t)threads * N) {
    printf("bench_stacktable: the counts do not add up\n");
    exit(1);
  }
  return ns;
}

static int cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(void)
{
  table = faststack_stack_table_create(1024, 0);
  if (!table) return 1;
  printf("bench_stacktable: faststack_stack_table_insert of a %d-PC stack "
         "already in the table, %d inserts per thread, median of %d runs\n",
         DEPTH, N, ROUNDS);
  printf("%-34s %14s\n", "threads", "ns/insert");
  static const struct {
    const char *name;
    int threads, same;
  } cases[] = {{"1", 1, 0},
               {"2, each its own stack", 2, 0},
               {"2, the same stack", 2, 1}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    double r[ROUNDS];
    same_stack = cases[c].same;
    for (int i = 0; i < ROUNDS; i++) r[i] = run(cases[c].threads);
    qsort(r, ROUNDS, sizeof r[0], cmp);
    printf("%-34s %14.1f\n", cases[c].name, r[ROUNDS / 2]);
  }
  faststack_stack_table_free(table);
  return 0;
}
