/* format.c — the format stage: symbolized (and optionally annotated)
 * frames as text. Go panic style, gin's Recovery style, and JSON for log
 * pipelines. Everything is written through fs_out, so the same code fills
 * a caller buffer or streams to a descriptor, and allocates nothing.
 *
 * Elision is by PC (one physical frame and its inlined calls count once),
 * like Go's traceback: the innermost and outermost halves of max_frames
 * are kept and "...N frames elided..." stands between them. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "format/format.h"

#define C_FUNC "\033[1m"
#define C_FILE "\033[36m"
#define C_SRC "\033[33m"
#define C_WARN "\033[31m"
#define C_OFF "\033[0m"

static int env_word(const char *name, const char *const *words, int n, int dflt)
{
  const char *v = getenv(name);
  for (int i = 0; v && i < n; i++)
    if (!strcmp(v, words[i])) return i;
  return dflt;
}

static const char *env_str(const char *name)
{
  const char *v = getenv(name);
  return v && v[0] ? v : NULL;
}

FASTSTACK_API void faststack_format_options_init(faststack_format_options *o,
                                                 int format)
{
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->format = format;
  o->source = 1;
  o->color = -1;
  static const char *const names[] = {"default", "full", "pruned"};
  static const char *const paths[] = {"full", "base", "relative"};
  o->names = env_word("FASTSTACK_NAMES", names, 3, FASTSTACK_NAMES_DEFAULT);
  o->paths = env_word("FASTSTACK_PATHS", paths, 3, FASTSTACK_PATHS_FULL);
  o->path_root = env_str("FASTSTACK_PATH_ROOT");
  o->hide_modules = env_str("FASTSTACK_HIDE_MODULES");
  o->hide_functions = env_str("FASTSTACK_HIDE_FUNCTIONS");
}

/* FORCE_COLOR (https://force-color.org) is a request for this run and
 * wins; NO_COLOR (https://no-color.org) is a standing preference. "0"
 * in FORCE_COLOR means no colour, as most tools read it. */
int fs_color_env(void)
{
  const char *fc = getenv("FORCE_COLOR");
  if (fc && fc[0]) return strcmp(fc, "0") != 0;
  const char *nc = getenv("NO_COLOR");
  return nc && nc[0] ? 0 : -1;
}

int fs_is_tty(int fd)
{
  struct termios t;
  return fd >= 0 && tcgetattr(fd, &t) == 0;
}

int fs_format_use_color(const faststack_format_options *o, int fd)
{
  if (!o || o->color == 0) return 0;
  if (o->color > 0) return 1;
  int env = fs_color_env();
  return env >= 0 ? env : fs_is_tty(fd);
}

FASTSTACK_API int faststack_color_wanted(int fd)
{
  int env = fs_color_env();
  return env >= 0 ? env : fs_is_tty(fd);
}

/* ------------------------------------------------------------- style */

void fs_style_init(fs_style *st, const faststack_format_options *opts,
                   int color, char *cwd)
{
  memset(st, 0, sizeof *st);
  st->color = color;
  if (!opts) {
    st->prune = 1;
    return;
  }
  int json = opts->format == FASTSTACK_FORMAT_JSON;
  st->prune = !json && opts->names != FASTSTACK_NAMES_FULL;
  st->paths = json ? FASTSTACK_PATHS_FULL : opts->paths;
  st->hide_modules =
      opts->hide_modules && opts->hide_modules[0] ? opts->hide_modules : NULL;
  st->hide_functions = opts->hide_functions && opts->hide_functions[0]
                           ? opts->hide_functions
                           : NULL;
  if (st->paths != FASTSTACK_PATHS_RELATIVE) return;
  st->root = opts->path_root;
  if (!st->root || !st->root[0])
    st->root = getcwd(cwd, FS_CWD_MAX) ? cwd : NULL;
  st->root_len = st->root ? strlen(st->root) : 0;
  while (st->root_len > 1 && st->root[st->root_len - 1] == '/') st->root_len--;
}

