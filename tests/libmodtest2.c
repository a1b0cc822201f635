/* Another library for test_symbolize's reload test: loaded from the same
 * path as libmodtest after it is unloaded, usually at the same address,
 * with other functions there. */
__attribute__((noinline)) static int pad(int x)
{
  volatile int v = x;
  for (int i = 0; i < 8; i++) v = v * 7 + i;
  return v;
}

__attribute__((visibility("default"), noinline)) int other_function(int x)
{
  return pad(x) * 5 + 2;
}
