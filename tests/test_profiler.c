/* test_profiler.c — the CPU profiler in process (no preload): SIGPROF
 * samples of a busy loop must be walked from the interrupted context up
 * through the loop's callers: some samples hold hot_loop, hot_caller and
 * main in that order, and no sample holds a frame of hot_caller that
 * does not follow hot_loop or a frame it calls. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "faststack.h"
#include "fs_testutil.h"

#define KEEP() __asm__ volatile("" ::: "memory")

int main(void);
static volatile unsigned long sink;

__attribute__((noinline)) void hot_loop(double seconds)
{
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  do {
    for (int i = 0; i < 100000; i++) sink += (unsigned long)i * 7;
    clock_gettime(CLOCK_MONOTONIC, &t);
  } while ((double)(t.tv_sec - t0.tv_sec) +
               (double)(t.tv_nsec - t0.tv_nsec) / 1e9 <
           seconds);
  KEEP();
}

__attribute__((noinline)) void hot_caller(double seconds)
{
  hot_loop(seconds);
  KEEP();
}

typedef struct tally {
  uint64_t samples, chains;
} tally;

static int visit(void *arg, const faststack_stack_entry *e)
{
  tally *t = arg;
  t->samples += e->count;
  for (int i = 0; i + 2 < (int)e->n; i++)
    if (fs_test_ra_in(e->pcs[i + 1], (void *)hot_caller) &&
        fs_test_ra_in(e->pcs[i + 2], (void *)main)) {
      /* The frame below hot_caller's must be in hot_loop or under it. */
      int loop_below = 0;
      for (int j = 0; j <= i; j++)
        if (fs_test_pc_in(e->pcs[j], (void *)hot_loop) ||
            fs_test_ra_in(e->pcs[j], (void *)hot_loop))
          loop_below = 1;
      if (loop_below) t->chains += e->count;
      break;
    }
  return 0;
}

int main(void)
{
  CHECK_EQ(faststack_profiler_start(1000), 0);
  hot_caller(getenv("FASTSTACK_TEST_EMULATOR") ? 3.0 : 0.5);
  CHECK_EQ(faststack_profiler_stop(), 0);
  const faststack_stack_table *t = faststack_profiler_table();
  CHECK(t != NULL);
  tally y = {0, 0};
  if (t) faststack_stack_table_foreach(t, visit, &y);
  fprintf(stderr,
          "test_profiler: %llu samples, %llu through hot_loop > "
          "hot_caller > main\n",
          (unsigned long long)y.samples, (unsigned long long)y.chains);
  CHECK(y.samples >= 10);
  CHECK(y.chains * 2 >= y.samples); /* most samples are in the loop */
  return CHECK_DONE("test_profiler");
}
