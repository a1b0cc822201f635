// exc_static.cpp — a program that links libstdc++ statically
// (-static-libstdc++) and faststack's static library. libstdc++'s own
// definitions of the interposed functions must win (nothing recorded) and
// every throw must still work: with only faststack's weak definitions in
// the link there would be nothing to pass a throw on to.
#include <cstdio>
#include <exception>
#include <stdexcept>

#include "faststack.h"

__attribute__((noinline)) static void thrower(int n)
{
  if (n > 0) throw std::runtime_error("static runtime");
}

int main(int argc, char **)
{
  int caught = 0, again = 0;
  try {
    thrower(argc);
  } catch (const std::exception &) {
    caught = 1;
    try {
      throw;
    } catch (...) {
      again = 1;
    }
  }
  std::exception_ptr p = std::make_exception_ptr(std::logic_error("p"));
  int ptr = 0;
  try {
    std::rethrow_exception(p);
  } catch (const std::logic_error &) {
    ptr = 1;
  }
  uintptr_t pcs[4];
  std::printf("static: caught %d rethrown %d ptr %d pcs %d\n", caught, again,
              ptr, faststack_exception_pcs(pcs, 4));
  return 0;
}
