/* internal.h — declarations shared between faststack's source files.
 * Nothing here is exported: the library is built with -fvisibility=hidden
 * and only FASTSTACK_API names in include/faststack.h are visible. */
#ifndef FASTSTACK_INTERNAL_H
#define FASTSTACK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "faststack.h"

#define FS_LIKELY(x) __builtin_expect(!!(x), 1)
#define FS_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* The walkers read other frames' stack slots on purpose; sanitizers must
 * not treat that as a bug (the reads are bounds-checked by hand). */
#define FS_NO_SANITIZE \
  __attribute__((no_sanitize("address", "undefined", "thread")))

/* Load-time setup lives in init.c. A static link only pulls in objects
 * whose symbols are referenced, so every file that relies on that setup
 * says FS_REQUIRE_INIT; once, at file scope. */
extern const char fs_init_anchor;
#define FS_REQUIRE_INIT                                                   \
  __attribute__((used)) static const char *const fs_require_init_ =      \
      &fs_init_anchor

/* ---------------------------------------------------------------- out.c
 * [AS-safe] A small text writer used by every formatter: it appends into a
 * caller buffer (truncating, counting what the full text needs) or, when
 * fd >= 0, into a fixed buffer flushed to fd with write(2). */
typedef struct fs_out {
  char *buf;     /* destination, or the staging buffer when fd >= 0 */
  size_t cap;    /* capacity of buf */
  size_t len;    /* bytes in buf (fd mode) or bytes needed so far */
  int fd;        /* -1: buffer mode */
  int failed;    /* a write(2) failed */
} fs_out;

void fs_out_init_buf(fs_out *o, char *buf, size_t cap);
void fs_out_init_fd(fs_out *o, int fd, char *stage, size_t stage_cap);
void fs_out_mem(fs_out *o, const char *s, size_t n);
void fs_out_str(fs_out *o, const char *s);
void fs_out_char(fs_out *o, char c);
void fs_out_hex(fs_out *o, uint64_t v, int min_digits);
void fs_out_dec(fs_out *o, int64_t v);
/* Buffer mode: NUL-terminates and returns the length needed.
 * fd mode: flushes and returns 0, or (size_t)-1 if a write failed. */
size_t fs_out_finish(fs_out *o);
/* [AS-safe] write(2) all of buf, retrying on EINTR. 0 or -1. */
int fs_write_all(int fd, const char *buf, size_t n);

/* ---------------------------------------------------------------- sort.c
 * Sorts the n elements of size bytes at base by keys[i] (the key of
 * element i), ascending and stable. 0, or -1 when memory runs out (base
 * is then unchanged). */
int fs_sort_keyed(void *base, size_t n, size_t size, const uint64_t *keys);

/* ---------------------------------------------------------- stackbounds.c
 * The stack region a frame walk may read: [lo, hi). */
typedef struct fs_region {
  uintptr_t lo, hi;
} fs_region;

/* [AS-safe] The readable region holding sp: the calling thread's stack
 * from a per-thread cache, else the mapping that holds sp, read from
 * /proc/self/maps with raw syscalls. Returns 0 (and an empty region) when
 * it cannot be determined. */
int fs_stack_region(uintptr_t sp, fs_region *out);

/* [AS-safe] fs_stack_region past its cache: /proc/self/maps. */
int fs_stack_region_scan(uintptr_t sp, fs_region *out);

/* The per-thread cache of fs_stack_region (stackbounds.c). */
typedef struct fs_tls_stack {
  uintptr_t lo, hi;
  int valid; /* written last: a signal arriving mid-update sees 0 */
} fs_tls_stack;
extern __thread fs_tls_stack fs_tls_stack_cache
    __attribute__((tls_model("initial-exec")));

/* [AS-safe] fs_stack_region with its common case inline: sp on this
 * thread's cached stack. */
static inline int fs_stack_region_inline(uintptr_t sp, fs_region *out)
{
  if (FS_LIKELY(fs_tls_stack_cache.valid)) {
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (sp >= fs_tls_stack_cache.lo && sp < fs_tls_stack_cache.hi) {
      out->lo = fs_tls_stack_cache.lo;
      out->hi = fs_tls_stack_cache.hi;
      return 1;
    }
  }
  return fs_stack_region_scan(sp, out);
}
/* [AS-safe] Scans /proc/self/maps for the mapping holding addr. */
int fs_maps_find(uintptr_t addr, fs_region *out, int *readable, int *exec);
/* Called by the library constructor on the loading thread. */
void fs_stack_init_main(void);

