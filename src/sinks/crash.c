/* crash.c — the crash report: the fault sink that prints what happened
 * and where when a thread dies of SIGSEGV, SIGBUS, SIGILL, SIGFPE,
 * SIGABRT, SIGTRAP or SIGSYS (fault.c owns the handlers and calls this
 * after recovery has declined the fault).
 *
 * On a fault the report
 *   1. elects one reporting thread (an atomic owner word): a second fault
 *      in another thread waits behind the report, a fault inside the
 *      report itself ends the process by the first signal;
 *   2. arms a watchdog (alarm(2)) so a stuck report still ends the process;
 *   3. writes with write(2) only: header, registers on request, the
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
static int reporting; /* faststack_crash_install called */

/* The faulting thread's PCs: deep enough for a stack overflow's whole
 * recursion (so the trace still reaches main), mapped at install with
 * MAP_NORESERVE: only the pages a crash writes become memory. */
#define FS_CRASH_PCS (512 * 1024)
static uintptr_t *crash_pcs;

/* The reporting state: one report wins. */
enum { ST_IDLE = 0, ST_REPORTING, ST_CHAINED, ST_DYING };
static _Atomic int crash_state;
static _Atomic int crash_owner; /* tid of the reporting thread */
static volatile sig_atomic_t first_sig;
static char crash_stage[4096]; /* the owner's output buffer */

/* Test hooks, set by tests/crash_cases.c through the static library:
 * 1 faults inside the report, 2 hangs inside it (the watchdog's case). */
volatile int fs_crash_test_hook;
static volatile int *volatile test_bad_ptr;

/* --------------------------------------------------------------- registers */

static void out_registers(fs_out *o, const ucontext_t *uc)
{
  static const struct {
    const char *name;
    int reg;
  } regs[] = {
      {"rax", REG_RAX}, {"rbx", REG_RBX}, {"rcx", REG_RCX}, {"rdx", REG_RDX},
      {"rsi", REG_RSI}, {"rdi", REG_RDI}, {"rbp", REG_RBP}, {"rsp", REG_RSP},
      {"r8 ", REG_R8},  {"r9 ", REG_R9},  {"r10", REG_R10}, {"r11", REG_R11},
      {"r12", REG_R12}, {"r13", REG_R13}, {"r14", REG_R14}, {"r15", REG_R15},
      {"rip", REG_RIP}, {"rfl", REG_EFL}, {"err", REG_ERR}, {"trp", REG_TRAPNO},
  };
  fs_out_str(o, "registers:\n");
  for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
    fs_out_str(o, "  ");
    fs_out_str(o, regs[i].name);
    fs_out_str(o, " 0x");
    fs_out_hex(o, (uint64_t)uc->uc_mcontext.gregs[regs[i].reg], 16);
    if (i % 4 == 3 || i + 1 == sizeof regs / sizeof regs[0])
      fs_out_char(o, '\n');
  }
  fs_out_char(o, '\n');
}

static void on_watchdog(int sig)
{
  (void)sig;
  static const char msg[] =
      "\nfaststack: the crash report did not finish in time (watchdog); "
      "ending the process\n";
  int fd = fs_output_open();
  fs_write_all(fd, msg, sizeof msg - 1);
  fs_output_close(fd);
  fs_die_now(first_sig ? first_sig : SIGABRT);
}

static void arm_watchdog(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_watchdog;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGALRM);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  alarm((unsigned)(cfg.watchdog > 0 ? cfg.watchdog : 10));
}

/* ------------------------------------------------------------------ report */

static unsigned sink_mode(void)
{
  return cfg.source ? FS_SINK_SOURCE : 0;
}

/* The report's colour, decided once per report: the output's. */
static unsigned report_color;

static void other_threads(fs_out *o)
{
  fs_slot *slots;
  if (!fs_threads_lock(200)) {
    fs_out_str(o, "(other threads not shown: a thread dump was running)\n");
    return;
  }
  int n = fs_threads_collect(&slots);
  if (n < 0) fs_out_str(o, "(other threads not shown: no thread slots)\n");
  else fs_threads_print(o, slots, n, 0, sink_mode() | report_color);
  fs_threads_unlock();
}

