/* fx.h — always-inline helpers so the fixture has inline chains. */
#ifndef FX_H
#define FX_H
extern volatile int fx_sink;
static inline __attribute__((always_inline)) int fx_leaf(int x) {
  fx_sink += x * 3;
  return fx_sink ^ x;
}
static inline __attribute__((always_inline)) int fx_mid(int x) {
  int a = fx_leaf(x + 1);
  fx_sink += a;
  return fx_leaf(a) + 7;
}
#endif