/* ---------------------------------------------------------------- unwind
 * A frame walk's register state. pc is the frame's PC; sp its stack
 * pointer; fp its frame pointer (rbp). */
typedef struct fs_cursor {
  uintptr_t pc, sp, fp;
  fs_region region;       /* stack region the walk currently reads */
  /* [lo, hi) of the last object a return address was validated in: most
   * frames are in the same object as the previous one. */
  uintptr_t code_lo, code_hi;
} fs_cursor;

/* Result of one unwind step. */
enum {
  FS_STEP_END = 0,        /* no valid caller: the walk ends */
  FS_STEP_OK = 1,         /* cursor moved to the caller; pc is a return
                             address */
  FS_STEP_SIGNAL = 2,     /* cursor moved into the frame interrupted by a
                             signal; pc is exact */
};

/* Unwind strategies (FASTSTACK_UNWIND). */
enum { FS_UNWIND_AUTO = 0, FS_UNWIND_FP = 1, FS_UNWIND_CFI = 2 };
extern int fs_unwind_mode;

/* [AS-safe] Frame-pointer rule (unwind_fp.c). */
int fs_fp_step(fs_cursor *c);
/* [AS-safe] Is pc inside a loaded object? Caches the object's range in the
 * cursor. */
int fs_code_valid(fs_cursor *c, uintptr_t pc);
/* [AS-safe] If pc is the start of the x86-64 rt_sigreturn trampoline, moves
 * the cursor to the interrupted context saved at c->sp and returns 1. */
int fs_signal_frame_step(fs_cursor *c);
/* [AS-safe] Walks from cursor c, storing up to max PCs after skipping
 * skip frames. The cursor's current frame itself is not stored. */
int fs_walk(fs_cursor *c, uintptr_t *pcs, int max, int skip);

/* ---------------------------------------------------------------- modules.c */
void fs_modules_init(void);
/* Path of the main executable (resolved at load time); "" if unknown. */
const char *fs_exe_path(void);
/* Changes whenever an object is loaded or unloaded (dl_iterate_phdr's
 * adds and subs counters). Not AS-safe. */
unsigned long long fs_modules_generation(void);
/* [AS-safe] The build-id bytes of the object mapped at [start, end) with
 * the given bias, read from its mapped program headers and notes
 * (bounds-checked against the mapping), and their count; NULL if none. */
const unsigned char *fs_mapped_build_id(uintptr_t start, uintptr_t end,
                                        uintptr_t bias, unsigned *len);
/* [AS-safe] Changes whenever the module snapshot is replaced (so does
 * anything derived from faststack_module_find's answers). */
uint64_t fs_modules_snapshot_id(void);

/* ------------------------------------------------------------ format_raw.c */
/* [AS-safe] One raw line: "#i 0xPC module+0xOFFSET build-id=..." for the
 * frame looked up at `at` in module m (NULL: in no module, "??"). */
void fs_raw_frame(fs_out *o, int64_t i, uintptr_t pc, uintptr_t at,
                  const faststack_module *m);
/* [AS-safe] The raw format of pcs[0..n) into o. */
void fs_raw_trace(fs_out *o, const uintptr_t *pcs, int n, unsigned flags);

/* ---------------------------------------------------------------- format.c */
void fs_format_frames_out(fs_out *o, const faststack_frame *frames, int n,
                          const faststack_source_line *lines, int elided_pcs,
                          const faststack_format_options *opts, int fd);
void fs_format_context_frame(fs_out *o, const faststack_frame *f,
                             const faststack_source_line *ctx, int nctx,
                             const faststack_format_options *opts, int fd);
void fs_json_str(fs_out *o, const char *s);
/* Pieces of the Go and gin formats, for trace.c (color: resolved). */
void fs_format_header(fs_out *o, const faststack_format_options *opts,
                      int color);
void fs_format_frame(fs_out *o, const faststack_frame *f,
                     const faststack_source_line *l,
                     const faststack_format_options *opts, int color);
void fs_format_elided(fs_out *o, int elided);
int fs_format_use_color(const faststack_format_options *o, int fd);

#endif /* FASTSTACK_INTERNAL_H */
