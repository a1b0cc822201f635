/* test_trace.c — the whole pipeline on a known program: capture ->
 * symbolize -> annotate -> format. Asserts exact functions, files, lines
 * (recorded with __LINE__ at each call), function offsets against the
 * symbol table, inline frames of an always_inline function, the source
 * text (read independently here), and each format byte for byte. */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"
#include "fs_testutil.h"

/* Records the line of the call on the same line as the call. */
#define AT(var, call)                                                          \
  do {                                                                         \
    var = __LINE__;                                                            \
    call;                                                                      \
  } while (0)

uintptr_t pcs[64];
int npcs;
int line_l3, line_l2, line_l1, line_inl, line_main;
volatile int sink;
int main(void);

__attribute__((noinline)) void level3(void)
{
  AT(line_l3, npcs = faststack_capture(pcs, 64, 0));
  sink++;
}

static inline __attribute__((always_inline)) void inlined_step(void)
{
  AT(line_inl, level3());
}

__attribute__((noinline)) void level2(void)
{
  AT(line_l2, inlined_step());
  sink++;
}

__attribute__((noinline)) void level1(void)
{
  AT(line_l1, level2());
  sink++;
}

/* The text of line n of this file, read independently of faststack. */
static const char *source_line(int n)
{
  static char buf[512];
  FILE *f = fopen(__FILE__, "r");
  if (!f) return "";
  for (int i = 1; fgets(buf, sizeof buf, f); i++)
    if (i == n) {
      buf[strcspn(buf, "\n")] = '\0';
      fclose(f);
      return buf;
    }
  fclose(f);
  return "";
}

static char *abs_file(void)
{
  static char p[PATH_MAX];
  if (!realpath(__FILE__, p)) return (char *)__FILE__;
  return p;
}

static faststack_frame fr[64];
static char strs[16384];
static int nfr;

static void symbolize_capture(void)
{
  faststack_symbolizer *s = faststack_default_symbolizer();
  CHECK(s != NULL);
  nfr = 0;
  /* The first four PCs: level3, level2 (with the inlined step), level1,
   * main; each gets its own slice of the string buffer. */
  for (int i = 0; i < 4 && i < npcs; i++) {
    int k =
        faststack_symbolize(s, pcs[i], 0, fr + nfr, 8, strs + i * 4096, 4096);
    CHECK(k >= 1);
    nfr += k;
  }
}

static void check_frame(int i, const char *fn, int line, int inlined,
                        const void *phys)
{
  CHECK_STREQ(fr[i].function, fn);
  CHECK_STREQ(fr[i].file, abs_file());
  CHECK_EQ(fr[i].line, line);
  CHECK_EQ(fr[i].inlined, inlined);
  CHECK_EQ(fr[i].source, FASTSTACK_SRC_DWARF);
  uintptr_t lo = 0, hi = 0;
  CHECK(fs_test_func_range(phys, &lo, &hi));
  /* The offset in the physical function, of the call instruction. */
  CHECK_EQ(fr[i].function_offset, fr[i].pc - 1 - lo);
  CHECK(fr[i].module && strstr(fr[i].module, "test_trace"));
}

static void test_symbolize(void)
{
  CHECK(npcs >= 4);
  CHECK_EQ(nfr, 5);
  check_frame(0, "level3", line_l3, 0, (void *)level3);
  check_frame(1, "inlined_step", line_inl, 1, (void *)level2);
  check_frame(2, "level2", line_l2, 0, (void *)level2);
  check_frame(3, "level1", line_l1, 0, (void *)level1);
  check_frame(4, "main", line_main, 0, (void *)main);
  /* A PC in no module: one unknown frame. */
  faststack_frame u[2];
  char b[256];
  CHECK_EQ(faststack_symbolize(faststack_default_symbolizer(), 16, 0, u, 2, b,
                               sizeof b),
           1);
  CHECK(u[0].function == NULL && u[0].file == NULL && u[0].line == 0);
  CHECK(u[0].module == NULL);
  /* Bad arguments. */
  CHECK(faststack_symbolize(NULL, pcs[0], 0, u, 2, b, sizeof b) < 0);
  CHECK(faststack_symbolize(faststack_default_symbolizer(), pcs[0], 0, u, 0, b,
                            sizeof b) < 0);
  /* A buffer too small for the strings: NULL names, never cut ones. */
  int k = faststack_symbolize(faststack_default_symbolizer(), pcs[0], 0, u, 2,
                              b, 8);
  CHECK(k >= 1 && u[0].function && !strcmp(u[0].function, "level3"));
  CHECK(u[0].file == NULL);
}

