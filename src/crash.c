/* crash.c — the crash handler: one handler for SIGSEGV, SIGBUS, SIGILL,
 * SIGFPE, SIGABRT, SIGTRAP and SIGSYS, shared with recovery (sinks.h).
 *
 * On a fault the handler
 *   1. offers the fault to recovery (fs_recover_on_fault), which does not
 *      return when the thread is inside a guard;
 *   2. elects one reporting thread (an atomic owner word): a second fault
 *      in another thread waits behind the report, a fault inside the
 *      report itself ends the process by the first signal;
 *   3. arms a watchdog (alarm(2)) so a stuck report still ends the process;
 *   4. writes the report with write(2) only: header, registers on request,
 *      the faulting thread's trace from the signal's ucontext (so it starts
 *      at the faulting instruction), every other thread at the ALL level;
 *   5. chains to the handler installed before ours, or restores the
 *      default action and re-raises: the process dies by its own signal,
 *      with the core dump the default action would leave.
 *
 * Everything on that path is async-signal-safe: no malloc, no stdio, no
 * locks. Memory it needs (the PC buffer of a deep trace, the thread
 * slots) is mapped at install time; configuration is read then too. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "crash.h"
#include "sinks.h"

FS_REQUIRE_INIT;

static const int fault_sigs[] = {SIGSEGV, SIGBUS,  SIGILL, SIGFPE,
                                  SIGABRT, SIGTRAP, SIGSYS};
#define NFAULT ((int)(sizeof fault_sigs / sizeof fault_sigs[0]))

volatile int fs_crash_reporting;

/* ------------------------------------------------------------ configuration
 * Written by faststack_crash_install (not AS-safe), read by the handler. */
static struct {
  int traceback;
  int registers;
  int source;
  int watchdog;
  int thread_timeout_ms;
  int dump_signal;
  char output[4096]; /* "" = stderr */
} cfg = {FASTSTACK_TRACEBACK_SINGLE, 0, 0, 10, 1000, 0, ""};

/* Handlers that were installed before ours, per fault signal. */
static struct sigaction prev_action[NFAULT];
/* 0 none, 1 being installed, 2 installed. */
static _Atomic int handlers_state;

static struct sigaction prev_dump_action;
static int dump_sig_installed;

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
static char crash_stage[4096];  /* the owner's output buffer */

/* Test hooks, set by tests/crash_cases.c through the static library:
 * 1 faults inside the report, 2 hangs inside it (the watchdog's case). */
volatile int fs_crash_test_hook;
static volatile int *volatile test_bad_ptr;

/* Set while a thread waits in the fault handler behind another thread's
 * report: a thread dump then shows where it faulted, not where it waits. */
static __thread const void *tls_wait_uc
    __attribute__((tls_model("initial-exec")));
static __thread int tls_wait_sig __attribute__((tls_model("initial-exec")));

int fs_gettid(void)
{
  return (int)syscall(SYS_gettid);
}

const void *fs_crash_waiting_context(int *sig)
{
  if (sig) *sig = tls_wait_sig;
  return tls_wait_uc;
}

static int fault_index(int sig)
{
  for (int i = 0; i < NFAULT; i++)
    if (fault_sigs[i] == sig) return i;
  return -1;
}

/* ------------------------------------------------------------ signal names */

static const char *sig_name(int sig)
{
  switch (sig) {
  case SIGSEGV: return "SIGSEGV";
  case SIGBUS: return "SIGBUS";
  case SIGILL: return "SIGILL";
  case SIGFPE: return "SIGFPE";
  case SIGABRT: return "SIGABRT";
  case SIGTRAP: return "SIGTRAP";
  case SIGSYS: return "SIGSYS";
  case SIGQUIT: return "SIGQUIT";
  case SIGUSR1: return "SIGUSR1";
  case SIGUSR2: return "SIGUSR2";
  case SIGHUP: return "SIGHUP";
  case SIGINT: return "SIGINT";
  case SIGTERM: return "SIGTERM";
  case SIGALRM: return "SIGALRM";
  case SIGPWR: return "SIGPWR";
  case SIGWINCH: return "SIGWINCH";
  case SIGURG: return "SIGURG";
  default: return NULL;
  }
}

static const char *sig_desc(int sig)
{
  switch (sig) {
  case SIGSEGV: return "segmentation violation";
  case SIGBUS: return "bus error";
  case SIGILL: return "illegal instruction";
  case SIGFPE: return "arithmetic exception";
  case SIGABRT: return "aborted";
  case SIGTRAP: return "trace/breakpoint trap";
  case SIGSYS: return "bad system call";
  default: return "signal";
  }
}

