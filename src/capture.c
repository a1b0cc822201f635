/* capture.c — the capture stage: program counters of a thread, with no
 * allocation and no locks, callable from signal handlers.
 *
 * A walk is a loop of steps over a cursor (pc, sp, fp). Each step picks a
 * strategy for the current frame — a signal frame's saved context, the
 * frame-pointer rule — and stops at the first frame no strategy can
 * vouch for: a frame may be missing, never wrong. */
#define _GNU_SOURCE
#include <ucontext.h>

#include "unwind_fp.h"

FS_REQUIRE_INIT;

/* Crossing signal frames may move the walk to another stack (and so
 * down); cap them so a crafted context cannot make the walk loop. */
#define FS_MAX_SIGNAL_FRAMES 32

static inline int unwind_step(fs_cursor *c)
{
  if (fs_signal_frame_inline(c)) return FS_STEP_SIGNAL;
  return fs_fp_step_inline(c);
}

int fs_walk(fs_cursor *c, uintptr_t *pcs, int max, int skip)
{
  int n = 0, signals = 0;
  while (n < max) {
    /* Most frames: the frame-pointer fast path, state in registers. */
    if (fs_fp_run(c, pcs, &n, max, &skip) == FS_STEP_END || n >= max) break;
    int st = unwind_step(c);
    if (st == FS_STEP_END) break;
    uintptr_t pc = c->pc;
    if (st == FS_STEP_SIGNAL) {
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
  return n + fs_walk(&c, pcs + n, max - n, 0);
}
