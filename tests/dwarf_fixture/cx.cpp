// cx.cpp — C++ fixture for test_dwarf: deep STL inline chains, templates.
#include <vector>
#include <algorithm>
#include <map>
#include <string>
#include <cstdio>
namespace ns { template<class T> struct Box { T v; T get() const { return v * 2; } }; }
int main(int argc, char**argv) {
  std::vector<int> v; for (int i=0;i<argc*100;i++) v.push_back((i*7919)%101);
  std::sort(v.begin(), v.end());
  std::map<std::string,int> m; m[argv[0]] = v[0];
  ns::Box<long> b{argc}; printf("%ld %zu\n", b.get(), m.size());
}
