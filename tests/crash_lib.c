/* crash_lib.c — a library that faults, loaded with dlopen by
 * crash_cases' "dlopen" case. */
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

__attribute__((noinline)) void lib_fault_inner(volatile int *p)
{
  FRAME();
  *p = 7; /* FAULT:dlopen */
  KEEP();
}

__attribute__((noinline, visibility("default"))) void lib_fault(volatile int *p)
{
  lib_fault_inner(p);
  KEEP();
}
