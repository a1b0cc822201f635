/* capture.c — the capture stage: program counters of a thread, with no
 * allocation and no locks, callable from signal handlers.
 *
 * A walk is a loop of steps over a cursor (pc, sp, fp). Each step picks a
 * strategy for the current frame — a signal frame's saved context, the
 * PC's DWARF CFI rule, the frame-pointer rule — and stops at the first
 * frame no strategy can vouch for: a frame may be missing, never wrong.
 * Warm frames, whose rules are cached, are stepped by fs_cfi_loop with
 * the state in registers. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>

#include "capture/cfi.h"
#include "capture/unwind_fp.h"

FS_REQUIRE_INIT(capture);

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
 * step's chain of dependent loads — or, for a displacement, two more
 * instructions in a loop that is throughput-bound too. */
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

/* The 64-bit word at base + disp + index*8 (disp a constant). */
#if defined(__x86_64__) && defined(__GNUC__)
#define FS_LOAD_Q(base, disp, index)                                           \
  __extension__({                                                              \
    uint64_t v_;                                                               \
    __asm__("movq %c2(%1,%3,8), %0"                                            \
            : "=r"(v_)                                                         \
            : "r"(base), "i"(disp), "r"(index));                               \
    v_;                                                                        \
  })
#else
#define FS_LOAD_Q(base, disp, index)                                           \
  (((const volatile uint64_t *)((const char *)(base) + (disp)))[index])
#endif

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

/* The return address at sp + v*8, its low 16 bits as a second load of
 * the same slot (not a mask of the first: that would be an operation
 * more on the chain), and the next frame's ra8 byte at base[those bits]
 * — in this order, in one statement: the ra8 load is the chain's next
 * link, and a CPU that issues ready loads oldest first would otherwise
 * serve the tag and rule loads of the same index before it. */
FS_NO_SANITIZE static inline void fs_load_slot(uintptr_t sp, uintptr_t v,
                                               const void *base, uintptr_t *ra,
                                               uintptr_t *lo16, uintptr_t *nv)
{
#if defined(__x86_64__) && defined(__GNUC__)
  __asm__("movq (%3,%4,8), %0\n\t"
          "movzwl (%3,%4,8), %k1\n\t"
          "movzbl (%5,%1,1), %k2"
          : "=&r"(*ra), "=&r"(*lo16), "=r"(*nv)
          : "r"(sp), "r"(v), "r"(base));
#else
  *ra = *(const uintptr_t *)(sp + v * 8);
  *lo16 = *ra & 0xffff;
  *nv = ((const volatile uint8_t *)base)[*lo16];
#endif
}

#define FS_TAG_DISP offsetof(fs_cfi_cache_t, tag)
#define FS_RULE_DISP offsetof(fs_cfi_cache_t, rule)

/* The frame fs_cfi_loop starts from, and the one it stops at. */
typedef struct fs_run {
  uintptr_t pc, sp, fp;
  uintptr_t hi; /* top of the stack region */
} fs_run;

/* How fs_cfi_loop ended. */
enum {
  FS_RUN_STEP,    /* r->pc is stored: the general step goes on from it */
  FS_RUN_PENDING, /* r->pc has no cached rule and is not stored yet: the
                     general walk validates it first */
  FS_RUN_END,     /* the outermost frame, stored */
  FS_RUN_FULL     /* no room for r->pc */
};

/* [AS-safe] Warm CFI steps with the walk's state in registers: while
 * each frame's rule is in the cache, one step is a few loads and
 * compares. Anything else (a miss, a signal trampoline, a rule of
 * another shape) returns to the general step with r at the last frame
 * reached; *why says how (FS_RUN_*).
 *
 * p is r->pc's slot: the loop stores each PC after the check of its own
 * rule, the entry PC too (a caller that stored it already passes its
 * slot, which gets the same value again); PCs go up to end. It returns
 * the next free slot.
 *
 * A return address is stored only when its own rule is in the cache,
 * keyed by that exact address: the rule came from the FDE of a loaded
 * object covering it, so the address is code (the cache is emptied when
 * an object is unloaded) and needs no range check of its own.
 *
 * The two shapes handled here cover compiled code: the frame-pointer
 * rule, which is the frame-pointer step itself, recognized by the slot's
 * tag alone; and a CFA at rsp+N with the return address at CFA-8
 * (frameless code; rbp unchanged, or saved at CFA+M). A run of
 * frame-pointer frames is throughput-bound — each check costs an
 * instruction per frame, so the step is a tag compare, three bounds
 * compares and three loads. A run of frameless frames is bound by its
 * chain of dependent loads: the RA slot's low 16 bits -> ra8[them] =
 * (N-8)/8 -> the next RA slot at sp + ra8*8 (cfi.h); every check (tag,
 * rule, bounds) is a predicted branch beside it, and the run has a loop
 * of its own so that compilers keep that chain in registers. The signal
 * trampoline needs no check of its own: its key is never cached, so it
 * fails the tag checks.
 *
 * The caller has checked that sp is 8-aligned (else the bounds argument
 * below fails), hi >= 16, and fs_sigreturn_pc is known (else an exact PC
 * could have cached the trampoline's key).
 *
 * Aligned to a cache line: where the frame-pointer loop falls in its
 * fetch blocks changes its speed measurably (the same instructions linked
 * at two addresses; bench_capture shows it, docs/cfi.md has the story). */
