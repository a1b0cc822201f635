/* unwind_fp.h — the frame-pointer rule, inline: a walk step must cost
 * about a nanosecond, so the common case (frame in the stack region,
 * return address in the same object as the previous one, not a signal
 * trampoline) takes no call. The rare paths live in unwind_fp.c.
 *
 * With frame pointers (x86-64 psABI, -fno-omit-frame-pointer) each frame
 * starts with the caller's rbp at [rbp] and the return address at
 * [rbp+8]: the stack is a linked list. aarch64's frame records have the
 * same shape ({x29, x30} at x29), anywhere in the frame: there the
 * caller's sp is known only to lie above the record (arch_aarch64.h). The walk trusts nothing: the frame
 * pointer must lie in the stack region above the current sp (so the chain
 * strictly moves up and cannot loop), be 16-byte aligned (the psABI keeps
 * rsp 16-aligned at calls, so a pushed rbp is too), and the return address
 * must point into a loaded object. */
#ifndef FASTSTACK_UNWIND_FP_H
#define FASTSTACK_UNWIND_FP_H

#include <string.h>

#include "capture/walk.h"

/* The main executable's [lo, hi), set once at load time and read-only
 * after: a walk starts with it as its cached object range, since most
 * captures start there. */
extern uintptr_t fs_exe_code_lo, fs_exe_code_hi;
/* libc's range, likewise (it is never unloaded): most walks end in it. */
extern uintptr_t fs_libc_code_lo, fs_libc_code_hi;

/* [AS-safe] Starts a cursor's cached object range. */
static inline void fs_cursor_init_code(fs_cursor *c)
{
  c->code_lo = fs_exe_code_lo;
  c->code_hi = fs_exe_code_hi;
}

/* [AS-safe] Slow path of fs_code_valid: asks _dl_find_object. */
int fs_code_lookup(fs_cursor *c, uintptr_t pc);

/* [AS-safe] Is pc inside a loaded object? Caches the object's range.
 * The object's first byte never counts: it holds the ELF header, never
 * code, and a return address there would have its call instruction
 * before the object (a stack word that happens to equal a library's
 * load address is not a frame). */
static inline int fs_code_valid_inline(fs_cursor *c, uintptr_t pc)
{
  if (FS_LIKELY(pc > c->code_lo && pc < c->code_hi)) return 1;
  return fs_code_lookup(c, pc);
}

/* [AS-safe] One frame-pointer step; FS_STEP_OK or FS_STEP_END. */
FS_NO_SANITIZE static inline int fs_fp_step_inline(fs_cursor *c)
{
  uintptr_t fp = c->fp;
  if (FS_UNLIKELY(fp < c->sp || fp > c->region.hi - 16 ||
                  (fp & FS_ARCH_FP_ALIGN) || c->region.hi < 16))
    return FS_STEP_END;
  const uintptr_t *frame = (const uintptr_t *)fp;
  uintptr_t ra = fs_arch_strip_ra(frame[1]);
  if (FS_UNLIKELY(!fs_code_valid_inline(c, ra))) return FS_STEP_END;
  c->pc = ra;
  c->fp = frame[0];
  c->sp = fp + 16;
  if (!FS_ARCH_FP_SP_EXACT) c->sp_exact = 0; /* x86-64: no store */
  return FS_STEP_OK;
}

/* [AS-safe] Slow part of the signal-frame check (unwind_fp.c). */
int fs_signal_frame_enter(fs_cursor *c);

/* Address of the signal return trampoline (FS_SIGRETURN_HEAD in
 * arch.h), learned at load time (fs_sigreturn_init): glibc's
 * sa_restorer on x86-64, the kernel's code on aarch64; 0 when
 * unknown, and then every return address's code bytes are compared
 * instead (slower, same result). */
extern uintptr_t fs_sigreturn_pc;
/* [AS-safe] Is the code at pc the trampoline's (code in [lo, hi) is
 * known readable)? */
int fs_sigreturn_code_at(uintptr_t pc, uintptr_t lo, uintptr_t hi);
void fs_sigreturn_init(void);
void fs_code_ranges_init(void);

/* [AS-safe] If c->pc is the rt_sigreturn trampoline, moves the cursor to
 * the interrupted context and returns 1. Usually one compare. */
FS_NO_SANITIZE static inline int fs_signal_frame_inline(fs_cursor *c)
{
  if (FS_LIKELY(fs_sigreturn_pc)) {
    if (FS_LIKELY(c->pc != fs_sigreturn_pc)) return 0;
    return fs_signal_frame_enter(c);
  }
  if (!fs_sigreturn_code_at(c->pc, c->code_lo, c->code_hi)) return 0;
  return fs_signal_frame_enter(c);
}

/* [AS-safe] Runs frame-pointer steps while they take the common path,
 * with the state in registers (the cursor in memory would be reloaded
 * after every store to pcs). Stores each new PC into pcs[*n..max) after
 * dropping *skip of them. Returns when a step needs the general path (an
 * unknown object, a signal trampoline) with the cursor at the last frame
 * reached — the caller then takes one general step — or when the walk
 * must end or pcs is full; it returns FS_STEP_END only for the former. */
FS_NO_SANITIZE static inline int fs_fp_run(fs_cursor *c, uintptr_t *pcs, int *n,
                                           int max, int *skip)
{
  uintptr_t fp = c->fp, sp = c->sp, pc = c->pc;
  const uintptr_t hi = c->region.hi, lo_code = c->code_lo, hi_code = c->code_hi,
                  sigret = fs_sigreturn_pc;
  int k = *n, sk = *skip, st = FS_STEP_OK;
  while (k < max) {
    /* A signal frame may switch stacks: the general step handles it
     * before any bounds check against the current region. */
    if (FS_UNLIKELY(pc == sigret || !sigret)) break;
    if (FS_UNLIKELY(fp < sp || fp > hi - 16 || (fp & FS_ARCH_FP_ALIGN) ||
                    hi < 16)) {
      st = FS_STEP_END;
      break;
    }
    uintptr_t ra = fs_arch_strip_ra(((const uintptr_t *)fp)[1]);
    if (FS_UNLIKELY(ra <= lo_code || ra >= hi_code))
      break; /* the general step decides */
    pc = ra;
    sp = fp + 16;
    fp = ((const uintptr_t *)fp)[0];
    if (sk > 0) sk--;
    else pcs[k++] = pc;
  }
  if (!FS_ARCH_FP_SP_EXACT && sp != c->sp) c->sp_exact = 0;
  c->fp = fp;
  c->sp = sp;
  c->pc = pc;
  *n = k;
  *skip = sk;
  return st;
}

#endif
