/* libcfitest.c — frames in an object that is neither the executable nor
 * libc, built without frame pointers, for test_cfi: the walk validates
 * such return addresses by their cached rules, not by the two objects'
 * ranges it knows. */
typedef void (*cfitest_fn)(void);

__attribute__((visibility("default"), noinline)) int
cfitest_call(cfitest_fn fn, int depth)
{
  if (depth <= 0) {
    fn();
    return 1;
  }
  int r = cfitest_call(fn, depth - 1);
  __asm__ volatile("" : "+r"(r)); /* no tail call: keep the frame */
  return r + 1;
}