void fs_out_signal(fs_out *o, int sig)
{
  const char *n = sig_name(sig);
  if (n) {
    fs_out_str(o, n);
  } else if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
    fs_out_str(o, "SIGRTMIN+");
    fs_out_dec(o, sig - SIGRTMIN);
  } else {
    fs_out_str(o, "signal ");
    fs_out_dec(o, sig);
  }
}

/* si_code: its symbolic name and meaning, from the kernel's siginfo.h. */
static void out_code(fs_out *o, int sig, const siginfo_t *si)
{
  static const char *const segv[] = {
      NULL, "SEGV_MAPERR: address not mapped to object",
      "SEGV_ACCERR: invalid permissions for mapped object",
      "SEGV_BNDERR: failed address bound checks",
      "SEGV_PKUERR: failed protection key checks"};
  static const char *const bus[] = {
      NULL, "BUS_ADRALN: invalid address alignment",
      "BUS_ADRERR: nonexistent physical address (e.g. past the end of a "
      "mapped file)",
      "BUS_OBJERR: object-specific hardware error",
      "BUS_MCEERR_AR: hardware memory error, action required",
      "BUS_MCEERR_AO: hardware memory error, action optional"};
  static const char *const ill[] = {
      NULL, "ILL_ILLOPC: illegal opcode", "ILL_ILLOPN: illegal operand",
      "ILL_ILLADR: illegal addressing mode", "ILL_ILLTRP: illegal trap",
      "ILL_PRVOPC: privileged opcode", "ILL_PRVREG: privileged register",
      "ILL_COPROC: coprocessor error", "ILL_BADSTK: internal stack error"};
  static const char *const fpe[] = {
      NULL, "FPE_INTDIV: integer divide by zero",
      "FPE_INTOVF: integer overflow", "FPE_FLTDIV: floating-point divide by "
      "zero", "FPE_FLTOVF: floating-point overflow",
      "FPE_FLTUND: floating-point underflow",
      "FPE_FLTRES: floating-point inexact result",
      "FPE_FLTINV: invalid floating-point operation",
      "FPE_FLTSUB: subscript out of range"};
  static const char *const trap[] = {
      NULL, "TRAP_BRKPT: process breakpoint", "TRAP_TRACE: process trace trap",
      "TRAP_BRANCH: process taken branch trap",
      "TRAP_HWBKPT: hardware breakpoint/watchpoint"};
  int c = si->si_code;
  const char *d = NULL;
#define PICK(tab) \
  if (c > 0 && c < (int)(sizeof tab / sizeof tab[0])) d = tab[c]
  switch (sig) {
  case SIGSEGV: PICK(segv); break;
  case SIGBUS: PICK(bus); break;
  case SIGILL: PICK(ill); break;
  case SIGFPE: PICK(fpe); break;
  case SIGTRAP: PICK(trap); break;
  case SIGSYS:
    if (c == 1) d = "SYS_SECCOMP: seccomp filter denied a system call";
    break;
  default: break;
  }
#undef PICK
  if (!d) {
    switch (c) {
    case SI_USER: d = "SI_USER: sent by kill"; break;
    case SI_TKILL: d = "SI_TKILL: sent by tkill/raise"; break;
    case SI_QUEUE: d = "SI_QUEUE: sent by sigqueue"; break;
    case SI_KERNEL:
      d = sig == SIGSEGV ? "SI_KERNEL: general protection fault "
                           "(e.g. a non-canonical address)"
                         : "SI_KERNEL: sent by the kernel";
      break;
    default: d = "unknown"; break;
    }
  }
  fs_out_str(o, "code=");
  fs_out_dec(o, c);
  fs_out_str(o, " (");
  fs_out_str(o, d);
  fs_out_char(o, ')');
}

/* A kernel-generated fault (not kill/raise/sigqueue): its si_addr means
 * something, and returning re-executes the faulting instruction. */
static int is_fault(int sig, const siginfo_t *si)
{
  return si && si->si_code > 0 &&
         (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
          sig == SIGFPE || sig == SIGTRAP);
}

/* --------------------------------------------------------- small helpers */

/* [AS-safe] Sleeps ms milliseconds (clock_nanosleep is on POSIX's list). */
static void sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
    ;
}

void fs_thread_name(int tid, char *buf, size_t cap)
{
  char path[48] = "/proc/self/task/";
  size_t p = 16;
  char digits[16];
  int nd = 0;
  unsigned u = (unsigned)tid;
  do {
    digits[nd++] = (char)('0' + u % 10);
    u /= 10;
  } while (u && nd < 16);
  while (nd > 0) path[p++] = digits[--nd];
  memcpy(path + p, "/comm", 6);
  buf[0] = '\0';
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n <= 0) {
    buf[0] = '\0';
    return;
  }
  buf[n] = '\0';
  /* comm ends in a newline; names may hold anything else. */
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == '\n') buf[i] = '\0';
    else if ((unsigned char)buf[i] < 0x20 || buf[i] == '"') buf[i] = '?';
}

