/* test_recover.c — faststack_recover: the report of each signal (signal,
 * si_code, address, the faulting function's PC range and its callers),
 * nested guards, threads, formatting in every format, and the policy
 * (logging, the limit in a child process that must die by its signal).
 * Built -O1 -fno-inline -rdynamic so every helper is a real frame with a
 * dynamic symbol (fs_test_func_range). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"
#include "fs_testutil.h"

#if defined(__SANITIZE_ADDRESS__)
#define FS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FS_ASAN 1
#endif
#endif
#ifndef FS_ASAN
#define FS_ASAN 0
#endif

static volatile int faulting_line;
static int *volatile bad_ptr = (int *)0x10;

/* ------------------------------------------------------------ the faults */

__attribute__((noinline)) void fault_segv(void)
{
  /* The faulting statement is on the line __LINE__ records. */
  /* clang-format off */
  faulting_line = __LINE__; *bad_ptr = 1;
  /* clang-format on */
}
__attribute__((noinline)) void segv_level2(void)
{
  fault_segv();
}
__attribute__((noinline)) void segv_level1(void *arg)
{
  (void)arg;
  segv_level2();
  __asm__ volatile("" ::: "memory"); /* not a tail call */
}

__attribute__((noinline)) void fault_fpe(void *arg)
{
  (void)arg;
  /* idiv by zero in assembly: in C it is undefined behaviour, which the
   * UBSan build would report before the CPU faults. */
#if defined(__x86_64__)
  __asm__ volatile("xorl %%ecx, %%ecx\n\tmovl $1, %%eax\n\tcltd\n\t"
                   "idivl %%ecx" ::
                       : "eax", "ecx", "edx", "cc");
#else
  /* aarch64 divides by zero without a trap: the kernel is asked for the
   * same signal (SIGFPE, FPE_INTDIV) from this very instruction, with a
   * raw rt_tgsigqueueinfo. */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = SIGFPE;
  si.si_code = FPE_INTDIV;
  /* The values first: a call would clobber the register variables. */
  long pid = getpid(), tid = syscall(SYS_gettid);
  register long x0 __asm__("x0") = pid;
  register long x1 __asm__("x1") = tid;
  register long x2 __asm__("x2") = SIGFPE;
  register long x3 __asm__("x3") = (long)&si;
  register long x8 __asm__("x8") = SYS_rt_tgsigqueueinfo;
  /* si_addr (offset 16) is the faulting PC, as a CPU's SIGFPE has it:
   * here the instruction after svc, where the signal is taken. */
  __asm__ volatile("adr x9, 1f\n\tstr x9, [x3, #16]\n\tsvc #0\n1:"
                   : "+r"(x0)
                   : "r"(x1), "r"(x2), "r"(x3), "r"(x8)
                   : "x9", "memory");
#endif
}

__attribute__((noinline)) void fault_ill(void *arg)
{
  (void)arg;
#if defined(__aarch64__)
  __asm__ volatile("udf #0"); /* __builtin_trap is brk there: SIGTRAP */
#else
  __builtin_trap();
#endif
}

__attribute__((noinline)) void fault_abort(void *arg)
{
  (void)arg;
  abort();
}

static char *bus_map;
__attribute__((noinline)) void fault_bus(void *arg)
{
  (void)arg;
  volatile char *p = bus_map;
  (void)p[100];
}

static void do_nothing(void *arg)
{
  *(int *)arg = 42;
}

static int ra_somewhere(const faststack_recover_report *r, int from,
                        const void *fn)
{
  for (int i = from; i < r->n; i++)
    if (fs_test_ra_in(r->pcs[i], fn)) return i;
  return -1;
}

/* The caller chain from the guard's caller down: the test function that
 * called faststack_recover is on it. */