/* The expected Go-style frame of fr[i] with its source line. */
static void go_frame(char *out, size_t cap, int i)
{
  size_t n = strlen(out);
  const char *src = source_line(fr[i].line);
  while (*src == ' ') src++;
  if (fr[i].inlined)
    snprintf(out + n, cap - n, "%s(...) (inlined)\n\t%s:%d\n\t    %s\n",
             fr[i].function, fr[i].file, fr[i].line, src);
  else
    snprintf(out + n, cap - n, "%s(...)\n\t%s:%d +0x%lx\n\t    %s\n",
             fr[i].function, fr[i].file, fr[i].line,
             (unsigned long)fr[i].function_offset, src);
}

static void test_formats(void)
{
  static char got[16384], want[16384];
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  o.header = "goroutine 1 [running]:";
  o.source = 1;
  o.color = 0;
  faststack_format_trace(pcs, 4, 0, &o, got, sizeof got);
  snprintf(want, sizeof want, "goroutine 1 [running]:\n");
  for (int i = 0; i < 5; i++) go_frame(want, sizeof want, i);
  CHECK_STREQ(got, want);

  faststack_format_options_init(&o, FASTSTACK_FORMAT_GIN);
  o.source = 1;
  o.color = 0;
  o.header = "";
  faststack_format_trace(pcs, 1, 0, &o, got, sizeof got);
  const char *src = source_line(line_l3);
  while (*src == ' ') src++;
  snprintf(want, sizeof want, "%s:%d (0x%lx)\n\tlevel3: %s\n", abs_file(),
           line_l3, (unsigned long)pcs[0], src);
  CHECK_STREQ(got, want);
  /* gin has no context lines: with context asked for, it still shows
   * the frame's own line (it used to print ??? for every frame). */
  o.context = 2;
  faststack_format_trace(pcs, 1, 0, &o, got, sizeof got);
  CHECK_STREQ(got, want);
  o.context = 0;

  /* JSON: the fields of the first frame, checked by a real parser. */
  faststack_format_options_init(&o, FASTSTACK_FORMAT_JSON);
  o.source = 1;
  faststack_format_trace(pcs, 2, 0, &o, got, sizeof got);
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "python3 -c 'import json,sys; t=json.load(sys.stdin); "
           "f=t[\"frames\"][0]; "
           "assert f[\"function\"]==\"level3\", f; "
           "assert f[\"line\"]==%d, f; assert f[\"file\"]==\"%s\", f; "
           "assert t[\"frames\"][1][\"function\"]==\"inlined_step\"; "
           "assert t[\"frames\"][1][\"inlined\"] is True; "
           "assert t[\"frames\"][2][\"function\"]==\"level2\"'",
           line_l3, abs_file());
  FILE *p = popen(cmd, "w");
  CHECK(p != NULL);
  if (p) {
    fputs(got, p);
    CHECK_EQ(pclose(p), 0);
  }
  /* Writing to a descriptor gives the same text as the buffer. */
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  o.header = "goroutine 1 [running]:";
  o.source = 1;
  o.color = 0;
  int fds[2];
  CHECK(pipe(fds) == 0);
  CHECK_EQ(faststack_write_trace(fds[1], pcs, 4, 0, &o), 0);
  close(fds[1]);
  size_t n = 0;
  ssize_t r;
  while ((r = read(fds[0], got + n, sizeof got - 1 - n)) > 0) n += (size_t)r;
  got[n] = '\0';
  close(fds[0]);
  want[0] = '\0';
  snprintf(want, sizeof want, "goroutine 1 [running]:\n");
  for (int i = 0; i < 5; i++) go_frame(want, sizeof want, i);
  CHECK_STREQ(got, want);
}

/* A recursion, for elision and the formatted-PC cache. */
uintptr_t deep_pcs[64];
int ndeep;

