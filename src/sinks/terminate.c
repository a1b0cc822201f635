/* terminate.c — the std::terminate handler: what ended the program.
 *
 * libstdc++'s own handler prints the type of an uncaught exception and
 * its what(), then aborts. This one prints the same facts in the
 * library's words plus the trace recorded where the exception was thrown
 * (exceptions.c), or, for a terminate with no exception, the reason when
 * it can be told (a std::thread destroyed while joinable, a pure virtual
 * call, `throw;` with nothing to rethrow) and where it was called. Then it
 * ends the process as libstdc++ would: abort(), so SIGABRT, its exit
 * status and its core; a handler the program had installed before is
 * called instead, after the report.
 *
 * The reason is read from the caller's stack, by function name: the
 * runtime calls the handler from __cxa_throw, __cxa_rethrow or
 * std::rethrow_exception when no catch clause matched; from inside the
 * personality routine (__gxx_personality_v0, mid-unwinding) when the
 * exception reached a frame that must not throw — a noexcept function,
 * or a destructor run by the unwinding itself; clang-compiled code calls
 * __clang_call_terminate from the noexcept function's landing pad. These
 * names are in libstdc++'s dynamic symbol table, so no debug information
 * is needed to tell them. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sinks/sinks.h"

typedef void (*handler_fn)(void);
typedef handler_fn (*set_terminate_fn)(handler_fn);

static _Atomic int wanted, installed;
static handler_fn prev_handler;
static _Atomic int reporter; /* tid of the thread writing the report */

enum why {
  WHY_UNKNOWN = 0,
  WHY_UNCAUGHT,      /* no catch clause matched */
  WHY_NOEXCEPT,      /* it reached a frame that must not throw */
  WHY_NOEXCEPT_AT,   /* the same, the next frame being that function */
  WHY_THREAD_DTOR,   /* std::thread destroyed while joinable */
  WHY_THREAD_ASSIGN, /* a joinable std::thread assigned to */
  WHY_PURE,          /* a pure virtual function called */
  WHY_DELETED,       /* a deleted virtual function called */
};

/* Names on the stack between std::terminate and the code that caused
 * it, innermost first; the first found decides. */
static const struct {
  const char *name;
  enum why why;
} marks[] = {
    {"__gxx_personality_v0", WHY_NOEXCEPT},
    {"__cxa_call_terminate", WHY_NOEXCEPT},
    {"__clang_call_terminate", WHY_NOEXCEPT_AT},
    {"__cxa_throw", WHY_UNCAUGHT},
    {"__cxa_rethrow", WHY_UNCAUGHT},
    {"std::rethrow_exception", WHY_UNCAUGHT},
    {"std::thread::~thread", WHY_THREAD_DTOR},
    {"std::thread::operator=", WHY_THREAD_ASSIGN},
    {"__cxa_pure_virtual", WHY_PURE},
    {"__cxa_deleted_virtual", WHY_DELETED},
};

/* Frames looked at for the reason: the runtime's own few, then the
 * caller. */
#define FS_WHY_FRAMES 16

static int name_is(const char *fn, const char *name)
{
  size_t n = strlen(name);
  return fn && !strncmp(fn, name, n) && (fn[n] == '\0' || fn[n] == '(');
}

static int in_cxx_runtime(uintptr_t pc)
{
  faststack_module m;
  if (!faststack_module_find(pc - 1, &m)) return 0;
  const char *base = strrchr(m.path, '/');
  base = base ? base + 1 : m.path;
  return !strncmp(base, "libstdc++", 9);
}

/* Why terminate was called, from pcs (the handler's callers). *at gets
 * the frame the report points to: the one that caused it. */
static enum why classify(const uintptr_t *pcs, int n, int *at)
{
  faststack_symbolizer *sym = faststack_default_symbolizer();
  faststack_frame fr[8];
  char strbuf[2048];
  *at = -1;
  for (int i = 0; sym && i < n && i < FS_WHY_FRAMES; i++) {
    int k = faststack_symbolize(sym, pcs[i], 0, fr, 8, strbuf, sizeof strbuf);
    for (int j = 0; j < k; j++)
      for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++)
        if (name_is(fr[j].function, marks[m].name)) {
          *at = marks[m].why == WHY_NOEXCEPT_AT ? i + 1 : i;
          return marks[m].why;
        }
    if (*at < 0 && !in_cxx_runtime(pcs[i])) *at = i;
  }
  if (*at < 0) *at = 0;
  return WHY_UNKNOWN;
}

/* "F (file:line)" of the frame at pc. */
static void out_function(fs_out *o, uintptr_t pc)
{
  faststack_frame fr[8];
  char strbuf[2048];
  faststack_symbolizer *sym = faststack_default_symbolizer();
  int k =
      sym ? faststack_symbolize(sym, pc, 0, fr, 8, strbuf, sizeof strbuf) : 0;
  /* The innermost frame: an inlined noexcept function is the one. */
  fs_out_str(o, k > 0 && fr[0].function ? fr[0].function : "??");
  if (k > 0 && fr[0].file) {
    fs_out_str(o, " (");
    fs_out_str(o, fr[0].file);
    fs_out_char(o, ':');
    fs_out_dec(o, fr[0].line);
    fs_out_char(o, ')');
  }
}

