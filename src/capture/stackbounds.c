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
#include <signal.h>
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

/* Streaming parse of "lo-hi perms ..." lines: no line buffer, so long
 * paths cost nothing and the stack footprint stays small (signal stacks
 * can be tiny). */
int fs_maps_find(uintptr_t addr, fs_region *out, int *readable, int *exec)
{
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[512];
  uintptr_t lo = 0, hi = 0;
  int state = 0, perm_i = 0, r = 0, x = 0, found = 0;
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n && !found; i++) {
      char c = buf[i];
      int h;
      switch (state) {
      case 0: /* lo */
        if (c == '-') state = 1;
        else if ((h = hexval(c)) >= 0) lo = (lo << 4) | (uintptr_t)h;
        else state = 3;
        break;
      case 1: /* hi */
        if (c == ' ') {
          state = 2;
          perm_i = 0;
        } else if ((h = hexval(c)) >= 0) hi = (hi << 4) | (uintptr_t)h;
        else state = 3;
        break;
      case 2: /* perms "rwxp" */
        if (perm_i == 0) r = (c == 'r');
        if (perm_i == 2) x = (c == 'x');
        if (++perm_i == 4) {
          if (addr >= lo && addr < hi) found = 1;
          state = 3;
        }
        break;
      default: /* rest of line */ break;
      }
      if (c == '\n') {
        state = 0;
        lo = hi = 0;
      }
    }
    if (found) break;
  }
  close(fd);
  if (!found) return 0;
  out->lo = lo;
  out->hi = hi;
  if (readable) *readable = r;
  if (exec) *exec = x;
  return 1;
}

static int on_alt_stack(void)
{
  stack_t ss;
  return sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK);
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

int fs_stack_region_scan(uintptr_t sp, fs_region *out)
{
  int r = 0;
  if (!fs_maps_find(sp, out, &r, NULL) || !r) {
    out->lo = out->hi = 0;
    return 0;
  }
  /* Cache it as this thread's stack only if it is not a signal stack;
   * fibers on other stacks just pay the scan. */
  if (!tls_stack.valid && !on_alt_stack()) cache_store(out->lo, out->hi);
  return 1;
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
