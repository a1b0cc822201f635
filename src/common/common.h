/* common.h — what every stage of faststack may use: the async-signal-safe
 * text writer (fs_out) with its number formatting, the stable sort, the
 * one table of signal names and si_code texts, and small system helpers.
 *
 * Nothing here is exported: the library is built with -fvisibility=hidden
 * and only FASTSTACK_API names in include/faststack.h are visible.
 *
 * Stages and the order they may use each other in (docs/ARCHITECTURE.md):
 *   common -> modules -> capture -> symbolize -> annotate -> format -> sinks
 * A file may use its own stage's header and earlier ones, never a later
 * one; `make check` verifies it on the built objects (scripts/layers.sh). */
#ifndef FASTSTACK_COMMON_H
#define FASTSTACK_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "faststack.h"

#define FS_LIKELY(x) __builtin_expect(!!(x), 1)
#define FS_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* The walkers read other frames' stack slots on purpose; sanitizers must
 * not treat that as a bug (the reads are bounds-checked by hand). */
#define FS_NO_SANITIZE                                                         \
  __attribute__((no_sanitize("address", "undefined", "thread")))

/* A static link only pulls in the objects whose symbols are referenced,
 * so a stage whose load-time setup lives in a file of its own (capture's
 * init.c) anchors it from every file that relies on it: FS_REQUIRE_INIT(x)
 * once at file scope references fs_x_init_anchor. */
#define FS_REQUIRE_INIT(stage)                                                 \
  extern const char fs_##stage##_init_anchor;                                  \
  __attribute__((used)) static const char *const fs_require_init_ =            \
      &fs_##stage##_init_anchor

/* Load-time constructors run in stage order: a later stage's setup may
 * use an earlier stage's. */
#define FS_CTOR_MODULES __attribute__((constructor(101)))
#define FS_CTOR_CAPTURE __attribute__((constructor(102)))

/* ------------------------------------------------------------- out.c
 * [AS-safe] A small text writer used by every formatter: it appends into a
 * caller buffer (truncating, counting what the full text needs) or, when
 * fd >= 0, into a fixed buffer flushed to fd with write(2). */
typedef struct fs_out {
  char *buf;  /* destination, or the staging buffer when fd >= 0 */
  size_t cap; /* capacity of buf */
  size_t len; /* bytes in buf (fd mode) or bytes needed so far */
  int fd;     /* -1: buffer mode */
  int failed; /* a write(2) failed */
  /* fd mode: > 0, writes are bounded (fs_write_bounded): once the
   * descriptor took nothing for stall_ms, the rest of the output is
   * dropped. 0: plain blocking writes. */
  int stall_ms;
  int sock; /* fs_write_bounded's note: -1 not known, 0 no, 1 a socket */
} fs_out;

void fs_out_init_buf(fs_out *o, char *buf, size_t cap);
void fs_out_init_fd(fs_out *o, int fd, char *stage, size_t stage_cap);
/* fs_out_init_fd with bounded writes (see stall_ms). */
void fs_out_init_fd_bounded(fs_out *o, int fd, char *stage, size_t stage_cap,
                            int stall_ms);
void fs_out_mem(fs_out *o, const char *s, size_t n);
void fs_out_str(fs_out *o, const char *s);
void fs_out_char(fs_out *o, char c);
/* v in lowercase hex, at least min_digits digits (zero-padded). */
void fs_out_hex(fs_out *o, uint64_t v, int min_digits);
void fs_out_dec(fs_out *o, int64_t v);
/* v in decimal, right-aligned in width columns. */
void fs_out_dec_pad(fs_out *o, int64_t v, int width);
/* Buffer mode: NUL-terminates and returns the length needed.
 * fd mode: flushes and returns 0, or (size_t)-1 if a write failed. */