/* The first lines: what happened, where, to whom, when. */
static void report_head(fs_out *o, int sig, siginfo_t *si, const ucontext_t *uc,
                        int tid)
{
  uintptr_t pc = uc ? (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] : 0;
  uintptr_t sp = uc ? (uintptr_t)uc->uc_mcontext.gregs[REG_RSP] : 0;
  int fault = fs_signal_is_fault(sig, si);
  fs_out_str(o, report_color ? "\n\033[1;31mfatal signal " : "\nfatal signal ");
  fs_out_signal(o, sig);
  fs_out_str(o, ": ");
  fs_out_str(o, fs_signal_desc(sig));
  if (report_color) fs_out_str(o, "\033[0m");
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
static void report_trace(fs_out *o, int sig, const ucontext_t *uc, int tid)
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
  fs_sink_frames(o, pcs, (size_t)n, FASTSTACK_PCS_UCONTEXT,
                 sink_mode() | report_color);
  if (n == max) fs_out_str(o, "...(the walk stopped at the buffer's end)\n");
}

static void report(int sig, siginfo_t *si, void *ucv, int tid)
{
  const ucontext_t *uc = ucv;
  int fd = fs_output_open();
  report_color = fs_sink_color(fd);
  fs_out o;
  fs_out_init_fd(&o, fd, crash_stage, sizeof crash_stage);
  report_head(&o, sig, si, uc, tid);
  if (cfg.registers && uc) out_registers(&o, uc);
  if (fs_crash_test_hook) {
    fs_out_finish(&o);
    if (fs_crash_test_hook == 1) *test_bad_ptr = 1;
    for (;;) fs_sleep_ms(100);
  }
  report_trace(&o, sig, uc, tid);
  if (cfg.traceback >= FASTSTACK_TRACEBACK_ALL) {
    fs_out_char(&o, '\n');
    other_threads(&o);
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
  fs_out_finish(&o);
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

/* The fault client (fault.c calls it after recovery declined): reports
 * once, then passes the fault on. */
static void on_fault(int sig, siginfo_t *si, void *uc)
{
  if (!reporting || atomic_load(&crash_state) == ST_CHAINED) {
    fs_fault_forward(sig, si, uc);
    return;
  }
  int me = fs_gettid();
  int owner = 0;
  if (!atomic_compare_exchange_strong(&crash_owner, &owner, me)) {
    if (owner == me) {
      /* A fault inside the report (or the chained handler) itself. */
      static const char msg[] =
          "\nfaststack: another fault while reporting; ending the process\n";
      int fd = fs_output_open();
      fs_write_all(fd, msg, sizeof msg - 1);
      fs_output_close(fd);
      fs_die_now(first_sig ? first_sig : sig);
    }
    wait_behind(sig, si, uc);
    return;
  }
  first_sig = sig;
  atomic_store(&crash_state, ST_REPORTING);
  if (cfg.traceback != FASTSTACK_TRACEBACK_NONE) {
    atomic_store(&fs_output_reporting, 1);
    arm_watchdog();
    if (cfg.traceback == FASTSTACK_TRACEBACK_CRASH) want_core();
    report(sig, si, uc, me);
    alarm(0);
    atomic_store(&fs_output_reporting, 0);
  }
  if (fs_fault_chains(sig)) {
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
 * a program linked with the library) would each report the same crash,
 * the second through chaining. The first copy to install marks the
 * process in the environment; later copies leave it in charge. */
#define FS_OWNER_ENV "FASTSTACK_CRASH_HANDLER_PID"

static int other_copy_installed(void)
{
  const char *v = getenv(FS_OWNER_ENV);
  return v && atoi(v) == (int)getpid() && !reporting;
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
  if (other_copy_installed() && !fs_fault_installed()) goto done;
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
  char pid[24];
  pid[fs_fmt_dec(pid, getpid())] = '\0';
  setenv(FS_OWNER_ENV, pid, 1);
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
