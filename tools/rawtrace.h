/* rawtrace.h — turning raw trace lines (the library's raw format, and the
 * raw frames of crash reports) back into symbolized, annotated traces:
 * the offline half of `faststack symbolize`. */
#ifndef FASTSTACK_RAWTRACE_H
#define FASTSTACK_RAWTRACE_H

#include <stdint.h>
#include <stdio.h>

#include "faststack.h"

/* One parsed raw frame: "#N  0xPC MODULE+0xOFFSET [build-id=HEX]". */
typedef struct raw_frame {
  uintptr_t pc;    /* the PC as captured */
  uint64_t offset; /* module-relative address to look up (the
                              pc-1 adjustment is already applied) */
  char module[4096];
  char build_id[129]; /* "" when the line has none */
} raw_frame;

/* Parses one line (without its newline). 1 when it is a raw frame with a
 * module, else 0 (a "??" frame or any other text). */
int raw_parse_line(const char *line, raw_frame *out);

/* Where modules and their debug files are looked for (search path, debug
 * dirs, debuginfod, demangling): set once before the first raw_module. */
void raw_set_config(const faststack_symbolizer_config *c);

/* The symbolizer of a raw frame's module, opened on its first frame and
 * kept: the module path when its build-id matches, else found by
 * build-id and base name under the search path, the debug roots, or
 * debuginfod (faststack_symbolizer_open_module). A module that cannot be
 * found gets one warning on stderr (and *missing = 1), then NULL. */
faststack_symbolizer *raw_module(const raw_frame *f, int *missing);
/* Frees the symbolizers raw_module opened. */
void raw_modules_free(void);

/* Reads lines from in and writes them to out, replacing each run of raw
 * frame lines by the same frames symbolized and formatted (format:
 * FASTSTACK_FORMAT_GO, _GIN or _JSON; source: print source lines;
 * context: lines around each, Go format only). Other lines pass through
 * unchanged, so a whole crash report can be piped through. Flushes after
 * every trace. Returns 0, or 1 if a module could not be read. */
int raw_annotate_stream(FILE *in, FILE *out, int format, int source,
                        int context);

#endif
