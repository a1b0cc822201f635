/* capture.c — the capture stage: program counters of a thread, with no
 * allocation and no locks, callable from signal handlers.
 *
 * A walk is a loop of steps over a cursor (pc, sp, fp). Each step picks a
 * strategy for the current frame — a signal frame's saved context, the
 * frame-pointer rule — and stops at the first frame no strategy can
 * vouch for: a frame may be missing, never wrong. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <ucontext.h>

#include "cfi.h"
#include "unwind_fp.h"

FS_REQUIRE_INIT;

/* Crossing signal frames may move the walk to another stack (and so
 * down); cap them so a crafted context cannot make the walk loop. */
#define FS_MAX_SIGNAL_FRAMES 32

/* One step of the general path. A signal trampoline first (its frame is
 * the saved context); then, unless FASTSTACK_UNWIND=fp, the DWARF CFI
 * rule of the PC; the frame-pointer rule only for code without CFI
 * (JIT code, hand-written assembly), and never in cfi mode. exact: c->pc
 * is an interrupted PC, not a return address. */
static inline int unwind_step(fs_cursor *c, int exact)
{
  if (fs_signal_frame_inline(c)) return FS_STEP_SIGNAL;
  if (fs_unwind_mode != FS_UNWIND_FP && c->pc) {
    int st = fs_cfi_step(c, exact);
    if (st != FS_CFI_NONE) return st;
    if (fs_unwind_mode == FS_UNWIND_CFI) return FS_STEP_END;
  }
  return fs_fp_step_inline(c);
}

/* [AS-safe] Warm CFI steps with the walk's state in registers: while
 * each frame's rule is in the cache and its return address stays in the
 * cached code range, one step is a probe, two loads and a few compares.
 * Anything else (a miss, another object, a signal trampoline) returns to
 * the general step with the cursor at the last frame reached. */
FS_NO_SANITIZE static inline int fs_cfi_run(fs_cursor *c, uintptr_t *pcs,
                                            int *n, int max, int *skip)
{
  uintptr_t fp = c->fp, sp = c->sp, pc = c->pc;
  const uintptr_t hi = c->region.hi, lo_code = c->code_lo,
                  hi_code = c->code_hi, sigret = fs_sigreturn_pc;
  const uint64_t ep = atomic_load_explicit(&fs_cfi_epoch,
                                           memory_order_relaxed);
  /* The rule of frame-pointer code (CFA = rbp+16, RA at CFA-8, rbp at
   * CFA-16) is the frame-pointer step itself: for it the slot check is
   * a single compare, off the chain of dependent loads. */
  const uint64_t fp_rule = FS_CFI_PK_VALID | FS_CFI_PK_RBP | (1ull << 18) |
                           (uint64_t)(uint16_t)16 |
                           ((uint64_t)(uint16_t)-16 << 48);
  const uint64_t fp_tag = fs_cfi_mix(fp_rule, ep);
  int k = *n;
  /* Frames to skip go through the general step (they are few). */
  if (*skip > 0 || !sigret) return k;
  while (k < max && pc != sigret) {
    uintptr_t at = pc - 1;
    fs_cfi_slot *sl = fs_cfi_slot_of(at);
    uint64_t tag = atomic_load_explicit(&sl->tag, memory_order_acquire);
    uint64_t pk = atomic_load_explicit(&sl->packed, memory_order_relaxed);
    uintptr_t ra, nfp, cfa;
    if (FS_LIKELY(pk == fp_rule && tag == (at ^ fp_tag))) {
      if (fp < sp || fp > hi - 16 || (fp & 7)) break;
      ra = ((const uintptr_t *)fp)[1];
      nfp = ((const uintptr_t *)fp)[0];
      cfa = fp + 16;
    } else {
      /* A miss, a torn slot or the outermost frame: the general step.
       * (pc 0 and the signal trampoline never have a packed rule.) */
      if ((tag ^ fs_cfi_mix(pk, ep)) != at || !(pk & FS_CFI_PK_VALID))
        break;
      ra = pc;
      cfa = sp;
      nfp = fp;
      if (fs_cfi_apply_regs(pk, &ra, &cfa, &nfp, hi) != FS_STEP_OK) break;
    }
    /* The cursor's object, or the executable or libc (never unloaded):
     * most walks end through libc's start code. Else the general step. */
    if ((ra < lo_code || ra >= hi_code) &&
        (ra < fs_exe_code_lo || ra >= fs_exe_code_hi) &&
        (ra < fs_libc_code_lo || ra >= fs_libc_code_hi))
      break;
    pc = ra;
    sp = cfa;
    fp = nfp;
    pcs[k++] = pc;
  }
  c->fp = fp;
  c->sp = sp;
  c->pc = pc;
  *n = k;
  return k;
}

