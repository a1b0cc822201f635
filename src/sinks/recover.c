/* recover.c — faststack_recover: Go's recover / gin's Recovery for C.
 * Each thread keeps a chain of guards (innermost first) in initial-exec
 * TLS, readable from a signal handler without the dynamic linker. The
 * shared fault handler (fault.c) offers every fault to recovery first;
 * when the faulting thread has a guard, the
 * report is written into the caller's memory and the handler jumps back
 * into faststack_recover. Everything up to that jump is async-signal-safe:
 * no malloc, no stdio, no lock that code outside this file can hold. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "sinks/sinks.h"

typedef struct fs_guard {
  sigjmp_buf env;
  struct fs_guard *prev;
  faststack_recover_report *rep;
  int depth;
} fs_guard;

static __thread fs_guard *tls_guard __attribute__((tls_model("initial-exec")));

static _Atomic uint64_t recoveries;
static _Atomic int handlers_ready;

/* ------------------------------------------------------------ the policy
 * Read by the handler; written by faststack_recover_set_policy under the
 * history lock. The history is a ring of the monotonic times of the last
 * max_recoveries recoveries: the window is exceeded when the ring is full
 * and its oldest entry is younger than the window. */
static struct {
  _Atomic int log_fd;
  _Atomic int log_format;
} pol = {2, FASTSTACK_FORMAT_GO};

static struct {
  atomic_flag lock;
  int64_t *ring; /* mmap'ed, max entries */
  int max;       /* 0: no limit */
  int64_t window_ns;
  int head, used;
} hist = {ATOMIC_FLAG_INIT, NULL, 0, 60000000000LL, 0, 0};
/* hist.max != 0, readable without the lock: "log and continue" (the
 * default) costs no system call on the fault path. */
static _Atomic int limit_on;

/* [AS-safe] The history lock is taken with every signal blocked, so no
 * handler of this thread can interrupt its holder; other threads spin for
 * the few instructions it is held. */
static void hist_lock(sigset_t *old)
{
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, old);
  while (atomic_flag_test_and_set_explicit(&hist.lock, memory_order_acquire))
    ;
}

