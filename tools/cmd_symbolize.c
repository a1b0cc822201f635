/* cmd_symbolize.c — `faststack symbolize`: a drop-in for GNU addr2line
 * (same flags, byte-identical output where addr2line is right), plus
 * --json, raw trace lines (module+offset+build-id, found by path or by
 * build-id), --source[=N] and --format go|gin|json to turn a raw trace or a
 * whole crash report into an annotated one. */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "faststack.h"

#define SYM_FRAMES_MAX 64
#define SYM_STRBUF (64 * 1024)

typedef struct sym_opts {
  const char *exe;
  int functions, inlines, demangle, addresses, pretty, basenames, json;
  int source, context;    /* --source[=N] */
  int format;             /* -1: addr2line output; else FASTSTACK_FORMAT_* */
  int data;               /* --data: name data addresses */
  int debuginfod;         /* 1 (default when DEBUGINFOD_URLS is set), -1 */
  int debuginfod_timeout; /* seconds per download, 0: the library's 30 */
  char debug_dirs[4096], search_path[4096]; /* colon-separated */
} sym_opts;

static void usage(FILE *f)
{
  fprintf(
      f,
      "usage: faststack symbolize [-afiCps] [-e FILE] [--json] "
      "[--source[=N]] [ADDRESS...]\n"
      "       faststack symbolize --format go|gin|json [--source[=N]] "
      "< RAW-TRACE\n\n"
      "Like addr2line: each ADDRESS (hex, module-relative; or one per "
      "line on stdin)\nis looked up in FILE (default a.out). Lines of "
      "faststack's raw format\n(#N 0xPC MODULE+0xOFFSET build-id=...) are "
      "looked up in their module,\nfound by path or by build-id under "
      "FASTSTACK_DEBUG_ROOT or /usr/lib/debug.\n\n"
      "  -e, --exe=FILE     the ELF file to read\n"
      "  -f, --functions    print function names\n"
      "  -i, --inlines      print the callers of inlined functions\n"
      "  -C, --demangle     demangle C++ names\n"
      "  -a, --addresses    print the address before its answer\n"
      "  -p, --pretty-print one line per address\n"
      "  -s, --basenames    file base names only\n"
      "      --json         one JSON object per address, all frame "
      "fields\n"
      "      --source[=N]   the source line (or N lines around it) under "
      "each frame\n"
      "      --format F     read a raw trace (or a crash report) and "
      "print it\n"
      "                     annotated: go, gin or json (coloured on a "
      "terminal)\n"
      "      --data         name data addresses (variables, thread-locals):\n"
      "                     NAME, then START SIZE (llvm-symbolizer's "
      "DATA); with -p\n"
      "                     NAME+0xOFFSET on one line\n"
      "      --debug-dir D  also look for debug files under D as under "
      "/usr/lib/debug\n"
      "                     (D/.build-id/xx/yyyy.debug, debug links, "
      "D/.dwz/); repeatable\n"
      "      --search-path DIRS  colon-separated folders where the "
      "modules of a trace\n"
      "                     from another host are found by build-id and "
      "base name\n"
      "      --debuginfod, --no-debuginfod  fetch missing debug files and "
      "sources by\n"
      "                     build-id from DEBUGINFOD_URLS (default: on "
      "when it is set)\n"
      "      --debuginfod-timeout=S  give up a download after S seconds "
      "(default 30)\n"
      "  -h, --help         this text\n");
}

/* --------------------------------------------------------- arguments */

