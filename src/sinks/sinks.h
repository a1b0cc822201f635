/* sinks.h — the sinks stage: where traces go. Crash reports (crash.c)
 * and recovery (recover.c) share the process's fault handlers (fault.c);
 * thread dumps (dump.c) and crash reports collect every thread's stack
 * (threads.c) and print frames from the lookup table built ahead of time
 * (crashtable.c, frames.c); profiles aggregate stacks (stacktable.c,
 * profiler.c, pprof.c). Private to sinks/: the last stage, nothing uses
 * it but the public API.
 *
 * C++ exceptions (exceptions.c) keep the trace of each throw, recorded
 * by the ABI entry points cxxhooks.c interposes; terminate.c reports an
 * std::terminate.
 *
 * Files of this folder depend on each other in this order, with no
 * cycle: fault, altstack, output, supervisor, spawn, crashtable ->
 * frames -> threads -> dump -> crash; fault -> recover; stacktable -> pprof -> profiler;
 * exceptions -> cxxhooks; exceptions, output -> terminate -> crash. */
#ifndef FASTSTACK_SINKS_H
#define FASTSTACK_SINKS_H

#include <signal.h>

#include "format/format.h"

/* ---------------------------------------------------------------- fault.c
 * One handler for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP and
 * SIGSYS serves every fault sink. It offers each fault to its clients in
 * a fixed order — recovery first (it does not return when the thread is
 * inside a guard), then the crash report — and then passes the fault on
 * the way it would have gone without faststack: to the handler installed
 * before ours, or to the default action. Neither client calls the
 * other. */
enum { FS_FAULT_RECOVER = 0, FS_FAULT_CRASH = 1, FS_FAULT_CLIENTS = 2 };
typedef void (*fs_fault_client)(int sig, siginfo_t *si, void *uc);

/* Installs the shared handlers once (idempotent, thread-safe),
 * remembering the handlers installed before ours. 0 or -1 (errno). Not
 * AS-safe. */
int fs_fault_handlers_install(void);
/* Have the handlers been installed (by any client)? */
int fs_fault_installed(void);
/* Sets (fn) or clears (NULL) a client. Not AS-safe. */
void fs_fault_set_client(int slot, fs_fault_client fn);
/* [AS-safe] Is that client set? */
int fs_fault_client_on(int slot);
/* [AS-safe] Index of sig among the fault signals, or -1. */
int fs_fault_index(int sig);
/* [AS-safe] Does sig go to a handler installed before ours (not the
 * default action, not ignored)? */
int fs_fault_chains(int sig);
/* [AS-safe] Passes the fault on as the kernel would have without us, to
 * the handler installed before ours (fs_signal_forward). */
void fs_fault_forward(int sig, siginfo_t *si, void *uc);

/* ------------------------------------------------------------- altstack.c
 * Gives the calling thread a mmap'ed alternate signal stack with a guard
 * page below it, unless it already has one; freed at thread exit (a
 * pthread key destructor). 0 or -1. Not AS-safe. */
int fs_altstack_ensure(void);

/* --------------------------------------------------------------- output.c
 * Where crash reports and signal-triggered dumps go: stderr as it was at
 * install (a private duplicate), or the file FASTSTACK_OUTPUT names
 * (opened at report time, appended to, never blocking on open). */

/* How long a report's write may wait for its descriptor to take bytes
 * before the rest of the report is dropped (fs_write_bounded). */
#define FS_OUTPUT_STALL_MS 1000

/* Sets the output: NULL or "" for stderr; a relative path is made
 * absolute now (the cwd may change before a crash). Takes the private
 * duplicate of stderr. Not AS-safe. */
void fs_output_set(const char *path);
/* [AS-safe] A descriptor for one report (-1: nowhere to write), and its
 * release. */
int fs_output_open(void);
void fs_output_close(int fd);
/* [AS-safe] stderr as it was at install (see output.c); -1 if gone. */
int fs_output_stderr(void);
/* [AS-safe] The pid of a process whose crash report is being written (0:
 * none): dumps wait their turn. A pid: a vfork child's report (in our
 * memory) does not stop the parent's dumps. */
