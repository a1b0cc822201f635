/* output.c — where crash reports and signal-triggered dumps are written:
 * stderr, or the file FASTSTACK_OUTPUT names. The file is opened for each
 * report (O_APPEND: reports of several processes into one file do not
 * overwrite each other) with open(2), which is async-signal-safe. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "sinks/sinks.h"

static char output[4096]; /* "" = stderr */
_Atomic int fs_output_reporting;

void fs_output_set(const char *out)
{
  output[0] = '\0';
  if (!out || !*out || strlen(out) >= sizeof output) return;
  if (out[0] == '/') {
    strcpy(output, out);
    return;
  }
  /* Opened at crash time, so it must not depend on the cwd then. */
  if (!getcwd(output, sizeof output - 1)) {
    strcpy(output, out); /* relative, then: the best there is */
    return;
  }
  size_t l = strlen(output);
  if (l + 1 + strlen(out) < sizeof output) {
    output[l] = '/';
    strcpy(output + l + 1, out);
  } else {
    output[0] = '\0';
  }
}

int fs_output_open(void)
{
  if (!output[0]) return STDERR_FILENO;
  int fd = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  return fd >= 0 ? fd : STDERR_FILENO;
}

void fs_output_close(int fd)
{
  if (fd != STDERR_FILENO) close(fd);
}
