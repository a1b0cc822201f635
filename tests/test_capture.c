/* test_capture.c — faststack_capture: exact frame order, skip, max, bad
 * arguments, smashed frame chains, and 16 threads at once. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"
#include "fs_testutil.h"

#define KEEP() __asm__ volatile("" ::: "memory")

__attribute__((noinline)) int level3(uintptr_t *pcs, int max, int skip)
{
  int n = faststack_capture(pcs, max, skip);
  KEEP();
  return n;
}

__attribute__((noinline)) int level2(uintptr_t *pcs, int max, int skip)
{
  int n = level3(pcs, max, skip);
  KEEP();
  return n;
}

__attribute__((noinline)) int level1(uintptr_t *pcs, int max, int skip)
{
  int n = level2(pcs, max, skip);
  KEEP();
  return n;
}

__attribute__((noinline)) void test_order_skip_max(void)
{
  uintptr_t pcs[64];
  int n = level1(pcs, 64, 0);
  CHECK(n >= 4);
  CHECK(fs_test_ra_in(pcs[0], (void *)level3));
  CHECK(fs_test_ra_in(pcs[1], (void *)level2));
  CHECK(fs_test_ra_in(pcs[2], (void *)level1));
  CHECK(fs_test_ra_in(pcs[3], (void *)test_order_skip_max));

  int n1 = level1(pcs, 64, 1);
  CHECK_EQ(n1, n - 1);
  CHECK(fs_test_ra_in(pcs[0], (void *)level2));
  int n2 = level1(pcs, 64, 2);
  CHECK_EQ(n2, n - 2);
  CHECK(fs_test_ra_in(pcs[0], (void *)level1));
  CHECK_EQ(level1(pcs, 64, 1000), 0);

  uintptr_t two[3] = {0, 0, 0xabc};
  CHECK_EQ(level1(two, 2, 0), 2);
  CHECK(fs_test_ra_in(two[0], (void *)level3));
  CHECK(fs_test_ra_in(two[1], (void *)level2));
  CHECK_EQ(two[2], 0xabc); /* nothing written past max */
}

static void test_bad_arguments(void)
{
  uintptr_t pcs[4];
  CHECK_EQ(faststack_capture(NULL, 4, 0), 0);
  CHECK_EQ(faststack_capture(pcs, 0, 0), 0);
  CHECK_EQ(faststack_capture(pcs, -5, 0), 0);
  CHECK_EQ(faststack_capture(pcs, 4, -1), 0);
  CHECK_EQ(faststack_capture_ucontext(NULL, pcs, 4), 0);
  char uc[1024] = {0};
  CHECK_EQ(faststack_capture_ucontext(uc, NULL, 4), 0);
  CHECK_EQ(faststack_capture_ucontext(uc, pcs, 0), 0);
}

/* Overwrites this function's own saved frame pointer or return address,
 * captures, and restores them before returning. The compiler must not
 * cache the slots: go through volatile. */
enum {
  BAD_FP_NULL,
  BAD_FP_ODD,
  BAD_FP_SELF,
  BAD_FP_LOWER,
  BAD_FP_HEAP,
  BAD_FP_WILD,
  BAD_FP_FAKE_FRAME,
  BAD_RA,
  BAD_RANDOM
};

static uintptr_t fake_frame[4] __attribute__((aligned(16)));

__attribute__((noinline)) int smashed(int kind, uintptr_t value, uintptr_t *pcs,
                                      int max)
{
  volatile uintptr_t *fp = (volatile uintptr_t *)__builtin_frame_address(0);
  uintptr_t saved_fp = fp[0], saved_ra = fp[1];
  void *heap = malloc(64);
  switch (kind) {
  case BAD_FP_NULL: fp[0] = 0; break;
  case BAD_FP_ODD: fp[0] = saved_fp + 8; break;
  case BAD_FP_SELF: fp[0] = (uintptr_t)fp; break;
  case BAD_FP_LOWER: fp[0] = (uintptr_t)fp - 256; break;
  case BAD_FP_HEAP: fp[0] = ((uintptr_t)heap + 15) & ~(uintptr_t)15; break;
  case BAD_FP_WILD: fp[0] = 0x00007ff0deadbe00ull; break;
  case BAD_FP_FAKE_FRAME: /* a frame in memory that is not the stack */
    fake_frame[0] = saved_fp;
    fake_frame[1] = saved_ra;
    fp[0] = (uintptr_t)fake_frame;
    break;
  case BAD_RA: fp[1] = 0x1234; break;
  case BAD_RANDOM: fp[0] = value; break;
  }
  int n = faststack_capture(pcs, max, 0);
  fp[0] = saved_fp;
  fp[1] = saved_ra;
  free(heap);
  KEEP();
  return n;
}