FS_NO_SANITIZE static __attribute__((noinline, aligned(64))) uintptr_t *
fs_cfi_loop(fs_run *r_in, uintptr_t *p, uintptr_t *const end, int *why_in)
{
  /* The out-pointers are needed once, at the end: in memory, so that the
   * loop has their registers (the frameless step would spill its ra8
   * value, on its chain of loads). */
  fs_run *volatile r = r_in;
  int *volatile why = why_in;
  uintptr_t fp = r_in->fp, sp = r_in->sp, pc = r_in->pc;
  const uintptr_t hi = r_in->hi, hi16 = hi - 16;
  fs_cfi_cache_t *cc = &fs_cfi_cache;
  /* In a register: compilers otherwise recompute the address in every
   * step, an instruction more. */
  __asm__("" : "+r"(cc));
  const uint64_t ep =
      atomic_load_explicit(&fs_modules_code_epoch, memory_order_relaxed);
  const uint64_t fp_tag = fs_cfi_mix(FS_CFI_PK_FP_RULE, ep);
  /* The low 16 bits of pc, loaded from its stack slot with it after
   * the first frame: the cache index. */
  uintptr_t lo16 = pc & 0xffff;
  int w = FS_RUN_STEP;
  for (;;) {
    uint64_t tag = FS_LOAD_Q(cc, FS_TAG_DISP, lo16);
    if (FS_LIKELY((tag ^ pc) == fp_tag)) {
      if (FS_UNLIKELY(p >= end)) {
        w = FS_RUN_FULL;
        goto out;
      }
      *p++ = pc;
      /* Against hi - 16, not fp + 16 against hi: an rbp near the top of
       * the address space would wrap. */
      if (FS_UNLIKELY(fp < sp)) goto out;
      if (FS_UNLIKELY(fp > hi16)) goto out;
      if (FS_UNLIKELY(fp & 7)) goto out;
      uintptr_t cfa = fp + 16;
      pc = ((const uintptr_t *)fp)[1];
      lo16 = pc & 0xffff;
      sp = cfa;
      fp = ((const uintptr_t *)fp)[0];
      continue;
    }
    /* Frameless steps, a loop of their own (its chain of loads is the
     * walk's speed there), back to the outer loop at a frame-pointer
     * frame. A miss, a torn slot, or a rule for the general step ends
     * the run. The outermost frame (_start's "return address
     * undefined") ends the walk here. */
    uintptr_t v = fs_load_u8(cc->ra8, lo16); /* on the chain */
    for (;;) {
      uint64_t pk = FS_LOAD_Q(cc, FS_RULE_DISP, lo16);
      if ((tag ^ fs_cfi_mix(pk, ep)) != pc) {
        w = FS_RUN_PENDING;
        goto out;
      }
      if (FS_UNLIKELY(p >= end)) {
        w = FS_RUN_FULL;
        goto out;
      }
      *p++ = pc;
      if (FS_UNLIKELY(v != FS_CFI_PK_RA8(pk))) {
        /* A frameless rule whose frame is too large for an ra8 byte (a
         * local buffer of kilobytes): its offset from the rule itself, a
         * link more on the chain. Anything else leaves the loop. */
        if ((pk & (FS_CFI_PK_RBP | FS_CFI_PK_END)) ||
            FS_CFI_PK_RA8(pk) != FS_CFI_RA8_NOT) {
          if (pk & FS_CFI_PK_END) w = FS_RUN_END;
          goto out;
        }
        v = (uintptr_t)FS_CFI_PK_RA_OFF(pk) / 8;
      }
      /* Offsets are 8-aligned and below 32 KiB (packed rules) and sp is
       * 8-aligned: the caller's sp moves up, aligned; only the top of the
       * stack needs checking. From v (the compare above made it equal to
       * the rule's offset), not from the rule: that is further down the
       * chain, and compilers would pick it. */
      uintptr_t cfa = fs_cfa_of(sp, v), nfp = fp;
      if (cfa > hi) goto out;
      if (FS_UNLIKELY(FS_CFI_PK_HOW(pk)) && !fs_cfi_rbp(pk, cfa, sp, hi, &nfp))
        goto out;
      fs_load_slot(sp, v, cc->ra8, &pc, &lo16, &v);
      sp = cfa;
      fp = nfp;
      tag = FS_LOAD_Q(cc, FS_TAG_DISP, lo16);
      if ((tag ^ pc) == fp_tag) break;
    }
  }
out:
  r->fp = fp;
  r->sp = sp;
  r->pc = pc;
  *why = w;
  return p;
}

