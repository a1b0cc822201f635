/* fault.c — the process's handlers for the fault signals, shared by the
 * fault sinks (sinks.h): recovery and the crash report register as
 * clients and are offered each fault in that order; then the fault goes
 * where it would have gone without faststack — the handler installed
 * before ours, or the default action — so the exit status and any core
 * dump are those of the original signal.
 *
 * Everything on the signal path is async-signal-safe: no malloc, no
 * stdio, no locks. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sinks/sinks.h"

static const int fault_sigs[] = {SIGSEGV, SIGBUS,  SIGILL, SIGFPE,
                                 SIGABRT, SIGTRAP, SIGSYS};
#define NFAULT ((int)(sizeof fault_sigs / sizeof fault_sigs[0]))

/* Handlers that were installed before ours, per fault signal. */
static struct sigaction prev_action[NFAULT];
/* 0 none, 1 being installed, 2 installed. */
static _Atomic int handlers_state;
static fs_fault_client _Atomic clients[FS_FAULT_CLIENTS];

int fs_fault_installed(void)
{
  return atomic_load(&handlers_state) == 2;
}

int fs_fault_index(int sig)
{
  for (int i = 0; i < NFAULT; i++)
    if (fault_sigs[i] == sig) return i;
  return -1;
}

void fs_fault_set_client(int slot, fs_fault_client fn)
{
  if (slot >= 0 && slot < FS_FAULT_CLIENTS) atomic_store(&clients[slot], fn);
}

int fs_fault_client_on(int slot)
{
  return slot >= 0 && slot < FS_FAULT_CLIENTS &&
         atomic_load(&clients[slot]) != NULL;
}

int fs_fault_chains(int sig)
{
  int i = fs_fault_index(sig);
  return i >= 0 && prev_action[i].sa_handler != SIG_DFL &&
         prev_action[i].sa_handler != SIG_IGN;
}

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

void fs_fault_forward(int sig, siginfo_t *si, void *uc)
{
  int i = fs_fault_index(sig);
  if (i < 0) fs_die_now(sig);
  struct sigaction p = prev_action[i];
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

/* The clients in order; a client that handles the fault for good does
 * not return (recovery jumps back into its guard) or passes it on
 * itself. */
static void fault_handler(int sig, siginfo_t *si, void *uc)
{
  int saved_errno = errno;
  for (int i = 0; i < FS_FAULT_CLIENTS; i++) {
    fs_fault_client fn = atomic_load(&clients[i]);
    if (fn) {
      fn(sig, si, uc);
      errno = saved_errno;
      if (i == FS_FAULT_CRASH) return; /* it passed the fault on */
    }
  }
  fs_fault_forward(sig, si, uc);
  errno = saved_errno;
}

int fs_fault_handlers_install(void)
{
  int st = 0;
  if (!atomic_compare_exchange_strong(&handlers_state, &st, 1)) {
    while (atomic_load(&handlers_state) != 2) fs_sleep_ms(1);
    return 0;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fault_handler;
  /* SA_NODEFER: a fault inside a report re-enters the handler (which
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
