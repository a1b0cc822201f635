/* crash_cases.c — programs that die, one per case, for crash_driver.py:
 *   crash_cases CASE
 * installs the crash handler (options from the environment), then runs
 * the case, which faults. Every faulting statement carries a marker
 * comment "FAULT:CASE" that the driver looks up to know the expected line;
 * every case's call chain is main -> run_case -> case_CASE -> ... so the
 * driver can check the whole chain.
 *
 * Built with frame pointers everywhere, no inlining and no sibling calls:
 * what these tests check is the handler, not the unwinder's reach into
 * frameless code (faults inside libc need the CFI unwinder for their
 * callers; the driver marks those checks). */
/* The assert case needs assert, whatever the build type says. */
#undef NDEBUG
#include <assert.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/seccomp.h>) && __has_include(<linux/filter.h>)
#include <linux/filter.h>
#include <linux/seccomp.h>
#define HAVE_SECCOMP 1
#endif
#endif

#include "faststack.h"

#define KEEP() __asm__ volatile("" ::: "memory")
/* Leaf functions that touch no stack get no frame pointer from gcc even
 * with -mno-omit-leaf-frame-pointer; a frameless leaf loses its caller
 * under the frame-pointer rule (that is the CFI unwinder's case, tested
 * with the faults inside libc). A stack slot gives these leaves a frame. */
#define FRAME()                                                                \
  volatile char frame_[16];                                                    \
  frame_[0] = 0;                                                               \
  frame_[1] = frame_[0];                                                       \
  KEEP()

/* The architecture's faulting instructions. aarch64 divides by zero
 * without a trap (the kernel is asked for the same SIGFPE, FPE_INTDIV, at
 * this very instruction, with a raw rt_tgsigqueueinfo whose si_addr is
 * the PC the signal is taken at), and __builtin_trap is brk (SIGTRAP)
 * there: udf is the undefined instruction (SIGILL). */
#if defined(__aarch64__)
/* Sent again if the handler returns (a crash handler re-arms the default
 * action and returns into the faulting instruction, as for a real
 * fault): the second one ends the process. */
#define FPE_HERE()                                                             \
  do {                                                                         \
    siginfo_t si_;                                                             \
    memset(&si_, 0, sizeof si_);                                               \
    si_.si_signo = SIGFPE;                                                     \
    si_.si_code = FPE_INTDIV;                                                  \
    long pid_ = getpid(), tid_ = syscall(SYS_gettid);                          \
    register long x4 __asm__("x4") = pid_;                                     \
    register long x1 __asm__("x1") = tid_;                                     \
    register long x2 __asm__("x2") = SIGFPE;                                   \
    register long x3 __asm__("x3") = (long)&si_;                               \
    register long x8 __asm__("x8") = SYS_rt_tgsigqueueinfo;                    \
    __asm__ volatile("1: adr x9, 2f\n\tstr x9, [x3, #16]\n\tmov x0, x4\n\t"    \
                     "svc #0\n2: b 1b" ::"r"(x1),                              \
                     "r"(x2), "r"(x3), "r"(x4), "r"(x8)                        \
                     : "x0", "x9", "memory");                                  \
  } while (0)
#define DIV(a, b)                                                              \
  __extension__({                                                              \
    if ((b) == 0) FPE_HERE();                                                  \
    (a) / (b);                                                                 \
  })
#define TRAP() __asm__ volatile("udf #0")
#else
#define DIV(a, b) ((a) / (b))
#define TRAP() __builtin_trap()
#endif

/* Never reached: a base case keeps the compiler from rejecting the
 * deliberate unbounded recursion. */
static volatile int never = -1;

/* Test hooks of src/crash.c (static library). */
extern volatile int fs_crash_test_hook;

static volatile int *volatile null_ptr;
static volatile int zero;

/* ---- NULL dereference */
__attribute__((noinline)) void null_store(volatile int *p)
{
  FRAME();
  *p = 42; /* FAULT:null */
  KEEP();
}
__attribute__((noinline)) void case_null(void)
{
  null_store(null_ptr);
  KEEP();
}

