/* crash_plain.c — an ordinary program, not linked with faststack, run
 * through `faststack run` by crash_driver.py:
 *   crash_plain null             NULL store in the main thread
 *   crash_plain overflow_thread  stack overflow in a thread it creates
 *                                (the preload gives the thread an
 *                                alternate signal stack) */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define KEEP() __asm__ volatile("" ::: "memory")
/* Leaf functions that touch no stack get no frame pointer from gcc even
 * with -mno-omit-leaf-frame-pointer; a frameless leaf loses its caller
 * under the frame-pointer rule (that is the CFI unwinder's case, tested
 * with the faults inside libc). A stack slot gives these leaves a frame. */
#define FRAME()                                                                \
  volatile char frame_[16];                                                    \
  frame_[0] = 0;                                                               \
  frame_[1] = frame_[0];                                                       \
  KEEP()

/* Never reached: a base case keeps the compiler from rejecting the
 * deliberate unbounded recursion. */
static volatile int never = -1;

static volatile int *volatile null_ptr;

__attribute__((noinline)) void plain_store(volatile int *p)
{
  FRAME();
  *p = 1; /* FAULT:plain */
  KEEP();
}

__attribute__((noinline)) void plain_run(void)
{
  plain_store(null_ptr);
  KEEP();
}

__attribute__((noinline)) int plain_recurse(int depth)
{
  if (depth == never) return 0;
  volatile char frame[512];
  frame[0] = (char)depth; /* FAULT:plain_overflow */
  /* The call may be what faults: it pushes onto the next page. */
  int r = plain_recurse(depth + 1) + frame[0]; /* FAULT:plain_overflow_call */
  KEEP();
  return r;
}

__attribute__((noinline)) void *plain_thread(void *arg)
{
  (void)arg;
  plain_recurse(0);
  KEEP();
  return NULL;
}

int main(int argc, char **argv)
{
  if (argc > 1 && !strcmp(argv[1], "reexec")) {
    char *args[] = {argv[0], "null", NULL};
    execv("/proc/self/exe", args);
    return 3;
  }
  if (argc > 1 && !strcmp(argv[1], "overflow_thread")) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 * 1024);
    pthread_create(&t, &a, plain_thread, NULL);
    pthread_join(t, NULL);
    return 0;
  }
  plain_run();
  KEEP();
  return 0;
}
