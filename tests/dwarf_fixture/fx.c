/* fx.c — fixture for test_dwarf: inline chains across a header. */
#include "fx.h"
volatile int fx_sink;

__attribute__((noinline)) int fx_outer(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) {
    s += fx_mid(i);
    fx_sink = s;
  }
  return s;
}

__attribute__((noinline)) static int fx_static(int n) {
  if (n > 3) return fx_outer(n - 1) + fx_leaf(n);
  return n;
}

int main(int argc, char **argv) {
  (void)argv;
  return fx_static(argc + 4) & 1;
}
