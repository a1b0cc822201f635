/* test_format.c — Go, gin and JSON formats of known frames, byte for
 * byte; elision like Go's; colour only when asked or on a TTY; JSON that
 * a real parser (Python's json) accepts, with hostile strings. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"

static faststack_frame frames[3];
static faststack_source_line lines[3];

static void setup(void)
{
  memset(frames, 0, sizeof frames);
  frames[0] = (faststack_frame){.function = "parse_header",
                                .file = "/src/http.c",
                                .line = 42,
                                .column = 7,
                                .inlined = 1,
                                .module = "/bin/srv",
                                .pc = 0x401234,
                                .module_offset = 0x1233};
  frames[1] = (faststack_frame){.function = "handle",
                                .file = "/src/server.c",
                                .line = 17,
                                .module = "/bin/srv",
                                .build_id = "abcd",
                                .pc = 0x401234,
                                .module_offset = 0x1233,
                                .function_offset = 0x2b};
  frames[2] = (faststack_frame){.function = NULL,
                                .module = "/lib/libc.so.6",
                                .pc = 0x7f0000001000,
                                .module_offset = 0x27249};
  lines[0] = (faststack_source_line){"  h->len = *p;", 42, FASTSTACK_LINE_OK};
  lines[1] = (faststack_source_line){"parse_header(h, buf);", 17,
                                     FASTSTACK_LINE_STALE_NEWER};
  lines[2] = (faststack_source_line){NULL, 0, FASTSTACK_LINE_NO_INFO};
}

static void test_go(void)
{
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  o.header = "goroutine 1 [running]:";
  char buf[2048];
  size_t n = faststack_format_frames(frames, 3, lines, 0, &o, buf, sizeof buf);
  const char *want =
      "goroutine 1 [running]:\n"
      "parse_header(...) (inlined)\n"
      "\t/src/http.c:42\n"
      "\t    h->len = *p;\n"
      "handle(...)\n"
      "\t/src/server.c:17 +0x2b\n"
      "\t    parse_header(h, buf);  [stale: source newer than binary]\n"
      "?"
      "?(...)\n"
      "\t/lib/libc.so.6+0x27249\n";
  CHECK_STREQ(buf, want);
  CHECK_EQ(n, strlen(want));
  /* Without source lines. */
  faststack_format_frames(frames, 2, NULL, 0, &o, buf, sizeof buf);
  CHECK_STREQ(buf, "goroutine 1 [running]:\nparse_header(...) (inlined)\n"
                   "\t/src/http.c:42\n"
                   "handle(...)\n\t/src/server.c:17 +0x2b\n");
}

static void test_gin(void)
{
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GIN);
  char buf[2048];
  faststack_format_frames(frames, 3, lines, 0, &o, buf, sizeof buf);
  CHECK_STREQ(
      buf,
      "/src/http.c:42 (0x401234)\n"
      "\tparse_header (inlined): h->len = *p;\n"
      "/src/server.c:17 (0x401234)\n"
      "\thandle: parse_header(h, buf);  [stale: source newer than binary]\n"
      "/lib/libc.so.6+0x27249 (0x7f0000001000)\n"
      "\t??: ???\n");
}

static int json_valid(const char *text)
{
  FILE *p = popen("python3 -c 'import json,sys; json.load(sys.stdin)'", "w");
  if (!p) return 0;
  fputs(text, p);
  return pclose(p) == 0;
}

