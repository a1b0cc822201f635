/* json_outputs.c — prints one of each JSON document the library writes,
 * one per line, for tests/json_schema.py to validate against
 * docs/faststack.schema.json: a live trace with source lines, an elided
 * one, frames with hostile strings and a filter, a recovered fault. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "faststack.h"

static char buf[1 << 20];
static volatile int *volatile nowhere;
static volatile int sink;

static void fault(void *arg)
{
  (void)arg;
  *nowhere = 1;
}

__attribute__((noinline)) static int deep(int d, faststack_format_options *o)
{
  if (d == 0) {
    uintptr_t pcs[64];
    int n = faststack_capture(pcs, 64, 0);
    faststack_format_trace(pcs, n, 0, o, buf, sizeof buf);
    fputs(buf, stdout);
    return 0;
  }
  int r = deep(d - 1, o);
  sink++;
  return r + 1;
}

int main(void)
{
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_JSON);
  uintptr_t pcs[64];
  int n = faststack_capture(pcs, 64, 0);
  faststack_format_trace(pcs, n, 0, &o, buf, sizeof buf);
  fputs(buf, stdout);
  o.max_frames = 4;
  o.source = 0;
  deep(12, &o);

  faststack_frame fr[2];
  memset(fr, 0, sizeof fr);
  fr[0].function = "quote\" back\\ tab\t bad\xff\xfe ctl\x01";
  fr[0].file = "/src/\xc3\xa9t\xc3\xa9.c";
  fr[0].line = 3;
  fr[0].inlined = 1;
  fr[0].module = "/bin/x";
  fr[0].build_id = "00ff";
  fr[0].pc = 0x401000;
  fr[0].module_offset = 0xfff;
  fr[1] = fr[0];
  fr[1].function = "std::__hidden()";
  fr[1].inlined = 0;
  fr[1].function_offset = 0x2b;
  faststack_source_line l[2] = {{"  x = 1;", 3, FASTSTACK_LINE_OK},
                                {NULL, 3, FASTSTACK_LINE_STALE_MD5}};
  faststack_format_options_init(&o, FASTSTACK_FORMAT_JSON);
  o.hide_functions = "std::__";
  faststack_format_frames(fr, 2, l, 0, &o, buf, sizeof buf);
  fputs(buf, stdout);

  faststack_recover_policy p;
  faststack_recover_policy_init(&p);
  p.log_fd = -1;
  faststack_recover_set_policy(&p);
  faststack_recover_report r;
  if (faststack_recover(fault, NULL, &r) != SIGSEGV) return 1;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_JSON);
  faststack_recover_format(&r, &o, buf, sizeof buf);
  fputs(buf, stdout);
  return 0;
}
