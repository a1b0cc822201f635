/* stackbounds.c — the stack region a frame walk may read.
 *
 * A walk must never fault, so every frame pointer is checked against the
 * region of the stack it walks. Each thread caches its stack's bounds in
 * initial-exec TLS (readable from a signal handler without calling into
 * the dynamic linker). The bounds come from /proc/self/maps, read with
 * open/read/close — all async-signal-safe — and parsed without a line
 * buffer, so even a first capture inside a crash handler can compute them.
 * The main thread's bounds are read at library load (outside any signal).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "capture/walk.h"

FS_REQUIRE_INIT(capture);

/* internal.h declares it, so a capture's first check is inline. */
__thread fs_tls_stack fs_tls_stack_cache
    __attribute__((tls_model("initial-exec")));
#define tls_stack fs_tls_stack_cache

static int hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* The parser's state within one line of /proc/self/maps:
 * "lo-hi perms offset dev inode   path". */
typedef struct maps_parse {
  fs_maps_line l;
  int field; /* 0 lo, 1 hi, 2 perms, 3 offset, 4 dev, 5 inode, 6 path */
  int pos;   /* bytes of the current field seen */
  int bad;   /* the line did not parse: skipped */
} maps_parse;

static void maps_reset(maps_parse *m)
{
  m->l.lo = m->l.hi = 0;
  m->l.perms[0] = '\0';
  m->l.name[0] = '\0';
  m->field = m->pos = m->bad = 0;
}

static void maps_byte(maps_parse *m, char c)
{
  int h;
  if (m->field == 6) {
    /* The path runs to the end of the line; its padding is skipped. */
    if (m->pos == 0 && c == ' ') return;
    if ((size_t)m->pos + 1 < sizeof m->l.name) {
      m->l.name[m->pos] = c;
      m->l.name[m->pos + 1] = '\0';
    }
    m->pos++;
    return;
  }
  if (m->field == 0 && c == '-') {
    m->field = 1;
    m->pos = 0;
  } else if (c == ' ') {
    if (m->pos > 0) m->field++; /* runs of spaces separate one field */
    m->pos = 0;
  } else if (m->field <= 1) {
    if ((h = hexval(c)) < 0) m->bad = 1;
    else if (m->field == 0) m->l.lo = (m->l.lo << 4) | (uintptr_t)h;
    else m->l.hi = (m->l.hi << 4) | (uintptr_t)h;
    m->pos++;
  } else {
    if (m->field == 2 && m->pos < 4) {
      m->l.perms[m->pos] = c;
      m->l.perms[m->pos + 1] = '\0';
    }
    m->pos++;
  }
}

/* Streaming parse of the lines: no line buffer, so long paths cost
 * nothing and the stack footprint stays small (signal stacks can be
 * tiny). */
int fs_maps_each(int (*fn)(const fs_maps_line *l, void *arg), void *arg)
{
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[512];
  maps_parse m;
  maps_reset(&m);
  int rc = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n && !rc; i++) {
      if (buf[i] != '\n') {
        maps_byte(&m, buf[i]);
        continue;
      }
      if (!m.bad && m.field >= 2 && m.l.perms[0]) rc = fn(&m.l, arg);
      maps_reset(&m);
    }
    if (rc) break;
  }
  close(fd);
  return rc;
}

typedef struct find_arg {
  uintptr_t addr;
  fs_maps_line found;
} find_arg;

static int find_one(const fs_maps_line *l, void *arg)
{
  find_arg *a = arg;
  if (a->addr < l->lo || a->addr >= l->hi) return 0;
  a->found = *l;
  return 1;
}

int fs_maps_find(uintptr_t addr, fs_region *out, int *readable, int *exec)
{
  find_arg a = {.addr = addr}; /* all of it: -O3 cannot see find_one */
  if (fs_maps_each(find_one, &a) != 1) return 0;
  out->lo = a.found.lo;
  out->hi = a.found.hi;
  if (readable) *readable = a.found.perms[0] == 'r';
  if (exec) *exec = a.found.perms[2] == 'x';
  return 1;
}

static void cache_store(uintptr_t lo, uintptr_t hi)
{
  tls_stack.valid = 0;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  tls_stack.lo = lo;
  tls_stack.hi = hi;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  tls_stack.valid = 1;
}

int fs_stack_region(uintptr_t sp, fs_region *out)
{
  return fs_stack_region_inline(sp, out);
}

/* Is the mapping holding sp a stack? Only a stack is walked: memory that
 * merely holds sp (the heap, a buffer, a smashed register) may be full of
 * well-formed "frames", and frames must never be made up. A stack is the
 * main thread's ("[stack]"), or an anonymous read-write mapping right
 * above a PROT_NONE guard of at most FS_GUARD_MAX: every glibc thread
 * stack (one page by default), and fiber stacks allocated the careful
 * way. Allocators reserve large PROT_NONE ranges next to their heaps
 * (glibc's thread arenas, sanitizer allocators): too large for a guard. */
#define FS_GUARD_MAX ((uintptr_t)1 << 20)

