/* crash.h — declarations shared by the crash handler's files: crash.c
 * (the handler, install, the report), threads.c (all-threads capture),
 * altstack.c (per-thread signal stacks) and crashtable.c (the in-handler
 * lookup table). Nothing here is exported. */
#ifndef FASTSTACK_CRASH_H
#define FASTSTACK_CRASH_H

#include <signal.h>
#include <stdint.h>

#include "internal.h"

/* ------------------------------------------------------------ altstack.c */
/* Gives the calling thread a mmap'ed alternate signal stack with a guard
 * page below it, unless it already has one; freed at thread exit (a
 * pthread key destructor). 0 or -1. Not AS-safe. */
int fs_altstack_ensure(void);

/* ------------------------------------------------------------- threads.c */
/* Most PCs recorded per thread in a dump. */
#define FS_SLOT_PCS 100
/* Most threads a dump covers. */
#define FS_MAX_THREADS 4096

enum {
  FS_SLOT_EMPTY = 0,
  FS_SLOT_ASKED,    /* signalled, not answered yet */
  FS_SLOT_DONE,     /* pcs recorded */
  FS_SLOT_FAILED,   /* the signal could not be sent (thread gone) */
  FS_SLOT_WRITING,  /* the thread is recording its stack right now */
  FS_SLOT_TIMEOUT,  /* did not answer in time */
};

typedef struct fs_slot {
  _Atomic int state;
  int tid;
  int n;            /* PCs in pcs */
  int fault_sig;    /* the thread is itself in the fault handler: its
                       signal, and pcs start at its faulting PC */
  int group;        /* dedup: index of the first slot with this stack */
  int count;        /* dedup: threads sharing this stack (on the first) */
  uintptr_t pcs[FS_SLOT_PCS];
} fs_slot;

/* Maps the slots and installs the real-time handler; idempotent. AS-safe
 * in practice (mmap and sigaction are plain system calls). 0 or -1. */
int fs_threads_prepare(void);
/* The real-time signal the dumps use. */
int fs_threads_signal(void);
/* [AS-safe] Asks every thread but the caller to record its stack and
 * waits up to timeout_ms. Fills the slots and returns how many there are
 * (the caller's own is not among them), or -1 if not prepared. */
int fs_threads_collect(int timeout_ms, fs_slot **slots);
/* [AS-safe] Groups identical stacks (sets group/count). */
void fs_threads_dedup(fs_slot *slots, int n);
/* [AS-safe] Writes the slots' stacks (after dedup unless no_dedup). */
void fs_threads_print(fs_out *o, fs_slot *slots, int n, int no_dedup,
                      int raw);

/* --------------------------------------------------------------- crash.c */
/* [AS-safe] Writes pcs[0..n) as frames: Go style where the table knows
 * the PC (unless raw), module+offset+build-id otherwise; elides the
 * middle of long traces (keeps 50 innermost, 50 outermost). */
void fs_crash_frames(fs_out *o, const uintptr_t *pcs, size_t n,
                     unsigned flags, int raw);
/* [AS-safe] Thread name from /proc/self/task/TID/comm into buf. */
void fs_thread_name(int tid, char *buf, size_t cap);
/* [AS-safe] Writes 'thread TID "name"'. */
void fs_out_thread(fs_out *o, int tid);
/* [AS-safe] Writes a signal's name ("SIGSEGV", "SIGRTMIN+3"). */
void fs_out_signal(fs_out *o, int sig);
/* [AS-safe] The calling thread's saved fault context when it waits in the
 * fault handler behind another thread's report (else NULL). */
const void *fs_crash_waiting_context(int *sig);
/* [AS-safe] gettid. */
int fs_gettid(void);

/* ----------------------------------------------------------- crashtable.c */
/* One frame of a table lookup. Strings live in the table's read-only
 * mapping (valid while the caller holds the reader mark). */
typedef struct fs_ctab_frame {
  const char *function;   /* NULL unknown */
  const char *file;       /* NULL unknown */
  int line;               /* 0 unknown */
  int inlined;            /* 1: inlined into the next frame */
  uintptr_t func_offset;  /* lookup address minus the function's start */
  const char *text;       /* its source line, prepared with the table */
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
 * Returns how many were stored, 0 when no ready table covers it. */
int fs_ctab_lookup(uintptr_t start, const char *build_id, uintptr_t at,
                   fs_ctab_frame *out, int max);
/* Waits for the modules loaded now; 1 ready, 0 not. Not AS-safe. */
int fs_ctab_wait(int timeout_ms);
/* Asks the builder to look for new modules (after dlopen). */
void fs_ctab_kick(void);

#endif
