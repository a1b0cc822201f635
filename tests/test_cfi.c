/* test_cfi.c — the CFI unwinder against libunwind's unw_backtrace, frame
 * for frame, in code built without frame pointers (this file is compiled
 * with -fomit-frame-pointer by gcc -O2, gcc -O3 and clang -O2): a plain
 * chain, callbacks through glibc (qsort, bsearch, pthread_once) and
 * through another shared library, a signal handler frame, threads,
 * 10,000-deep recursion capped by max, and a smashed return address (the
 * walk stops there, cleanly). Every capture is taken twice: the first
 * fills the rule cache for its frames (the general step), the second
 * walks them warm (the cached loop), and both must be the same. */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "capture/cfi.h"
#include "capture/unwind_fp.h"
#include "check.h"
#include "faststack.h"

#define MAXF 256
typedef struct snap_t {
  uintptr_t fs[MAXF], warm[MAXF];
  void *un[MAXF];
  int nfs, nwarm, nun;
} snap_t;

/* libcfitest.so: without frame pointers, and with them */
int cfitest_call(void (*fn)(void), int depth);
int cfitest_call_fp(void (*fn)(void), int depth);

static __thread snap_t *cur;
volatile int sink;

/* Both unwinders from the same frame. Their first entries are the two
 * call sites in here; everything after must be identical. */
__attribute__((noinline)) static void take(void)
{
  for (int k = 0; k < 2; k++) {
    uintptr_t *out = k ? cur->warm : cur->fs;
    int n = faststack_capture(out, MAXF, 0);
    if (k) cur->nwarm = n;
    else cur->nfs = n;
  }
  cur->nun = unw_backtrace(cur->un, MAXF);
  sink++;
}

/* Compares from entry 1 on. In a signal frame, faststack stores the
 * interrupted PC + 1 (so pc-1 finds the instruction) where libunwind
 * stores it as is. */
static int same_stack(const snap_t *s, const char *what, int expect_min)
{
  int ok = s->nfs == s->nun && s->nwarm == s->nfs && s->nfs >= expect_min;
  for (int i = 1; ok && i < s->nfs; i++) {
    uintptr_t a = s->fs[i], b = (uintptr_t)s->un[i];
    if ((a != b && a != b + 1) || s->warm[i] != a) ok = 0;
  }
  if (!ok) {
    fprintf(stderr, "%s: faststack %d frames (warm %d), libunwind %d\n", what,
            s->nfs, s->nwarm, s->nun);
    for (int i = 0; i < s->nfs || i < s->nun || i < s->nwarm; i++)
      fprintf(stderr, "  %2d %16lx %16lx %16lx\n", i,
              i < s->nfs ? (unsigned long)s->fs[i] : 0ul,
              i < s->nwarm ? (unsigned long)s->warm[i] : 0ul,
              i < s->nun ? (unsigned long)s->un[i] : 0ul);
  }
  return ok;
}

/* ------------------------------------------------------------ chains */

__attribute__((noinline)) int chain3(int x)
{
  take();
  return x + sink;
}
__attribute__((noinline)) int chain2(int x)
{
  return chain3(x * 3) + 1;
}
__attribute__((noinline)) int chain1(int x)
{
  return chain2(x + 7) * 2;
}

static void test_chain(void)
{
  snap_t s;
  cur = &s;
  sink += chain1(5);
  CHECK(same_stack(&s, "chain", 6));
}

static int calls;
__attribute__((noinline)) int by_value(const void *a, const void *b)
{
  if (calls++ == 0) take();
  return *(const int *)a - *(const int *)b;
}

static void test_qsort_bsearch(void)
{
  snap_t s;
  cur = &s;
  int v[16];
  for (int i = 0; i < 16; i++) v[i] = (i * 7) % 16;
  calls = 0;
  qsort(v, 16, sizeof v[0], by_value);
  CHECK(same_stack(&s, "qsort", 6));
  calls = 0;
  int key = 9;
  CHECK(bsearch(&key, v, 16, sizeof v[0], by_value) != NULL);
  CHECK(same_stack(&s, "bsearch", 5));
}

