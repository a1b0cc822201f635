// cx2.cpp — a second C++ unit sharing cx.cpp's STL types, so dwz has
// duplicate DIEs to move into partial units (DW_TAG_imported_unit).
#include <vector>
#include <algorithm>
#include <map>
#include <string>
__attribute__((used, noinline)) long cx2_work(int n) {
  std::vector<int> v; for (int i=0;i<n;i++) v.push_back((i*31)%17);
  std::sort(v.begin(), v.end());
  std::map<std::string,int> m; m["k"] = v.empty() ? 0 : v[0];
  return (long)m.size() + (v.empty() ? 0 : v.back());
}
