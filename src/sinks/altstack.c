/* altstack.c — per-thread alternate signal stacks.
 *
 * A stack overflow faults with the stack pointer at the end of the stack:
 * the kernel can only run a handler for it on another stack, so every
 * thread that should report its overflow needs a sigaltstack of its own.
 * The stack is mmap'ed (not malloc'ed: the heap may be what is broken)
 * with a PROT_NONE guard page below it, so a handler overflowing it
 * faults cleanly instead of scribbling over a neighbouring mapping. It is
 * released by a pthread key destructor when the thread exits. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sinks/sinks.h"

/* The report needs a few KiB (one 4 KiB output stage in static memory,
 * PC arrays and lookup scratch on the stack); the kernel's signal frame
 * with AVX-512 state takes ~3.5 KiB more. 64 KiB leaves a wide margin,
 * also for a previous handler we chain to. */
#define FS_ALTSTACK_MIN (64 * 1024)
/* An existing alternate stack at least this large is kept as it is. */
#define FS_ALTSTACK_KEEP (32 * 1024)

static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static int key_ok;

typedef struct fs_altstack_map {
  void *base; /* guard page, then the stack */
  size_t total;
} fs_altstack_map;

static size_t stack_size(void)
{
#ifdef _SC_SIGSTKSZ
  long min = sysconf(_SC_SIGSTKSZ);
#else /* C libraries before glibc 2.34's dynamic SIGSTKSZ (musl) */
  long min = SIGSTKSZ;
#endif
  size_t sz = FS_ALTSTACK_MIN;
  if (min > 0 && (size_t)min * 4 > sz) sz = (size_t)min * 4;
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) page = 4096;
  return (sz + (size_t)page - 1) & ~((size_t)page - 1);
}

/* Runs at thread exit on the exiting thread: turn the stack off first
 * (the kernel must not deliver onto unmapped memory), then unmap. */
static void release(void *p)
{
  fs_altstack_map m = *(fs_altstack_map *)p;
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) page = 4096;
  stack_t cur;
  if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == (char *)m.base + page) {
    if (cur.ss_flags & SS_ONSTACK) return; /* cannot happen at exit */
    stack_t off = {.ss_flags = SS_DISABLE};
    sigaltstack(&off, NULL);
  }
  munmap(m.base, m.total);
}

static void make_key(void)
{
  key_ok = pthread_key_create(&key, release) == 0;
}

int fs_altstack_ensure(void)
{
  stack_t cur;
  if (sigaltstack(NULL, &cur) != 0) return -1;
  if (!(cur.ss_flags & SS_DISABLE) && cur.ss_size >= FS_ALTSTACK_KEEP) return 0;
  if (cur.ss_flags & SS_ONSTACK) {
    errno = EBUSY;
    return -1;
  }
  pthread_once(&key_once, make_key);
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) page = 4096;
  size_t size = stack_size();
  /* The bookkeeping record lives in the mapping's last bytes: nothing to
   * malloc, nothing to free separately. */
  size_t total = (size_t)page + size;
  char *base = mmap(NULL, total, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) return -1;
  if (mprotect(base, (size_t)page, PROT_NONE) != 0) {
    munmap(base, total);
    return -1;
  }
  fs_altstack_map *rec =
      (fs_altstack_map *)(base + total - sizeof(fs_altstack_map));
  rec->base = base;
  rec->total = total;
  stack_t ss = {.ss_sp = base + page,
                .ss_size = size - sizeof(fs_altstack_map) - 64,
                .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) {
    munmap(base, total);
    return -1;
  }
  if (key_ok && pthread_getspecific(key) == NULL) pthread_setspecific(key, rec);
  return 0;
}

FASTSTACK_API int faststack_crash_thread_init(void)
{
  fs_stack_thread_init();
  return fs_altstack_ensure();
}
