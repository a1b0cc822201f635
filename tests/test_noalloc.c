/* test_noalloc.c — "no allocation once warm", counted: malloc, calloc and
 * realloc are wrapped in this executable (the library is linked in
 * statically, so its calls come here too). After one warm-up, symbolizing
 * a stack, annotating it and formatting it in every format allocate
 * nothing; a capture never does. And the cold source path allocates
 * exactly what its memory model says. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
static volatile long allocs;
void *malloc(size_t n)
{
  allocs++;
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
  allocs++;
  return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
  allocs++;
  return __libc_realloc(p, n);
}
void free(void *p)
{
  __libc_free(p);
}

static uintptr_t pcs[64];
static int npcs;
volatile int sink;

__attribute__((noinline)) void inner(void)
{
  npcs = faststack_capture(pcs, 64, 0);
  sink++;
}

__attribute__((noinline)) void outer(void)
{
  inner();
  sink++;
}

static char out[65536];

static void round_trip(void)
{
  faststack_frame fr[256];
  faststack_source_line lines[256];
  static char strs[64 * 1024], text[64 * 1024];
  int nf = 0;
  for (int i = 0; i < npcs; i++)
    nf += faststack_symbolize(faststack_default_symbolizer(), pcs[i], 0,
                              fr + nf, 4, strs + i * 1024, 1024);
  faststack_annotate(faststack_default_sources(), fr, nf, lines, text,
                     sizeof text);
  for (int f = FASTSTACK_FORMAT_GO; f <= FASTSTACK_FORMAT_RAW; f++) {
    faststack_format_options o;
    faststack_format_options_init(&o, f);
    o.source = 1;
    o.color = 0;
    faststack_format_frames(fr, nf, lines, 0, &o, out, sizeof out);
    faststack_format_trace(pcs, npcs, 0, &o, out, sizeof out);
  }
}

/* A cold provider, counted: the provider is one allocation (its first
 * hash buckets are inside it), a file record one (the name inside it; a
 * file found where the frame says needs no path copy), a call that reads
 * takes one read buffer (then kept as the provider's spare), and each
 * distinct line is one cache entry, rendered into it. */
static void cold_counts(void)
{
  char p1[] = "/tmp/fs_noalloc_XXXXXX", p2[] = "/tmp/fs_noalloc_XXXXXX";
  int fd1 = mkstemp(p1), fd2 = mkstemp(p2);
  CHECK(fd1 >= 0 && fd2 >= 0);
  CHECK_EQ(write(fd1, "one\ntwo\nthree\n", 14), 14);
  CHECK_EQ(write(fd2, "other\n", 6), 6);
  close(fd1);
  close(fd2);
  faststack_frame f[3] = {{0}};
  f[0].file = f[1].file = f[2].file = p1;
  f[0].line = f[1].line = 2; /* a repeat shares its line's entry */
  f[2].line = 3;
  faststack_frame g = f[0];
  g.file = p2;
  g.line = 1;
  faststack_source_line out[3];
  char text[256];
  /* Not from the environment: its search roots would be allocations. */
  faststack_sources_options o = {.source_path = "", .source_map = ""};
  long a = allocs;
  faststack_sources *s = faststack_sources_create(&o);
  CHECK(s != NULL);
  CHECK_EQ(allocs - a, 1);
  a = allocs;
  faststack_annotate(s, f, 3, out, text, sizeof text);
  CHECK_EQ(allocs - a, 4); /* record, read buffer, 2 lines */
  CHECK_STREQ(out[1].text, "two");
  CHECK_STREQ(out[2].text, "three");
  a = allocs;
  faststack_annotate(s, &g, 1, out, text, sizeof text);
  CHECK_EQ(allocs - a, 2); /* record, 1 line: the spare buffer is reused */
  CHECK_STREQ(out[0].text, "other");
  a = allocs;
  faststack_annotate(s, f, 3, out, text, sizeof text);
  CHECK_EQ(allocs - a, 0); /* warm */
  faststack_sources_stats st;
  faststack_sources_get_stats(s, &st);
  CHECK_EQ(st.opens, 2);
  faststack_sources_free(s);
  unlink(p1);
  unlink(p2);
}

int main(void)
{
  cold_counts();
  long before = allocs;
  outer();
  CHECK_EQ(allocs, before); /* capture: never */
  CHECK(npcs >= 3);
  long warm = 0;
  for (int i = 0; i < 101; i++) {
    /* One call site for every round, so every round asks for the same
     * lines; the first round warms up (opens files, decodes units, grows
     * the scratch). */
    if (i == 1) warm = allocs;
    outer();
    round_trip();
  }
  CHECK_EQ(allocs - warm, 0);
  return CHECK_DONE("test_noalloc");
}