/* ---- write to read-only memory */
static const char rodata_text[] = "read-only";
__attribute__((noinline)) void rodata_store(char *volatile p)
{
  FRAME();
  p[0] = 'R'; /* FAULT:rodata */
  KEEP();
}
__attribute__((noinline)) void case_rodata(void)
{
  rodata_store((char *)rodata_text);
  KEEP();
}

/* ---- stack overflow by recursion, main thread and another thread */
__attribute__((noinline)) int recurse(int depth)
{ /* FAULT:overflow_entry */
  if (depth == never) return 0;
  volatile char frame[1024];
  frame[0] = (char)depth; /* FAULT:overflow */
  /* The call may be what faults: it pushes onto the next page. */
  int r = recurse(depth + 1) + frame[0]; /* FAULT:overflow_call */
  KEEP();
  return r;
}
__attribute__((noinline)) void case_overflow_main(void)
{
  recurse(0);
  KEEP();
}

__attribute__((noinline)) int recurse_thread(int depth)
{ /* FAULT:overflow_thread_entry */
  if (depth == never) return 0;
  volatile char frame[512];
  frame[0] = (char)depth; /* FAULT:overflow_thread */
  /* The call may be what faults: it pushes onto the next page. */
  int r = recurse_thread(depth + 1) + frame[0]; /* FAULT:overflow_thread_call */
  KEEP();
  return r;
}
__attribute__((noinline)) void *overflow_thread_main(void *arg)
{
  (void)arg;
  /* Linked in, not preloaded: a thread gets its alternate stack itself. */
  faststack_crash_thread_init();
  recurse_thread(0);
  KEEP();
  return NULL;
}
__attribute__((noinline)) void case_overflow_thread(void)
{
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, 256 * 1024);
  pthread_create(&t, &a, overflow_thread_main, NULL);
  pthread_join(t, NULL);
  KEEP();
}

/* ---- abort() and a failed assert */
__attribute__((noinline)) void do_abort(void)
{
  abort(); /* FAULT:abort */
  KEEP();
}
__attribute__((noinline)) void case_abort(void)
{
  do_abort();
  KEEP();
}

__attribute__((noinline)) void check_invariant(int v)
{
  assert(v == 0); /* FAULT:assert */
  KEEP();
}
__attribute__((noinline)) void case_assert(void)
{
  check_invariant(1 + zero);
  KEEP();
}

/* ---- integer division by zero */
__attribute__((noinline)) int divide(int a, int b)
{
  FRAME();
  int q = DIV(a, b); /* FAULT:fpe */
  KEEP();
  return q;
}
__attribute__((noinline)) void case_fpe(void)
{
  printf("%d\n", divide(7, zero));
  KEEP();
}

/* ---- __builtin_trap (ud2: SIGILL) */
__attribute__((noinline)) void trap_here(void)
{
  FRAME();
  if (!zero) TRAP(); /* FAULT:trap */
  KEEP();
}
__attribute__((noinline)) void case_trap(void)
{
  trap_here();
  KEEP();
}

/* ---- SIGBUS: a page of a mapped file beyond its truncated end */
__attribute__((noinline)) void touch_page(volatile char *p)
{
  FRAME();
  p[0] = 1; /* FAULT:sigbus */
  KEEP();
}
__attribute__((noinline)) void case_sigbus(void)
{
  char path[] = "/tmp/faststack-sigbus-XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  long page = sysconf(_SC_PAGESIZE);
  if (fd < 0 || ftruncate(fd, 2 * page) != 0) exit(3);
  char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED || ftruncate(fd, page) != 0) exit(3);
  touch_page(m + page);
  KEEP();
}

/* ---- faults inside libc */
__attribute__((noinline)) size_t call_strlen(const char *s)
{
  size_t n = strlen(s); /* FAULT:strlen */
  KEEP();
  return n;
}
__attribute__((noinline)) void case_strlen(void)
{
  printf("%zu\n", call_strlen((const char *)null_ptr));
  KEEP();
}

