/* init.c — the capture stage's load-time setup.
 *
 * Work that is not async-signal-safe (getenv, reading the main thread's
 * stack bounds, finding the signal trampoline and the executable's and
 * libc's code ranges) is done here, when the library is loaded, so that
 * the signal-safe walk later only reads its results. It runs after the
 * modules stage's own setup (FS_CTOR_CAPTURE), whose module list it
 * uses. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "capture/unwind_fp.h"

int fs_unwind_mode = FS_UNWIND_AUTO;
const char fs_capture_init_anchor = 0;

static void read_unwind_mode(void)
{
  const char *m = getenv("FASTSTACK_UNWIND");
  if (!m || !*m || !strcmp(m, "auto")) fs_unwind_mode = FS_UNWIND_AUTO;
  else if (!strcmp(m, "fp")) fs_unwind_mode = FS_UNWIND_FP;
  else if (!strcmp(m, "cfi")) fs_unwind_mode = FS_UNWIND_CFI;
}

FS_CTOR_CAPTURE static void capture_init(void)
{
  read_unwind_mode();
  fs_stack_init_main();
  fs_sigreturn_init();
  fs_code_ranges_init();
}
