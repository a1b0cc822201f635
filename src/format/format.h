/* format.h — the format stage: frames as text in the Go, gin, JSON and
 * raw formats (format.c, raw.c), and the one-call trace that runs capture
 * -> symbolize -> annotate -> format (trace.c). Everything writes through
 * fs_out, so the same code fills a caller buffer or streams to a
 * descriptor. What later stages may use beyond the public API: */
#ifndef FASTSTACK_FORMAT_H
#define FASTSTACK_FORMAT_H

#include "annotate/annotate.h"

/* Colour is wanted when asked (color 1), or with color -1 when FORCE_COLOR
 * is set (not "0"), or when writing to a terminal and NO_COLOR is unset.
 * Not AS-safe (getenv, isatty). */
int fs_format_use_color(const faststack_format_options *o, int fd);
/* The environment's part of that decision, read once by callers that
 * decide later in a signal handler: 1 FORCE_COLOR, 0 NO_COLOR, -1 ask the
 * terminal. Not AS-safe. */
int fs_color_env(void);
/* [AS-safe] Is fd a terminal (tcgetattr's ioctl, nothing else)? */
int fs_is_tty(int fd);

/* How frames are written, resolved from the options once per trace. */
typedef struct fs_style {
  int color;                  /* ANSI colours */
  int prune;                  /* pruned names (names.c) */
  int paths;                  /* FASTSTACK_PATHS_* */
  const char *root;           /* _RELATIVE: paths under it lose it */
  size_t root_len;            /* without a trailing '/' */
  const char *hide_modules;   /* comma list; NULL none */
  const char *hide_functions; /* comma list of prefixes; NULL none */
} fs_style;

/* Room for the current directory, the root of relative paths when the
 * options name none. */
#define FS_CWD_MAX 4096

/* The style of opts (NULL: defaults) for a format; color as decided;
 * cwd[0..FS_CWD_MAX) holds the current directory when it is the root (st
 * points into it). Not AS-safe (getcwd). */
void fs_style_init(fs_style *st, const faststack_format_options *opts,
                   int color, char *cwd);
/* Mixes everything in st that changes text into h (the trace cache's
 * key). */
uint64_t fs_style_hash(const fs_style *st, uint64_t h);
/* [AS-safe] Is the frame hidden by st's module and function filters? */
int fs_frame_hidden(const fs_style *st, const faststack_frame *f);

/* [AS-safe] name as people read it (names.c): pruned when asked (std::
 * typedefs restored, default template arguments dropped, library
 * helpers' template arguments shortened, no return type), else as is. */
void fs_name_write(fs_out *o, const char *name, int pruned);
/* [AS-safe] The pruned name into out[0..cap), NUL-terminated; returns
 * its length (the name as is when it cannot be pruned). */
size_t fs_name_prune(const char *name, char *out, size_t cap);
/* [AS-safe] Does a demangled name end with its own parameter list
 * ("f(int) const")? Then Go style prints no "(...)" after it. */
int fs_name_has_params(const char *name);

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
 * "(...)" only when the name has no parameter list of its own. l may be
 * NULL. Filters are the caller's (fs_frame_hidden). */
void fs_format_go_frame(fs_out *o, const faststack_frame *f,
                        const faststack_source_line *l, const fs_style *st);
/* [AS-safe] One frame in opts->format (Go or gin); filters are the
 * caller's. */
void fs_format_frame(fs_out *o, const faststack_frame *f,
                     const faststack_source_line *l,
                     const faststack_format_options *opts, const fs_style *st);
/* [AS-safe] Go style with context lines ctx[0..nctx). */
void fs_format_context_frame(fs_out *o, const faststack_frame *f,
                             const faststack_source_line *ctx, int nctx,
                             const fs_style *st);
/* [AS-safe once the style is resolved] faststack_format_frames into o. */
void fs_format_frames_out(fs_out *o, const faststack_frame *frames, int n,
                          const faststack_source_line *lines, int elided_pcs,
                          const faststack_format_options *opts,
                          const fs_style *st);
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