/* A frameless frame of kilobytes (a local buffer): too large for the
 * loop's one-byte frame-size prediction, so it takes the offset from the
 * rule. */
__attribute__((noinline)) int big_frame(int x)
{
  volatile char buf[6000];
  buf[x] = (char)x;
  take();
  return buf[x] + sink;
}

static void test_big_frame(void)
{
  snap_t s;
  cur = &s;
  sink += big_frame(3) + 1;
  CHECK(same_stack(&s, "big frame", 5));
}

/* Through another object than the executable and libc. */
static void library_cb(void)
{
  take();
}

static void test_library(void)
{
  snap_t s;
  cur = &s;
  sink += cfitest_call(library_cb, 3);
  /* take, 4 x cfitest_call (library_cb tail-calls take), test_library
   * (unless inlined), main, libc's start (2), _start */
  CHECK(same_stack(&s, "library", 9));
  /* Frame-pointer frames (their CFI is the frame-pointer rule). */
  sink += cfitest_call_fp(library_cb, 3);
  CHECK(same_stack(&s, "library (frame pointers)", 9));
}

static snap_t once_snap;
static void once_init(void)
{
  cur = &once_snap;
  take();
}

static void test_pthread_once(void)
{
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, once_init);
  CHECK(same_stack(&once_snap, "pthread_once", 5));
}

/* A signal handler's capture continues through the signal frame into
 * the interrupted code. */
static snap_t sig_snap;
static void on_signal(int sig)
{
  (void)sig;
  cur = &sig_snap;
  take();
}

__attribute__((noinline)) void raise_here(void)
{
  raise(SIGUSR1);
  sink++;
}

static void test_signal(void)
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGUSR1, &sa, NULL);
  raise_here();
  CHECK(same_stack(&sig_snap, "signal", 7));
}

static void *thread_main(void *arg)
{
  snap_t *s = arg;
  cur = s;
  sink += chain1(1);
  return NULL;
}

static void test_threads(void)
{
  pthread_t t[4];
  static snap_t s[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_main, &s[i]);
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    CHECK(same_stack(&s[i], "thread", 5));
  }
}

/* 10,000 frames: both return exactly max entries, the same ones. */
__attribute__((noinline)) int deep(int d)
{
  if (d == 0) {
    take();
    return 0;
  }
  int r = deep(d - 1);
  sink++;
  return r + 1;
}

static void test_deep(void)
{
  snap_t s;
  cur = &s;
  sink += deep(10000);
  CHECK_EQ(s.nfs, MAXF);
  CHECK(same_stack(&s, "deep", MAXF));
}

/* A smashed return address: the walk stops at that frame, cleanly. The
 * frame keeps rbp (__builtin_frame_address makes the compiler set it
 * up) so the test can find its return-address slot. */
static uintptr_t smashed_fs[2][MAXF];
static int smashed_n[2];
__attribute__((noinline)) void smashed_leaf(void)
{
  for (int k = 0; k < 2; k++)
    smashed_n[k] = faststack_capture(smashed_fs[k], MAXF, 0);
  sink++;
}

__attribute__((noinline)) void smash_and_capture(void)
{
  uintptr_t *slot = (uintptr_t *)__builtin_frame_address(0) + 1;
  uintptr_t saved = *slot;
  *slot = 0x10; /* no code there */
  smashed_leaf();
  *slot = saved;
  sink++;
}

static void test_smashed(void)
{
  smash_and_capture();
  /* smashed_leaf's caller, then nothing: 0x10 is in no object. */
  CHECK(smashed_n[0] >= 1 && smashed_n[0] <= 2);
  CHECK_EQ(smashed_n[1], smashed_n[0]);
  for (int i = 0; i < smashed_n[0]; i++) {
    CHECK(smashed_fs[0][i] != 0x10);
    /* entry 0: the two call sites in smashed_leaf */
    if (i > 0) CHECK_EQ(smashed_fs[1][i], smashed_fs[0][i]);
  }
}