__attribute__((noinline)) void call_memcpy(void *dst, const void *src, size_t n)
{
  memcpy(dst, src, n); /* FAULT:memcpy */
  KEEP();
}
__attribute__((noinline)) void case_memcpy(void)
{
  char src[64] = "some bytes";
  call_memcpy((void *)null_ptr, src, sizeof src);
  KEEP();
}

/* ---- a fault inside a qsort comparator */
__attribute__((noinline)) int compare_faulting(const void *a, const void *b)
{
  FRAME();
  int x = *(const int *)a, y = *(const int *)b;
  if (x == 3) *null_ptr = y; /* FAULT:qsort */
  KEEP();
  return x - y;
}
__attribute__((noinline)) void case_qsort(void)
{
  int v[16];
  for (int i = 0; i < 16; i++) v[i] = 16 - i;
  qsort(v, 16, sizeof v[0], compare_faulting);
  KEEP();
}

/* ---- glibc aborting on a double free (its malloc state is suspect) */
__attribute__((noinline)) void free_twice(char *p)
{
  char *volatile again = p;
  free(p);
  free(again); /* FAULT:double_free */
  KEEP();
}
__attribute__((noinline)) void case_double_free(void)
{
  char *volatile p = malloc(32);
  free_twice(p);
  KEEP();
}

/* ---- 8 threads faulting at once */
static pthread_barrier_t barrier8;
__attribute__((noinline)) void thread_null_store(volatile int *p)
{
  FRAME();
  *p = 8; /* FAULT:threads8 */
  KEEP();
}
__attribute__((noinline)) void *fault_thread_main(void *arg)
{
  (void)arg;
  faststack_crash_thread_init();
  pthread_barrier_wait(&barrier8);
  thread_null_store(null_ptr);
  KEEP();
  return NULL;
}
__attribute__((noinline)) void case_threads8(void)
{
  pthread_t t[8];
  pthread_barrier_init(&barrier8, NULL, 8);
  for (int i = 0; i < 100000; i++)
    pthread_create(&t[i], NULL, fault_thread_main, NULL);
  for (int i = 0; i < 8; i++) pthread_join(t[i], NULL);
  KEEP();
}

/* ---- a fault inside a dlopen'ed library (crash_lib.c) */
__attribute__((noinline)) void case_dlopen(void)
{
  void *h = dlopen(CRASH_LIB, RTLD_NOW);
  if (!h) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    exit(3);
  }
  void (*f)(volatile int *) = (void (*)(volatile int *))dlsym(h, "lib_fault");
  if (!f) exit(3);
  f(null_ptr);
  KEEP();
}

/* ---- ALL level with 50 parked threads */
static atomic_int parked;
__attribute__((noinline)) void park(void)
{
  /* The raw system call stub keeps rbp: the walk starts in our frame.
   * (aarch64 has no pause system call: ppoll with nothing waits alike.) */
#ifdef SYS_pause
  syscall(SYS_pause);
#else
  syscall(SYS_ppoll, NULL, 0, NULL, NULL, 0);
#endif
  KEEP();
}
__attribute__((noinline)) void *parked_thread_main(void *arg)
{
  (void)arg;
  atomic_fetch_add(&parked, 1);
  for (;;) park();
  return NULL;
}
__attribute__((noinline)) void case_all50(void)
{
  pthread_t t;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, 128 * 1024);
  for (int i = 0; i < 50; i++) pthread_create(&t, &a, parked_thread_main, NULL);
  while (atomic_load(&parked) < 50) usleep(1000);
  usleep(100 * 1000); /* let every thread reach the system call */
  null_store(null_ptr);
  KEEP();
}

/* ---- a program with its own SIGSEGV handler, installed before ours */
static void own_handler(int sig, siginfo_t *si, void *uc)
{
  (void)si;
  (void)uc;
  static const char msg[] = "own handler: caught SIGSEGV\n";
  write(2, msg, sizeof msg - 1);
  /* Then die by the signal, the usual way such handlers end. */
  signal(sig, SIG_DFL);
}
__attribute__((noinline)) void case_chain(void)
{
  null_store(null_ptr);
  KEEP();
}

