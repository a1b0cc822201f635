/* demo.c — one captured stack, printed three ways: Go style and gin style
 * with the source line of every frame, and raw (module, module offset and
 * build-id per frame: what a crash handler can always print, resolvable
 * offline with `faststack symbolize`). */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "faststack.h"

static void show(const char *title, const uintptr_t *pcs, int n, int format)
{
  faststack_format_options o;
  faststack_format_options_init(&o, format);
  o.source = 1;
  printf("\n-- %s:\n", title);
  fflush(stdout);
  faststack_write_trace(STDOUT_FILENO, pcs, n, 0, &o);
}

/* noinline and a use after each call keep every function a real frame. */
__attribute__((noinline)) void handle_request(int depth)
{
  uintptr_t pcs[64];
  if (depth > 0) {
    handle_request(depth - 1);
    __asm__ volatile("" ::: "memory");
    return;
  }
  int n = faststack_capture(pcs, 64, 0);
  show("Go style, annotated", pcs, n, FASTSTACK_FORMAT_GO);
  show("gin style (Recovery middleware), annotated", pcs, n,
       FASTSTACK_FORMAT_GIN);
  show("raw (module+offset, build-id)", pcs, n, FASTSTACK_FORMAT_RAW);
}

__attribute__((noinline)) void serve(void)
{
  handle_request(2);
  __asm__ volatile("" ::: "memory");
}

int main(void)
{
  serve();
  return 0;
}
