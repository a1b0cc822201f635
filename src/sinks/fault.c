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

void fs_fault_forward(int sig, siginfo_t *si, void *uc)
{
  int i = fs_fault_index(sig);
  if (i < 0) fs_die_now(sig);
  fs_signal_forward(&prev_action[i], sig, si, uc);
}

/* The clients in order; a client that handles the fault for good does
 * not return (recovery jumps back into its guard) or passes it on
 * itself. */
static void fault_handler(int sig, siginfo_t *si, void *uc)
{
  int saved_errno = errno;
  /* faststack's own reads first: a probe of an unloaded object, a file
   * truncated under the symbolizer (common/fixup.c). */
  if (fs_fixup_fault(sig, si, uc)) {
    errno = saved_errno;
    return;
  }
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
    /* The fixups' own handler, if it was there, is replaced by ours,
     * which calls fs_fixup_fault itself: what it chained to is ours to
     * chain to. */
    fs_fixup_adopt(fault_sigs[i], &prev_action[i]);
  }
  atomic_store(&handlers_state, 2);
  if (rc) errno = err;
  return rc;
}