size_t fs_out_finish(fs_out *o);
/* [AS-safe] write(2) all of buf, retrying on EINTR. 0 or -1. */
int fs_write_all(int fd, const char *buf, size_t n);
/* [AS-safe] Writes all of buf without ever waiting more than stall_ms
 * for the descriptor to take bytes: poll(2) for room, then at most
 * PIPE_BUF bytes per write (a pipe with room takes them at once), or a
 * non-blocking send without SIGPIPE on a socket. The descriptor's flags
 * are not touched (they are shared with whoever else holds it). A reader
 * that is gone (POLLERR, POLLHUP) or a stall ends it. *sock caches
 * whether fd is a socket (start at -1). 0, or -1 when not all was
 * written. A write that still blocks (another thread filled the pipe
 * between the poll and the write) is for the caller's watchdog. */
int fs_write_bounded(int fd, const char *buf, size_t n, int stall_ms,
                     int *sock);

/* [AS-safe] Holds SIGPIPE off the calling thread while it writes where a
 * reader may be gone (a pipe's EPIPE must not end a program by SIGPIPE
 * instead of its own signal). begin blocks SIGPIPE; end discards a
 * SIGPIPE that became pending meanwhile and restores the thread's mask
 * for it. */
typedef struct fs_nopipe {
  sigset_t old;
  int pending; /* a SIGPIPE was pending before begin: not ours */
} fs_nopipe;
void fs_nopipe_begin(fs_nopipe *s);
void fs_nopipe_end(const fs_nopipe *s);

/* [AS-safe] The one decimal and the one hex formatter: v into buf (no
 * NUL), returning the digit count. buf needs 20 (dec) or 16 (hex) bytes;
 * fs_fmt_dec writes a '-' for negative values (21 bytes then). */
int fs_fmt_dec(char *buf, int64_t v);
int fs_fmt_hex(char *buf, uint64_t v, int min_digits);
/* [AS-safe] n bytes as 2n lowercase hex digits, NUL-terminated. */
void fs_hex_bytes(const unsigned char *p, unsigned n, char *out);

/* Little-endian loads from unaligned bytes (the file formats faststack
 * reads are the host's byte order; memcpy compiles to one load). */
static inline uint16_t fs_rd16(const void *p)
{
  uint16_t v;
  __builtin_memcpy(&v, p, 2);
  return v;
}
static inline uint32_t fs_rd32(const void *p)
{
  uint32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}
