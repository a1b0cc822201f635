/* test_annotate.c — the source line provider: exact rendered text (tabs,
 * CRLF, long lines, invalid UTF-8, control bytes), every failure status
 * (missing, unreadable, directory, FIFO, binary, past EOF), the cache
 * (no file touched when warm), the missing-sources fast path, the
 * descriptor cap under 32 threads, path mapping, staleness by MD5 and by
 * mtime, context lines, and a file rewritten while being read. */
#include <errno.h>
#include <fcntl.h>
#if FS_HAVE_LIBMD
#include <md5.h>
#else
#include "annotate/md5.h"
#endif
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "faststack.h"

static char dir[256];

static void write_file(const char *name, const char *data, size_t n)
{
  char p[512];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "wb");
  CHECK(f != NULL);
  if (!f) return;
  fwrite(data, 1, n, f);
  fclose(f);
}

static const char *path_of(const char *name)
{
  static char p[8][512];
  static int k;
  k = (k + 1) % 8;
  snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
  return p[k];
}

static faststack_frame frame_at(const char *file, int line)
{
  faststack_frame f;
  memset(&f, 0, sizeof f);
  f.file = file;
  f.line = line;
  f.function = "fn";
  return f;
}

/* One line through a provider. */
static faststack_source_line one(faststack_sources *s, const char *file,
                                 int line, char *buf, size_t cap)
{
  faststack_frame f = frame_at(file, line);
  faststack_source_line l;
  CHECK_EQ(faststack_annotate(s, &f, 1, &l, buf, cap), 0);
  return l;
}

static void test_rendering(void)
{
  static const char text[] =
      "int main(void)\r\n"                  /* 1: CRLF */
      "{\n"                                 /* 2 */
      "\treturn 0;\n"                       /* 3: tab */
      "\xff\xfe bad utf8 \xe2\x82\xac ok\n" /* 4: invalid + valid UTF-8 */
      "esc \x1b[31m red\n"                  /* 5: control byte */
      "}";                                  /* 6: no final newline */
  write_file("render.c", text, sizeof text - 1);
  char longline[400];
  memset(longline, 'x', sizeof longline - 1);
  longline[sizeof longline - 1] = '\n';
  write_file("long.c", longline, sizeof longline);
  faststack_sources_options o = {.width = 20, .tab_width = 4};
  faststack_sources *s = faststack_sources_create(&o);
  char buf[4096];
  faststack_frame fr[7];
  for (int i = 0; i < 6; i++) fr[i] = frame_at(path_of("render.c"), i + 1);
  fr[6] = frame_at(path_of("long.c"), 1);
  faststack_source_line l[7];
  CHECK_EQ(faststack_annotate(s, fr, 7, l, buf, sizeof buf), 0);
  CHECK_STREQ(l[0].text, "int main(void)");
  CHECK_STREQ(l[1].text, "{");
  CHECK_STREQ(l[2].text, "    return 0;");
  /* 20 columns: \xff and \xfe take 4 each; the cut leaves an ellipsis. */
  CHECK_STREQ(l[3].text, "\\xff\\xfe bad utf8 \xe2\x82\xac \xe2\x80\xa6");
  CHECK_STREQ(l[4].text, "esc \\x1b[31m red");
  CHECK_STREQ(l[5].text, "}");
  CHECK_STREQ(l[6].text, "xxxxxxxxxxxxxxxxxxxx\xe2\x80\xa6");
  for (int i = 0; i < 7; i++) CHECK_EQ(l[i].status, FASTSTACK_LINE_OK);
  for (int i = 0; i < 7; i++) CHECK_EQ(l[i].line, fr[i].line);
  faststack_sources_stats st;
  faststack_sources_get_stats(s, &st);
  CHECK_EQ(st.opens, 2); /* each file once */
  /* Warm: the same trace again touches no file. */
  CHECK_EQ(faststack_annotate(s, fr, 7, l, buf, sizeof buf), 0);
  CHECK_STREQ(l[2].text, "    return 0;");
  faststack_sources_stats st2;
  faststack_sources_get_stats(s, &st2);
  CHECK_EQ(st2.opens, 2);
  CHECK_EQ(st2.hits, st.hits + 7);
  /* A strbuf too small: text NULL, status still known. */
  faststack_source_line tiny = one(s, path_of("render.c"), 1, buf, 4);
  CHECK(tiny.text == NULL);
  CHECK_EQ(tiny.status, FASTSTACK_LINE_OK);
  faststack_sources_free(s);
}

