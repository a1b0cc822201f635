/* profiler.c — sampling CPU profiler.
 *
 * Each thread gets a POSIX timer on its own CPU-time clock that delivers
 * SIGPROF to that very thread (SIGEV_THREAD_ID), so samples are
 * proportional to the CPU each thread burns. The handler captures from the
 * ucontext into a slot of a lock-free ring (a bounded multi-producer
 * queue: a claim with one compare-and-swap, a publish with one store; a
 * full ring drops the sample and counts it). An aggregator thread drains
 * the ring every few milliseconds into the stack table, off the signal
 * path; writing the profile (symbolization, pprof encoding) drains first.
 *
 * A forked child inherits neither the timers nor the aggregator thread,
 * and may only make async-signal-safe calls until it execs (other threads
 * of the parent may have held locks when it forked): after
 * faststack_profiler_after_fork the handler inserts each sample straight
 * into the stack table (lock-free, preallocated) and no thread is
 * started; timers are made with raw system calls.
 */
#define _GNU_SOURCE 1
#include "sinks/sinks.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { MAX_DEPTH = 128, MAX_TIMERS = 4096, RING = 2048 };

/* One sample in flight. seq follows the bounded MPMC queue scheme: a
 * producer may fill the cell when seq == its position, the consumer may
 * take it when seq == position + 1. */
typedef struct ring_cell {
  _Atomic uint64_t seq;
  int n;
  uintptr_t pcs[MAX_DEPTH];
} ring_cell;

static ring_cell *ring;            /* RING cells, mmap'ed at first start */
static _Atomic uint64_t ring_head; /* next position to claim */
static uint64_t ring_tail;         /* next position to drain (consumer) */
static _Atomic uint64_t ring_dropped;
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_t aggregator;
static _Atomic int aggregator_on;
/* No aggregator (a forked child): the handler inserts into the table. */
static _Atomic int direct;

static faststack_stack_table *table;
static _Atomic int running;
static int hz_now;
static struct timespec started;
static struct sigaction old_action;
static int handler_installed;

/* Timers created (kernel ids), so stop can delete them. Written with an
 * atomic slot reservation: threads arm themselves concurrently. */
static int timers[MAX_TIMERS];
static _Atomic int ntimers;

static void on_sigprof(int sig, siginfo_t *si, void *uc)
{
  (void)sig;
  (void)si;
  if (!atomic_load_explicit(&running, memory_order_relaxed)) return;
  int saved = errno;
  if (atomic_load_explicit(&direct, memory_order_relaxed)) {
    uintptr_t pcs[MAX_DEPTH];
    int n = faststack_capture_ucontext(uc, pcs, MAX_DEPTH);
    if (n > 0)
      faststack_stack_table_insert(table, pcs, n, FASTSTACK_PCS_UCONTEXT, 1);
    errno = saved;
    return;
  }
  uint64_t pos = atomic_load_explicit(&ring_head, memory_order_relaxed);
  for (;;) {
    ring_cell *c = &ring[pos & (RING - 1)];
    uint64_t seq = atomic_load_explicit(&c->seq, memory_order_acquire);
    if (seq == pos) {
      if (atomic_compare_exchange_weak_explicit(&ring_head, &pos, pos + 1,
                                                memory_order_relaxed,
                                                memory_order_relaxed)) {
        c->n = faststack_capture_ucontext(uc, c->pcs, MAX_DEPTH);
        atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
        break;
      }
    } else if (seq < pos) {
      /* Full: the aggregator is behind. Drop, and say so. */
      atomic_fetch_add_explicit(&ring_dropped, 1, memory_order_relaxed);
      break;
    } else {
      pos = atomic_load_explicit(&ring_head, memory_order_relaxed);
    }
  }
  errno = saved;
}

/* Moves every published sample into the stack table. */
static void drain(void)
{
  pthread_mutex_lock(&drain_lock);
  for (;;) {
    ring_cell *c = &ring[ring_tail & (RING - 1)];
    if (atomic_load_explicit(&c->seq, memory_order_acquire) != ring_tail + 1)
      break;
    if (c->n > 0)
      faststack_stack_table_insert(table, c->pcs, c->n, FASTSTACK_PCS_UCONTEXT,
                                   1);
    atomic_store_explicit(&c->seq, ring_tail + RING, memory_order_release);
    ring_tail++;
  }
  pthread_mutex_unlock(&drain_lock);
}

