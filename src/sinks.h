/* sinks.h — the contract between the fault-handling sinks: the crash
 * handler (crash.c, issue 6) owns the process's handlers for SIGSEGV,
 * SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP and SIGSYS; recovery
 * (recover.c, issue 7) owns the per-thread guards of faststack_recover.
 *
 * One handler serves both, so their order is fixed in one place: on a
 * fault the handler first offers it to recovery, which returns only when
 * the faulting thread is not inside a guard; then it reports and dies the
 * way the program would have died. */
#ifndef FASTSTACK_SINKS_H
#define FASTSTACK_SINKS_H

#include <signal.h>

#include "internal.h"

/* [AS-safe] Installs the shared fault handlers once (idempotent,
 * thread-safe; later calls only update nothing). Remembers the handlers
 * installed before ours, to chain to them. Returns 0 or -1 (errno). Called
 * by faststack_crash_install and by faststack_recover. When only recovery
 * asked for it, a fault outside any guard behaves exactly as without
 * faststack: the previous handler, or the default action. */
int fs_fault_handlers_install(void);

/* Is the crash reporter enabled (faststack_crash_install called)? */
extern volatile int fs_crash_reporting;

/* [AS-safe] Called first by the fault handler. If the calling thread is
 * inside faststack_recover, records the report (signal, trace from the
 * ucontext) into the guard and siglongjmps back to it: does not return.
 * Otherwise returns and the handler carries on. Implemented in
 * recover.c. */
void fs_recover_on_fault(int sig, siginfo_t *si, void *uc);

#endif
