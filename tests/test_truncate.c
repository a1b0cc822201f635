/* test_truncate.c — a file the symbolizer has mapped is truncated in
 * place while it is read: the process must live on, and every answer is
 * the right one or unknown, never a wrong one. A copy of this test's own
 * executable (built with DWARF) is symbolized, truncated to one page,
 * then asked about every function of the test; the answers are compared
 * with a symbolizer reading the untouched executable. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"

#define KEEP() __asm__ volatile("" ::: "memory")

__attribute__((noinline)) int trunc_one(int x)
{
  KEEP();
  return x * 3 + 1;
}
__attribute__((noinline)) int trunc_two(int x)
{
  KEEP();
  return trunc_one(x) + 2;
}

static int copy_file(const char *from, const char *to)
{
  int in = open(from, O_RDONLY),
      out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  char buf[65536];
  ssize_t n;
  int ok = in >= 0 && out >= 0;
  while (ok && (n = read(in, buf, sizeof buf)) > 0)
    ok = write(out, buf, (size_t)n) == n;
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  return ok ? 0 : -1;
}

/* The module-relative address of a function of ours (PIE: minus the
 * load bias). */
static uintptr_t rel(void *fn)
{
  faststack_module m;
  return faststack_module_find((uintptr_t)fn, &m) ? (uintptr_t)fn - m.bias : 0;
}

static void compare(faststack_symbolizer *got, faststack_symbolizer *ref,
                    uintptr_t a, int *known)
{
  faststack_frame g[8], r[8];
  char gs[4096], rs[4096];
  int ng = faststack_symbolize(got, a, FASTSTACK_PC_EXACT, g, 8, gs, sizeof gs);
  int nr = faststack_symbolize(ref, a, FASTSTACK_PC_EXACT, r, 8, rs, sizeof rs);
  CHECK(ng >= 1 && nr >= 1);
  if (ng < 1 || nr < 1 || !g[0].function) return;
  (*known)++;
  /* Known: then right. */
  CHECK(r[0].function && !strcmp(g[0].function, r[0].function));
  CHECK_EQ(g[0].line, r[0].line);
}

int main(void)
{
  char self[4096], path[4200];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return 77;
  self[n] = '\0';
  const char *tmp = getenv("TMPDIR");
  snprintf(path, sizeof path, "%s/faststack-trunc-%d", tmp ? tmp : "/tmp",
           (int)getpid());
  CHECK_EQ(copy_file(self, path), 0);
  const char *err = NULL;
  faststack_symbolizer *got = faststack_symbolizer_open(path, NULL, &err);
  faststack_symbolizer *ref = faststack_symbolizer_open(self, NULL, &err);
  CHECK(got && ref);
  if (!got || !ref) return CHECK_DONE("test_truncate");
  uintptr_t a1 = rel((void *)trunc_one), a2 = rel((void *)trunc_two);
  int known = 0;
  compare(got, ref, a1, &known); /* some pages are in now */
  CHECK_EQ(known, 1);

  /* In place, as `cp other file` or a writer would: the mapping's pages
   * past the first are gone. */
  int fd = open(path, O_WRONLY);
  CHECK(fd >= 0 && ftruncate(fd, 4096) == 0);
  if (fd >= 0) close(fd);

  known = 0;
  for (uintptr_t a = a1; a < a1 + 64; a++) compare(got, ref, a, &known);
  for (uintptr_t a = a2; a < a2 + 64; a++) compare(got, ref, a, &known);
  /* main and the rest of the file: pages never touched before. */
  uintptr_t am = rel((void *)main);
  for (uintptr_t a = am; a < am + 256; a += 7) compare(got, ref, a, &known);
  printf("after the truncation: %d of the answers known (and right)\n", known);

  /* Opening it now: a one-page file, read cleanly or refused. */
  faststack_symbolizer *again = faststack_symbolizer_open(path, NULL, &err);
  if (again) compare(again, ref, a1, &known);
  faststack_symbolizer_free(again);
  faststack_symbolizer_free(got);
  faststack_symbolizer_free(ref);
  unlink(path);
  return CHECK_DONE("test_truncate");
}