static int parse_args(int argc, char **argv, sym_opts *o, int *first)
{
  int i;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      i++;
      break;
    }
    if (a[0] != '-' || !a[1]) break;
    if (a[1] == '-') {
      if (!strcmp(a, "--functions")) o->functions = 1;
      else if (!strcmp(a, "--inlines")) o->inlines = 1;
      else if (!strncmp(a, "--demangle", 10)) o->demangle = 1;
      else if (!strcmp(a, "--addresses")) o->addresses = 1;
      else if (!strcmp(a, "--pretty-print")) o->pretty = 1;
      else if (!strcmp(a, "--basenames")) o->basenames = 1;
      else if (!strcmp(a, "--json")) o->json = 1;
      else if (!strcmp(a, "--data")) o->data = 1;
      else if (!strcmp(a, "--debuginfod")) o->debuginfod = 1;
      else if (!strcmp(a, "--no-debuginfod")) o->debuginfod = -1;
      else if (!strncmp(a, "--debuginfod-timeout=", 21)) {
        if (cli_int("symbolize", "--debuginfod-timeout=S", a + 21, 1, 3600,
                    &o->debuginfod_timeout))
          return -1;
      } else if (!strcmp(a, "--debug-dir") || !strncmp(a, "--debug-dir=", 12) ||
                 !strcmp(a, "--search-path") ||
                 !strncmp(a, "--search-path=", 14)) {
        int dd = !strncmp(a, "--debug-dir", 11);
        const char *eq = strchr(a, '=');
        const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        char *list = dd ? o->debug_dirs : o->search_path;
        size_t l = strlen(list);
        if (!v || l + strlen(v) + 2 > sizeof o->debug_dirs) {
          cli_usage_error("symbolize",
                          "%s needs a folder (and fewer than "
                          "4096 bytes in all)",
                          dd ? "--debug-dir" : "--search-path");
          return -1;
        }
        snprintf(list + l, sizeof o->debug_dirs - l, "%s%s", l ? ":" : "", v);
      } else if (!strcmp(a, "--source")) o->source = 1;
      else if (!strncmp(a, "--source=", 9)) {
        o->source = 1;
        if (cli_int("symbolize", "--source=N", a + 9, 0, 1000, &o->context))
          return -1;
      } else if (!strncmp(a, "--exe=", 6)) o->exe = a + 6;
      else if (!strcmp(a, "--exe") && i + 1 < argc) o->exe = argv[++i];
      else if (!strcmp(a, "--format") || !strncmp(a, "--format=", 9)) {
        const char *f = a[8] == '=' ? a + 9 : i + 1 < argc ? argv[++i] : "";
        if (!strcmp(f, "go")) o->format = FASTSTACK_FORMAT_GO;
        else if (!strcmp(f, "gin")) o->format = FASTSTACK_FORMAT_GIN;
        else if (!strcmp(f, "json")) o->format = FASTSTACK_FORMAT_JSON;
        else {
          cli_usage_error("symbolize",
                          "--format must be go, gin or json, "
                          "not '%s'",
                          f);
          return -1;
        }
      } else if (!strcmp(a, "--help")) {
        usage(stdout);
        exit(0);
      } else {
        cli_usage_error("symbolize", "unknown option '%s'", a);
        return -1;
      }
      continue;
    }
    /* Short flags, combined as addr2line allows: -afiCe prog. */
    for (const char *p = a + 1; *p; p++) {
      switch (*p) {
      case 'f': o->functions = 1; break;
      case 'i': o->inlines = 1; break;
      case 'C': o->demangle = 1; break;
      case 'a': o->addresses = 1; break;
      case 'p': o->pretty = 1; break;
      case 's': o->basenames = 1; break;
      case 'h': usage(stdout); exit(0);
      case 'e':
        if (p[1]) o->exe = p + 1;
        else if (i + 1 < argc) o->exe = argv[++i];
        else {
          cli_usage_error("symbolize", "-e needs a FILE");
          return -1;
        }
        p += strlen(p) - 1;
        break;
      default:
        cli_usage_error("symbolize", "unknown option '-%c'", *p);
        return -1;
      }
    }
  }
  *first = i;
  return 0;
}

/* ------------------------------------------------------------ output */

/* The source line (or lines around it) under a frame. The frame's own
 * line carries its status's note, so a source edited since the build
 * (newer than the file, or another MD5) is never shown unmarked. */
static void print_source(const sym_opts *o, const faststack_frame *f)
{
  if (!o->source || !f->file || f->line <= 0) return;
  static faststack_source_line ctx[2001];
  static char text[512 * 1024];
  faststack_sources *src = faststack_default_sources();
  if (o->context <= 0) {
    faststack_source_line l;
    faststack_annotate(src, f, 1, &l, text, sizeof text);
    const char *note = faststack_source_status_note(l.status);
    if (l.text && note) printf("    %s  [%s]\n", l.text, note);
    else if (l.text) printf("    %s\n", l.text);
    else if (note) printf("    [%s]\n", note);
    return;
  }
  int k = faststack_annotate_context(src, f, o->context, ctx, 2001, text,
                                     sizeof text);
  for (int i = 0; i < k; i++) {
    int own = ctx[i].line == f->line;
    const char *note = own ? faststack_source_status_note(ctx[i].status) : NULL;
    if (!ctx[i].text && !note) continue;
    printf("%d %s: %s", ctx[i].line, own ? ">" : " ",
           ctx[i].text ? ctx[i].text : "");
    if (note) printf("  [%s]", note);
    putchar('\n');
  }
}