extern _Atomic int fs_output_reporting;
/* [AS-safe] Is this process writing a crash report? */
int fs_output_busy(void);

/* ----------------------------------------------------------- supervisor.c
 * The supervisor of `faststack run` (FASTSTACK_REPORT_SOCKET), which
 * symbolizes and prints the reports it is handed. */

/* The byte the supervisor answers once it has read a whole report. */
#define FS_SUPERVISOR_RECEIPT 'k'
/* Reads FASTSTACK_REPORT_SOCKET. Not AS-safe. */
void fs_supervisor_setup(void);
/* [AS-safe] Is there a supervisor to try? */
int fs_supervisor_present(void);
/* [AS-safe] A connection to the supervisor (non-blocking; a full backlog
 * is retried up to FS_OUTPUT_STALL_MS), or -1. */
int fs_supervisor_connect(void);
/* [AS-safe] Ends the hand-off on fd (closes it): sent says the report
 * was written whole; then waits up to FS_OUTPUT_STALL_MS for the
 * receipt. 1: the supervisor has the report; 0: print it yourself. */
int fs_supervisor_finish(int fd, int sent);

/* ---------------------------------------------------------------- spawn.c
 * The crash report's symbolizer process, started at crash time. */
typedef struct fs_spawned {
  int pid, wfd;
  struct sigaction old_chld;
} fs_spawned;
/* Chooses the helper (FASTSTACK_SYMBOLIZER, the faststack command next
 * to the library, the program itself) and prepares its path, arguments
 * and environment in a mapping of their own; format: FASTSTACK_FORMAT_*
 * of its output. Not AS-safe. */
void fs_spawn_setup(int format);
/* Which helper was chosen ("program", "command", "self"), or NULL: none
 * (FASTSTACK_SYMBOLIZER=none, a secure-mode program, no /proc). */
const char *fs_spawn_how(void);
/* [AS-safe] Starts the helper with its output on out_fd and waits for
 * its execve (at most a second, never past deadline_ns, CLOCK_MONOTONIC):
 * returns the descriptor to write the raw report to (fs_spawn_finish
 * closes it), or -1 (no helper, or its execve failed or did not finish
 * in time: print the report yourself). SIGCHLD has its default action
 * until fs_spawn_finish. */
int fs_spawn_start(int out_fd, int64_t deadline_ns, fs_spawned *sp);
/* [AS-safe] Closes the report's pipe and waits for the helper until
 * deadline_ns (CLOCK_MONOTONIC; then it is killed). 1: it printed the
 * report (exit status 0 or 1); 0: print it yourself. */
int fs_spawn_finish(fs_spawned *sp, int64_t deadline_ns);

/* ----------------------------------------------------------- crashtable.c
 * The lookup table a signal handler symbolizes with. */
typedef struct fs_ctab_frame {
  const char *function;  /* NULL unknown */
  const char *file;      /* NULL unknown */
  int line;              /* 0 unknown */
  int inlined;           /* 1: inlined into the next frame */
  uintptr_t func_offset; /* lookup address minus the function's start */
  const char *text;      /* its source line, prepared with the table */
} fs_ctab_frame;

/* Starts the builder (mode 1 background, 2 also synchronously now). 0/-1.
 * Not AS-safe. */
int fs_ctab_start(int mode, size_t max_bytes);
/* [AS-safe] Marks/unmarks a reader: tables are not unmapped while one is
 * active. */
void fs_ctab_enter(void);
void fs_ctab_leave(void);
/* [AS-safe] Frames for the module-relative address at in the module
 * [start, end) with the given build-id (hex, may be ""); innermost first.
 * Returns how many were stored, 0 when no ready table covers it. Strings
 * live in the table's read-only mapping (valid while the caller holds
 * the reader mark). */
int fs_ctab_lookup(uintptr_t start, const char *build_id, uintptr_t at,
                   fs_ctab_frame *out, int max);
/* Waits for the modules loaded now; 1 ready, 0 not. Not AS-safe. */
int fs_ctab_wait(int timeout_ms);

