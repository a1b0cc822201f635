/* cxxhooks.c — the C++ ABI entry points faststack interposes to see
 * every throw: __cxa_throw (a throw expression), __cxa_rethrow (`throw;`)
 * and std::rethrow_exception. Each records (exceptions.c), then passes
 * the call on to the next definition — the C++ runtime's, or another
 * interposer's — and never returns, like the function it stands for.
 *
 * These three are the only exported names of the library that do not
 * start with faststack_: interposition works by name. They are found
 * first because of where they are defined:
 *   - the `faststack run` preload: LD_PRELOAD objects come before the
 *     program's libraries;
 *   - libfaststack.so: a program's own libraries are searched before
 *     libstdc++.so, which g++ adds last;
 *   - the static library: this object is pulled into the executable by
 *     the program's own references to __cxa_throw (any throw expression),
 *     and the executable is searched first; its definitions are exported
 *     because libstdc++.so defines the same names, so libstdc++'s own
 *     throws (std::vector::at) and other libraries' throws come here too.
 *     A program that throws nothing itself links with
 *     -Wl,--undefined=__cxa_throw (docs/exceptions.md).
 * The definitions are weak so that a program linking libstdc++
 * statically keeps libstdc++'s own (then nothing is recorded, and
 * nothing breaks). */
#define _GNU_SOURCE
#include <stdlib.h>

#include "sinks/sinks.h"

#define FS_INTERPOSE                                                           \
  __attribute__((weak, visibility("default"), noinline, noreturn))

/* Frames between the thrower and the recording call: the interposer. */
#define FS_HOOK_SKIP 1

FS_INTERPOSE void __cxa_throw(void *obj, void *type, void (*dest)(void *))
{
  const fs_cxx_next *next = fs_cxx_next_fns();
  fs_terminate_retry();
  if (next->cxa_throw) {
    dest = fs_exc_on_throw(obj, dest, FS_HOOK_SKIP);
    next->cxa_throw(obj, type, dest);
  }
  /* No C++ runtime to throw with: what std::terminate would do. */
  abort();
}

FS_INTERPOSE void __cxa_rethrow(void)
{
  const fs_cxx_next *next = fs_cxx_next_fns();
  if (next->cxa_rethrow) {
    fs_exc_on_rethrow(NULL, FS_HOOK_SKIP);
    next->cxa_rethrow();
  }
  abort();
}

/* std::rethrow_exception(std::exception_ptr): the exception_ptr is a
 * class with a non-trivial copy, so the Itanium ABI passes it by
 * address; its one member is the primary exception object. */
FS_INTERPOSE void fs_rethrow_exception(void **ep) __asm__(
    "_ZSt17rethrow_exceptionNSt15__exception_ptr13exception_ptrE");

FS_INTERPOSE void fs_rethrow_exception(void **ep)
{
  const fs_cxx_next *next = fs_cxx_next_fns();
  if (next->rethrow_exception) {
    fs_exc_on_rethrow(ep ? *ep : NULL, FS_HOOK_SKIP);
    next->rethrow_exception(ep);
  }
  abort();
}

#ifdef FS_CXX_RUNTIME_PULL
/* The static library's copy of this object references a function of each
 * libstdc++ object that defines the interposed names. With libstdc++.so
 * these resolve there and cost nothing. With libstdc++ linked statically
 * they pull those objects in, whose strong definitions replace the weak
 * ones above; without them a program could end up with only ours and
 * nothing to pass the throw on to. */
extern char __cxa_init_primary_exception[];
extern char _ZSt17current_exceptionv[];
__attribute__((used)) static const void *const fs_cxx_runtime_pull[] = {
    __cxa_init_primary_exception, _ZSt17current_exceptionv};
#endif
