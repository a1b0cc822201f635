/* fuzz_annotate — the source line provider on arbitrary file contents:
 * any bytes, any line number, width and tab width. The file is a memfd,
 * opened by path through /proc/self/fd like any source file. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "faststack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 4) return 0;
  int line = (data[0] | data[1] << 8) % 5000 + 1;
  int width = data[2] % 200 + 1;
  int shown = width < 8 ? 8 : width; /* the provider's minimum */
  int tab = data[3] % 20;
  int fd = memfd_create("src", MFD_CLOEXEC);
  if (fd < 0) return 0;
  if (write(fd, data + 4, size - 4) != (ssize_t)(size - 4)) {
    close(fd);
    return 0;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  faststack_sources_options o = {.width = width, .tab_width = tab};
  faststack_sources *s = faststack_sources_create(&o);
  faststack_frame f[3];
  memset(f, 0, sizeof f);
  for (int i = 0; i < 3; i++) {
    f[i].file = path;
    f[i].line = line + i * 7;
  }
  faststack_source_line out[3], ctx[16];
  char buf[8192];
  faststack_annotate(s, f, 3, out, buf, sizeof buf);
  for (int i = 0; i < 3; i++)
    if (out[i].text && strlen(out[i].text) > (size_t)shown * 4 + 3)
      __builtin_trap(); /* the width bound must hold */
  faststack_annotate_context(s, &f[0], data[0] % 8, ctx, 16, buf, sizeof buf);
  faststack_sources_free(s);
  close(fd);
  return 0;
}