void fs_out_thread(fs_out *o, int tid)
{
  char name[32];
  fs_thread_name(tid, name, sizeof name);
  fs_out_str(o, "thread ");
  fs_out_dec(o, tid);
  if (name[0]) {
    fs_out_str(o, " \"");
    fs_out_str(o, name);
    fs_out_char(o, '"');
  }
}

static void out_2(fs_out *o, unsigned v)
{
  fs_out_char(o, (char)('0' + v / 10 % 10));
  fs_out_char(o, (char)('0' + v % 10));
}

/* UTC time as ISO 8601. gmtime_r is not async-signal-safe (it may take
 * the time zone lock), so the civil date is computed from the day count:
 * shift the epoch to 0000-03-01 so leap days end each 4/100/400-year
 * cycle, then split the day-of-era into year, day-of-year, month. */
static void out_time(fs_out *o)
{
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return;
  int64_t secs = ts.tv_sec;
  int64_t days = secs / 86400, rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;                               /* [0, 146096] */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);        /* [0, 365] */
  int64_t mp = (5 * doy + 2) / 153;                             /* [0, 11] */
  unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  if (m <= 2) y++;
  fs_out_dec(o, y);
  fs_out_char(o, '-');
  out_2(o, m);
  fs_out_char(o, '-');
  out_2(o, d);
  fs_out_char(o, 'T');
  out_2(o, (unsigned)(rem / 3600));
  fs_out_char(o, ':');
  out_2(o, (unsigned)(rem / 60 % 60));
  fs_out_char(o, ':');
  out_2(o, (unsigned)(rem % 60));
  fs_out_char(o, '.');
  unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
  fs_out_char(o, (char)('0' + ms / 100));
  out_2(o, ms % 100);
  fs_out_char(o, 'Z');
}

/* ------------------------------------------------------------------ frames */

/* Reads line `line` of file into buf (only with the source option: see
 * faststack_crash_options.source). open/read are async-signal-safe;
 * O_NONBLOCK keeps a FIFO from blocking. */
static int read_source_line(const char *file, int line, char *buf,
                            size_t cap)
{
  int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return 0;
  char chunk[1024];
  int cur = 1;
  size_t len = 0;
  int found = 0;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; i++) {
      char c = chunk[i];
      if (cur == line) {
        if (c == '\n') {
          found = 1;
          break;
        }
        if (c == '\0') goto out; /* binary */
        if (len + 1 < cap) buf[len++] = (unsigned char)c < 0x20 ? ' ' : c;
      } else if (c == '\n') {
        cur++;
      }
    }
    if (found || cur > line) break;
  }
  if (cur == line) found = 1;
out:
  close(fd);
  buf[len] = '\0';
  return found && len > 0;
}

/* One PC: Go style from the table, else the raw line. */
static void one_frame(fs_out *o, size_t i, uintptr_t pc, uintptr_t at,
                      int raw)
{
  faststack_module m;
  int have_mod = faststack_module_find(at, &m);
  if (have_mod && !raw) {
    fs_ctab_frame fr[8];
    fs_ctab_enter();
    int nf = fs_ctab_lookup(m.start, m.build_id, at - m.bias, fr, 8);
    for (int k = 0; k < nf; k++) {
      fs_out_str(o, fr[k].function ? fr[k].function : "??");
      fs_out_str(o, "(...)");
      if (fr[k].inlined) fs_out_str(o, " (inlined)");
      fs_out_str(o, "\n\t");
      if (fr[k].file && fr[k].line > 0) {
        fs_out_str(o, fr[k].file);
        fs_out_char(o, ':');
        fs_out_dec(o, fr[k].line);
      } else {
        fs_out_str(o, m.path[0] ? m.path : "??");
        fs_out_str(o, "+0x");
        fs_out_hex(o, at - m.bias, 1);
      }
      if (!fr[k].inlined) {
        fs_out_str(o, " +0x");
        fs_out_hex(o, fr[k].func_offset, 1);
      }
      fs_out_char(o, '\n');
      char src[161];
      if (!cfg.source && fr[k].text) {
        /* Read with the table, off the signal path; indented like the
         * Go format (the line's own indentation dropped). */
        const char *t = fr[k].text;
        while (*t == ' ' || *t == '\t') t++;
        fs_out_str(o, "\t    ");
        fs_out_str(o, t);
        fs_out_char(o, '\n');
      } else if (cfg.source && fr[k].file && fr[k].line > 0 &&
          read_source_line(fr[k].file, fr[k].line, src, sizeof src)) {
        fs_out_str(o, "\t    ");
        fs_out_str(o, src);
        fs_out_char(o, '\n');
      }
    }
    fs_ctab_leave();
    if (nf > 0) return;
  }
  /* The raw format, shared with faststack_write_raw. */
  fs_raw_frame(o, (int64_t)i, pc, at, have_mod ? &m : NULL);
}

