/* big.c — the 6 MB program of bench_crash: the symbolize benchmark's
 * generated corpus (10,000 functions with inlined helpers, gcc -O2 -g)
 * linked in, and a crash three calls deep.
 *   crash_big install   prints the install's time (ns) and the RSS it
 *                       added (KiB) as "install NS KB"
 *   crash_big crash     (linked) installs, then faults; (plain) faults
 * Just before the fault it writes CLOCK_MONOTONIC in ns to descriptor 3
 * (when open), so the benchmark can time the report from the fault. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef LINKED
#include "faststack.h"
#endif

extern int (*const corpus_fns[])(int);
extern const int corpus_count;

#define KEEP() __asm__ volatile("" ::: "memory")

static volatile int *volatile null_ptr;

static long long now_ns(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

#ifdef LINKED
static long rss_kb(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
  if (f) fclose(f);
  return kb;
}
#endif

__attribute__((noinline)) void big_fault(int v)
{
  char msg[32];
  int n = snprintf(msg, sizeof msg, "%lld\n", now_ns());
  if (write(3, msg, (size_t)n) < 0) {
    /* no timing descriptor: fine */
  }
  *null_ptr = v;
  KEEP();
}

__attribute__((noinline)) void big_b(int v)
{
  big_fault(corpus_fns[v % corpus_count](v));
  KEEP();
}

__attribute__((noinline)) void big_a(int v)
{
  big_b(v + 1);
  KEEP();
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "";
#ifdef LINKED
  if (!strcmp(mode, "install")) {
    long before = rss_kb();
    long long t0 = now_ns();
    int rc = faststack_crash_install(NULL);
    long long t1 = now_ns();
    printf("install %lld %ld %d\n", t1 - t0, rss_kb() - before, rc);
    return 0;
  }
  faststack_crash_install(NULL);
#endif
  if (!strcmp(mode, "crash")) big_a(argc);
  return 0;
}
