/* arch_aarch64.h — aarch64 Linux (see arch.h for the interface).
 *
 * A call leaves the return address in x30 (the link register); a
 * function that calls others saves x29 and x30 as a frame record
 * {caller's x29, x30} and points x29 at it, so x29 chains the records
 * like rbp on x86-64 — but the record sits anywhere in the frame (GCC
 * puts it at the bottom), so x29 says nothing exact about the caller's
 * sp, and a leaf may never save x30 at all. Return addresses may carry
 * pointer authentication codes in their high bits (pac-ret code signs
 * x30 before saving it): every one is stripped before use.
 *
 * Signals: the kernel returns from a handler into __kernel_rt_sigreturn
 * (the vDSO's "mov x8, #139; svc #0"; under qemu-user a page of its own)
 * with sp at struct rt_sigframe {siginfo_t; ucontext_t}, and x29 at a
 * frame record {interrupted x29, interrupted x30} it stored above that
 * frame. */
#ifndef FASTSTACK_ARCH_AARCH64_H
#define FASTSTACK_ARCH_AARCH64_H

#include <signal.h>
#include <string.h>

FS_NO_SANITIZE static inline uintptr_t fs_uc_pc(const ucontext_t *uc)
{
  return (uintptr_t)uc->uc_mcontext.pc;
}
FS_NO_SANITIZE static inline uintptr_t fs_uc_sp(const ucontext_t *uc)
{
  return (uintptr_t)uc->uc_mcontext.sp;
}
FS_NO_SANITIZE static inline uintptr_t fs_uc_fp(const ucontext_t *uc)
{
  return (uintptr_t)uc->uc_mcontext.regs[29];
}
FS_NO_SANITIZE static inline uintptr_t fs_uc_lr(const ucontext_t *uc)
{
  return (uintptr_t)uc->uc_mcontext.regs[30];
}
FS_NO_SANITIZE static inline void fs_uc_set_sp(ucontext_t *uc, uintptr_t sp)
{
  uc->uc_mcontext.sp = sp;
}

/* x0..x30, sp, pc, pstate and the fault address, 34 registers. */
#define FS_UC_REGS_PER_LINE 4
FS_NO_SANITIZE static inline int fs_uc_reg(const ucontext_t *uc, unsigned i,
                                           const char **name, uint64_t *v)
{
  static const char names[][4] = {
      "x0 ", "x1 ", "x2 ", "x3 ", "x4 ", "x5 ", "x6 ", "x7 ", "x8 ",
      "x9 ", "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
      "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
      "x27", "x28", "fp ", "lr ", "sp ", "pc ", "pst", "far"};
  if (i >= sizeof names / sizeof names[0]) return 0;
  *name = names[i];
  if (i < 31) *v = uc->uc_mcontext.regs[i];
  else if (i == 31) *v = uc->uc_mcontext.sp;
  else if (i == 32) *v = uc->uc_mcontext.pc;
  else if (i == 33) *v = uc->uc_mcontext.pstate;
  else *v = uc->uc_mcontext.fault_address;
  return 1;
}

/* A spin-wait's pause. */
static inline void fs_arch_cpu_relax(void)
{
  __asm__ volatile("yield" ::: "memory");
}

/* XPACLRI strips x30's authentication code; it is in the hint space, a
 * no-op on cores without pointer authentication, so it is always safe
 * and always right (no mask to learn). */
static inline uintptr_t fs_arch_strip_ra(uintptr_t ra)
{
  register uintptr_t x30 __asm__("x30") = ra;
  __asm__("hint #7" : "+r"(x30));
  return x30;
}

#define FS_DW_FP 29
#define FS_DW_RA 30
#define FS_DW_SP 31
#define FS_DW_NREGS 32
#define FS_ARCH_RA_IN_REG 1
/* Whether a frame-record step knows the caller's sp exactly. */
#define FS_ARCH_FP_SP_EXACT 0
/* fs_capture_fault_context's mark on a copied context whose sp is only a
 * lower bound (a bit the kernel never sets in uc_flags). */
#define FS_UC_SP_LOWER_BOUND (1ul << 62)
#define FS_ARCH_FP_ALIGN 7
/* The warm loop's packed rules assume the return address at CFA-8 and a
 * frame pointer 16 below the caller's sp: the general step walks
 * aarch64 frames. */
#define FS_ARCH_CFI_LOOP 0

/* mov x8, #139 (rt_sigreturn); svc #0 — little-endian, 8 bytes. */
#define FS_SIGRETURN_HEAD 0xd4000001d2801168ull
#define FS_SIGRETURN_LEN 8
/* 1: the trampoline may lie outside every loaded object (found by its
 * code at load time). */
#define FS_ARCH_LEARN_SIGRETURN 1
#define FS_SIGRETURN_TAIL_OK(p) 1

/* The size of the kernel's struct rt_sigframe: siginfo and a ucontext
 * (glibc's ucontext_t matches the kernel's layout on aarch64), rounded to
 * 16 as the kernel allocates it. */
#define FS_RT_SIGFRAME_SIZE                                                    \
  ((sizeof(siginfo_t) + sizeof(ucontext_t) + 15) & ~(uintptr_t)15)

/* The ucontext inside a candidate rt_sigframe at f, if the frame record
 * the kernel stored at rec ({interrupted x29, interrupted x30}) holds the
 * context's own x29 and x30; NULL otherwise. */
FS_NO_SANITIZE static inline const ucontext_t *
fs_arch_sigframe_at(uintptr_t f, uintptr_t rec, uintptr_t lo)
{
  if (f < lo || f > rec || rec - f < FS_RT_SIGFRAME_SIZE) return NULL;
  const ucontext_t *uc = (const ucontext_t *)(f + sizeof(siginfo_t));
  const uintptr_t *r = (const uintptr_t *)rec;
  if (uc->uc_mcontext.regs[29] != r[0] || uc->uc_mcontext.regs[30] != r[1])
    return NULL;
  return uc;
}

/* The interrupted context the kernel saved, seen from the trampoline's
 * frame (sp, fp; sp_exact: sp is the frame's real stack pointer, as a
 * CFI step leaves it), inside the stack region [lo, hi); NULL if it is
 * not there. The trampoline's sp is the rt_sigframe and its x29 the
 * record above it; the frame grows past the plain ucontext only with
 * large register state (SVE), which a walk without the exact sp then
 * does not cross (missing, never wrong). */
FS_NO_SANITIZE static inline const ucontext_t *
fs_arch_sigframe(uintptr_t sp, int sp_exact, uintptr_t fp, uintptr_t lo,
                 uintptr_t hi)
{
  if (fp < lo || hi < 16 || fp > hi - 16 || (fp & 7)) return NULL;
  const ucontext_t *uc = NULL;
  if (sp_exact) uc = fs_arch_sigframe_at(sp, fp, lo);
  if (!uc && fp >= FS_RT_SIGFRAME_SIZE)
    uc = fs_arch_sigframe_at((fp & ~(uintptr_t)15) - FS_RT_SIGFRAME_SIZE, fp,
                             lo);
  return uc;
}

#endif
