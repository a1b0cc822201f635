/* fixup.c — faults that faststack's own reads may take, turned into
 * answers instead of the death of the program it serves.
 *
 * Two kinds of memory can vanish under a reader in another thread's or
 * another process's hands:
 *
 *  - a loaded object another thread dlcloses: its mapped headers and
 *    build-id notes are read through fs_safe_copy, whose loads have a
 *    fixup address (the kernel's exception-table technique): a fault on
 *    one of them resumes at the fixup with an error. No cost when nothing
 *    faults: no system call, no jump buffer.
 *  - a file mapped for reading (the symbolizer's ELF and debug files)
 *    that is truncated in place: touching a page past the new end raises
 *    SIGBUS. Registered mappings (fs_fixup_map_add) get the pages from
 *    the faulting one to their end replaced by zero pages (MAP_FIXED
 *    anonymous, read-only), are marked changed, and the access is retried:
 *    the parsers see zeros, which they bound-check like any corrupt data,
 *    and readers discard what they got from a changed mapping.
 *
 * fs_fixup_fault decides. The fault sinks' handler (sinks/fault.c) calls
 * it first of all; when that handler is not installed, fs_fixup_arm
 * installs one of our own for SIGSEGV and SIGBUS which passes everything
 * else to the handler installed before it, the way the kernel would
 * have. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "common/common.h"

/* ------------------------------------------------------------ safe copy
 * fs_safe_copy_raw(dst, src, n): 8 bytes at a time, then bytes. The two
 * loads from src are the only instructions that may fault; both resume
 * at fs_safe_copy_fixup, which returns -1. A leaf without a frame (and,
 * on aarch64, without touching the link register): the fixup's ret
 * returns to the caller as the copy's own would. One body per
 * architecture; the handler below moves the interrupted PC. */
#if defined(__x86_64__)
__asm__(".text\n"
        ".p2align 4\n"
        ".globl fs_safe_copy_raw\n"
        ".hidden fs_safe_copy_raw\n"
        ".type fs_safe_copy_raw, @function\n"
        "fs_safe_copy_raw:\n"
        "  .byte 0xf3, 0x0f, 0x1e, 0xfa\n" /* endbr64 */
        "  xorl %eax, %eax\n"
        "  cmpq $8, %rdx\n"
        "  jb 2f\n"
        "1:\n"
        ".globl fs_safe_copy_load8\n"
        ".hidden fs_safe_copy_load8\n"
        "fs_safe_copy_load8:\n"
        "  movq (%rsi), %rcx\n"
        "  movq %rcx, (%rdi)\n"
        "  addq $8, %rsi\n"
        "  addq $8, %rdi\n"
        "  subq $8, %rdx\n"
        "  cmpq $8, %rdx\n"
        "  jae 1b\n"
        "2:\n"
        "  testq %rdx, %rdx\n"
        "  je 4f\n"
        "3:\n"
        ".globl fs_safe_copy_load1\n"
        ".hidden fs_safe_copy_load1\n"
        "fs_safe_copy_load1:\n"
        "  movb (%rsi), %cl\n"
        "  movb %cl, (%rdi)\n"
        "  incq %rsi\n"
        "  incq %rdi\n"
        "  decq %rdx\n"
        "  jne 3b\n"
        "4:\n"
        "  ret\n"
        ".globl fs_safe_copy_fixup\n"
        ".hidden fs_safe_copy_fixup\n"
        "fs_safe_copy_fixup:\n"
        "  movq $-1, %rax\n"
        "  ret\n"
        ".size fs_safe_copy_raw, .-fs_safe_copy_raw\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".p2align 4\n"
        ".globl fs_safe_copy_raw\n"
        ".hidden fs_safe_copy_raw\n"
        ".type fs_safe_copy_raw, %function\n"
        "fs_safe_copy_raw:\n"
        "  hint #34\n" /* bti c */
        "  cmp x2, #8\n"
        "  b.lo 2f\n"
        "1:\n"
        ".globl fs_safe_copy_load8\n"
        ".hidden fs_safe_copy_load8\n"
        "fs_safe_copy_load8:\n"
        "  ldr x3, [x1], #8\n"
        "  str x3, [x0], #8\n"
        "  sub x2, x2, #8\n"
        "  cmp x2, #8\n"
        "  b.hs 1b\n"
        "2:\n"
        "  cbz x2, 4f\n"
        "3:\n"
        ".globl fs_safe_copy_load1\n"
        ".hidden fs_safe_copy_load1\n"
        "fs_safe_copy_load1:\n"
        "  ldrb w3, [x1], #1\n"
        "  strb w3, [x0], #1\n"
        "  subs x2, x2, #1\n"
        "  b.ne 3b\n"
        "4:\n"
        "  mov x0, #0\n"
        "  ret\n"
        ".globl fs_safe_copy_fixup\n"
        ".hidden fs_safe_copy_fixup\n"
        "fs_safe_copy_fixup:\n"
        "  mov x0, #-1\n"
        "  ret\n"
        ".size fs_safe_copy_raw, .-fs_safe_copy_raw\n");