static uint64_t mix_str(uint64_t h, const char *s, size_t n)
{
  for (size_t i = 0; s && i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
  return h * 0x9e3779b97f4a7c15ull + n;
}

uint64_t fs_style_hash(const fs_style *st, uint64_t h)
{
  h = mix_str(h, "", 0) ^
      (uint64_t)(st->color | st->prune << 1 | st->paths << 2);
  h = mix_str(h, st->root, st->root_len);
  h = mix_str(h, st->hide_modules,
              st->hide_modules ? strlen(st->hide_modules) : 0);
  return mix_str(h, st->hide_functions,
                 st->hide_functions ? strlen(st->hide_functions) : 0);
}

/* Does the comma list have an item that match() accepts? */
static int any_item(const char *list, const char *s,
                    int (*match)(const char *item, size_t n, const char *s))
{
  for (const char *p = list; p && *p;) {
    const char *c = strchr(p, ',');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    if (n && match(p, n, s)) return 1;
    p += n + (c != NULL);
  }
  return 0;
}

static int module_match(const char *item, size_t n, const char *path)
{
  if (memchr(item, '/', n)) return strlen(path) == n && !memcmp(item, path, n);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  return !strncmp(base, item, n) && (base[n] == '\0' || base[n] == '.');
}

static int prefix_match(const char *item, size_t n, const char *name)
{
  return !strncmp(name, item, n);
}

int fs_frame_hidden(const fs_style *st, const faststack_frame *f)
{
  if (st->hide_modules && f->module &&
      any_item(st->hide_modules, f->module, module_match))
    return 1;
  if (!st->hide_functions || !f->function) return 0;
  char pruned[4096];
  fs_name_prune(f->function, pruned, sizeof pruned);
  return any_item(st->hide_functions, pruned, prefix_match);
}

typedef struct fmt_ctx {
  fs_out *o;
  const faststack_format_options *opt;
  const fs_style *st;
  int color;
} fmt_ctx;

static void paint(fmt_ctx *c, const char *code)
{
  if (c->color) fs_out_str(c->o, code);
}

/* A frame's function as the style wants it, "??" when unknown. */
static void func_name(fmt_ctx *c, const faststack_frame *f)
{
  if (!f->function || !f->function[0]) fs_out_str(c->o, "??");
  else fs_name_write(c->o, f->function, c->st && c->st->prune);
}

/* The path as the style wants it: the base name, or relative to the
 * root when it is under it. */
static void path(fmt_ctx *c, const char *file)
{
  const fs_style *st = c->st;
  if (st && st->paths == FASTSTACK_PATHS_BASE) {
    const char *b = strrchr(file, '/');
    if (b && b[1]) file = b + 1;
  } else if (st && st->paths == FASTSTACK_PATHS_RELATIVE && st->root &&
             st->root_len && !strncmp(file, st->root, st->root_len) &&
             file[st->root_len] == '/' && file[st->root_len + 1]) {
    file += st->root_len + 1;
  }
  fs_out_str(c->o, file);
}

/* "file:line", or module+0xoffset when there is no file. */
static void location(fmt_ctx *c, const faststack_frame *f)
{
  paint(c, C_FILE);
  if (f->file && f->line > 0) {
    path(c, f->file);
    fs_out_char(c->o, ':');
    fs_out_dec(c->o, f->line);
  } else if (f->module) {
    path(c, f->module);
    fs_out_str(c->o, "+0x");
    fs_out_hex(c->o, f->module_offset, 1);
  } else {
    fs_out_str(c->o, "??");
  }
  paint(c, C_OFF);
}

/* ------------------------------------------------------------ Go style */

static void go_source(fmt_ctx *c, const faststack_source_line *l)
{
  if (!l) return;
  const char *note = faststack_source_status_note(l->status);
  if (!l->text && !note) return;
  fs_out_str(c->o, "\t    ");
  if (l->text) {
    paint(c, C_SRC);
    const char *t = l->text;
    while (*t == ' ') t++;
    fs_out_str(c->o, t);
    paint(c, C_OFF);
  }
  if (note) {
    paint(c, C_WARN);
    fs_out_str(c->o, l->text ? "  [" : "[");
    fs_out_str(c->o, note);
    fs_out_char(c->o, ']');
    paint(c, C_OFF);
  }
  fs_out_char(c->o, '\n');
}

static void go_context(fmt_ctx *c, const faststack_source_line *ctx, int n,
                       int line)
{
  for (int i = 0; i < n; i++) {
    fs_out_str(c->o, ctx[i].line == line ? "\t>" : "\t ");
    fs_out_dec_pad(c->o, ctx[i].line, 5);
    fs_out_str(c->o, " | ");
    if (ctx[i].text) {
      paint(c, ctx[i].line == line ? C_SRC : "");
      fs_out_str(c->o, ctx[i].text);
      paint(c, C_OFF);
    }
    const char *note = faststack_source_status_note(ctx[i].status);
    if (note && ctx[i].line == line) {
      fs_out_str(c->o, "  [");
      fs_out_str(c->o, note);
      fs_out_char(c->o, ']');
    }
    fs_out_char(c->o, '\n');
  }
}

/* "function(...)" or "function(...) (inlined)", then "\tfile:line" and,
 * for a physical frame, " +0xoffset". A C++ name has its own parameter
 * list: "f(int) const", never "f(int) const(...)". */
static void go_frame_head(fmt_ctx *c, const faststack_frame *f)
{
  paint(c, C_FUNC);
  func_name(c, f);
  paint(c, C_OFF);
  if (!fs_name_has_params(f->function)) fs_out_str(c->o, "(...)");
  fs_out_str(c->o, f->inlined ? " (inlined)\n\t" : "\n\t");
  location(c, f);
  if (!f->inlined && f->function && f->function_offset) {
    fs_out_str(c->o, " +0x");
    fs_out_hex(c->o, f->function_offset, 1);
  }
  fs_out_char(c->o, '\n');
}

void fs_format_go_frame(fs_out *o, const faststack_frame *f,
                        const faststack_source_line *l, const fs_style *st)
{
  fmt_ctx c = {o, NULL, st, st ? st->color : 0};
  go_frame_head(&c, f);
  go_source(&c, l);
}

/* ----------------------------------------------------------- gin style */

/* gin's "file:line (0xpc)" then "\tfunction: source"; an inlined call
 * says so after its name, as the Go format does. */
static void gin_frame(fmt_ctx *c, const faststack_frame *f,
                      const faststack_source_line *l)
{
  location(c, f);
  fs_out_str(c->o, " (0x");
  fs_out_hex(c->o, f->pc, 1);
  fs_out_str(c->o, ")\n\t");
  paint(c, C_FUNC);
  func_name(c, f);
  paint(c, C_OFF);
  fs_out_str(c->o, f->inlined ? " (inlined): " : ": ");
  const char *note = l ? faststack_source_status_note(l->status) : NULL;
  if (l && l->text) {
    const char *t = l->text;
    while (*t == ' ') t++; /* gin trims the line */
    paint(c, C_SRC);
    fs_out_str(c->o, t);
    paint(c, C_OFF);
  } else {
    fs_out_str(c->o, "???"); /* gin's "dunno" */
  }
  if (note) {
    fs_out_str(c->o, "  [");
    fs_out_str(c->o, note);
    fs_out_char(c->o, ']');
  }
  fs_out_char(c->o, '\n');
}

/* ---------------------------------------------------------------- JSON */

/* A JSON string: escapes quotes, backslashes and control bytes; bytes of
 * invalid UTF-8 become \u00XX so the output is always valid JSON. */
void fs_json_str(fs_out *o, const char *s)
{
  if (!s) {
    fs_out_str(o, "null");
    return;
  }
  fs_out_char(o, '"');
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned char ch = *p;
    int ulen = 0;
    if (ch >= 0x80) {
      ulen = (ch >= 0xc2 && ch <= 0xdf)   ? 2
             : (ch >= 0xe0 && ch <= 0xef) ? 3
             : (ch >= 0xf0 && ch <= 0xf4) ? 4
                                          : 0;
      for (int i = 1; i < ulen; i++)
        if ((p[i] & 0xc0) != 0x80) ulen = 0;
    }
    if (ch == '"' || ch == '\\') {
      fs_out_char(o, '\\');
      fs_out_char(o, (char)ch);
    } else if (ch >= 0x20 && ch < 0x80) {
      fs_out_char(o, (char)ch);
    } else if (ulen) {
      fs_out_mem(o, (const char *)p, (size_t)ulen);
      p += ulen;
      continue;
    } else if (ch == '\n') {
      fs_out_str(o, "\\n");
    } else if (ch == '\t') {
      fs_out_str(o, "\\t");
    } else {
      fs_out_str(o, "\\u00");
      fs_out_hex(o, ch, 2);
    }
    p++;
  }
  fs_out_char(o, '"');
}