/* Output of print_gnu: stdout without printf's parsing, unlocked (the
 * tool has one thread). */
static void out_str(const char *str)
{
  fputs_unlocked(str, stdout);
}

static void out_dec(int v)
{
  char b[16], *p = b + sizeof b;
  unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;
  *--p = '\0';
  do *--p = (char)('0' + u % 10);
  while (u /= 10);
  if (v < 0) *--p = '-';
  out_str(p);
}

/* addr2line's answer for one address, byte for byte. */
static void print_gnu(const sym_opts *o, uint64_t addr,
                      const faststack_frame *fr, int n)
{
  if (o->addresses) {
    printf("0x%016llx", (unsigned long long)addr);
    out_str(o->pretty ? ": " : "\n");
  }
  int found = n > 0 && (fr[0].function || fr[0].file);
  if (!found) {
    if (o->functions) out_str(o->pretty ? "?? " : "??\n");
    out_str("??:0\n");
    return;
  }
  for (int i = 0; i < n; i++) {
    if (o->functions) {
      out_str(fr[i].function && fr[i].function[0] ? fr[i].function : "??");
      out_str(o->pretty ? " at " : "\n");
    }
    const char *file = fr[i].file;
    if (o->basenames && file) {
      const char *s = strrchr(file, '/');
      if (s) file = s + 1;
    }
    out_str(file ? file : "??");
    putc_unlocked(':', stdout);
    if (fr[i].line) out_dec(fr[i].line);
    else putc_unlocked('?', stdout);
    putc_unlocked('\n', stdout);
    print_source(o, &fr[i]);
    if (!o->inlines || i + 1 >= n) break;
    if (o->pretty) out_str(" (inlined by) ");
  }
}

static void json_str(const char *s)
{
  if (!s) {
    fputs("null", stdout);
    return;
  }
  char small[8192];
  char *buf = small;
  size_t need = faststack_json_quote(s, small, sizeof small);
  if (need >= sizeof small && (buf = malloc(need + 1)))
    faststack_json_quote(s, buf, need + 1);
  fputs(buf ? buf : small, stdout);
  if (buf != small) free(buf);
}

static void print_json(uint64_t addr, const faststack_frame *fr, int n)
{
  printf("{\"address\":\"0x%llx\",\"frames\":[", (unsigned long long)addr);
  for (int i = 0; i < n; i++) {
    const faststack_frame *f = &fr[i];
    printf("%s{\"function\":", i ? "," : "");
    json_str(f->function);
    printf(",\"file\":");
    json_str(f->file);
    printf(",\"line\":%d,\"column\":%d,\"inlined\":%s,\"module\":", f->line,
           f->column, f->inlined ? "true" : "false");
    json_str(f->module);
    printf(",\"build_id\":");
    json_str(f->build_id);
    static const char *const src[] = {"none", "dwarf", "symtab", "dynsym"};
    printf(",\"module_offset\":\"0x%llx\",\"function_offset\":\"0x%llx\","
           "\"source\":\"%s\"}",
           (unsigned long long)f->module_offset,
           (unsigned long long)f->function_offset,
           f->source < 4 ? src[f->source] : "none");
  }
  printf("]}\n");
}

/* ------------------------------------------------------------ lookups */

/* The modules raw lines named, opened once each, by the path and
 * build-id the line gives. */
typedef struct opened {
  char module[4096];
  char build_id[129];
  faststack_symbolizer *s; /* NULL: not found (warned once) */
} opened;

/* Modules kept open at once: the input is untrusted (pasted logs);
 * frames of further modules print unresolved. */
#define SYM_MAX_MODULES 256

typedef struct ctx {
  sym_opts o;
  faststack_symbolizer_config cfg;
  faststack_symbolizer *exe; /* the -e file, opened on first use */
  int exe_failed;
  int missing; /* a raw line's module was not found */
  opened *mods;
  int nmods, capmods;
} ctx;

static faststack_symbolizer *open_file(const ctx *c, const char *path)
{
  return faststack_symbolizer_open_config(path, &c->cfg, NULL);
}

/* Why an -e file could not be read: missing, unreadable, or not ELF. */
static const char *why_unreadable(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) return strerror(errno);
  unsigned char m[4] = {0};
  size_t n = fread(m, 1, 4, f);
  int err = ferror(f) ? errno : 0;
  fclose(f);
  if (err) return strerror(err);
  if (n < 4 || memcmp(m, "\177ELF", 4)) return "not an ELF file";
  return "a damaged or unsupported ELF file";
}

