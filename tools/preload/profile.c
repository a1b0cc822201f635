/* libfaststack_profile.so — runs an unmodified program under the CPU
 * profiler when preloaded (what `faststack profile` does), configured by
 *   FASTSTACK_PROFILE=PATH        where to write (required to profile)
 *   FASTSTACK_PROFILE_HZ=N        samples per CPU-second (default 100)
 *   FASTSTACK_PROFILE_FOLDED=1    folded stacks instead of pprof
 * The profile is written when the program exits normally (exit or return
 * from main). A forked child profiles itself into PATH.PID; a program that
 * execs replaces the image, so the exec'd program (same pid, same
 * environment) profiles into PATH and the pre-exec samples are dropped. */
#define _GNU_SOURCE 1
#include "faststack.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out_path[4096];
static int hz = 100, folded, active;

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *,
                         void *(*)(void *), void *);

typedef struct start_arg {
  void *(*fn)(void *);
  void *arg;
} start_arg;

static void *thread_start(void *p) {
  start_arg a = *(start_arg *)p;
  free(p);
  faststack_profiler_thread_init();
  return a.fn(a.arg);
}

/* New threads must arm their own CPU-time timer: wrap their start. */
__attribute__((visibility("default"))) int
pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
               void *arg) {
  static create_fn real;
  if (!real)
    real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
  if (!real)
    return 11; /* EAGAIN */
  start_arg *a = active ? malloc(sizeof *a) : NULL;
  if (!a)
    return real(t, attr, fn, arg);
  a->fn = fn;
  a->arg = arg;
  int rc = real(t, attr, thread_start, a);
  if (rc != 0)
    free(a);
  return rc;
}

static void child_after_fork(void) {
  if (!active)
    return;
  faststack_profiler_reset();
  size_t len = strlen(out_path);
  snprintf(out_path + len, sizeof out_path - len, ".%d", (int)getpid());
  faststack_profiler_start(hz);
}

__attribute__((constructor)) static void profile_init(void) {
  const char *p = getenv("FASTSTACK_PROFILE");
  if (!p || !*p || strlen(p) >= sizeof out_path - 16)
    return;
  strcpy(out_path, p);
  const char *h = getenv("FASTSTACK_PROFILE_HZ");
  if (h && atoi(h) > 0)
    hz = atoi(h);
  const char *f = getenv("FASTSTACK_PROFILE_FOLDED");
  folded = f && *f && strcmp(f, "0") != 0;
  pthread_atfork(NULL, NULL, child_after_fork);
  if (faststack_profiler_start(hz) == 0)
    active = 1;
}

__attribute__((destructor)) static void profile_fini(void) {
  if (!active)
    return;
  faststack_profiler_stop();
  active = 0;
  int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || faststack_profiler_write(fd, folded) != 0)
    fprintf(stderr, "faststack profile: cannot write %s\n", out_path);
  if (fd >= 0)
    close(fd);
}
