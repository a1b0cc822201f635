/* debuginfo.h — bench_symbolize's debug-information section. */
#ifndef BENCH_DEBUGINFO_H
#define BENCH_DEBUGINFO_H

/* Time to first answer and peak RSS of faststack symbolize (fsbin),
 * addr2line and llvm-symbolizer on the dwz'd and .dwp inputs built
 * beside the benchmark in dir; prints a table. */
void bench_debuginfo(const char *fsbin, const char *dir);

#endif
