/* stale_prog.c — prints its own stack with source lines (Go style), or,
 * with the argument "crash", dies of SIGSEGV under the crash handler. The
 * tests edit this file after building it and expect the frames marked
 * stale. EDIT-ME: this comment is what the test changes. */
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "faststack.h"

__attribute__((noinline)) void stale_target(void)
{
  faststack_print_stack(STDOUT_FILENO, 0, NULL);
}

/* A real fault: UBSan's null check (in the sanitizer build) would end the
 * process before the CPU faults, so it does not check it. */
__attribute__((noinline, no_sanitize("undefined"))) void stale_crash(void)
{
  volatile int *volatile p = NULL; /* a store the compiler keeps */
  *p = 1;
}

int main(int argc, char **argv)
{
  if (argc > 1 && !strcmp(argv[1], "crash")) {
    faststack_crash_install(NULL);
    stale_crash();
  }
  stale_target();
  return 0;
}
