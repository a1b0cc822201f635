/* demo.c — capture the calling thread's stack and print it raw: module,
 * module offset and build-id per frame. Paste the output into
 * `faststack symbolize` (or addr2line -e MODULE OFFSET) to resolve it. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "faststack.h"

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
  printf("captured %d frames:\n", n);
  fflush(stdout);
  faststack_write_raw(STDOUT_FILENO, pcs, n, 0);
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
