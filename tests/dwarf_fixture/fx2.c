/* fx2.c — a second unit so the CU index has more than one entry. */
#include "fx.h"
__attribute__((noinline)) int fx_other(int n) {
  return fx_mid(n) * 2 + fx_leaf(n);
}
