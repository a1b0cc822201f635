// prof_cxx.cpp — a profile of two template instances, work<1> (70
// samples) and work<2> (30), written with faststack_write_pprof; go tool
// pprof -top must keep them apart (tests/pprof_cxx.sh).
#include <faststack.h>
#include <fcntl.h>
#include <unistd.h>

static faststack_stack_table *table;

template <int N> __attribute__((noinline)) double work(double x)
{
  uintptr_t pcs[64];
  int n = faststack_capture(pcs, 64, 0);
  faststack_stack_table_insert(table, pcs, n, 0, N == 1 ? 70 : 30);
  asm volatile("" ::: "memory");
  return x * N;
}

int main(int argc, char **argv)
{
  if (argc != 2) return 2;
  table = faststack_stack_table_create(0, 0);
  double s = work<1>(1.0) + work<2>(2.0);
  faststack_profile_options o = {};
  o.period = 1000000;
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int rc = fd >= 0 && faststack_write_pprof(fd, table, &o) == 0 ? 0 : 1;
  close(fd);
  return rc + (s < 0);
}