static faststack_symbolizer *exe_symbolizer(ctx *c)
{
  if (!c->exe && !c->exe_failed) {
    c->exe = open_file(c, c->o.exe);
    if (!c->exe) {
      fprintf(stderr, "faststack symbolize: '%s': %s\n", c->o.exe,
              why_unreadable(c->o.exe));
      c->exe_failed = 1;
    }
  }
  return c->exe;
}

/* --data: llvm-symbolizer's DATA answer (NAME, then START SIZE in
 * decimal, then a blank line), or with -p one line NAME+0xOFFSET. */
static void print_data(const ctx *c, uint64_t addr,
                       const faststack_data_symbol *d, int found)
{
  if (c->o.json) {
    printf("{\"address\":\"0x%llx\",\"data\":", (unsigned long long)addr);
    if (!found) {
      printf("null}\n");
      return;
    }
    printf("{\"name\":");
    json_str(d->name);
    printf(",\"start\":\"0x%llx\",\"size\":%llu,\"offset\":\"0x%llx\","
           "\"tls\":%s}}\n",
           (unsigned long long)d->start, (unsigned long long)d->size,
           (unsigned long long)d->offset, d->tls ? "true" : "false");
    return;
  }
  if (c->o.addresses) {
    printf("0x%016llx", (unsigned long long)addr);
    out_str(c->o.pretty ? ": " : "\n");
  }
  const char *name = found && d->name ? d->name : "??";
  if (c->o.pretty) {
    if (found && d->offset)
      printf("%s+0x%llx\n", name, (unsigned long long)d->offset);
    else printf("%s\n", name);
    return;
  }
  printf("%s\n%llu %llu\n\n", name, found ? (unsigned long long)d->start : 0ull,
         found ? (unsigned long long)d->size : 0ull);
}

/* The symbolizer of a raw line's module, opened on its first line and
 * kept: faststack_symbolizer_open_module (the path when its build-id
 * matches, else by build-id and base name under the search path, the
 * debug roots, debuginfod). A module that cannot be found gets one
 * warning on stderr, then NULL. */
static faststack_symbolizer *module_for(ctx *c, const faststack_raw_frame *f)
{
  for (int i = 0; i < c->nmods; i++)
    if (!strcmp(c->mods[i].module, f->module) &&
        !strcmp(c->mods[i].build_id, f->build_id)) {
      if (!c->mods[i].s) c->missing = 1;
      return c->mods[i].s;
    }
  if (c->nmods >= SYM_MAX_MODULES) {
    c->missing = 1;
    return NULL;
  }
  const char *err = NULL;
  faststack_symbolizer *s =
      faststack_symbolizer_open_module(f->module, f->build_id, &c->cfg, &err);
  if (!s) {
    c->missing = 1;
    fprintf(stderr,
            "faststack symbolize: warning: %s%s%s: %s; its frames stay ?? "
            "(see --search-path, --debug-dir, DEBUGINFOD_URLS)\n",
            f->module, f->build_id[0] ? " build-id=" : "", f->build_id,
            err ? err : "not found");
  }
  if (c->nmods == c->capmods) {
    int nc = c->capmods ? c->capmods * 2 : 16;
    opened *n = realloc(c->mods, (size_t)nc * sizeof *n);
    if (!n) return s; /* not kept: looked up again next time */
    c->mods = n;
    c->capmods = nc;
  }
  opened *o = &c->mods[c->nmods++];
  snprintf(o->module, sizeof o->module, "%s", f->module);
  snprintf(o->build_id, sizeof o->build_id, "%s", f->build_id);
  o->s = s;
  return s;
}

static void modules_free(ctx *c)
{
  for (int i = 0; i < c->nmods; i++) faststack_symbolizer_free(c->mods[i].s);
  free(c->mods);
  c->mods = NULL;
  c->nmods = c->capmods = 0;
}

