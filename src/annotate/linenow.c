/* linenow.c — one source line read with nothing but open/read/close, for
 * the crash handler's FASTSTACK_CRASH_SOURCE option, and whether the file
 * is newer than its module (stat): no allocation, no lock, no cache. The provider in annotate.c is the reader for every
 * other path (cached, rendered, checked for staleness). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "annotate/annotate.h"

/* Feeds one chunk: copies line `line`'s bytes into buf. Returns 1 when
 * the line ended, -1 at a NUL byte (a binary file), 0 to go on. */
static int scan_chunk(const char *chunk, ssize_t n, int line, int *cur,
                      char *buf, size_t cap, size_t *len)
{
  for (ssize_t i = 0; i < n; i++) {
    char c = chunk[i];
    if (*cur != line) {
      if (c == '\n') (*cur)++;
      continue;
    }
    if (c == '\n') return 1;
    if (c == '\0') return -1;
    if (*len + 1 < cap) buf[(*len)++] = (unsigned char)c < 0x20 ? ' ' : c;
  }
  return 0;
}

int fs_source_line_now(const char *file, int line, char *buf, size_t cap)
{
  if (!file || line <= 0 || cap == 0) return 0;
  buf[0] = '\0';
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return 0;
  char chunk[1024];
  int cur = 1, st = 0;
  size_t len = 0;
  ssize_t n;
  while (st == 0 && (n = read(fd, chunk, sizeof chunk)) > 0)
    st = scan_chunk(chunk, n, line, &cur, buf, cap, &len);
  close(fd);
  buf[len] = '\0';
  /* A last line without a newline counts too. */
  int found = st == 1 || (st == 0 && cur == line);
  return found && len > 0;
}

int fs_source_newer_now(const char *file, const char *module)
{
  struct stat f, m;
  if (!file || !module || stat(file, &f) != 0 || stat(module, &m) != 0)
    return 0;
  return f.st_mtim.tv_sec > m.st_mtim.tv_sec ||
         (f.st_mtim.tv_sec == m.st_mtim.tv_sec &&
          f.st_mtim.tv_nsec > m.st_mtim.tv_nsec);
}