/* ------------------------------------------------------ the rule cache
 * A slot torn by a concurrent writer — its parts from different rules —
 * must read as a miss, never as a rule: the walk then parses the FDE
 * again and the stack is the same. Each part of every slot the chain
 * uses is corrupted in turn, the way a torn write would leave it. */
static int slots_of(const snap_t *s, size_t *idx)
{
  int n = 0;
  for (int i = 1; i < s->nfs; i++) idx[n++] = fs_cfi_index(s->fs[i]);
  return n;
}

__attribute__((noinline)) static void chain_into(snap_t *s)
{
  cur = s;
  sink += chain1(5);
}

static void test_torn_slots(void)
{
  snap_t ref, s;
  size_t idx[MAXF];
  int n = 0;
  /* part -1 takes the reference (warm: the calls before cached every
   * rule); each later part corrupts one part of every slot first. */
  for (int part = -1; part < 4; part++) {
    for (int i = 0; i < n; i++) {
      fs_cfi_cache_t *c = &fs_cfi_cache;
      if (part == 0) /* an ra8 byte torn from its rule */
        atomic_fetch_add(&c->ra8[idx[i]], 1);
      else if (part == 3) /* any byte at all: 254 was once a rule's "no" */
        atomic_store(&c->ra8[idx[i]], (uint8_t)(254 + (i & 1)));
      else if (part == 1) /* another rule under this tag */
        atomic_fetch_xor(&c->rule[idx[i]], 1ull << 3);
      else if (part == 2) /* another key's tag */
        atomic_fetch_xor(&c->tag[idx[i]], 1ull << 20);
    }
    chain_into(part < 0 ? &ref : &s);
    if (part < 0) {
      CHECK(same_stack(&ref, "warm chain", 6));
      n = slots_of(&ref, idx);
      continue;
    }
    CHECK(same_stack(&s, "torn slots", 6));
    /* libunwind is the oracle frame for frame (same_stack); the
     * reference only differs in its call site in here. */
    CHECK(s.nfs == ref.nfs);
  }
}

/* ------------------------------------------------------------- skip
 * A capture that skips k frames returns frames k.. of the whole stack,
 * also when k is more than max (the frames to skip are walked max at a
 * time) or than the stack. */
static int skip_bad;
static uintptr_t skip_a[MAXF], skip_b[MAXF]; /* a small frame: warm */
__attribute__((noinline)) static void skips(void)
{
  uintptr_t *a = skip_a, *b = skip_b;
  int na = faststack_capture(a, MAXF, 0);
  const int ks[] = {1, 2, 3, 5, 7, 9, na - 1, na, na + 5};
  const int maxes[] = {1, 2, 3, 4, MAXF};
  for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
    for (size_t mi = 0; mi < sizeof maxes / sizeof maxes[0]; mi++) {
      int k = ks[ki], max = maxes[mi];
      int nb = faststack_capture(b, max, k);
      int want = na - k < 0 ? 0 : na - k > max ? max : na - k;
      if (nb != want) skip_bad++;
      for (int i = 0; i < nb && i < want; i++)
        if (b[i] != a[i + k]) skip_bad++;
    }
  }
  sink++;
}

__attribute__((noinline)) int skip3(int x)
{
  skips();
  return x + sink;
}
__attribute__((noinline)) int skip2(int x)
{
  return skip3(x * 3) + 1;
}

static void test_skip(void)
{
  skip_bad = 0;
  sink += skip2(1); /* cold */
  sink += skip2(2); /* warm */
  CHECK_EQ(skip_bad, 0);
}

