/* crash.c — the crash report: the fault sink that prints what happened
 * and where when a thread dies of SIGSEGV, SIGBUS, SIGILL, SIGFPE,
 * SIGABRT, SIGTRAP or SIGSYS (fault.c owns the handlers and calls this
 * after recovery has declined the fault).
 *
 * On a fault the report
 *   1. elects one reporting thread (an atomic owner word): a second fault
 *      in another thread waits behind the report, a fault inside the
 *      report itself ends the process by the first signal;
 *   2. arms a watchdog (SIGALRM) so a stuck report still ends the process;
 *   3. writes with bounded write(2)s only (poll first: output nobody
 *      reads drops the rest, it never holds the process): header, registers on request, the
 *      faulting thread's trace from the signal's ucontext (so it starts
 *      at the faulting instruction), every other thread at the ALL level;
 *   4. passes the fault on (fault.c): to the handler installed before
 *      ours, or the default action, so the process dies by its own signal
 *      with the core dump the default action would leave.
 *
 * Everything on that path is async-signal-safe: no malloc, no stdio, no
 * locks. Memory it needs (the PC buffer of a deep trace, the thread
 * slots) is mapped at install time; configuration is read then too. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "sinks/sinks.h"

/* ------------------------------------------------------------ configuration
 * Written by faststack_crash_install (not AS-safe), read by the handler. */
static struct {
  int traceback;
  int registers;
  int source;
  int watchdog;
} cfg = {FASTSTACK_TRACEBACK_SINGLE, 0, 0, 10};
static int reporting;  /* faststack_crash_install called */
static int owner_here; /* this copy made the owner mark (below) */

/* The faulting thread's PCs: deep enough for a stack overflow's whole
 * recursion (so the trace still reaches main), mapped at install with
 * MAP_NORESERVE: only the pages a crash writes become memory. */
#define FS_CRASH_PCS (512 * 1024)
static uintptr_t *crash_pcs;

/* The reporting state: one report wins. */
enum { ST_IDLE = 0, ST_REPORTING, ST_CHAINED, ST_DYING };
static _Atomic int crash_state;
static _Atomic int crash_owner; /* tid of the reporting thread */
/* The process whose thread set crash_state. A vfork child shares our
 * memory until it execs or dies: a report it made (or a handler it
 * chained to) is its own, and must not stop the parent's. */
static _Atomic int crash_pid;
static volatile sig_atomic_t first_sig;
static char crash_stage[4096]; /* the owner's output buffer */

/* Test hooks, set by tests/crash_cases.c through the static library:
 * 1 faults inside the report, 2 hangs inside it (the watchdog's case). */
volatile int fs_crash_test_hook;
static volatile int *volatile test_bad_ptr;

/* Hook 1's fault. A real one: UBSan's null check (in the sanitizer build)
 * would end the process before the CPU faults, so it does not check it. */
__attribute__((noinline, no_sanitize("undefined"))) static void test_fault(void)
{
  *test_bad_ptr = 1;
}

/* --------------------------------------------------------------- registers */

static void out_registers(fs_out *o, const ucontext_t *uc)
{
  const char *name;
  uint64_t v;
  fs_out_str(o, "registers:\n");
  for (unsigned i = 0; fs_uc_reg(uc, i, &name, &v); i++) {
    fs_out_str(o, "  ");
    fs_out_str(o, name);
    fs_out_str(o, " 0x");
    fs_out_hex(o, v, 16);
    if (i % FS_UC_REGS_PER_LINE == FS_UC_REGS_PER_LINE - 1 ||
        !fs_uc_reg(uc, i + 1, &name, &v))
      fs_out_char(o, '\n');
  }
  fs_out_char(o, '\n');
}

/* The watchdog: SIGALRM from ITIMER_REAL (alarm's timer). What it
 * replaced is kept, so that a report followed by a previous handler that
 * repairs the fault leaves the program's own timer and SIGALRM handler
 * as they were. */
static struct {
  struct sigaction old_action;
  struct itimerval old_timer;
  int64_t armed_ns;
  int was_blocked; /* SIGALRM was blocked in the reporting thread */
} wd;
/* The descriptor the report is going to, for the last words. */
static volatile int report_fd = -1;

/* [AS-safe] One line to the report's descriptor, only if it takes it at
 * once: the report may be stuck writing to that very descriptor. */
static void last_words(const char *msg, size_t n)
{
  int sock = -1;
  if (report_fd >= 0) fs_write_bounded(report_fd, msg, n, 0, &sock);
}

