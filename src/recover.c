/* recover.c — faststack_recover (issue 7). Stub until recovery lands:
 * no thread is ever inside a guard. */
#include "sinks.h"

void fs_recover_on_fault(int sig, siginfo_t *si, void *uc)
{
  (void)sig;
  (void)si;
  (void)uc;
}
