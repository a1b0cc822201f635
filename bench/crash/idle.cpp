// idle.cpp — an idle C++ program for bench_crash's standing cost: it
// starts the C++ runtime (iostream, a thread-safe static, an exception
// thrown and caught), then sleeps for the seconds given (default 1).
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

static const std::string &greeting()
{
  static const std::string g = "idle";
  return g;
}

int main(int argc, char **argv)
{
  try {
    throw std::runtime_error(greeting());
  } catch (const std::exception &e) {
    std::cout << e.what() << std::endl;
  }
  double s = argc > 1 ? std::atof(argv[1]) : 1.0;
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
  return 0;
}