/* Never waits for anything: the process ends by the first signal. */
static void on_watchdog(int sig)
{
  (void)sig;
  static const char msg[] =
      "\nfaststack: the crash report did not finish in time (watchdog); "
      "ending the process\n";
  last_words(msg, sizeof msg - 1);
  fs_die_now(first_sig ? first_sig : SIGABRT);
}

static void arm_watchdog(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_watchdog;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  /* Its last words must not raise SIGPIPE in whatever thread it runs. */
  sigaddset(&sa.sa_mask, SIGPIPE);
  sigaction(SIGALRM, &sa, &wd.old_action);
  struct itimerval it;
  memset(&it, 0, sizeof it);
  it.it_value.tv_sec = cfg.watchdog > 0 ? cfg.watchdog : 10;
  setitimer(ITIMER_REAL, &it, &wd.old_timer);
  wd.armed_ns = fs_now_ns(CLOCK_MONOTONIC);
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(SIG_UNBLOCK, &set, &old);
  wd.was_blocked = sigismember(&old, SIGALRM);
}

/* The process goes on (a previous handler may repair the fault): the
 * watchdog's timer off, and the program's timer, SIGALRM action and mask
 * back as they were; the time the report took counts as elapsed. */
static void disarm_watchdog(void)
{
  struct itimerval it;
  memset(&it, 0, sizeof it);
  setitimer(ITIMER_REAL, &it, NULL);
  if (wd.was_blocked) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
  }
  sigaction(SIGALRM, &wd.old_action, NULL);
  const struct timeval *v = &wd.old_timer.it_value;
  if (!v->tv_sec && !v->tv_usec) return;
  int64_t left = (int64_t)v->tv_sec * 1000000 + v->tv_usec -
                 (fs_now_ns(CLOCK_MONOTONIC) - wd.armed_ns) / 1000;
  if (left < 1) left = 1; /* it fell due during the report: now */
  it.it_interval = wd.old_timer.it_interval;
  it.it_value.tv_sec = (time_t)(left / 1000000);
  it.it_value.tv_usec = (suseconds_t)(left % 1000000);
  setitimer(ITIMER_REAL, &it, NULL);
}

/* ------------------------------------------------------------------ report */

static unsigned sink_mode(void)
{
  return cfg.source ? FS_SINK_SOURCE : 0;
}

/* The other threads' stacks, collected once per report (a report that
 * could not be handed over is written again from the same slots). */
static struct {
  int locked;    /* fs_threads_lock held */
  int collected; /* slots filled: n of them */
  int n;
  fs_slot *slots;
} others;

static void other_threads(fs_out *o, unsigned mode)
{
  if (!others.collected) {
    others.collected = 1;
    others.locked = fs_threads_lock(200);
    others.n = others.locked ? fs_threads_collect(&others.slots) : 0;
  }
  if (!others.locked)
    fs_out_str(o, "(other threads not shown: a thread dump was running)\n");
  else if (others.n < 0)
    fs_out_str(o, "(other threads not shown: no thread slots)\n");
  else fs_threads_print(o, others.slots, others.n, 0, mode);
}

static void others_release(void)
{
  if (others.locked) fs_threads_unlock();
  memset(&others, 0, sizeof others);
}