#define FS_KEEP_HEAD 50
#define FS_KEEP_TAIL 50

void fs_crash_frames(fs_out *o, const uintptr_t *pcs, size_t n,
                     unsigned flags, int raw)
{
  for (size_t i = 0; i < n; i++) {
    if (n > FS_KEEP_HEAD + FS_KEEP_TAIL && i == FS_KEEP_HEAD) {
      fs_out_str(o, "...");
      fs_out_dec(o, (int64_t)(n - FS_KEEP_HEAD - FS_KEEP_TAIL));
      fs_out_str(o, " frames elided...\n");
      i = n - FS_KEEP_TAIL;
    }
    int exact = i == 0 && (flags & FASTSTACK_PCS_UCONTEXT);
    uintptr_t at = exact || pcs[i] == 0 ? pcs[i] : pcs[i] - 1;
    one_frame(o, i, pcs[i], at, raw);
  }
}

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
      {"rip", REG_RIP}, {"rfl", REG_EFL}, {"err", REG_ERR},
      {"trp", REG_TRAPNO},
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

/* ------------------------------------------------------------------ output */

static int open_output(void)
{
  if (!cfg.output[0]) return STDERR_FILENO;
  int fd = open(cfg.output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  return fd >= 0 ? fd : STDERR_FILENO;
}

static void close_output(int fd)
{
  if (fd != STDERR_FILENO) close(fd);
}

/* ------------------------------------------------------------- dying well */

/* [AS-safe] Ends the process by sig now: default action, unblocked,
 * raised at this thread. */
static void die_now(int sig)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  syscall(SYS_tgkill, getpid(), fs_gettid(), sig);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  /* Still here: the signal cannot kill (a debugger swallowed it). */
  _exit(128 + sig);
}

/* Calls the handler installed before ours as the kernel would have:
 * with its mask, honouring SA_RESETHAND and SA_NODEFER. Or, for the
 * default action or SIG_IGN, dies as the kernel would have made us. */
