/* rawtrace.c — raw trace lines back into annotated traces (rawtrace.h).
 *
 * A crash handler can always print raw frames (module, offset, build-id)
 * without symbols; this is where a person turns them into the real
 * thing, on any machine that has the binaries or their debug files. */
#define _GNU_SOURCE
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faststack.h"
#include "rawtrace.h"

#define RAW_INLINE_MAX 16
#define RAW_STR_PER_LINE 4096
/* Files kept open at once; frames of further files print unresolved. */
#define RAW_MAX_FILES 256
/* Raw lines symbolized and formatted together: the input is untrusted
 * (pasted logs), and each line costs a few KiB while its run is held, so
 * a longer run is cut into pieces of this many lines. */
#define RAW_RUN_MAX 1024

int raw_parse_line(const char *line, raw_frame *out)
{
  const char *p = line;
  while (*p == ' ' || *p == '\t') p++;
  if (*p++ != '#' || !isdigit((unsigned char)*p)) return 0;
  /* Cleared only for lines that look like a frame: the struct holds a
   * path, and most lines fed to `symbolize` are plain addresses. */
  memset(out, 0, sizeof *out);
  while (isdigit((unsigned char)*p)) p++;
  while (*p == ' ') p++;
  if (p[0] != '0' || p[1] != 'x') return 0;
  char *end;
  out->pc = (uintptr_t)strtoull(p, &end, 16);
  if (end == p + 2 || *end != ' ') return 0;
  p = end;
  while (*p == ' ') p++;
  if (!strcmp(p, "??")) return 1; /* a frame in no module */
  /* MODULE+0xOFFSET[ build-id=HEX] */
  size_t len = strlen(p);
  const char *bid = strstr(p, " build-id=");
  if (bid) {
    const char *h = bid + 10;
    size_t n = strspn(h, "0123456789abcdef");
    if (n == 0 || n >= sizeof out->build_id || h[n]) return 0;
    memcpy(out->build_id, h, n);
    len = (size_t)(bid - p);
  }
  const char *plus = NULL;
  for (const char *q = p; q + 3 <= p + len; q++)
    if (q[0] == '+' && q[1] == '0' && q[2] == 'x') plus = q;
  if (!plus || plus == p || (size_t)(plus - p) >= sizeof out->module) return 0;
  out->offset = strtoull(plus + 3, &end, 16);
  if (end != p + len || end == plus + 3) return 0;
  memcpy(out->module, p, (size_t)(plus - p));
  return 1;
}

static const faststack_symbolizer_config *config;

void raw_set_config(const faststack_symbolizer_config *c)
{
  config = c;
}

/* Modules opened so far, by the path and build-id the trace names. */
typedef struct opened {
  char module[4096];
  char build_id[129];
  faststack_symbolizer *s; /* NULL: not found (warned once) */
} opened;

static opened *files;
static int nfiles, capfiles;

faststack_symbolizer *raw_module(const raw_frame *f, int *missing)
{
  for (int i = 0; i < nfiles; i++)
    if (!strcmp(files[i].module, f->module) &&
        !strcmp(files[i].build_id, f->build_id)) {
      if (!files[i].s) *missing = 1;
      return files[i].s;
    }
  /* The input is untrusted (pasted logs): at most RAW_MAX_FILES modules
   * are opened and kept; frames of further ones print unresolved. */
  if (nfiles >= RAW_MAX_FILES) {
    *missing = 1;
    return NULL;
  }
  const char *err = NULL;
  faststack_symbolizer *s =
      faststack_symbolizer_open_module(f->module, f->build_id, config, &err);
  if (!s) {
    *missing = 1;
    fprintf(stderr,
            "faststack symbolize: warning: %s%s%s: %s; its frames stay ?? "
            "(see --search-path, --debug-dir, DEBUGINFOD_URLS)\n",
            f->module, f->build_id[0] ? " build-id=" : "", f->build_id,
            err ? err : "not found");
  }
  if (nfiles == capfiles) {
    int nc = capfiles ? capfiles * 2 : 16;
    opened *n = realloc(files, (size_t)nc * sizeof *n);
    if (!n) return s; /* not cached: looked up again next time */
    files = n;
    capfiles = nc;
  }
  opened *o = &files[nfiles++];
  snprintf(o->module, sizeof o->module, "%s", f->module);
  snprintf(o->build_id, sizeof o->build_id, "%s", f->build_id);
  o->s = s;
  return s;
}

void raw_modules_free(void)
{
  for (int i = 0; i < nfiles; i++) faststack_symbolizer_free(files[i].s);
  free(files);
  files = NULL;
  nfiles = capfiles = 0;
}

/* One run of raw lines being collected. */
typedef struct run {
  raw_frame *raw;
  int n, cap;
} run;

