/* signals.c — names and meanings of signals and of their si_code, from
 * the kernel's siginfo.h: one table for crash reports, recovery reports,
 * thread dumps and the CLI, so that they all say the same thing. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/common.h"

typedef struct sig_info {
  int sig;
  const char *name, *desc;
} sig_info;

static const sig_info sigs[] = {
    {SIGSEGV, "SIGSEGV", "segmentation violation"},
    {SIGBUS, "SIGBUS", "bus error"},
    {SIGILL, "SIGILL", "illegal instruction"},
    {SIGFPE, "SIGFPE", "arithmetic exception"},
    {SIGABRT, "SIGABRT", "aborted"},
    {SIGTRAP, "SIGTRAP", "trace/breakpoint trap"},
    {SIGSYS, "SIGSYS", "bad system call"},
    {SIGQUIT, "SIGQUIT", "quit"},
    {SIGUSR1, "SIGUSR1", "user signal 1"},
    {SIGUSR2, "SIGUSR2", "user signal 2"},
    {SIGHUP, "SIGHUP", "hangup"},
    {SIGINT, "SIGINT", "interrupt"},
    {SIGTERM, "SIGTERM", "terminated"},
    {SIGALRM, "SIGALRM", "alarm clock"},
    {SIGPWR, "SIGPWR", "power failure"},
    {SIGWINCH, "SIGWINCH", "window changed"},
    {SIGURG, "SIGURG", "urgent I/O condition"},
    {SIGPIPE, "SIGPIPE", "broken pipe"},
    {SIGKILL, "SIGKILL", "killed"},
};

static const sig_info *find_sig(int sig)
{
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (sigs[i].sig == sig) return &sigs[i];
  return NULL;
}

const char *fs_signal_name(int sig)
{
  const sig_info *s = find_sig(sig);
  return s ? s->name : NULL;
}

const char *fs_signal_desc(int sig)
{
  const sig_info *s = find_sig(sig);
  return s ? s->desc : "signal";
}

/* ------------------------------------------------------------ si_code */

typedef struct code_info {
  const char *name, *desc;
} code_info;

static const code_info segv[] = {
    {"SEGV_MAPERR", "address not mapped to object"},
    {"SEGV_ACCERR", "invalid permissions for mapped object"},
    {"SEGV_BNDERR", "failed address bound checks"},
    {"SEGV_PKUERR", "failed protection key checks"}};
static const code_info bus[] = {
    {"BUS_ADRALN", "invalid address alignment"},
    {"BUS_ADRERR", "nonexistent physical address (e.g. past the end of a "
                   "mapped file)"},
    {"BUS_OBJERR", "object-specific hardware error"},
    {"BUS_MCEERR_AR", "hardware memory error, action required"},
    {"BUS_MCEERR_AO", "hardware memory error, action optional"}};
static const code_info ill[] = {{"ILL_ILLOPC", "illegal opcode"},
                                {"ILL_ILLOPN", "illegal operand"},
                                {"ILL_ILLADR", "illegal addressing mode"},
                                {"ILL_ILLTRP", "illegal trap"},
                                {"ILL_PRVOPC", "privileged opcode"},
                                {"ILL_PRVREG", "privileged register"},
                                {"ILL_COPROC", "coprocessor error"},
                                {"ILL_BADSTK", "internal stack error"}};
static const code_info fpe[] = {
    {"FPE_INTDIV", "integer divide by zero"},
    {"FPE_INTOVF", "integer overflow"},
    {"FPE_FLTDIV", "floating-point divide by zero"},
    {"FPE_FLTOVF", "floating-point overflow"},
    {"FPE_FLTUND", "floating-point underflow"},
    {"FPE_FLTRES", "floating-point inexact result"},
    {"FPE_FLTINV", "invalid floating-point operation"},
    {"FPE_FLTSUB", "subscript out of range"}};
static const code_info trap[] = {
    {"TRAP_BRKPT", "process breakpoint"},
    {"TRAP_TRACE", "process trace trap"},
    {"TRAP_BRANCH", "process taken branch trap"},
    {"TRAP_HWBKPT", "hardware breakpoint/watchpoint"}};
static const code_info sys[] = {
    {"SYS_SECCOMP", "seccomp filter denied a system call"}};

