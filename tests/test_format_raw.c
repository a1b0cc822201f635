/* test_format_raw.c — the raw format: exact line layout, the lookup
 * offset (pc-1-bias for return addresses, pc-bias for an exact PC),
 * truncation like snprintf, and write_raw producing the same text. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"

int main(void)
{
  faststack_module m;
  uintptr_t pcs[3] = {(uintptr_t)main + 5, (uintptr_t)main + 9, 8};
  CHECK_EQ(faststack_module_find(pcs[0], &m), 1);
  char expect[4096], got[4096];
  snprintf(expect, sizeof expect,
           "#0  0x%016lx %s+0x%lx build-id=%s\n"
           "#1  0x%016lx %s+0x%lx build-id=%s\n"
           "#2  0x%016lx ??\n",
           (unsigned long)pcs[0], m.path, (unsigned long)(pcs[0] - 1 - m.bias),
           m.build_id, (unsigned long)pcs[1], m.path,
           (unsigned long)(pcs[1] - 1 - m.bias), m.build_id,
           (unsigned long)pcs[2]);
  size_t len = faststack_format_raw(pcs, 3, 0, got, sizeof got);
  CHECK_STREQ(got, expect);
  CHECK_EQ(len, strlen(expect));

  /* An exact first PC (ucontext) is not adjusted. */
  faststack_format_raw(pcs, 1, FASTSTACK_PCS_UCONTEXT, got, sizeof got);
  char off[64];
  snprintf(off, sizeof off, "+0x%lx ", (unsigned long)(pcs[0] - m.bias));
  CHECK(strstr(got, off) != NULL);

  /* Truncation: NUL-terminated, the full length returned. */
  char small[10];
  CHECK_EQ(faststack_format_raw(pcs, 3, 0, small, sizeof small),
           strlen(expect));
  CHECK_EQ(strlen(small), 9);
  CHECK(memcmp(small, expect, 9) == 0);
  CHECK_EQ(faststack_format_raw(pcs, 3, 0, NULL, 0), strlen(expect));
  CHECK_EQ(faststack_format_raw(NULL, 3, 0, got, sizeof got), 0);

  /* write_raw: the same bytes through a pipe. */
  int fd[2];
  CHECK_EQ(pipe(fd), 0);
  CHECK_EQ(faststack_write_raw(fd[1], pcs, 3, 0), 0);
  close(fd[1]);
  ssize_t r = read(fd[0], got, sizeof got - 1);
  got[r > 0 ? r : 0] = '\0';
  CHECK_STREQ(got, expect);
  CHECK_EQ(faststack_write_raw(-1, pcs, 3, 0), -1);
  return CHECK_DONE("test_format_raw");
}
