/* threads.c — every thread's stack, from inside a signal handler.
 *
 * A thread can only walk its own stack (another thread's registers are not
 * readable from user space without ptrace), so the dumping thread lists
 * the threads of the process from /proc/self/task (open + getdents64: raw
 * system calls, async-signal-safe), signals each with a real-time signal
 * (tgkill) and waits; each handler records its own stack from its
 * ucontext into a slot preallocated for it and marks it done. Threads
 * that block the signal, are stopped, or are stuck in the kernel never
 * answer: after the timeout they are listed as such.
 *
 * Slots change state with compare-and-swap (asked -> writing -> done;
 * asked -> timeout by the dumper), so a late answer never tears a slot the
 * dumper is printing, and an unsolicited or stale signal finds no slot
 * asked for its thread and does nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "sinks/sinks.h"

int fs_threads_timeout_ms = 1000;
static fs_slot *slots;
static _Atomic int nslots;
static int rt_sig;
/* 0 not yet, 1 being prepared (by preparer), 2 ready, 3 failed. */
static _Atomic int prepared;
static _Atomic int preparer;

int fs_threads_signal(void)
{
  /* SIGRTMAX-2: away from SIGRTMIN, where glibc and most programs take
   * their real-time signals from. */
  return SIGRTMAX - 2;
}

/* Set while a thread waits in the fault handler behind another thread's
 * report. */
static __thread const void *tls_wait_uc
    __attribute__((tls_model("initial-exec")));
static __thread int tls_wait_sig __attribute__((tls_model("initial-exec")));

void fs_threads_note_waiting(const void *uc, int sig)
{
  tls_wait_uc = uc;
  tls_wait_sig = sig;
}

/* The collecting thread's tid (0: free). A holder that is no thread of
 * ours (a vfork child that shared our memory and died collecting) does
 * not hold it. */
static _Atomic int collecting;

static int holder_gone(int tid)
{
  return syscall(SYS_tgkill, getpid(), tid, 0) != 0 && errno == ESRCH;
}

int fs_threads_lock(int wait_ms)
{
  int me = fs_gettid();
  for (int w = 0;; w++) {
    int cur = 0;
    if (atomic_compare_exchange_strong(&collecting, &cur, me)) return 1;
    if (cur != me && holder_gone(cur) &&
        atomic_compare_exchange_strong(&collecting, &cur, me))
      return 1;
    if (w >= wait_ms) return 0;
    fs_sleep_ms(1);
  }
}

void fs_threads_unlock(void)
{
  atomic_store(&collecting, 0);
}

static void on_dump_request(int sig, siginfo_t *si, void *uc)
{
  (void)sig;
  /* Only our own requests: another process's signal does nothing. */
  if (!si || si->si_code != SI_TKILL || si->si_pid != getpid()) return;
  int saved = errno;
  int me = fs_gettid();
  int n = atomic_load(&nslots);
  for (int i = 0; i < n; i++) {
    if (slots[i].tid != me) continue;
    int st = FS_SLOT_ASKED;
    if (!atomic_compare_exchange_strong(&slots[i].state, &st, FS_SLOT_WRITING))
      continue;
    const void *wuc = tls_wait_uc;
    /* A thread waiting in the fault handler behind another report shows
     * where it faulted. */
    slots[i].n =
        faststack_capture_ucontext(wuc ? wuc : uc, slots[i].pcs, FS_SLOT_PCS);
    slots[i].fault_sig = wuc ? tls_wait_sig : 0;
    atomic_store(&slots[i].state, FS_SLOT_DONE);
    break;
  }
  errno = saved;
}

static void dedup_prepare(void);

/* Another thread's setup takes a few system calls; waiting longer than
 * this means it is stopped, and a dump must not hang on it. */
#define FS_PREPARE_WAIT_MS 2000

/* The result of a setup that is not ours: waits for another thread's,
 * never for one this thread's own handler interrupted. */
static int prepare_wait(void)
{
  int st;
  for (int w = 0; (st = atomic_load(&prepared)) == 1; w++) {
    if (atomic_load(&preparer) == fs_gettid() || w >= FS_PREPARE_WAIT_MS) {
      errno = EBUSY;
      return -1;
    }
    fs_sleep_ms(1);
  }
  if (st == 2) return 0;
  errno = ENOMEM; /* the setup failed earlier: mmap, in practice */
  return -1;
}