__attribute__((noinline)) void test_segv(void)
{
  faststack_recover_report r;
  memset(&r, 0xab, sizeof r);
  uint64_t before = faststack_recover_count();
  int rc = faststack_recover(segv_level1, NULL, &r);
  __asm__ volatile("" ::: "memory");
  CHECK_EQ(rc, SIGSEGV);
  CHECK_EQ(r.signal, SIGSEGV);
  CHECK_EQ(r.code, SEGV_MAPERR);
  CHECK_EQ(r.addr, 0x10);
  CHECK_EQ(r.flags, FASTSTACK_PCS_UCONTEXT);
  CHECK_EQ(r.depth, 1);
  CHECK_EQ(r.count, before + 1);
  CHECK_EQ(faststack_recover_count(), before + 1);
  CHECK_EQ(r.tid, gettid());
  CHECK(r.time_ns > 1700000000LL * 1000000000LL);
  CHECK(r.n >= 5);
  CHECK_EQ(r.pcs[0], r.pc);
  CHECK(fs_test_pc_in(r.pc, (void *)fault_segv));
  CHECK(fs_test_ra_in(r.pcs[1], (void *)segv_level2));
  CHECK(fs_test_ra_in(r.pcs[2], (void *)segv_level1));
  /* segv_level1 <- run_guarded <- faststack_recover <- test_segv */
  CHECK(ra_somewhere(&r, 3, (void *)test_segv) > 3);

  /* Every format: the raw one names the module, Go/gin the function and
   * the exact line, JSON the signal and nests the trace. */
  char buf[65536];
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_RAW);
  size_t n = faststack_recover_format(&r, &o, buf, sizeof buf);
  CHECK(n > 0 && n < sizeof buf);
  static const char head[] =
      "panic recovered: SIGSEGV: segmentation violation [code=1 "
      "(SEGV_MAPERR: address not mapped to object) addr=0x10 pc=0x";
  CHECK(strncmp(buf, head, sizeof head - 1) == 0);
  CHECK(strstr(buf, "#0  0x") != NULL);
  CHECK(strstr(buf, "test_recover") != NULL);

  char want[128];
  snprintf(want, sizeof want, "test_recover.c:%d", faulting_line);
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  o.color = 0;
  n = faststack_recover_format(&r, &o, buf, sizeof buf);
  CHECK(n > 0 && n < sizeof buf);
  CHECK(strstr(buf, "\nfault_segv(") != NULL);
  CHECK(strstr(buf, want) != NULL);
  CHECK(strstr(buf, "*bad_ptr = 1;") != NULL); /* the source line */
  char *a = strstr(buf, "fault_segv("), *b = strstr(buf, "segv_level2(");
  CHECK(a && b && a < b);

  faststack_format_options_init(&o, FASTSTACK_FORMAT_GIN);
  o.color = 0;
  n = faststack_recover_format(&r, &o, buf, sizeof buf);
  CHECK(strstr(buf, want) != NULL);
  CHECK(strstr(buf, "fault_segv: ") != NULL);

  faststack_format_options_init(&o, FASTSTACK_FORMAT_JSON);
  n = faststack_recover_format(&r, &o, buf, sizeof buf);
  CHECK(strncmp(buf,
                "{\"signal\":\"SIGSEGV\",\"signo\":11,\"code\":1,"
                "\"code_name\":\"SEGV_MAPERR\",\"addr\":\"0x10\"",
                74) == 0);
  CHECK(strstr(buf, ",\"trace\":{\"pid\":") != NULL);
  CHECK(n > 3 && strcmp(buf + n - 3, "}}\n") == 0);
  CHECK(strstr(buf, "\"function\":\"fault_segv\"") != NULL);

  /* Truncation: the length needed, like snprintf. */
  char tiny[8];
  CHECK_EQ(faststack_recover_format(&r, &o, tiny, sizeof tiny), n);
  CHECK_EQ(strlen(tiny), 7);
}