static void out_reason(fs_out *o, enum why why, int have, const uintptr_t *pcs,
                       int n, int at)
{
  switch (why) {
  case WHY_NOEXCEPT:
    fs_out_str(o, "it left a noexcept function, or a destructor run while "
                  "another exception was unwinding\n");
    return;
  case WHY_NOEXCEPT_AT:
    fs_out_str(o, "it left the noexcept function ");
    if (at < n) out_function(o, pcs[at]);
    else fs_out_str(o, "??");
    fs_out_char(o, '\n');
    return;
  case WHY_THREAD_DTOR:
    fs_out_str(o, ": a std::thread was destroyed while still joinable (it "
                  "was neither joined nor detached)");
    return;
  case WHY_THREAD_ASSIGN:
    fs_out_str(o, ": a std::thread was assigned to while still joinable");
    return;
  case WHY_PURE:
    fs_out_str(o, ": a pure virtual function was called (an object used "
                  "while being constructed or destroyed, or after)");
    return;
  case WHY_DELETED:
    fs_out_str(o, ": a deleted virtual function was called");
    return;
  case WHY_UNCAUGHT:
    if (!have) fs_out_str(o, ": `throw;` with no exception being handled");
    return;
  case WHY_UNKNOWN:
    if (have && at < n) {
      fs_out_str(o, "std::terminate was called while it was being handled, "
                    "by ");
      out_function(o, pcs[at]);
      fs_out_char(o, '\n');
    }
    return;
  }
}

static void report(const uintptr_t *pcs, int n)
{
  void *obj = NULL;
  const void *type = NULL;
  int have = fs_exc_current(&obj, &type);
  int at;
  enum why why = classify(pcs, n, &at);
  faststack_format_options opts;
  faststack_format_options_init(&opts, FASTSTACK_FORMAT_GO);
  opts.color = 0;
  int fd = fs_output_open();
  char stage[4096];
  fs_out o;
  fs_out_init_fd(&o, fd, stage, sizeof stage);
  if (have) {
    fs_out_str(&o, "terminate called after throwing ");
    fs_exc_describe(&o, obj, type, 0);
    fs_out_char(&o, '\n');
    out_reason(&o, why, have, pcs, n, at);
    fs_exc_write_trace(&o, obj, &opts);
  } else {
    fs_out_str(&o, "terminate called without an active exception");
    out_reason(&o, why, have, pcs, n, at);
    fs_out_char(&o, '\n');
    char head[96];
    fs_out h;
    fs_out_init_buf(&h, head, sizeof head);
    fs_out_str(&h, "std::terminate called in ");
    fs_out_thread(&h, fs_gettid());
    fs_out_char(&h, ':');
    fs_out_finish(&h);
    opts.header = head;
  }
  fs_out_finish(&o);
  if (!have && at < n) faststack_write_trace(fd, pcs + at, n - at, 0, &opts);
  fs_output_close(fd);
}

static void on_terminate(void)
{
  int me = fs_gettid();
  int owner = 0;
  if (!atomic_compare_exchange_strong(&reporter, &owner, me)) {
    /* Another thread's report ends the process: wait for that, within
     * bounds. A terminate inside this thread's own report (a what()
     * that terminates) ends it now. */
    if (owner != me)
      for (int i = 0; i < 2000; i++) fs_sleep_ms(5);
    abort();
  }
  uintptr_t pcs[128];
  int n = faststack_capture(pcs, 128, 1);
  report(pcs, n);
  handler_fn prev = prev_handler;
  if (prev) prev();
  abort();
}

static void try_install(void)
{
  static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_mutex_lock(&mu);
  if (!atomic_load(&installed) && fs_exc_enabled() == 1) {
    set_terminate_fn set =
        (set_terminate_fn)fs_cxx_sym("_ZSt13set_terminatePFvvE");
    handler_fn verbose =
        (handler_fn)fs_cxx_sym("_ZN9__gnu_cxx27__verbose_terminate_handlerEv");
    if (set) {
      handler_fn old = set(on_terminate);
      /* libstdc++'s own handler would print the same facts again; a
       * program's own handler gets its turn after the report. */
      if (old != on_terminate && old != verbose && old != (handler_fn)abort)
        prev_handler = old;
      atomic_store(&installed, 1);
    }
  }
  pthread_mutex_unlock(&mu);
}

void fs_terminate_install(void)
{
  atomic_store(&wanted, 1);
  try_install();
}

void fs_terminate_retry(void)
{
  if (FS_LIKELY(atomic_load_explicit(&installed, memory_order_relaxed) ||
                !atomic_load_explicit(&wanted, memory_order_relaxed)))
    return;
  try_install();
}

int fs_terminate_reported(void)
{
  return atomic_load_explicit(&reporter, memory_order_relaxed) != 0;
}