__attribute__((noinline)) int recurse(int d)
{
  if (d == 0) {
    ndeep = faststack_capture(deep_pcs, 64, 0);
    return 0;
  }
  int r = recurse(d - 1);
  sink++;
  return r + 1;
}

/* The one-call path (pieces, cache, repeated PCs) prints exactly what
 * the stages print when called one by one; from the cache, again; after
 * clearing the cache, again. */
static void test_pieces_match_stages(void)
{
  recurse(20);
  CHECK(ndeep >= 22);
  int max = 6, head = 3, tail = 3;
  static faststack_frame f[64 * 8];
  static faststack_source_line l[64 * 8];
  static char sb[64 * 4096], lb[64 * 1024], want[65536], got[65536];
  int nf = 0;
  for (int i = 0; i < ndeep; i++) {
    if (i >= head && i < ndeep - tail) continue;
    nf += faststack_symbolize(faststack_default_symbolizer(), deep_pcs[i], 0,
                              f + nf, 8, sb + i * 4096, 4096);
  }
  CHECK_EQ(
      faststack_annotate(faststack_default_sources(), f, nf, l, lb, sizeof lb),
      0);
  for (int fmt = FASTSTACK_FORMAT_GO; fmt <= FASTSTACK_FORMAT_GIN; fmt++) {
    faststack_format_options o;
    faststack_format_options_init(&o, fmt);
    o.source = 1;
    o.color = 0;
    o.max_frames = max;
    o.header = "trace:";
    faststack_format_frames(f, nf, l, ndeep - max, &o, want, sizeof want);
    CHECK(strstr(want, " frames elided...") != NULL);
    CHECK(strstr(want, "recurse") != NULL);
    for (int round = 0; round < 3; round++) {
      if (round == 2) faststack_trace_cache_clear();
      faststack_format_trace(deep_pcs, ndeep, 0, &o, got, sizeof got);
      CHECK_STREQ(got, want);
    }
  }
}

/* Many threads symbolizing at once get the same answers. */
static void *worker(void *arg)
{
  (void)arg;
  for (int it = 0; it < 200; it++) {
    faststack_frame f[8];
    char b[2048];
    int k = faststack_symbolize(faststack_default_symbolizer(), pcs[0], 0, f, 8,
                                b, sizeof b);
    if (k != 1 || !f[0].function || strcmp(f[0].function, "level3") ||
        f[0].line != line_l3)
      return (void *)1;
  }
  return NULL;
}

static void test_threads(void)
{
  pthread_t t[8];
  for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < 8; i++) {
    void *r;
    pthread_join(t[i], &r);
    CHECK(r == NULL);
  }
}

/* faststack_fprint_stack goes through stdio: with stdout a pipe (fully
 * buffered), text printed before the trace comes out before it and text
 * after it after; the first frame is the caller. */
__attribute__((noinline)) void fprint_caller(void)
{
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  o.header = "";
  o.source = 0;
  o.color = 0;
  printf("before\n");
  faststack_fprint_stack(stdout, 0, &o);
  printf("after\n");
  sink++;
}

static void test_fprint(void)
{
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    setvbuf(stdout, NULL, _IOFBF, 65536);
    fprint_caller();
    fflush(stdout);
    _exit(0);
  }
  close(fds[1]);
  static char got[16384];
  size_t n = 0;
  ssize_t r;
  while ((r = read(fds[0], got + n, sizeof got - 1 - n)) > 0) n += (size_t)r;
  got[n] = '\0';
  close(fds[0]);
  int st;
  waitpid(pid, &st, 0);
  CHECK(!strncmp(got, "before\nfprint_caller(...)\n", 26));
  CHECK(n > 6 && !strcmp(got + n - 6, "after\n"));
  CHECK(strstr(got, "\nmain(...)\n") != NULL);
  CHECK_EQ(faststack_fprint_stack(NULL, 0, NULL), -1);
}

int main(void)
{
  AT(line_main, level1());
  symbolize_capture();
  test_symbolize();
  test_formats();
  test_fprint();
  test_threads();
  test_pieces_match_stages();
  return CHECK_DONE("test_trace");
}
