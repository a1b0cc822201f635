/* A library the module-map test loads and unloads at run time. */
__attribute__((visibility("default"), noinline)) int modtest_function(int x)
{
  return x * 3 + 1;
}
