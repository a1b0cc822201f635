/* libcfitest.c — frames in an object that is neither the executable nor
 * libc, for test_cfi: the walk validates such return addresses by their
 * cached rules, not by the two objects' ranges it knows. Compiled twice
 * into the library (cfi.cmake): cfitest_call without frame pointers, and
 * as cfitest_call_fp with them (CFI that is the frame-pointer rule). */
typedef void (*cfitest_fn)(void);

__attribute__((visibility("default"), noinline)) int cfitest_call(cfitest_fn fn,
                                                                  int depth)
{
  if (depth <= 0) {
    fn();
    return 1;
  }
  int r = cfitest_call(fn, depth - 1);
  __asm__ volatile("" : "+r"(r)); /* no tail call: keep the frame */
  return r + 1;
}
