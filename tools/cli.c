/* cli.c — usage errors, numbers and preload objects for the subcommands
 * (cli.h). */
#define _GNU_SOURCE 1
#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "faststack %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see 'faststack help %s')\n", cmd);
  return 2;
}

int cli_int(const char *cmd, const char *opt, const char *v, long lo, long hi,
            int *out)
{
  char *end;
  errno = 0;
  long n = v ? strtol(v, &end, 10) : 0;
  if (!v || !*v || *end || errno)
    return cli_usage_error(cmd, "%s needs a number from %ld to %ld, not '%s'",
                           opt, lo, hi, v ? v : "");
  if (n < lo || n > hi)
    return cli_usage_error(cmd, "%s %ld is out of range: %ld to %ld", opt, n,
                           lo, hi);
  *out = (int)n;
  return 0;
}

static int usable(const char *path, char *out, size_t cap)
{
  char real[PATH_MAX];
  if (access(path, R_OK) != 0 || !realpath(path, real)) return -1;
  snprintf(out, cap, "%s", real);
  return 0;
}

int cli_find_preload(const char *name, const char *rel, char *out, size_t cap)
{
  char path[PATH_MAX + 256];
  const char *dir = getenv("FASTSTACK_PRELOAD_DIR");
  if (dir && *dir) {
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return usable(path, out, cap);
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = 0;
  char *here = dirname(exe);
  snprintf(path, sizeof path, "%s/%s", here, name);
  if (usable(path, out, cap) == 0) return 0;
  snprintf(path, sizeof path, "%s/%s", here, rel);
  return usable(path, out, cap);
}