static void test_json(void)
{
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_JSON);
  char buf[4096], want[4096];
  faststack_format_frames(frames, 2, lines, 0, &o, buf, sizeof buf);
  snprintf(
      want, sizeof want,
      "{\"pid\":%d,\"tid\":%d,\"frames\":["
      "{\"function\":\"parse_header\",\"file\":\"/src/http.c\",\"line\":42,"
      "\"column\":7,\"inlined\":true,\"module\":\"/bin/srv\",\"build_id\":null,"
      "\"pc\":\"0x401234\",\"module_offset\":\"0x1233\",\"function_offset\":"
      "\"0x0\","
      "\"source\":\"  h->len = *p;\",\"source_status\":\"ok\",\"stale\":false},"
      "{\"function\":\"handle\",\"file\":\"/src/server.c\",\"line\":17,"
      "\"column\":0,\"inlined\":false,\"module\":\"/bin/"
      "srv\",\"build_id\":\"abcd\","
      "\"pc\":\"0x401234\",\"module_offset\":\"0x1233\",\"function_offset\":"
      "\"0x2b\","
      "\"source\":\"parse_header(h, buf);\",\"source_status\":\"stale_newer\","
      "\"stale\":true}],\"elided\":0,\"hidden\":0}\n",
      getpid(), gettid());
  CHECK_STREQ(buf, want);
  CHECK(json_valid(buf));
  /* Hostile strings stay valid JSON. */
  faststack_frame h = frames[1];
  h.function = "quote\" back\\slash \x01 ctl \xff\xfe bad \xe2\x82\xac";
  h.file = "tab\there\nnewline";
  faststack_source_line hl = {"\x7f del", 1, FASTSTACK_LINE_OK};
  faststack_format_frames(&h, 1, &hl, 0, &o, buf, sizeof buf);
  CHECK(json_valid(buf));
  CHECK(strstr(buf, "\"quote\\\" back\\\\slash \\u0001 ctl \\u00ff\\u00fe bad "
                    "\xe2\x82\xac\"") != NULL);
}

static void test_elision(void)
{
  enum { N = 300 };
  static faststack_frame many[N];
  static char names[N][16];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "f%d", i);
    many[i] =
        (faststack_frame){.function = names[i], .file = "/x.c", .line = i + 1};
  }
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  o.header = "";
  o.max_frames = 10;
  static char buf[1 << 16];
  faststack_format_frames(many, N, NULL, 0, &o, buf, sizeof buf);
  CHECK(strncmp(buf, "f0(...)\n\t/x.c:1\n", 16) == 0);
  CHECK(strstr(buf, "f4(...)") != NULL);
  CHECK(strstr(buf, "f5(...)") == NULL);
  CHECK(strstr(buf, "\n...290 frames elided...\nf295(...)\n") != NULL);
  CHECK(strstr(buf, "f299(...)\n\t/x.c:300\n") != NULL);
  /* Inlined frames count with their physical frame. */
  for (int i = 0; i < N; i++) many[i].inlined = i % 2 == 0;
  faststack_format_frames(many, N, NULL, 0, &o, buf, sizeof buf);
  CHECK(strstr(buf, "...140 frames elided...") != NULL);
  CHECK(strstr(buf, "f9(...)") != NULL && strstr(buf, "f10(...)") == NULL);
}

static void test_color(void)
{
  faststack_format_options o;
  faststack_format_options_init(&o, FASTSTACK_FORMAT_GO);
  char buf[2048];
  faststack_format_frames(frames, 2, lines, 0, &o, buf, sizeof buf);
  CHECK(strchr(buf, '\033') == NULL); /* a buffer is no terminal */
  o.color = 1;
  faststack_format_frames(frames, 2, lines, 0, &o, buf, sizeof buf);
  CHECK(strstr(buf, "\033[1mparse_header\033[0m(...)") != NULL);
  /* Truncation like snprintf. */
  o.color = 0;
  size_t need = faststack_format_frames(frames, 2, lines, 0, &o, NULL, 0);
  char small[16];
  CHECK_EQ(
      faststack_format_frames(frames, 2, lines, 0, &o, small, sizeof small),
      need);
  CHECK_EQ(strlen(small), 15);
}

int main(void)
{
  setup();
  test_go();
  test_gin();
  test_json();
  test_elision();
  test_color();
  return CHECK_DONE("test_format");
}
