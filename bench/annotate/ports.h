/* ports.h — C ports of the two Go algorithms the article measures. */
#ifndef BENCH_PORTS_H
#define BENCH_PORTS_H
#include <stddef.h>
#include <stdint.h>

#include "faststack.h"

/* Files opened by the ports (they count their own fopen calls). */
extern unsigned long long port_opens;

/* gin's stack(): every frame, the whole source file read whenever the
 * file differs from the previous frame's. Returns a malloc'ed report. */
char *slowstack(faststack_symbolizer *sym, const uintptr_t *pcs, int n);

/* The article's final faststack(): at most 64 frames, sorted by file and
 * line, each file scanned once up to its last needed line, re-sorted by
 * depth, formatted. Returns a malloc'ed report. */
char *article_faststack(faststack_symbolizer *sym, const uintptr_t *pcs, int n);
#endif