#else
#error "faststack supports x86-64 and aarch64 Linux"
#endif

long fs_safe_copy_raw(void *dst, const void *src, size_t n);
extern const char fs_safe_copy_load8[], fs_safe_copy_load1[],
    fs_safe_copy_fixup[];

/* 0 none, 1 our handler is installed, 2 the fault sinks' handler calls
 * fs_fixup_fault. */
static _Atomic int armed;

/* Set once process_vm_readv is refused: seccomp filters (some container
 * profiles), user-mode emulators (qemu-user) that do not implement it. */
static _Atomic int no_vm_readv;

/* The kernel copies through a pipe of our own: write(2) fails with
 * EFAULT instead of faulting when src is not mapped. A pipe per call, so
 * concurrent callers never read each other's bytes; chunks well under
 * the pipe's capacity, so a write never blocks. */
static int copy_through_pipe(void *dst, uintptr_t src, size_t n)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  int rc = 0;
  for (size_t done = 0; rc == 0 && done < n;) {
    size_t k = n - done < 4096 ? n - done : 4096;
    ssize_t w = write(p[1], (const void *)(src + done), k);
    if (w <= 0) rc = -1;
    for (ssize_t got = 0; rc == 0 && got < w;) {
      ssize_t r = read(p[0], (char *)dst + done + got, (size_t)(w - got));
      if (r <= 0) rc = -1;
      else got += r;
    }
    done += w > 0 ? (size_t)w : 0;
  }
  close(p[0]);
  close(p[1]);
  return rc;
}

int fs_safe_copy(void *dst, uintptr_t src, size_t n)
{
  if (n == 0) return 0;
  if (atomic_load_explicit(&armed, memory_order_acquire))
    return fs_safe_copy_raw(dst, (const void *)src, n) == 0 ? 0 : -1;
  /* No handler to resume at the fixup: let the kernel do the copy. */
  int saved = errno, rc = -1;
  if (!atomic_load_explicit(&no_vm_readv, memory_order_relaxed)) {
    struct iovec local = {dst, n}, remote = {(void *)src, n};
    ssize_t r =
        syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL);
    if (r == (ssize_t)n) rc = 0;
    else if (r < 0 && (errno == ENOSYS || errno == EPERM))
      atomic_store_explicit(&no_vm_readv, 1, memory_order_relaxed);
  }
  if (rc != 0 && atomic_load_explicit(&no_vm_readv, memory_order_relaxed))
    rc = copy_through_pipe(dst, src, n);
  errno = saved;
  return rc;
}

int fs_safe_equal(uintptr_t at, const void *bytes, size_t n)
{
  unsigned char buf[64];
  if (n > sizeof buf) return 0;
  /* The symbolizer compares a 20-byte build-id on every lookup: whole
   * words, the tail as one more word ending at the last byte (it overlaps
   * the words before it and stays inside [at, at+n)), instead of the
   * copy's byte loop. */
  if (n > 8 && n % 8 && atomic_load_explicit(&armed, memory_order_acquire)) {
    size_t body = n & ~(size_t)7;
    if (fs_safe_copy_raw(buf, (const void *)at, body) != 0 ||
        fs_safe_copy_raw(buf + n - 8, (const void *)(at + n - 8), 8) != 0)
      return 0;
    return memcmp(buf, bytes, n) == 0;
  }
  return fs_safe_copy(buf, at, n) == 0 && memcmp(buf, bytes, n) == 0;
}

int fs_safe_streq(uintptr_t at, const char *s)
{
  size_t n = strlen(s) + 1; /* the NUL too: a longer string differs */
  unsigned char buf[64];
  for (size_t off = 0; off < n; off += sizeof buf) {
    size_t k = n - off < sizeof buf ? n - off : sizeof buf;
    if (fs_safe_copy(buf, at + off, k) != 0 || memcmp(buf, s + off, k) != 0)
      return 0;
  }
  return 1;
}

/* ------------------------------------------------------- file mappings */

#define FS_FIXUP_MAPS 8192

typedef struct fixup_map {
  _Atomic uintptr_t lo, hi; /* hi == 0: free */
  _Atomic int changed;
} fixup_map;

static fixup_map maps[FS_FIXUP_MAPS];
static _Atomic int maps_used; /* slots [0, maps_used) were ever taken */
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;