/* --------------------------------------------------------------- frames.c */
enum {
  FS_SINK_RAW = 1,    /* raw lines only (no table) */
  FS_SINK_SOURCE = 2, /* read source lines now (FASTSTACK_CRASH_SOURCE) */
  FS_SINK_COLOR = 4,  /* ANSI colours (the output is a terminal) */
};
/* Colour in reports and dumps: the environment (NO_COLOR, FORCE_COLOR)
 * is read when the handler is installed (fs_sink_color_setup, not
 * AS-safe); whether the output is a terminal when a report is written.
 * fs_sink_color: [AS-safe] FS_SINK_COLOR or 0 for output to fd. */
extern int fs_sink_color_env;
void fs_sink_color_setup(void);
unsigned fs_sink_color(int fd);
/* [AS-safe] Writes pcs[0..n) as frames: Go style (fs_format_go_frame)
 * where the table knows the PC, the raw line otherwise; elides the middle
 * of long traces like every other format. */
void fs_sink_frames(fs_out *o, const uintptr_t *pcs, size_t n, unsigned flags,
                    unsigned mode);

/* -------------------------------------------------------------- threads.c */
/* Most PCs recorded per thread in a dump. */
#define FS_SLOT_PCS 100
/* Most threads a dump covers. */
#define FS_MAX_THREADS 4096

enum {
  FS_SLOT_EMPTY = 0,
  FS_SLOT_ASKED,   /* signalled, not answered yet */
  FS_SLOT_DONE,    /* pcs recorded */
  FS_SLOT_FAILED,  /* the signal could not be sent (thread gone) */
  FS_SLOT_WRITING, /* the thread is recording its stack right now */
  FS_SLOT_TIMEOUT, /* did not answer in time */
};

typedef struct fs_slot {
  _Atomic int state;
  int tid;
  int n;         /* PCs in pcs */
  int fault_sig; /* the thread is itself in the fault handler: its
                       signal, and pcs start at its faulting PC */
  int group;     /* dedup: index of the first slot with this stack */
  int count;     /* dedup: threads sharing this stack (on the first) */
  uintptr_t pcs[FS_SLOT_PCS];
} fs_slot;

/* How long a collection waits for the threads to answer (ms). */
extern int fs_threads_timeout_ms;
/* Maps the slots and installs the real-time handler; idempotent (what
 * faststack_dump_prepare does). [AS-safe]: mmap and sigaction are plain
 * system calls, and a call that finds the setup running waits for it a
 * bounded time, not at all in the thread running it (a handler that
 * interrupted it): then -1 with errno EBUSY. 0, or -1. */
int fs_threads_prepare(void);
/* The real-time signal the dumps use. */
int fs_threads_signal(void);
/* [AS-safe] One collection at a time: waits up to wait_ms for the lock;
 * 1 taken, 0 not. */
int fs_threads_lock(int wait_ms);
void fs_threads_unlock(void);
/* [AS-safe] Asks every thread but the caller to record its stack and
 * waits up to fs_threads_timeout_ms. Fills the slots and returns how many
 * there are (the caller's own is not among them), or -1 if not prepared.
 * Caller holds the lock. */
int fs_threads_collect(fs_slot **slots);
/* [AS-safe] Groups identical stacks (sets group/count). */
void fs_threads_dedup(fs_slot *slots, int n);
/* [AS-safe] Writes the slots' stacks (after dedup unless no_dedup);
 * mode as for fs_sink_frames. */
void fs_threads_print(fs_out *o, fs_slot *slots, int n, int no_dedup,
                      unsigned mode);
/* [AS-safe] The calling thread waits in the fault handler behind another
 * thread's report (uc its fault context; NULL when it stops waiting): a
 * dump then shows where it faulted, not where it waits. */
void fs_threads_note_waiting(const void *uc, int sig);

/* ----------------------------------------------------------------- dump.c */
/* Installs (sig > 0) or removes (0) the signal that dumps every thread's
 * stack to the output; raw and source as for fs_sink_frames. 0 or -1
 * (errno EINVAL for a fault signal or one faststack uses). Not AS-safe. */
int fs_dump_signal_set(int sig, unsigned mode);