/* ---------------------------------------------------- hostile stacks
 * Walks over a fake stack of random words, between two inaccessible
 * pages, from a real return address whose rule is cached: the words mix
 * real return addresses (so the warm loop finds cached rules), the signal
 * trampoline, pointers into the fake stack, values near the top of the
 * address space (where a bounds sum wraps), and noise. A walk must end
 * (within max), read nothing outside its stack (a read would fault on a
 * guard page), and store only addresses inside loaded objects. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_rand(void)
{
  return check_rand(&rng);
}

static void test_hostile_stacks(void)
{
  snap_t ref, fpref;
  cur = &ref;
  sink += chain1(2); /* caches the rules of these return addresses */
  CHECK(ref.nfs >= 6);
  cur = &fpref; /* and of frame-pointer frames */
  sink += cfitest_call_fp(library_cb, 3);
  CHECK(fpref.nfs >= 9);
  size_t page = 4096, words = 4 * page / 8;
  uint8_t *map = mmap(NULL, 6 * page, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(map != MAP_FAILED);
  if (map == MAP_FAILED) return;
  mprotect(map, page, PROT_NONE);
  mprotect(map + 5 * page, page, PROT_NONE);
  uintptr_t *st = (uintptr_t *)(map + page);
  uintptr_t lo = (uintptr_t)st, hi = lo + 4 * page;
  int bad = 0, walks_long = 0, hist[65] = {0};
  for (int iter = 0; iter < 20000; iter++) {
    for (size_t i = 0; i < words; i++) {
      uint64_t r = next_rand();
      unsigned kind = (unsigned)(r % 16);
      if (kind < 5) /* a real return address */
        st[i] = ref.fs[1 + (r >> 8) % (uint64_t)(ref.nfs - 1)];
      else if (kind < 9) /* one of a frame-pointer frame */
        st[i] = fpref.fs[1 + (r >> 8) % 4];
      else if (kind < 11) /* into the fake stack, aligned */
        st[i] = lo + (r >> 8) % words * 8;
      else if (kind == 11) /* or not */ st[i] = lo + (r >> 8) % (4 * page);
      else if (kind == 12) st[i] = fs_sigreturn_pc;
      else if (kind == 13) /* near the top of the address space: sums wrap */
        st[i] = (uintptr_t)0 - 8 * ((r >> 8) % 64);
      else st[i] = r;
    }
    fs_cursor c;
    memset(&c, 0, sizeof c);
    c.region.lo = lo;
    c.region.hi = hi;
    c.code_lo = c.code_hi = 0;
    uint64_t w = next_rand();
    c.pc = w & 1 ? ref.fs[1 + (w >> 1) % (uint64_t)(ref.nfs - 1)]
                 : fpref.fs[1 + (w >> 1) % 4];
    c.sp = lo + (next_rand() % words) * 8;
    uint64_t f = next_rand();
    c.fp = f % 4 == 0   ? (uintptr_t)0 - 8 * ((f >> 8) % 64)
           : f % 4 == 1 ? next_rand()
                        : lo + (next_rand() % words) * 8;
    uintptr_t pcs[64];
    pcs[0] = c.pc;
    int n = fs_walk(&c, pcs + 1, 63, 0);
    if (n < 0 || n > 63) bad++;
    if (n > 4) walks_long++;
    if (n >= 0 && n <= 64) hist[n]++;
    for (int i = 1; i <= n && i < 64; i++) {
      struct dl_find_object fo;
      /* The signal trampoline is a frame too; under qemu-user it lives
       * in a page of the emulator's, outside every object. */
      if (pcs[i] != fs_sigreturn_pc &&
          _dl_find_object((void *)(pcs[i] - 1), &fo) != 0)
        bad++;
    }
  }
  if (getenv("FS_TEST_VERBOSE"))
    for (int i = 0; i <= 64; i++)
      if (hist[i]) fprintf(stderr, "walk of %d frames: %d\n", i, hist[i]);
  CHECK_EQ(bad, 0);
  /* The fake stacks let walks go on (real return addresses and pointers
   * into the stack follow each other), so the warm loop ran. */
  CHECK(walks_long > 0);
  munmap(map, 6 * page);
}

int main(void)
{
  test_chain();
  test_qsort_bsearch();
  test_library();
  test_big_frame();
  test_pthread_once();
  test_signal();
  test_threads();
  test_deep();
  test_smashed();
  test_skip();
  test_torn_slots();
  test_hostile_stacks();
  return CHECK_DONE("test_cfi");
}
