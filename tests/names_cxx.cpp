// names_cxx.cpp — C++ frames as the Go format prints them
// (tests/names_cxx.sh): a lambda inlined into std::sort, named with its
// enclosing function; pruned names; the filters.
#include <faststack.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

static int printed;

void sorter(std::vector<int> &xs, const std::map<std::string, int> &m)
{
  std::sort(xs.begin(), xs.end(), [&](int a, int b) {
    if (!printed++) faststack_print_stack(1, 0, nullptr); // LAMBDA
    return a + (int)m.size() < b;
  });
}

int main()
{
  std::vector<int> xs = {5, 3, 1, 2, 7};
  std::map<std::string, int> m;
  sorter(xs, m);
  return 0;
}