#define FS_T_ANY_ILL 1000
__attribute__((noinline)) void test_signal(void (*fn)(void *), int sig,
                                           int code, int addr_is_pc,
                                           const char *name)
{
  faststack_recover_report r;
  int rc = faststack_recover(fn, NULL, &r);
  __asm__ volatile("" ::: "memory");
  fprintf(stderr, "%s: rc=%d code=%d n=%d\n", name, rc, r.code, r.n);
  CHECK_EQ(rc, sig);
  CHECK_EQ(r.signal, sig);
  /* FS_T_ANY_ILL: SIGILL from an undefined instruction, ILL_ILLOPC on
   * an arm64 kernel, ILL_ILLOPN under qemu-user. */
  if (code != FS_T_ANY_ILL) CHECK_EQ(r.code, code);
  else CHECK(r.code == ILL_ILLOPC || r.code == ILL_ILLOPN);
#if !defined(__GLIBC__)
  /* musl's libc.a has no unwind tables and no frame pointers: a walk
   * from inside its raise ends there (frames missing, never wrong). */
  if (sig == SIGABRT) {
    CHECK(r.n >= 1);
    CHECK(!fs_test_pc_in(r.pc, (void *)fn));
    return;
  }
#endif
  CHECK(r.n >= 3);
  if (sig != SIGABRT) {
    CHECK(fs_test_pc_in(r.pc, (void *)fn));
    if (addr_is_pc) CHECK_EQ(r.addr, r.pc);
  } else {
    CHECK_EQ(r.addr, 0);
    /* pcs[0] is in libc's raise; the chain reaches abort's caller. */
    CHECK(!fs_test_pc_in(r.pc, (void *)fn));
    CHECK(ra_somewhere(&r, 1, (void *)fn) > 0);
  }
  CHECK(ra_somewhere(&r, 1, (void *)test_signal) > 0);
}

static void test_bus(void)
{
  char path[] = "/tmp/fs_recover_busXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  unlink(path);
  CHECK_EQ(ftruncate(fd, 4096), 0);
  bus_map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
  CHECK(bus_map != MAP_FAILED);
  CHECK_EQ(ftruncate(fd, 0), 0); /* the page is now past the file's end */
  faststack_recover_report r;
  int rc = faststack_recover(fault_bus, NULL, &r);
  CHECK_EQ(rc, SIGBUS);
  CHECK_EQ(r.code, BUS_ADRERR);
  CHECK_EQ(r.addr, (uintptr_t)bus_map + 100);
  CHECK(fs_test_pc_in(r.pc, (void *)fault_bus));
  munmap(bus_map, 4096);
  close(fd);
}

/* ---------------------------------------------------------------- nesting */

static int outer_went_on;
static faststack_recover_report inner_r;
static int inner_rc;

__attribute__((noinline)) void nested_outer(void *arg)
{
  (void)arg;
  inner_rc = faststack_recover(segv_level1, NULL, &inner_r);
  outer_went_on = 1;
  fault_fpe(NULL);
}

static void block_usr1_then_fault(void *arg)
{
  sigset_t u;
  sigemptyset(&u);
  sigaddset(&u, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &u, NULL);
  segv_level1(arg);
}

static void test_nested(void)
{
  faststack_recover_report r;
  outer_went_on = 0;
  int rc = faststack_recover(nested_outer, NULL, &r);
  CHECK_EQ(inner_rc, SIGSEGV);
  CHECK_EQ(inner_r.depth, 2);
  CHECK(fs_test_pc_in(inner_r.pc, (void *)fault_segv));
  CHECK(ra_somewhere(&inner_r, 1, (void *)nested_outer) > 0);
  CHECK_EQ(outer_went_on, 1);
  CHECK_EQ(rc, SIGFPE);
  CHECK_EQ(r.depth, 1);
  CHECK_EQ(r.code, FPE_INTDIV);
  CHECK(fs_test_pc_in(r.pc, (void *)fault_fpe));
  CHECK(fs_test_ra_in(r.pcs[1], (void *)nested_outer));

  /* The signal mask is the faulting code's: nothing the delivery blocked
   * stays blocked; what fn blocked itself stays (documented). */
  sigset_t cur;
  pthread_sigmask(SIG_SETMASK, NULL, &cur);
  CHECK(!sigismember(&cur, SIGSEGV));
  CHECK(!sigismember(&cur, SIGFPE));
  CHECK(!sigismember(&cur, SIGUSR1));
  CHECK_EQ(faststack_recover(block_usr1_then_fault, NULL, &r), SIGSEGV);
  pthread_sigmask(SIG_SETMASK, NULL, &cur);
  CHECK(sigismember(&cur, SIGUSR1));
  CHECK(!sigismember(&cur, SIGSEGV));
  sigset_t u;
  sigemptyset(&u);
  sigaddset(&u, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &u, NULL);

  /* The chain is empty again: a normal call reports nothing. */
  int v = 0;
  memset(&r, 0x5a, sizeof r);
  CHECK_EQ(faststack_recover(do_nothing, &v, &r), 0);
  CHECK_EQ(v, 42);
  CHECK_EQ(r.signal, 0);
  CHECK_EQ(r.n, 0);
  CHECK_EQ(faststack_recover(NULL, NULL, &r), -1);
}

