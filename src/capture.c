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

/* Loads with base+index addressing, in one instruction each: compilers
 * emit an add (or a shift) and a load, one more cycle on the frameless
 * step's chain of dependent loads. */
FS_NO_SANITIZE static inline uintptr_t fs_load_u8(const void *base,
                                                  uintptr_t index)
{
#if defined(__x86_64__) && defined(__GNUC__)
  uintptr_t v;
  __asm__("movzbl (%1,%2,1), %k0" : "=r"(v) : "r"(base), "r"(index));
  return v;
#else
  return ((const volatile uint8_t *)base)[index];
#endif
}

/* sp + v*8 + 8, opaque to the compiler. */
FS_NO_SANITIZE static inline uintptr_t fs_cfa_of(uintptr_t sp, uintptr_t v)
{
#if defined(__x86_64__) && defined(__GNUC__)
  uintptr_t cfa;
  __asm__("leaq 8(%1,%2,8), %0" : "=r"(cfa) : "r"(sp), "r"(v));
  return cfa;
#else
  return sp + v * 8 + 8;
#endif
}

/* The return address at sp + v*8, and its low 16 bits as a second load
 * of the same slot (not a mask of the first: that would be an operation
 * more on the chain). */
FS_NO_SANITIZE static inline void fs_load_slot(uintptr_t sp, uintptr_t v,
                                               uintptr_t *ra, uintptr_t *lo16)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __asm__("movq (%2,%3,8), %0\n\tmovzwl (%2,%3,8), %k1"
          : "=&r"(*ra), "=r"(*lo16)
          : "r"(sp), "r"(v));
#else
  *ra = *(const uintptr_t *)(sp + v * 8);
  *lo16 = *ra & 0xffff;
#endif
}

/* [AS-safe] Warm CFI steps with the walk's state in registers: while
 * each frame's rule is in the cache and its return address stays in
 * known code, one step is a few loads and compares. Anything else (a
 * miss, an unknown object, a signal trampoline, a rule of another shape)
 * returns to the general step with the cursor at the last frame reached.
 *
 * Returns FS_STEP_END when it reached the outermost frame, else
 * FS_STEP_OK (the caller takes the general step unless pcs is full).
 *
 * The two shapes handled here cover compiled code: the frame-pointer
 * rule, which is the frame-pointer step itself (its slot check is one
 * compare), and a CFA at rsp+N with the return address at CFA-8
 * (frameless code; rbp unchanged, or saved at CFA+M). For the latter the
 * chain of dependent loads is the RA slot's low 16 bits -> ra8[them] =
 * (N-8)/8 -> the next RA slot at sp + ra8*8 (cfi.h): every check (tag,
 * rule, prediction, bounds, code range) is a predicted branch beside it.
 * The loop is short because it is throughput-bound too: each check
 * costs an instruction per frame. */
