/* A program using the installed faststack, as a user would. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <faststack.h>

int main(void)
{
  uintptr_t pcs[32];
  int n = faststack_capture(pcs, 32, 0);
  faststack_module m;
  int found = n > 0 && faststack_module_find(pcs[0] - 1, &m);
  printf("faststack %s: %d frames, first in %s\n", faststack_version(), n,
         found ? m.path : "?");
  return n > 0 && found &&
                 !strcmp(faststack_version(), FASTSTACK_VERSION_STRING)
             ? 0
             : 1;
}