static void json_hex(fs_out *o, const char *key, uint64_t v)
{
  fs_out_str(o, key);
  fs_out_str(o, "\"0x");
  fs_out_hex(o, v, 1);
  fs_out_char(o, '"');
}

static const char *status_name(int st)
{
  static const char *const names[] = {
      "ok",     "no_info",  "missing",  "unreadable", "not_regular",
      "binary", "past_eof", "changing", "stale_md5",  "stale_newer"};
  return st >= 0 && st < (int)(sizeof names / sizeof names[0]) ? names[st]
                                                               : "unknown";
}

static void json_frame(fmt_ctx *c, const faststack_frame *f,
                       const faststack_source_line *l, int first)
{
  fs_out *o = c->o;
  fs_out_str(o, first ? "{\"function\":" : ",{\"function\":");
  fs_json_str(o, f->function);
  fs_out_str(o, ",\"file\":");
  fs_json_str(o, f->file);
  fs_out_str(o, ",\"line\":");
  fs_out_dec(o, f->line);
  fs_out_str(o, ",\"column\":");
  fs_out_dec(o, f->column);
  fs_out_str(o, f->inlined ? ",\"inlined\":true" : ",\"inlined\":false");
  fs_out_str(o, ",\"module\":");
  fs_json_str(o, f->module);
  fs_out_str(o, ",\"build_id\":");
  fs_json_str(o, f->build_id);
  json_hex(o, ",\"pc\":", f->pc);
  json_hex(o, ",\"module_offset\":", f->module_offset);
  json_hex(o, ",\"function_offset\":", f->function_offset);
  if (l) {
    fs_out_str(o, ",\"source\":");
    fs_json_str(o, l->text);
    fs_out_str(o, ",\"source_status\":\"");
    fs_out_str(o, status_name(l->status));
    fs_out_str(o, l->status == FASTSTACK_LINE_STALE_MD5 ||
                          l->status == FASTSTACK_LINE_STALE_NEWER
                      ? "\",\"stale\":true"
                      : "\",\"stale\":false");
  }
  fs_out_char(o, '}');
}

