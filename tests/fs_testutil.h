/* fs_testutil.h — helpers shared by the tests: "does this PC lie inside
 * that function" using the symbol table's exact size. */
#ifndef FS_TESTUTIL_H
#define FS_TESTUTIL_H

#include <dlfcn.h>
#include <link.h>
#include <stdint.h>

#if defined(RTLD_DL_SYMENT)
/* [start, end) of the function containing addr, from the dynamic symbol
 * table (tests link with -rdynamic). 0 if unknown. */
static inline int fs_test_func_range(const void *fn, uintptr_t *lo,
                                     uintptr_t *hi)
{
  Dl_info info;
  const ElfW(Sym) *sym = NULL;
  if (!dladdr1(fn, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym ||
      !info.dli_saddr)
    return 0;
  *lo = (uintptr_t)info.dli_saddr;
  *hi = *lo + sym->st_size;
  return sym->st_size > 0;
}
#else
#include <pthread.h>
#include <stdlib.h>

#include "modules/modules.h"
#include "symbolize/elf.h"
/* Without dladdr1 (musl; static executables have no dynamic symbols):
 * the function's symbol from the object's own .symtab, read with the
 * library's ELF reader; the last object's table is kept (tests ask of
 * the same executable thousands of times, from many threads). */
static inline int fs_test_func_range(const void *fn, uintptr_t *lo,
                                     uintptr_t *hi)
{
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  static fs_elf e;
  static fs_symtab t;
  static uintptr_t start = 1;
  faststack_module m;
  const char *err;
  int ok = 0;
  if (!faststack_module_find((uintptr_t)fn, &m)) return 0;
  pthread_mutex_lock(&mu);
  if (start != m.start) {
    if (start != 1 && start != 0) {
      fs_symtab_free(&t);
      fs_elf_close(&e);
    }
    start = 0;
    if (fs_elf_open(&e, m.path, &err) == 0) {
      if (fs_elf_symtab(&e, &t) == 0) start = m.start;
      else fs_elf_close(&e);
    }
  }
  if (start == m.start) {
    const fs_sym *sym = fs_symtab_find(&t, (uintptr_t)fn - m.bias);
    if (sym && sym->size > 0) {
      *lo = m.bias + sym->addr;
      *hi = *lo + sym->size;
      ok = 1;
    }
  }
  pthread_mutex_unlock(&mu);
  return ok;
}
#endif

/* Is the return address ra (looked up at ra-1) inside function fn? */
__attribute__((noinline, unused)) static int fs_test_ra_in(uintptr_t ra,
                                                           const void *fn)
{
  uintptr_t lo = 0, hi = 0;
  return fs_test_func_range(fn, &lo, &hi) && ra - 1 >= lo && ra - 1 < hi;
}

/* Is the exact pc inside function fn? */
__attribute__((noinline, unused)) static int fs_test_pc_in(uintptr_t pc,
                                                           const void *fn)
{
  uintptr_t lo = 0, hi = 0;
  return fs_test_func_range(fn, &lo, &hi) && pc >= lo && pc < hi;
}
#endif
