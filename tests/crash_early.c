/* crash_early.c — programs that crash in their first millisecond, built
 * the way programs are built (-O2: no frame pointers), for
 * crash_driver.py's early_* cases:
 *   crash_early CASE
 * Built three ways from this file: linked with the static library
 * (LINKED: faststack_crash_install(NULL) is main's first statement, so
 * the handler has its defaults), with the shared library (LINKED, too),
 * and not linked at all (under `faststack run`, whose preload installs
 * the handler before main).
 *
 * Every faulting statement carries a marker comment "FAULT:CASE"; the
 * functions are noinline and every call is followed by a compiler
 * barrier, so each call stays a call (no inlining, no tail call) and the
 * expected chains hold at -O2. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef LINKED
#include "faststack.h"
#endif

#define KEEP() __asm__ volatile("" ::: "memory")
/* Each function a frame of its own: no inlining, and (gcc) no clones
 * or interprocedural shortcuts. */
#if defined(__GNUC__) && !defined(__clang__)
#define NOINLINE __attribute__((noinline, noipa))
#else
#define NOINLINE __attribute__((noinline))
#endif

static const char *volatile null_str;
static volatile int never = -1;

/* ---- a NULL strlen three calls deep */
NOINLINE size_t early_strlen_c(const char *s)
{
  size_t n = strlen(s); /* FAULT:early_strlen */
  KEEP();
  return n;
}
NOINLINE size_t early_strlen_b(const char *s)
{
  size_t n = early_strlen_c(s) + 1;
  KEEP();
  return n;
}
NOINLINE size_t early_strlen_a(const char *s)
{
  size_t n = early_strlen_b(s) + 1;
  KEEP();
  return n;
}
NOINLINE void case_strlen3(void)
{
  printf("%zu\n", early_strlen_a(null_str));
  KEEP();
}

/* ---- abort() in a qsort comparator */
NOINLINE int early_compare(const void *a, const void *b)
{
  int x = *(const int *)a, y = *(const int *)b;
  if (x == 3) abort(); /* FAULT:early_qsort */
  KEEP();
  return x - y;
}
NOINLINE void case_qsort_abort(void)
{
  int v[16];
  for (int i = 0; i < 16; i++) v[i] = 16 - i;
  qsort(v, 16, sizeof v[0], early_compare);
  KEEP();
}

/* ---- glibc's double-free abort */
NOINLINE void early_free_twice(char *p)
{
  char *volatile again = p;
  free(p);
  free(again); /* FAULT:early_double_free */
  KEEP();
}
NOINLINE void case_double_free(void)
{
  char *volatile p = malloc(32);
  early_free_twice(p);
  KEEP();
}

/* ---- six threads faulting at once */
static pthread_barrier_t barrier6;
static volatile int *volatile null_int;
NOINLINE void early_thread_fault(int k)
{
  null_int[k] = k; /* FAULT:early_threads */
  KEEP();
}
NOINLINE void *early_thread_main(void *arg)
{
#ifdef LINKED
  faststack_crash_thread_init();
#endif
  pthread_barrier_wait(&barrier6);
  early_thread_fault((int)(long)arg);
  KEEP();
  return NULL;
}
NOINLINE void case_threads6(void)
{
  pthread_t t[6];
  pthread_barrier_init(&barrier6, NULL, 6);
  for (long i = 0; i < 6; i++)
    pthread_create(&t[i], NULL, early_thread_main, (void *)i);
  for (int i = 0; i < 6; i++) pthread_join(t[i], NULL);
  KEEP();
}

/* ---- stack overflow by recursion in frameless code, main thread and
 * another thread */
NOINLINE int early_recurse(int depth)
{ /* FAULT:early_overflow_entry */
  if (depth == never) return 0;
  volatile char frame[1000];
  frame[0] = (char)depth; /* FAULT:early_overflow */
  /* The call may be what faults: it pushes onto the next page. */
  int r = early_recurse(depth + 1) + frame[0]; /* FAULT:early_overflow_call */
  KEEP();
  return r;
}
NOINLINE void case_overflow(void)
{
  printf("%d\n", early_recurse(0));
  KEEP();
}
NOINLINE void *early_overflow_main(void *arg)
{
  (void)arg;
#ifdef LINKED
  faststack_crash_thread_init();
#endif
  printf("%d\n", early_recurse(0));
  KEEP();
  return NULL;
}
NOINLINE void case_overflow_thread(void)
{
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, 256 * 1024);
  pthread_create(&t, &a, early_overflow_main, NULL);
  pthread_join(t, NULL);
  KEEP();
}

/* ---- a child process crashes; the parent goes on and exits 0 */
NOINLINE void case_child(void)
{
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    case_strlen3();
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  printf("child ended by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
  fflush(stdout);
  exit(0);
}

int main(int argc, char **argv)
{
#ifdef LINKED
  if (faststack_crash_install(NULL) != 0) return 4;
#endif
  const char *c = argc > 1 ? argv[1] : "";
  if (!strcmp(c, "strlen3")) case_strlen3();
  else if (!strcmp(c, "qsort_abort")) case_qsort_abort();
  else if (!strcmp(c, "double_free")) case_double_free();
  else if (!strcmp(c, "threads6")) case_threads6();
  else if (!strcmp(c, "overflow")) case_overflow();
  else if (!strcmp(c, "overflow_thread")) case_overflow_thread();
  else if (!strcmp(c, "child")) case_child();
  else if (!strcmp(c, "ok")) return 0;
  else return 2;
  KEEP();
  return 3;
}
