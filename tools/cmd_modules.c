/* cmd_modules.c — `faststack modules`: the module map as the library sees
 * it in this process; a quick check that paths and build-ids resolve. */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "faststack.h"

int cmd_modules(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  int n = faststack_modules_list(NULL, 0);
  if (n <= 0) return 1;
  faststack_module *m = calloc((size_t)n, sizeof *m);
  if (!m) return 1;
  n = faststack_modules_list(m, n);
  for (int i = 0; i < n; i++)
    printf("%016lx-%016lx bias=%016lx %s build-id=%s\n",
           (unsigned long)m[i].start, (unsigned long)m[i].end,
           (unsigned long)m[i].bias, m[i].path,
           m[i].build_id[0] ? m[i].build_id : "-");
  free(m);
  return 0;
}
