/* profiler.c — sampling CPU profiler.
 *
 * Each thread gets a POSIX timer on its own CPU-time clock that delivers
 * SIGPROF to that very thread (SIGEV_THREAD_ID), so samples are
 * proportional to the CPU each thread burns. The handler captures from the
 * ucontext and interns the stack straight into a preallocated stack table:
 * the table's insert is lock-free and allocation-free, so it serves as the
 * signal-safe buffer, and aggregation needs no second copy. Writing the
 * profile (symbolization, pprof encoding) happens off the signal path. */
#define _GNU_SOURCE 1
#include "faststack.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { MAX_DEPTH = 128, MAX_TIMERS = 4096 };

static faststack_stack_table *table;
static _Atomic int running;
static int hz_now;
static struct timespec started;
static struct sigaction old_action;
static int handler_installed;

/* Timers created, so stop can delete them. Written with an atomic slot
 * reservation: threads arm themselves concurrently. */
static timer_t timers[MAX_TIMERS];
static _Atomic int ntimers;

static void on_sigprof(int sig, siginfo_t *si, void *uc) {
  (void)sig;
  (void)si;
  if (!atomic_load_explicit(&running, memory_order_relaxed))
    return;
  int saved = errno;
  uintptr_t pcs[MAX_DEPTH];
  int n = faststack_capture_ucontext(uc, pcs, MAX_DEPTH);
  if (n > 0)
    faststack_stack_table_insert(table, pcs, n, FASTSTACK_PCS_UCONTEXT, 1);
  errno = saved;
}

/* Linux encodes a thread's CPU clock as ~tid << 3 | CPUCLOCK_PERTHREAD |
 * CPUCLOCK_SCHED (see clock_getcpuclockid); needed to arm a timer on
 * another thread's clock, which pthread_getcpuclockid cannot name for
 * threads we hold no pthread_t for. */
static clockid_t thread_clock(pid_t tid) {
  return (clockid_t)((~(unsigned)tid << 3) | 6);
}

static int arm_tid(pid_t tid) {
  int slot = atomic_fetch_add(&ntimers, 1);
  if (slot >= MAX_TIMERS) {
    atomic_fetch_sub(&ntimers, 1);
    return -1;
  }
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGPROF;
  sev._sigev_un._tid = tid;
  timer_t t;
  if (timer_create(thread_clock(tid), &sev, &t) != 0)
    return -1;
  long ns = 1000000000L / hz_now;
  struct itimerspec its = {{ns / 1000000000L, ns % 1000000000L},
                           {ns / 1000000000L, ns % 1000000000L}};
  timer_settime(t, 0, &its, NULL);
  timers[slot] = t;
  return 0;
}

int faststack_profiler_thread_init(void) {
  if (!atomic_load(&running))
    return 0;
  return arm_tid((pid_t)syscall(SYS_gettid));
}

int faststack_profiler_start(int hz) {
  if (atomic_load(&running))
    return -1;
  if (hz <= 0)
    hz = 100;
  if (hz > 10000)
    hz = 10000;
  if (!table) {
    table = faststack_stack_table_create(16384, 16384 * 48);
    if (!table)
      return -1;
  }
  hz_now = hz;
  clock_gettime(CLOCK_REALTIME, &started);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigprof;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGPROF, &sa, &old_action) != 0)
    return -1;
  handler_installed = 1;
  atomic_store(&running, 1);
  /* Arm every thread that exists now; later threads arm themselves via
   * faststack_profiler_thread_init (the preload wraps pthread_create). */
  DIR *d = opendir("/proc/self/task");
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
      if (e->d_name[0] != '.')
        arm_tid((pid_t)atoi(e->d_name));
    closedir(d);
  } else {
    faststack_profiler_thread_init();
  }
  return 0;
}

int faststack_profiler_stop(void) {
  if (!atomic_exchange(&running, 0))
    return -1;
  int n = atomic_load(&ntimers);
  if (n > MAX_TIMERS)
    n = MAX_TIMERS;
  for (int i = 0; i < n; i++)
    timer_delete(timers[i]);
  atomic_store(&ntimers, 0);
  return 0;
}

int faststack_profiler_write(int fd, int folded) {
  if (!table)
    return -1;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  faststack_profile_options o = {
      .sample_type = "cpu",
      .sample_unit = "nanoseconds",
      .period = hz_now > 0 ? 1000000000L / hz_now : 0,
      .time_nanos = (int64_t)started.tv_sec * 1000000000 + started.tv_nsec,
      .duration_nanos = (int64_t)(now.tv_sec - started.tv_sec) * 1000000000 +
                        (now.tv_nsec - started.tv_nsec),
  };
  return folded ? faststack_write_folded(fd, table, &o)
                : faststack_write_pprof(fd, table, &o);
}

void faststack_profiler_reset(void) {
  /* In a forked child the parent's timers are gone (timers are not
   * inherited) and its samples are not ours: start from empty. */
  atomic_store(&running, 0);
  atomic_store(&ntimers, 0);
  if (table)
    faststack_stack_table_reset(table);
}

const faststack_stack_table *faststack_profiler_table(void) { return table; }
