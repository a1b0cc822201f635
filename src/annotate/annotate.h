/* annotate.h — the annotate stage: the source line at each frame
 * (faststack_annotate and the source providers in the public header).
 * What later stages may use beyond the public API: reading one line with
 * no allocation, for the crash handler. */
#ifndef FASTSTACK_ANNOTATE_H
#define FASTSTACK_ANNOTATE_H

#include "symbolize/symbolize.h"

/* [AS-safe] Line `line` of file into buf[0..cap) (NUL-terminated, control
 * bytes as spaces, cut at cap-1): open/read/close only, non-blocking (a
 * FIFO never blocks), and no cache. 1 when the line exists and is not
 * empty; 0 otherwise (missing file, binary file, past the end). */
int fs_source_line_now(const char *file, int line, char *buf, size_t cap);

/* [AS-safe] 1 when file was modified after module (their mtimes, with
 * stat): a line read from it now may not be the code that runs. 0 when
 * it is not, or either cannot be stat'ed. */
int fs_source_newer_now(const char *file, const char *module);

#endif /* FASTSTACK_ANNOTATE_H */
