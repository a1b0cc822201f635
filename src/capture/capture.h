/* capture.h — the capture stage: program counters of a thread, with no
 * allocation and no locks (faststack_capture, faststack_capture_ucontext
 * in the public header). What later stages may use beyond the public API:
 * the stack region a walk reads, /proc/self/maps lookups, and the context
 * a walk from a fault should start at. Everything here is [AS-safe]. */
#ifndef FASTSTACK_CAPTURE_H
#define FASTSTACK_CAPTURE_H

#include <ucontext.h>

#include "capture/arch.h"
#include "modules/modules.h"

/* The stack region a frame walk may read: [lo, hi). */
typedef struct fs_region {
  uintptr_t lo, hi;
} fs_region;

/* [AS-safe] The stack region holding sp: the calling thread's stack from
 * a per-thread cache, its alternate signal stack, else the mapping that
 * holds sp, read from /proc/self/maps with raw syscalls — only when that
 * mapping is a stack (the main thread's "[stack]", or an anonymous
 * read-write mapping right above a PROT_NONE guard page: thread stacks,
 * guarded fiber stacks). Returns 0 (and an empty region) otherwise: a
 * stack pointer in the heap or any other memory is not walked. */
int fs_stack_region(uintptr_t sp, fs_region *out);

/* Caches the calling thread's stack bounds from pthread_getattr_np, so a
 * thread whose stack the program allocated (pthread_attr_setstack, no
 * guard page) is walked too. Not AS-safe: call at thread start
 * (faststack_crash_thread_init and faststack_profiler_thread_init do). */
void fs_stack_thread_init(void);

/* [AS-safe] fs_stack_region past its cache: /proc/self/maps. */
int fs_stack_region_scan(uintptr_t sp, fs_region *out);

/* One line of /proc/self/maps. */
typedef struct fs_maps_line {
  uintptr_t lo, hi;
  char perms[5]; /* "rw-p" */
  char name[64]; /* the path's first bytes; "" for an anonymous mapping */
} fs_maps_line;

/* [AS-safe] Calls fn for each mapping of /proc/self/maps, in address
 * order (raw open/read, no line buffer), until fn returns non-zero.
 * Returns that value, 0 at the end, -1 when the file cannot be read. */
int fs_maps_each(int (*fn)(const fs_maps_line *l, void *arg), void *arg);

/* [AS-safe] Scans /proc/self/maps for the mapping holding addr; readable
 * and exec (either may be NULL) tell its permissions. 1 found, 0 not. */
int fs_maps_find(uintptr_t addr, fs_region *out, int *readable, int *exec);

/* [AS-safe] The stack sp has run off the end of: sp lies at most
 * 1 MiB below the low end of a stack (the thread's cached one, or a
 * mapping fs_stack_region accepts), in its guard page or in no mapping
 * at all — a stack overflow. 1 with that stack's region in *out, else
 * 0 (sp in readable memory, or anywhere else, is not walked). */
int fs_stack_below(uintptr_t sp, fs_region *out);

/* [AS-safe] The context a walk from a fault should start at. After a
 * stack overflow sp lies beyond the stack, in no mapping a walk may
 * read. faststack_capture_ucontext steps from such a context by the
 * faulting PC's CFI (the frame's CFA lies inside the stack; only slots
 * inside it are read), so uc itself is returned when that step works.
 * Otherwise (no CFI for the PC, FASTSTACK_UNWIND=fp) the frame pointer
 * may still point at the last complete frame record (frames are set up
 * before the access that faults). Then the walk starts from *copy, uc
 * with sp = the frame pointer: the PC stays exact, and only frame
 * records at and above it are read — frames may be missing (a frameless
 * leaf's caller), never wrong. On aarch64, where a frame record need not
 * sit at the top of its frame, the copy is marked (FS_UC_SP_LOWER_BOUND
 * in uc_flags) so that the walk takes that sp as a lower bound only.
 * Otherwise returns uc itself. */
const ucontext_t *fs_capture_fault_context(const ucontext_t *uc,
                                           ucontext_t *copy);

/* [AS-safe] Walks from the fault context uc out to the frame whose stack
 * pointer is stop (on the stack that holds stop) and stores in *mask the
 * signal mask saved by the outermost signal frame crossed on the way:
 * the mask of the code the first of the nested handlers interrupted (what
 * that handler's sigreturn would have restored). Returns 1 when a signal
 * frame was crossed, 0 when none was (or the walk could not go on). */
int fs_capture_outer_mask(const ucontext_t *uc, uintptr_t stop, sigset_t *mask);

#endif /* FASTSTACK_CAPTURE_H */
