/* format.h — the format stage: frames as text in the Go, gin, JSON and
 * raw formats (format.c, raw.c), and the one-call trace that runs capture
 * -> symbolize -> annotate -> format (trace.c). Everything writes through
 * fs_out, so the same code fills a caller buffer or streams to a
 * descriptor. What later stages may use beyond the public API: */
#ifndef FASTSTACK_FORMAT_H
#define FASTSTACK_FORMAT_H

#include "annotate/annotate.h"

/* Colour is wanted when asked, or when writing to a terminal and NO_COLOR
 * is unset. Not AS-safe (getenv, isatty). */
int fs_format_use_color(const faststack_format_options *o, int fd);

/* [AS-safe] Which of n PCs print when at most max do (max <= 0: 100):
 * all (head = n, tail = 0), or the innermost (max+1)/2 and the outermost
 * max/2, like Go's traceback. */
void fs_elide_plan(int n, int max, int *head, int *tail);
/* [AS-safe] "...N frames elided...\n" */
void fs_format_elided(fs_out *o, int64_t elided);

/* [AS-safe] The trace's first line for the Go and gin formats (none for
 * gin unless opts->header is set). */
void fs_format_header(fs_out *o, const faststack_format_options *opts,
                      int color);

/* [AS-safe] The one Go-style frame writer, for every path that prints Go
 * style — faststack_print_stack, the one-call trace, the CLI and the
 * crash handler — so that a frame prints the same everywhere:
 *   function(...)            or  function(...) (inlined)
 *   \tfile:line +0xoffset        \tfile:line
 *   \t    source line            (when l has text or a note)
 * l may be NULL. */
void fs_format_go_frame(fs_out *o, const faststack_frame *f,
                        const faststack_source_line *l, int color);
/* [AS-safe] One frame in opts->format (Go or gin). */
void fs_format_frame(fs_out *o, const faststack_frame *f,
                     const faststack_source_line *l,
                     const faststack_format_options *opts, int color);
/* [AS-safe] Go style with context lines ctx[0..nctx). */
void fs_format_context_frame(fs_out *o, const faststack_frame *f,
                             const faststack_source_line *ctx, int nctx,
                             int color);
/* [AS-safe once color is resolved] faststack_format_frames into o. */
void fs_format_frames_out(fs_out *o, const faststack_frame *frames, int n,
                          const faststack_source_line *lines, int elided_pcs,
                          const faststack_format_options *opts, int color);
/* [AS-safe] s as a JSON string (null for NULL): quotes, backslashes and
 * control bytes escaped, invalid UTF-8 as \u00XX. */
void fs_json_str(fs_out *o, const char *s);

/* [AS-safe] The address a frame is looked up at: return addresses point
 * after the call, so one back, into it; the exact PC of a ucontext
 * capture's first entry as it is. */
uintptr_t fs_lookup_pc(const uintptr_t *pcs, int i, unsigned flags);
/* [AS-safe] One raw line: "#i 0xPC module+0xOFFSET build-id=..." for the
 * frame looked up at `at` in module m (NULL: in no module, "??"). */
void fs_raw_frame(fs_out *o, int64_t i, uintptr_t pc, uintptr_t at,
                  const faststack_module *m);
/* [AS-safe] The raw format of pcs[0..n) into o. */
void fs_raw_trace(fs_out *o, const uintptr_t *pcs, int n, unsigned flags);

#endif /* FASTSTACK_FORMAT_H */
