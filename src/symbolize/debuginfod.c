/* debuginfod.c — debug files and sources fetched by build-id from the
 * servers in DEBUGINFOD_URLS, through elfutils' client library. The
 * library is loaded with dlopen on first use, so faststack neither links
 * against it nor needs it installed; its cache (DEBUGINFOD_CACHE_PATH,
 * else its default) is the one gdb and the elfutils tools share.
 *
 * Only ever called for symbolizers and source providers that were asked
 * to (faststack_symbolizer_config.debuginfod,
 * faststack_sources_use_debuginfod), never from a signal handler: a
 * download takes seconds. A transfer is abandoned past its timeout (the
 * progress callback, which the library calls at least once a second,
 * says so), and prints a progress line on stderr when asked. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "symbolize/symbolize.h"

/* The few declarations of elfutils/debuginfod.h we use (the header is
 * not needed to build faststack). */
typedef struct debuginfod_client debuginfod_client;
typedef int (*debuginfod_progressfn_t)(debuginfod_client *c, long a, long b);

static struct {
  void *lib;
  debuginfod_client *(*begin)(void);
  int (*find_debuginfo)(debuginfod_client *, const unsigned char *, int,
                        char **);
  int (*find_source)(debuginfod_client *, const unsigned char *, int,
                     const char *, char **);
  void (*set_progressfn)(debuginfod_client *, debuginfod_progressfn_t);
  void (*end)(debuginfod_client *);
} dl;
static pthread_once_t dl_once = PTHREAD_ONCE_INIT;

static void load(void)
{
  void *h = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) return;
  *(void **)&dl.begin = dlsym(h, "debuginfod_begin");
  *(void **)&dl.find_debuginfo = dlsym(h, "debuginfod_find_debuginfo");
  *(void **)&dl.find_source = dlsym(h, "debuginfod_find_source");
  *(void **)&dl.set_progressfn = dlsym(h, "debuginfod_set_progressfn");
  *(void **)&dl.end = dlsym(h, "debuginfod_end");
  if (!dl.begin || !dl.find_debuginfo || !dl.find_source ||
      !dl.set_progressfn || !dl.end) {
    dlclose(h);
    memset(&dl, 0, sizeof dl);
    return;
  }
  dl.lib = h;
}

int fs_debuginfod_available(void)
{
  const char *urls = getenv("DEBUGINFOD_URLS");
  if (!urls || !*urls) return 0;
  pthread_once(&dl_once, load);
  return dl.lib != NULL;
}

/* One download's state, for the progress callback (the library calls
 * it on the thread that asked). */
typedef struct fetch {
  const char *what; /* "debug info" or the source's name */
  const char *id;
  int64_t deadline_ns;
  int progress; /* print a line */
  int printed;
} fetch;
static __thread fetch *cur;

static int progress(debuginfod_client *c, long done, long total)
{
  (void)c;
  fetch *f = cur;
  if (!f) return 0;
  if (f->progress) {
    fprintf(stderr, "\rfaststack: downloading %s for %.12s from debuginfod",
            f->what, f->id);
    if (total > 0) fprintf(stderr, ": %ld/%ld KiB", done >> 10, total >> 10);
    else if (done > 0) fprintf(stderr, ": %ld KiB", done >> 10);
    fflush(stderr);
    f->printed = 1;
  }
  return fs_now_ns(CLOCK_MONOTONIC) >
         f->deadline_ns; /* non-zero abandons the transfer */
}

/* Runs one query; its cached file's path into out. 1 found. */
static int query(const char *id, const char *source, int timeout_s, int show,
                 char *out, size_t cap)
{
  if (!id || strlen(id) < 2 || !fs_debuginfod_available()) return 0;
  debuginfod_client *c = dl.begin();
  if (!c) return 0;
  fetch f = {source ? source : "debug info", id, 0, 0, 0};
  f.deadline_ns = fs_now_ns(CLOCK_MONOTONIC) +
                  (int64_t)(timeout_s > 0 ? timeout_s : 30) * 1000000000;
  f.progress = show > 0 || (show == 0 && isatty(2));
  fetch *saved = cur;
  cur = &f;
  dl.set_progressfn(c, progress);
  char *path = NULL;
  const unsigned char *bid = (const unsigned char *)id;
  int fd = source ? dl.find_source(c, bid, 0, source, &path)
                  : dl.find_debuginfo(c, bid, 0, &path);
  cur = saved;
  dl.end(c);
  if (f.printed) fputs("\r\033[K", stderr); /* the line goes away */
  int ok = fd >= 0 && path && strlen(path) < cap;
  if (ok) memcpy(out, path, strlen(path) + 1);
  if (fd >= 0) close(fd);
  free(path);
  return ok;
}

int fs_debuginfod_debuginfo(const char *build_id, int timeout_s, int show,
                            char *out, size_t cap)
{
  return query(build_id, NULL, timeout_s, show, out, cap);
}

int fs_debuginfod_source(const char *build_id, const char *path, int timeout_s,
                         int show, char *out, size_t cap)
{
  return path && path[0] == '/' &&
         query(build_id, path, timeout_s, show, out, cap);
}