/* ----------------------------------------------------------- the walk */

static void header(fmt_ctx *c)
{
  const char *h = c->opt->header;
  if (h && !h[0]) return;
  if (h) {
    fs_out_str(c->o, h);
  } else {
    fs_out_str(c->o, "stack trace (pid ");
    fs_out_dec(c->o, getpid());
    fs_out_str(c->o, ", tid ");
    fs_out_dec(c->o, fs_gettid());
    fs_out_str(c->o, "):");
  }
  fs_out_char(c->o, '\n');
}

void fs_elide_plan(int n, int max, int *head, int *tail)
{
  if (max <= 0) max = 100;
  *head = n;
  *tail = 0;
  if (n > max) {
    *head = (max + 1) / 2;
    *tail = max / 2;
  }
}

void fs_format_elided(fs_out *o, int64_t elided)
{
  fs_out_str(o, "...");
  fs_out_dec(o, elided);
  fs_out_str(o, " frames elided...\n");
}

/* Which frames are printed: PCs (a non-inlined frame ends one) in
 * [0, head) and [npcs - tail, npcs). The caller may already have dropped
 * elided_pcs PCs from the middle (the one-call path does, to symbolize
 * only what is printed): then the marker goes after the first half of
 * the PCs given. */
typedef struct elision {
  int head, tail, npcs;
} elision;

static elision plan(const faststack_frame *frames, int n, int max,
                    int elided_pcs)
{
  elision e = {0, 0, 0};
  for (int i = 0; i < n; i++) e.npcs += !frames[i].inlined;
  if (elided_pcs > 0) {
    e.head = (e.npcs + 1) / 2;
    e.tail = e.npcs - e.head;
    return e;
  }
  fs_elide_plan(e.npcs, max, &e.head, &e.tail);
  return e;
}

