/* A library test_dlclose_race loads and unloads in a loop: its function
 * calls back, so captures taken in the callback hold PCs inside it. */
__attribute__((visibility("default"), noinline)) void
race_lib_call(void (*cb)(void *), void *arg)
{
  cb(arg);
  __asm__ volatile("" ::: "memory"); /* not a tail call */
}
