/* cmd_modules.c — `faststack modules`: the module map as the library sees
 * it in this process; a quick check that paths and build-ids resolve. It
 * reads its own process only (the library maps the caller's modules), so
 * it takes no arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "faststack.h"

static void usage(FILE *f)
{
  fprintf(f, "usage: faststack modules\n"
             "Lists the modules (executable, shared libraries, vDSO) "
             "loaded in the\nfaststack command itself, as the library sees "
             "them: address range, load\nbias, path and build-id. A quick "
             "check that the module map works here.\n"
             "  -h, --help   this text\n");
}

int cmd_modules(int argc, char **argv)
{
  if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
    usage(stdout);
    return 0;
  }
  if (argc > 1)
    return cli_usage_error("modules",
                           "takes no arguments, not '%s' (it lists its own "
                           "process's modules)",
                           argv[1]);
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
