/* report.c — raw trace lines and crash reports back into annotated
 * traces (report.h).
 *
 * A crash handler can always print raw frames (module, offset, build-id)
 * without symbols; this is where they turn into the real thing, on any
 * machine that has the binaries or their debug files: in
 * `faststack symbolize --format`, in the supervisor of `faststack run`,
 * and in the symbolizer process a crashing program spawns.
 *
 * The text is untrusted (pasted logs, a report from a crashing process
 * whose memory may be corrupt): lines are read into a fixed buffer (a
 * longer line is no frame and passes through in pieces), runs of frames
 * are cut at RAW_RUN_MAX lines, a JSON report's notes and registers are
 * capped, and every module is opened at most once per call. */
#define _GNU_SOURCE
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faststack.h"
#include "format/report.h"

#define RAW_INLINE_MAX 16
#define RAW_STR_PER_LINE 4096
/* Files kept open at once; frames of further files print unresolved. */
#define RAW_MAX_FILES 256
/* Raw lines symbolized and formatted together: the input is untrusted
 * (pasted logs), and each line costs a few KiB while its run is held, so
 * a longer run is cut into pieces of this many lines. */
#define RAW_RUN_MAX 1024
/* The longest line looked at whole; a longer one (no frame is: its path
 * and build-id have fixed limits) passes through as it comes. */
#define RAW_LINE_MAX 16384
/* A JSON report keeps at most this many notes, registers' text and
 * thread ids of a group. */
#define RAW_NOTES_MAX 64
#define RAW_REGS_MAX 2048
#define RAW_TIDS_MAX 4096

int fs_raw_parse_line(const char *line, faststack_raw_frame *out)
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

/* Modules opened in one call, by the path and build-id the trace names. */
typedef struct opened {
  char module[4096];
  char build_id[129];
  faststack_symbolizer *s; /* NULL: not found (warned once) */
} opened;

/* A report written as one JSON object (crash reports and thread dumps in
 * the JSON format): the text's sections become members as they come, so
 * only the current run of frames is held. */
enum { REP_NONE = 0, REP_CRASH, REP_DUMP };
typedef struct jreport {
  int kind;      /* REP_* */
  int in_regs;   /* "registers":{ open */
  int regs;      /* registers written */
  int threads;   /* threads written ("threads":[ open when > 0) */
  int in_thread; /* a thread's "frames":[ open */
  int printed, hidden;
  int64_t elided;
  /* "N threads with this stack: ..." waits for its "first:" line. */
  int group_count;
  char group_tids[RAW_TIDS_MAX];
  /* Notes: JSON strings, comma-separated, at most RAW_NOTES_MAX. */
  char *notes;
  size_t notes_len, notes_cap;
  int nnotes, notes_dropped;
} jreport;

/* One call's state. */
typedef struct rep {
  FILE *out;
  FILE *warn; /* a module not found is said here; NULL: nowhere */
  const faststack_symbolizer_config *cfg;
  faststack_format_options o; /* the caller's, header "" */
  int color;                  /* resolved once, for the text formats */
  fs_style st;                /* JSON frames (no colour) */
  char cwd[FS_CWD_MAX];
  opened *files; /* RAW_MAX_FILES, allocated at the first module */
  int nfiles;
  faststack_raw_frame *raw; /* the run of raw lines being collected */
  int n, cap;
  int missing;
  jreport j;
} rep;

/* The symbolizer of a raw frame's module, opened on its first frame and
 * kept: faststack_symbolizer_open_module (the path when its build-id
 * matches, else by build-id and base name under the search path, the
 * debug roots, debuginfod as the configuration says). A module that
 * cannot be found is said once, then NULL. */