/* The first lines: what happened, where, to whom, when. */
static void report_head(fs_out *o, int sig, siginfo_t *si, const ucontext_t *uc,
                        int tid, unsigned mode)
{
  int color = (mode & FS_SINK_COLOR) != 0;
  uintptr_t pc = uc ? fs_uc_pc(uc) : 0;
  uintptr_t sp = uc ? fs_uc_sp(uc) : 0;
  int fault = fs_signal_is_fault(sig, si);
  fs_out_str(o, color ? "\n\033[1;31mfatal signal " : "\nfatal signal ");
  fs_out_signal(o, sig);
  fs_out_str(o, ": ");
  fs_out_str(o, fs_signal_desc(sig));
  if (color) fs_out_str(o, "\033[0m");
  fs_out_str(o, "\n[signal ");
  fs_out_signal(o, sig);
  fs_out_char(o, ' ');
  fs_out_signal_code(o, sig, si ? si->si_code : 0);
  if (fault) {
    fs_out_str(o, " addr=0x");
    fs_out_hex(o, (uintptr_t)si->si_addr, 1);
  } else if (si && si->si_code <= 0) {
    fs_out_str(o, " from pid ");
    fs_out_dec(o, si->si_pid);
    fs_out_str(o, " uid ");
    fs_out_dec(o, si->si_uid);
  }
  fs_out_str(o, " pc=0x");
  fs_out_hex(o, pc, 1);
  fs_out_str(o, "]\n");
  if (sig == SIGSEGV && fault) {
    /* A fault within a few pages of the stack pointer, below the stack
     * the thread has: the classic signature of running out of stack. */
    uintptr_t a = (uintptr_t)si->si_addr;
    fs_region r;
    int below = !fs_stack_region(a, &r) || r.lo > a;
    if (below && a + 256 * 1024 > sp && a < sp + 256 * 1024)
      fs_out_str(o, "stack overflow: the fault is next to the stack "
                    "pointer, past the end of the thread's stack\n");
  }
  if (sig == SIGABRT && si && si->si_code <= 0 && si->si_pid == getpid())
    fs_out_str(o, fs_terminate_reported()
                      ? "raised by std::terminate, after the report above\n"
                      : "raised by the process itself: abort(), a failed "
                        "assertion, or the C library detecting "
                        "corruption\n");
  fs_out_str(o, "pid ");
  fs_out_dec(o, getpid());
  fs_out_str(o, ", ");
  fs_out_thread(o, tid);
  fs_out_str(o, ", ");
  fs_out_time(o);
  fs_out_str(o, "\n\n");
}

/* The faulting thread's stack, from the fault's context. The copy of a
 * context after a stack overflow (capture.h) is static: a ucontext_t is
 * about a kilobyte, and only the one reporting thread writes it. */
static void report_trace(fs_out *o, int sig, const ucontext_t *uc, int tid,
                         unsigned mode)
{
  static ucontext_t walk_uc;
  fs_out_thread(o, tid);
  fs_out_str(o, " [");
  fs_out_signal(o, sig);
  fs_out_str(o, ", faulting]:\n");
  uintptr_t small[128];
  uintptr_t *pcs = crash_pcs ? crash_pcs : small;
  int max = crash_pcs ? FS_CRASH_PCS : 128;
  int n = uc ? faststack_capture_ucontext(
                   fs_capture_fault_context(uc, &walk_uc), pcs, max)
             : 0;
  fs_sink_frames(o, pcs, (size_t)n, FASTSTACK_PCS_UCONTEXT, mode);
  if (n == max) fs_out_str(o, "...(the walk stopped at the buffer's end)\n");
}

/* The whole report to fd, in mode (FS_SINK_*): 1 when every byte was
 * written. */
static int write_report(int fd, unsigned mode, int sig, siginfo_t *si,
                        const ucontext_t *uc, int tid)
{
  fs_out o;
  /* Bounded writes: output that nobody reads (a full pipe, a stopped
   * terminal) drops the rest of the report instead of holding the
   * process until the watchdog. */
  fs_out_init_fd_bounded(&o, fd, crash_stage, sizeof crash_stage,
                         FS_OUTPUT_STALL_MS);
  report_head(&o, sig, si, uc, tid, mode);
  /* What happened goes out first, whatever the walk does next. */
  fs_out_finish(&o);
  if (cfg.registers && uc) out_registers(&o, uc);
  if (fs_crash_test_hook) {
    fs_out_finish(&o);
    if (fs_crash_test_hook == 1) test_fault();
    for (;;) fs_sleep_ms(100);
  }
  report_trace(&o, sig, uc, tid, mode);
  if (cfg.traceback >= FASTSTACK_TRACEBACK_ALL) {
    fs_out_char(&o, '\n');
    other_threads(&o, mode);
  }
  fs_out_str(&o, "\nfaststack: ");
  if (fs_fault_chains(sig)) {
    fs_out_str(&o, "calling the previous ");
    fs_out_signal(&o, sig);
    fs_out_str(&o, " handler\n");
  } else {
    fs_out_str(&o, "ending the process with ");
    fs_out_signal(&o, sig);
    fs_out_str(&o, cfg.traceback == FASTSTACK_TRACEBACK_CRASH
                       ? " (core dump requested)\n"
                       : "\n");
  }
  return fs_out_finish(&o) == 0;
}

/* The raw report to the supervisor of `faststack run`: 1 when it has it
 * (it symbolizes and prints it). */
static int report_to_supervisor(int sig, siginfo_t *si, const ucontext_t *uc,
                                int tid)
{
  int s = fs_supervisor_connect();
  if (s < 0) return 0;
  int sent = write_report(s, FS_SINK_RAW, sig, si, uc, tid);
  return fs_supervisor_finish(s, sent);
}