/* fs_cfi_run's result when the cursor's PC is not stored yet. */
#define FS_STEP_PENDING 3

/* [AS-safe] fs_cfi_loop on a cursor, for the general walk: PCs into
 * pcs[*n..max) (pcs[*n - 1] holds c->pc). Returns FS_STEP_END when the
 * walk is over (the outermost frame, or pcs full), FS_STEP_PENDING when
 * c->pc is still to be validated and stored, else FS_STEP_OK (the
 * caller takes the general step). Frames to skip go through the general
 * step (they are few). */
FS_NO_SANITIZE static inline __attribute__((always_inline)) int
fs_cfi_run(fs_cursor *c, uintptr_t *pcs, int *n, int max, int *skip)
{
  if (!FS_ARCH_CFI_LOOP) return FS_STEP_OK;
  if (*skip > 0 || *n < 1 || pcs[*n - 1] != c->pc || !fs_sigreturn_pc ||
      (c->sp & 7) || c->region.hi < 16)
    return FS_STEP_OK;
  fs_run r = {c->pc, c->sp, c->fp, c->region.hi};
  int why;
  uintptr_t *p = fs_cfi_loop(&r, pcs + *n - 1, pcs + max, &why);
  /* The entry PC was stored before the loop. */
  if (why == FS_RUN_PENDING && p == pcs + *n - 1) {
    why = FS_RUN_STEP;
    p++;
  }
  c->pc = r.pc;
  c->sp = r.sp;
  c->fp = r.fp;
  *n = (int)(p - pcs);
  return why >= FS_RUN_END       ? FS_STEP_END
         : why == FS_RUN_PENDING ? FS_STEP_PENDING
                                 : FS_STEP_OK;
}

/* The walk from c into pcs[n..max), pcs[0..n) filled already (pcs[n-1]
 * holds c->pc, when n > 0 and c->pc is not exact). Returns the frames in
 * pcs. */