static faststack_symbolizer *symbolizer_for(rep *r,
                                            const faststack_raw_frame *f)
{
  for (int i = 0; i < r->nfiles; i++)
    if (!strcmp(r->files[i].module, f->module) &&
        !strcmp(r->files[i].build_id, f->build_id))
      return r->files[i].s;
  if (!r->files && !(r->files = calloc(RAW_MAX_FILES, sizeof *r->files)))
    return NULL;
  if (r->nfiles >= RAW_MAX_FILES) return NULL; /* not kept: not opened */
  const char *err = NULL;
  faststack_symbolizer *s =
      faststack_symbolizer_open_module(f->module, f->build_id, r->cfg, &err);
  if (!s && r->warn) {
    fprintf(r->warn,
            "faststack symbolize: warning: %s%s%s: %s; its frames stay ?? "
            "(see --search-path, --debug-dir, DEBUGINFOD_URLS)\n",
            f->module, f->build_id[0] ? " build-id=" : "", f->build_id,
            err ? err : "not found");
    fflush(r->warn);
  }
  opened *o = &r->files[r->nfiles++];
  snprintf(o->module, sizeof o->module, "%s", f->module);
  snprintf(o->build_id, sizeof o->build_id, "%s", f->build_id);
  o->s = s;
  return s;
}

static int run_push(rep *r, const faststack_raw_frame *f)
{
  if (r->n == r->cap) {
    int nc = r->cap ? r->cap * 2 : 64;
    faststack_raw_frame *nr = realloc(r->raw, (size_t)nc * sizeof *nr);
    if (!nr) return -1;
    r->raw = nr;
    r->cap = nc;
  }
  r->raw[r->n++] = *f;
  return 0;
}

/* Symbolizes the run's frames into fr (capacity n*RAW_INLINE_MAX), their
 * strings into strs; returns the number of frames. */
