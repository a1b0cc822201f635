/* init.c — the library's version and its load-time setup.
 *
 * Work that is not async-signal-safe (getenv, readlink, dl_iterate_phdr,
 * reading the main thread's stack bounds) is done here, when the library
 * is loaded, so that the signal-safe paths later only read its results. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "unwind_fp.h"

int fs_unwind_mode = FS_UNWIND_AUTO;
const char fs_init_anchor = 0;

FASTSTACK_API const char *faststack_version(void)
{
  return FASTSTACK_VERSION_STRING;
}

FASTSTACK_API unsigned faststack_version_number(void)
{
  return FASTSTACK_VERSION_NUMBER;
}

static void read_unwind_mode(void)
{
  const char *m = getenv("FASTSTACK_UNWIND");
  if (!m || !*m || !strcmp(m, "auto")) fs_unwind_mode = FS_UNWIND_AUTO;
  else if (!strcmp(m, "fp")) fs_unwind_mode = FS_UNWIND_FP;
  else if (!strcmp(m, "cfi")) fs_unwind_mode = FS_UNWIND_CFI;
}

__attribute__((constructor)) static void fs_library_init(void)
{
  read_unwind_mode();
  fs_stack_init_main();
  fs_sigreturn_init();
  fs_modules_init();
  fs_code_ranges_init();
}