typedef struct stack_scan {
  uintptr_t sp;
  uintptr_t self;    /* this scan's own frame: the stack it runs on */
  uintptr_t prev_hi; /* the previous mapping's end, and */
  int prev_guard;    /* whether it could be a guard (small, inaccessible) */
  int prev_none;     /* whether it is inaccessible at all */
  int ok;
  int again; /* rw right above a large inaccessible mapping: see below */
  int live;  /* and self lies in it: the stack this scan runs on */
  fs_region r;
} stack_scan;

static int stack_line(const fs_maps_line *l, void *arg)
{
  stack_scan *s = arg;
  if (s->sp < l->lo || s->sp >= l->hi) {
    s->prev_hi = l->hi;
    s->prev_none = !strncmp(l->perms, "---", 3);
    s->prev_guard = s->prev_none && l->hi - l->lo <= FS_GUARD_MAX;
    return 0;
  }
  int rw = l->perms[0] == 'r' && l->perms[1] == 'w';
  int guarded = s->prev_guard && s->prev_hi == l->lo && !l->name[0];
  s->ok = rw && (guarded || !strncmp(l->name, "[stack", 6));
  s->again = rw && !s->ok && s->prev_none && s->prev_hi == l->lo;
  s->live = s->self >= l->lo && s->self < l->hi;
  s->r.lo = l->lo;
  s->r.hi = l->hi;
  return 1;
}

int fs_stack_region_scan(uintptr_t sp, fs_region *out)
{
  /* The thread's alternate signal stack, exactly as registered. */
  stack_t ss;
  if (sigaltstack(NULL, &ss) == 0 && !(ss.ss_flags & SS_DISABLE) &&
      sp >= (uintptr_t)ss.ss_sp && sp - (uintptr_t)ss.ss_sp < ss.ss_size) {
    out->lo = (uintptr_t)ss.ss_sp;
    out->hi = (uintptr_t)ss.ss_sp + ss.ss_size;
    return 1;
  }
  stack_scan s;
  /* A thread's guard page merges, for a moment, with the inaccessible
   * mapping another thread's stack starts as when it is placed right
   * below (the kernel joins adjacent mappings of equal protection until
   * that stack is made writable): then the guard looks too large, and
   * for good when a stack sits right above an allocator's reservation.
   * If this very scan runs on that mapping, it is this thread's stack
   * (a heap above its reservation is what the rule keeps out, and no
   * thread runs on its heap there); else it is looked at again, a few
   * times. */
  for (int tries = 0;; tries++) {
    memset(&s, 0, sizeof s);
    s.sp = sp;
    s.self = (uintptr_t)__builtin_frame_address(0);
    int found = fs_maps_each(stack_line, &s) == 1;
    if (found && (s.ok || (s.again && s.live))) break;
    if (!found || !s.again || tries == 3) {
      out->lo = out->hi = 0;
      return 0;
    }
    sched_yield();
  }
  *out = s.r;
  /* Cache it as this thread's stack only if it is not a signal stack;
   * fibers on other stacks just pay the scan. */
  if (!tls_stack.valid && !(ss.ss_flags & SS_ONSTACK))
    cache_store(out->lo, out->hi);
  return 1;
}

/* The first mapping above an address. */
typedef struct above_scan {
  uintptr_t addr, lo; /* lo: 0 none */
} above_scan;

static int above_line(const fs_maps_line *l, void *arg)
{
  above_scan *a = arg;
  if (l->lo <= a->addr) return 0;
  a->lo = l->lo;
  return 1;
}

int fs_stack_below(uintptr_t sp, fs_region *out)
{
  fs_region m;
  int readable = 0;
  /* In the guard page (PROT_NONE) or in no mapping at all: never in
   * memory a program could have moved sp into on purpose. */
  if (fs_maps_find(sp, &m, &readable, NULL) && readable) return 0;
  if (tls_stack.valid && sp < tls_stack.lo &&
      tls_stack.lo - sp <= FS_GUARD_MAX) {
    out->lo = tls_stack.lo;
    out->hi = tls_stack.hi;
    return 1;
  }
  above_scan a = {sp, 0};
  if (fs_maps_each(above_line, &a) != 1 || a.lo - sp > FS_GUARD_MAX) return 0;
  return fs_stack_region_scan(a.lo, out) && out->lo <= a.lo &&
         out->lo - sp <= FS_GUARD_MAX;
}

void fs_stack_thread_init(void)
{
  if (getpid() == gettid()) return; /* read at load time */
  pthread_attr_t a;
  void *addr;
  size_t size;
  if (pthread_getattr_np(pthread_self(), &a) != 0) return;
  if (pthread_attr_getstack(&a, &addr, &size) == 0 && size)
    cache_store((uintptr_t)addr, (uintptr_t)addr + size);
  pthread_attr_destroy(&a);
}

void fs_stack_init_main(void)
{
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  fs_region r;
  int readable = 0;
  if (!fs_maps_find(sp, &r, &readable, NULL) || !readable) return;
  /* The main thread's stack grows on demand: its mapping's low end moves
   * down, up to RLIMIT_STACK below the top. Cover the whole potential
   * range so later, deeper captures still hit the cache (reads are always
   * limited to [sp, hi), which is mapped). */
  struct rlimit rl;
  if (getpid() == gettid() && getrlimit(RLIMIT_STACK, &rl) == 0 &&
      rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < r.hi &&
      r.hi - rl.rlim_cur < r.lo)
    r.lo = r.hi - rl.rlim_cur;
  cache_store(r.lo, r.hi);
}
