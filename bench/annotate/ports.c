/* ports.c — faithful C ports of gin's slowstack() and the article's
 * faststack(), built on the same symbolizer as faststack so that only the
 * source-reading strategy differs. They allocate the way the Go code does:
 * a file buffer per read, a line table, the debuginfo slice, strings for
 * the source text and a growing output buffer. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ports.h"

unsigned long long port_opens;

typedef struct outbuf {
  char *p;
  size_t len, cap;
} outbuf;

static void put(outbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(outbuf *b, const char *fmt, ...)
{
  va_list ap;
  for (;;) {
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0,
                      fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 1024;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return;
    b->p = p;
    b->cap = cap;
  }
}

static const char *trim(char *s)
{
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
    s[--n] = 0;
  return s;
}

/* One frame's debug info (the physical frame, like runtime.Frame). */
typedef struct dinfo {
  char *file, *func;
  int line, depth;
  uintptr_t pc;
  char *source;
} dinfo;

static int lookup(faststack_symbolizer *sym, uintptr_t pc, dinfo *d)
{
  faststack_frame f[16];
  char strs[2048];
  int k = faststack_symbolize(sym, pc, 0, f, 16, strs, sizeof strs);
  if (k <= 0) return 0;
  /* gin uses the physical frame's function and the PC's file:line. */
  d->file = strdup(f[0].file ? f[0].file : "???");
  d->func = strdup(f[k - 1].function ? f[k - 1].function : "???");
  d->line = f[0].line;
  d->pc = pc;
  return 1;
}

char *slowstack(faststack_symbolizer *sym, const uintptr_t *pcs, int n)
{
  outbuf b = {0};
  char *data = NULL, **lines = NULL, *last_file = NULL;
  size_t nlines = 0;
  for (int i = 0; i < n; i++) {
    dinfo d = {0};
    if (!lookup(sym, pcs[i], &d)) continue;
    put(&b, "%s:%d (0x%lx)\n", d.file, d.line, (unsigned long)d.pc);
    if (!last_file || strcmp(d.file, last_file)) {
      /* os.ReadFile + bytes.Split: the whole file, then a line table. */
      free(data);
      free(lines);
      data = NULL;
      lines = NULL;
      nlines = 0;
      FILE *f = fopen(d.file, "rb");
      port_opens++;
      if (f) {
        fseek(f, 0, SEEK_END);
        long sz = ftell(f);
        fseek(f, 0, SEEK_SET);
        data = malloc((size_t)sz + 1);
        size_t got = data ? fread(data, 1, (size_t)sz, f) : 0;
        if (data) data[got] = 0;
        fclose(f);
        for (size_t k = 0; data && k < got; k++) nlines += data[k] == '\n';
        lines = calloc(nlines + 2, sizeof *lines);
        size_t li = 0;
        for (char *p = data; lines && p && li <= nlines; li++) {
          lines[li] = p;
          char *nl = strchr(p, '\n');
          if (nl) *nl = 0;
          p = nl ? nl + 1 : NULL;
        }
      }
      free(last_file);
      last_file = strdup(d.file);
    }
    const char *src =
        lines && d.line > 0 && (size_t)d.line <= nlines + 1 && lines[d.line - 1]
            ? trim(lines[d.line - 1])
            : "???";
    put(&b, "\t%s: %s\n", d.func, src);
    free(d.file);
    free(d.func);
  }
  free(data);
  free(lines);
  free(last_file);
  return b.p;
}

static int by_file_line(const void *a, const void *b)
{
  const dinfo *x = a, *y = b;
  int c = strcmp(x->file, y->file);
  return c ? c : x->line - y->line;
}

static int by_depth(const void *a, const void *b)
{
  return ((const dinfo *)a)->depth - ((const dinfo *)b)->depth;
}

char *article_faststack(faststack_symbolizer *sym, const uintptr_t *pcs, int n)
{
  if (n > 64) n = 64; /* runtime.Callers into a 64-entry slice */
  dinfo *di = calloc((size_t)n, sizeof *di);
  int m = 0;
  for (int i = 0; di && i < n; i++)
    if (lookup(sym, pcs[i], &di[m])) di[m].depth = m, m++;
  qsort(di, (size_t)m, sizeof *di, by_file_line);
  char *line = NULL; /* the scanner's reusable buffer */
  size_t cap = 0;
  for (int i = 0; i < m;) {
    int j = i;
    while (j < m && !strcmp(di[j].file, di[i].file)) j++;
    FILE *f = fopen(di[i].file, "rb");
    port_opens++;
    int at = 0;
    for (int k = i; k < j; k++) {
      while (f && at < di[k].line && getline(&line, &cap, f) >= 0) at++;
      di[k].source = strdup(f && at == di[k].line ? trim(line) : "???");
    }
    if (f) fclose(f);
    i = j;
  }
  qsort(di, (size_t)m, sizeof *di, by_depth);
  outbuf b = {0};
  for (int i = 0; i < m; i++) {
    put(&b, "%s:%d (0x%lx)\n\t%s: %s\n", di[i].file, di[i].line,
        (unsigned long)di[i].pc, di[i].func, di[i].source);
    free(di[i].file);
    free(di[i].func);
    free(di[i].source);
  }
  free(line);
  free(di);
  return b.p;
}