int fs_threads_prepare(void)
{
  int st = 0;
  if (atomic_load(&prepared) == 2) return 0;
  if (!atomic_compare_exchange_strong(&prepared, &st, 1)) return prepare_wait();
  atomic_store(&preparer, fs_gettid());
  /* MAP_NORESERVE: only slots actually written become memory. */
  void *p = mmap(NULL, sizeof(fs_slot) * FS_MAX_THREADS, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    atomic_store(&prepared, 3);
    errno = ENOMEM;
    return -1;
  }
  slots = p;
  dedup_prepare();
  rt_sig = fs_threads_signal();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_dump_request;
  /* SA_RESTART: a dump must disturb the program as little as possible
   * (some calls still return EINTR: see docs/crash.md). */
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(rt_sig, &sa, NULL) != 0) {
    atomic_store(&prepared, 3);
    return -1;
  }
  atomic_store(&prepared, 2);
  return 0;
}

static int64_t now_ms(void)
{
  return fs_now_ns(CLOCK_MONOTONIC) / 1000000;
}

/* The kernel's getdents64 record. */
struct fs_dirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

int fs_threads_collect(fs_slot **out)
{
  if (atomic_load(&prepared) != 2) return -1;
  *out = slots;
  int me = fs_gettid(), pid = getpid();
  /* No slot is asked while they are refilled. */
  atomic_store(&nslots, 0);
  int k = 0;
  int fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[2048] __attribute__((aligned(8)));
  for (;;) {
    long r = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (r <= 0) break;
    for (long off = 0; off < r;) {
      struct fs_dirent64 *d = (struct fs_dirent64 *)(buf + off);
      if (d->reclen == 0) break;
      off += d->reclen;
      int tid = 0;
      const char *c = d->name;
      if (*c < '0' || *c > '9') continue;
      for (; *c >= '0' && *c <= '9'; c++) tid = tid * 10 + (*c - '0');
      if (tid == me || k >= FS_MAX_THREADS) continue;
      atomic_store(&slots[k].state, FS_SLOT_EMPTY);
      slots[k].tid = tid;
      slots[k].n = 0;
      slots[k].fault_sig = 0;
      atomic_store(&slots[k].state, FS_SLOT_ASKED);
      k++;
    }
  }
  close(fd);
  atomic_store(&nslots, k);
  for (int i = 0; i < k; i++) {
    if (syscall(SYS_tgkill, pid, slots[i].tid, rt_sig) != 0) {
      int st = FS_SLOT_ASKED;
      atomic_compare_exchange_strong(&slots[i].state, &st, FS_SLOT_FAILED);
    }
  }
  int timeout_ms = fs_threads_timeout_ms;
  int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 1000);
  for (;;) {
    int pending = 0;
    for (int i = 0; i < k; i++) {
      int st = atomic_load(&slots[i].state);
      pending += st == FS_SLOT_ASKED || st == FS_SLOT_WRITING;
    }
    if (!pending || now_ms() >= deadline) break;
    fs_sleep_ms(1);
  }
  for (int i = 0; i < k; i++) {
    int st = FS_SLOT_ASKED;
    if (atomic_compare_exchange_strong(&slots[i].state, &st, FS_SLOT_TIMEOUT))
      continue;
    /* Mid-write: it has started, a walk takes microseconds. */
    for (int w = 0; w < 100 && atomic_load(&slots[i].state) == FS_SLOT_WRITING;
         w++)
      fs_sleep_ms(1);
  }
  return k;
}

/* Identical stacks are found through a stack table (the profiler's
 * interning: hash of the PCs, lock-free, preallocated), prepared with the
 * slots; first_of maps a table id to the first slot holding that stack.
 * A dump that finds them busy (another dump at the same moment) compares
 * stacks pairwise instead. */
static faststack_stack_table *dump_table;
static int *first_of; /* FS_DUMP_IDS entries */
static _Atomic int dedup_busy;
#define FS_DUMP_IDS (2 * FS_MAX_THREADS + 1)