int fs_walk_from(fs_cursor *c, uintptr_t *pcs, int max, int skip, int exact)
{
  int n = 0, signals = 0;
  while (n < max) {
    /* Frame-pointer mode: the fast path, state in registers. (In auto
     * mode every frame asks its CFI first: a frame-pointer walk through
     * code that uses rbp as a plain register would be wrong.) */
    if (fs_unwind_mode == FS_UNWIND_FP && !exact) {
      if (fs_fp_run(c, pcs, &n, max, &skip) == FS_STEP_END || n >= max)
        break;
    } else if (!exact) {
      fs_cfi_run(c, pcs, &n, max, &skip);
      if (n >= max) break;
    }
    int st = unwind_step(c, exact);
    if (st == FS_STEP_END) break;
    uintptr_t pc = c->pc;
    exact = st == FS_STEP_SIGNAL;
    if (exact) {
      if (++signals > FS_MAX_SIGNAL_FRAMES) break;
      /* Stored +1 so that the uniform pc-1 lookup rule finds the exact
       * interrupted instruction. */
      pc += 1;
    }
    if (skip > 0) {
      skip--;
      continue;
    }
    pcs[n++] = pc;
  }
  return n;
}

int fs_walk(fs_cursor *c, uintptr_t *pcs, int max, int skip)
{
  return fs_walk_from(c, pcs, max, skip, 0);
}

FASTSTACK_API __attribute__((noinline)) int
faststack_capture(uintptr_t *pcs, int max, int skip)
{
  if (!pcs || max <= 0 || skip < 0) return 0;
  fs_cursor c = {0};
  /* Our own frame: the first step reads the return address into the
   * caller from it. */
  c.fp = (uintptr_t)__builtin_frame_address(0);
  c.sp = c.fp;
  fs_cursor_init_code(&c);
  if (!fs_stack_region(c.sp, &c.region)) return 0;
  return fs_walk(&c, pcs, max, skip);
}

FASTSTACK_API FS_NO_SANITIZE int
faststack_capture_ucontext(const void *ucontext,
                           uintptr_t *pcs, int max)
{
  if (!ucontext || !pcs || max <= 0) return 0;
  const ucontext_t *uc = (const ucontext_t *)ucontext;
  fs_cursor c = {0};
  c.pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  c.sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
  c.fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
  pcs[0] = c.pc;
  fs_cursor_init_code(&c);
  if (max == 1 || !fs_stack_region(c.sp, &c.region)) return 1;
  int n = 1;
  if (!fs_code_valid(&c, c.pc) && c.sp + 8 <= c.region.hi &&
      c.sp >= c.region.lo) {
    /* A call through a bad function pointer faults at the target: the
     * return address the call pushed is still on top of the stack. */
    uintptr_t ra = *(const uintptr_t *)c.sp;
    if (!fs_code_valid(&c, ra)) return 1;
    pcs[n++] = ra;
    c.pc = ra;
    c.sp += 8;
  }
  /* The first frame's PC is the interrupted instruction, not a return
   * address (unless the bad-call fix-up above replaced it by one). */
  return n + fs_walk_from(&c, pcs + n, max - n, 0, n == 1);
}