/* ---- a fault inside the report, and a report that hangs */
__attribute__((noinline)) void case_nested(void)
{
  fs_crash_test_hook = 1;
  printf("%d\n", divide(1, zero));
  KEEP();
}
__attribute__((noinline)) void case_watchdog(void)
{
  fs_crash_test_hook = 2;
  null_store(null_ptr);
  KEEP();
}

/* ---- on-demand dumps: the program goes on */
__attribute__((noinline)) void case_dump(void)
{
  int n = faststack_dump_threads(1, 0);
  printf("\ndumped %d threads\n", n);
  raise(SIGUSR2); /* FASTSTACK_DUMP_SIGNAL=SIGUSR2 */
  printf("still running after the dump signal\n");
  fflush(stdout);
  exit(0);
}

/* ---- a program that re-executes itself (under `faststack run` the new
 * image has the preload's copy and this one, like the old) */
__attribute__((noinline)) void case_reexec(void)
{
  char *args[] = {"crash_cases", "null", NULL};
  execv("/proc/self/exe", args);
  exit(3);
}

/* ---- a program that closes stderr and opens its data file, which gets
 * descriptor 2 (CRASH_DATA names it): the report must not land there */
__attribute__((noinline)) void case_stderr_reuse(void)
{
  const char *path = getenv("CRASH_DATA");
  close(2);
  int fd = open(path ? path : "/dev/null", O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd != 2) exit(3);
  static const char data[] = "program data\n";
  if (write(fd, data, sizeof data - 1) != sizeof data - 1) exit(3);
  null_store(null_ptr);
  KEEP();
}

/* ---- a program whose own SIGSEGV handler (installed before faststack's)
 * repairs the fault: after the report the program goes on, with its
 * pending alarm, its SIGALRM handler and its signal mask as they were */
static char *repair_page;
static volatile sig_atomic_t alarms;
static void repair_handler(int sig, siginfo_t *si, void *uc)
{
  (void)sig;
  (void)si;
  (void)uc;
  mprotect(repair_page, 4096, PROT_READ | PROT_WRITE);
}
static void on_alarm(int sig)
{
  (void)sig;
  alarms++;
}
__attribute__((noinline)) void case_chain_repair(void)
{
  repair_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  sigset_t alrm;
  sigemptyset(&alrm);
  sigaddset(&alrm, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &alrm, NULL);
  alarm(30);
  repair_page[0] = 1; /* faults once; the program's handler repairs it */
  unsigned left = alarm(0);
  printf("pending alarm %s (%u s left)\n", left >= 20 ? "kept" : "lost", left);
  struct sigaction now;
  sigaction(SIGALRM, NULL, &now);
  printf("SIGALRM handler %s\n", now.sa_handler == on_alarm ? "kept" : "lost");
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, NULL, &mask);
  printf("SIGALRM %s\n",
         sigismember(&mask, SIGALRM) ? "still blocked" : "unblocked behind us");
  pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
  alarm(1);
  for (int i = 0; i < 300 && !alarms; i++) usleep(10000);
  printf("the next alarm %s\n", alarms ? "reached the program" : "was lost");
  fflush(stdout);
  exit(0);
}

/* ---- a fault in one thread racing exit(0) in another: once a report
 * starts, the process must end by the reported signal */
static pthread_barrier_t exit_barrier;
__attribute__((noinline)) void *exit_race_thread(void *arg)
{
  (void)arg;
  faststack_crash_thread_init();
  pthread_barrier_wait(&exit_barrier);
  null_store(null_ptr);
  KEEP();
  return NULL;
}
__attribute__((noinline)) void case_exit_race(void)
{
  pthread_t t;
  pthread_barrier_init(&exit_barrier, NULL, 2);
  pthread_create(&t, NULL, exit_race_thread, NULL);
  pthread_barrier_wait(&exit_barrier);
  /* A random delay of up to 3 ms: sometimes the exit comes first,
   * sometimes while the report is being written. */
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long wait_ns = (long)((unsigned)getpid() * 2654435761u % 3000u) * 1000;
  do clock_gettime(CLOCK_MONOTONIC, &t1);
  while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) <
         wait_ns);
  exit(0);
}