static void test_failures(void)
{
  faststack_sources *s = faststack_sources_create(NULL);
  char buf[1024];
  write_file("bin.c", "abc\n\0def\n", 9);
  write_file("short.c", "one\ntwo\n", 8);
  mkdir(path_of("adir.c"), 0755);
  mkfifo(path_of("fifo.c"), 0644);
  CHECK_EQ(one(s, path_of("bin.c"), 1, buf, sizeof buf).status,
           FASTSTACK_LINE_BINARY);
  faststack_source_line l = one(s, path_of("short.c"), 3, buf, sizeof buf);
  CHECK_EQ(l.status, FASTSTACK_LINE_PAST_EOF);
  CHECK(l.text == NULL);
  CHECK_STREQ(one(s, path_of("short.c"), 2, buf, sizeof buf).text, "two");
  CHECK_EQ(one(s, path_of("adir.c"), 1, buf, sizeof buf).status,
           FASTSTACK_LINE_NOT_REGULAR);
  /* A FIFO with no writer: must not block. */
  CHECK_EQ(one(s, path_of("fifo.c"), 1, buf, sizeof buf).status,
           FASTSTACK_LINE_NOT_REGULAR);
  CHECK_EQ(one(s, path_of("nothere.c"), 1, buf, sizeof buf).status,
           FASTSTACK_LINE_MISSING);
  faststack_frame nf = frame_at(NULL, 0);
  CHECK_EQ(faststack_annotate(s, &nf, 1, &l, buf, sizeof buf), 0);
  CHECK_EQ(l.status, FASTSTACK_LINE_NO_INFO);
  CHECK_EQ(faststack_annotate(NULL, &nf, 1, &l, buf, sizeof buf), -1);
  CHECK_EQ(faststack_annotate(s, NULL, 1, &l, buf, sizeof buf), -1);
  CHECK_EQ(faststack_annotate(s, &nf, -1, &l, buf, sizeof buf), -1);
  /* Long runs of empty lines. */
  size_t n = 200000;
  char *big = malloc(n + 8);
  memset(big, '\n', n);
  memcpy(big + n, "the end\n", 8);
  write_file("empty.c", big, n + 8);
  free(big);
  CHECK_STREQ(one(s, path_of("empty.c"), (int)n + 1, buf, sizeof buf).text,
              "the end");
  CHECK_STREQ(one(s, path_of("empty.c"), 7, buf, sizeof buf).text, "");
  faststack_sources_free(s);
  /* Permission denied: root reads everything, so check as nobody. */
  write_file("secret.c", "hidden\n", 7);
  chmod(path_of("secret.c"), 0);
  pid_t pid = fork();
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
    faststack_sources *t = faststack_sources_create(NULL);
    faststack_source_line r = one(t, path_of("secret.c"), 1, buf, sizeof buf);
    _exit(r.status == FASTSTACK_LINE_UNREADABLE && !r.text ? 0 : 1);
  }
  int ws;
  waitpid(pid, &ws, 0);
  CHECK(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
}

/* Lines longer than any buffer, lines across read chunks, and NUL bytes
 * past the cut: only the head of a line is kept for rendering (width*4+16
 * bytes), the rest is scanned, and the result is as if the whole line had
 * been rendered. */