static inline uint64_t fs_rd64(const void *p)
{
  uint64_t v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

/* Frees a replaced copy-on-write snapshot once no reader announced in
 * *readers can still hold it; waits boundedly, and leaks it when a reader
 * never leaves (one stuck in a handler that never returns) rather than
 * free memory in use. Not AS-safe. */
void fs_retire(void *old, _Atomic int *readers);

/* ------------------------------------------------------------- sort.c
 * Sorts the n elements of size bytes at base by keys[i] (the key of
 * element i), ascending and stable. 0, or -1 when memory runs out (base
 * is then unchanged). */
int fs_sort_keyed(void *base, size_t n, size_t size, const uint64_t *keys);

/* ---------------------------------------------------------- signals.c
 * The one description of signals, for crash reports, recovery reports,
 * thread dumps and the CLI. All [AS-safe]: constant tables. */

/* "SIGSEGV", ...; NULL for a signal without a fixed name (real-time). */
const char *fs_signal_name(int sig);
/* "segmentation violation", ...; "signal" for others. */
const char *fs_signal_desc(int sig);
/* si_code's symbolic name ("SEGV_MAPERR", "SI_USER") and meaning
 * ("address not mapped to object"); name "?" and meaning "unknown" when
 * the code is not one the kernel documents for sig. */
const char *fs_signal_code_name(int sig, int code);
const char *fs_signal_code_desc(int sig, int code);
/* Writes a signal's name ("SIGSEGV", "SIGRTMIN+3", "signal 99"). */
void fs_out_signal(fs_out *o, int sig);
/* Writes "code=1 (SEGV_MAPERR: address not mapped to object)". */
void fs_out_signal_code(fs_out *o, int sig, int code);
/* Is this a fault the CPU raised (not kill/raise/sigqueue)? Then si_addr
 * means something, and returning re-executes the faulting instruction. */
int fs_signal_is_fault(int sig, const siginfo_t *si);
/* "SIGUSR2", "USR2", "12", "SIGRTMIN+3", "RTMAX-1" -> a number; 0 bad.
 * Not AS-safe (reads SIGRTMIN). */
int fs_signal_parse(const char *s);
/* [AS-safe] Ends the process by sig now: default action, unblocked,
 * raised at this thread; _exit(128+sig) if it cannot kill. */
__attribute__((noreturn)) void fs_die_now(int sig);
/* [AS-safe] Passes a signal our handler received on as the kernel would
 * have without us, given the action installed before ours: calls that
 * handler (its mask, SA_RESETHAND, SA_NODEFER), or restores the default
 * action and returns so that the faulting instruction runs again and
 * kills with it (the core shows the fault itself), or raises it (a sent
 * signal, SIGTRAP). An ignored signal sent by kill stays ignored. */
void fs_signal_forward(const struct sigaction *prev, int sig, siginfo_t *si,
                       void *uc);

/* ----------------------------------------------------------- fixup.c
 * Faults faststack's own reads may take, turned into answers: a read of
 * memory another thread may unmap (an object being dlclosed), and files
 * mapped for reading that may be truncated in place. */

/* [AS-safe] Copies n bytes from the address src into dst: 0, or -1 when
 * part of [src, src+n) is not readable (dst is then undefined). With a
 * handler in place (fs_fixup_arm, or the fault sinks') a fault on the
 * copy's loads resumes with the error; without one the kernel copies
 * (process_vm_readv; where that is refused — seccomp, qemu-user — a
 * write into a pipe of its own, which fails with EFAULT). errno is kept. */
int fs_safe_copy(void *dst, uintptr_t src, size_t n);
/* [AS-safe] Are the n (<= 64) bytes at address at readable and equal to
 * bytes? */
int fs_safe_equal(uintptr_t at, const void *bytes, size_t n);
/* [AS-safe] Is the NUL-terminated string at address at readable and equal
 * to s? Reads at most strlen(s) + 1 bytes there. */
int fs_safe_streq(uintptr_t at, const char *s);
/* Registers a read-only file mapping [p, p+n): a SIGBUS in it (the file
 * shrank) replaces its pages from the faulting one to the end by zero
 * pages and marks it changed, instead of killing the process. Returns
 * the slot, or -1 when the registry (8192 mappings) is full. Not
 * AS-safe. */
int fs_fixup_map_add(const void *p, size_t n);
void fs_fixup_map_remove(int slot);
/* [AS-safe] Has the mapping of this slot lost pages to a truncation? */
int fs_fixup_map_changed(int slot);
/* [AS-safe] 1 when the fault (si, uc) was one of the above and has been
 * fixed up (the handler returns and the code resumes), else 0. */
int fs_fixup_fault(int sig, siginfo_t *si, void *uc);
/* Installs a SIGSEGV/SIGBUS handler that applies the fixups and passes
 * every other fault on to the handler installed before it. Idempotent;
 * a no-op once the fault sinks' handlers have adopted the fixups. Not
 * AS-safe. */
void fs_fixup_arm(void);
/* The fault sinks' install: prev is what their handler replaced for sig;
 * if that was the fixups' own handler, prev becomes what it had
 * replaced. From then on the sinks' handler calls fs_fixup_fault. */
void fs_fixup_adopt(int sig, struct sigaction *prev);

/* ------------------------------------------------------------- proc.c
 * System helpers with raw system calls only: all [AS-safe]. */
int fs_gettid(void);
/* Sleeps ms milliseconds (clock_nanosleep is on POSIX's list). */
void fs_sleep_ms(int ms);
/* CLOCK_MONOTONIC / CLOCK_REALTIME in nanoseconds. */
int64_t fs_now_ns(int clock);
/* "/proc/self/task/TID/" + leaf into buf (cap >= 64). */
void fs_task_path(char *buf, int tid, const char *leaf);
/* Thread name from /proc/self/task/TID/comm into buf, with bytes that
 * could break a report's line replaced by '?'. */
void fs_thread_name(int tid, char *buf, size_t cap);
/* Writes 'thread TID "name"'. */
void fs_out_thread(fs_out *o, int tid);
/* Writes the UTC time now as ISO 8601 with milliseconds. */
void fs_out_time(fs_out *o);

#endif /* FASTSTACK_COMMON_H */
