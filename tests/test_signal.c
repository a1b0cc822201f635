/* test_signal.c — captures inside signal handlers: from the ucontext of a
 * SIGSEGV (starts at the faulting instruction) and a SIGUSR1 (starts at
 * the interrupted PC), and faststack_capture inside a handler running on
 * an alternate stack, which must continue through the signal frame. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"
#include "fs_testutil.h"

#define KEEP() __asm__ volatile("" ::: "memory")

static uintptr_t uc_pcs[64], in_pcs[64];
static volatile int uc_n, in_n;
static sigjmp_buf jump;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
  (void)sig;
  (void)si;
  uc_n = faststack_capture_ucontext(uc, uc_pcs, 64);
  siglongjmp(jump, 1);
}

/* Uses stack, so it has a frame of its own even where the compiler omits
 * leaf frame pointers (frameless code is the CFI unwinder's job). */
__attribute__((noinline, no_sanitize("undefined"))) void
faulting(volatile int *p)
{
  volatile char scratch[32];
  scratch[0] = 1;
  *p = scratch[0];
  KEEP();
}

__attribute__((noinline)) void fault_caller(void)
{
  faulting(NULL);
  KEEP();
}

__attribute__((noinline)) void test_segv(void)
{
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &sa, &old);
  if (sigsetjmp(jump, 1) == 0) fault_caller();
  sigaction(SIGSEGV, &old, NULL);
  CHECK(uc_n >= 3);
  CHECK(fs_test_pc_in(uc_pcs[0], (void *)faulting)); /* exact PC */
  CHECK(fs_test_ra_in(uc_pcs[1], (void *)fault_caller));
  CHECK(fs_test_ra_in(uc_pcs[2], (void *)test_segv));
}

static volatile int spinning, in_spinner;

__attribute__((noinline)) void on_usr1(int sig, siginfo_t *si, void *uc)
{
  (void)sig;
  (void)si;
  if (!spinning) return; /* a late signal from the kicker: keep the first */
  uc_n = faststack_capture_ucontext(uc, uc_pcs, 64);
  in_n = faststack_capture(in_pcs, 64, 0);
  spinning = 0;
}

__attribute__((noinline)) void spinner(void)
{
  volatile char scratch[32];
  scratch[0] = 1;
  in_spinner = scratch[0];
  while (spinning) KEEP();
}

__attribute__((noinline)) void spin_caller(void)
{
  spinner();
  KEEP();
}

static void *kicker(void *arg)
{
  pthread_t target = *(pthread_t *)arg;
  while (!in_spinner) usleep(1000);
  while (spinning) {
    usleep(2000);
    pthread_kill(target, SIGUSR1);
  }
  return NULL;
}

__attribute__((noinline)) void run_usr1(int on_altstack)
{
  static char altstack[1 << 16];
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO | (on_altstack ? SA_ONSTACK : 0);
  if (on_altstack) {
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigaltstack(&ss, NULL);
  }
  sigaction(SIGUSR1, &sa, &old);
  spinning = 1;
  in_spinner = 0;
  pthread_t self = pthread_self(), k;
  pthread_create(&k, NULL, kicker, &self);
  spin_caller();
  pthread_join(k, NULL);
  sigaction(SIGUSR1, &old, NULL);
  if (on_altstack) {
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
  }
}

static void check_usr1(const char *what)
{
  fprintf(stderr, "%s: ucontext %d frames, in-handler %d frames\n", what, uc_n,
          in_n);
  CHECK(uc_n >= 3);
  CHECK(fs_test_pc_in(uc_pcs[0], (void *)spinner));
  CHECK(fs_test_ra_in(uc_pcs[1], (void *)spin_caller));
  CHECK(fs_test_ra_in(uc_pcs[2], (void *)run_usr1));
  /* In the handler: on_usr1, the kernel's return trampoline, then the
   * interrupted spinner (stored +1: exact PC under the pc-1 rule), its
   * callers — the same chain as the ucontext capture. */
  CHECK(in_n >= 5);
  CHECK(fs_test_ra_in(in_pcs[0], (void *)on_usr1));
  CHECK_EQ(in_pcs[2], uc_pcs[0] + 1);
  CHECK(fs_test_ra_in(in_pcs[3], (void *)spin_caller));
  CHECK(fs_test_ra_in(in_pcs[4], (void *)run_usr1));
}

int main(void)
{
  test_segv();
  run_usr1(0);
  check_usr1("SIGUSR1");
  uc_n = in_n = 0;
  run_usr1(1);
  check_usr1("SIGUSR1 on sigaltstack");
  return CHECK_DONE("test_signal");
}
