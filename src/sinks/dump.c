/* dump.c — thread dumps: every thread's stack, on request
 * (faststack_dump_threads) or when the dump signal arrives (like the JVM's
 * SIGQUIT dump or Go's SIGQUIT traceback, without ending the process).
 * The dumping thread writes its own stack, then collects the others'
 * (threads.c). Async-signal-safe: the signal's handler runs all of it. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "sinks/sinks.h"

static char dump_stage[4096];
static struct sigaction prev_dump_action;
static int dump_sig_installed;
static unsigned dump_mode;

/* The dump itself: the calling thread's stack (from uc when called from
 * the dump signal's handler), then every other thread's. */
__attribute__((noinline)) static int
dump(int fd, unsigned flags, const void *uc, int sig, unsigned mode)
{
  if (fs_threads_prepare() != 0) return -1;
  if (fs_output_busy() || !fs_threads_lock(0)) {
    errno = EBUSY;
    return -1;
  }
  if (flags & FASTSTACK_DUMP_RAW) mode |= FS_SINK_RAW;
  mode |= fs_sink_color(fd);
  fs_out o;
  /* A dump never holds the program on output nobody reads, nor ends it
   * by SIGPIPE. */
  fs_out_init_fd_bounded(&o, fd, dump_stage, sizeof dump_stage,
                         FS_OUTPUT_STALL_MS);
  fs_nopipe np;
  fs_nopipe_begin(&np);
  fs_out_str(&o, "\nthread dump");
  if (sig) {
    fs_out_str(&o, " (");
    fs_out_signal(&o, sig);
    fs_out_char(&o, ')');
  }
  fs_out_str(&o, ": pid ");
  fs_out_dec(&o, getpid());
  fs_out_str(&o, ", ");
  fs_out_time(&o);
  fs_out_str(&o, "\n\n");
  uintptr_t pcs[FS_SLOT_PCS];
  int n;
  unsigned pcflags = 0;
  if (uc) {
    n = faststack_capture_ucontext(uc, pcs, FS_SLOT_PCS);
    pcflags = FASTSTACK_PCS_UCONTEXT;
  } else {
    /* skip 2: dump() and faststack_dump_threads (neither inlined): start
     * at the caller. */
    n = faststack_capture(pcs, FS_SLOT_PCS, 2);
  }
  fs_out_thread(&o, fs_gettid());
  fs_out_str(&o, uc ? " [interrupted by the dump signal]:\n" : " [dumping]:\n");
  fs_sink_frames(&o, pcs, (size_t)n, pcflags, mode);
  fs_out_char(&o, '\n');
  fs_slot *slots;
  int k = fs_threads_collect(&slots);
  int shown = 1;
  if (k > 0) {
    fs_threads_print(&o, slots, k, (flags & FASTSTACK_DUMP_NO_DEDUP) != 0,
                     mode);
    for (int i = 0; i < k; i++)
      if (atomic_load(&slots[i].state) == FS_SLOT_DONE) shown++;
  }
  size_t r = fs_out_finish(&o);
  fs_nopipe_end(&np);
  fs_threads_unlock();
  return r == 0 ? shown : -1;
}

FASTSTACK_API int faststack_dump_prepare(void)
{
  return fs_threads_prepare();
}

FASTSTACK_API __attribute__((noinline)) int
faststack_dump_threads(int fd, unsigned flags)
{
  if (fd < 0) {
    errno = EBADF;
    return -1;
  }
  int saved = errno;
  int r = dump(fd, flags, NULL, 0, dump_mode);
  if (r >= 0) errno = saved;
  return r;
}

static void on_dump_signal(int sig, siginfo_t *si, void *uc)
{
  (void)si;
  int saved = errno;
  int fd = fs_output_open();
  dump(fd, 0, uc, sig, dump_mode);
  fs_output_close(fd);
  errno = saved;
}

int fs_dump_signal_set(int sig, unsigned mode)
{
  dump_mode = mode;
  if (dump_sig_installed == sig) return 0;
  if (dump_sig_installed) {
    sigaction(dump_sig_installed, &prev_dump_action, NULL);
    dump_sig_installed = 0;
  }
  if (sig == 0) return 0;
  if (sig < 0 || fs_fault_index(sig) >= 0 || sig == SIGKILL || sig == SIGSTOP ||
      sig == fs_threads_signal()) {
    errno = EINVAL;
    return -1;
  }
  if (fs_threads_prepare() != 0) return -1;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_dump_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, &prev_dump_action) != 0) return -1;
  dump_sig_installed = sig;
  return 0;
}
