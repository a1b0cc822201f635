/* unwind_fp.c — the rare paths of the frame-pointer rule (see
 * unwind_fp.h): looking an unknown return address up, and crossing a
 * signal frame. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <ucontext.h>

#include "capture/unwind_fp.h"

/* Not in glibc's headers: the kernel ABI value (asm/signal.h). */
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif

uintptr_t fs_sigreturn_pc;
uintptr_t fs_exe_code_lo, fs_exe_code_hi;
uintptr_t fs_libc_code_lo, fs_libc_code_hi;

/* [AS-safe] */
int fs_sigreturn_code_at(uintptr_t pc, uintptr_t lo, uintptr_t hi)
{
  uint64_t head;
  if (pc < lo || pc > hi || hi - pc < FS_SIGRETURN_LEN) return 0;
  memcpy(&head, (const void *)pc, 8);
  return head == FS_SIGRETURN_HEAD && FS_SIGRETURN_TAIL_OK(pc);
}

/* Load time only: the warm loop relies on the trampoline's key never
 * having been cached, which holds when it is known before any walk. */
static void sigreturn_set(uintptr_t pc, uintptr_t lo, uintptr_t hi)
{
  if (fs_sigreturn_code_at(pc, lo, hi)) fs_sigreturn_pc = pc;
}

#if defined(__x86_64__)
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
  if (fs_code_lookup(&c, pc)) sigreturn_set(pc, c.code_lo, c.code_hi);
}
#else
/* aarch64: the kernel's trampoline, not the C library's (sigaction does
 * not report it): __kernel_rt_sigreturn in the vDSO, or, under qemu-user
 * without a vDSO, a page of its own outside every loaded object. Either
 * way it is found here, at load time, by its code. */
static uintptr_t find_code(uintptr_t lo, uintptr_t hi)
{
  for (uintptr_t p = (lo + 3) & ~(uintptr_t)3; p + FS_SIGRETURN_LEN <= hi;
       p += 4) {
    uint64_t v;
    memcpy(&v, (const void *)p, 8);
    if (v == FS_SIGRETURN_HEAD) return p;
  }
  return 0;
}

static uintptr_t vdso_sigreturn(void)
{
  uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
  if (!base) return 0;
  const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
  const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(base + eh->e_phoff);
  uintptr_t bias = 0;
  int have_bias = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type != PT_LOAD) continue;
    if (!have_bias) {
      bias = base - (ph[i].p_vaddr & ~(uintptr_t)4095);
      have_bias = 1;
    }
    if (!(ph[i].p_flags & PF_X)) continue;
    uintptr_t t =
        find_code(bias + ph[i].p_vaddr, bias + ph[i].p_vaddr + ph[i].p_filesz);
    if (t) return t;
  }
  return 0;
}

/* Small executable mappings that are no loaded object's. */
static uintptr_t loose_sigreturn(void)
{
  FILE *f = fopen("/proc/self/maps", "re");
  if (!f) return 0;
  char line[512];
  uintptr_t t = 0;
  while (!t && fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char perms[8];
    fs_object o;
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3 || perms[0] != 'r' ||
        perms[2] != 'x' || hi - lo > 65536 || fs_object_find(lo, &o))
      continue;
    t = find_code(lo, hi);
  }
  fclose(f);
  return t;
}

void fs_sigreturn_init(void)
{
  uintptr_t t = vdso_sigreturn();
  if (!t) t = loose_sigreturn();
  if (t) sigreturn_set(t, t, t + FS_SIGRETURN_LEN);
}
#endif

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

/* An address in no loaded object that is the signal trampoline (qemu-user
 * maps it in a page of its own: fs_sigreturn_init). */
static int sigreturn_outside(fs_cursor *c, uintptr_t pc)
{
  if (!FS_ARCH_LEARN_SIGRETURN || pc != fs_sigreturn_pc) return 0;
  c->code_lo = pc;
  c->code_hi = pc + FS_SIGRETURN_LEN;
  return 1;
}

int fs_code_lookup(fs_cursor *c, uintptr_t pc)
{
  if (pc > fs_exe_code_lo && pc < fs_exe_code_hi) {
    c->code_lo = fs_exe_code_lo;
    c->code_hi = fs_exe_code_hi;
    return 1;
  }
  if (pc > fs_libc_code_lo && pc < fs_libc_code_hi) {
    c->code_lo = fs_libc_code_lo;
    c->code_hi = fs_libc_code_hi;
    return 1;
  }
  fs_object o;
  /* fs_object_find is lock-free and async-signal-safe. */
  if (pc == 0) return 0;
  if (!fs_object_find(pc, &o)) return sigreturn_outside(c, pc);
  c->code_lo = o.start;
  c->code_hi = o.end;
  return pc > c->code_lo && pc < c->code_hi;
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

/* The kernel returns from a handler into the trampoline with the
 * interrupted registers saved in a ucontext on the stack (where, from
 * the trampoline's frame: fs_arch_sigframe). */
FS_NO_SANITIZE int fs_signal_frame_enter(fs_cursor *c)
{
  if (!FS_SIGRETURN_TAIL_OK(c->pc)) return 0;
  const ucontext_t *uc =
      fs_arch_sigframe(c->sp, c->sp_exact, c->fp, c->region.lo, c->region.hi);
  if (!uc) return 0;
  uintptr_t sp = fs_uc_sp(uc), pc = fs_uc_pc(uc), fp = fs_uc_fp(uc);
  /* The interrupted code may run on another stack (the handler may be on
   * sigaltstack): look its region up afresh. */
  fs_region r;
  if (!fs_stack_region(sp, &r)) return 0;
  if (!fs_code_valid_inline(c, pc)) return 0;
  c->region = r;
  c->pc = pc;
  c->sp = sp;
  c->fp = fp;
  c->lr = fs_uc_lr(uc);
  c->sp_exact = 1;
  return 1;
}