FASTSTACK_API size_t faststack_format_frames(
    const faststack_frame *frames, int n, const faststack_source_line *lines,
    int elided_pcs, const faststack_format_options *opts, char *buf, size_t cap)
{
  fs_out o;
  fs_out_init_buf(&o, buf, cap);
  fs_style st;
  char cwd[FS_CWD_MAX];
  fs_style_init(&st, opts, fs_format_use_color(opts, -1), cwd);
  fs_format_frames_out(&o, frames, n, lines, elided_pcs, opts, &st);
  return fs_out_finish(&o);
}

static void json_open(fs_out *o)
{
  fs_out_str(o, "{\"pid\":");
  fs_out_dec(o, getpid());
  fs_out_str(o, ",\"tid\":");
  fs_out_dec(o, fs_gettid());
  fs_out_str(o, ",\"frames\":[");
}

void fs_format_frames_out(fs_out *o, const faststack_frame *frames, int n,
                          const faststack_source_line *lines, int elided_pcs,
                          const faststack_format_options *opts,
                          const fs_style *st)
{
  faststack_format_options defaults;
  if (!opts) {
    faststack_format_options_init(&defaults, FASTSTACK_FORMAT_GO);
    opts = &defaults;
  }
  int json = opts->format == FASTSTACK_FORMAT_JSON;
  fmt_ctx c = {o, opts, st, json ? 0 : st->color};
  if (!frames) n = 0;
  elision e = plan(frames, n, opts->max_frames, elided_pcs);
  if (json) json_open(o);
  else fs_format_header(o, opts, c.color);
  int pc_index = 0, printed = 0, said_elided = 0, hidden = 0;
  int elided = elided_pcs + (e.npcs - e.head - e.tail);
  for (int i = 0; i < n; i++) {
    int keep = pc_index < e.head || pc_index >= e.npcs - e.tail;
    if ((!keep || (elided_pcs > 0 && pc_index == e.head)) && !said_elided) {
      said_elided = 1;
      if (!json) fs_format_elided(o, elided);
    }
    pc_index += !frames[i].inlined;
    if (!keep) continue;
    if (fs_frame_hidden(st, &frames[i])) {
      hidden++;
      continue;
    }
    const faststack_source_line *l = lines ? &lines[i] : NULL;
    if (json) json_frame(&c, &frames[i], l, !printed);
    else fs_format_frame(o, &frames[i], l, opts, st);
    printed++;
  }
  if (json) {
    fs_out_str(o, "],\"elided\":");
    fs_out_dec(o, elided);
    fs_out_str(o, ",\"hidden\":");
    fs_out_dec(o, hidden);
    fs_out_str(o, "}\n");
  }
}

void fs_format_header(fs_out *o, const faststack_format_options *opts,
                      int color)
{
  fmt_ctx c = {o, opts, NULL, color};
  if (opts->format != FASTSTACK_FORMAT_GIN || opts->header) header(&c);
}

void fs_format_frame(fs_out *o, const faststack_frame *f,
                     const faststack_source_line *l,
                     const faststack_format_options *opts, const fs_style *st)
{
  fmt_ctx c = {o, opts, st, st->color};
  if (opts->format == FASTSTACK_FORMAT_GIN) gin_frame(&c, f, l);
  else fs_format_go_frame(o, f, l, st);
}

void fs_format_context_frame(fs_out *o, const faststack_frame *f,
                             const faststack_source_line *ctx, int nctx,
                             const fs_style *st)
{
  fmt_ctx c = {o, NULL, st, st->color};
  go_frame_head(&c, f);
  go_context(&c, ctx, nctx, f->line);
}

FASTSTACK_API size_t faststack_format_frame_context(
    const faststack_frame *f, const faststack_source_line *ctx, int nctx,
    const faststack_format_options *opts, char *buf, size_t cap)
{
  fs_out o;
  fs_out_init_buf(&o, buf, cap);
  fs_style st;
  char cwd[FS_CWD_MAX];
  fs_style_init(&st, opts, fs_format_use_color(opts, -1), cwd);
  if (f) fs_format_context_frame(&o, f, ctx, ctx ? nctx : 0, &st);
  return fs_out_finish(&o);
}

FASTSTACK_API size_t faststack_json_quote(const char *s, char *buf, size_t cap)
{
  fs_out o;
  fs_out_init_buf(&o, buf, cap);
  fs_json_str(&o, s);
  return fs_out_finish(&o);
}
