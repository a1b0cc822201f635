/* walk.h — the capture stage's own declarations: the walk's cursor and
 * its steps (capture.c, unwind_fp.c, cfi.c), the per-thread stack-bounds
 * cache (stackbounds.c) and the unwind strategy (init.c). Private to
 * capture/ (and its tests). Everything here is [AS-safe]. */
#ifndef FASTSTACK_WALK_H
#define FASTSTACK_WALK_H

#include "capture/arch.h"
#include "capture/capture.h"

/* The per-thread cache of fs_stack_region (stackbounds.c). */
typedef struct fs_tls_stack {
  uintptr_t lo, hi;
  int valid; /* written last: a signal arriving mid-update sees 0 */
} fs_tls_stack;
extern __thread fs_tls_stack fs_tls_stack_cache
    __attribute__((tls_model("initial-exec")));

/* [AS-safe] fs_stack_region with its common case inline: sp on this
 * thread's cached stack. */
static inline int fs_stack_region_inline(uintptr_t sp, fs_region *out)
{
  if (FS_LIKELY(fs_tls_stack_cache.valid)) {
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (sp >= fs_tls_stack_cache.lo && sp < fs_tls_stack_cache.hi) {
      out->lo = fs_tls_stack_cache.lo;
      out->hi = fs_tls_stack_cache.hi;
      return 1;
    }
  }
  return fs_stack_region_scan(sp, out);
}
/* Load-time: the main thread's stack bounds (stackbounds.c). */
void fs_stack_init_main(void);

/* A frame walk's register state. pc is the frame's PC; sp its stack
 * pointer; fp its frame pointer (rbp, x29). */
typedef struct fs_cursor {
  uintptr_t pc, sp, fp;
  fs_region region; /* stack region the walk currently reads */
  /* [lo, hi) of the last object a return address was validated in: most
   * frames are in the same object as the previous one. */
  uintptr_t code_lo, code_hi;
  /* aarch64: the link register of an interrupted frame (its return
   * address while it has not saved it), and whether sp is the frame's
   * real stack pointer (a frame-record step only bounds it from below).
   * x86-64 reads neither. */
  uintptr_t lr;
  int sp_exact;
} fs_cursor;

/* Result of one unwind step. */
enum {
  FS_STEP_END = 0,    /* no valid caller: the walk ends */
  FS_STEP_OK = 1,     /* cursor moved to the caller; pc is a return
                             address */
  FS_STEP_SIGNAL = 2, /* cursor moved into the frame interrupted by a
                             signal; pc is exact */
};

/* Unwind strategies (FASTSTACK_UNWIND, read at load time by init.c). */
enum { FS_UNWIND_AUTO = 0, FS_UNWIND_FP = 1, FS_UNWIND_CFI = 2 };
extern int fs_unwind_mode;

/* [AS-safe] Frame-pointer rule (unwind_fp.c). */
int fs_fp_step(fs_cursor *c);
/* [AS-safe] Is pc inside a loaded object? Caches the object's range in the
 * cursor. */
int fs_code_valid(fs_cursor *c, uintptr_t pc);
/* [AS-safe] If pc is the start of the rt_sigreturn trampoline, moves
 * the cursor to the interrupted context saved at c->sp and returns 1. */
int fs_signal_frame_step(fs_cursor *c);
/* [AS-safe] Walks from cursor c, storing up to max PCs after skipping
 * skip frames. The cursor's current frame itself is not stored. */
int fs_walk(fs_cursor *c, uintptr_t *pcs, int max, int skip);

#endif /* FASTSTACK_WALK_H */