static void test_long_lines(void)
{
  /* 4-byte UTF-8 characters are 1 column each: at width 20000 a line of
   * 20000 of them is 80000 bytes, all shown; one more and it is cut. */
  static const char emoji[] = "\xf0\x9f\x98\x80";
  size_t n1 = 20000 * 4, n2 = 20001 * 4;
  char *wide = malloc(n1 + 1 + n2 + 1 + 6);
  for (size_t i = 0; i < n1; i += 4) memcpy(wide + i, emoji, 4);
  wide[n1] = '\n';
  for (size_t i = 0; i < n2; i += 4) memcpy(wide + n1 + 1 + i, emoji, 4);
  wide[n1 + 1 + n2] = '\n';
  memcpy(wide + n1 + 1 + n2 + 1, "after\n", 6);
  write_file("wide.c", wide, n1 + 1 + n2 + 1 + 6);
  faststack_sources_options wo = {.width = 20000};
  faststack_sources *s = faststack_sources_create(&wo);
  static char big[4 << 20];
  faststack_frame fr[3];
  for (int i = 0; i < 3; i++) fr[i] = frame_at(path_of("wide.c"), i + 1);
  faststack_source_line l[3];
  CHECK_EQ(faststack_annotate(s, fr, 3, l, big, sizeof big), 0);
  CHECK_EQ(l[0].status, FASTSTACK_LINE_OK);
  CHECK(l[0].text && strlen(l[0].text) == n1 && !memcmp(l[0].text, wide, n1));
  CHECK_EQ(l[1].status, FASTSTACK_LINE_OK);
  CHECK(l[1].text && strlen(l[1].text) == n1 + 3 &&
        !memcmp(l[1].text, wide, n1) &&
        !strcmp(l[1].text + n1, "\xe2\x80\xa6"));
  CHECK_STREQ(l[2].text, "after");
  faststack_sources_free(s);
  free(wide);

  /* Default width (160). */
  size_t cap = 16379 + 1 + 18 + 200000 + 2 + 8 + 162 + 163 + 163 + 8;
  char *t = malloc(cap), *q = t;
  memset(q, 'f', 16379), q += 16379, *q++ = '\n'; /* 1 */
  memcpy(q, "int crossing = 1;\n", 18), q += 18;  /* 2: offset 16380 */
  memset(q, 'y', 200000), q += 200000;            /* 3: 13 chunks */
  memcpy(q, "\r\n", 2), q += 2;
  memcpy(q, "tail();\n", 8), q += 8;                           /* 4 */
  memset(q, 'z', 160), q += 160, memcpy(q, "\r\n", 2), q += 2; /* 5 */
  memset(q, 'z', 161), q += 161, memcpy(q, "\r\n", 2), q += 2; /* 6 */
  memset(q, 'q', 158), q += 158;                               /* 7: 160 cols */
  memcpy(q, "\xe2\x82\xac\xe2\x82\xac\n", 7), q += 7;
  memcpy(q, "end\n", 4), q += 4; /* 8 */
  write_file("spans.c", t, (size_t)(q - t));
  s = faststack_sources_create(NULL);
  faststack_frame g[8];
  for (int i = 0; i < 8; i++) g[i] = frame_at(path_of("spans.c"), 8 - i);
  faststack_source_line m[8];
  CHECK_EQ(faststack_annotate(s, g, 8, m, big, sizeof big), 0);
  char want[400];
  memset(want, 'f', 160);
  strcpy(want + 160, "\xe2\x80\xa6");
  CHECK_STREQ(m[7].text, want);
  CHECK_STREQ(m[6].text, "int crossing = 1;");
  memset(want, 'y', 160);
  strcpy(want + 160, "\xe2\x80\xa6");
  CHECK_STREQ(m[5].text, want);
  CHECK_STREQ(m[4].text, "tail();");
  memset(want, 'z', 160);
  want[160] = '\0';
  CHECK_STREQ(m[3].text, want); /* exactly the width: no cut */
  strcpy(want + 160, "\xe2\x80\xa6");
  CHECK_STREQ(m[2].text, want);
  memset(want, 'q', 158);
  strcpy(want + 158, "\xe2\x82\xac\xe2\x82\xac");
  CHECK_STREQ(m[1].text, want);
  CHECK_STREQ(m[0].text, "end");
  for (int i = 0; i < 8; i++) CHECK_EQ(m[i].status, FASTSTACK_LINE_OK);
  faststack_sources_stats st;
  faststack_sources_get_stats(s, &st);
  CHECK_EQ(st.opens, 1);
  CHECK_EQ(st.bytes_read, (unsigned long long)(q - t));
  faststack_sources_free(s);
  free(t);

  /* A NUL byte past the cut is still seen: the file is binary. Once in
   * the same chunk as the cut, once 20000 bytes on, in the next chunk. */
  char nul[1100];
  memcpy(nul, "ok\n", 3);
  memset(nul + 3, 'x', 1000);
  memcpy(nul + 1003, "\0rest\n", 6);
  write_file("nulcut.c", nul, 1009);
  size_t nb = 3 + 20000 + 6;
  char *far = malloc(nb);
  memcpy(far, "ok\n", 3);
  memset(far + 3, 'x', 20000);
  memcpy(far + 20003, "\0rest\n", 6);
  write_file("nulfar.c", far, nb);
  free(far);
  char buf[1024];
  s = faststack_sources_create(NULL);
  faststack_source_line b = one(s, path_of("nulcut.c"), 2, buf, sizeof buf);
  CHECK_EQ(b.status, FASTSTACK_LINE_BINARY);
  CHECK(b.text == NULL);
  b = one(s, path_of("nulfar.c"), 2, buf, sizeof buf);
  CHECK_EQ(b.status, FASTSTACK_LINE_BINARY);
  CHECK(b.text == NULL);
  faststack_sources_free(s);
}

