/* test_noalloc.c — "no allocation once warm", counted: malloc, calloc and
 * realloc are wrapped in this executable (the library is linked in
 * statically, so its calls come here too). After one warm-up, symbolizing
 * a stack, annotating it and formatting it in every format allocate
 * nothing; a capture never does. */
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
void *malloc(size_t n) { allocs++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { allocs++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { allocs++; return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }

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

int main(void)
{
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