static void dedup_prepare(void)
{
  dump_table = faststack_stack_table_create(
      FS_MAX_THREADS, (size_t)FS_MAX_THREADS * FS_SLOT_PCS);
  void *p = mmap(NULL, FS_DUMP_IDS * sizeof(int), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  first_of = p == MAP_FAILED ? NULL : p;
}

/* [AS-safe] Groups by the table; 0 if it cannot be used now. */
static int dedup_by_table(fs_slot *s, int n)
{
  int z = 0;
  if (!dump_table || !first_of ||
      !atomic_compare_exchange_strong(&dedup_busy, &z, 1))
    return 0;
  faststack_stack_table_reset(dump_table);
  memset(first_of, 0xff, FS_DUMP_IDS * sizeof(int)); /* all -1 */
  for (int i = 0; i < n; i++) {
    if (atomic_load(&s[i].state) != FS_SLOT_DONE) continue;
    /* The faulting signal is part of the identity: a thread in the fault
     * handler never groups with one that is not. */
    uint64_t id = faststack_stack_table_insert(
        dump_table, s[i].pcs, s[i].n, (unsigned)s[i].fault_sig << 8, 1);
    int g = i;
    if (id > 0 && id < FS_DUMP_IDS) {
      if (first_of[id] < 0) first_of[id] = i;
      g = first_of[id];
    }
    s[i].group = g;
    s[g].count++;
  }
  atomic_store(&dedup_busy, 0);
  return 1;
}

void fs_threads_dedup(fs_slot *s, int n)
{
  for (int i = 0; i < n; i++) {
    s[i].group = i;
    s[i].count = 0;
  }
  if (dedup_by_table(s, n)) return;
  for (int i = 0; i < n; i++) {
    if (atomic_load(&s[i].state) != FS_SLOT_DONE) continue;
    for (int j = 0; j < i; j++) {
      if (s[j].group != j || atomic_load(&s[j].state) != FS_SLOT_DONE ||
          s[j].n != s[i].n || s[j].fault_sig != s[i].fault_sig ||
          memcmp(s[j].pcs, s[i].pcs, (size_t)s[i].n * sizeof s[i].pcs[0]))
        continue;
      s[i].group = j;
      break;
    }
    s[s[i].group].count++;
  }
}

/* The scheduler state of a thread from /proc/self/task/TID/stat: the
 * field after the parenthesised name (which may itself hold ')'). */
static const char *thread_state(int tid)
{
  char path[64];
  fs_task_path(path, tid, "stat");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return NULL;
  char st = 0;
  for (ssize_t i = n - 1; i > 0; i--)
    if (buf[i] == ')') {
      if (i + 2 < n) st = buf[i + 2];
      break;
    }
  switch (st) {
  case 'R': return "running";
  case 'S': return "sleeping";
  case 'D': return "uninterruptible sleep";
  case 'T': return "stopped";
  case 't': return "traced";
  case 'Z': return "zombie";
  default: return NULL;
  }
}

static void thread_title(fs_out *o, const fs_slot *s)
{
  fs_out_thread(o, s->tid);
  fs_out_str(o, " [");
  if (s->fault_sig) {
    fs_out_signal(o, s->fault_sig);
    fs_out_str(o, ", faulting, waiting behind the report");
  } else {
    const char *st = thread_state(s->tid);
    fs_out_str(o, st ? st : "unknown");
  }
  fs_out_str(o, "]");
}

void fs_threads_print(fs_out *o, fs_slot *s, int n, int no_dedup, unsigned mode)
{
  if (!no_dedup) fs_threads_dedup(s, n);
  for (int i = 0; i < n; i++) {
    if (atomic_load(&s[i].state) != FS_SLOT_DONE) continue;
    if (!no_dedup && s[i].group != i) continue;
    int cnt = no_dedup ? 1 : s[i].count;
    if (cnt > 1) {
      /* Like a Go goroutine dump grouped by stack (pprof debug=1). */
      fs_out_dec(o, cnt);
      fs_out_str(o, " threads with this stack:");
      int listed = 0;
      for (int j = i; j < n && listed < 32; j++) {
        if (s[j].group != i || atomic_load(&s[j].state) != FS_SLOT_DONE)
          continue;
        fs_out_char(o, ' ');
        fs_out_dec(o, s[j].tid);
        listed++;
      }
      if (cnt > listed) fs_out_str(o, " ...");
      fs_out_str(o, "\n  first: ");
      thread_title(o, &s[i]);
      fs_out_str(o, "\n");
    } else {
      thread_title(o, &s[i]);
      fs_out_str(o, ":\n");
    }
    fs_sink_frames(o, s[i].pcs, (size_t)s[i].n, FASTSTACK_PCS_UCONTEXT, mode);
    fs_out_char(o, '\n');
  }
  for (int i = 0; i < n; i++) {
    int st = atomic_load(&s[i].state);
    if (st == FS_SLOT_DONE) continue;
    fs_out_thread(o, s[i].tid);
    if (st == FS_SLOT_FAILED) {
      fs_out_str(o, ": exited before it could be asked\n");
    } else {
      fs_out_str(o, ": did not answer in time (it blocks ");
      fs_out_signal(o, rt_sig);
      fs_out_str(o, ", or is stopped or stuck in the kernel)\n");
    }
  }
}
