/* report.h — turning raw trace lines (the library's raw format, and the
 * raw frames of crash reports) back into symbolized, annotated traces:
 * the offline half of `faststack symbolize`, and what the crash
 * handler's symbolizer runs (faststack_symbolize_report). Private to
 * format/ (and its fuzz target); the public API wraps it. */
#ifndef FASTSTACK_REPORT_H
#define FASTSTACK_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "faststack.h"
#include "format/format.h"

/* Parses one line (without its newline). 1 when it is a raw frame with a
 * module, else 0 (a "??" frame or any other text). */
int fs_raw_parse_line(const char *line, faststack_raw_frame *out);

/* faststack_symbolize_report: reads lines from in and writes them to
 * out, every run of raw frame lines symbolized and formatted per opts
 * (NULL: Go with source lines), each module opened per cfg (NULL:
 * defaults) and one warning per module not found to warnings (NULL:
 * none), crash reports and thread dumps as one JSON object each in the
 * JSON format. Returns 0, 1 if a module could not be read, -1 when
 * memory ran out at the start. */
int fs_raw_annotate(FILE *in, FILE *out, const faststack_format_options *opts,
                    const faststack_symbolizer_config *cfg, FILE *warnings);

/* The same with the format's defaults: reads lines from in and writes them to out, replacing each run of raw
 * frame lines by the same frames symbolized and formatted (format:
 * FASTSTACK_FORMAT_GO, _GIN or _JSON; source: print source lines;
 * context: lines around each, Go format only). Other lines pass through
 * unchanged, so a whole crash report can be piped through. Flushes after
 * every trace. Returns 0, or 1 if a module could not be read. */
int fs_raw_annotate_stream(FILE *in, FILE *out, int format, int source,
                           int context);

#endif
