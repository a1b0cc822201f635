/* fuzz_rawtrace — the parser behind faststack_symbolize_report
 * (src/format/report.c: `faststack symbolize --format`, the supervisor of
 * `faststack run`, the crash handler's symbolizer process): pasted crash
 * reports and logs, and reports from crashing processes, are untrusted
 * text. Every line goes through fs_raw_parse_line, and the whole text
 * through fs_raw_annotate (symbolize, annotate, format; crash reports and
 * dumps parsed into one JSON object each) in the format the first byte
 * picks (its low bits: Go, gin or JSON; then source lines on or off,
 * context lines, colour). Seeds are real reports (fuzz/seeds/rawtrace). */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faststack.h"
#include "format/report.h"

static void each_line(const char *text, size_t n)
{
  static faststack_raw_frame f; /* a path's worth of bytes: not on the stack */
  char line[8192];
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && text[i] != '\n') continue;
    size_t len = i - start;
    if (len >= sizeof line) len = sizeof line - 1;
    memcpy(line, text + start, len);
    line[len] = '\0';
    (void)fs_raw_parse_line(line, &f);
    start = i + 1;
  }
}

/* Frames of modules on this machine (libc) are symbolized from the
 * module itself, not from a separate debug file: the parser is what is
 * fuzzed here (fuzz_elf and fuzz_dwarf_* take the readers), and each run
 * opens its files afresh. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  setenv("FASTSTACK_DEBUG_ROOT", "/nonexistent", 1);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static FILE *sink;
  if (!sink) sink = fopen("/dev/null", "w");
  if (size < 2 || !sink) return 0;
  unsigned cfg = data[0];
  const char *text = (const char *)data + 1;
  size_t n = size - 1;
  each_line(text, n);
  static const int formats[] = {FASTSTACK_FORMAT_GO, FASTSTACK_FORMAT_GIN,
                                FASTSTACK_FORMAT_JSON, FASTSTACK_FORMAT_GO};
  FILE *in = fmemopen((void *)text, n, "r");
  if (!in) return 0;
  /* The format, source lines, context lines and colour from the first
   * byte: a crash report in JSON is parsed into its fields. */
  faststack_format_options o;
  faststack_format_options_init(&o, formats[cfg & 3]);
  o.source = (cfg >> 2) & 1;
  o.context = (cfg >> 3) & 3;
  o.color = (cfg >> 5) & 1;
  fs_raw_annotate(in, sink, &o, NULL, NULL);
  fclose(in);
  return 0;
}