static int symbolize_run(rep *r, faststack_frame *fr, char *strs)
{
  int nf = 0;
  for (int i = 0; i < r->n; i++) {
    const faststack_raw_frame *rf = &r->raw[i];
    char *sb = strs + (size_t)i * RAW_STR_PER_LINE;
    faststack_symbolizer *s = rf->module[0] ? symbolizer_for(r, rf) : NULL;
    if (rf->module[0] && !s) r->missing = 1;
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

/* Text formatted into a buffer grown to what it needs: fills *buf (NULL
 * when memory ran out) by calling fmt(arg, buf, cap) until it fits. */
typedef size_t (*fmt_fn)(void *arg, char *buf, size_t cap);
static void put_formatted(FILE *out, fmt_fn fmt, void *arg, size_t guess)
{
  char *buf = malloc(guess);
  if (!buf) return;
  size_t need = fmt(arg, buf, guess);
  if (need >= guess) {
    char *nb = realloc(buf, need + 1);
    if (!nb) {
      fputs(buf, out); /* cut, but NUL-terminated */
      free(buf);
      return;
    }
    buf = nb;
    fmt(arg, buf, need + 1);
  }
  fputs(buf, out);
  free(buf);
}

/* What one run's formatting needs. */
typedef struct run_text {
  rep *r;
  const faststack_frame *fr;
  const faststack_source_line *lines;
  int nf;
  const faststack_format_options *o;
} run_text;

static size_t fmt_frames(void *arg, char *buf, size_t cap)
{
  run_text *t = arg;
  return faststack_format_frames(t->fr, t->nf, t->lines, 0, t->o, buf, cap);
}

static size_t fmt_json_frames(void *arg, char *buf, size_t cap)
{
  run_text *t = arg;
  jreport *j = &t->r->j;
  int printed = j->printed, hidden = j->hidden;
  fs_out o;
  fs_out_init_buf(&o, buf, cap);
  fs_format_json_frames(&o, t->fr, t->nf, t->lines, &t->r->st, &printed,
                        &hidden);
  return fs_out_finish(&o);
}

/* Go style with context lines, frame by frame. */
static void put_context(rep *r, const faststack_frame *fr, int nf,
                        const faststack_format_options *o, char *text,
                        size_t tcap)
{
  faststack_source_line ctx[64];
  faststack_sources *src = faststack_default_sources();
  for (int i = 0; i < nf; i++) {
    int k = faststack_annotate_context(src, &fr[i], o->context, ctx, 64, text,
                                       tcap);
    char small[8192];
    size_t need =
        faststack_format_frame_context(&fr[i], ctx, k, o, small, sizeof small);
    if (need < sizeof small) {
      fputs(small, r->out);
      continue;
    }
    char *big = malloc(need + 1);
    if (!big) continue;
    faststack_format_frame_context(&fr[i], ctx, k, o, big, need + 1);
    fputs(big, r->out);
    free(big);
  }
}

/* The run collected so far: symbolized, annotated and written, as text
 * (Go, gin), as one JSON object, or into the open thread of a JSON
 * report. Empties the run. */
static void emit_run(rep *r)
{
  if (!r->n) return;
  size_t nfmax = (size_t)r->n * RAW_INLINE_MAX;
  faststack_frame *fr = calloc(nfmax, sizeof *fr);
  faststack_source_line *lines = calloc(nfmax, sizeof *lines);
  char *strs = malloc((size_t)r->n * RAW_STR_PER_LINE);
  size_t tcap = nfmax * 512 + 4096;
  char *text = malloc(tcap);
  if (!fr || !lines || !strs || !text) goto done;
  int nf = symbolize_run(r, fr, strs);
  faststack_format_options o = r->o;
  o.color = r->color;
  o.max_frames = r->n + 1; /* the trace was elided, if at all, already */
  faststack_sources *src = faststack_default_sources();
  run_text t = {r, fr, lines, nf, &o};
  if (r->j.in_thread) {
    if (o.source) faststack_annotate(src, fr, nf, lines, text, tcap);
    else t.lines = NULL;
    put_formatted(r->out, fmt_json_frames, &t, nfmax * 512 + 4096);
    for (int i = 0; i < nf; i++) {
      if (fs_frame_hidden(&r->st, &fr[i])) r->j.hidden++;
      else r->j.printed++;
    }
  } else if (o.source && o.context > 0 && o.format == FASTSTACK_FORMAT_GO) {
    put_context(r, fr, nf, &o, text, tcap);
  } else {
    if (o.source) faststack_annotate(src, fr, nf, lines, text, tcap);
    else t.lines = NULL;
    put_formatted(r->out, fmt_frames, &t, nfmax * 1024 + 4096);
  }
done:
  fflush(r->out);
  free(fr);
  free(lines);
  free(strs);
  free(text);
  r->n = 0;
}

/* ------------------------------------------------- crash reports as JSON
 * The text of a crash report (sinks/crash.c writes it) or of a thread
 * dump (sinks/dump.c), read back into members of one JSON object. Every
 * value comes from untrusted text: numbers are parsed with bounds,
 * strings written quoted. */

static void put_json_str(rep *r, const char *s, size_t n)
{
  char *tmp = strndup(s, n);
  if (!tmp) return;
  size_t need = faststack_json_quote(tmp, NULL, 0);
  char *q = malloc(need + 1);
  if (q) {
    faststack_json_quote(tmp, q, need + 1);
    fputs(q, r->out);
    free(q);
  }
  free(tmp);
}

static void member_str(rep *r, const char *key, const char *s, size_t n)
{
  fprintf(r->out, ",\"%s\":", key);
  put_json_str(r, s, n);
}

/* A decimal number at *p (advanced past it) into *v: 1, or 0 when there
 * is none or it does not fit. */
static int take_num(const char **p, long long *v)
{
  const char *s = *p;
  int neg = *s == '-';
  s += neg;
  if (!isdigit((unsigned char)*s)) return 0;
  long long x = 0;
  for (; isdigit((unsigned char)*s); s++) {
    if (x > (LLONG_MAX - 9) / 10) return 0;
    x = x * 10 + (*s - '0');
  }
  *v = neg ? -x : x;
  *p = s;
  return 1;
}

/* "0x" and hex digits at *p: their length (0: none, or longer than an
 * address). */
static size_t hex_len(const char *p)
{
  if (p[0] != '0' || p[1] != 'x') return 0;
  size_t n = strspn(p + 2, "0123456789abcdef");
  return n && n <= 16 ? n + 2 : 0;
}

static void note(rep *r, const char *line)
{
  jreport *j = &r->j;
  if (j->nnotes >= RAW_NOTES_MAX) {
    j->notes_dropped++;
    return;
  }
  size_t n = strnlen(line, 1024);
  char tmp[1025];
  memcpy(tmp, line, n);
  tmp[n] = '\0';
  size_t need = faststack_json_quote(tmp, NULL, 0) + 2;
  if (j->notes_len + need > j->notes_cap) {
    size_t nc = j->notes_cap ? j->notes_cap * 2 : 4096;
    while (nc < j->notes_len + need) nc *= 2;
    char *nb = realloc(j->notes, nc);
    if (!nb) return;
    j->notes = nb;
    j->notes_cap = nc;
  }
  if (j->nnotes) j->notes[j->notes_len++] = ',';
  j->notes_len += faststack_json_quote(tmp, j->notes + j->notes_len, need);
  j->nnotes++;
}

static void regs_close(rep *r)
{
  if (!r->j.in_regs) return;
  fputs("}", r->out);
  r->j.in_regs = 0;
}

/* "  rax 0x... rbx 0x..." into members of "registers"; 0 when the line
 * is not one. */
static int regs_line(rep *r, const char *line)
{
  if (line[0] != ' ') return 0;
  const char *p = line;
  int pairs = 0;
  while (*p) {
    while (*p == ' ') p++;
    if (!*p) break;
    const char *name = p;
    while (*p && *p != ' ') p++;
    size_t nl = (size_t)(p - name);
    while (*p == ' ') p++;
    size_t hl = hex_len(p);
    if (!hl || nl == 0 || nl > 8) return pairs > 0;
    if (r->j.regs < RAW_REGS_MAX / 16) {
      fputs(r->j.regs++ ? "," : "", r->out);
      put_json_str(r, name, nl);
      fputc(':', r->out);
      put_json_str(r, p, hl);
    }
    p += hl;
    pairs++;
  }
  return pairs > 0;
}

static void thread_close(rep *r)
{
  jreport *j = &r->j;
  emit_run(r);
  if (!j->in_thread) return;
  fprintf(r->out, "],\"elided\":%lld,\"hidden\":%d}", (long long)j->elided,
          j->hidden);
  j->in_thread = 0;
}

/* Opens a thread: title is "thread T["name"] [STATE]" (NULL: frames
 * without a title). */
static void thread_open(rep *r, const char *title)
{
  jreport *j = &r->j;
  thread_close(r);
  regs_close(r);
  fputs(j->threads++ ? ",{" : ",\"threads\":[{", r->out);
  int first = 1;
  if (j->group_count > 0) {
    fprintf(r->out, "\"count\":%d,\"tids\":[%s]", j->group_count,
            j->group_tids);
    first = 0;
    j->group_count = 0;
  }
  const char *p = title ? title + 7 : NULL;
  long long tid;
  if (p && take_num(&p, &tid)) {
    fprintf(r->out, "%s\"tid\":%lld", first ? "" : ",", tid);
    first = 0;
    const char *st = strrchr(p, '[');
    const char *name = p[0] == ' ' && p[1] == '"' ? p + 2 : NULL;
    if (name && st && st > name + 1 && st[-2] == '"') {
      fputs(",\"name\":", r->out);
      put_json_str(r, name, (size_t)(st - 2 - name));
    }
    const char *end = st ? strrchr(st, ']') : NULL;
    if (st && end) {
      fputs(",\"state\":", r->out);
      put_json_str(r, st + 1, (size_t)(end - st - 1));
      size_t sl = (size_t)(end - st - 1);
      int faulting = memmem(st + 1, sl, "faulting", 8) != NULL;
      fprintf(r->out, ",\"faulting\":%s", faulting ? "true" : "false");
    }
  }
  fputs(first ? "\"frames\":[" : ",\"frames\":[", r->out);
  j->in_thread = 1;
  j->printed = j->hidden = 0;
  j->elided = 0;
}

/* "N threads with this stack: t1 t2 ..." */
static int group_line(rep *r, const char *line)
{
  const char *p = line;
  long long n;
  if (!take_num(&p, &n) || strncmp(p, " threads with this stack:", 25))
    return 0;
  p += 25;
  jreport *j = &r->j;
  size_t len = 0;
  j->group_tids[0] = '\0';
  long long t;
  while (*p == ' ') {
    p++;
    if (!take_num(&p, &t)) break;
    int w = snprintf(j->group_tids + len, sizeof j->group_tids - len, "%s%lld",
                     len ? "," : "", t);
    if (w < 0 || (size_t)w >= sizeof j->group_tids - len) break;
    len += (size_t)w;
  }
  j->group_count = n > 0 && n < INT32_MAX ? (int)n : 1;
  return 1;
}

/* "[signal SIG code=N (NAME: text) addr=0x.. pc=0x..]" or with
 * "from pid P uid U" instead of the address. */
static void signal_line(rep *r, const char *line)
{
  const char *p = strstr(line, " code=");
  long long v;
  if (p) {
    p += 6;
    if (take_num(&p, &v)) fprintf(r->out, ",\"code\":%lld", v);
    if (p[0] == ' ' && p[1] == '(') {
      const char *in = p + 2, *close = strrchr(in, ')');
      const char *colon = close ? memchr(in, ':', (size_t)(close - in)) : NULL;
      if (colon && colon > in && !memchr(in, ' ', (size_t)(colon - in))) {
        member_str(r, "code_name", in, (size_t)(colon - in));
        in = colon + 2 <= close ? colon + 2 : close;
      }
      if (close) member_str(r, "code_text", in, (size_t)(close - in));
    }
  }
  const char *a = strstr(line, " addr=");
  if (a && hex_len(a + 6)) member_str(r, "addr", a + 6, hex_len(a + 6));
  const char *f = strstr(line, " from pid ");
  if (f) {
    f += 10;
    if (take_num(&f, &v)) fprintf(r->out, ",\"sender_pid\":%lld", v);
    if (!strncmp(f, " uid ", 5) && (f += 5, take_num(&f, &v)))
      fprintf(r->out, ",\"sender_uid\":%lld", v);
  }
  const char *pc = strstr(line, " pc=");
  if (pc && hex_len(pc + 4)) member_str(r, "pc", pc + 4, hex_len(pc + 4));
}

/* "pid P, thread T "name", TIME" (a crash) or "pid P, TIME" (a dump). */
static void pid_line(rep *r, const char *p)
{
  long long v;
  if (take_num(&p, &v)) fprintf(r->out, ",\"pid\":%lld", v);
  if (!strncmp(p, ", thread ", 9)) {
    p += 9;
    if (take_num(&p, &v)) fprintf(r->out, ",\"tid\":%lld", v);
    const char *last = strrchr(p, ',');
    if (p[0] == ' ' && p[1] == '"' && last && last > p + 2 && last[-1] == '"')
      member_str(r, "thread_name", p + 2, (size_t)(last - 1 - (p + 2)));
    p = last ? last : p + strlen(p);
  }
  if (p[0] == ',' && p[1] == ' ') member_str(r, "time", p + 2, strlen(p + 2));
}

static void report_end(rep *r, const char *end)
{
  jreport *j = &r->j;
  if (!j->kind) return;
  thread_close(r);
  regs_close(r);
  if (j->threads) fputs("]", r->out);
  if (j->nnotes) {
    fputs(",\"notes\":[", r->out);
    fwrite(j->notes, 1, j->notes_len, r->out);
    fputs("]", r->out);
  }
  if (j->notes_dropped)
    fprintf(r->out, ",\"notes_dropped\":%d", j->notes_dropped);
  if (end) member_str(r, "end", end, strlen(end));
  fprintf(r->out, ",\"complete\":%s}\n", end ? "true" : "false");
  fflush(r->out);
  char *keep = j->notes;
  size_t cap = j->notes_cap;
  memset(j, 0, sizeof *j);
  j->notes = keep;
  j->notes_cap = cap;
}

/* "fatal signal SIG: meaning" or "thread dump[ (SIG)]: pid P, TIME". */
static void report_begin(rep *r, int kind, const char *line)
{
  report_end(r, NULL);
  r->j.kind = kind;
  if (kind == REP_CRASH) {
    const char *s = line + 13, *colon = strchr(s, ':');
    fputs("{\"report\":\"crash\"", r->out);
    size_t n = colon ? (size_t)(colon - s) : strlen(s);
    member_str(r, "signal", s, n);
    char name[32];
    if (n < sizeof name) {
      memcpy(name, s, n);
      name[n] = '\0';
      int signo = fs_signal_parse(name);
      if (signo > 0) fprintf(r->out, ",\"signo\":%d", signo);
    }
    if (colon && colon[1] == ' ')
      member_str(r, "description", colon + 2, strlen(colon + 2));
    return;
  }
  fputs("{\"report\":\"dump\"", r->out);
  const char *p = line + 11;
  if (p[0] == ' ' && p[1] == '(') {
    const char *close = strchr(p, ')');
    if (close) {
      member_str(r, "signal", p + 2, (size_t)(close - p - 2));
      p = close + 1;
    }
  }
  if (!strncmp(p, ": pid ", 6)) pid_line(r, p + 6);
}

/* A title line: "thread T...[STATE]:" */
static int is_title(const char *line, size_t len)
{
  return !strncmp(line, "thread ", 7) && isdigit((unsigned char)line[7]) &&
         len > 2 && line[len - 1] == ':' && line[len - 2] == ']';
}

/* One line of a JSON report that is no frame; 0 when it is no part of
 * the report (which then has ended: a dump ends at any other text). */
static int report_line(rep *r, const char *line, size_t len)
{
  jreport *j = &r->j;
  if (j->in_regs && regs_line(r, line)) return 1;
  regs_close(r);
  long long n;
  const char *p = line;
  if (!len) return 1; /* sections are separated by blank lines */
  if (is_title(line, len)) {
    thread_open(r, line);
  } else if (!strncmp(line, "  first: thread ", 16)) {
    thread_open(r, line + 9);
  } else if (group_line(r, line)) {
  } else if (!strncmp(line, "...", 3) && (p = line + 3, take_num(&p, &n)) &&
             !strcmp(p, " frames elided...")) {
    emit_run(r);
    j->elided += n;
  } else if (j->kind == REP_DUMP && strncmp(line, "thread ", 7)) {
    report_end(r, NULL);
    return 0;
  } else if (j->kind == REP_CRASH && !strncmp(line, "[signal ", 8)) {
    signal_line(r, line);
  } else if (j->kind == REP_CRASH && !strncmp(line, "pid ", 4)) {
    pid_line(r, line + 4);
  } else if (j->kind == REP_CRASH && !strncmp(line, "stack overflow:", 15)) {
    fputs(",\"stack_overflow\":true", r->out);
    note(r, line);
  } else if (j->kind == REP_CRASH && !strcmp(line, "registers:")) {
    fputs(",\"registers\":{", r->out);
    j->in_regs = 1;
  } else if (j->kind == REP_CRASH && !strncmp(line, "faststack: ", 11)) {
    report_end(r, line + 11);
  } else {
    note(r, line);
  }
  return 1;
}

/* ----------------------------------------------------------- the stream */

/* The next line into buf[0..cap) without its newline (and CRs); a line
 * longer than that leaves its rest in the stream and sets *more. 0 at
 * the end of the input. */
static int read_line(FILE *in, char *buf, size_t cap, size_t *len, int *more)
{
  if (!fgets(buf, (int)cap, in)) return 0;
  size_t n = strlen(buf);
  *more = 0;
  if (n && buf[n - 1] == '\n') buf[--n] = '\0';
  else if (n == cap - 1) *more = 1;
  while (n && buf[n - 1] == '\r') buf[--n] = '\0';
  *len = n;
  return 1;
}

/* The rest of a long line: written out (keep) or dropped. */
static void rest_of_line(rep *r, FILE *in, int keep)
{
  int c;
  while ((c = getc_unlocked(in)) != EOF && c != '\n')
    if (keep) putc_unlocked(c, r->out);
  if (keep) putc_unlocked('\n', r->out);
}

/* A line that is no frame, outside any JSON report: as it is, except a
 * crash report's first line, painted like the crash handler paints it. */
static void text_line(rep *r, const char *line, int more)
{
  int head = r->color && !strncmp(line, "fatal signal ", 13);
  if (head) fputs("\033[1;31m", r->out);
  fputs(line, r->out);
  if (head) fputs("\033[0m", r->out);
  if (!more) fputc('\n', r->out);
}

static void one_line(rep *r, FILE *in, const char *line, size_t len, int more)
{
  faststack_raw_frame f;
  int json = r->o.format == FASTSTACK_FORMAT_JSON;
  if (!more && fs_raw_parse_line(line, &f)) {
    if (r->n == RAW_RUN_MAX) emit_run(r);
    if (json && r->j.kind && !r->j.in_thread) thread_open(r, NULL);
    if (run_push(r, &f) == 0) return;
  }
  emit_run(r);
  if (json && !more && !strncmp(line, "fatal signal ", 13)) {
    report_begin(r, REP_CRASH, line);
    return;
  }
  if (json && !more && !strncmp(line, "thread dump", 11) &&
      strstr(line, ": pid ")) {
    report_begin(r, REP_DUMP, line);
    return;
  }
  if (json && r->j.kind) {
    if (more) {
      note(r, line); /* a long line's head; the rest is dropped */
      rest_of_line(r, in, 0);
      return;
    }
    if (report_line(r, line, len)) return;
  }
  text_line(r, line, more);
  if (more) rest_of_line(r, in, 1);
  fflush(r->out);
}

static void rep_free(rep *r)
{
  for (int i = 0; i < r->nfiles; i++) faststack_symbolizer_free(r->files[i].s);
  free(r->files);
  free(r->raw);
  free(r->j.notes);
  free(r);
}

int fs_raw_annotate(FILE *in, FILE *out, const faststack_format_options *opts,
                    const faststack_symbolizer_config *cfg, FILE *warnings)
{
  rep *r = calloc(1, sizeof *r);
  char *line = malloc(RAW_LINE_MAX);
  if (!r || !line) {
    free(r);
    free(line);
    return -1;
  }
  r->out = out;
  r->warn = warnings;
  r->cfg = cfg;
  if (opts) r->o = *opts;
  else faststack_format_options_init(&r->o, FASTSTACK_FORMAT_GO);
  if (!opts) r->o.source = 1;
  r->o.header = "";
  r->color =
      r->o.color < 0 ? faststack_color_wanted(fileno(out)) : r->o.color > 0;
  fs_style_init(&r->st, &r->o, 0, r->cwd);
  size_t len;
  int more;
  while (read_line(in, line, RAW_LINE_MAX, &len, &more))
    one_line(r, in, line, len, more);
  emit_run(r);
  report_end(r, NULL);
  fflush(out);
  int missing = r->missing;
  rep_free(r);
  free(line);
  return missing;
}

int fs_raw_annotate_stream(FILE *in, FILE *out, int format, int source,
                           int context)
{
  faststack_format_options o;
  faststack_format_options_init(&o, format);
  o.source = source;
  o.context = context;
  return fs_raw_annotate(in, out, &o, NULL, NULL);
}

/* ------------------------------------------------------------ public */

FASTSTACK_API int faststack_raw_frame_parse(const char *line,
                                            faststack_raw_frame *out)
{
  return line && out ? fs_raw_parse_line(line, out) : 0;
}

FASTSTACK_API int faststack_symbolize_report(
    FILE *in, FILE *out, const faststack_format_options *o,
    const faststack_symbolizer_config *cfg, FILE *warnings)
{
  if (!in || !out) return -1;
  return fs_raw_annotate(in, out, o, cfg, warnings);
}
