// exc_nothrow.cpp — a program with no throw expression of its own: only
// libstdc++ throws (std::vector::at). Linked with libfaststack.so, and
// with the static library plus -Wl,--undefined=__cxa_throw (what the CMake
// package's static target adds for C++ programs), it still gets the trace.
#include <cstdio>
#include <vector>

#include "faststack.h"

__attribute__((noinline)) static int lookup(std::vector<int> &v)
{
  return v.at(3); // SITE:nothrow
}

int main()
{
  std::vector<int> v;
  try {
    return lookup(v);
  } catch (...) {
    uintptr_t pcs[16];
    std::printf("nothrow pcs %d\n", faststack_exception_pcs(pcs, 16));
    faststack_format_options o;
    faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
    o.source = 0;
    o.color = 0;
    std::fflush(stdout);
    faststack_print_exception(1, &o);
  }
  return 0;
}
