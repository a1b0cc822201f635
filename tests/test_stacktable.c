/* Stack table and pprof/folded writers.
 * Usage: test_stacktable [PPROF_OUT FOLDED_OUT]
 * Without arguments: unit checks of the table (interning, ids, counts,
 * overflow, concurrent inserts). With arguments: also writes a profile of
 * two known stacks, 70 and 30 samples, for go tool pprof (profile.cmake). */
#include "check.h"
#include "faststack.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

__attribute__((noinline)) static int cap_hot_a(uintptr_t *pcs, int max)
{
  int n = faststack_capture(pcs, max, 0);
  __asm__ volatile("" ::: "memory");
  return n;
}
__attribute__((noinline)) static int cap_hot_b(uintptr_t *pcs, int max)
{
  int n = faststack_capture(pcs, max, 0);
  __asm__ volatile("" ::: "memory");
  return n;
}

enum { THREADS = 4, PER_THREAD = 20000 };
static faststack_stack_table *shared;

static void *inserter(void *arg)
{
  uintptr_t pcs[3];
  for (int i = 0; i < PER_THREAD; i++) {
    pcs[0] = 0x1000 + (uintptr_t)(i % 64);
    pcs[1] = 0x2000;
    pcs[2] = (uintptr_t)arg;
    faststack_stack_table_insert(shared, pcs, 3, 0, 1);
  }
  return NULL;
}

static int sum_visit(void *arg, const faststack_stack_entry *e)
{
  *(uint64_t *)arg += e->count;
  return 0;
}

int main(int argc, char **argv)
{
  faststack_stack_table *t = faststack_stack_table_create(8, 64);
  CHECK(t != NULL);
  uintptr_t a[3] = {0x10, 0x20, 0x30}, b[3] = {0x10, 0x20, 0x31};
  uint64_t ia = faststack_stack_table_insert(t, a, 3, 0, 1);
  uint64_t ib = faststack_stack_table_insert(t, b, 3, 0, 2);
  CHECK(ia != 0 && ib != 0 && ia != ib);
  CHECK_EQ(faststack_stack_table_insert(t, a, 3, 0, 5), ia);
  /* Flags are part of the identity. */
  CHECK(faststack_stack_table_insert(t, a, 3, FASTSTACK_PCS_UCONTEXT, 1) != ia);
  faststack_stack_entry e;
  CHECK_EQ(faststack_stack_table_get(t, ia, &e), 1);
  CHECK_EQ(e.count, 6);
  CHECK_EQ(e.n, 3);
  CHECK_EQ(e.pcs[2], 0x30);
  CHECK_EQ(faststack_stack_table_get(t, 9999, &e), 0);
  /* Fill it: 8 stacks requested, 64 PCs of arena. */
  uintptr_t big[40] = {0};
  big[0] = 1;
  CHECK(faststack_stack_table_insert(t, big, 40, 0, 1) != 0);
  big[0] = 2;
  CHECK_EQ(faststack_stack_table_insert(t, big, 40, 0, 7), 0);
  CHECK_EQ(faststack_stack_table_overflow(t), 7);
  CHECK_EQ(faststack_stack_table_total(t), 1 + 2 + 5 + 1 + 1 + 7);
  uint64_t sum = 0;
  CHECK_EQ(faststack_stack_table_foreach(t, sum_visit, &sum), 4);
  CHECK_EQ(sum, 1 + 2 + 5 + 1 + 1);
  faststack_stack_table_reset(t);
  CHECK_EQ(faststack_stack_table_total(t), 0);
  CHECK_EQ(faststack_stack_table_get(t, ia, &e), 0);
  faststack_stack_table_free(t);

  /* Concurrent writers: every count lands, each stack interned (a rare
   * duplicate under a race is allowed, so compare sums, not entries). */
  shared = faststack_stack_table_create(1024, 0);
  pthread_t th[THREADS];
  for (long i = 0; i < THREADS; i++)
    pthread_create(&th[i], NULL, inserter, (void *)(i + 1));
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  sum = 0;
  size_t entries = faststack_stack_table_foreach(shared, sum_visit, &sum);
  CHECK_EQ(sum, (uint64_t)THREADS * PER_THREAD);
  CHECK(entries >= 64 * THREADS && entries <= 64 * THREADS + 16);
  CHECK_EQ(faststack_stack_table_overflow(shared), 0);
  faststack_stack_table_free(shared);

  /* Two PC sequences naming the same functions (another return address
   * in cap_hot_a) are one folded line with the counts summed. */
  {
    faststack_stack_table *ft = faststack_stack_table_create(0, 0);
    uintptr_t pcs[64];
    int n = cap_hot_a(pcs, 64);
    faststack_stack_table_insert(ft, pcs, n, 0, 3);
    pcs[0] += 1;
    faststack_stack_table_insert(ft, pcs, n, 0, 4);
    char path[] = "/tmp/fs_folded_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(faststack_write_folded(fd, ft, NULL), 0);
    char text[8192];
    ssize_t r = pread(fd, text, sizeof text - 1, 0);
    text[r > 0 ? r : 0] = '\0';
    close(fd);
    unlink(path);
    char *nl = strchr(text, '\n');
    CHECK(nl && nl[1] == '\0'); /* one line */
    CHECK(nl && nl - text > 10 && !strncmp(nl - 12, ";cap_hot_a 7", 12));
    faststack_stack_table_free(ft);
  }

  if (argc == 3) {
    t = faststack_stack_table_create(0, 0);
    uintptr_t pcs[64];
    int n = cap_hot_a(pcs, 64);
    CHECK(n >= 2);
    faststack_stack_table_insert(t, pcs, n, 0, 70);
    n = cap_hot_b(pcs, 64);
    faststack_stack_table_insert(t, pcs, n, 0, 30);
    faststack_profile_options o = {.period = 1000000};
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(faststack_write_pprof(fd, t, &o), 0);
    close(fd);
    fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(faststack_write_folded(fd, t, &o), 0);
    close(fd);
    faststack_stack_table_free(t);
  }
  return CHECK_DONE("test_stacktable");
}
