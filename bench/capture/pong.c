#include "pingpong.h"

__attribute__((noinline)) int pong(int depth, capture_fn f, uintptr_t *pcs,
                                   int max)
{
  int r = depth <= 0 ? f(pcs, max) : ping(depth - 1, f, pcs, max);
  __asm__ volatile("" : "+r"(r)); /* no tail call: keep the frame */
  return r;
}