/* ----------------------------------------------------------- exceptions.c
 * The trace of every C++ throw (libstdc++'s ABI on x86-64), kept in a
 * table keyed by the thrown object's address until the object is
 * destroyed. Nothing here links against libstdc++: its functions are
 * looked up with dlsym when the process has it. */

/* The functions of the C++ runtime the interposers pass each call on
 * to. */
typedef void (*fs_cxa_throw_fn)(void *obj, void *type, void (*dest)(void *));
typedef void (*fs_cxa_rethrow_fn)(void);
typedef void (*fs_rethrow_ptr_fn)(void *ep);
typedef struct fs_cxx_next {
  fs_cxa_throw_fn cxa_throw;
  fs_cxa_rethrow_fn cxa_rethrow;
  fs_rethrow_ptr_fn rethrow_exception;
} fs_cxx_next;

/* The next definitions of the interposed functions (the C++ runtime's,
 * or another interposer's such as a sanitizer's), looked up once; a
 * member is NULL when there is none. Not AS-safe. */
const fs_cxx_next *fs_cxx_next_fns(void);
/* Called by the __cxa_throw interposer before passing the throw on:
 * records the throw's trace (skip: frames between the thrower and this
 * call) and returns the destructor to pass on — a wrapper that frees the
 * record, or dest itself when nothing was recorded. */
void (*fs_exc_on_throw(void *obj, void (*dest)(void *), int skip))(void *);
/* Called before a rethrow of the exception being handled (NULL obj) or of
 * obj (std::rethrow_exception): records this site only when the object
 * has no trace yet (it was never thrown, as with std::make_exception_ptr);
 * a rethrow keeps the original site. */
void fs_exc_on_rethrow(void *obj, int skip);

/* The exception being handled on this thread (the innermost active
 * catch, what std::current_exception would return): its object and
 * std::type_info, 1; 0 when there is none or it is not a C++ exception
 * of libstdc++. */
int fs_exc_current(void **obj, const void **type);
/* The recorded trace of obj into pcs[0..max): the count (0: none), and
 * the throwing thread's id in *tid. */
int fs_exc_trace(const void *obj, uintptr_t *pcs, int max, int *tid);
/* Writes "<type>" and, when the type derives from std::exception,
 * ": <what()>"; json: as two JSON members "exception" and "what". */
void fs_exc_describe(fs_out *o, void *obj, const void *type, int json);
/* Writes the recorded trace of obj in opts' format (JSON: the trace
 * object), with its header line ("thrown in thread T:" unless
 * opts->header says otherwise). */
void fs_exc_write_trace(fs_out *o, const void *obj,
                        const faststack_format_options *opts);
/* Records live now (for tests: each exception destroyed frees its
 * own). */
long fs_exc_live_records(void);
/* Bytes one record of n PCs takes (for the benchmark's report). */
size_t fs_exc_record_bytes(int n);
/* Is exception support on? 1: FASTSTACK_EXCEPTIONS is not 0 and the C++
 * runtime is libstdc++, its layout checked (once, at the first call that
 * finds it loaded); 0: off; -1: no libstdc++ loaded yet (asked again
 * later: a C program may load it). */
int fs_exc_enabled(void);
/* A symbol of the C++ runtime (libstdc++.so.6 when loaded, else the
 * process's global scope), or NULL. */
void *fs_cxx_sym(const char *name);

/* ------------------------------------------------------------ terminate.c
 * Installs the std::terminate handler that reports the uncaught
 * exception (type, what(), its throw site) or the other reason, then ends
 * the process as libstdc++ would (abort). Does nothing in a process
 * without libstdc++ (a later first throw tries again) or with
 * FASTSTACK_EXCEPTIONS=0. Not AS-safe. */
void fs_terminate_install(void);
/* Installs it now if it was wanted before libstdc++ was loaded (the
 * __cxa_throw interposer calls this; cheap once installed). */
void fs_terminate_retry(void);
/* [AS-safe] Is a std::terminate report being written (the abort that
 * follows is its end, not a new crash)? */
int fs_terminate_reported(void);

#endif /* FASTSTACK_SINKS_H */