/* The raw report through a symbolizer process writing to fd: 1 when it
 * printed it. It may take until the watchdog leaves a second and a half
 * for the report printed here instead (half the watchdog time when that
 * is short). */
static int report_via_helper(int fd, int sig, siginfo_t *si,
                             const ucontext_t *uc, int tid)
{
  int64_t wd_ms = (int64_t)(cfg.watchdog > 0 ? cfg.watchdog : 10) * 1000;
  int64_t budget_ms = wd_ms - 1500 > wd_ms / 2 ? wd_ms - 1500 : wd_ms / 2;
  int64_t deadline = wd.armed_ns + budget_ms * 1000000;
  fs_spawned sp;
  /* -1 also when the helper's execve failed: nothing of the report has
   * gone anywhere yet, and it is printed here at once. */
  int w = fs_spawn_start(fd, deadline, &sp);
  if (w < 0) return 0;
  int sent = write_report(w, FS_SINK_RAW, sig, si, uc, tid);
  int ok = fs_spawn_finish(&sp, sent ? deadline : 0);
  return ok && sent;
}

static void report(int sig, siginfo_t *si, void *ucv, int tid)
{
  const ucontext_t *uc = ucv;
  int fd = fs_output_open();
  report_fd = fd;
  /* Symbolized by another process when one takes it: the supervisor of
   * `faststack run`, else a symbolizer started now; printed here
   * otherwise (the table's frames where it has them, raw lines). */
  int done = report_to_supervisor(sig, si, uc, tid);
  if (!done && fd >= 0) done = report_via_helper(fd, sig, si, uc, tid);
  if (!done)
    write_report(fd, sink_mode() | fs_sink_color(fd), sig, si, uc, tid);
  others_release();
  report_fd = -1;
  fs_output_close(fd);
}

/* Another thread owns the report: wait for it to end the process. If it
 * chained to a previous handler instead, do likewise; if it never ends,
 * end the process by the first signal. */
static void wait_behind(int sig, siginfo_t *si, void *uc)
{
  fs_threads_note_waiting(uc, sig);
  int limit_ms = ((cfg.watchdog > 0 ? cfg.watchdog : 10) + 2) * 1000;
  for (int waited = 0; waited < limit_ms; waited += 5) {
    if (atomic_load(&crash_state) == ST_CHAINED) {
      fs_threads_note_waiting(NULL, 0);
      fs_fault_forward(sig, si, uc);
      return;
    }
    fs_sleep_ms(5);
  }
  fs_die_now(first_sig ? first_sig : sig);
}

/* exit() in another thread would end the process while a report is
 * written, with exit's status: a report printed, then status 0. So the
 * thread in exit() waits here (an exit handler, registered at install,
 * so it runs after the program's own) for the report to end the process
 * by its signal. From the moment it gets here, a fault in any other
 * thread passes the fault on at once, without a report that the exit
 * would cut short. The owner word and exiting_tid are stored and then
 * the other read (sequentially consistent), so at least one side sees
 * the other. _exit and exit_group cannot be waited for. */
static _Atomic int exiting_tid;

/* [AS-safe] Is tid a live thread of this process? (A vfork child shares
 * our memory: a tid it left behind is not one of ours.) */
static int thread_alive(int tid)
{
  return syscall(SYS_tgkill, getpid(), tid, 0) == 0 || errno != ESRCH;
}

static void exit_waits_for_report(void)
{
  int me = fs_gettid();
  atomic_store(&exiting_tid, me);
  int owner = atomic_load(&crash_owner);
  if (!owner || owner == me || !thread_alive(owner)) return;
  int limit_ms = ((cfg.watchdog > 0 ? cfg.watchdog : 10) + 2) * 1000;
  for (int waited = 0; waited < limit_ms; waited += 5) {
    if (atomic_load(&crash_state) == ST_CHAINED) return; /* it went on */
    fs_sleep_ms(5);
  }
}

/* Lifts the soft core size limit to the hard one and makes sure the
 * process is dumpable: the core the default action leaves. */
static void want_core(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_CORE, &rl) == 0) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_CORE, &rl);
  }
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/* Elects the calling thread (me) to report. 1: elected. 0: another live
 * thread of ours owns the report; this one waited behind it and passed
 * its fault on. A fault inside our own report ends the process here. */