int main(void);
__attribute__((noinline)) void test_smashed_chain(void)
{
  uintptr_t pcs[64];
  /* faststack_capture's own frame yields a PC in smashed(); smashed()'s
   * frame yields its return address; its corrupt saved rbp ends the walk. */
  static const int kinds[] = {BAD_FP_NULL,      BAD_FP_ODD,  BAD_FP_SELF,
                              BAD_FP_LOWER,     BAD_FP_HEAP, BAD_FP_WILD,
                              BAD_FP_FAKE_FRAME};
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    int n = smashed(kinds[i], 0, pcs, 64);
#if defined(__aarch64__) || FS_TEST_NOFP
    /* aarch64 code's CFI, and any code built without frame pointers,
     * finds the CFA from sp, not from the frame pointer: a smashed saved
     * frame pointer does not stop a CFI walk, which goes on exactly (main
     * next); a frame-pointer walk stops. */
    CHECK(n >= 2);
    if (n > 2) CHECK(fs_test_ra_in(pcs[2], (void *)main));
#else
    if (n != 2) fprintf(stderr, "kind %d: n=%d\n", kinds[i], n);
    CHECK_EQ(n, 2);
#endif
    CHECK(fs_test_ra_in(pcs[0], (void *)smashed));
    CHECK(fs_test_ra_in(pcs[1], (void *)test_smashed_chain));
  }
  /* A return address outside every object ends the walk before it. */
  CHECK_EQ(smashed(BAD_RA, 0, pcs, 64), 1);
  CHECK(fs_test_ra_in(pcs[0], (void *)smashed));
  /* Random frame pointers, many inside the stack: never fault. */
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  unsigned seed = 12345;
  for (int i = 0; i < 20000; i++) {
    uintptr_t v = ((uintptr_t)rand_r(&seed) << 33) ^ (uintptr_t)rand_r(&seed);
    if (i & 1) v = sp + ((uintptr_t)rand_r(&seed) % (1u << 20)) * 8;
    int n = smashed(BAD_RANDOM, v, pcs, 64);
    CHECK(n >= 2 && n <= 64);
  }
}

/* A context whose stack pointer (and frame pointer) lies in memory that
 * is no stack — the heap, an anonymous mapping without a guard page —
 * filled with well-formed frame records whose return addresses are code:
 * the walk must not read it as a stack (frames missing, never made up). */
static int walk_fake(uintptr_t *mem, size_t words)
{
  for (size_t k = 0; k + 1 < words; k += 2) {
    mem[k] = (uintptr_t)&mem[k + 2 < words ? k + 2 : k]; /* next rbp */
    mem[k + 1] = (uintptr_t)level3 + 4 + k / 2;          /* "return" */
  }
  ucontext_t uc;
  memset(&uc, 0, sizeof uc);
#if defined(__x86_64__)
  uc.uc_mcontext.gregs[REG_RIP] = (greg_t)((uintptr_t)level2 + 8);
  uc.uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)mem;
  uc.uc_mcontext.gregs[REG_RBP] = (greg_t)(uintptr_t)mem;
#else
  uc.uc_mcontext.pc = (uintptr_t)level2 + 8;
  uc.uc_mcontext.sp = (uintptr_t)mem;
  uc.uc_mcontext.regs[29] = (uintptr_t)mem; /* the frame pointer */
#endif
  uintptr_t pcs[128];
  return faststack_capture_ucontext(&uc, pcs, 128);
}

/* A thread's malloc comes from a glibc thread arena: a heap mapping with
 * a large PROT_NONE reservation next to it, no guard page. */
static void *arena_walk(void *arg)
{
  (void)arg;
  uintptr_t *mem = malloc(4096 * sizeof *mem);
  intptr_t n = mem ? walk_fake(mem, 4096) : -1;
  free(mem);
  return (void *)n;
}

