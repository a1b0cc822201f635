/* stale_prog.c — prints its own stack with source lines (Go style). The
 * test edits this file after building it and expects the frames marked
 * stale. EDIT-ME: this comment is what the test changes. */
#include <unistd.h>

#include "faststack.h"

__attribute__((noinline)) void stale_target(void)
{
  faststack_print_stack(STDOUT_FILENO, 0, NULL);
}

int main(void)
{
  stale_target();
  return 0;
}