/* Many files and many lines through one provider: its tables grow from
 * their small first size, and every record and line is found again. */
static void test_table_growth(void)
{
  enum { NFILES = 300, NLINES = 3000 };
  char name[64], text[64];
  for (int i = 0; i < NFILES; i++) {
    snprintf(name, sizeof name, "g%d.c", i);
    int k = snprintf(text, sizeof text, "first\ng%d line 2\n", i);
    write_file(name, text, (size_t)k);
  }
  char *lines = malloc(NLINES * 16), *q = lines;
  for (int i = 0; i < NLINES; i++) q += sprintf(q, "L%d\n", i + 1);
  write_file("many.c", lines, (size_t)(q - lines));
  free(lines);
  faststack_sources *s = faststack_sources_create(NULL);
  static char buf[1 << 20];
  static faststack_frame fr[NLINES];
  static faststack_source_line l[NLINES];
  static char names[NFILES][512];
  for (int round = 0; round < 2; round++) {
    /* 300 frames: more than fit the stack array of one call. */
    for (int i = 0; i < NFILES; i++) {
      snprintf(names[i], sizeof names[i], "%s/g%d.c", dir, i);
      fr[i] = frame_at(names[i], 2);
    }
    CHECK_EQ(faststack_annotate(s, fr, NFILES, l, buf, sizeof buf), 0);
    int bad = 0;
    for (int i = 0; i < NFILES; i++) {
      snprintf(text, sizeof text, "g%d line 2", i);
      bad += l[i].status != FASTSTACK_LINE_OK || !l[i].text ||
             strcmp(l[i].text, text);
    }
    CHECK_EQ(bad, 0);
    for (int i = 0; i < NLINES; i++)
      fr[i] = frame_at(path_of("many.c"), NLINES - i);
    CHECK_EQ(faststack_annotate(s, fr, NLINES, l, buf, sizeof buf), 0);
    bad = 0;
    for (int i = 0; i < NLINES; i++) {
      snprintf(text, sizeof text, "L%d", NLINES - i);
      bad += l[i].status != FASTSTACK_LINE_OK || !l[i].text ||
             strcmp(l[i].text, text);
    }
    CHECK_EQ(bad, 0);
    faststack_sources_stats st;
    faststack_sources_get_stats(s, &st);
    CHECK_EQ(st.opens, NFILES + 1); /* the second round: all cached */
    CHECK_EQ(st.hits, round ? NFILES + NLINES : 0);
  }
  faststack_sources_free(s);
}

/* A cache too small for the trace: each insertion evicts the line before,
 * and lines asked for several times in one call are still all answered
 * (each repeat is answered before the next line can evict its text). A
 * budget smaller than any line caches nothing and still answers. */
static void test_small_cache(void)
{
  write_file("tiny.c", "alpha\nbeta\ngamma\n", 17);
  size_t budgets[] = {100, 1};
  for (int b = 0; b < 2; b++) {
    faststack_sources_options o = {.cache_bytes = budgets[b]};
    faststack_sources *s = faststack_sources_create(&o);
    static const int ask[] = {1, 2, 1, 3, 2, 2, 1, 3};
    static const char *const want[] = {"alpha", "beta", "alpha", "gamma",
                                       "beta",  "beta", "alpha", "gamma"};
    faststack_frame fr[8];
    for (int i = 0; i < 8; i++) fr[i] = frame_at(path_of("tiny.c"), ask[i]);
    faststack_source_line l[8];
    char buf[512];
    for (int round = 0; round < 2; round++) {
      CHECK_EQ(faststack_annotate(s, fr, 8, l, buf, sizeof buf), 0);
      for (int i = 0; i < 8; i++) CHECK_STREQ(l[i].text, want[i]);
    }
    faststack_sources_stats st;
    faststack_sources_get_stats(s, &st);
    /* 100 bytes hold one line: the second round finds only the last line
     * inserted (gamma, twice) and reads the file again. */
    CHECK_EQ(st.opens, 2);
    CHECK_EQ(st.hits, b == 0 ? 2 : 0);
    CHECK(st.cached_bytes <= budgets[b]);
    faststack_sources_free(s);
  }
}