static void hist_unlock(const sigset_t *old)
{
  atomic_flag_clear_explicit(&hist.lock, memory_order_release);
  pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* [AS-safe] Records one recovery now; 0 when it would exceed the limit
 * (then nothing is recorded: the fault is not recovered). */
static int hist_admit(int *max, int64_t *window_ns)
{
  if (!atomic_load(&limit_on)) return 1;
  sigset_t old;
  int ok = 1;
  hist_lock(&old);
  *max = hist.max;
  *window_ns = hist.window_ns;
  if (hist.max > 0 && hist.ring) {
    int64_t now = fs_now_ns(CLOCK_MONOTONIC);
    /* The oldest of the last max recoveries is at head when full. */
    if (hist.used == hist.max && now - hist.ring[hist.head] < hist.window_ns) {
      ok = 0;
    } else {
      hist.ring[hist.head] = now;
      hist.head = (hist.head + 1) % hist.max;
      if (hist.used < hist.max) hist.used++;
    }
  }
  hist_unlock(&old);
  return ok;
}

FASTSTACK_API void faststack_recover_policy_init(faststack_recover_policy *p)
{
  if (!p) return;
  memset(p, 0, sizeof *p);
  p->log_fd = 2;
  p->log_format = FASTSTACK_FORMAT_GO;
  p->window_ms = 60000;
}

FASTSTACK_API int
faststack_recover_set_policy(const faststack_recover_policy *p)
{
  faststack_recover_policy d;
  if (!p) {
    faststack_recover_policy_init(&d);
    p = &d;
  }
  if (p->max_recoveries < 0 || p->max_recoveries > (1 << 24) ||
      p->window_ms < 0 || p->log_format < FASTSTACK_FORMAT_GO ||
      p->log_format > FASTSTACK_FORMAT_RAW) {
    errno = EINVAL;
    return -1;
  }
  int64_t *ring = NULL;
  size_t bytes = (size_t)p->max_recoveries * sizeof *ring;
  if (bytes) {
    /* mmap, not malloc: the handler reads it, and it must survive a heap
     * that a recovered fault corrupted. */
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return -1;
    ring = m;
  }
  sigset_t old;
  hist_lock(&old);
  int64_t *old_ring = hist.ring;
  int old_max = hist.max;
  hist.ring = ring;
  hist.max = p->max_recoveries;
  hist.window_ns = (int64_t)(p->window_ms ? p->window_ms : 60000) * 1000000LL;
  hist.head = hist.used = 0;
  atomic_store(&limit_on, hist.max > 0);
  atomic_store(&pol.log_fd, p->log_fd);
  atomic_store(&pol.log_format, p->log_format);
  hist_unlock(&old);
  if (old_ring) munmap(old_ring, (size_t)old_max * sizeof *old_ring);
  return 0;
}

FASTSTACK_API uint64_t faststack_recover_count(void)
{
  return atomic_load(&recoveries);
}

/* ------------------------------------------------------- the fault side */

static int recoverable(int sig, const siginfo_t *si)
{
  if (sig != SIGSEGV && sig != SIGBUS && sig != SIGFPE && sig != SIGILL &&
      sig != SIGABRT)
    return 0;
  if (!si) return 0;
  /* A fault the CPU raised, or one this process sent itself (abort,
   * raise, pthread_kill). kill(2) from another process is not a fault of
   * the guarded code: it keeps its usual meaning. */
  if (si->si_code > 0) return 1;
  return (si->si_code == SI_TKILL || si->si_code == SI_USER) &&
         si->si_pid == getpid();
}

/* [AS-safe] Writes "faststack: recovery limit ..." and, when no crash
 * report will follow, the raw trace: the log-and-exit half of the
 * policy. */
static void say_limit(int sig, const ucontext_t *uc, int max, int64_t window_ns)
{
  int fd = atomic_load(&pol.log_fd);
  if (fd < 0) fd = 2;
  char stage[512];
  fs_out o;
  fs_out_init_fd(&o, fd, stage, sizeof stage);
  fs_out_str(&o, "faststack: ");
  fs_out_dec(&o, max);
  fs_out_str(&o, " recoveries within ");
  fs_out_dec(&o, window_ns / 1000000);
  fs_out_str(&o, " ms (the policy's limit): ");
  fs_out_signal(&o, sig);
  fs_out_str(&o, " is not recovered; exiting\n");
  if (!fs_fault_client_on(FS_FAULT_CRASH)) {
    uintptr_t pcs[64];
    int n = faststack_capture_ucontext(uc, pcs, 64);
    fs_raw_trace(&o, pcs, n, FASTSTACK_PCS_UCONTEXT);
  }
  fs_out_finish(&o);
}

/* [AS-safe] The fault client: when the faulting thread is inside
 * faststack_recover, records the report into the guard and jumps back
 * into it (does not return); otherwise returns and the crash report (if
 * installed) carries on. */
static void on_fault(int sig, siginfo_t *si, void *ucv)
{
  fs_guard *g = tls_guard;
  if (!g || !ucv || !recoverable(sig, si)) return;
  const ucontext_t *uc = ucv;
  int max;
  int64_t window_ns;
  if (!hist_admit(&max, &window_ns)) {
    say_limit(sig, uc, max, window_ns);
    return; /* the crash handler carries on: report, then death by sig */
  }
  faststack_recover_report *r = g->rep;
  ucontext_t copy; /* on the handler's stack: no shared state */
  r->signal = sig;
  r->code = si->si_code;
  r->addr = si->si_code > 0 ? (uintptr_t)si->si_addr : 0;
  r->pc = fs_uc_pc(uc);
  r->tid = fs_gettid();
  r->depth = g->depth;
  r->time_ns = fs_now_ns(CLOCK_REALTIME);
  r->count = atomic_fetch_add(&recoveries, 1) + 1;
  r->flags = FASTSTACK_PCS_UCONTEXT;
  r->n = faststack_capture_ucontext(fs_capture_fault_context(uc, &copy), r->pcs,
                                    FASTSTACK_RECOVER_MAX_PCS);
  /* Pop the guard here: a fault between the jump and faststack_recover's
   * own bookkeeping must go to the outer guard, not this one again. */
  tls_guard = g->prev;
  /* The mask goes back to that of fn's code: the faulting code's own
   * (the fault handler's adds what the signal's delivery blocked) — or,
   * when the fault is inside handlers of signals that interrupted fn,
   * the mask the outermost of them interrupted, which its sigreturn
   * would have restored and the jump abandons. The guard did not save
   * the mask at entry: that is a system call on every guarded call, and
   * fn's mask is the entry one unless fn changed it. */
  sigset_t mask = uc->uc_sigmask;
  fs_capture_outer_mask(uc, (uintptr_t)g, &mask);
  pthread_sigmask(SIG_SETMASK, &mask, NULL);
  siglongjmp(g->env, sig);
}

/* ------------------------------------------------------- the guard side */

static int ensure_handlers(void)
{
  if (atomic_load_explicit(&handlers_ready, memory_order_acquire)) return 0;
  fs_fault_set_client(FS_FAULT_RECOVER, on_fault);
  if (fs_fault_handlers_install() != 0) return -1;
  atomic_store_explicit(&handlers_ready, 1, memory_order_release);
  return 0;
}

static void log_report(const faststack_recover_report *r)
{
  int fd = atomic_load(&pol.log_fd);
  if (fd < 0) return;
  faststack_format_options o;
  faststack_format_options_init(&o, atomic_load(&pol.log_format));
  faststack_recover_write(fd, r, &o);
}

/* The sigsetjmp lives alone in this function: after the jump only its
 * return value is used, so no local can be clobbered. Returns 0 when fn
 * returned, the signal number when the handler jumped back. */
static __attribute__((noinline)) int run_guarded(fs_guard *g,
                                                 void (*fn)(void *), void *arg)
{
  int sig = sigsetjmp(g->env, 0); /* no mask: see on_fault */
  if (sig != 0) return sig;       /* the handler popped the guard already */
  tls_guard = g;
  /* The handler must see the guard before fn can fault. */
  atomic_signal_fence(memory_order_seq_cst);
  fn(arg);
  atomic_signal_fence(memory_order_seq_cst);
  tls_guard = g->prev;
  return 0;
}

FASTSTACK_API __attribute__((noinline)) int
faststack_recover(void (*fn)(void *), void *arg, faststack_recover_report *out)
{
  if (!fn) {
    errno = EINVAL;
    return -1;
  }
  if (ensure_handlers() != 0) return -1;
  faststack_recover_report local;
  faststack_recover_report *r = out ? out : &local;
  r->signal = 0;
  r->code = 0;
  r->addr = r->pc = 0;
  r->n = 0;
  r->depth = 0;
  fs_guard g;
  g.prev = tls_guard;
  g.rep = r;
  g.depth = g.prev ? g.prev->depth + 1 : 1;
  if (run_guarded(&g, fn, arg) == 0) return 0;
  log_report(r);
  return r->signal;
}

/* ------------------------------------------------------------ formatting */

static void report_out(fs_out *o, const faststack_recover_report *r,
                       const faststack_format_options *opt)
{
  size_t need;
  if (opt->format == FASTSTACK_FORMAT_JSON) {
    fs_out_str(o, "{\"signal\":\"");
    fs_out_signal(o, r->signal);
    fs_out_str(o, "\",\"signo\":");
    fs_out_dec(o, r->signal);
    fs_out_str(o, ",\"code\":");
    fs_out_dec(o, r->code);
    fs_out_str(o, ",\"code_name\":\"");
    fs_out_str(o, fs_signal_code_name(r->signal, r->code));
    fs_out_str(o, "\",\"addr\":\"0x");
    fs_out_hex(o, r->addr, 1);
    fs_out_str(o, "\",\"pc\":\"0x");
    fs_out_hex(o, r->pc, 1);
    fs_out_str(o, "\",\"tid\":");
    fs_out_dec(o, r->tid);
    fs_out_str(o, ",\"time_ns\":");
    fs_out_dec(o, r->time_ns);
    fs_out_str(o, ",\"count\":");
    fs_out_dec(o, (int64_t)r->count);
    fs_out_str(o, ",\"trace\":");
  } else {
    fs_out_str(o, "panic recovered: ");
    fs_out_signal(o, r->signal);
    fs_out_str(o, ": ");
    fs_out_str(o, fs_signal_desc(r->signal));
    fs_out_str(o, " [");
    fs_out_signal_code(o, r->signal, r->code);
    fs_out_str(o, " addr=0x");
    fs_out_hex(o, r->addr, 1);
    fs_out_str(o, " pc=0x");
    fs_out_hex(o, r->pc, 1);
    fs_out_str(o, "] (thread ");
    fs_out_dec(o, r->tid);
    fs_out_str(o, ")\n");
  }
  int n = r->n < 0                           ? 0
          : r->n > FASTSTACK_RECOVER_MAX_PCS ? FASTSTACK_RECOVER_MAX_PCS
                                             : r->n;
  if (opt->format == FASTSTACK_FORMAT_RAW) {
    fs_raw_trace(o, r->pcs, n, r->flags);
    return;
  }
  /* The trace goes through a buffer: the JSON object must lose its
   * trailing newline to nest. */
  char small[16384];
  char *buf = small;
  need = faststack_format_trace(r->pcs, n, r->flags, opt, small, sizeof small);
  if (need >= sizeof small) {
    buf = malloc(need + 1);
    if (buf) faststack_format_trace(r->pcs, n, r->flags, opt, buf, need + 1);
    else {
      buf = small;
      need = sizeof small - 1;
    }
  }
  if (opt->format == FASTSTACK_FORMAT_JSON) {
    while (need > 0 && buf[need - 1] == '\n') need--;
    fs_out_mem(o, buf, need);
    fs_out_str(o, "}\n");
  } else {
    fs_out_mem(o, buf, need);
    /* gin's format ends without a newline; a log line must not. */
    if (need == 0 || buf[need - 1] != '\n') fs_out_char(o, '\n');
  }
  if (buf != small) free(buf);
}

FASTSTACK_API size_t faststack_recover_format(const faststack_recover_report *r,
                                              const faststack_format_options *o,
                                              char *buf, size_t cap)
{
  fs_out out;
  fs_out_init_buf(&out, buf, cap);
  if (r) {
    faststack_format_options d;
    if (!o) {
      faststack_format_options_init(&d, FASTSTACK_FORMAT_GO);
      o = &d;
    }
    report_out(&out, r, o);
  }
  return fs_out_finish(&out);
}

FASTSTACK_API int faststack_recover_write(int fd,
                                          const faststack_recover_report *r,
                                          const faststack_format_options *o)
{
  if (!r || fd < 0) return -1;
  faststack_format_options d;
  if (!o) {
    faststack_format_options_init(&d, FASTSTACK_FORMAT_GO);
    o = &d;
  }
  /* Formatted into memory first, so the colour decision is the fd's and
   * the report goes out in one write: reports of concurrent recoveries
   * do not interleave line by line. */
  faststack_format_options c = *o;
  c.color = fs_format_use_color(o, fd);
  char small[16384];
  char *buf = small;
  size_t need = faststack_recover_format(r, &c, small, sizeof small);
  if (need >= sizeof small) {
    char *big = malloc(need + 1);
    if (big) {
      buf = big;
      need = faststack_recover_format(r, &c, big, need + 1);
    } else {
      need = sizeof small - 1;
    }
  }
  int rc = fs_write_all(fd, buf, need);
  if (buf != small) free(buf);
  return rc;
}
