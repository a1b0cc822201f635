/* libfaststack_preload.so — the crash handler for an unmodified program,
 * loaded with LD_PRELOAD (what `faststack run` does). It carries its own
 * copy of the library (hidden symbols), so the program needs nothing else.
 *
 * At load it installs the crash handler with the options of the
 * environment (FASTSTACK_TRACEBACK, FASTSTACK_OUTPUT,
 * FASTSTACK_DUMP_SIGNAL, FASTSTACK_CRASH_TABLE — off unless asked for —
 * FASTSTACK_REGISTERS, FASTSTACK_CRASH_SOURCE, FASTSTACK_CRASH_WATCHDOG,
 * FASTSTACK_CRASH_FORMAT). A crash hands the raw report to the
 * supervisor FASTSTACK_REPORT_SOCKET names (`faststack run`), else to a
 * symbolizer started at crash time, else prints it (src/sinks/crash.c):
 * a healthy program pays for nothing but the install. It wraps
 * pthread_create so every new thread gets an alternate signal stack (a
 * stack overflow is reported in any thread), dlopen so a lookup table,
 * when asked for, covers libraries loaded later, and dlclose, so the
 * module snapshot drops unloaded ones.
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

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                         void *);
typedef void *(*dlopen_fn)(const char *, int);
typedef int (*dlclose_fn)(void *);

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

/* Where the C library has no _dl_find_object, lookups in a crash use a
 * snapshot of the loaded objects: refreshed after each dlclose too. */
__attribute__((visibility("default"))) int dlclose(void *h)
{
  static dlclose_fn real;
  if (!real) real = (dlclose_fn)dlsym(RTLD_NEXT, "dlclose");
  if (!real) return -1;
  int rc = real(h);
  if (rc == 0 && active) faststack_modules_refresh();
  return rc;
}

__attribute__((constructor)) static void preload_init(void)
{
  if (faststack_crash_install(NULL) == 0) active = 1;
}