static const code_info unknown = {"?", "unknown"};

#define PICK(tab)                                                              \
  return code >= 1 && code <= (int)(sizeof tab / sizeof tab[0])                \
             ? &tab[code - 1]                                                  \
             : NULL

/* The per-signal codes (positive: set by the kernel for a fault). */
static const code_info *fault_code(int sig, int code)
{
  switch (sig) {
  case SIGSEGV: PICK(segv);
  case SIGBUS: PICK(bus);
  case SIGILL: PICK(ill);
  case SIGFPE: PICK(fpe);
  case SIGTRAP: PICK(trap);
  case SIGSYS: PICK(sys);
  default: return NULL;
  }
}
#undef PICK

static const code_info *code_of(int sig, int code)
{
  static const code_info user = {"SI_USER", "sent by kill"};
  static const code_info tkill = {"SI_TKILL", "sent by tkill/raise"};
  static const code_info queue = {"SI_QUEUE", "sent by sigqueue"};
  static const code_info gp = {"SI_KERNEL", "general protection fault "
                                            "(e.g. a non-canonical address)"};
  static const code_info kernel = {"SI_KERNEL", "sent by the kernel"};
  const code_info *c = fault_code(sig, code);
  if (c) return c;
  switch (code) {
  case SI_USER: return &user;
  case SI_TKILL: return &tkill;
  case SI_QUEUE: return &queue;
  case SI_KERNEL: return sig == SIGSEGV ? &gp : &kernel;
  default: return &unknown;
  }
}

const char *fs_signal_code_name(int sig, int code)
{
  return code_of(sig, code)->name;
}

const char *fs_signal_code_desc(int sig, int code)
{
  return code_of(sig, code)->desc;
}

void fs_out_signal(fs_out *o, int sig)
{
  const char *n = fs_signal_name(sig);
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

void fs_out_signal_code(fs_out *o, int sig, int code)
{
  const code_info *c = code_of(sig, code);
  fs_out_str(o, "code=");
  fs_out_dec(o, code);
  fs_out_str(o, " (");
  if (c != &unknown) {
    fs_out_str(o, c->name);
    fs_out_str(o, ": ");
  }
  fs_out_str(o, c->desc);
  fs_out_char(o, ')');
}

int fs_signal_is_fault(int sig, const siginfo_t *si)
{
  return si && si->si_code > 0 &&
         (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
          sig == SIGTRAP);
}

int fs_signal_parse(const char *s)
{
  if (!s || !*s) return 0;
  if (s[0] >= '0' && s[0] <= '9') {
    int v = atoi(s);
    return v > 0 && v < NSIG ? v : 0;
  }
  if (!strncmp(s, "SIG", 3)) s += 3;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    if (!strcmp(s, sigs[i].name + 3)) return sigs[i].sig;
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

/* ------------------------------------------------- passing a signal on */

void fs_die_now(int sig)
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

static void set_default(int sig)
{
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
}

void fs_signal_forward(const struct sigaction *prev, int sig, siginfo_t *si,
                       void *uc)
{
  struct sigaction p = *prev;
  int fault = fs_signal_is_fault(sig, si);
  if (p.sa_handler == SIG_IGN && !fault && !(si && si->si_code == SI_KERNEL) &&
      sig != SIGABRT)
    return; /* an ignored signal sent by kill stays ignored */
  if (p.sa_handler == SIG_DFL || p.sa_handler == SIG_IGN) {
    /* The kernel forces a synchronous fault through SIG_IGN too. */
    set_default(sig);
    /* Returning re-executes the faulting instruction, which now kills the
     * process with the default action: the core then shows the fault
     * itself, not our handler. SIGTRAP returns past its int3, so it is
     * raised instead, like every signal that was sent. */
    if (fault && sig != SIGTRAP) return;
    fs_die_now(sig);
  }
  if (p.sa_flags & SA_RESETHAND) set_default(sig);
  sigset_t mask = p.sa_mask, old;
  if (!(p.sa_flags & SA_NODEFER)) sigaddset(&mask, sig);
  pthread_sigmask(SIG_BLOCK, &mask, &old);
  if (p.sa_flags & SA_SIGINFO) p.sa_sigaction(sig, si, uc);
  else p.sa_handler(sig);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}