static void forward(int sig, siginfo_t *si, void *uc)
{
  int i = fault_index(sig);
  struct sigaction p = prev_action[i >= 0 ? i : 0];
  if (i < 0) die_now(sig);
  if (p.sa_handler == SIG_IGN && !is_fault(sig, si) &&
      !(si && si->si_code == SI_KERNEL) && sig != SIGABRT)
    return; /* an ignored signal sent by kill stays ignored */
  if (p.sa_handler == SIG_DFL || p.sa_handler == SIG_IGN) {
    /* The kernel forces a synchronous fault through SIG_IGN too. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    /* Returning re-executes the faulting instruction, which now kills the
     * process with the default action: the core then shows the fault
     * itself, not our handler. SIGTRAP returns past its int3, so it is
     * raised instead, like every signal that was sent. */
    if (is_fault(sig, si) && sig != SIGTRAP) return;
    die_now(sig);
  }
  if (p.sa_flags & SA_RESETHAND) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(sig, &dfl, NULL);
  }
  sigset_t mask = p.sa_mask, old;
  if (!(p.sa_flags & SA_NODEFER)) sigaddset(&mask, sig);
  pthread_sigmask(SIG_BLOCK, &mask, &old);
  if (p.sa_flags & SA_SIGINFO) p.sa_sigaction(sig, si, uc);
  else p.sa_handler(sig);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void on_watchdog(int sig)
{
  (void)sig;
  static const char msg[] =
      "\nfaststack: the crash report did not finish in time (watchdog); "
      "ending the process\n";
  int fd = open_output();
  fs_write_all(fd, msg, sizeof msg - 1);
  close_output(fd);
  die_now(first_sig ? first_sig : SIGABRT);
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

static int have_dump_lock(int wait_ms);
static void release_dump_lock(void);

static void other_threads(fs_out *o, unsigned flags)
{
  fs_slot *slots;
  if (!have_dump_lock(200)) {
    fs_out_str(o, "(other threads not shown: a thread dump was running)\n");
    return;
  }
  int n = fs_threads_collect(cfg.thread_timeout_ms, &slots);
  if (n < 0) {
    fs_out_str(o, "(other threads not shown: no thread slots)\n");
  } else {
    fs_threads_print(o, slots, n, (flags & FASTSTACK_DUMP_NO_DEDUP) != 0,
                     (flags & FASTSTACK_DUMP_RAW) != 0);
  }
  release_dump_lock();
}

/* A stack overflow leaves rsp past the end of the stack, in no readable
 * mapping, and a walk must first know the stack region it reads. The
 * frame pointer still points into the stack (the frame was set up before
 * the access that faulted): walk from a copy of the context whose rsp is
 * rbp. The PC stays the faulting one, and the walk then reads only the
 * frame records at and above rbp — frames may be missing (a frameless
 * leaf's caller), never wrong. */
static ucontext_t walk_uc;

static const ucontext_t *walk_context(const ucontext_t *uc)
{
  uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
  uintptr_t fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
  fs_region r;
  if (fs_stack_region(sp, &r) || fp <= sp || (fp & 15) ||
      !fs_stack_region(fp, &r))
    return uc;
  memcpy(&walk_uc, uc, sizeof walk_uc);
  walk_uc.uc_mcontext.gregs[REG_RSP] = (greg_t)fp;
  return &walk_uc;
}

static void report(int sig, siginfo_t *si, void *ucv, int tid)
{
  const ucontext_t *uc = ucv;
  int fd = open_output();
  fs_out o;
  fs_out_init_fd(&o, fd, crash_stage, sizeof crash_stage);
  uintptr_t pc = uc ? (uintptr_t)uc->uc_mcontext.gregs[REG_RIP] : 0;
  uintptr_t sp = uc ? (uintptr_t)uc->uc_mcontext.gregs[REG_RSP] : 0;

  fs_out_str(&o, "\nfatal signal ");
  fs_out_signal(&o, sig);
  fs_out_str(&o, ": ");
  fs_out_str(&o, sig_desc(sig));
  fs_out_str(&o, "\n[signal ");
  fs_out_signal(&o, sig);
  fs_out_char(&o, ' ');
  out_code(&o, sig, si);
  if (is_fault(sig, si)) {
    fs_out_str(&o, " addr=0x");
    fs_out_hex(&o, (uintptr_t)si->si_addr, 1);
  } else if (si && si->si_code <= 0) {
    fs_out_str(&o, " from pid ");
    fs_out_dec(&o, si->si_pid);
    fs_out_str(&o, " uid ");
    fs_out_dec(&o, si->si_uid);
  }
  fs_out_str(&o, " pc=0x");
  fs_out_hex(&o, pc, 1);
  fs_out_str(&o, "]\n");
  if (sig == SIGSEGV && is_fault(sig, si)) {
    /* A fault within a few pages of the stack pointer, below the stack
     * the thread has: the classic signature of running out of stack. */
    uintptr_t a = (uintptr_t)si->si_addr;
    fs_region r;
    int below = !fs_stack_region(a, &r) || r.lo > a;
    if (below && a + 256 * 1024 > sp && a < sp + 256 * 1024)
      fs_out_str(&o, "stack overflow: the fault is next to the stack "
                     "pointer, past the end of the thread's stack\n");
  }
  if (sig == SIGABRT && si && si->si_code <= 0 && si->si_pid == getpid())
    fs_out_str(&o, "raised by the process itself: abort(), a failed "
                   "assertion, or the C library detecting corruption\n");
  fs_out_str(&o, "pid ");
  fs_out_dec(&o, getpid());
  fs_out_str(&o, ", ");
  fs_out_thread(&o, tid);
  fs_out_str(&o, ", ");
  out_time(&o);
  fs_out_str(&o, "\n\n");
  if (cfg.registers && uc) out_registers(&o, uc);
  if (fs_crash_test_hook) {
    fs_out_finish(&o);
    if (fs_crash_test_hook == 1) *test_bad_ptr = 1;
    for (;;) sleep_ms(100);
  }

  fs_out_thread(&o, tid);
  fs_out_str(&o, " [");
  fs_out_signal(&o, sig);
  fs_out_str(&o, ", faulting]:\n");
  uintptr_t small[128];
  uintptr_t *pcs = crash_pcs ? crash_pcs : small;
  int max = crash_pcs ? FS_CRASH_PCS : 128;
  int n = uc ? faststack_capture_ucontext(walk_context(uc), pcs, max) : 0;
  fs_crash_frames(&o, pcs, (size_t)n, FASTSTACK_PCS_UCONTEXT, 0);
  if (n == max)
    fs_out_str(&o, "...(the walk stopped at the buffer's end)\n");
  if (cfg.traceback >= FASTSTACK_TRACEBACK_ALL) {
    fs_out_char(&o, '\n');
    other_threads(&o, 0);
  }
  fs_out_str(&o, "\nfaststack: ");
  int i = fault_index(sig);
  if (i >= 0 && prev_action[i].sa_handler != SIG_DFL &&
      prev_action[i].sa_handler != SIG_IGN) {
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
  close_output(fd);
}

/* Another thread owns the report: wait for it to end the process. If it
 * chained to a previous handler instead, do likewise; if it never ends,
 * end the process by the first signal. */
static void wait_behind(int sig, siginfo_t *si, void *uc)
{
  tls_wait_uc = uc;
  tls_wait_sig = sig;
  int limit_ms = ((cfg.watchdog > 0 ? cfg.watchdog : 10) + 2) * 1000;
  for (int waited = 0; waited < limit_ms; waited += 5) {
    if (atomic_load(&crash_state) == ST_CHAINED) {
      tls_wait_uc = NULL;
      forward(sig, si, uc);
      return;
    }
    sleep_ms(5);
  }
  die_now(first_sig ? first_sig : sig);
}

static void fault_handler(int sig, siginfo_t *si, void *uc)
{
  int saved_errno = errno;
  fs_recover_on_fault(sig, si, uc);
  if (!fs_crash_reporting || atomic_load(&crash_state) == ST_CHAINED) {
    forward(sig, si, uc);
    errno = saved_errno;
    return;
  }
  int me = fs_gettid();
  int owner = 0;
  if (!atomic_compare_exchange_strong(&crash_owner, &owner, me)) {
    if (owner == me) {
      /* A fault inside the report (or the chained handler) itself. */
      static const char msg[] =
          "\nfaststack: another fault while reporting; ending the process\n";
      int fd = open_output();
      fs_write_all(fd, msg, sizeof msg - 1);
      close_output(fd);
      die_now(first_sig ? first_sig : sig);
    }
    wait_behind(sig, si, uc);
    errno = saved_errno;
    return;
  }
  first_sig = sig;
  atomic_store(&crash_state, ST_REPORTING);
  if (cfg.traceback != FASTSTACK_TRACEBACK_NONE) {
    arm_watchdog();
    if (cfg.traceback == FASTSTACK_TRACEBACK_CRASH) {
      /* Ask for the core the default action leaves: lift the soft core
       * size limit to the hard one and make sure we are dumpable. */
      struct rlimit rl;
      if (getrlimit(RLIMIT_CORE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_CORE, &rl);
      }
      prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
    }
    report(sig, si, uc, me);
    alarm(0);
  }
  int i = fault_index(sig);
  if (i >= 0 && prev_action[i].sa_handler != SIG_DFL &&
      prev_action[i].sa_handler != SIG_IGN) {
    /* Later faults go straight to that handler too, as without us. */
    atomic_store(&crash_state, ST_CHAINED);
    atomic_store(&crash_owner, 0);
  } else {
    atomic_store(&crash_state, ST_DYING);
  }
  forward(sig, si, uc);
  errno = saved_errno;
}

int fs_fault_handlers_install(void)
{
  int st = 0;
  if (!atomic_compare_exchange_strong(&handlers_state, &st, 1)) {
    while (atomic_load(&handlers_state) != 2) sleep_ms(1);
    return 0;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fault_handler;
  /* SA_NODEFER: a fault inside the report re-enters the handler (which
   * then ends the process by the first signal) instead of being forced
   * through the default action by the kernel under a different signal. */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  int rc = 0, err = 0;
  for (int i = 0; i < NFAULT; i++) {
    if (sigaction(fault_sigs[i], &sa, &prev_action[i]) != 0) {
      rc = -1;
      err = errno;
      memset(&prev_action[i], 0, sizeof prev_action[i]);
      prev_action[i].sa_handler = SIG_DFL;
    }
  }
  atomic_store(&handlers_state, 2);
  if (rc) errno = err;
  return rc;
}

/* ------------------------------------------------------------ thread dumps */

static _Atomic int dump_busy;
static char dump_stage[4096];

static int have_dump_lock(int wait_ms)
{
  for (int w = 0;; w++) {
    int z = 0;
    if (atomic_compare_exchange_strong(&dump_busy, &z, 1)) return 1;
    if (w >= wait_ms) return 0;
    sleep_ms(1);
  }
}

static void release_dump_lock(void)
{
  atomic_store(&dump_busy, 0);
}

/* The dump itself: the calling thread's stack (from uc when called from
 * the dump signal's handler), then every other thread's. */
__attribute__((noinline)) static int dump(int fd, unsigned flags,
                                          const void *uc, int sig)
{
  if (fs_threads_prepare() != 0) return -1;
  if (atomic_load(&crash_state) == ST_REPORTING) {
    errno = EBUSY;
    return -1;
  }
  if (!have_dump_lock(0)) {
    errno = EBUSY;
    return -1;
  }
  fs_out o;
  fs_out_init_fd(&o, fd, dump_stage, sizeof dump_stage);
  int me = fs_gettid();
  fs_out_str(&o, "\nthread dump");
  if (sig) {
    fs_out_str(&o, " (");
    fs_out_signal(&o, sig);
    fs_out_char(&o, ')');
  }
  fs_out_str(&o, ": pid ");
  fs_out_dec(&o, getpid());
  fs_out_str(&o, ", ");
  out_time(&o);
  fs_out_str(&o, "\n\n");
  uintptr_t pcs[FS_SLOT_PCS];
  int n;
  unsigned pcflags = 0;
  if (uc) {
    n = faststack_capture_ucontext(uc, pcs, FS_SLOT_PCS);
    pcflags = FASTSTACK_PCS_UCONTEXT;
  } else {
    /* skip 2: dump() and faststack_dump_threads (neither inlined): start
     * at the caller. */
    n = faststack_capture(pcs, FS_SLOT_PCS, 2);
  }
  fs_out_thread(&o, me);
  fs_out_str(&o, uc ? " [interrupted by the dump signal]:\n"
                    : " [dumping]:\n");
  fs_crash_frames(&o, pcs, (size_t)n, pcflags, (flags & FASTSTACK_DUMP_RAW));
  fs_out_char(&o, '\n');
  fs_slot *slots;
  int k = fs_threads_collect(cfg.thread_timeout_ms, &slots);
  int shown = 1;
  if (k > 0) {
    fs_threads_print(&o, slots, k, (flags & FASTSTACK_DUMP_NO_DEDUP) != 0,
                     (flags & FASTSTACK_DUMP_RAW) != 0);
    for (int i = 0; i < k; i++)
      if (atomic_load(&slots[i].state) == FS_SLOT_DONE) shown++;
  }
  size_t r = fs_out_finish(&o);
  release_dump_lock();
  return r == 0 ? shown : -1;
}

FASTSTACK_API __attribute__((noinline)) int
faststack_dump_threads(int fd, unsigned flags)
{
  if (fd < 0) {
    errno = EBADF;
    return -1;
  }
  int saved = errno;
  int r = dump(fd, flags, NULL, 0);
  if (r >= 0) errno = saved;
  return r;
}

static void on_dump_signal(int sig, siginfo_t *si, void *uc)
{
  (void)si;
  int saved = errno;
  if (fs_crash_reporting) {
    int fd = open_output();
    dump(fd, 0, uc, sig);
    close_output(fd);
  }
  errno = saved;
}

/* -------------------------------------------------------------- install */

/* "SIGUSR2", "USR2", "12", "SIGRTMIN+3", "RTMAX-1" -> a number; 0 bad. */
static int parse_signal(const char *s)
{
  if (!s || !*s) return 0;
  if (s[0] >= '0' && s[0] <= '9') {
    int v = atoi(s);
    return v > 0 && v < NSIG ? v : 0;
  }
  if (!strncmp(s, "SIG", 3)) s += 3;
  static const struct {
    const char *n;
    int v;
  } names[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"QUIT", SIGQUIT},
               {"HUP", SIGHUP},   {"PWR", SIGPWR},   {"URG", SIGURG},
               {"WINCH", SIGWINCH}, {"INT", SIGINT}, {"TERM", SIGTERM}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(s, names[i].n)) return names[i].v;
  if (!strncmp(s, "RTMIN", 5)) {
    int v = SIGRTMIN + (s[5] == '+' ? atoi(s + 6) : 0);
    return v <= SIGRTMAX ? v : 0;
  }
  if (!strncmp(s, "RTMAX", 5)) {
    int v = SIGRTMAX - (s[5] == '-' ? atoi(s + 6) : 0);
    return v >= SIGRTMIN ? v : 0;
  }
  return 0;
}

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

static int install_dump_signal(int sig)
{
  if (dump_sig_installed == sig) return 0;
  if (dump_sig_installed) {
    sigaction(dump_sig_installed, &prev_dump_action, NULL);
    dump_sig_installed = 0;
  }
  if (sig <= 0 || fault_index(sig) >= 0 || sig == SIGKILL ||
      sig == SIGSTOP || sig == fs_threads_signal()) {
    errno = EINVAL;
    return -1;
  }
  if (fs_threads_prepare() != 0) return -1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_dump_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, &prev_dump_action) != 0) return -1;
  dump_sig_installed = sig;
  return 0;
}

