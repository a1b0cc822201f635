/* test_static.c — a statically linked executable (glibc -static, or
 * musl): capture of frames known by construction, symbolization of the
 * executable itself, and the linked-in crash handler (a subprocess that
 * faults must print a report naming its functions and die by SIGSEGV). */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"
#include "modules/modules.h"

#define KEEP() __asm__ volatile("" ::: "memory")

__attribute__((noinline)) int static_leaf(uintptr_t *pcs, int max)
{
  int n = faststack_capture(pcs, max, 0);
  KEEP();
  return n;
}

__attribute__((noinline)) int static_middle(uintptr_t *pcs, int max)
{
  int n = static_leaf(pcs, max);
  KEEP();
  return n;
}

/* The function name the symbolizer gives pc (a return address). */
static const char *name_of(faststack_symbolizer *s, uintptr_t pc, char *buf,
                           size_t cap)
{
  faststack_frame f[8];
  int n = faststack_symbolize(s, pc, 0, f, 8, buf, cap);
  return n > 0 && f[n - 1].function ? f[n - 1].function : "";
}

static void test_capture_symbolize(void)
{
  uintptr_t pcs[64];
  int n = static_middle(pcs, 64);
  CHECK(n >= 3);
  faststack_symbolizer *s = faststack_symbolizer_create(NULL);
  CHECK(s != NULL);
  if (!s || n < 3) return;
  char b0[512], b1[512], b2[512];
  CHECK_STREQ(name_of(s, pcs[0], b0, sizeof b0), "static_leaf");
  CHECK_STREQ(name_of(s, pcs[1], b1, sizeof b1), "static_middle");
  CHECK_STREQ(name_of(s, pcs[2], b2, sizeof b2), "test_capture_symbolize");
  faststack_module m;
  CHECK_EQ(faststack_module_find(pcs[0], &m), 1);
  faststack_symbolizer_free(s);
}

static volatile int *volatile null_ptr;

__attribute__((noinline)) void static_fault(void)
{
  *null_ptr = 1;
  KEEP();
}

__attribute__((noinline)) void static_fault_caller(void)
{
  static_fault();
  KEEP();
}

static void test_crash(void)
{
  int p[2];
  CHECK_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 2);
    close(p[0]);
    faststack_crash_options o;
    memset(&o, 0, sizeof o);
    o.table = 1; /* names from the process itself */
    if (faststack_crash_install(&o) != 0) _exit(3);
    if (!faststack_crash_table_wait(60000)) _exit(5);
    static_fault_caller();
    _exit(4);
  }
  close(p[1]);
  static char out[65536];
  size_t len = 0;
  ssize_t r;
  while (len < sizeof out - 1 &&
         (r = read(p[0], out + len, sizeof out - 1 - len)) > 0)
    len += (size_t)r;
  out[len] = '\0';
  close(p[0]);
  int st = 0;
  CHECK_EQ(waitpid(pid, &st, 0), pid);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
  CHECK(strstr(out, "fatal signal SIGSEGV") != NULL);
  const char *a = strstr(out, "static_fault(");
  const char *b = strstr(out, "static_fault_caller(");
  CHECK(a && b && a < b);
  if (!(a && b && a < b)) fprintf(stderr, "report:\n%s\n", out);
}

int main(void)
{
  /* No _dl_find_object to look up in a static executable. */
  CHECK(fs_objects_snapshot_mode());
  test_capture_symbolize();
  test_crash();
  return CHECK_DONE("test_static");
}