/* ------------------------------------------- a fault inside a handler */

/* fn raises SIGUSR2 and the program's handler faults: the jump back
 * abandons the handler's frame (its sigreturn would have put the mask
 * back), so the recovery must restore the mask of the code the handler
 * interrupted — not leave SIGUSR2 (and the handler's sa_mask) blocked. */
static void faulting_handler(int sig)
{
  (void)sig;
  segv_level1(NULL);
}

static void raise_usr2(void *arg)
{
  (void)arg;
  raise(SIGUSR2);
}

static void test_fault_in_handler(int flags)
{
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = faulting_handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  sigaddset(&sa.sa_mask, SIGHUP);
  sigaction(SIGUSR2, &sa, &old);
  for (int i = 0; i < 100; i++) {
    faststack_recover_report r;
    CHECK_EQ(faststack_recover(raise_usr2, NULL, &r), SIGSEGV);
    CHECK(fs_test_pc_in(r.pc, (void *)fault_segv));
    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    if (sigismember(&cur, SIGUSR2) || sigismember(&cur, SIGHUP) ||
        sigismember(&cur, SIGSEGV)) {
      CHECK(!sigismember(&cur, SIGUSR2));
      CHECK(!sigismember(&cur, SIGHUP)); /* the handler's sa_mask */
      CHECK(!sigismember(&cur, SIGSEGV));
      sigaddset(&sa.sa_mask, SIGUSR2);
      pthread_sigmask(SIG_UNBLOCK, &sa.sa_mask, NULL);
      break;
    }
  }
  sigaction(SIGUSR2, &old, NULL);
}

/* ---------------------------------------------------------------- threads */

static void *thread_loop(void *arg)
{
  int bad = 0;
  for (int i = 0; i < 2000; i++) {
    faststack_recover_report r;
    int sig = (i & 1) ? SIGFPE : SIGSEGV;
    int rc = faststack_recover(i & 1 ? fault_fpe : segv_level1, NULL, &r);
    if (rc != sig || r.signal != sig || r.tid != gettid() || r.depth != 1)
      bad++;
  }
  *(int *)arg = bad;
  return NULL;
}

static void test_threads(void)
{
  pthread_t t[4];
  int bad[4];
  uint64_t before = faststack_recover_count();
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_loop, &bad[i]);
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    CHECK_EQ(bad[i], 0);
  }
  CHECK_EQ(faststack_recover_count(), before + 8000);
}

/* ------------------------------------------------------------ the policy */

static int read_all(int fd, char *buf, size_t cap)
{
  size_t n = 0;
  ssize_t k;
  while (n + 1 < cap && (k = read(fd, buf + n, cap - 1 - n)) > 0)
    n += (size_t)k;
  buf[n] = 0;
  return (int)n;
}

/* Runs child() in a forked process with stderr captured; returns its wait
 * status and its stderr in out. */
static int in_child(void (*child)(void), char *out, size_t cap)
{
  int p[2];
  if (pipe(p) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    dup2(p[1], 2);
    child();
    _exit(0);
  }
  close(p[1]);
  read_all(p[0], out, cap);
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return st;
}

static void child_limit(void)
{
  faststack_recover_policy p;
  faststack_recover_policy_init(&p);
  p.log_fd = 2;
  p.log_format = FASTSTACK_FORMAT_RAW;
  p.max_recoveries = 3;
  p.window_ms = 60000;
  if (faststack_recover_set_policy(&p) != 0) _exit(10);
  for (int i = 0; i < 3; i++)
    if (faststack_recover(segv_level1, NULL, NULL) != SIGSEGV) _exit(11);
  fprintf(stderr, "three recovered\n");
  faststack_recover(segv_level1, NULL, NULL); /* the 4th: fatal */
  _exit(12);
}