static int elect(int me, int sig, siginfo_t *si, void *uc)
{
  int owner = 0;
  while (!atomic_compare_exchange_strong(&crash_owner, &owner, me)) {
    if (owner == me) {
      /* A fault inside the report (or the chained handler) itself. */
      static const char msg[] =
          "\nfaststack: another fault while reporting; ending the process\n";
      last_words(msg, sizeof msg - 1);
      fs_die_now(first_sig ? first_sig : sig);
    }
    if (thread_alive(owner)) {
      wait_behind(sig, si, uc);
      return 0;
    }
    /* The owner is no thread of ours: a vfork child that reported and
     * died (or a fork child's copy of the parent's state). Take over;
     * owner holds the stale value for the next try. */
  }
  return 1;
}

/* The report, under its watchdog and without SIGPIPE. */
static void guarded_report(int sig, siginfo_t *si, void *uc, int me, int pid,
                           int chains)
{
  atomic_store(&fs_output_reporting, pid);
  arm_watchdog();
  if (cfg.traceback == FASTSTACK_TRACEBACK_CRASH) want_core();
  /* A pipe whose reader is gone must not end the process by SIGPIPE
   * instead of sig. */
  fs_nopipe np;
  fs_nopipe_begin(&np);
  report(sig, si, uc, me);
  fs_nopipe_end(&np);
  /* Dying, the watchdog stays armed to the end; going on, the program
   * gets its timer back. */
  if (chains) disarm_watchdog();
  atomic_store(&fs_output_reporting, 0);
}

/* The fault client (fault.c calls it after recovery declined): reports
 * once, then passes the fault on. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
  int pid = getpid();
  if (!reporting) {
    fs_fault_forward(sig, si, uc);
    return;
  }
  if (atomic_load(&crash_state) == ST_CHAINED) {
    if (atomic_load(&crash_pid) == pid) {
      fs_fault_forward(sig, si, uc);
      return;
    }
    int st = ST_CHAINED; /* a vfork child's: not ours */
    atomic_compare_exchange_strong(&crash_state, &st, ST_IDLE);
  }
  int me = fs_gettid();
  if (!elect(me, sig, si, uc)) return;
  atomic_store(&crash_pid, pid);
  first_sig = sig;
  atomic_store(&crash_state, ST_REPORTING);
  int chains = fs_fault_chains(sig);
  int exiting = atomic_load(&exiting_tid);
  if (cfg.traceback != FASTSTACK_TRACEBACK_NONE && (!exiting || exiting == me))
    guarded_report(sig, si, uc, me, pid, chains);
  if (chains) {
    /* Later faults go straight to that handler too, as without us. */
    atomic_store(&crash_state, ST_CHAINED);
    atomic_store(&crash_owner, 0);
  } else {
    atomic_store(&crash_state, ST_DYING);
  }
  fs_fault_forward(sig, si, uc);
}

/* -------------------------------------------------------------- install */

static int env_int(const char *name, int dflt)
{
  const char *v = getenv(name);
  if (!v || !*v) return dflt;
  return atoi(v);
}

static int parse_traceback(const char *s)
{
  if (!s || !*s) return FASTSTACK_TRACEBACK_SINGLE;
  if (!strcmp(s, "none") || !strcmp(s, "0")) return FASTSTACK_TRACEBACK_NONE;
  if (!strcmp(s, "all") || !strcmp(s, "2")) return FASTSTACK_TRACEBACK_ALL;
  if (!strcmp(s, "crash")) return FASTSTACK_TRACEBACK_CRASH;
  return FASTSTACK_TRACEBACK_SINGLE;
}

static int table_mode(const faststack_crash_options *o)
{
  if (o && o->table) return o->table < 0 ? 0 : o->table;
  const char *v = getenv("FASTSTACK_CRASH_TABLE");
  if (!v || !*v) return 0;
  if (!strcmp(v, "sync")) return 2;
  int m = atoi(v);
  return m < 0 ? 0 : m > 2 ? 2 : m;
}

/* Two copies of faststack in one process (the `faststack run` preload and
 * a program linked with the static library, or two libraries that each
 * carry a hidden copy) would each report the same crash, the second
 * through chaining. The first copy to install marks the process with a
 * mapping named after faststack (a one-page memfd, PROT_NONE, listed in
 * /proc/self/maps as "/memfd:faststack-crash-owner"); later copies leave
 * it in charge. The mark lives in the address space, so it is what the
 * image is: a fork keeps it (the same copy is in charge there), an exec
 * drops it with the old image (the new program installs afresh).
 * Nothing is written to the environment: setenv would race getenv in the
 * program's other threads, and the environment survives exec. */
