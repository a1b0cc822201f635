// exc_cases.cpp — C++ exceptions through faststack, linked with the static
// library (its own throws pull the interposers in). Run by exc_driver.py,
// which checks what each case prints against the THROW:/SITE: markers:
//   exc_cases all           every in-process case, one "== NAME" block
//                           each (the recorded trace's frames, resolved
//                           here, then faststack_print_exception's text)
//   exc_cases uncaught      crash handler installed, an uncaught throw
//   exc_cases own_handler   the program's terminate handler first, then
//                           faststack_crash_install, an uncaught throw
//   exc_cases off           FASTSTACK_EXCEPTIONS=0 expected: nothing recorded
// Functions are noinline so each is a frame of its own.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "faststack.h"

extern "C" long fs_exc_live_records(void);
extern "C" void lib_throw(int);

#define NOINLINE __attribute__((noinline))

static int failures;

static void fail(const char *what)
{
  std::printf("FAIL: %s\n", what);
  failures++;
}

// The recorded trace of the exception being handled, one frame a line:
// "fN function basename:line" (the innermost frame of each PC).
static void show_pcs(int max_frames)
{
  uintptr_t pcs[FASTSTACK_EXCEPTION_MAX_PCS];
  int n = faststack_exception_pcs(pcs, FASTSTACK_EXCEPTION_MAX_PCS);
  std::printf("pcs %d\n", n);
  faststack_symbolizer *s = faststack_default_symbolizer();
  for (int i = 0; i < n && i < max_frames; i++) {
    faststack_frame fr[16];
    char buf[4096];
    int k = faststack_symbolize(s, pcs[i], 0, fr, 16, buf, sizeof buf);
    for (int j = 0; j < k; j++) { // the inline chain, innermost first
      const char *file = fr[j].file ? fr[j].file : "??";
      const char *base = std::strrchr(file, '/');
      std::printf("f%d %s %s:%d\n", i, fr[j].function ? fr[j].function : "??",
                  base ? base + 1 : file, fr[j].line);
    }
  }
}

static void show(const char *name, int max_frames = 6)
{
  std::printf("== %s\n", name);
  show_pcs(max_frames);
  std::fflush(stdout);
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  o.source = 0;
  o.color = 0;
  if (faststack_print_exception(1, &o) != 0) std::printf("print: -1\n");
  std::printf("== end\n");
  std::fflush(stdout);
}

// ------------------------------------------------------------ deep

NOINLINE void deep_c(int x)
{
  if (x >= 0) throw std::runtime_error("deep failure"); // THROW:deep
}
NOINLINE void deep_b(int x)
{
  deep_c(x + 1);
  std::puts("not reached");
}
NOINLINE void deep_a(int x)
{
  deep_b(x + 1);
  std::puts("not reached");
}

// ------------------------------------------------------------ rethrow

NOINLINE void re_c(void)
{
  throw std::logic_error("original site"); // THROW:rethrow
}
NOINLINE void re_b(void)
{
  try {
    re_c();
  } catch (...) {
    throw; // SITE:rethrow_again
  }
}

// ------------------------------------------------------------ threads

NOINLINE void th_throw(void)
{
  throw std::runtime_error("from the worker"); // THROW:thread
}

static std::exception_ptr carried;
static std::atomic<int> worker_tid;

NOINLINE void th_worker(void)
{
  worker_tid = gettid();
  try {
    th_throw();
  } catch (...) {
    carried = std::current_exception();
  }
}

NOINLINE void th_rethrower(void)
{
  try {
    std::rethrow_exception(carried); // SITE:thread_rethrow
  } catch (const std::exception &) {
    std::printf("worker %d\n", worker_tid.load());
    show("thread");
  }
}

// ------------------------------------------------------------ nested

NOINLINE void nest_inner(void)
{
  throw std::out_of_range("inner"); // THROW:nest_inner
}
NOINLINE void nest_outer(void)
{
  throw std::invalid_argument("outer"); // THROW:nest_outer
}

NOINLINE void nested(void)
{
  try {
    nest_outer();
  } catch (const std::invalid_argument &) {
    try {
      nest_inner();
    } catch (const std::out_of_range &) {
      show("nested_inner");
    }
    show("nested_outer");
  }
}

// ------------------------------------------------------------ the rest

NOINLINE void mk_rethrow(std::exception_ptr p)
{
  std::rethrow_exception(p); // SITE:make_ptr
}

NOINLINE int vec_at(std::vector<int> &v)
{
  return v.at(7); // SITE:vector_at
}

