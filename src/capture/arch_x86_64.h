/* arch_x86_64.h — x86-64 Linux (see arch.h for the interface). The
 * return address is pushed by call at CFA-8; rbp is the frame pointer,
 * [rbp] the caller's rbp and [rbp+8] the return address; the kernel
 * returns from a handler into glibc's __restore_rt with rsp at the
 * ucontext. */
#ifndef FASTSTACK_ARCH_X86_64_H
#define FASTSTACK_ARCH_X86_64_H

/* Indices into mcontext_t.gregs (the kernel's sigcontext order, as
 * glibc's and musl's REG_* name them under _GNU_SOURCE only). */
enum {
  FS_R8,
  FS_R9,
  FS_R10,
  FS_R11,
  FS_R12,
  FS_R13,
  FS_R14,
  FS_R15,
  FS_RDI,
  FS_RSI,
  FS_RBP,
  FS_RBX,
  FS_RDX,
  FS_RAX,
  FS_RCX,
  FS_RSP,
  FS_RIP,
  FS_EFL,
  FS_CSGSFS,
  FS_ERR,
  FS_TRAPNO
};

FS_NO_SANITIZE static inline uintptr_t fs_uc_pc(const ucontext_t *uc)
{
  return (uintptr_t)uc->uc_mcontext.gregs[FS_RIP];
}
FS_NO_SANITIZE static inline uintptr_t fs_uc_sp(const ucontext_t *uc)
{
  return (uintptr_t)uc->uc_mcontext.gregs[FS_RSP];
}
FS_NO_SANITIZE static inline uintptr_t fs_uc_fp(const ucontext_t *uc)
{
  return (uintptr_t)uc->uc_mcontext.gregs[FS_RBP];
}
FS_NO_SANITIZE static inline uintptr_t fs_uc_lr(const ucontext_t *uc)
{
  (void)uc;
  return 0;
}
FS_NO_SANITIZE static inline void fs_uc_set_sp(ucontext_t *uc, uintptr_t sp)
{
  uc->uc_mcontext.gregs[FS_RSP] = (greg_t)sp;
}

/* The i-th register of a crash report: its name (3 columns) and value;
 * 0 past the last. Four to a line. */
#define FS_UC_REGS_PER_LINE 4
FS_NO_SANITIZE static inline int fs_uc_reg(const ucontext_t *uc, unsigned i,
                                           const char **name, uint64_t *v)
{
  static const struct {
    char name[4];
    int reg;
  } regs[] = {
      {"rax", FS_RAX}, {"rbx", FS_RBX}, {"rcx", FS_RCX}, {"rdx", FS_RDX},
      {"rsi", FS_RSI}, {"rdi", FS_RDI}, {"rbp", FS_RBP}, {"rsp", FS_RSP},
      {"r8 ", FS_R8},  {"r9 ", FS_R9},  {"r10", FS_R10}, {"r11", FS_R11},
      {"r12", FS_R12}, {"r13", FS_R13}, {"r14", FS_R14}, {"r15", FS_R15},
      {"rip", FS_RIP}, {"rfl", FS_EFL}, {"err", FS_ERR}, {"trp", FS_TRAPNO},
  };
  if (i >= sizeof regs / sizeof regs[0]) return 0;
  *name = regs[i].name;
  *v = (uint64_t)uc->uc_mcontext.gregs[regs[i].reg];
  return 1;
}

/* A spin-wait's pause. */
static inline void fs_arch_cpu_relax(void)
{
  __builtin_ia32_pause();
}

static inline uintptr_t fs_arch_strip_ra(uintptr_t ra)
{
  return ra;
}

#define FS_DW_FP 6
#define FS_DW_SP 7
#define FS_DW_RA 16
#define FS_DW_NREGS 17
#define FS_ARCH_RA_IN_REG 0
/* Whether a frame-record step knows the caller's sp exactly. */
#define FS_ARCH_FP_SP_EXACT 1
/* fs_capture_fault_context's mark on a copied context whose sp is only a
 * lower bound (a bit the kernel never sets in uc_flags). */
#define FS_UC_SP_LOWER_BOUND (1ul << 62)
#define FS_ARCH_FP_ALIGN 15
#define FS_ARCH_CFI_LOOP 1

/* glibc's __restore_rt: mov $15,%rax; syscall (0f 05): the first 8
 * bytes, and the 9th. */
#define FS_SIGRETURN_HEAD 0x0f0000000fc0c748ull
#define FS_SIGRETURN_LEN 9
/* 1: the trampoline may lie outside every loaded object (found by its
 * code at load time). */
#define FS_ARCH_LEARN_SIGRETURN 0
#define FS_SIGRETURN_TAIL_OK(p) (((const unsigned char *)(p))[8] == 0x05)

/* The interrupted context the kernel saved, seen from the trampoline's
 * frame (sp, fp; sp_exact: sp is the frame's real stack pointer), inside
 * the stack region [lo, hi); NULL if it is not there. On x86-64 rsp
 * points at the ucontext. */
FS_NO_SANITIZE static inline const ucontext_t *
fs_arch_sigframe(uintptr_t sp, int sp_exact, uintptr_t fp, uintptr_t lo,
                 uintptr_t hi)
{
  (void)sp_exact;
  (void)fp;
  if (sp < lo || sp > hi || sizeof(ucontext_t) > hi - sp) return NULL;
  return (const ucontext_t *)sp;
}

#endif
