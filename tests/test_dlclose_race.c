/* test_dlclose_race.c — dlclose while other threads look up and format
 * PCs of the library being unloaded, with the crash table's builder
 * running: one thread dlopens race_lib, captures inside it, refreshes the
 * module list (which wakes the builder) and dlcloses it, in a loop; other
 * threads keep resolving the PCs it captured — faststack_module_find,
 * faststack_symbolize, faststack_format_trace — whether or not the
 * library is still there. Nothing may fault; PCs of an unloaded library
 * resolve to nothing or to the right function, never to a crash. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "faststack.h"

typedef void (*race_call_fn)(void (*)(void *), void *);

#define RACE_PCS 16
static _Atomic uintptr_t shared_pcs[RACE_PCS];
static _Atomic int shared_n;
static _Atomic int stop;
static _Atomic long loads, lookups;

static void capture_cb(void *arg)
{
  (void)arg;
  uintptr_t pcs[RACE_PCS];
  int n = faststack_capture(pcs, RACE_PCS, 0);
  for (int i = 0; i < n; i++) atomic_store(&shared_pcs[i], pcs[i]);
  atomic_store(&shared_n, n);
}

static void *loader(void *arg)
{
  (void)arg;
  while (!atomic_load(&stop)) {
    void *h = dlopen(RACE_LIB, RTLD_NOW);
    if (!h) {
      fprintf(stderr, "dlopen: %s\n", dlerror());
      exit(1);
    }
    race_call_fn f = (race_call_fn)dlsym(h, "race_lib_call");
    if (f) f(capture_cb, NULL);
    /* What the preload does after dlopen: the builder hears of it. */
    faststack_modules_refresh();
    dlclose(h);
    atomic_fetch_add(&loads, 1);
  }
  return NULL;
}

static void *resolver(void *arg)
{
  int which = (int)(intptr_t)arg;
  uintptr_t pcs[RACE_PCS];
  char buf[8192];
  faststack_frame fr[8];
  char strbuf[2048];
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  o.source = 0;
  while (!atomic_load(&stop)) {
    int n = atomic_load(&shared_n);
    for (int i = 0; i < n; i++) pcs[i] = atomic_load(&shared_pcs[i]);
    for (int i = 0; i < n; i++) {
      faststack_module m;
      if (faststack_module_find(pcs[i], &m)) (void)strlen(m.path);
    }
    if (which == 0 && n > 0) {
      faststack_symbolize(faststack_default_symbolizer(), pcs[0], 0, fr, 8,
                          strbuf, sizeof strbuf);
    } else if (n > 0) {
      faststack_format_trace(pcs, n, 0, &o, buf, sizeof buf);
    }
    faststack_module list[64];
    int k = faststack_modules_list(list, 64);
    for (int i = 0; i < k && i < 64; i++) (void)strlen(list[i].path);
    atomic_fetch_add(&lookups, 1);
  }
  return NULL;
}

int main(int argc, char **argv)
{
  double seconds = argc > 1 ? atof(argv[1]) : 3.0;
  faststack_crash_options co;
  memset(&co, 0, sizeof co);
  co.table = 1;
  CHECK_EQ(faststack_crash_install(&co), 0);
  pthread_t l, r[3];
  pthread_create(&l, NULL, loader, NULL);
  for (int i = 0; i < 3; i++)
    pthread_create(&r[i], NULL, resolver, (void *)(intptr_t)i);
  struct timespec ts = {(time_t)seconds,
                        (long)((seconds - (time_t)seconds) * 1e9)};
  nanosleep(&ts, NULL);
  atomic_store(&stop, 1);
  pthread_join(l, NULL);
  for (int i = 0; i < 3; i++) pthread_join(r[i], NULL);
  printf("%ld loads, %ld lookups\n", atomic_load(&loads),
         atomic_load(&lookups));
  CHECK(atomic_load(&loads) > 10);
  return CHECK_DONE("test_dlclose_race");
}