static void test_no_sources_fast_path(void)
{
  faststack_sources *s = faststack_sources_create(NULL);
  char buf[256], name[64];
  for (int i = 0; i < 50; i++) {
    snprintf(name, sizeof name, "/nonexistent/src/file%d.c", i);
    CHECK_EQ(one(s, name, 10, buf, sizeof buf).status, FASTSTACK_LINE_MISSING);
  }
  faststack_sources_stats st;
  faststack_sources_get_stats(s, &st);
  CHECK_EQ(st.opens, 0);
  /* Decided after the first few files: the rest cost no stat at all. */
  CHECK(st.probes <= 8);
  faststack_sources_free(s);
}

static faststack_sources *shared;
static volatile int go;

static void *tracer(void *arg)
{
  int id = (int)(intptr_t)arg;
  char name[600], buf[512];
  while (!go) sched_yield();
  for (int i = 0; i < 20; i++) {
    snprintf(name, sizeof name, "%s/t%d_%d.c", dir, id, i);
    faststack_source_line l = one(shared, name, 2, buf, sizeof buf);
    if (l.status != FASTSTACK_LINE_OK || strcmp(l.text, "second"))
      __atomic_add_fetch(&check_failures, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void run_tracers(int cap)
{
  faststack_sources_options o = {.max_open_files = cap};
  shared = faststack_sources_create(&o);
  pthread_t t[32];
  go = 0;
  for (int i = 0; i < 32; i++)
    pthread_create(&t[i], NULL, tracer, (void *)(intptr_t)i);
  go = 1;
  for (int i = 0; i < 32; i++) pthread_join(t[i], NULL);
  faststack_sources_stats st;
  faststack_sources_get_stats(shared, &st);
  fprintf(stderr, "cap %d: %llu opens, at most %d open at once\n", cap,
          st.opens, st.max_open_at_once);
  CHECK_EQ(st.opens, 32 * 20);
  CHECK(st.max_open_at_once <= (cap ? cap : 32));
  faststack_sources_free(shared);
}

static void test_descriptor_cap(void)
{
  char name[64];
  for (int id = 0; id < 32; id++)
    for (int i = 0; i < 20; i++) {
      snprintf(name, sizeof name, "t%d_%d.c", id, i);
      write_file(name, "first\nsecond\nthird\n", 19);
    }
  run_tracers(3);
  run_tracers(0);
}

static void test_path_mapping(void)
{
  char map[600], buf[256];
  mkdir(path_of("mapped"), 0755);
  write_file("mapped/m.c", "mapped line\n", 12);
  write_file("rootonly.c", "from root\n", 10);
  snprintf(map, sizeof map, "/build/project=%s/mapped", dir);
  faststack_sources_options o = {.source_map = map, .source_path = dir};
  faststack_sources *s = faststack_sources_create(&o);
  CHECK_STREQ(one(s, "/build/project/m.c", 1, buf, sizeof buf).text,
              "mapped line");
  /* Not found as given: the search root joined with the base name. */
  CHECK_STREQ(one(s, "/elsewhere/deep/rootonly.c", 1, buf, sizeof buf).text,
              "from root");
  CHECK_EQ(one(s, "/build/projectX/m.c", 1, buf, sizeof buf).status,
           FASTSTACK_LINE_MISSING);
  faststack_sources_free(s);
}

static void test_stale(void)
{
  char buf[256];
  static const char src[] = "alpha\nbeta\n";
  write_file("stale.c", src, sizeof src - 1);
  write_file("module.bin", "ELF", 3);
  unsigned char md5[16];
  MD5_CTX c;
  MD5Init(&c);
  MD5Update(&c, (const uint8_t *)src, sizeof src - 1);
  MD5Final(md5, &c);
  faststack_sources *s = faststack_sources_create(NULL);
  faststack_frame f = frame_at(path_of("stale.c"), 2);
  faststack_source_line l;
  f.file_md5_valid = 1;
  memcpy(f.file_md5, md5, 16);
  faststack_annotate(s, &f, 1, &l, buf, sizeof buf);
  CHECK_EQ(l.status, FASTSTACK_LINE_OK);
  CHECK_STREQ(l.text, "beta");
  f.file_md5[0] ^= 1; /* compiled from another version */
  faststack_annotate(s, &f, 1, &l, buf, sizeof buf);
  CHECK_EQ(l.status, FASTSTACK_LINE_STALE_MD5);
  CHECK_STREQ(l.text, "beta"); /* shown, marked */
  faststack_sources_free(s);
  /* No MD5: compare with the module's mtime. */
  struct timespec old[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
  utimensat(AT_FDCWD, path_of("module.bin"), old, 0);
  faststack_sources_options ho = {.hide_stale = 1};
  s = faststack_sources_create(&ho);
  f.file_md5_valid = 0;
  f.module = path_of("module.bin");
  faststack_annotate(s, &f, 1, &l, buf, sizeof buf);
  CHECK_EQ(l.status, FASTSTACK_LINE_STALE_NEWER);
  CHECK(l.text == NULL); /* hidden by policy */
  faststack_sources_free(s);
  s = faststack_sources_create(NULL);
  utimensat(AT_FDCWD, path_of("module.bin"), NULL, 0); /* now: newer */
  struct timespec older[2] = {{.tv_sec = 2000000}, {.tv_sec = 2000000}};
  utimensat(AT_FDCWD, path_of("stale.c"), older, 0);
  faststack_annotate(s, &f, 1, &l, buf, sizeof buf);
  CHECK_EQ(l.status, FASTSTACK_LINE_OK);
  faststack_sources_free(s);
}

static void test_context(void)
{
  write_file("ctx.c", "l1\nl2\nl3\nl4\nl5\n", 15);
  faststack_sources *s = faststack_sources_create(NULL);
  faststack_frame f = frame_at(path_of("ctx.c"), 2);
  faststack_source_line l[16];
  char buf[512];
  int n = faststack_annotate_context(s, &f, 2, l, 16, buf, sizeof buf);
  CHECK_EQ(n, 4); /* lines 1..4: clipped at the start */
  CHECK_EQ(l[0].line, 1);
  CHECK_STREQ(l[0].text, "l1");
  CHECK_STREQ(l[3].text, "l4");
  f.line = 5;
  n = faststack_annotate_context(s, &f, 2, l, 16, buf, sizeof buf);
  CHECK_EQ(n, 3); /* lines 3..5: clipped at the end of the file */
  CHECK_STREQ(l[2].text, "l5");
  faststack_sources_free(s);
}

static volatile int rewriting;

static void *rewriter(void *arg)
{
  (void)arg;
  static char a[8192], b[8192];
  for (int i = 0; i < 400; i++) {
    snprintf(a + i * 20, 21, "version A line %04d\n", i + 1);
    snprintf(b + i * 20, 21, "version B line %04d\n", i + 1);
  }
  for (int k = 0; rewriting; k++) write_file("moving.c", k & 1 ? a : b, 8000);
  return NULL;
}

static void test_changing_file(void)
{
  rewriting = 1;
  write_file("moving.c", "", 0);
  pthread_t t;
  pthread_create(&t, NULL, rewriter, NULL);
  char buf[256];
  int bad = 0;
  for (int i = 0; i < 300; i++) {
    faststack_sources *s = faststack_sources_create(NULL);
    faststack_source_line l = one(s, path_of("moving.c"), 300, buf, sizeof buf);
    /* Either a whole, true line of one version, or a clear status. */
    if (l.text && strcmp(l.text, "version A line 0300") &&
        strcmp(l.text, "version B line 0300"))
      bad++;
    faststack_sources_free(s);
  }
  rewriting = 0;
  pthread_join(t, NULL);
  CHECK_EQ(bad, 0);
}

int main(void)
{
  snprintf(dir, sizeof dir, "/tmp/fs_annotate_XXXXXX");
  CHECK(mkdtemp(dir) != NULL);
  chmod(dir, 0755);
  test_rendering();
  test_failures();
  test_long_lines();
  test_table_growth();
  test_small_cache();
  test_no_sources_fast_path();
  test_descriptor_cap();
  test_path_mapping();
  test_stale();
  test_context();
  test_changing_file();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK_EQ(system(cmd), 0);
  return CHECK_DONE("test_annotate");
}