static void test_foreign_stack(void)
{
  pthread_t t;
  void *n = NULL;
  CHECK_EQ(pthread_create(&t, NULL, arena_walk, NULL), 0);
  pthread_join(t, &n);
  CHECK_EQ((intptr_t)n, 1);
  uintptr_t *heap = malloc(4096 * sizeof *heap); /* brk heap */
  CHECK(heap != NULL);
  if (heap) CHECK_EQ(walk_fake(heap, 4096), 1);
  free(heap);
  size_t big = 1 << 20; /* an anonymous mapping of its own */
  uintptr_t *anon = mmap(NULL, big, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(anon != MAP_FAILED);
  if (anon != MAP_FAILED) {
    CHECK_EQ(walk_fake(anon + 4096, big / 8 - 4096), 1);
    munmap(anon, big);
  }
}

/* A fiber on an mmap'ed stack with a guard page below (how coroutine
 * libraries allocate them) is a stack: captures inside it walk it. */
static __attribute__((unused)) ucontext_t fiber_uc, main_uc;
static int fiber_n;
static uintptr_t fiber_pcs[64];
__attribute__((noinline)) void fiber_inner(void)
{
  fiber_n = faststack_capture(fiber_pcs, 64, 0);
  KEEP();
}
__attribute__((noinline)) void fiber_main(void)
{
  fiber_inner();
  KEEP();
}

static void test_fiber_stack(void)
{
#if defined(__GLIBC__)
  long page = sysconf(_SC_PAGESIZE);
  size_t size = 256 * 1024;
  char *m = mmap(NULL, size + (size_t)page, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  CHECK(m != MAP_FAILED);
  if (m == MAP_FAILED) return;
  CHECK_EQ(mprotect(m, (size_t)page, PROT_NONE), 0);
  getcontext(&fiber_uc);
  fiber_uc.uc_stack.ss_sp = m + page;
  fiber_uc.uc_stack.ss_size = size;
  fiber_uc.uc_link = &main_uc;
  makecontext(&fiber_uc, fiber_main, 0);
  CHECK_EQ(swapcontext(&main_uc, &fiber_uc), 0);
  CHECK(fiber_n >= 2);
  CHECK(fs_test_ra_in(fiber_pcs[0], (void *)fiber_inner));
  CHECK(fs_test_ra_in(fiber_pcs[1], (void *)fiber_main));
  munmap(m, size + (size_t)page);
#else
  /* musl has no getcontext/makecontext/swapcontext. */
  fprintf(stderr, "test_capture: no makecontext in this C library: the "
                  "fiber case not run\n");
#endif
}

/* Recursion of a known depth: each capture must see exactly depth+1
 * frames of recurse() on top of worker(). */
__attribute__((noinline)) int recurse(int depth, uintptr_t *pcs, int max)
{
  int n =
      depth > 0 ? recurse(depth - 1, pcs, max) : faststack_capture(pcs, max, 0);
  KEEP();
  return n;
}

static int thread_failures;

__attribute__((noinline)) void *worker(void *arg)
{
  int depth = (int)(intptr_t)arg;
  uintptr_t pcs[128];
  for (int iter = 0; iter < 2000; iter++) {
    int n = recurse(depth, pcs, 128);
    int ok = n >= depth + 2;
    for (int i = 0; ok && i <= depth; i++)
      ok = fs_test_ra_in(pcs[i], (void *)recurse);
    ok = ok && fs_test_ra_in(pcs[depth + 1], (void *)worker);
    if (!ok) __atomic_add_fetch(&thread_failures, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

/* A thread stack right above a large inaccessible mapping (its guard
 * page merged with another thread's stack while that one is still being
 * set up, or a stack placed above an allocator's reservation) looks like
 * a heap above its reservation: a capture from the thread's own frame
 * must still walk it, since the thread runs on it. */
static void *reserved_below(void *arg)
{
  (void)arg;
  uintptr_t pcs[128];
  intptr_t n = recurse(3, pcs, 128);
  if (n < 5 || !fs_test_ra_in(pcs[4], (void *)reserved_below)) n = -n;
  return (void *)n;
}

static void test_stack_above_reservation(void)
{
  size_t below = 4u << 20, size = 1u << 20;
  char *m =
      mmap(NULL, below + size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(m != MAP_FAILED);
  if (m == MAP_FAILED) return;
  CHECK_EQ(mprotect(m + below, size, PROT_READ | PROT_WRITE), 0);
  pthread_attr_t a;
  pthread_attr_init(&a);
  CHECK_EQ(pthread_attr_setstack(&a, m + below, size), 0);
  pthread_t t;
  void *n = NULL;
  CHECK_EQ(pthread_create(&t, &a, reserved_below, NULL), 0);
  pthread_join(t, &n);
  pthread_attr_destroy(&a);
  if ((intptr_t)n < 5)
    fprintf(stderr, "reserved_below: %d\n", (int)(intptr_t)n);
  CHECK((intptr_t)n >= 5);
  munmap(m, below + size);
}

static void test_threads(void)
{
  pthread_t t[16];
  for (int i = 0; i < 16; i++)
    CHECK_EQ(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)(i % 8 + 3)),
             0);
  for (int i = 0; i < 16; i++) pthread_join(t[i], NULL);
  CHECK_EQ(thread_failures, 0);
}

int main(void)
{
  test_order_skip_max();
  test_bad_arguments();
  test_smashed_chain();
  test_foreign_stack();
  test_fiber_stack();
  test_stack_above_reservation();
  test_threads();
  return CHECK_DONE("test_capture");
}
