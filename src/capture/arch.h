/* arch.h — the per-architecture pieces of capture, one file per
 * architecture behind one interface (arch_x86_64.h, arch_aarch64.h):
 *
 *   fs_uc_pc/sp/fp/lr, fs_uc_set_sp  the registers a walk starts from in
 *                        a ucontext_t (lr: the link register, 0 where
 *                        return addresses live on the stack)
 *   fs_uc_reg            the registers a crash report prints, by index
 *   fs_arch_cpu_relax    a spin-wait's pause
 *   fs_arch_strip_ra     a return address as code address (pointer
 *                        authentication bits removed)
 *   FS_DW_SP/FP/RA, FS_DW_NREGS   DWARF register numbers of the stack
 *                        pointer, the frame pointer and the return
 *                        address column
 *   FS_ARCH_RA_IN_REG    1 where a leaf's return address stays in a
 *                        register (the CFI rule "same value")
 *   FS_ARCH_FP_ALIGN     the alignment mask a frame record must meet
 *   FS_ARCH_CFI_LOOP     1 where capture.c's warm CFI loop applies
 *   FS_SIGRETURN_*       the signal return trampoline's code bytes
 *   fs_arch_sigframe     where the kernel saved the interrupted context,
 *                        seen from the trampoline's frame
 *
 * Later stages use the ucontext accessors through capture.h. Everything
 * here is [AS-safe]; the accessors read contexts a walk found on the
 * stack (bounds-checked, not necessarily aligned): no sanitizer checks. */
#ifndef FASTSTACK_ARCH_H
#define FASTSTACK_ARCH_H

#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

#include "common/common.h"

#if defined(__x86_64__)
#include "capture/arch_x86_64.h"
#elif defined(__aarch64__)
#include "capture/arch_aarch64.h"
#else
#error "faststack supports x86-64 and aarch64 Linux"
#endif

#endif
