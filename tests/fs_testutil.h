/* fs_testutil.h — helpers shared by the tests: "does this PC lie inside
 * that function" using the symbol table's exact size. */
#ifndef FS_TESTUTIL_H
#define FS_TESTUTIL_H

#include <dlfcn.h>
#include <link.h>
#include <stdint.h>

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

/* Is the return address ra (looked up at ra-1) inside function fn? */
static inline int fs_test_ra_in(uintptr_t ra, const void *fn)
{
  uintptr_t lo, hi;
  return fs_test_func_range(fn, &lo, &hi) && ra - 1 >= lo && ra - 1 < hi;
}

/* Is the exact pc inside function fn? */
static inline int fs_test_pc_in(uintptr_t pc, const void *fn)
{
  uintptr_t lo, hi;
  return fs_test_func_range(fn, &lo, &hi) && pc >= lo && pc < hi;
}
#endif
