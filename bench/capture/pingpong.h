#ifndef BENCH_PINGPONG_H
#define BENCH_PINGPONG_H
#include <stdint.h>
/* Captures into pcs (capacity max); returns frames stored. */
typedef int (*capture_fn)(uintptr_t *pcs, int max);
int ping(int depth, capture_fn f, uintptr_t *pcs, int max);
int pong(int depth, capture_fn f, uintptr_t *pcs, int max);
#endif