static void *aggregate(void *arg)
{
  (void)arg;
  while (atomic_load(&aggregator_on)) {
    drain();
    struct timespec ts = {0, 5000000}; /* 5 ms: < 1% of a core */
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static int ring_init(void)
{
  if (!ring) {
    void *p = mmap(NULL, RING * sizeof(ring_cell), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return -1;
    ring = p;
  }
  for (uint64_t i = 0; i < RING; i++) atomic_store(&ring[i].seq, i);
  atomic_store(&ring_head, 0);
  ring_tail = 0;
  return 0;
}

/* Linux encodes a thread's CPU clock as ~tid << 3 | CPUCLOCK_PERTHREAD |
 * CPUCLOCK_SCHED (see clock_getcpuclockid); needed to arm a timer on
 * another thread's clock, which pthread_getcpuclockid cannot name for
 * threads we hold no pthread_t for. */
static clockid_t thread_clock(pid_t tid)
{
  return (clockid_t)((~(unsigned)tid << 3) | 6);
}

/* [AS-safe] A timer on tid's CPU clock, signalling tid: raw system calls
 * (glibc's timer_create is a plain system call for these, but its
 * contract does not say so). */
static int arm_tid(pid_t tid)
{
  int slot = atomic_fetch_add(&ntimers, 1);
  if (slot >= MAX_TIMERS) {
    atomic_fetch_sub(&ntimers, 1);
    return -1;
  }
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = SIGPROF;
#ifdef sigev_notify_thread_id /* glibc 2.35+, musl */
  sev.sigev_notify_thread_id = tid;
#else
  sev._sigev_un._tid = tid;
#endif
  int t;
  if (syscall(SYS_timer_create, thread_clock(tid), &sev, &t) != 0) {
    timers[slot] = -1;
    return -1;
  }
  long ns = 1000000000L / hz_now;
  struct itimerspec its = {{ns / 1000000000L, ns % 1000000000L},
                           {ns / 1000000000L, ns % 1000000000L}};
  syscall(SYS_timer_settime, t, 0, &its, NULL);
  timers[slot] = t;
  return 0;
}

int faststack_profiler_thread_init(void)
{
  if (!atomic_load(&running)) return 0;
  fs_stack_thread_init();
  return arm_tid((pid_t)syscall(SYS_gettid));
}

int faststack_profiler_start(int hz)
{
  if (atomic_load(&running)) return -1;
  if (hz <= 0) hz = 100;
  if (hz > 10000) hz = 10000;
  if (!table) {
    table = faststack_stack_table_create(16384, 16384 * 48);
    if (!table) return -1;
  }
  if (ring_init() != 0) return -1;
  atomic_store(&direct, 0);
  atomic_store(&aggregator_on, 1);
  if (pthread_create(&aggregator, NULL, aggregate, NULL) != 0) {
    atomic_store(&aggregator_on, 0);
    return -1;
  }
  hz_now = hz;
  clock_gettime(CLOCK_REALTIME, &started);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigprof;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGPROF, &sa, &old_action) != 0) return -1;
  handler_installed = 1;
  atomic_store(&running, 1);
  /* Arm every thread that exists now; later threads arm themselves via
   * faststack_profiler_thread_init (the preload wraps pthread_create). */
  DIR *d = opendir("/proc/self/task");
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
      if (e->d_name[0] != '.') arm_tid((pid_t)atoi(e->d_name));
    closedir(d);
  } else {
    faststack_profiler_thread_init();
  }
  return 0;
}

int faststack_profiler_stop(void)
{
  if (!atomic_exchange(&running, 0)) return -1;
  int n = atomic_load(&ntimers);
  if (n > MAX_TIMERS) n = MAX_TIMERS;
  for (int i = 0; i < n; i++)
    if (timers[i] >= 0) syscall(SYS_timer_delete, timers[i]);
  atomic_store(&ntimers, 0);
  if (atomic_exchange(&aggregator_on, 0)) pthread_join(aggregator, NULL);
  drain();
  return 0;
}

int faststack_profiler_write(int fd, int folded)
{
  if (!table) return -1;
  if (ring) drain();
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

void faststack_profiler_reset(void)
{
  /* In a forked child the parent's timers are gone (timers are not
   * inherited) and its samples are not ours: start from empty. Only
   * stores: the child may be in a pthread_atfork handler. */
  atomic_store(&running, 0);
  atomic_store(&ntimers, 0);
  atomic_store(&aggregator_on, 0); /* the thread did not survive fork */
  atomic_store(&direct, 0);
  /* Whoever held it in the parent is not in the child. */
  drain_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
  if (ring) ring_init();
  if (table) faststack_stack_table_reset(table);
}

int faststack_profiler_after_fork(void)
{
  int was = atomic_load(&running);
  faststack_profiler_reset();
  if (!was || !table || hz_now <= 0) return -1;
  clock_gettime(CLOCK_REALTIME, &started);
  atomic_store(&direct, 1);
  atomic_store(&running, 1);
  return arm_tid((pid_t)syscall(SYS_gettid));
}

const faststack_stack_table *faststack_profiler_table(void)
{
  return table;
}
