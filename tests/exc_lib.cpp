// exc_lib.cpp — a shared library that throws, for exc_cases' "lib" case.
#include <stdexcept>

__attribute__((noinline)) static void lib_throw_inner(int n)
{
  if (n > 0) throw std::range_error("from the library"); // THROW:lib
}

extern "C" __attribute__((noinline, visibility("default"))) void
lib_throw(int n)
{
  lib_throw_inner(n);
  __asm__ volatile("" ::: "memory");
}
