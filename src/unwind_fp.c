/* unwind_fp.c — the frame-pointer rule and the checks every strategy
 * shares.
 *
 * With frame pointers (x86-64 psABI, -fno-omit-frame-pointer) each frame
 * starts with the caller's rbp at [rbp] and the return address at
 * [rbp+8]: the stack is a linked list. The walk trusts nothing: the frame
 * pointer must lie in the stack region above the current sp (so the chain
 * strictly moves up and cannot loop), be 16-byte aligned (the psABI keeps
 * rsp 16-aligned at calls, so a pushed rbp is too), and the return address
 * must point into a loaded object.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <ucontext.h>

#include "internal.h"

int fs_code_valid(fs_cursor *c, uintptr_t pc)
{
  if (FS_LIKELY(pc >= c->code_lo && pc < c->code_hi)) return 1;
  struct dl_find_object d;
  /* _dl_find_object is lock-free and async-signal-safe (glibc 2.35+). */
  if (pc == 0 || _dl_find_object((void *)pc, &d) != 0) return 0;
  c->code_lo = (uintptr_t)d.dlfo_map_start;
  c->code_hi = (uintptr_t)d.dlfo_map_end;
  return pc >= c->code_lo && pc < c->code_hi;
}

FS_NO_SANITIZE int fs_fp_step(fs_cursor *c)
{
  uintptr_t fp = c->fp;
  if (fp < c->sp || fp > c->region.hi - 16 || (fp & 15) ||
      c->region.hi < 16)
    return FS_STEP_END;
  const uintptr_t *frame = (const uintptr_t *)fp;
  uintptr_t ra = frame[1];
  if (!fs_code_valid(c, ra)) return FS_STEP_END;
  c->pc = ra;
  c->fp = frame[0];
  c->sp = fp + 16;
  return FS_STEP_OK;
}

/* mov $15,%rax ; syscall — glibc's __restore_rt (SA_RESTORER). The kernel
 * returns from a handler into it with rsp at the rt_sigframe's ucontext. */
static const unsigned char sigreturn_code[9] = {0x48, 0xc7, 0xc0, 0x0f, 0x00,
                                                0x00, 0x00, 0x0f, 0x05};

FS_NO_SANITIZE int fs_signal_frame_step(fs_cursor *c)
{
  /* c->pc was validated as inside a loaded object; the 9 bytes must be
   * too. */
  if (c->pc + sizeof sigreturn_code > c->code_hi) return 0;
  const unsigned char *p = (const unsigned char *)c->pc;
  for (unsigned i = 0; i < sizeof sigreturn_code; i++)
    if (p[i] != sigreturn_code[i]) return 0;
  uintptr_t uc_addr = c->sp;
  if (uc_addr < c->region.lo || uc_addr + sizeof(ucontext_t) > c->region.hi)
    return 0;
  const ucontext_t *uc = (const ucontext_t *)uc_addr;
  uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
  uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  uintptr_t fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
  /* The interrupted code may run on another stack (the handler may be on
   * sigaltstack): look its region up afresh. */
  fs_region r;
  if (!fs_stack_region(sp, &r)) return 0;
  if (!fs_code_valid(c, pc)) return 0;
  c->region = r;
  c->pc = pc;
  c->sp = sp;
  c->fp = fp;
  return 1;
}