#define FS_OWNER_MARK "faststack-crash-owner"
#define FS_OWNER_MAPS_NAME "/memfd:" FS_OWNER_MARK

static int is_owner_mark(const fs_maps_line *l, void *arg)
{
  (void)arg;
  return !strncmp(l->name, FS_OWNER_MAPS_NAME, sizeof FS_OWNER_MAPS_NAME - 1);
}

static int other_copy_installed(void)
{
  return !owner_here && fs_maps_each(is_owner_mark, NULL) == 1;
}

/* Without /proc or memfd the mark cannot be made: then every copy
 * reports (a second report, never none). */
static void mark_owner(void)
{
  int fd = memfd_create(FS_OWNER_MARK, MFD_CLOEXEC);
  if (fd < 0) return;
  void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE, fd, 0);
  close(fd);
  (void)p; /* kept for the image's life */
}

/* The options, from o where it sets them, else from the environment. */
static void configure(const faststack_crash_options *o)
{
  cfg.traceback = o && o->traceback
                      ? o->traceback
                      : parse_traceback(getenv("FASTSTACK_TRACEBACK"));
  if (cfg.traceback < FASTSTACK_TRACEBACK_NONE ||
      cfg.traceback > FASTSTACK_TRACEBACK_CRASH)
    cfg.traceback = FASTSTACK_TRACEBACK_SINGLE;
  fs_output_set(o && o->output ? o->output : getenv("FASTSTACK_OUTPUT"));
  cfg.registers = o && o->registers ? o->registers > 0
                                    : env_int("FASTSTACK_REGISTERS", 0) > 0;
  cfg.source =
      o && o->source ? o->source > 0 : env_int("FASTSTACK_CRASH_SOURCE", 0) > 0;
  cfg.watchdog = o && o->watchdog_seconds > 0
                     ? o->watchdog_seconds
                     : env_int("FASTSTACK_CRASH_WATCHDOG", 10);
  if (cfg.watchdog <= 0) cfg.watchdog = 10;
  fs_threads_timeout_ms =
      o && o->thread_timeout_ms > 0 ? o->thread_timeout_ms : 1000;
  fs_sink_color_setup();
  /* Who symbolizes the report: the supervisor of `faststack run`, else a
   * process started at crash time, in this format. */
  fs_supervisor_setup();
  const char *f = getenv("FASTSTACK_CRASH_FORMAT");
  fs_spawn_setup(f && !strcmp(f, "json")  ? FASTSTACK_FORMAT_JSON
                 : f && !strcmp(f, "gin") ? FASTSTACK_FORMAT_GIN
                                          : FASTSTACK_FORMAT_GO);
}

FASTSTACK_API int faststack_crash_install(const faststack_crash_options *o)
{
  static _Atomic int installing;
  int z = 0;
  while (!atomic_compare_exchange_weak(&installing, &z, 1)) {
    z = 0;
    fs_sleep_ms(1);
  }
  int rc = 0;
  if (other_copy_installed()) goto done;
  configure(o);
  if (!crash_pcs) {
    void *p =
        mmap(NULL, FS_CRASH_PCS * sizeof(uintptr_t), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) crash_pcs = p;
  }
  /* The thread slots too: ALL mode and dumps must not map at crash time
   * if they can avoid it. */
  fs_threads_prepare();
  fs_altstack_ensure();
  fs_fault_set_client(FS_FAULT_CRASH, on_fault);
  fs_terminate_install();
  if (fs_fault_handlers_install() != 0) rc = -1;
  int ds = o && o->dump_signal
               ? (o->dump_signal < 0 ? 0 : o->dump_signal)
               : fs_signal_parse(getenv("FASTSTACK_DUMP_SIGNAL"));
  if (fs_dump_signal_set(ds, sink_mode()) != 0) rc = -1;
  int tm = table_mode(o);
  if (tm) fs_ctab_start(tm, o ? o->table_max_bytes : 0);
  if (!owner_here) {
    mark_owner();
    atexit(exit_waits_for_report);
    at_quick_exit(exit_waits_for_report);
  }
  owner_here = 1;
  reporting = 1;
done:
  atomic_store(&installing, 0);
  return rc;
}

FASTSTACK_API int faststack_crash_uninstall(void)
{
  reporting = 0;
  fs_dump_signal_set(0, 0);
  return 0;
}

FASTSTACK_API int faststack_crash_table_wait(int timeout_ms)
{
  return fs_ctab_wait(timeout_ms);
}