static void child_window(void)
{
  faststack_recover_policy p;
  faststack_recover_policy_init(&p);
  p.log_fd = -1;
  p.max_recoveries = 2;
  p.window_ms = 200;
  if (faststack_recover_set_policy(&p) != 0) _exit(10);
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 2; i++)
      if (faststack_recover(fault_fpe, NULL, NULL) != SIGFPE) _exit(11);
    struct timespec ts = {0, 260 * 1000000L};
    nanosleep(&ts, NULL); /* the window empties */
  }
  fprintf(stderr, "six recovered\n");
  _exit(0);
}

static void *unguarded_fault(void *arg)
{
  (void)arg;
  fault_segv();
  return NULL;
}

static void guarded_wait(void *arg)
{
  pthread_t t;
  pthread_create(&t, NULL, unguarded_fault, arg);
  pthread_join(t, NULL);
}

/* A guard in one thread does not protect another. */
static void child_other_thread(void)
{
  faststack_recover(guarded_wait, NULL, NULL);
  fprintf(stderr, "survived\n");
  _exit(13);
}

/* Outside any guard, the fault is as fatal as without faststack. */
static void child_unguarded(void)
{
  int v;
  faststack_recover(do_nothing, &v, NULL);
  fault_segv();
  _exit(14);
}

/* kill -SEGV from another process is not a fault of the guarded code: it
 * is not recovered, even inside a guard. */