static int run_push(run *r, const raw_frame *f)
{
  if (r->n == r->cap) {
    int nc = r->cap ? r->cap * 2 : 64;
    raw_frame *nr = realloc(r->raw, (size_t)nc * sizeof *nr);
    if (!nr) return -1;
    r->raw = nr;
    r->cap = nc;
  }
  r->raw[r->n++] = *f;
  return 0;
}

/* Symbolizes the run's frames into fr (capacity n*RAW_INLINE_MAX), their
 * strings into strs; returns the number of frames. */
static int symbolize_run(const run *r, faststack_frame *fr, char *strs,
                         int *missing)
{
  int nf = 0;
  for (int i = 0; i < r->n; i++) {
    const raw_frame *rf = &r->raw[i];
    char *sb = strs + (size_t)i * RAW_STR_PER_LINE;
    faststack_symbolizer *s = rf->module[0] ? raw_module(rf, missing) : NULL;
    int k = s ? faststack_symbolize(s, rf->offset, FASTSTACK_PC_EXACT, fr + nf,
                                    RAW_INLINE_MAX, sb, RAW_STR_PER_LINE)
              : 0;
    if (k <= 0) {
      memset(&fr[nf], 0, sizeof fr[nf]);
      k = 1;
    }
    for (int j = 0; j < k; j++) {
      /* The module as the trace named it (not the debug file read). */
      fr[nf + j].pc = rf->pc;
      fr[nf + j].module = rf->module[0] ? rf->module : NULL;
      fr[nf + j].module_offset = rf->offset;
      fr[nf + j].build_id = rf->build_id[0] ? rf->build_id : NULL;
    }
    nf += k;
  }
  return nf;
}

/* Grows *buf to hold need bytes and a NUL; 0 when memory runs out (the
 * text stays cut at the old size). */
static int grow_text(char **buf, size_t *cap, size_t need)
{
  char *n = realloc(*buf, need + 1);
  if (!n) return 0;
  *buf = n;
  *cap = need + 1;
  return 1;
}

static void emit_run(FILE *out, const run *r, int format, int source,
                     int context, int *missing)
{
  if (!r->n) return;
  size_t nfmax = (size_t)r->n * RAW_INLINE_MAX;
  faststack_frame *fr = calloc(nfmax, sizeof *fr);
  faststack_source_line *lines = calloc(nfmax, sizeof *lines);
  char *strs = malloc((size_t)r->n * RAW_STR_PER_LINE);
  size_t tcap = nfmax * 512 + 4096;
  char *text = malloc(tcap);
  if (!fr || !lines || !strs || !text) goto done;
  int nf = symbolize_run(r, fr, strs, missing);
  faststack_format_options o;
  faststack_format_options_init(&o, format);
  o.source = source;
  o.context = context;
  o.color = faststack_color_wanted(fileno(out)); /* NO_COLOR, FORCE_COLOR */
  o.header = "";
  o.max_frames = r->n + 1; /* the trace was elided, if at all, already */
  faststack_sources *src = faststack_default_sources();
  size_t cap = nfmax * 1024 + 4096;
  char *buf = malloc(cap);
  if (!buf) goto done;
  if (source && context > 0 && format == FASTSTACK_FORMAT_GO) {
    faststack_source_line ctx[64];
    for (int i = 0; i < nf; i++) {
      int k =
          faststack_annotate_context(src, &fr[i], context, ctx, 64, text, tcap);
      size_t need =
          faststack_format_frame_context(&fr[i], ctx, k, &o, buf, cap);
      if (need >= cap && grow_text(&buf, &cap, need))
        faststack_format_frame_context(&fr[i], ctx, k, &o, buf, cap);
      fputs(buf, out);
    }
  } else {
    if (source) faststack_annotate(src, fr, nf, lines, text, tcap);
    const faststack_source_line *l = source ? lines : NULL;
    size_t need = faststack_format_frames(fr, nf, l, 0, &o, buf, cap);
    if (need >= cap && grow_text(&buf, &cap, need))
      faststack_format_frames(fr, nf, l, 0, &o, buf, cap);
    fputs(buf, out);
  }
  free(buf);
done:
  fflush(out);
  free(fr);
  free(lines);
  free(strs);
  free(text);
}

int raw_annotate_stream(FILE *in, FILE *out, int format, int source,
                        int context)
{
  char *line = NULL;
  size_t lcap = 0;
  ssize_t len;
  run r = {0};
  int missing = 0;
  while ((len = getline(&line, &lcap, in)) >= 0) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    raw_frame f;
    if (raw_parse_line(line, &f)) {
      if (r.n == RAW_RUN_MAX) {
        emit_run(out, &r, format, source, context, &missing);
        r.n = 0;
      }
      if (run_push(&r, &f) == 0) continue;
    }
    emit_run(out, &r, format, source, context, &missing);
    r.n = 0;
    fprintf(out, "%s\n", line);
    fflush(out);
  }
  emit_run(out, &r, format, source, context, &missing);
  free(r.raw);
  free(line);
  return missing;
}