struct Other {
  virtual ~Other()
  {
  }
  long pad = 1;
};
// std::exception is not the first base: what() needs the adjusted pointer.
struct Multi : Other, std::runtime_error {
  Multi() : std::runtime_error("multi what")
  {
  }
};
struct plain_error {
  int code;
};

NOINLINE void throw_multi(void)
{
  throw Multi(); // THROW:multi
}
NOINLINE void throw_int(void)
{
  throw 42; // THROW:int
}
NOINLINE void throw_plain(void)
{
  throw plain_error{7}; // THROW:plain
}

// Many threads throwing at once, each checking that the trace it reads is
// its own throw's: the record table under contention.
NOINLINE void race_throw(int id)
{
  throw std::runtime_error(std::to_string(id)); // THROW:race
}

static void race(void)
{
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; t++)
    ts.emplace_back([t, &bad] {
      faststack_symbolizer *s = faststack_default_symbolizer();
      for (int i = 0; i < 3000; i++) {
        int id = t * 100000 + i;
        try {
          race_throw(id);
        } catch (const std::runtime_error &e) {
          uintptr_t pcs[8];
          int n = faststack_exception_pcs(pcs, 8);
          if (std::atoi(e.what()) != id || n < 2) bad++;
          else if (i % 500 == 0) {
            faststack_frame fr[8];
            char buf[2048];
            int k = faststack_symbolize(s, pcs[0], 0, fr, 8, buf, sizeof buf);
            if (k < 1 || !fr[0].function ||
                std::strcmp(fr[0].function, "race_throw(int)"))
              bad++;
          }
        }
      }
    });
  for (auto &t : ts) t.join();
  std::printf("race bad %d\n", bad.load());
}

// Not static: g++ names a static function without its parameters.
NOINLINE void all(void)
{
  uintptr_t pcs[4];
  if (faststack_exception_pcs(pcs, 4) != 0) fail("pcs outside a catch");
  if (faststack_print_exception(1, nullptr) != -1) fail("print outside");
  try {
    deep_a(0);
  } catch (const std::exception &) {
    show("deep");
  }
  try {
    re_b();
  } catch (const std::exception &) {
    show("rethrow");
  }
  std::thread(th_worker).join();
  std::thread(th_rethrower).join();
  if (fs_exc_live_records() != 1) fail("the carried exception's record");
  carried = nullptr;
  if (fs_exc_live_records() != 0) fail("record freed with the exception");
  try {
    lib_throw(3);
  } catch (const std::exception &) {
    show("lib");
  }
  nested();
  std::exception_ptr made =
      std::make_exception_ptr(std::runtime_error("made, not thrown"));
  try {
    mk_rethrow(made);
  } catch (const std::exception &) {
    show("make_ptr");
  }
  made = nullptr;
  std::vector<int> v;
  try {
    vec_at(v);
  } catch (const std::exception &) {
    show("vector_at", 12);
  }
  try {
    throw_multi();
  } catch (const Other &) {
    show("multi");
  }
  try {
    throw_int();
  } catch (int) {
    show("int");
  }
  try {
    throw_plain();
  } catch (const plain_error &) {
    show("plain");
  }
  race();
  if (faststack_exception_pcs(pcs, 4) != 0) fail("pcs after the catches");
  std::printf("live %ld\n", fs_exc_live_records());
}

// ------------------------------------------------------------ terminate

NOINLINE void linked_uncaught(void)
{
  throw std::runtime_error("linked uncaught"); // THROW:linked_uncaught
}

static void own_handler(void)
{
  std::fputs("own handler called\n", stderr);
  _exit(3);
}

int main(int argc, char **argv)
{
  const char *c = argc > 1 ? argv[1] : "all";
  if (!std::strcmp(c, "all")) {
    all();
  } else if (!std::strcmp(c, "uncaught")) {
    faststack_crash_install(nullptr);
    linked_uncaught();
  } else if (!std::strcmp(c, "own_handler")) {
    std::set_terminate(own_handler);
    faststack_crash_install(nullptr);
    linked_uncaught();
  } else if (!std::strcmp(c, "off")) {
    try {
      deep_a(0);
    } catch (...) {
      uintptr_t pcs[4];
      std::printf("off pcs %d print %d live %ld\n",
                  faststack_exception_pcs(pcs, 4),
                  faststack_print_exception(1, nullptr), fs_exc_live_records());
    }
  }
  std::printf("failures %d\n", failures);
  return failures ? 1 : 0;
}