static int walk_on(fs_cursor *c, uintptr_t *pcs, int n, int max, int skip,
                   int exact)
{
  int signals = 0;
  while (n < max) {
    /* Frame-pointer mode: the fast path, state in registers. (In auto
     * mode every frame asks its CFI first: a frame-pointer walk through
     * code that uses rbp as a plain register would be wrong.) */
    if (fs_unwind_mode == FS_UNWIND_FP && !exact) {
      if (fs_fp_run(c, pcs, &n, max, &skip) == FS_STEP_END || n >= max) break;
    } else if (!exact) {
      int st = fs_cfi_run(c, pcs, &n, max, &skip);
      if (st == FS_STEP_END || n >= max) break;
      if (st == FS_STEP_PENDING) {
        if (!fs_code_valid(c, c->pc) || !fs_cfi_ra_vouched(c->pc)) break;
        pcs[n++] = c->pc;
        if (n >= max) break;
      }
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
  return walk_on(c, pcs, 0, max, skip, 0);
}

/* faststack_capture by the general walk, from our own frame at fp (its
 * CFA at cfa) in the stack region rg: frame-pointer mode, an unknown
 * signal trampoline, architectures without the warm loop. */
FS_NO_SANITIZE static __attribute__((noinline)) int
capture_general(uintptr_t *pcs, int max, int skip, uintptr_t fp, uintptr_t cfa,
                fs_region rg)
{
  fs_cursor c = {0};
  c.region = rg;
  fs_cursor_init_code(&c);
  c.pc = fs_arch_strip_ra(((const uintptr_t *)fp)[1]);
  c.fp = ((const uintptr_t *)fp)[0];
  c.sp = cfa;
  c.sp_exact = 1;
  if (!fs_code_valid_inline(&c, c.pc)) return 0;
  if (skip > 0) return fs_walk(&c, pcs, max, skip - 1);
  pcs[0] = c.pc;
  int n = 1;
  /* Frame-pointer mode's loop here, where it has registers to spare
   * (inside walk_on it spills the object's range). */
  if (fs_unwind_mode == FS_UNWIND_FP &&
      (fs_fp_run(&c, pcs, &n, max, &skip) == FS_STEP_END || n >= max))
    return n;
  return walk_on(&c, pcs, n, max, 0, 0);
}

#if FS_ARCH_CFI_LOOP
/* The rest of a capture fs_cfi_loop stopped in (why, FS_RUN_STEP
 * or FS_RUN_PENDING), from r: pcs[n..max) by the general walk, which
 * drops skip frames first. */
static __attribute__((noinline)) int capture_rest(uintptr_t *pcs, int n,
                                                  int max, fs_run r,
                                                  fs_region rg, int why,
                                                  int skip)
{
  fs_cursor c = {0};
  c.region = rg;
  fs_cursor_init_code(&c);
  c.pc = r.pc;
  c.sp = r.sp;
  c.fp = r.fp;
  if (why == FS_RUN_PENDING) {
    if (!fs_code_valid(&c, c.pc) || !fs_cfi_ra_vouched(c.pc)) return n;
    if (skip > 0) skip--;
    else pcs[n++] = c.pc;
    if (n >= max) return n;
  }
  return walk_on(&c, pcs, n, max, skip, 0);
}

/* faststack_capture with frames to skip, from r: the warm loop walks the
 * frames to skip into pcs (at most max at a time, then overwritten), and
 * stops full at the first frame to keep, which the next run stores at
 * pcs[0]. (A general step per skipped frame costs more.) */
FS_NO_SANITIZE static __attribute__((noinline)) int
capture_skipping(uintptr_t *pcs, int max, int skip, fs_run r, fs_region rg)
{
  int why;
  while (skip > 0) {
    int k = skip < max ? skip : max;
    skip -= (int)(fs_cfi_loop(&r, pcs, pcs + k, &why) - pcs);
    if (why == FS_RUN_END) return 0; /* all of it skipped */
    if (why != FS_RUN_FULL) return capture_rest(pcs, 0, max, r, rg, why, skip);
  }
  int n = (int)(fs_cfi_loop(&r, pcs, pcs + max, &why) - pcs);
  if (why >= FS_RUN_END) return n;
  return capture_rest(pcs, n, max, r, rg, why, 0);
}

FASTSTACK_API FS_NO_SANITIZE __attribute__((noinline)) int
faststack_capture(uintptr_t *pcs, int max, int skip)
{
  if (!pcs || max <= 0 || skip < 0) return 0;
  /* Our own frame, which the compiler built with a frame pointer (the
   * library is compiled so): its return address into the caller is the
   * first PC, taken here rather than by a general step. */
  uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
  fs_region rg;
  if (!fs_stack_region_inline(fp, &rg) || fp > rg.hi - 16) return 0;
  /* The warm CFI loop from here; the general walk for what it cannot
   * take. fp is 16-aligned: sp below is 8-aligned, and hi is above it.
   * The loop validates the first PC (the caller's) like every other, by
   * its cached rule. */
  if (FS_UNLIKELY(!fs_sigreturn_pc || fs_unwind_mode == FS_UNWIND_FP))
    return capture_general(pcs, max, skip, fp, fp + 16, rg);
  fs_run r = {((const uintptr_t *)fp)[1], fp + 16, ((const uintptr_t *)fp)[0],
              rg.hi};
  if (skip > 0) return capture_skipping(pcs, max, skip, r, rg);
  int why;
  uintptr_t *p = fs_cfi_loop(&r, pcs, pcs + max, &why);
  int n = (int)(p - pcs);
  if (FS_LIKELY(why >= FS_RUN_END)) return n;
  return capture_rest(pcs, n, max, r, rg, why, 0);
}
#else
FASTSTACK_API FS_NO_SANITIZE __attribute__((noinline)) int
faststack_capture(uintptr_t *pcs, int max, int skip)
{
  if (!pcs || max <= 0 || skip < 0) return 0;
  /* Our own frame record gives the caller's PC and frame pointer; the
   * caller's exact sp is our CFA (a frame record need not sit at the top
   * of its frame here). */
  uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
  uintptr_t cfa = (uintptr_t)__builtin_dwarf_cfa();
  fs_region rg;
  if (!fs_stack_region_inline(fp, &rg) || fp > rg.hi - 16 || cfa > rg.hi)
    return 0;
  return capture_general(pcs, max, skip, fp, cfa, rg);
}
#endif

/* A call through a bad function pointer faults at the target, with the
 * caller's return address still where the call left it: on top of the
 * stack (x86-64) or in the link register (aarch64). Moves the cursor to
 * the caller and returns that address, or 0. */
static uintptr_t bad_call_return(fs_cursor *c)
{
  uintptr_t ra;
  if (FS_ARCH_RA_IN_REG) {
    ra = fs_arch_strip_ra(c->lr);
    if (!fs_code_valid(c, ra)) return 0;
  } else {
    if (c->sp + 8 > c->region.hi || c->sp < c->region.lo) return 0;
    ra = *(const uintptr_t *)c->sp;
    if (!fs_code_valid(c, ra)) return 0;
    c->sp += 8;
  }
  c->pc = ra;
  return ra;
}

/* The registers a walk starts from, out of a signal's context. */
static void cursor_from(fs_cursor *c, const ucontext_t *uc)
{
  memset(c, 0, sizeof *c);
  c->pc = fs_uc_pc(uc);
  c->sp = fs_uc_sp(uc);
  c->fp = fs_uc_fp(uc);
  c->lr = fs_uc_lr(uc);
  c->sp_exact = !(uc->uc_flags & FS_UC_SP_LOWER_BOUND);
  fs_cursor_init_code(c);
}

/* [AS-safe] The first step from a context whose sp ran off the end of
 * its stack (a stack overflow): by the faulting PC's CFI, whose CFA lies
 * inside the stack, reading only slots inside it. On success the cursor
 * is at the caller (pc a return address, its region the stack). */
static int step_past_the_end(fs_cursor *c)
{
  return fs_unwind_mode != FS_UNWIND_FP && fs_stack_below(c->sp, &c->region) &&
         fs_cfi_step_checked(c, 1) == FS_STEP_OK;
}

FASTSTACK_API FS_NO_SANITIZE int
faststack_capture_ucontext(const void *ucontext, uintptr_t *pcs, int max)
{
  if (!ucontext || !pcs || max <= 0) return 0;
  fs_cursor c;
  cursor_from(&c, (const ucontext_t *)ucontext);
  pcs[0] = c.pc;
  if (max == 1) return 1;
  if (!fs_stack_region(c.sp, &c.region)) {
    /* Not on a stack: a stack overflow's sp, past its end, goes on from
     * the faulting frame's caller; any other is not walked. */
    if (!step_past_the_end(&c)) return 1;
    pcs[1] = c.pc;
    return walk_on(&c, pcs, 2, max, 0, 0);
  }
  int n = 1;
  if (!fs_code_valid(&c, c.pc)) {
    uintptr_t ra = bad_call_return(&c);
    if (!ra) return 1;
    pcs[n++] = ra;
  }
  /* The first frame's PC is the interrupted instruction, not a return
   * address (unless the bad-call fix-up above replaced it by one). */
  return walk_on(&c, pcs, n, max, 0, n == 1);
}

const ucontext_t *fs_capture_fault_context(const ucontext_t *uc,
                                           ucontext_t *copy)
{
  fs_cursor c;
  cursor_from(&c, uc);
  uintptr_t sp = c.sp, fp = c.fp;
  fs_region r;
  if (fs_stack_region(sp, &r) || step_past_the_end(&c) || fp <= sp ||
      (fp & 15) || !fs_stack_region(fp, &r))
    return uc;
  *copy = *uc;
  fs_uc_set_sp(copy, fp);
  if (!FS_ARCH_FP_SP_EXACT) copy->uc_flags |= FS_UC_SP_LOWER_BOUND;
  return copy;
}

/* The signal frames between a fault and an outer frame: each step of
 * the general walk that crosses a signal trampoline has the saved
 * ucontext at the sp it started from (fs_signal_frame_enter). */
FS_NO_SANITIZE int fs_capture_outer_mask(const ucontext_t *uc, uintptr_t stop,
                                         sigset_t *mask)
{
  fs_cursor c;
  fs_region stop_r;
  cursor_from(&c, uc);
  if (!fs_stack_region(stop, &stop_r) || !fs_stack_region(c.sp, &c.region))
    return 0;
  int found = 0, exact = 1;
  for (int i = 0; i < 65536; i++) {
    /* Reached the outer frame (on its own stack: an alternate stack may
     * lie anywhere). */
    if (c.sp >= stop && c.sp >= stop_r.lo && c.sp < stop_r.hi) break;
    uintptr_t at = c.sp;
    int st = unwind_step(&c, exact);
    if (st == FS_STEP_END) break;
    exact = st == FS_STEP_SIGNAL;
    if (exact) {
      *mask = ((const ucontext_t *)at)->uc_sigmask;
      found = 1;
    }
  }
  return found;
}
