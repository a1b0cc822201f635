/* unwind_fp.c — the rare paths of the frame-pointer rule (see
 * unwind_fp.h): looking an unknown return address up, and crossing a
 * signal frame. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <ucontext.h>

#include "capture/unwind_fp.h"

/* Not in glibc's headers: the kernel ABI value (asm/signal.h). */
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

uintptr_t fs_sigreturn_pc;
uintptr_t fs_exe_code_lo, fs_exe_code_hi;
uintptr_t fs_libc_code_lo, fs_libc_code_hi;

/* glibc installs every handler with SA_RESTORER = its __restore_rt, and
 * sigaction reports it back. Re-installing a signal's current disposition
 * changes nothing else, so query it, re-install, and query again. The
 * bytes are checked so an interposed sigaction cannot mislead us. */
void fs_sigreturn_init(void)
{
  struct sigaction sa;
  if (sigaction(SIGURG, NULL, &sa) != 0) return;
  if (!(sa.sa_flags & SA_RESTORER) || !sa.sa_restorer) {
    if (sigaction(SIGURG, &sa, NULL) != 0 ||
        sigaction(SIGURG, NULL, &sa) != 0 || !sa.sa_restorer)
      return;
  }
  uintptr_t pc = (uintptr_t)sa.sa_restorer;
  fs_cursor c = {0};
  uint64_t head;
  if (!fs_code_lookup(&c, pc) || pc + 9 > c.code_hi) return;
  memcpy(&head, (const void *)pc, 8);
  if (head == FS_SIGRETURN_HEAD && ((const unsigned char *)pc)[8] == 0x05)
    fs_sigreturn_pc = pc;
}

/* Called once the module snapshot exists (the executable and libc are
 * its first entries of interest). */
void fs_code_ranges_init(void)
{
  faststack_module m[64];
  int n = faststack_modules_list(m, 64);
  for (int i = 0; i < n && i < 64; i++) {
    const char *base = strrchr(m[i].path, '/');
    base = base ? base + 1 : m[i].path;
    if (i == 0) { /* dl_iterate_phdr lists the executable first */
      fs_exe_code_lo = m[i].start;
      fs_exe_code_hi = m[i].end;
    } else if (!strncmp(base, "libc.so", 7)) {
      fs_libc_code_lo = m[i].start;
      fs_libc_code_hi = m[i].end;
    }
  }
}

int fs_code_lookup(fs_cursor *c, uintptr_t pc)
{
  if (pc >= fs_exe_code_lo && pc < fs_exe_code_hi) {
    c->code_lo = fs_exe_code_lo;
    c->code_hi = fs_exe_code_hi;
    return 1;
  }
  if (pc >= fs_libc_code_lo && pc < fs_libc_code_hi) {
    c->code_lo = fs_libc_code_lo;
    c->code_hi = fs_libc_code_hi;
    return 1;
  }
  struct dl_find_object d;
  /* _dl_find_object is lock-free and async-signal-safe (glibc 2.35+). */
  if (pc == 0 || _dl_find_object((void *)pc, &d) != 0) return 0;
  c->code_lo = (uintptr_t)d.dlfo_map_start;
  c->code_hi = (uintptr_t)d.dlfo_map_end;
  return pc >= c->code_lo && pc < c->code_hi;
}

int fs_code_valid(fs_cursor *c, uintptr_t pc)
{
  return fs_code_valid_inline(c, pc);
}

int fs_fp_step(fs_cursor *c)
{
  return fs_fp_step_inline(c);
}

int fs_signal_frame_step(fs_cursor *c)
{
  return fs_signal_frame_inline(c);
}

/* The kernel returns from a handler into __restore_rt with rsp at the
 * rt_sigframe's ucontext, which holds the interrupted registers. */
FS_NO_SANITIZE int fs_signal_frame_enter(fs_cursor *c)
{
  if (((const unsigned char *)c->pc)[8] != 0x05) return 0;
  uintptr_t uc_addr = c->sp;
  if (uc_addr < c->region.lo || uc_addr > c->region.hi ||
      sizeof(ucontext_t) > c->region.hi - uc_addr)
    return 0;
  const ucontext_t *uc = (const ucontext_t *)uc_addr;
  uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
  uintptr_t pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  uintptr_t fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
  /* The interrupted code may run on another stack (the handler may be on
   * sigaltstack): look its region up afresh. */
  fs_region r;
  if (!fs_stack_region(sp, &r)) return 0;
  if (!fs_code_valid_inline(c, pc)) return 0;
  c->region = r;
  c->pc = pc;
  c->sp = sp;
  c->fp = fp;
  return 1;
}
