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

/* [AS-safe] The readable region holding sp: the calling thread's stack
 * from a per-thread cache, else the mapping that holds sp, read from
 * /proc/self/maps with raw syscalls. Returns 0 (and an empty region) when
 * it cannot be determined. */
int fs_stack_region(uintptr_t sp, fs_region *out);

/* [AS-safe] fs_stack_region past its cache: /proc/self/maps. */
int fs_stack_region_scan(uintptr_t sp, fs_region *out);

/* [AS-safe] Scans /proc/self/maps for the mapping holding addr; readable
 * and exec (either may be NULL) tell its permissions. 1 found, 0 not. */
int fs_maps_find(uintptr_t addr, fs_region *out, int *readable, int *exec);

/* [AS-safe] The context a walk from a fault should start at. After a
 * stack overflow sp lies beyond the stack, in no mapping a walk may
 * read, so the walk would stop at the faulting PC; the frame pointer
 * still points at the last complete frame record (frames are set up
 * before the access that faults). Then the walk starts from *copy, uc
 * with sp = the frame pointer: the PC stays exact, and only frame
 * records at and above it are read — frames may be missing (a frameless
 * leaf's caller), never wrong. On aarch64, where a frame record need not
 * sit at the top of its frame, the copy is marked (FS_UC_SP_LOWER_BOUND
 * in uc_flags) so that the walk takes that sp as a lower bound only.
 * Otherwise returns uc itself. */
const ucontext_t *fs_capture_fault_context(const ucontext_t *uc,
                                           ucontext_t *copy);

#endif /* FASTSTACK_CAPTURE_H */