/* Two copies of faststack in one process (the `faststack run` preload and
 * a program linked with the library) would each report the same crash,
 * the second through chaining. The first copy to install marks the
 * process in the environment; later copies leave it in charge. */
#define FS_OWNER_ENV "FASTSTACK_CRASH_HANDLER_PID"

static int other_copy_installed(void)
{
  const char *v = getenv(FS_OWNER_ENV);
  return v && atoi(v) == (int)getpid() && !fs_crash_reporting;
}

FASTSTACK_API int faststack_crash_install(const faststack_crash_options *o)
{
  static _Atomic int installing;
  int z = 0;
  while (!atomic_compare_exchange_weak(&installing, &z, 1)) {
    z = 0;
    sleep_ms(1);
  }
  int rc = 0;
  if (other_copy_installed() && handlers_state == 0) goto done;

  cfg.traceback = o && o->traceback ? o->traceback
                                    : parse_traceback(getenv(
                                          "FASTSTACK_TRACEBACK"));
  if (cfg.traceback < FASTSTACK_TRACEBACK_NONE ||
      cfg.traceback > FASTSTACK_TRACEBACK_CRASH)
    cfg.traceback = FASTSTACK_TRACEBACK_SINGLE;
  const char *out = o && o->output ? o->output : getenv("FASTSTACK_OUTPUT");
  cfg.output[0] = '\0';
  if (out && *out && strlen(out) < sizeof cfg.output) {
    /* Opened at crash time, so it must not depend on the cwd then. */
    if (out[0] != '/' && getcwd(cfg.output, sizeof cfg.output - 1)) {
      size_t l = strlen(cfg.output);
      if (l + 1 + strlen(out) < sizeof cfg.output) {
        cfg.output[l] = '/';
        strcpy(cfg.output + l + 1, out);
      } else {
        cfg.output[0] = '\0';
      }
    } else {
      strcpy(cfg.output, out);
    }
  }
  cfg.registers = o && o->registers ? o->registers > 0
                                    : env_int("FASTSTACK_REGISTERS", 0) > 0;
  cfg.source = o && o->source ? o->source > 0
                              : env_int("FASTSTACK_CRASH_SOURCE", 0) > 0;
  cfg.watchdog = o && o->watchdog_seconds > 0
                     ? o->watchdog_seconds
                     : env_int("FASTSTACK_CRASH_WATCHDOG", 10);
  if (cfg.watchdog <= 0) cfg.watchdog = 10;
  cfg.thread_timeout_ms =
      o && o->thread_timeout_ms > 0 ? o->thread_timeout_ms : 1000;

  if (!crash_pcs) {
    void *p = mmap(NULL, FS_CRASH_PCS * sizeof(uintptr_t),
                   PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) crash_pcs = p;
  }
  /* The thread slots too: ALL mode and dumps must not map at crash time
   * if they can avoid it. */
  fs_threads_prepare();
  fs_altstack_ensure();
  if (fs_fault_handlers_install() != 0) rc = -1;

  int ds = o && o->dump_signal ? (o->dump_signal < 0 ? 0 : o->dump_signal)
                               : parse_signal(getenv("FASTSTACK_DUMP_SIGNAL"));
  cfg.dump_signal = ds;
  if (ds) {
    if (install_dump_signal(ds) != 0) rc = -1;
  } else if (dump_sig_installed) {
    sigaction(dump_sig_installed, &prev_dump_action, NULL);
    dump_sig_installed = 0;
  }

  int tm = table_mode(o);
  if (tm) fs_ctab_start(tm, o ? o->table_max_bytes : 0);

  char pid[24];
  int pn = 0;
  unsigned u = (unsigned)getpid();
  char tmp[24];
  do {
    tmp[pn++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  for (int i = 0; i < pn; i++) pid[i] = tmp[pn - 1 - i];
  pid[pn] = '\0';
  setenv(FS_OWNER_ENV, pid, 1);
  fs_crash_reporting = 1;
done:
  atomic_store(&installing, 0);
  return rc;
}

FASTSTACK_API int faststack_crash_uninstall(void)
{
  fs_crash_reporting = 0;
  if (dump_sig_installed) {
    sigaction(dump_sig_installed, &prev_dump_action, NULL);
    dump_sig_installed = 0;
  }
  return 0;
}

FASTSTACK_API int faststack_crash_table_wait(int timeout_ms)
{
  return fs_ctab_wait(timeout_ms);
}
