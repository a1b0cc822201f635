/* libfaststack_profile.so — runs an unmodified program under the CPU
 * profiler when preloaded (what `faststack profile` does), configured by
 *   FASTSTACK_PROFILE=PATH        where to write (required to profile)
 *   FASTSTACK_PROFILE_HZ=N        samples per CPU-second (default 100)
 *   FASTSTACK_PROFILE_FOLDED=1    folded stacks instead of pprof
 *   FASTSTACK_PROFILE_SIGNAL=SIG  on this signal (a name like SIGUSR2, or a
 *                                 number) write the profile so far, and keep
 *                                 profiling
 * The profile is written when the program exits normally (exit or return
 * from main), and when SIGTERM or SIGINT ends it (unless the program
 * handles those itself): the handler only wakes a thread, which writes
 * the profile and then ends the process by the same signal. A forked
 * child profiles itself into PATH.PID (without a thread of its own: see
 * child_after_fork; neither the snapshot signal nor the SIGTERM/SIGINT
 * writing apply to it, it writes at exit); a program that execs replaces
 * the image, so the exec'd program (same pid, same environment) profiles
 * into PATH and the pre-exec samples are dropped. */
#define _GNU_SOURCE 1
#include "faststack.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char out_path[4096];
static int hz = 100, folded, active;

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
                         void *);

typedef struct start_arg {
  void *(*fn)(void *);
  void *arg;
} start_arg;

static void *thread_start(void *p)
{
  start_arg a = *(start_arg *)p;
  free(p);
  faststack_profiler_thread_init();
  return a.fn(a.arg);
}

/* New threads must arm their own CPU-time timer: wrap their start. */
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

static int snap_pipe[2] = {-1, -1};
static int end_signals_caught;

/* ".PID" appended without stdio: see child_after_fork. */
static void append_pid(char *path, size_t cap)
{
  char digits[16];
  int n = 0;
  for (unsigned v = (unsigned)getpid(); n == 0 || v; v /= 10)
    digits[n++] = (char)('0' + v % 10);
  size_t len = strlen(path);
  if (len + 1 + (size_t)n + 1 > cap) return;
  path[len++] = '.';
  while (n) path[len++] = digits[--n];
  path[len] = '\0';
}

/* A pthread_atfork child handler: the child of a multi-threaded process
 * may make only async-signal-safe calls here (another thread of the
 * parent may have held any lock), so no thread, no stdio, no malloc:
 * the profiler goes on in the child by itself (faststack_profiler_after_
 * fork), and the child's profile goes to PATH.PID. */
static void child_after_fork(void)
{
  if (!active) return;
  append_pid(out_path, sizeof out_path);
  /* The pipe is the parent's writer's: a byte from the child would make
   * the parent write its profile, or end it. Closed here, and the end
   * signals back to their default action (close and sigaction are
   * async-signal-safe). */
  if (snap_pipe[0] >= 0) {
    close(snap_pipe[0]);
    close(snap_pipe[1]);
    snap_pipe[0] = snap_pipe[1] = -1;
  }
  if (end_signals_caught) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
  }
  if (faststack_profiler_after_fork() != 0) active = 0;
}

/* Writes the profile so far: to PATH.tmp, then renamed over PATH, so a
 * reader never sees half a file. */
static void write_snapshot(void)
{
  char tmp[sizeof out_path + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", out_path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int ok = fd >= 0 && faststack_profiler_write(fd, folded) == 0;
  if (fd >= 0) close(fd);
  if (!ok || rename(tmp, out_path) != 0)
    fprintf(stderr, "faststack profile: cannot write %s\n", out_path);
}

/* On the snapshot signal, SIGTERM and SIGINT the handler only writes a
 * byte to a pipe (that is async-signal-safe); this thread does the
 * writing. */

static void on_snapshot_signal(int sig)
{
  (void)sig;
  int e = errno;
  if (write(snap_pipe[1], "s", 1) < 0) {
    /* the pipe is full: a snapshot is already pending */
  }
  errno = e;
}

static void on_end_signal(int sig)
{
  int e = errno;
  char c = sig == SIGTERM ? 't' : 'i';
  if (write(snap_pipe[1], &c, 1) < 0) {
    /* full: the writer is busy; it reads this byte after */
  }
  errno = e;
}

/* The profile, then the death the signal would have brought. */
static void end_by(int sig)
{
  if (active) {
    faststack_profiler_stop();
    active = 0;
    write_snapshot();
  }
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  kill(getpid(), sig);
}

static void *snapshot_thread(void *arg)
{
  (void)arg;
  char c;
  for (;;) {
    ssize_t n = read(snap_pipe[0], &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return NULL;
    if (c == 't' || c == 'i') end_by(c == 't' ? SIGTERM : SIGINT);
    else if (active) write_snapshot();
  }
}

static int start_writer(void)
{
  if (snap_pipe[0] >= 0) return 0;
  if (pipe2(snap_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return -1;
  /* The reader blocks; only the writer end stays non-blocking. */
  fcntl(snap_pipe[0], F_SETFL, 0);
  create_fn real = (create_fn)dlsym(RTLD_NEXT, "pthread_create");
  pthread_t t;
  if (!real || real(&t, NULL, snapshot_thread, NULL) != 0) return -1;
  pthread_detach(t);
  return 0;
}

/* SIGTERM and SIGINT, when the program left them to their default
 * action (it may still install its own handlers later, and then owns
 * them). */
static void catch_end_signals(void)
{
  static const int sigs[] = {SIGTERM, SIGINT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    struct sigaction old;
    if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL ||
        (old.sa_flags & SA_SIGINFO))
      continue;
    if (start_writer() != 0) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_end_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(sigs[i], &sa, NULL) == 0) end_signals_caught = 1;
  }
}

static int signal_number(const char *s)
{
  static const struct {
    const char *name;
    int sig;
  } names[] = {{"SIGUSR1", SIGUSR1},
               {"SIGUSR2", SIGUSR2},
               {"SIGHUP", SIGHUP},
               {"SIGWINCH", SIGWINCH},
               {"SIGCONT", SIGCONT}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(s, names[i].name) || !strcmp(s, names[i].name + 3))
      return names[i].sig;
  int n = atoi(s);
  return n > 0 && n < NSIG ? n : 0;
}

static void start_snapshots(const char *spec)
{
  int sig = signal_number(spec);
  if (!sig || start_writer() != 0) {
    fprintf(stderr, "faststack profile: FASTSTACK_PROFILE_SIGNAL=%s ignored\n",
            spec);
    return;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_snapshot_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(sig, &sa, NULL);
}

__attribute__((constructor)) static void profile_init(void)
{
  const char *p = getenv("FASTSTACK_PROFILE");
  if (!p || !*p || strlen(p) >= sizeof out_path - 16) return;
  strcpy(out_path, p);
  const char *h = getenv("FASTSTACK_PROFILE_HZ");
  if (h && atoi(h) > 0) hz = atoi(h);
  const char *f = getenv("FASTSTACK_PROFILE_FOLDED");
  folded = f && *f && strcmp(f, "0") != 0;
  pthread_atfork(NULL, NULL, child_after_fork);
  if (faststack_profiler_start(hz) == 0) active = 1;
  const char *sig = getenv("FASTSTACK_PROFILE_SIGNAL");
  if (active && sig && *sig) start_snapshots(sig);
  if (active) catch_end_signals();
}

__attribute__((destructor)) static void profile_fini(void)
{
  if (!active) return;
  faststack_profiler_stop();
  active = 0;
  write_snapshot();
}
