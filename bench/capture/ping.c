#include "pingpong.h"

__attribute__((noinline)) int ping(int depth, capture_fn f, uintptr_t *pcs,
                                   int max)
{
  int r = depth <= 0 ? f(pcs, max) : pong(depth - 1, f, pcs, max);
  __asm__ volatile("" : "+r"(r)); /* no tail call: keep the frame */
  return r;
}