FS_NO_SANITIZE static inline __attribute__((always_inline)) int
fs_cfi_run(fs_cursor *c, uintptr_t *pcs, int *n, int max, int *skip)
{
  uintptr_t fp = c->fp, sp = c->sp, pc = c->pc;
  /* Copies in locals: the stores to pcs could alias the globals, and the
   * compiler would reload them after every frame. */
  uintptr_t code_lo = c->code_lo, code_len = c->code_hi - c->code_lo;
  const uintptr_t hi = c->region.hi, sigret = fs_sigreturn_pc;
  fs_cfi_cache_t *const cc = &fs_cfi_cache;
  const uint64_t ep = atomic_load_explicit(&fs_cfi_epoch,
                                           memory_order_relaxed);
  const uint64_t fp_rule = FS_CFI_PK_FP_RULE;
  const uint64_t fp_tag = fs_cfi_mix(fp_rule, ep);
  uintptr_t *p = pcs + *n, *const end = pcs + max;
  /* Frames to skip go through the general step (they are few); a
   * misaligned sp would void the bounds argument below. */
  if (*skip > 0 || !sigret || (sp & 7) || hi < 16) return FS_STEP_OK;
  /* The low 16 bits of pc, loaded from its stack slot with it after
   * the first frame. */
  uintptr_t lo16 = pc & 0xffff;
  int ended = 0;
  while (p < end && pc != sigret) {
    size_t i = fs_cfi_index(pc); /* the key of a return address */
    uintptr_t v = fs_load_u8(cc->ra8, lo16); /* on the chain */
    uint64_t tag = atomic_load_explicit(&cc->tag[i], memory_order_acquire);
    uint64_t pk = atomic_load_explicit(&cc->rule[i], memory_order_relaxed);
    uintptr_t ra, nfp, cfa, nlo16;
    if (FS_LIKELY(pk == fp_rule && tag == (pc ^ fp_tag))) {
      if (fp < sp || fp > hi - 16 || (fp & 7)) break;
      ra = ((const uintptr_t *)fp)[1];
      nlo16 = ra & 0xffff;
      nfp = ((const uintptr_t *)fp)[0];
      cfa = fp + 16;
    } else {
      /* A miss, a torn slot, a prediction from another return address
       * with the same low bits, or a rule for the general step (then
       * the prediction is FS_CFI_RA8_NONE). pc 0 and the signal
       * trampoline never have a cached rule. The outermost frame
       * (_start's "return address undefined") ends the walk here. */
      if ((tag ^ fs_cfi_mix(pk, ep)) != pc) break;
      if (pk & FS_CFI_PK_END) {
        ended = 1;
        break;
      }
      if (v == FS_CFI_RA8_NONE || (pk & FS_CFI_PK_RBP) ||
          FS_CFI_PK_RA_OFF(pk) != (intptr_t)(v * 8))
        break;
      /* Offsets are at most 254 x 8 and sp is 8-aligned: the caller's
       * sp moves up, aligned; only the top of the stack needs checking.
       * From v, not from the rule (equal, but the rule is further down
       * the chain: compilers would pick it). */
      cfa = fs_cfa_of(sp, v);
      if (cfa > hi) break;
      nfp = fp;
      if (FS_UNLIKELY(FS_CFI_PK_HOW(pk)) && !fs_cfi_rbp(pk, cfa, sp, hi, &nfp))
        break;
      fs_load_slot(sp, v, &ra, &nlo16);
    }
    /* The cursor's object, else the executable or libc (never
     * unloaded; most walks end through libc's start code), which then
     * becomes the cursor's object. Else the general step. */
    if (FS_UNLIKELY(ra - code_lo >= code_len)) {
      if (ra - fs_exe_code_lo < fs_exe_code_hi - fs_exe_code_lo) {
        code_lo = fs_exe_code_lo;
        code_len = fs_exe_code_hi - fs_exe_code_lo;
      } else if (ra - fs_libc_code_lo < fs_libc_code_hi - fs_libc_code_lo) {
        code_lo = fs_libc_code_lo;
        code_len = fs_libc_code_hi - fs_libc_code_lo;
      } else {
        break;
      }
    }
    pc = ra;
    lo16 = nlo16;
    sp = cfa;
    fp = nfp;
    *p++ = pc;
  }
  c->fp = fp;
  c->sp = sp;
  c->pc = pc;
  c->code_lo = code_lo;
  c->code_hi = code_lo + code_len;
  *n = (int)(p - pcs);
  return ended ? FS_STEP_END : FS_STEP_OK;
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
      if (fs_cfi_run(c, pcs, &n, max, &skip) == FS_STEP_END || n >= max)
        break;
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

FASTSTACK_API FS_NO_SANITIZE __attribute__((noinline)) int
faststack_capture(uintptr_t *pcs, int max, int skip)
{
  if (!pcs || max <= 0 || skip < 0) return 0;
  fs_cursor c = {0};
  /* Our own frame, which the compiler built with a frame pointer (the
   * library is compiled so): its return address into the caller is the
   * first PC, taken here rather than by a general step. */
  uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
  fs_cursor_init_code(&c);
  if (!fs_stack_region_inline(fp, &c.region) || fp > c.region.hi - 16)
    return 0;
  c.pc = ((const uintptr_t *)fp)[1];
  c.fp = ((const uintptr_t *)fp)[0];
  c.sp = fp + 16;
  if (!fs_code_valid_inline(&c, c.pc)) return 0;
  if (skip > 0) return fs_walk(&c, pcs, max, skip - 1);
  pcs[0] = c.pc;
  int n = 1, no_skip = 0;
  /* The warm walk inline here, the cursor in registers: the general
   * walk (and its set-up) only for a frame the fast loop cannot take. */
  if (fs_unwind_mode != FS_UNWIND_FP && max > 1 &&
      (fs_cfi_run(&c, pcs, &n, max, &no_skip) == FS_STEP_END || n >= max))
    return n;
  return n >= max ? n : n + fs_walk(&c, pcs + n, max - n, 0);
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