int fs_fixup_map_add(const void *p, size_t n)
{
  long page = sysconf(_SC_PAGESIZE);
  uintptr_t lo = (uintptr_t)p;
  uintptr_t hi = (lo + n + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
  int slot = -1;
  pthread_mutex_lock(&maps_lock);
  int used = atomic_load(&maps_used);
  for (int i = 0; i < used && slot < 0; i++)
    if (!atomic_load(&maps[i].hi)) slot = i;
  if (slot < 0 && used < FS_FIXUP_MAPS) {
    slot = used;
    atomic_store(&maps_used, used + 1);
  }
  if (slot >= 0) {
    atomic_store(&maps[slot].changed, 0);
    atomic_store(&maps[slot].lo, lo);
    atomic_store(&maps[slot].hi, hi);
  }
  pthread_mutex_unlock(&maps_lock);
  return slot;
}

void fs_fixup_map_remove(int slot)
{
  if (slot < 0 || slot >= FS_FIXUP_MAPS) return;
  pthread_mutex_lock(&maps_lock);
  atomic_store(&maps[slot].hi, 0);
  pthread_mutex_unlock(&maps_lock);
}

int fs_fixup_map_changed(int slot)
{
  return slot >= 0 && slot < FS_FIXUP_MAPS && atomic_load(&maps[slot].changed);
}

/* [AS-safe] A SIGBUS at addr inside a registered mapping: zero pages from
 * addr's page to the mapping's end, and the mapping marked changed. */
static int map_fault(uintptr_t addr)
{
  int used = atomic_load(&maps_used);
  for (int i = 0; i < used; i++) {
    uintptr_t lo = atomic_load(&maps[i].lo), hi = atomic_load(&maps[i].hi);
    if (addr < lo || addr >= hi) continue;
    uintptr_t page = addr & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
    void *z = mmap((void *)page, hi - page, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (z == MAP_FAILED) return 0;
    atomic_store(&maps[i].changed, 1);
    return 1;
  }
  return 0;
}

/* ---------------------------------------------------------- the handler */

/* The interrupted PC. common/ comes before capture/, whose arch headers
 * have the full set of context accessors; this file needs only the PC. */
static uintptr_t uc_pc(const ucontext_t *uc)
{
#if defined(__x86_64__)
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#else
  return (uintptr_t)uc->uc_mcontext.pc;
#endif
}

static void uc_set_pc(ucontext_t *uc, uintptr_t pc)
{
#if defined(__x86_64__)
  uc->uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
#else
  uc->uc_mcontext.pc = pc;
#endif
}

int fs_fixup_fault(int sig, siginfo_t *si, void *ucv)
{
  ucontext_t *uc = ucv;
  if (!si || si->si_code <= 0 || (sig != SIGSEGV && sig != SIGBUS))
    return 0; /* only faults the CPU raised */
  if (uc) {
    uintptr_t pc = uc_pc(uc);
    if (pc == (uintptr_t)fs_safe_copy_load8 ||
        pc == (uintptr_t)fs_safe_copy_load1) {
      uc_set_pc(uc, (uintptr_t)fs_safe_copy_fixup);
      return 1;
    }
  }
  return sig == SIGBUS && si->si_code == BUS_ADRERR &&
         map_fault((uintptr_t)si->si_addr);
}

static struct sigaction prev_segv, prev_bus;
static pthread_mutex_t arm_lock = PTHREAD_MUTEX_INITIALIZER;

static void fixup_handler(int sig, siginfo_t *si, void *uc)
{
  int saved = errno;
  if (!fs_fixup_fault(sig, si, uc))
    fs_signal_forward(sig == SIGBUS ? &prev_bus : &prev_segv, sig, si, uc);
  errno = saved;
}

void fs_fixup_arm(void)
{
  if (atomic_load(&armed)) return;
  pthread_mutex_lock(&arm_lock);
  if (!atomic_load(&armed)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fixup_handler;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &prev_segv) == 0 &&
        sigaction(SIGBUS, &sa, &prev_bus) == 0)
      atomic_store(&armed, 1);
  }
  pthread_mutex_unlock(&arm_lock);
}

void fs_fixup_adopt(int sig, struct sigaction *prev)
{
  pthread_mutex_lock(&arm_lock);
  if ((sig == SIGSEGV || sig == SIGBUS) && (prev->sa_flags & SA_SIGINFO) &&
      prev->sa_sigaction == fixup_handler)
    *prev = sig == SIGBUS ? prev_bus : prev_segv;
  atomic_store(&armed, 2);
  pthread_mutex_unlock(&arm_lock);
}
