/* libcfitest_fp.c — the same as libcfitest.c's function, built with frame
 * pointers (cfi.cmake): frames whose CFI is the frame-pointer rule, which
 * the warm loop steps by the tag check alone. */
typedef void (*cfitest_fn)(void);

__attribute__((visibility("default"), noinline)) int
cfitest_call_fp(cfitest_fn fn, int depth)
{
  if (depth <= 0) {
    fn();
    return 1;
  }
  int r = cfitest_call_fp(fn, depth - 1);
  __asm__ volatile("" : "+r"(r)); /* no tail call: keep the frame */
  return r + 1;
}