/* ---- a vfork child that crashes (it shares the parent's memory until it
 * execs or dies), then the parent's own crash must still be reported */
__attribute__((noinline)) void case_vfork(void)
{
  pid_t pid = vfork();
  if (pid == 0) {
    null_store(null_ptr);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  null_store(null_ptr);
  KEEP();
}

/* ---- the stack pointer moved into the heap, which holds well-formed
 * frame records whose return addresses are code: the report must show
 * the faulting frame and no made-up callers */
__attribute__((noinline)) void smash_regs(uintptr_t *fake)
{
  FRAME();
#if defined(__x86_64__)
  __asm__ volatile("movq %0, %%rsp\n\t"
                   "movq %0, %%rbp\n\t"
                   "movl $1, 0" /* FAULT:smash_sp */
                   :
                   : "r"(fake)
                   : "memory");
#else
  /* The same on aarch64: sp and the frame pointer (x29) into the heap,
   * then a store to address 0. */
  __asm__ volatile("mov sp, %0\n\t"
                   "mov x29, %0\n\t"
                   "mov x16, #0\n\t"
                   "str x16, [x16]"
                   :
                   : "r"(fake)
                   : "x16", "memory");
#endif
}
__attribute__((noinline)) void case_smash_sp(void)
{
  size_t words = 8192;
  uintptr_t *fake = malloc(words * sizeof *fake);
  if (!fake) exit(3);
  for (size_t k = 0; k + 1 < words; k += 2) {
    fake[k] = (uintptr_t)&fake[k + 2 < words ? k + 2 : k];
    fake[k + 1] = (uintptr_t)smash_regs + 4 + k / 2;
  }
  smash_regs(fake + words / 2);
  KEEP();
}

/* ---- CRASH_KILL_EXECVE: a seccomp filter that kills the process
 * calling execve (as systemd's SystemCallFilter= does by default): the
 * symbolizer process the handler starts dies in its execve. -1 where no
 * filter can be installed (no kernel headers, an emulator). */
static int kill_execve(void)
{
#if !HAVE_SECCOMP
  return -1;
#else
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execve, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#endif
}

__attribute__((noinline)) void run_case(const char *name)
{
  static const struct {
    const char *name;
    void (*fn)(void);
  } cases[] = {
      {"null", case_null},
      {"rodata", case_rodata},
      {"overflow_main", case_overflow_main},
      {"overflow_thread", case_overflow_thread},
      {"abort", case_abort},
      {"assert", case_assert},
      {"fpe", case_fpe},
      {"trap", case_trap},
      {"sigbus", case_sigbus},
      {"strlen", case_strlen},
      {"memcpy", case_memcpy},
      {"qsort", case_qsort},
      {"double_free", case_double_free},
      {"threads8", case_threads8},
      {"dlopen", case_dlopen},
      {"all50", case_all50},
      {"chain", case_chain},
      {"nested", case_nested},
      {"watchdog", case_watchdog},
      {"dump", case_dump},
      {"reexec", case_reexec},
      {"stderr_reuse", case_stderr_reuse},
      {"chain_repair", case_chain_repair},
      {"exit_race", case_exit_race},
      {"vfork", case_vfork},
      {"smash_sp", case_smash_sp},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (!strcmp(cases[i].name, name)) {
      cases[i].fn();
      KEEP();
      return;
    }
  fprintf(stderr, "unknown case %s\n", name);
  exit(2);
}

int main(int argc, char **argv)
{
  if (argc < 2) return 2;
  if (!strcmp(argv[1], "chain")) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = own_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
  }
  if (!strcmp(argv[1], "chain_repair")) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = repair_handler;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
  }
  faststack_crash_options o;
  memset(&o, 0, sizeof o);
  if (!strcmp(argv[1], "watchdog")) o.watchdog_seconds = 1;
  if (faststack_crash_install(&o) != 0) return 4;
  if (getenv("CRASH_KILL_EXECVE") && kill_execve() != 0) return 77;
  if (getenv("CRASH_WAIT_TABLE")) faststack_crash_table_wait(5000);
  run_case(argv[1]);
  KEEP();
  return 0;
}
