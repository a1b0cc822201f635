// exc_plain.cpp — an ordinary C++ program, not linked with faststack, run
// under `faststack run` by exc_driver.py:
//   exc_plain uncaught   an exception no catch clause takes
//   exc_plain noexcept   an exception that leaves a noexcept function
//   exc_plain thread     a std::thread destroyed while joinable
#include <cstring>
#include <stdexcept>
#include <thread>

#define NOINLINE __attribute__((noinline))

NOINLINE void plain_throw(int n)
{
  if (n > 0) throw std::runtime_error("plain uncaught"); // THROW:plain_uncaught
}

NOINLINE void plain_middle(int n)
{
  plain_throw(n + 1);
  __asm__ volatile("" ::: "memory");
}

NOINLINE void plain_noexcept(int n) noexcept
{
  plain_middle(n);
  __asm__ volatile("" ::: "memory");
}

NOINLINE void plain_thread(void)
{
  std::thread t([] {});
} // SITE:plain_thread

int main(int argc, char **argv)
{
  const char *c = argc > 1 ? argv[1] : "uncaught";
  if (!std::strcmp(c, "noexcept")) plain_noexcept(argc);
  else if (!std::strcmp(c, "thread")) plain_thread();
  else plain_middle(argc);
  return 0;
}
