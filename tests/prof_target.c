/* A CPU-bound program for the profiler tests, run under `faststack
 * profile`. Modes:
 *   split  hot_a and hot_b burn 70% and 30% of the main thread's work,
 *          then a thread created after the profiler started runs
 *          hot_thread (it must be sampled too)
 *   fork   a forked child burns in hot_child and exits (5 if it has more
 *          than one thread: nothing may start one in a fork's child);
 *          the parent then execs itself in split mode (profiling must
 *          survive both)
 *   snapshot  burns in hot_a, raises SIGUSR2 (FASTSTACK_PROFILE_SIGNAL):
 *          the profile so far must appear while it keeps running; exits 9
 *          if it did not within 5 s */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

#define BURN(iters)                                                            \
  do {                                                                         \
    unsigned long x = sink;                                                    \
    for (long i = 0; i < (iters); i++)                                         \
      x = x * 6364136223846793005ul + 1442695040888963407ul;                   \
    sink = x;                                                                  \
  } while (0)

static long unit = 20000000; /* ~tens of ms per unit on a current core */

__attribute__((noinline)) void hot_a(void)
{
  BURN(7 * unit);
}
__attribute__((noinline)) void hot_b(void)
{
  BURN(3 * unit);
}
__attribute__((noinline)) void hot_child(void)
{
  BURN(3 * unit);
}
__attribute__((noinline)) static void *hot_thread(void *p)
{
  BURN(2 * unit);
  return p;
}

/* Threads of this process, from /proc/self/status. */
static int threads_now(void)
{
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  int n = -1;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "Threads:", 8)) n = atoi(line + 8);
  if (f) fclose(f);
  return n;
}

int main(int argc, char **argv)
{
  const char *mode = argc > 1 ? argv[1] : "split";
  if (getenv("PROF_UNIT")) unit = atol(getenv("PROF_UNIT"));
  if (!strcmp(mode, "fork")) {
    pid_t pid = fork();
    if (pid == 0) {
      /* Nothing may start a thread in the child of a fork (the profiler
       * preload did, in its pthread_atfork handler): exit 5 if one did. */
      if (threads_now() != 1) _exit(5);
      hot_child();
      exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 3;
    execl("/proc/self/exe", argv[0], "split", (char *)NULL);
    return 4;
  }
  if (!strcmp(mode, "snapshot")) {
    const char *out = getenv("FASTSTACK_PROFILE");
    hot_a();
    raise(SIGUSR2);
    struct stat st;
    for (int i = 0; i < 500 && (!out || stat(out, &st) != 0); i++)
      nanosleep(&(struct timespec){0, 10000000}, NULL);
    if (!out || stat(out, &st) != 0 || st.st_size == 0) return 9;
    printf("snapshot: %lld bytes while running\n", (long long)st.st_size);
    hot_b();
    return 7;
  }
  for (int r = 0; r < 3; r++) {
    hot_a();
    hot_b();
  }
  pthread_t t;
  pthread_create(&t, NULL, hot_thread, NULL);
  pthread_join(t, NULL);
  return 7; /* a distinctive status the CLI must pass through */
}