static int answer(ctx *c, const char *text)
{
  static faststack_frame fr[SYM_FRAMES_MAX];
  static char strbuf[SYM_STRBUF];
  faststack_raw_frame rf;
  faststack_symbolizer *s;
  uint64_t addr;
  if (faststack_raw_frame_parse(text, &rf)) {
    s = rf.module[0] ? module_for(c, &rf) : NULL;
    addr = rf.offset;
  } else {
    s = exe_symbolizer(c);
    if (!s) return -1;
    addr = strtoull(text, NULL, 16); /* like addr2line: garbage is 0 */
  }
  if (c->o.data) {
    faststack_data_symbol d;
    int found = s && faststack_symbolize_data(s, (uintptr_t)addr, &d, strbuf,
                                              sizeof strbuf) == 1;
    print_data(c, addr, &d, found);
    return 0;
  }
  int n = s ? faststack_symbolize(s, (uintptr_t)addr, FASTSTACK_PC_EXACT, fr,
                                  SYM_FRAMES_MAX, strbuf, sizeof strbuf)
            : 0;
  if (n > 0) /* addresses here are module-relative */
    for (int i = 0; i < n; i++) fr[i].pc = (uintptr_t)addr;
  if (c->o.json) print_json(addr, fr, n > 0 ? n : 0);
  else print_gnu(&c->o, addr, fr, n > 0 ? n : 0);
  return 0;
}

/* ------------------------------------------------------------ input */

/* Lines of stdin, read with read(2). Answers are flushed whenever no
 * complete line is left in the buffer, before the read that may block:
 * a pipe partner that sends one address and waits gets its answer at
 * once, and a file or a burst of input costs one write per buffer
 * rather than one per address. */
typedef struct line_in {
  char *buf;
  size_t cap, start, end; /* unread bytes are buf[start..end) */
  int eof;
} line_in;

/* The next line without its newline (and CR), NUL-terminated, or NULL
 * at the end of input. */
static char *next_line(line_in *in)
{
  for (;;) {
    /* Nothing buffered yet: buf may still be NULL, which memchr must not
     * get even for 0 bytes. */
    char *nl = in->end > in->start
                   ? memchr(in->buf + in->start, '\n', in->end - in->start)
                   : NULL;
    if (nl || (in->eof && in->start < in->end)) {
      char *line = in->buf + in->start;
      size_t len = nl ? (size_t)(nl - line) : in->end - in->start;
      in->start += nl ? len + 1 : len;
      while (len > 0 && line[len - 1] == '\r') len--;
      line[len] = '\0'; /* over the newline, or the spare byte below */
      return line;
    }
    if (in->eof) return NULL;
    fflush(stdout);
    if (in->start > 0) { /* keep the partial line at the front */
      memmove(in->buf, in->buf + in->start, in->end - in->start);
      in->end -= in->start;
      in->start = 0;
    }
    if (in->cap - in->end < 4096 + 1) {
      size_t cap = in->cap ? in->cap * 2 : 65536;
      char *b = realloc(in->buf, cap);
      if (!b) return NULL;
      in->buf = b;
      in->cap = cap;
    }
    /* One byte stays spare for the NUL of a last line without '\n'. */
    ssize_t r = read(0, in->buf + in->end, in->cap - in->end - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) in->eof = 1;
    else in->end += (size_t)r;
  }
}

int cmd_symbolize(int argc, char **argv)
{
  ctx c;
  memset(&c, 0, sizeof c);
  c.o.exe = "a.out";
  c.o.format = -1;
  int first;
  if (parse_args(argc, argv, &c.o, &first) != 0) return 2;
  /* An offline tool: fetching what is missing is what a person wants
   * (as with gdb), when servers are configured. */
  const char *urls = getenv("DEBUGINFOD_URLS");
  c.cfg.base.no_demangle = !c.o.demangle;
  c.cfg.debug_dirs = c.o.debug_dirs[0] ? c.o.debug_dirs : NULL;
  c.cfg.search_path = c.o.search_path[0] ? c.o.search_path : NULL;
  c.cfg.debuginfod = c.o.debuginfod ? c.o.debuginfod : urls && *urls ? 1 : -1;
  c.cfg.debuginfod_timeout_s = c.o.debuginfod_timeout;
  if (c.cfg.debuginfod > 0)
    faststack_sources_use_debuginfod(faststack_default_sources(), 1);
  if (c.o.format >= 0) {
    c.cfg.base.no_demangle = 0; /* traces are read by people */
    faststack_format_options fo;
    faststack_format_options_init(&fo, c.o.format);
    fo.source = c.o.source;
    fo.context = c.o.context;
    return faststack_symbolize_report(stdin, stdout, &fo, &c.cfg, stderr);
  }
  int rc = 0;
  if (first < argc) {
    for (int i = first; i < argc && rc == 0; i++)
      if (answer(&c, argv[i]) != 0) rc = 1;
  } else {
    line_in in = {0};
    char *line;
    while (rc == 0 && (line = next_line(&in)))
      if (answer(&c, line) != 0) rc = 1;
    free(in.buf);
  }
  fflush(stdout);
  faststack_symbolizer_free(c.exe);
  modules_free(&c);
  return rc;
}