static void killed_from_outside(void *arg)
{
  (void)arg;
  pid_t me = getpid();
  if (fork() == 0) {
    kill(me, SIGSEGV);
    _exit(0);
  }
  for (int i = 0; i < 500; i++) {
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

static void child_killed(void)
{
  faststack_recover(killed_from_outside, NULL, NULL);
  fprintf(stderr, "recovered a kill\n");
  _exit(15);
}

static int died_by(int st, int sig)
{
  /* Sanitizers chain: their handler ends the process with its own exit
   * code instead of the signal. */
  if (FS_ASAN)
    return (WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) < 10) ||
           (WIFSIGNALED(st) && WTERMSIG(st) == sig);
  return WIFSIGNALED(st) && WTERMSIG(st) == sig;
}

static void test_policy(void)
{
  static char out[65536];
  int st = in_child(child_limit, out, sizeof out);
  CHECK(died_by(st, SIGSEGV));
  CHECK(strstr(out, "three recovered\n") != NULL);
  /* Each recovery logged (raw format), then the limit line. */
  const char *p = out;
  int logged = 0;
  while ((p = strstr(p, "panic recovered: SIGSEGV")) != NULL) {
    logged++;
    p++;
  }
  CHECK_EQ(logged, 3);
  CHECK(strstr(out, "faststack: 3 recoveries within 60000 ms (the policy's "
                    "limit): SIGSEGV is not recovered; exiting\n") != NULL);

  st = in_child(child_window, out, sizeof out);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(strstr(out, "six recovered\n") != NULL);
  CHECK(strstr(out, "panic recovered") == NULL); /* log_fd -1 */

  st = in_child(child_other_thread, out, sizeof out);
  CHECK(died_by(st, SIGSEGV));
  CHECK(strstr(out, "survived") == NULL);

  st = in_child(child_unguarded, out, sizeof out);
  CHECK(died_by(st, SIGSEGV));

  st = in_child(child_killed, out, sizeof out);
  CHECK(died_by(st, SIGSEGV));
  CHECK(strstr(out, "recovered a kill") == NULL);

  /* Bad policies. */
  faststack_recover_policy bad;
  faststack_recover_policy_init(&bad);
  bad.max_recoveries = -1;
  CHECK_EQ(faststack_recover_set_policy(&bad), -1);
  CHECK_EQ(errno, EINVAL);
  bad.max_recoveries = 0;
  bad.log_format = 17;
  CHECK_EQ(faststack_recover_set_policy(&bad), -1);
  CHECK_EQ(faststack_recover_set_policy(NULL), 0);
}

/* The default policy logs each recovery to log_fd in Go format. */
static void test_default_log(void)
{
  char path[] = "/tmp/fs_recover_logXXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  unlink(path);
  faststack_recover_policy p;
  faststack_recover_policy_init(&p);
  CHECK_EQ(p.log_fd, 2);
  CHECK_EQ(p.log_format, FASTSTACK_FORMAT_GO);
  CHECK_EQ(p.max_recoveries, 0);
  p.log_fd = fd;
  CHECK_EQ(faststack_recover_set_policy(&p), 0);
  CHECK_EQ(faststack_recover(segv_level1, NULL, NULL), SIGSEGV);
  faststack_recover_set_policy(NULL);
  char buf[65536];
  lseek(fd, 0, SEEK_SET);
  read_all(fd, buf, sizeof buf);
  close(fd);
  CHECK(strncmp(buf, "panic recovered: SIGSEGV", 24) == 0);
  CHECK(strstr(buf, "\nfault_segv(") != NULL);
}

/* With the crash reporter installed too: a recovered fault prints no crash
 * report, and on a thread with an alternate signal stack even a stack
 * overflow is recovered. */
#if !FS_ASAN
static volatile int overflow_limit = 1 << 30; /* never reached */
__attribute__((noinline)) int overflow(int depth)
{
  volatile char pad[256];
  pad[0] = (char)depth;
  if (depth > overflow_limit) return 0;
  return overflow(depth + 1) + pad[0];
}

static void do_overflow(void *arg)
{
  (void)arg;
  overflow(0);
}
#endif

static void child_with_crash_handler(void)
{
  faststack_crash_options co;
  memset(&co, 0, sizeof co);
  if (faststack_crash_install(&co) != 0) _exit(20);
  faststack_recover_report r;
  if (faststack_recover(segv_level1, NULL, &r) != SIGSEGV) _exit(21);
  if (!fs_test_pc_in(r.pc, (void *)fault_segv)) _exit(22);
#if !FS_ASAN
  /* ASan keeps its own guard for stack overflows. */
  if (faststack_recover(do_overflow, NULL, &r) != SIGSEGV) _exit(23);
  if (!fs_test_pc_in(r.pc, (void *)overflow)) _exit(24);
  if (r.n < 100 || !fs_test_ra_in(r.pcs[1], (void *)overflow)) _exit(25);
#endif
  /* Still working after the overflow. */
  if (faststack_recover(fault_fpe, NULL, &r) != SIGFPE) _exit(26);
  fprintf(stderr, "all recovered\n");
  _exit(0);
}

static void test_with_crash_handler(void)
{
  static char out[65536];
  int st = in_child(child_with_crash_handler, out, sizeof out);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    fprintf(stderr, "child status %#x: %s\n", st, out);
  CHECK(strstr(out, "all recovered\n") != NULL);
  CHECK(strstr(out, "fatal signal") == NULL);
}

int main(void)
{
  /* Logging off for the report tests: they check the returned report. */
  faststack_recover_policy p;
  faststack_recover_policy_init(&p);
  p.log_fd = -1;
  CHECK_EQ(faststack_recover_set_policy(&p), 0);

  test_segv();
  test_signal(fault_fpe, SIGFPE, FPE_INTDIV, 1, "SIGFPE");
#if defined(__aarch64__)
  test_signal(fault_ill, SIGILL, FS_T_ANY_ILL, 1, "SIGILL");
#else
  test_signal(fault_ill, SIGILL, ILL_ILLOPN, 1, "SIGILL");
#endif
  test_signal(fault_abort, SIGABRT, SI_TKILL, 0, "SIGABRT");
  test_bus();
  test_nested();
  test_fault_in_handler(0);
  /* The handler on an alternate stack (the walk back to the guard
   * changes stacks). */
  CHECK_EQ(faststack_crash_thread_init(), 0);
  test_fault_in_handler(SA_ONSTACK);
  test_threads();
  test_policy();
  test_with_crash_handler();
  test_default_log();
  return CHECK_DONE("test_recover");
}
