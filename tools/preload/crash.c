/* libfaststack_preload.so — the crash handler for an unmodified program,
 * loaded with LD_PRELOAD (what `faststack run` does). It carries its own
 * copy of the library (hidden symbols), so the program needs nothing else.
 *
 * At load it installs the crash handler with the options of the
 * environment (FASTSTACK_TRACEBACK, FASTSTACK_OUTPUT,
 * FASTSTACK_DUMP_SIGNAL, FASTSTACK_CRASH_TABLE — the lookup table is on
 * unless FASTSTACK_CRASH_TABLE says otherwise — FASTSTACK_REGISTERS,
 * FASTSTACK_CRASH_SOURCE, FASTSTACK_CRASH_WATCHDOG). It wraps
 * pthread_create so every new thread gets an alternate signal stack (a
 * stack overflow is reported in any thread), and dlopen so the lookup
 * table covers libraries loaded later.
 *
 * Its copy of the library also interposes the C++ runtime's throw entry
 * points (src/sinks/cxxhooks.c: the preload comes before the program's
 * libraries), so every C++ throw records its site, and the crash
 * handler's install sets the std::terminate handler that reports an
 * uncaught exception's type, what() and throw site (FASTSTACK_EXCEPTIONS=0
 * turns both off). */
#define _GNU_SOURCE 1
#include "faststack.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                         void *);
typedef void *(*dlopen_fn)(const char *, int);

typedef struct start_arg {
  void *(*fn)(void *);
  void *arg;
} start_arg;

static int active;

static void *thread_start(void *p)
{
  start_arg a = *(start_arg *)p;
  free(p);
  faststack_crash_thread_init();
  return a.fn(a.arg);
}

__attribute__((visibility("default"))) int
pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
               void *arg)
{
  static create_fn real;
  if (!real) real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
  if (!real) return 11; /* EAGAIN */
  start_arg *a = active ? malloc(sizeof *a) : NULL;
  if (!a) return real(t, attr, fn, arg);
  a->fn = fn;
  a->arg = arg;
  int rc = real(t, attr, thread_start, a);
  if (rc != 0) free(a);
  return rc;
}

__attribute__((visibility("default"))) void *dlopen(const char *file, int flags)
{
  static dlopen_fn real;
  if (!real) real = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
  if (!real) return NULL;
  void *h = real(file, flags);
  /* The crash table's builder hears of the new object through the
   * modules stage. */
  if (h && active) faststack_modules_refresh();
  return h;
}

__attribute__((constructor)) static void preload_init(void)
{
  faststack_crash_options o;
  memset(&o, 0, sizeof o);
  const char *t = getenv("FASTSTACK_CRASH_TABLE");
  if (!t || !*t) o.table = 1; /* on by default when preloaded */
  if (faststack_crash_install(&o) == 0) active = 1;
}
